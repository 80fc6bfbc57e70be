/**
 * Client side of test runs, shared by the CLI and the HTTP API: start a run, read its progress
 * or result, list runs, and manage the schedule of the full suite.
 */
import {
  WorkflowIdConflictPolicy,
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  WorkflowNotFoundError,
  type Client,
  type ScheduleOptions,
} from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import type { Config } from '../../platform/config.js';
import { temporalUiLink } from '../../domain/ui-links.js';
import {
  pullRequestWorkflowId,
  RUN_SA,
  runIdFromWorkflowId,
  workflowIdOfRun,
  type PullRequestRef,
  TEST_RUN_PREFIX,
  type RunKind,
  type TestRunInput,
  type TestRunProgress,
  type TestRunQueues,
  type TestRunResult,
} from '../../domain/runs/model.js';
import { progressQuery } from '../../domain/runs/messages.js';
import type { testNotebooks } from '../../workflows/runs/testNotebooks.js';

export type RunsClientConfig = Pick<Config, 'taskQueue' | 'temporal' | 'tests'>;
export const SCHEDULE_ID = 'nblc-scheduled-tests';

export type StartRunInput = TestRunInput & Partial<Pick<TestRunQueues, 'maxHistoryEvents'>>;

export function runArgs(config: RunsClientConfig, input: StartRunInput): TestRunInput & TestRunQueues {
  return {
    ...input,
    notebookTaskQueue: config.tests.taskQueue,
    defaultConcurrency: config.tests.concurrency,
    temporalUi: { url: config.temporal.uiUrl, namespace: config.temporal.namespace },
  };
}

function summaryOf(input: TestRunInput): string {
  const what = input.paths ? `${input.paths.length} changed notebook(s)` : 'the notebook suite';
  return `${input.kind} test run of ${what}${input.commit ? ` at ${input.commit.slice(0, 12)}` : ''}`;
}

export interface StartedRun {
  runId: string;
  workflowId: string;
  /** Temporal's run ID of the first execution (continue-as-new starts further ones). */
  firstRunId: string;
  temporalUiUrl: string;
}

export async function startTestRun(
  client: Client,
  config: RunsClientConfig,
  input: StartRunInput,
): Promise<StartedRun> {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const workflowId = `${TEST_RUN_PREFIX}${input.kind}-${stamp}-${randomBytes(3).toString('hex')}`;
  const handle = await client.workflow.start<typeof testNotebooks>('testNotebooks', {
    workflowId,
    taskQueue: config.taskQueue,
    args: [runArgs(config, input)],
    staticSummary: summaryOf(input),
  });
  return {
    runId: runIdFromWorkflowId(workflowId),
    workflowId,
    firstRunId: handle.firstExecutionRunId,
    temporalUiUrl: temporalUiLink(
      config.temporal.uiUrl,
      config.temporal.namespace,
      workflowId,
      handle.firstExecutionRunId,
    ),
  };
}

export interface RunState {
  runId: string;
  workflowId: string;
  status: string;
  progress?: TestRunProgress;
  /** Running, but no worker answered the progress query (none polls the run's queue now). */
  progressUnavailable?: string;
  result?: TestRunResult;
  error?: string;
}

/** How long a progress query may wait for a worker: the API and the CLI answer without it after. */
const PROGRESS_DEADLINE_MS = 5_000;

