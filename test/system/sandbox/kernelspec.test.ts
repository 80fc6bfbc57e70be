// A kernelspec other than this interpreter's `-m ipykernel_launcher` is not forked: it is
// launched through the sandbox launcher (python/nblc_sandbox.py), in fork mode as in spawn
// mode, with the same policy plus what the kernelspec needs: its folder (read-only) and the
// variables its kernel.json sets.
//   node --import tsx --test test/system/sandbox/kernelspec.test.ts
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { executorEnv } from '../../../src/activities/runs/executor-process.js';
import { executeToEnd, PYTHON } from '../../helpers/executor.js';
import type { ExecutorResult } from '../../../src/domain/runs/model.js';
import { notebookJson } from '../../helpers/notebooks.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nblc-kernelspec-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const specDir = path.join(dir, 'jupyter', 'kernels', 'other');
fs.mkdirSync(specDir, { recursive: true });
fs.writeFileSync(path.join(specDir, 'greeting.txt'), 'from the kernelspec folder');
fs.writeFileSync(
  path.join(specDir, 'kernel.json'),
  JSON.stringify({
    argv: [PYTHON, '-m', 'ipykernel', '-f', '{connection_file}'], // not forkable: launched
    display_name: 'Other',
    language: 'python',
    env: { SPEC_GREETING_FILE: path.join(specDir, 'greeting.txt') },
  }),
);
const nb = notebookJson([
  "import os\nprint(open(os.environ['SPEC_GREETING_FILE']).read(), os.getpid(), os.getuid() != 0, os.getcwd())",
]);
fs.mkdirSync(path.join(dir, 'snapshot', 'nbs'), { recursive: true });
fs.writeFileSync(path.join(dir, 'snapshot', 'nbs', 'other.ipynb'), nb.replace('"python3"', '"other"'));
const env = { ...executorEnv(process.env), JUPYTER_PATH: path.join(dir, 'jupyter') };

describe('another kernelspec, sandboxed by the launcher', { timeout: 120_000 }, () => {
  for (const mode of ['fork', 'spawn'] as const)
    test(mode, async () => {
      const out = path.join(dir, mode);
      const args = [
        '--notebook',
        path.join(dir, 'snapshot', 'nbs', 'other.ipynb'),
        '--root',
        path.join(dir, 'snapshot'),
      ];
      args.push('--output', path.join(out, 'out.ipynb'), '--result', path.join(out, 'r.json'));
      args.push('--scratch-root', path.join(out, 'tmp'));
      await executeToEnd(mode, args, path.join(dir, `${mode}.log`), env);
      const result = JSON.parse(fs.readFileSync(path.join(out, 'r.json'), 'utf8')) as ExecutorResult;
      assert.equal(result.status, 'passed', JSON.stringify(result));
      assert.equal(result.kernel, 'other');
      assert.match(result.limits ?? '', /^cgroup[12]$/);
      assert.match(
        fs.readFileSync(path.join(out, 'out.ipynb'), 'utf8'),
        /from the kernelspec folder 1 True \/nblc\/notebooks\/nbs/,
      );
    });
});
