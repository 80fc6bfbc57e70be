/**
 * Domain types of notebook test runs. Pure: imported by workflows, activities, API and CLI.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { AlertOutcome } from '../alerts/model.js';
import type { RunCause } from './causes.js';
import { NOTEBOOK_STATUSES, type NotebookStatus, type RunKind } from './status.js';
import type { TestRunOptions } from './options.js';
import type { NotebookPlan } from './contract.js';
import type { EnvironmentChange, EnvironmentSummary, NewlyFailingChange, RunEnvironment } from './environment.js';
import type { RunComparison } from './comparison.js';
import type { NotebookResult, NotebookSummary } from './result.js';

// The run options and their limits have their own module; they are part of the model.
export { boundsText, clampRunOptions, RUN_LIMITS, runOptionsProblems, type TestRunOptions } from './options.js';
// A notebook's outcome has its own module (result.ts).
export type {
  ExecutorResult,
  KernelNetwork,
  NotebookResult,
  NotebookSummary,
  ResourceLimits,
  SandboxState,
} from './result.js';
// The statuses and kinds of runs have their own module (alerts and causes import them).
export {
  isFailing,
  NOTEBOOK_STATUSES,
  STATUS_LABEL,
  type NotebookError,
  type NotebookStatus,
  type RunKind,
} from './status.js';

export const RUN_SA = {
  kind: defineSearchAttributeKey('NblcRunKind', SearchAttributeType.KEYWORD),
  commit: defineSearchAttributeKey('NblcCommit', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('NblcRunStatus', SearchAttributeType.KEYWORD),
  failed: defineSearchAttributeKey('NblcFailedCount', SearchAttributeType.INT),
  /** Runs of a pull request (kind `pr`), so a newer push or closing the PR finds and cancels them. */
  pullRequest: defineSearchAttributeKey('NblcPullRequest', SearchAttributeType.INT),
} as const;

/** Typed failures of the test-run activities. */
export const RUN_FAILURES = {
  nothingPublished: 'NothingPublished',
  snapshotNotFound: 'SnapshotNotFound', // pruned, or never published
  badCommit: 'BadCommit', // not a full SHA
  badReportInput: 'BadReportInput',
  executorCrashed: 'ExecutorCrashed', // retryable, up to INFRA_ATTEMPTS
  kernelStartFailed: 'KernelStartFailed', // retryable, up to INFRA_ATTEMPTS
  badRunId: 'BadRunId', // recordRun: not a run directory name
  reportMissing: 'ReportMissing', // recordRun: the run has no report.json
  badReport: 'BadReport', // recordRun: report.json does not parse
  baselineMissing: 'BaselineMissing', // a candidate run's --compare-with names no finished run
} as const;
/** resolveSnapshot's: the run cannot start until someone publishes or names another commit. */
export const NON_RETRYABLE_SNAPSHOT_FAILURES: string[] = [
  RUN_FAILURES.nothingPublished,
  RUN_FAILURES.snapshotNotFound,
  RUN_FAILURES.badCommit,
];

/** recordRun's: retrying cannot make a report appear; the next worker start imports it anyway. */
export const NON_RETRYABLE_RECORD_FAILURES: string[] = [
  RUN_FAILURES.badRunId,
  RUN_FAILURES.reportMissing,
  RUN_FAILURES.badReport,
];

/** A pull request's run: its head commit, fetched from refs/pull/<number>/head, never published. */
export interface PullRequestRef {
  number: number;
  head: string;
  /** The head is in a fork: run only with NBLC_PR_FROM_FORKS (decided by the worker). */
  fork: boolean;
}

/** `test-run:pr-<n>-<sha12>`: one run per pushed head; a newer head cancels the older run. */
export const pullRequestWorkflowId = (pr: Pick<PullRequestRef, 'number' | 'head'>) =>
  `test-run:pr-${pr.number}-${pr.head.slice(0, 12)}`;

