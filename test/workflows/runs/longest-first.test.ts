/**
 * Longest first, through the real service: with the history saying one notebook is slow, it
 * starts before the others; a notebook the history does not know starts before all of them.
 *   node --import tsx --test test/workflows/runs/longest-first.test.ts
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { startTestRun } from '../../../src/clients/runs/client.js';
import { notebook } from '../../../src/demo/sample-repo.js';
import { historyStore } from '../../../src/storage/runs/history-store.js';
import { sandbox } from '../../helpers/fixtures.js';
import { recordHistory, replayAll } from '../../helpers/histories.js';
import { publish, runResult, withWorkers } from '../../helpers/stack.js';
import { useTestEnv, workflowBundle } from '../../helpers/temporal.js';

const env = useTestEnv();

/** The paths of the runNotebook activities in the order the workflow scheduled them. */
async function startOrder(workflowId: string): Promise<string[]> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? [])
    .map((e) => e.activityTaskScheduledEventAttributes)
    .filter((a) => a?.activityType?.name === 'runNotebook')
    .map((a) => JSON.parse(Buffer.from(a!.input!.payloads![0]!.data!).toString('utf8')) as { path: string })
    .map((input) => input.path);
}

describe('longest first', () => {
  test('the notebook the history says is slow starts first; unknown ones before it', async () => {
    const id = randomUUID().slice(0, 8);
    const { config, upstream } = await sandbox({
      NBLC_REPO_FULL_NAME: `test/order-${id}`,
      NBLC_TASK_QUEUE: `order-${id}`,
      NBLC_NOTEBOOK_TASK_QUEUE: `order-nb-${id}`,
      NBLC_TEST_ON_MERGE: 'false',
    });
    const suite = Object.fromEntries(['a', 'b', 'c', 'new'].map((n) => [`${n}.ipynb`, notebook([`print("${n}")`])]));
    const sha = await upstream.commit(suite);
    // Two earlier runs: c is slow (median 90 s), b takes a while, a is quick; `new` was never run.
    const store = await historyStore(config);
    for (const [i, durations] of [
      [10, 400, 120_000],
      [30, 600, 60_000],
    ].entries()) {
      const at = new Date(Date.now() - (3 - i) * 3600_000).toISOString();
      await store.record({
        runId: `scheduled-2026010${i}-000000-abc00${i}`,
        kind: 'scheduled',
        commit: sha,
        startedAt: at,
        finishedAt: at,
        notebooks: ['a', 'b', 'c'].map((n, k) => ({
          path: `${n}.ipynb`,
          status: 'passed' as const,
          cause: null,
          durationMs: durations[k]!,
          peakMemoryBytes: 50 << 20,
          attempts: 1,
          flaky: false,
        })),
      });
    }
    await withWorkers(env, config, async () => {
      await publish(env, config, sha);
      const started = await startTestRun(env.client, config, { kind: 'manual', concurrency: 1 });
      const r = await runResult(env, started.runId);
      assert.equal(r.counts.passed, 4);
      assert.deepEqual(await startOrder(started.workflowId), ['new.ipynb', 'c.ipynb', 'b.ipynb', 'a.ipynb']);
      await recordHistory(env, started.workflowId, 'test-run-longest-first');
    });
  });

  test('histories (fixtures and this run) replay against the current workflow code', async () => {
    assert.ok((await replayAll(await workflowBundle())) >= 1);
  });
});
