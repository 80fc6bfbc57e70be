/**
 * The harness of the copy workflows' tests: a worker on a fresh task queue with users'
 * directories, every run of a workflow ID with its history (kept for the file's replay test),
 * and readers of those histories.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { temporal } from '@temporalio/proto';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createWorker } from '../../src/process/worker.js';
import { tempDir, testConfig, waitFor } from './fixtures.js';
import { workflowBundle } from './temporal.js';

type History = temporal.api.history.v1.IHistory;
export type Run = { runId: string; history: History };

export function copyWorkflowHarness(env: TestWorkflowEnvironment) {
  /** Every history this file's tests saw, replayed by its last test. */
  const histories: Array<{ workflowId: string; history: History }> = [];

  async function setup(users: string[] = ['ada']) {
    const dir = await tempDir('nblc-usercopy-');
    const config = testConfig(dir, '/nonexistent.git', { NBLC_TASK_QUEUE: `copies-${randomUUID().slice(0, 8)}` });
    for (const u of users) await fs.mkdir(path.join(config.usersDir, u), { recursive: true });
    const worker = await createWorker(config, env.nativeConnection, { workflowBundle: await workflowBundle() });
    return { dir, config, worker };
  }

  /**
   * Every run of a workflow ID, oldest first, with its history (kept for the replay test). The
   * listing comes from visibility, which lags a little: poll until `complete` holds.
   */
  async function runsOf(workflowId: string, complete: (runs: Run[]) => boolean = () => true): Promise<Run[]> {
    const runs = await waitFor(
      `runs of ${workflowId}`,
      async () => {
        const found: Run[] = [];
        for await (const w of env.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
          if (w.status.name === 'RUNNING') return null;
          found.push({
            runId: w.runId,
            history: await env.client.workflow.getHandle(workflowId, w.runId).fetchHistory(),
          });
        }
        return found.length > 0 && complete(found) ? found.reverse() : null;
      },
      20_000,
    );
    for (const r of runs) histories.push({ workflowId: `${workflowId}/${r.runId}`, history: r.history });
    return runs;
  }

  return { histories, setup, runsOf };
}

export const activitiesIn = (runs: Run[]) =>
  runs.flatMap((r) => r.history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length;

/** The largest number of activities of one run that were ever scheduled and not yet finished. */
export function maxConcurrentActivities(history: temporal.api.history.v1.IHistory): number {
  let open = 0;
  let max = 0;
  for (const e of history.events ?? []) {
    if (e.activityTaskScheduledEventAttributes) max = Math.max(max, ++open);
    if (e.activityTaskCompletedEventAttributes || e.activityTaskFailedEventAttributes) open--;
  }
  return max;
}

/** Waits until the workflow is open (its first task may not have run yet). */
export async function waitOpen(env: TestWorkflowEnvironment, workflowId: string): Promise<void> {
  for (;;) {
    const desc = await env.client.workflow
      .getHandle(workflowId)
      .describe()
      .catch(() => null);
    if (desc?.status.name === 'RUNNING') return;
    await new Promise((r) => setTimeout(r, 20));
  }
}