export interface TestRunInput extends TestRunOptions {
  kind: RunKind;
  /** Full SHA of a published snapshot; default: what `current` points at when the run starts. */
  commit?: string;
  /** Only these paths (merge runs: the notebooks the merge changed), still filtered by the globs. */
  paths?: string[];
  /**
   * Merge runs since `change-impact`: every path the merge changed; discovery selects the
   * notebooks the change touches (impact.ts) instead of only the changed notebooks.
   */
  changed?: string[];
  /** Kind `pr`: the pull request (the notebooks it changes against its merge base are run). */
  pullRequest?: PullRequestRef;
  /** `--parameter NAME=VALUE`: values for the cell tagged `parameters` of each notebook that has one. */
  parameters?: Record<string, string>;
  /** A candidate run's kernel (kernels.ts `kernelFor`): every notebook runs with it... */
  kernel?: string;
  /** ...except those asking for a kernel named here, which run with the one it maps to. */
  kernelMap?: Record<string, string>;
  /** A candidate run's baseline: a run ID, or `latest-scheduled`. */
  compareWith?: string;
  /** A candidate run's gate (its `nblc/candidate` status): newly failing notebooks allowed. */
  allowNewFailures?: number;
  /** Carried across continue-as-new. */
  carry?: TestRunCarry;
}

/** Settings a run needs from the service's config; filled in by whoever starts it. */
export interface TestRunQueues {
  /** Notebook executions go to this task queue (NBLC_NOTEBOOK_TASK_QUEUE). */
  notebookTaskQueue: string;
  defaultConcurrency: number;
  /** For the report's link to this run. */
  temporalUi?: { url: string; namespace: string };
  maxHistoryEvents?: number;
}

export interface TestRunCarry {
  runId: string;
  commit: string;
  root: string;
  startedAt: string;
  remaining: string[];
  total: number;
  done: NotebookSummary[];
  /** The run set a `pending` commit status (statuses are on): it sets the final one too. */
  statuses?: boolean;
  /** Why the notebooks were not run (a pull request from a fork). */
  skipped?: string;
  /** The environment probe's activity failed: why (the report says it was not measured). */
  environmentError?: string;
  /** The notebooks whose contract differs from the run's settings (contract.ts), by path. */
  plans?: Record<string, NotebookPlan>;
  /** A candidate run's baseline run ID (its report compares with it). */
  baseline?: string;
  /** Notebooks at once when the run did not say (runOrder.ts: cores, free memory, recorded peaks). */
  concurrency?: number;
}

export interface TestRunProgress {
  runId: string;
  kind: RunKind;
  commit: string | null;
  phase: 'discovering' | 'running' | 'reporting' | 'done';
  total: number;
  done: number;
  failed: number;
  running: string[];
  failures: Array<{ path: string; status: NotebookStatus }>;
}

export type RunCounts = Record<NotebookStatus, number> & { total: number; flaky: number };

export interface TestReport {
  runId: string;
  commit: string;
  kind: RunKind;
  startedAt: string;
  finishedAt: string;
  counts: RunCounts;
  /** The not-passing notebooks grouped by their first unexpected error (causes.ts), largest first. */
  causes: RunCause[];
  /** Datasets (header cells' `__datasets__`) that two or more not-passing notebooks read (catalog.ts). */
  sharedDatasets?: Array<{ dataset: string; notebooks: string[] }>;
  notebooks: NotebookResult[];
  /** Compared with the previous finished run of the same kind. */
  newlyFailing: string[];
  fixed: string[];
  previousRunId: string | null;
  temporalUiUrl?: string;
  /** Notebooks of this run executed with NBLC_SANDBOX=off (unconfined kernels). */
  unsandboxed?: number;
  /** What went wrong beside the notebooks (a `.nblcignore` that was ignored), in words. */
  warnings?: string[];
  /** Notebooks of this run whose kernels shared the host's network (NBLC_KERNEL_NETWORK=host, or unsandboxed). */
  networkNotIsolated?: number;
  /** Added after the alerts were sent (src/domain/alerts/model.ts), when there were any. */
  alerts?: AlertOutcome[];
  /**
   * The kernel environment the run ran in (environment.ts), absent in runs from before it was
   * measured; after the notebooks, so that the head of the file stays small.
   */
  environment?: RunEnvironment;
  /** Against the newest recorded run with a measured environment that finished before this one. */
  environmentChanges?: EnvironmentChange[];
  environmentComparedWith?: string | null;
  /** Each newly failing notebook (the first 500) against the run where it last passed (the history). */
  newlyFailingChanges?: NewlyFailingChange[];
  /** Why the comparisons above are missing (the history database did not answer). */
  historyError?: string;
  /** Every kernel the run used, measured once each (kernels.ts); absent in runs from before. */
  environments?: RunEnvironment[];
  /** Per kernel: what changed since the newest earlier run that used the same kernel. */
  kernelChanges?: KernelChanges[];
  /** A candidate run against its baseline (comparison.ts). */
  comparison?: RunComparison;
}

