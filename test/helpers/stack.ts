/** An in-process worker pair (main + notebook task queue) on a test Temporal server. */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import type { Config } from '../../src/platform/config.js';
import type { Beacon } from '../../src/domain/sync/model.js';
import { querySync, signalSync } from '../../src/clients/sync/client.js';
import { createNotebookWorkers, createWorker } from '../../src/process/worker.js';
import { getRun } from '../../src/clients/runs/client.js';
import type { TestRunResult } from '../../src/domain/runs/model.js';
import { waitFor } from './fixtures.js';
import { workflowBundle } from './temporal.js';

export async function workers(env: TestWorkflowEnvironment, config: Config): Promise<Worker[]> {
  return [
    await createWorker(config, env.nativeConnection, { workflowBundle: await workflowBundle() }),
    ...(await createNotebookWorkers(config, env.nativeConnection)),
  ];
}

/** Runs `fn` while both workers poll; shuts them down afterwards. */
export async function withWorkers<T>(env: TestWorkflowEnvironment, config: Config, fn: () => Promise<T>): Promise<T> {
  const ws = await workers(env, config);
  const runs = ws.map((w) => w.run());
  try {
    return await fn();
  } finally {
    for (const w of ws) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.all(runs);
  }
}

export function beacon(deliveryId: string, sha: string | null): Beacon {
  return { deliveryId, sha, before: null, pusher: 'curator', source: 'github', receivedAt: new Date().toISOString() };
}

/** Publishes `sha` through the sync workflow (needs running workers). */
export async function publish(env: TestWorkflowEnvironment, config: Config, sha: string, deliveryId = `d-${sha}`) {
  await signalSync(env.client, config, beacon(deliveryId, sha));
  return waitFor(`publish of ${sha.slice(0, 8)}`, async () => {
    const s = await querySync(env.client, config);
    if (s?.lastError) throw new Error(s.lastError.message);
    return s?.published?.sha === sha && !s.running ? s : null;
  });
}

/** The result of a test run once it completed; throws at once if it ended otherwise. */
export async function runResult(
  env: TestWorkflowEnvironment,
  runId: string,
  timeoutMs = 180_000,
): Promise<TestRunResult> {
  return waitFor(
    `run ${runId}`,
    async () => {
      const r = await getRun(env.client, runId);
      if (r && r.status !== 'RUNNING' && !r.result) throw new Error(`run ${runId} ${r.status}: ${r.error}`);
      return r?.result;
    },
    timeoutMs,
  );
}

/** Each notebook of a run's result as [path, status], in the run's order. */
export function pathStatuses(r: Pick<TestRunResult, 'notebooks'>): Array<[string, string]> {
  return r.notebooks.map((n) => [n.path, n.status]);
}