/** A run's state: live progress while it runs, its result when it completed; null if unknown. */
export async function getRun(client: Client, runId: string): Promise<RunState | null> {
  const handle = client.workflow.getHandle(workflowIdOfRun(runId));
  try {
    const desc = await handle.describe();
    const base = { runId: runIdFromWorkflowId(desc.workflowId), workflowId: desc.workflowId, status: desc.status.name };
    if (desc.status.name === 'RUNNING') {
      // Only a worker answers a query: while workers restart (a deploy, a crash) the run is still
      // running, and callers get that instead of an error.
      const progress = await client
        .withDeadline(Date.now() + PROGRESS_DEADLINE_MS, () => handle.query(progressQuery))
        .catch(() => undefined);
      return progress
        ? { ...base, progress }
        : { ...base, progressUnavailable: 'no worker answered in time (are the workers running?)' };
    }
    if (desc.status.name === 'COMPLETED') return { ...base, result: (await handle.result()) as TestRunResult };
    return {
      ...base,
      error: await handle.result().then(
        () => undefined,
        (err: Error) => (err.cause instanceof Error ? err.cause.message : err.message),
      ),
    };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

export interface RunListEntry {
  runId: string;
  workflowId: string;
  status: string;
  kind?: string;
  commit?: string;
  runStatus?: string;
  failed?: number;
  startTime: string;
}

export async function listRuns(client: Client, limit = 50): Promise<RunListEntry[]> {
  const out: RunListEntry[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowType = 'testNotebooks'`, pageSize: limit })) {
    const sa = wf.typedSearchAttributes;
    out.push({
      runId: runIdFromWorkflowId(wf.workflowId),
      workflowId: wf.workflowId,
      status: wf.status.name,
      kind: sa.get(RUN_SA.kind),
      commit: sa.get(RUN_SA.commit),
      runStatus: sa.get(RUN_SA.status),
      failed: sa.get(RUN_SA.failed),
      startTime: wf.startTime.toISOString(),
    });
    if (out.length >= limit) break;
  }
  return out;
}

export function scheduleOptions(config: RunsClientConfig, cron: string): ScheduleOptions {
  const input: TestRunInput = { kind: 'scheduled' satisfies RunKind };
  return {
    scheduleId: SCHEDULE_ID,
    spec: { cronExpressions: [cron], timezone: config.tests.timezone },
    action: {
      type: 'startWorkflow',
      workflowType: 'testNotebooks',
      workflowId: `${TEST_RUN_PREFIX}scheduled`,
      taskQueue: config.taskQueue,
      args: [runArgs(config, input)],
      staticSummary: summaryOf(input),
    },
    // A slow run is not stacked on; after an outage, one missed run still happens.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
  };
}

/** Creates the schedule, or updates it to the current config: safe to run on every start. */
export async function applySchedule(
  client: Client,
  config: RunsClientConfig,
): Promise<'created' | 'updated' | 'disabled'> {
  if (!config.tests.cron) return 'disabled';
  const options = scheduleOptions(config, config.tests.cron);
  try {
    await client.schedule.create(options);
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(SCHEDULE_ID).update((prev) => ({
      ...prev,
      spec: options.spec,
      action: options.action,
      policies: { ...prev.policies, ...options.policies },
    }));
    return 'updated';
  }
}

/**
 * Starts the run of a pull request's head commit, after cancelling its runs of older heads
 * (found by NblcPullRequest, set at start so a push right after finds it). The same head again
 * (a redelivery) joins its running run.
 */
export async function startPullRequestRun(
  client: Client,
  config: RunsClientConfig,
  pr: PullRequestRef,
): Promise<StartedRun & { cancelled: string[] }> {
  const workflowId = pullRequestWorkflowId(pr);
  const cancelled = await cancelPullRequestRuns(client, pr.number, workflowId);
  const input: TestRunInput = { kind: 'pr', commit: pr.head, pullRequest: pr };
  const handle = await client.workflow.start<typeof testNotebooks>('testNotebooks', {
    workflowId,
    taskQueue: config.taskQueue,
    args: [runArgs(config, input)],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    typedSearchAttributes: [
      { key: RUN_SA.pullRequest, value: pr.number },
      { key: RUN_SA.kind, value: 'pr' },
      { key: RUN_SA.commit, value: pr.head },
    ],
    staticSummary: `pr test run of pull request #${pr.number} at ${pr.head.slice(0, 12)}${pr.fork ? ' (from a fork)' : ''}`,
  });
  return {
    runId: runIdFromWorkflowId(workflowId),
    workflowId,
    firstRunId: handle.firstExecutionRunId,
    temporalUiUrl: temporalUiLink(config.temporal.uiUrl, config.temporal.namespace, workflowId),
    cancelled,
  };
}

/** Cancels the running runs of pull request `number` (but `except`); returns their workflow IDs. */
export async function cancelPullRequestRuns(client: Client, number: number, except?: string): Promise<string[]> {
  const cancelled: string[] = [];
  const query = `WorkflowType = 'testNotebooks' AND NblcPullRequest = ${Math.trunc(number)} AND ExecutionStatus = 'Running'`;
  for await (const wf of client.workflow.list({ query })) {
    if (wf.workflowId === except) continue;
    try {
      await client.workflow.getHandle(wf.workflowId, wf.runId).cancel();
      cancelled.push(wf.workflowId);
    } catch (err) {
      // It ended meanwhile: nothing to cancel.
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
  return cancelled;
}

/**
 * The newest completed run of a kind (its result), for `nblc test --failed`: the visibility store
 * lists newest first. Null when no run of that kind completed.
 */
export async function latestCompletedRun(
  client: Client,
  config: Pick<RunsClientConfig, 'taskQueue'>,
  kind: string,
): Promise<TestRunResult | null> {
  // The kind goes into a visibility query: only a plain word is accepted.
  if (!/^[a-z][a-z_-]{0,30}$/.test(kind))
    throw new Error(`"${kind}" is not a run kind (e.g. scheduled, merge, manual)`);
  // This service's runs only (its task queue): a namespace may hold another service's.
  const queue = config.taskQueue.replace(/['\\]/g, '');
  const query = `WorkflowType = 'testNotebooks' AND TaskQueue = '${queue}' AND ${RUN_SA.kind.name} = '${kind}' AND ExecutionStatus = 'Completed'`;
  for await (const wf of client.workflow.list({ query, pageSize: 10 })) {
    const result = (await client.workflow.getHandle(wf.workflowId, wf.runId).result()) as TestRunResult;
    if (result?.kind === kind) return result;
  }
  return null;
}
