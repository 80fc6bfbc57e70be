/**
 * Issue 18, part 1: each notebook's contract (metadata.nblc, metadata.execution, `.nblc.yml`,
 * the `parameters` cell) through the real service: a Temporal server, the workers (two notebook
 * workers, one of them labelled), the sandboxed executor, a sample upstream published by sync.
 *   node --import tsx --test test/workflows/runs/testNotebooks-contracts.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { startTestRun } from '../../../src/clients/runs/client.js';
import type { TestReport } from '../../../src/domain/runs/model.js';
import { notebook, type CellSpec } from '../../../src/demo/sample-repo.js';
import type { Worker } from '@temporalio/worker';
import { createNotebookWorkers } from '../../../src/process/worker.js';
import { loadConfig } from '../../../src/platform/config.js';
import { runSandbox } from '../../helpers/fixtures.js';
import { publish, runResult, withWorkers } from '../../helpers/stack.js';
import { recordHistory, replayAll } from '../../helpers/histories.js';
import { useTestEnv, workflowBundle } from '../../helpers/temporal.js';

const env = useTestEnv();

/** A notebook of `cells` with `metadata` merged into its own (the contract under test). */
function declaring(metadata: Record<string, unknown>, cells: Array<string | CellSpec>): string {
  const nb = JSON.parse(notebook(cells)) as { metadata: Record<string, unknown> };
  nb.metadata = { ...nb.metadata, ...metadata };
  return JSON.stringify(nb, null, 1);
}

const SLEEP_4S = 'import time\ntime.sleep(4)';
const HOG_400M = "x = bytearray(400 << 20)\nx[::4096] = b'1' * len(x[::4096])";

