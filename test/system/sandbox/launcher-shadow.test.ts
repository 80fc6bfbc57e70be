// The launcher-shadowing attack (issue 21, item 3): files `ipykernel_launcher.py` and `pathlib.py`
// committed beside a notebook, which `python -m ipykernel_launcher` would run first from the
// notebook's folder. Each plants links to a root-only file where the sandbox's error message
// was read from and exits, so that the executor (root, outside the sandbox) would put the
// file's first line into the notebook's message. The real launcher must run instead, and the
// token appear nowhere: result, executed notebook, report.json, report.html, junit.xml, history.
//   node --import tsx --test test/system/sandbox/launcher-shadow.test.ts
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { executorEnv } from '../../../src/activities/runs/executor-process.js';
import { executeToEnd } from '../../helpers/executor.js';
import { reportNow } from '../../helpers/report-run.js';
import { sandboxArgs } from '../../../src/activities/runs/sandbox.js';
import { loadConfig, type Config } from '../../../src/platform/config.js';
import { recordedRunOf } from '../../../src/domain/runs/history.js';
import type { ExecutorResult } from '../../../src/domain/runs/model.js';
import { notebookJson } from '../../helpers/notebooks.js';
import { shadowLauncher } from './attacks.js';

const TOKEN = `root-only-token-${process.pid}-7c1e9a`;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nblc-shadow-'));
const snapshot = path.join(root, 'snapshot');
const results = path.join(root, 'results');
const tokenFile = path.join(root, 'root-only-token');
let config: Config;

const shadow = (name: string) => shadowLauncher(name, tokenFile);

before(() => {
  fs.mkdirSync(path.join(snapshot, 'nbs'), { recursive: true });
  fs.writeFileSync(path.join(snapshot, 'nbs', 'ipykernel_launcher.py'), shadow('ipykernel_launcher.py'));
  fs.writeFileSync(path.join(snapshot, 'nbs', 'pathlib.py'), shadow('pathlib.py'));
  fs.writeFileSync(path.join(snapshot, 'nbs', 'nb.ipynb'), notebookJson(["print('the real kernel')"]));
  fs.writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 }); // root's, as the executor is
  config = loadConfig({ ...process.env, NBLC_REPO_URL: 'file:///nonexistent', NBLC_REPO_FULL_NAME: 'a/b' });
});

after(() => fs.rmSync(root, { recursive: true, force: true }));

describe('a launcher committed beside the notebook', { concurrency: 1, timeout: 300_000 }, () => {
  for (const mode of ['fork', 'spawn'] as const)
    test(`does not run, and the root-only file it links reaches no output (${mode})`, async () => {
      const runId = `shadow-${mode}`;
      const runDir = path.join(results, runId);
      const artifact = path.join(runDir, 'executed', 'nbs', 'nb.ipynb');
      const resultFile = path.join(runDir, 'results', 'nbs', 'nb.ipynb.json');
      fs.mkdirSync(path.dirname(resultFile), { recursive: true });
      const args = [
        ...['--notebook', path.join(snapshot, 'nbs', 'nb.ipynb'), '--root', snapshot],
        ...['--output', artifact, '--result', resultFile, '--scratch-root', path.join(runDir, 'tmp')],
        ...sandboxArgs(config),
      ];
      const env = executorEnv(config.env, config.sandbox.kernelEnv);
      const proc = await executeToEnd(mode, args, path.join(root, `${mode}.log`), env);
      const result = JSON.parse(fs.readFileSync(resultFile, 'utf8')) as ExecutorResult;
      assert.equal(result.status, 'passed', result.message ?? '');
      const executed = fs.readFileSync(artifact, 'utf8');
      assert.match(executed, /the real kernel/);
      assert.doesNotMatch(executed, /ran instead of the real launcher/);

      const report = await reportNow(results, runId, ['nbs/nb.ipynb']);
      const outputs = {
        result: fs.readFileSync(resultFile, 'utf8'),
        'executed notebook': executed,
        'stderr of the executor': await proc.stderr(),
        history: JSON.stringify(recordedRunOf(report)),
        ...Object.fromEntries(
          ['report.json', 'report.html', 'junit.xml'].map((f) => [f, fs.readFileSync(path.join(runDir, f), 'utf8')]),
        ),
      };
      for (const [where, text] of Object.entries(outputs)) assert.ok(!text.includes(TOKEN), `the token is in ${where}`);
    });
});
