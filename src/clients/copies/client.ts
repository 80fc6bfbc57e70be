/**
 * Client-side entry to the users' copies, shared by the HTTP API, `nblc copy` and the demo: a
 * request is an update-with-start of the user's workflow, so it queues behind that user's other
 * requests and returns the result (path and per-file report) to the caller.
 */
import {
  WithStartWorkflowOperation,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import type { Config } from '../../platform/config.js';
import {
  COPY_FAILURES,
  DRAINING,
  bulkCopyWorkflowId,
  copyRequestProblem,
  userCopyWorkflowId,
  type BulkMode,
  type BulkProgress,
  type CopyMode,
  type CopyRequest,
  type CopyResult,
} from '../../domain/copies/model.js';
import { temporalUiLink } from '../../domain/ui-links.js';
import { bulkProgressQuery, copyRequestUpdate } from '../../domain/copies/messages.js';
import type { userCopiesBulk } from '../../workflows/copies/userCopiesBulk.js';
import type { userCopy } from '../../workflows/copies/userCopy.js';

export type CopyClientConfig = Pick<Config, 'taskQueue' | 'temporal' | 'copies'>;

/** A request that failed for a reason the caller should see (typed like the activities' failures). */
export class CopyRequestError extends Error {
  constructor(
    message: string,
    readonly type: string,
  ) {
    super(message);
    this.name = 'CopyRequestError';
  }
}

export type CopyAnswer = CopyResult & { workflowId: string; temporalUiUrl: string };

const DRAIN_RETRIES = 50;

export async function requestCopy(
  client: Client,
  config: CopyClientConfig,
  user: string,
  req: { mode: CopyMode; dir?: string; requestId?: string },
): Promise<CopyAnswer> {
  // Checked here too, so `nblc copy` and the demo fail before anything is started.
  const problem = copyRequestProblem(user, req);
  if (problem) throw new CopyRequestError(problem, COPY_FAILURES.invalid);
  const request: CopyRequest = {
    mode: req.mode,
    ...(req.dir === undefined ? {} : { dir: req.dir }),
    requestId: req.requestId ?? randomUUID(),
    requestedAt: new Date().toISOString(),
  };
  const workflowId = userCopyWorkflowId(user);
  for (let attempt = 0; ; attempt++) {
    const startWorkflowOperation = new WithStartWorkflowOperation<typeof userCopy>('userCopy', {
      workflowId,
      taskQueue: config.taskQueue,
      // Applies to the run this request starts; a request joining an open run gets that run's.
      args: [{ user, maxQueued: config.copies.maxQueued }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: `Copies of ${user}'s notebooks`,
    });
    try {
      const result = await client.workflow.executeUpdateWithStart(copyRequestUpdate, {
        args: [request],
        // The request ID is the update ID: a retry of the same request is deduplicated.
        updateId: request.requestId,
        startWorkflowOperation,
      });
      const temporalUiUrl = temporalUiLink(config.temporal.uiUrl, config.temporal.namespace, workflowId);
      return { ...result, workflowId, temporalUiUrl };
    } catch (err) {
      // The run completed between taking the update and running it: the next attempt starts a new one.
      if (/already completed/i.test((err as Error).message) && attempt < DRAIN_RETRIES) continue;
      if (!(err instanceof WorkflowUpdateFailedError)) throw err;
      const cause = err.cause;
      const type = cause instanceof ApplicationFailure && cause.type ? cause.type : 'CopyFailed';
      // The open run is finishing: the next attempt joins or starts the next one.
      if (type === DRAINING && attempt < DRAIN_RETRIES) {
        await new Promise((r) => setTimeout(r, 100 + 50 * attempt));
        continue;
      }
      throw new CopyRequestError(cause?.message ?? err.message, type);
    }
  }
}

export interface StartedBulk {
  workflowId: string;
  runId: string;
  temporalUiUrl: string;
  handle: WorkflowHandle<typeof userCopiesBulk>;
}

/** Starts the bulk workflow of `mode`, or joins the one already running. */
export async function startBulk(
  client: Client,
  config: CopyClientConfig,
  mode: BulkMode,
  dir?: string,
): Promise<StartedBulk> {
  const workflowId = bulkCopyWorkflowId(mode);
  const handle = await client.workflow.start<typeof userCopiesBulk>('userCopiesBulk', {
    workflowId,
    taskQueue: config.taskQueue,
    args: [
      {
        mode,
        ...(dir === undefined ? {} : { dir }),
        concurrency: config.copies.concurrency,
        maxQueued: config.copies.maxQueued,
      },
    ],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: `${mode} of every user's copy${dir ? ` (${dir})` : ''}`,
  });
  const runId = handle.firstExecutionRunId;
  return {
    workflowId,
    runId,
    temporalUiUrl: temporalUiLink(config.temporal.uiUrl, config.temporal.namespace, workflowId, runId),
    handle,
  };
}

/** The progress of the running bulk workflow of `mode`, or null when none is open. */
export async function bulkProgress(client: Client, mode: BulkMode): Promise<BulkProgress | null> {
  const handle = client.workflow.getHandle(bulkCopyWorkflowId(mode));
  try {
    if ((await handle.describe()).status.name !== 'RUNNING') return null;
    return await handle.query(bulkProgressQuery);
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return null;
    throw err;
  }
}