export interface KernelChanges {
  kernel: string;
  comparedWith: string | null;
  changes: EnvironmentChange[];
}

/** What the workflow returns: the counts and where the report is, not the tracebacks. */
export interface TestRunResult {
  runId: string;
  commit: string;
  kind: RunKind;
  counts: RunCounts;
  /** As in the report; absent in results of runs from before root causes were reported. */
  causes?: RunCause[];
  reportDir: string;
  /** Every notebook in run order (compact: the tracebacks are in the report); why it was selected (merge, pr). */
  notebooks: Array<NotebookSummary & { selectedBecause?: string[] }>;
  failures: Array<{ path: string; status: NotebookStatus }>;
  newlyFailing: string[];
  fixed: string[];
  /** Each alert on each channel (src/domain/alerts/model.ts); a failed one has its error. */
  alerts?: AlertOutcome[];
  /** As in the report, compact: the package lists and changes beyond a few stay in report.json. */
  environment?: EnvironmentSummary;
  environmentChanges?: EnvironmentChange[];
  /** How many changes the report lists (environmentChanges holds the first few). */
  environmentChangeCount?: number;
  environmentComparedWith?: string | null;
  newlyFailingChanges?: NewlyFailingChange[];
  /** A candidate run's comparison, compact: the `same` notebooks and packages beyond 50 only in report.json. */
  comparison?: RunComparison;
}

export function emptyCounts(): RunCounts {
  const counts = { total: 0, flaky: 0 } as RunCounts;
  for (const s of NOTEBOOK_STATUSES) counts[s] = 0;
  return counts;
}

export function countSummaries(summaries: Array<Pick<NotebookSummary, 'status' | 'flaky'>>): RunCounts {
  const counts = emptyCounts();
  for (const s of summaries) {
    counts[s.status]++;
    counts.total++;
    if (s.flaky) counts.flaky++;
  }
  return counts;
}

/**
 * Executions of one notebook for infrastructure failures (executor crash, kernel dead before its
 * first cell, worker lost); after the last one the notebook is reported, not retried.
 */
export const INFRA_ATTEMPTS = 3;

/** The run's directory name under NBLC_RESULTS_DIR, from its workflow ID. */
export const TEST_RUN_PREFIX = 'test-run:';
export function runIdFromWorkflowId(workflowId: string): string {
  return workflowId.replace(/^test-run:/, '').replace(/[^A-Za-z0-9._-]+/g, '-');
}

/** Back to the workflow ID: the prefix, and a scheduled run's timestamp colons (…T03:00:00Z). */
export function workflowIdOfRun(runId: string): string {
  if (runId.startsWith(TEST_RUN_PREFIX)) return runId;
  const scheduled = /^(scheduled-\d{4}-\d\d-\d\dT\d\d)-(\d\d)-(\d\d(?:\.\d+)?Z)$/.exec(runId);
  return TEST_RUN_PREFIX + (scheduled ? `${scheduled[1]}:${scheduled[2]}:${scheduled[3]}` : runId);
}
