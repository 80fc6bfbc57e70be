// Legitimate notebooks keep working in the sandbox: a suite of notebooks is run with
// `jupyter nbconvert --execute --inplace` (the platform's original method: in place, in a copy of
// the tree, same kernel, same network) and through nblc's executor (the activity's arguments,
// forked and spawned). Every notebook that passes there passes under nblc, and the one that fails
// there fails under nblc at the same cell, not earlier.
//   node --import tsx --test test/system/sandbox/differential.test.ts
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { executorEnv } from '../../../src/activities/runs/executor-process.js';
import { executeToEnd } from '../../helpers/executor.js';
import { sandboxArgs } from '../../../src/activities/runs/sandbox.js';
import { loadConfig, PROJECT_ROOT, type Config } from '../../../src/platform/config.js';
import type { ExecutorResult } from '../../../src/domain/runs/model.js';
import { notebookJson } from '../../helpers/notebooks.js';

const JUPYTER = path.join(PROJECT_ROOT, '.venv', 'bin', 'jupyter');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nblc-differential-'));
const snapshot = path.join(root, 'snapshot');

/** The suite: what each notebook needs of its environment, and where nbconvert stops (null: passes). */
const SUITE: Record<string, { cells: string[]; failsAt: number | null }> = {
  'bang.ipynb': {
    // IPython's `!` runs the command on a pseudo-terminal ("out of pty devices" without one)
    cells: ['!echo bang-$((6*7))', "out = !echo captured\nassert out == ['captured'], out"],
    failsAt: null,
  },
  'bash.ipynb': {
    cells: [
      '%%bash\necho from-bash\ntest -w .',
      "import os, subprocess\nmain, side = os.openpty()\ntty = subprocess.run(['tty'], stdin=side, capture_output=True, text=True).stdout\nassert tty.startswith('/dev/pts/'), tty",
    ],
    failsAt: null,
  },
  'folder/figures.ipynb': {
    // the platform's notebook that failed with PermissionError: a committed file in a sub-folder, read-write
    cells: [
      "with open('Figures/movie.mp4', 'r+b') as f:\n    f.write(b'frames')",
      "import os\nos.makedirs('Figures/new', exist_ok=True)\nopen('Figures/new/plot.png', 'w').write('png')",
      "assert open('Figures/movie.mp4', 'rb').read().startswith(b'frames')",
    ],
    failsAt: null,
  },
  'folder/helper.ipynb': {
    cells: [
      'import helper\nassert helper.answer() == 42',
      "assert open('../data/stars.csv').read().startswith('ra')",
      // the executor's own memory bound (a soft RLIMIT_DATA) is not the kernel's
      'import resource\nsoft, hard = resource.getrlimit(resource.RLIMIT_DATA)\nassert soft == hard, (soft, hard)',
    ],
    failsAt: null,
  },
  'failing.ipynb': {
    cells: ['x = 1', 'print(x)', "raise ValueError('the notebook’s own failure')", "print('never')"],
    failsAt: 2,
  },
};

let config: Config;
let n = 0;

function put(file: string, text: string) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/** nbconvert in a copy of the tree: null when the notebook passed, else the first cell with an error. */
function nbconvert(rel: string): number | null {
  const copy = fs.mkdtempSync(path.join(root, 'nbconvert-'));
  fs.cpSync(snapshot, copy, { recursive: true });
  const file = path.join(copy, rel);
  const r = spawnSync(JUPYTER, ['nbconvert', '--to', 'notebook', '--execute', '--inplace', '--allow-errors', file], {
    encoding: 'utf8',
    cwd: path.dirname(file),
  });
  assert.equal(r.status, 0, r.stderr);
  const nb = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    cells: Array<{ outputs?: Array<{ output_type: string }> }>;
  };
  const failed = nb.cells.findIndex((c) => (c.outputs ?? []).some((o) => o.output_type === 'error'));
  return failed === -1 ? null : failed;
}

/** nblc's executor, as the activity starts it. */
async function nblc(mode: 'fork' | 'spawn', rel: string): Promise<ExecutorResult> {
  const out = path.join(root, 'results', `${mode}-${++n}`);
  fs.mkdirSync(out, { recursive: true });
  const args = [
    ...['--notebook', path.join(snapshot, rel), '--root', snapshot],
    ...['--output', path.join(out, 'executed.ipynb'), '--result', path.join(out, 'result.json')],
    ...['--scratch-root', path.join(out, 'tmp'), '--cell-timeout', '60'],
    ...sandboxArgs(config),
  ];
  const env = executorEnv(config.env, config.sandbox.kernelEnv);
  await executeToEnd(mode, args, path.join(out, 'stderr'), env);
  return JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8')) as ExecutorResult;
}

before(() => {
  for (const [rel, { cells }] of Object.entries(SUITE)) put(path.join(snapshot, rel), notebookJson(cells));
  put(path.join(snapshot, 'folder', 'Figures', 'movie.mp4'), 'committed movie');
  put(path.join(snapshot, 'folder', 'helper.py'), 'def answer():\n    return 42\n');
  put(path.join(snapshot, 'data', 'stars.csv'), 'ra,dec\n1,2\n');
  // the published cache is read-only, as on a worker
  for (const dir of ['', 'folder', 'folder/Figures', 'data']) fs.chmodSync(path.join(snapshot, dir), 0o555);
  config = loadConfig({ ...process.env, NBLC_REPO_URL: 'file:///nonexistent', NBLC_REPO_FULL_NAME: 'a/b' });
});

after(() => {
  for (const dir of ['', 'folder', 'folder/Figures', 'data']) fs.chmodSync(path.join(snapshot, dir), 0o755);
  fs.rmSync(root, { recursive: true, force: true });
});

describe('nblc against nbconvert --execute in place', { concurrency: 1, timeout: 600_000 }, () => {
  const expected = new Map<string, number | null>();

  test('nbconvert: the suite behaves as written (four pass, one fails at cell 2)', () => {
    for (const [rel, { failsAt }] of Object.entries(SUITE)) {
      expected.set(rel, nbconvert(rel));
      assert.equal(expected.get(rel), failsAt, `${rel} under nbconvert`);
    }
  });

  for (const mode of ['fork', 'spawn'] as const)
    test(`nblc (${mode}): what passes there passes here; what fails there fails at the same cell`, async () => {
      assert.equal(expected.size, Object.keys(SUITE).length, 'the nbconvert run came first');
      for (const [rel, failsAt] of expected) {
        const result = await nblc(mode, rel);
        if (failsAt === null) assert.equal(result.status, 'passed', `${rel}: ${result.message}`);
        else {
          assert.equal(result.status, 'failed', rel);
          assert.equal(result.error?.cell, failsAt, `${rel} fails at the cell where nbconvert stopped`);
        }
      }
      assert.equal(fs.readFileSync(path.join(snapshot, 'folder', 'Figures', 'movie.mp4'), 'utf8'), 'committed movie');
    });
});
