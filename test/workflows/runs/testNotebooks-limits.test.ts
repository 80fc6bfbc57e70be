/**
 * Finding 6 of issue 9, in the workflow: a run started around the API's and the CLI's checks
 * (the Temporal client, an older client) with out-of-range options is clamped by the workflow
 * (clampRunOptions) and completes, instead of failing its task forever on an invalid duration
 * with the snapshot pinned. A real Temporal server, worker and kernel.
 *   node --import tsx --test test/workflows/runs/testNotebooks-limits.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestRun } from '../../../src/clients/runs/client.js';
import { notebook } from '../../../src/demo/sample-repo.js';
import { runSandbox } from '../../helpers/fixtures.js';
import { publish, runResult, withWorkers } from '../../helpers/stack.js';
import { useTestEnv } from '../../helpers/temporal.js';

const env = useTestEnv();

test('options beyond RUN_LIMITS that reach the workflow are clamped: the run completes', async () => {
  const { config, upstream } = await runSandbox('limits');
  const sha = await upstream.commit({ 'a/One.ipynb': notebook(['print(6 * 7)']) });
  await withWorkers(env, config, async () => {
    await publish(env, config, sha);
    // startTestRun checks nothing (the API and the CLI do): what a raw start could send
    const started = await startTestRun(env.client, config, {
      kind: 'manual',
      notebookTimeoutS: 1e21,
      cellTimeoutS: -5,
      retries: 1e9,
      concurrency: 0,
      include: ['a/**', 7 as unknown as string],
    });
    const r = await runResult(env, started.runId);
    assert.equal(r.commit, sha);
    assert.deepEqual(
      r.notebooks.map((n) => [n.path, n.status]),
      [['a/One.ipynb', 'passed']],
    );
  });
});
