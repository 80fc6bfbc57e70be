/**
 * Client-side entry to the sync workflow, shared by the webhook and `nblc sync`: both signal
 * the same per-repository workflow, starting it if it is not running.
 */
import type { Client } from '@temporalio/client';
import { durationMs, type Config } from '../../platform/config.js';
import { temporalUiLink } from '../../domain/ui-links.js';
import { beaconSignal, statusQuery } from '../../domain/sync/messages.js';
import type { repoSync } from '../../workflows/sync/repoSync.js';
import { syncWorkflowId, type Beacon, type SyncStatus } from '../../domain/sync/model.js';

export type SyncClientConfig = Pick<Config, 'repo' | 'taskQueue' | 'syncIdleTimeout' | 'temporal' | 'alerts'>;

export interface SignalledSync {
  workflowId: string;
  runId: string;
  temporalUiUrl: string;
}

export async function signalSync(client: Client, config: SyncClientConfig, beacon: Beacon): Promise<SignalledSync> {
  const workflowId = syncWorkflowId(config.repo.fullName);
  const handle = await client.workflow.signalWithStart<typeof repoSync, [Beacon]>('repoSync', {
    workflowId,
    taskQueue: config.taskQueue,
    args: [
      {
        repo: config.repo.fullName,
        branch: config.repo.branch,
        idleTimeout: config.syncIdleTimeout,
        alertSyncAfterMs: durationMs(config.alerts.syncAfter),
      },
    ],
    signal: beaconSignal,
    signalArgs: [beacon],
    staticSummary: `Sync ${config.repo.fullName}@${config.repo.branch} into the notebooks cache`,
  });
  const runId = handle.signaledRunId;
  return {
    workflowId,
    runId,
    temporalUiUrl: temporalUiLink(config.temporal.uiUrl, config.temporal.namespace, workflowId, runId),
  };
}

/** The sync workflow's status, or null when no run is open (it ended idle, or never started). */
export async function querySync(client: Client, config: SyncClientConfig): Promise<SyncStatus | null> {
  const handle = client.workflow.getHandle(syncWorkflowId(config.repo.fullName));
  try {
    const desc = await handle.describe();
    if (desc.status.name !== 'RUNNING') return null;
    return await handle.query(statusQuery);
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return null;
    throw err;
  }
}
