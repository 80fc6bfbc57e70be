/** The sync workflow's tests' steps on a test server: set-up, a worker, beacons, and what its histories and status say. */
import type { History } from '@temporalio/common/lib/proto-utils.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../src/platform/config.js';
import { createWorker } from '../../src/process/worker.js';
import { querySync } from '../../src/clients/sync/client.js';
import { syncWorkflowId, type Beacon } from '../../src/domain/sync/model.js';
import { sandbox, waitFor } from './fixtures.js';
import { workflowBundle } from './temporal.js';

let n = 0;

type Doing = 'pulls' | 'publishes';

/** `env`: the file's test server (useTestEnv). */
export function repoSyncHarness(env: TestWorkflowEnvironment) {
  /** An upstream repository and a config with its own repository name and task queue. */
  async function setup(extra: Record<string, string> = {}) {
    const id = `${++n}-${randomUUID().slice(0, 8)}`;
    return sandbox({ NBLC_REPO_FULL_NAME: `test/sync-${id}`, NBLC_TASK_QUEUE: `sync-${id}`, ...extra });
  }

  async function worker(config: Config): Promise<Worker> {
    return createWorker(config, env.nativeConnection, { workflowBundle: await workflowBundle() });
  }

  function beacon(deliveryId: string, sha: string | null, before: string | null = null): Beacon {
    return { deliveryId, sha, before, pusher: 'curator', source: 'github', receivedAt: new Date().toISOString() };
  }

  const currentSha = async (config: Config) =>
    path.basename(await fs.readlink(path.join(config.cacheDir, 'current')).catch(() => ''));

  /**
   * What a history did: `pulls` (fetchBranch, or a whole pass in syncPass), `publishes`
   * (publishSnapshot, or a syncPass that published), whichever way the workflow's version ran a pass.
   */
  const scheduled = (history: History, what: Doing) => {
    const events = history.events ?? [];
    const type = (e: (typeof events)[number]) => e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (what === 'pulls') return events.filter((e) => ['fetchBranch', 'syncPass'].includes(type(e) ?? '')).length;
    const passes = new Set(events.filter((e) => type(e) === 'syncPass').map((e) => String(e.eventId)));
    const published = events.filter((e) => {
      const done = e.activityTaskCompletedEventAttributes;
      if (!done || !passes.has(String(done.scheduledEventId))) return false;
      const data = done.result?.payloads?.[0]?.data;
      return !!data && JSON.parse(Buffer.from(data).toString('utf8')).published !== null;
    });
    return events.filter((e) => type(e) === 'publishSnapshot').length + published.length;
  };

  async function activityCount(config: Config, what: Doing, runId?: string): Promise<number> {
    return scheduled(
      await env.client.workflow.getHandle(syncWorkflowId(config.repo.fullName), runId).fetchHistory(),
      what,
    );
  }

  /** The same over a whole continue-as-new chain, followed from its first run (no visibility lag). */
  async function chainActivityCount(config: Config, type: Doing, firstRunId: string): Promise<number> {
    let total = 0;
    for (let runId: string | undefined = firstRunId; runId;) {
      const history: History = await env.client.workflow
        .getHandle(syncWorkflowId(config.repo.fullName), runId)
        .fetchHistory();
      total += scheduled(history, type);
      runId =
        history.events?.find((e) => e.workflowExecutionContinuedAsNewEventAttributes)
          ?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    }
    return total;
  }

  async function published(config: Config, sha: string) {
    return waitFor(`publish of ${sha.slice(0, 8)}`, async () => {
      const s = await querySync(env.client, config);
      return s?.published?.sha === sha && !s.running && s.pending.length === 0 ? s : null;
    });
  }

  async function settled(config: Config, deliveryId: string) {
    return waitFor(`delivery ${deliveryId}`, async () => {
      const s = await querySync(env.client, config);
      const d = s?.recentDeliveries.find((r) => r.deliveryId === deliveryId);
      return d && d.outcome !== 'pending' && d.outcome !== 'running' ? { status: s!, delivery: d } : null;
    });
  }

  return { setup, worker, beacon, currentSha, activityCount, chainActivityCount, published, settled };
}
