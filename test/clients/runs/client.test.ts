/**
 * The runs client as the API and the CLI use it, on a real Temporal dev server. A run whose
 * workers are all down (a deploy restarting them, a crash) is still a running run: getRun says so
 * and that no worker answered its progress query, instead of failing the caller's request.
 *   node --import tsx --test test/clients/runs/client.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getRun, startTestRun } from '../../../src/clients/runs/client.js';
import { sandbox } from '../../helpers/fixtures.js';
import { useTestEnv } from '../../helpers/temporal.js';

const env = useTestEnv();

test('a running run with no worker: RUNNING, its progress unavailable, no error', async () => {
  const { config } = await sandbox();
  // No worker polls this queue: the workflow is running, and nobody can answer a query
  const started = await startTestRun(env.client, { ...config, taskQueue: `nobody-${process.pid}` }, { kind: 'manual' });
  const state = await getRun(env.client, started.runId);
  assert.equal(state?.status, 'RUNNING');
  assert.equal(state?.progress, undefined);
  assert.match(state?.progressUnavailable ?? '', /no worker answered/);
  await env.client.workflow.getHandle(started.workflowId).terminate('test over');
  assert.equal((await getRun(env.client, started.runId))?.status, 'TERMINATED');
});