test('contracts: timeouts, memory, skip, interactive, needs, execution.*, parameters, .nblc.yml', async () => {
  const { config, upstream, dir } = await runSandbox('contracts', {
    NBLC_NOTEBOOK_MEMORY: '200M',
    NBLC_NOTEBOOK_MEMORY_MAX: '1G',
    NBLC_TEST_CONCURRENCY: '2',
    NBLC_WORKER_NAME: 'plain-worker',
  });
  const sha = await upstream.commit({
    // The run's 2 s are for the Slow notebooks; the others get time enough on a busy host.
    '.nblc.yml': [
      'notebooks:',
      '  "{mem,exec,params,needs,retry}/**":',
      '    timeout: 120',
      '  "folder/**":',
      '    timeout: 120',
      '    retries: 0',
      '',
    ].join('\n'),
    // the run says 2 s; the folder's default and the notebook's own contract say more
    'folder/Slow.ipynb': notebook([SLEEP_4S]),
    'own/Slow.ipynb': declaring({ nblc: { timeout: 120 } }, [SLEEP_4S]),
    'plain/Slow.ipynb': notebook([SLEEP_4S]),
    // nbmake's per-cell key, below the run's cell timeout
    'exec/Cell.ipynb': declaring({ execution: { timeout: 1 } }, ['import time\ntime.sleep(3)']),
    'exec/Errors.ipynb': declaring({ execution: { allow_errors: true } }, ['1 / 0', 'print("went on")']),
    // nblc's own cell timeout, and retries beyond the run's none
    'exec/OwnCell.ipynb': declaring({ nblc: { cellTimeout: 1 } }, ['import time\ntime.sleep(3)']),
    'retry/Twice.ipynb': declaring({ nblc: { retries: 1 } }, ['raise ValueError("broken every time")']),
    'mem/Big.ipynb': declaring({ nblc: { memory: '700M' } }, [HOG_400M]),
    'mem/Small.ipynb': notebook([HOG_400M]),
    'mem/Greedy.ipynb': declaring({ nblc: { memory: '64G' } }, ['print(1)']),
    'skip/Down.ipynb': declaring({ nblc: { skip: { reason: 'the TAP service is down', until: '2999-12-31' } } }, [
      'raise SystemExit(1)',
    ]),
    'skip/Expired.ipynb': declaring({ nblc: { skip: { reason: 'was down', until: '2001-01-01', issue: '#12' } } }, [
      'raise ValueError("still broken")',
    ]),
    'login/Login.ipynb': declaring({ nblc: { interactive: true } }, ['input("password")']),
    'bad/Bad.ipynb': declaring({ nblc: { timeout: 'soon' } }, ['print(1)']),
    'needs/Big.ipynb': declaring({ nblc: { needs: ['bigmem'] } }, ['print("big")']),
    'needs/Auth.ipynb': declaring({ nblc: { needs: ['datalab-auth'] } }, ['print("auth")']),
    'params/Param.ipynb': notebook([
      { source: 'size = 1000\nname = "full"', tags: ['parameters'] },
      'assert size == 5 and name == "small", (size, name)',
    ]),
  });
  // A second notebook worker, the only one with the label `bigmem`. One process may not poll a
  // task queue twice, so of its queues it polls only its label's here (a real one polls both).
  const labelled = loadConfig({ ...config.env, NBLC_WORKER_LABELS: 'bigmem', NBLC_WORKER_NAME: 'bigmem-worker' });
  const extra: Worker[] = [];
  for (const w of await createNotebookWorkers(labelled, env.nativeConnection, {}, { labelQueuesOnly: true }))
    extra.push(w);
  const extraRuns = extra.map((w) => w.run());
  try {
    await withWorkers(env, config, async () => {
      await publish(env, config, sha);
      const started = await startTestRun(env.client, config, {
        kind: 'manual',
        notebookTimeoutS: 2,
        cellTimeoutS: 60,
        parameters: { size: '5', name: 'small' },
      });
      const r = await runResult(env, started.runId).catch(async (err: Error) => {
        const history = await env.client.workflow.getHandle(started.workflowId).fetchHistory();
        const failures = history.events?.filter((e) => e.activityTaskFailedEventAttributes) ?? [];
        console.error(JSON.stringify(failures.map((e) => e.activityTaskFailedEventAttributes?.failure?.message)));
        throw err;
      });
      await recordHistory(env, started.workflowId, 'test-run-contracts');
      const report = JSON.parse(await fs.readFile(path.join(r.reportDir, 'report.json'), 'utf8')) as TestReport;
      const nb = (p: string) => report.notebooks.find((n) => n.path === p)!;
      const status = (p: string) => [nb(p).status, nb(p).message];

      assert.equal(nb('folder/Slow.ipynb').status, 'passed', nb('folder/Slow.ipynb').message ?? '');
      assert.equal(nb('folder/Slow.ipynb').settings?.sources.timeoutS, '.nblc.yml "folder/**"');
      assert.equal(nb('own/Slow.ipynb').status, 'passed');
      assert.equal(nb('own/Slow.ipynb').settings?.sources.timeoutS, 'metadata.nblc.timeout');
      assert.equal(nb('plain/Slow.ipynb').status, 'timed_out');
      assert.equal(nb('plain/Slow.ipynb').settings?.sources.timeoutS, 'the run');

      assert.equal(nb('exec/Cell.ipynb').status, 'timed_out');
      assert.match(nb('exec/Cell.ipynb').message ?? '', /cell timeout of 1/);
      assert.equal(nb('exec/Cell.ipynb').settings?.sources.cellTimeoutS, 'metadata.execution.timeout');
      assert.deepEqual(status('exec/Errors.ipynb'), ['passed', null]);
      assert.equal(nb('exec/OwnCell.ipynb').status, 'timed_out');
      assert.equal(nb('exec/OwnCell.ipynb').settings?.sources.cellTimeoutS, 'metadata.nblc.cellTimeout');
      assert.equal(nb('retry/Twice.ipynb').status, 'failed');
      assert.equal(nb('retry/Twice.ipynb').attempts, 2, 'its one retry, where the run has none');
      assert.equal(nb('retry/Twice.ipynb').settings?.sources.retries, 'metadata.nblc.retries');

      assert.equal(nb('mem/Big.ipynb').status, 'passed', nb('mem/Big.ipynb').message ?? '');
      assert.equal(nb('mem/Small.ipynb').status, 'out_of_memory');
      assert.equal(nb('mem/Greedy.ipynb').settings?.memory, '1G');
      assert.match(nb('mem/Greedy.ipynb').settings?.sources.memory ?? '', /capped by NBLC_NOTEBOOK_MEMORY_MAX/);

      assert.equal(nb('skip/Down.ipynb').status, 'skipped');
      assert.match(nb('skip/Down.ipynb').message ?? '', /the TAP service is down \(until 2999-12-31\)/);
      assert.equal(nb('skip/Expired.ipynb').status, 'failed');
      assert.match(nb('skip/Expired.ipynb').skipExpired ?? '', /its skip expired on 2001-01-01 \(was down\)/);
      assert.deepEqual(status('login/Login.ipynb'), ['skipped', 'interactive: true (never run unattended)']);
      assert.equal(nb('bad/Bad.ipynb').status, 'invalid_notebook');
      assert.match(nb('bad/Bad.ipynb').message ?? '', /metadata\.nblc\.timeout/);

      assert.equal(nb('needs/Big.ipynb').status, 'passed');
      assert.equal(nb('needs/Big.ipynb').worker, 'bigmem-worker');
      assert.deepEqual(status('needs/Auth.ipynb'), ['skipped', 'no worker has datalab-auth (NBLC_WORKER_LABELS)']);

      assert.equal(nb('params/Param.ipynb').status, 'passed', nb('params/Param.ipynb').message ?? '');
      assert.equal(nb('params/Param.ipynb').settings?.sources.parameters, 'the run (--parameter)');

      // Skips are neither passes nor failures, and every form of the report says why.
      assert.equal(report.counts.skipped, 3);
      assert.ok(!r.failures.some((f) => f.status === 'skipped'));
      const html = await fs.readFile(path.join(r.reportDir, 'report.html'), 'utf8');
      assert.match(html, /Skipped \(3\)/);
      assert.match(html, /the TAP service is down/);
      assert.match(html, /its skip expired on 2001-01-01/);
      assert.match(html, /\.nblc\.yml &quot;folder\/\*\*&quot;/);
      const junit = await fs.readFile(path.join(r.reportDir, 'junit.xml'), 'utf8');
      assert.match(junit, /skipped="3"/);
      assert.match(junit, /<skipped message="no worker has datalab-auth/);
    });
  } finally {
    for (const w of extra) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.all(extraRuns);
    await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
});

test('histories recorded before contracts, and the run above, replay against the workflow code', async () => {
  assert.ok((await replayAll(await workflowBundle())) >= 1);
});
