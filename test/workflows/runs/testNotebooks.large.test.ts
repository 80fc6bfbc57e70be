/**
 * A suite of 500+ tiny notebooks stays within Temporal's history limits: the run continues as
 * new along the way and still reports every notebook exactly once. Several minutes on 2 cores,
 * so it runs only with NBLC_LARGE_TESTS=1 (not in CI):
 *   NBLC_LARGE_TESTS=1 node --import tsx --test test/workflows/runs/testNotebooks.large.test.ts
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { getRun, startTestRun } from '../../../src/clients/runs/client.js';
import { notebook } from '../../../src/demo/sample-repo.js';
import { sandbox, waitFor } from '../../helpers/fixtures.js';
import { publish, withWorkers } from '../../helpers/stack.js';
import { startTestEnv } from '../../helpers/temporal.js';

const COUNT = Number(process.env.NBLC_LARGE_COUNT ?? 520);
const enabled = process.env.NBLC_LARGE_TESTS === '1';

let env: TestWorkflowEnvironment;
before(async () => {
  if (enabled) env = await startTestEnv();
});
after(async () => {
  await env?.teardown();
});

test(
  `${COUNT} notebooks: continue-as-new keeps the history small, each notebook reported once`,
  { skip: !enabled && 'set NBLC_LARGE_TESTS=1' },
  async () => {
    const { config, upstream } = await sandbox({
      NBLC_TASK_QUEUE: 'large',
      NBLC_NOTEBOOK_TASK_QUEUE: 'large-nb',
      NBLC_TEST_CONCURRENCY: '4',
    });
    const files: Record<string, string> = {};
    for (let i = 0; i < COUNT; i++)
      files[`level ${i % 5}/topic ${i % 17}/nb ${String(i).padStart(4, '0')}.ipynb`] = notebook([`${i}`]);
    const sha = await upstream.commit(files);
    await withWorkers(env, config, async () => {
      await publish(env, config, sha);
      // The default limit (10,000 events) would not be reached by 520 notebooks; 1,000 forces
      // several continue-as-new, as thousands of notebooks would with the default.
      const started = await startTestRun(env.client, config, { kind: 'manual', maxHistoryEvents: 1000 });
      const result = await waitFor(
        'large run',
        async () => (await getRun(env.client, started.runId))?.result,
        3_600_000,
      );
      assert.equal(result.counts.total, COUNT);
      assert.equal(result.counts.passed, COUNT);
      assert.equal(new Set(result.notebooks.map((n) => n.path)).size, COUNT);
      let runs = 0;
      let maxEvents = 0;
      for await (const wf of env.client.workflow.list({ query: `WorkflowId = '${started.workflowId}'` })) {
        runs++;
        maxEvents = Math.max(maxEvents, wf.historyLength);
      }
      assert.ok(runs > 1, `expected continue-as-new, saw ${runs} run(s)`);
      assert.ok(maxEvents <= 1100, `a run's history grew to ${maxEvents} events`);
      console.log(`${COUNT} notebooks in ${runs} runs, at most ${maxEvents} events each`);
    });
  },
);
