/**
 * A test run: discover the notebooks of a published snapshot, execute each one (on the notebook
 * task queue, bounded concurrency), write the report.
 *
 * Each notebook is one activity whose full result is written to the run's directory; the
 * workflow keeps only a compact summary, and continues-as-new (between notebooks, with nothing
 * in flight) so that suites of thousands stay within Temporal's history limits. A notebook is
 * reported once whatever the retries: its result file is keyed by its path.
 *
 * Read top to bottom: `prepare` (snapshot, discovery, contracts, environment), `execute` (the
 * lanes), `report`, then `finish` (history, alerts, statuses), or `onStopped` when the run was
 * cancelled or failed. The order of every step is part of the recorded histories: a change goes
 * behind `patched()` and the fixtures in test/fixtures/histories must still replay.
 */
import {
  CancellationScope,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { RunActivities } from '../../activities/runs/index.js';
import { temporalUiLink } from '../../domain/ui-links.js';
import { bookkeepingWork } from '../activityOptions.js';
import type { AlertOutcome } from '../../domain/alerts/model.js';
import * as notify from './runNotify.js';
import { recordInHistory } from './runRecords.js';
import { kernelChoiceOf, measureRunEnvironments } from './kernels.js';
import { candidateBaseline, candidateStatus, NO_ALERT_KINDS, NO_HISTORY_KINDS } from './candidate.js';
import { pullRequestSnapshot, releasePullRequest } from './pullRequest.js';
import { allPaths, executePlanned, historyFull, notebookExecutors, notebookQueue, runLanes } from './runLanes.js';
import { orderNotebooks } from './runOrder.js';
import { applyRunContracts } from './runContracts.js';
import { openRun, type TestRunState } from './runState.js';
import {
  countSummaries,
  NON_RETRYABLE_SNAPSHOT_FAILURES,
  RUN_SA,
  type TestRunCarry,
  type TestRunInput,
  type TestRunQueues,
  type TestRunResult,
} from '../../domain/runs/model.js';

/** The file-side steps around the executions: snapshot pin, discovery, report. */
const bookkeeping = proxyActivities<RunActivities>(bookkeepingWork(NON_RETRYABLE_SNAPSHOT_FAILURES));

/** The workflow: the steps below in their order, and the clean-up whichever way the run ends. */
export async function testNotebooks(requested: TestRunInput & TestRunQueues): Promise<TestRunResult> {
  const run = openRun(requested);
  let continuing = false;
  let stoppedBy: unknown;
  let reported: TestRunResult | undefined;
  try {
    try {
      run.carry ??= await prepare(run);
      run.phase = 'running';
      run.describe();
      const remaining = await execute(run, run.carry);
      if (remaining.length > 0) {
        continuing = true;
        return await continueAsNew<typeof testNotebooks>({
          ...run.input,
          carry: { ...run.carry, remaining, done: [...run.done.values()] },
        });
      }
      reported = await report(run, run.carry);
    } catch (err) {
      stoppedBy = err;
      await onStopped(run, err);
      throw err;
    } finally {
      // The pull request's snapshot goes however the run ends, but not when it continues as new
      // (the next run still needs it), nor when it was cancelled before it was prepared (so it
      // was before this was one `finally`, and those histories replay unchanged).
      const cancelledEarly = isCancellation(stoppedBy) && !run.carry && !run.releasedEarly;
      if (run.input.kind === 'pr' && !continuing && !cancelledEarly) {
        await releasePullRequest(run.runId, run.input.pullRequest);
      }
    }
    return await finish(run, run.carry, reported);
  } catch (err) {
    if (reported) {
      // Stopped after its report (cancelled while it tells): the same clean-up as before it.
      // Runs from before 'pr-release-once' released the pull request's snapshot a second time.
      await onStopped(run, err);
      if (run.input.kind === 'pr' && !patched('pr-release-once')) {
        await releasePullRequest(run.runId, run.input.pullRequest);
      }
    }
    if (!NO_ALERT_KINDS.includes(run.input.kind)) {
      await notify.sendFailureAlerts(run.runId, run.input.kind, run.carry?.commit ?? run.input.commit, err);
    }
    throw err;
  }
}

/**
 * Pins the snapshot to test (a published commit, or a pull request's head), sets the `pending`
 * status, finds the notebooks, applies their contracts and measures the environment: what the
 * run carries from here on, through every continue-as-new.
 */
async function prepare(run: TestRunState): Promise<TestRunCarry> {
  const { input, runId, done } = run;
  upsertSearchAttributes([
    { key: RUN_SA.kind, value: input.kind },
    { key: RUN_SA.status, value: 'running' },
    { key: RUN_SA.failed, value: 0 },
  ]);
  // A pull request's head is exported apart from the published snapshots (pullRequest.ts).
  const pr = input.kind === 'pr' ? input.pullRequest : undefined;
  const snap: { commit: string; root: string; paths?: string[]; skipped?: string } = pr
    ? await pullRequestSnapshot(runId, pr)
    : await bookkeeping.resolveSnapshot({ runId, commit: input.commit });
  upsertSearchAttributes([{ key: RUN_SA.commit, value: snap.commit }]);
  const skipped = snap.skipped;
  run.prepared = { commit: snap.commit, ...(skipped ? { skipped } : {}) };
  const baseline = await candidateBaseline(runId, input); // a candidate run's (candidate.ts)
  // Versioned, like the steps below: older histories replay without them.
  const statuses =
    notify.STATUS_KINDS.includes(input.kind) && patched('commit-status')
      ? await notify.runStatus(
          skipped
            ? { runId, commit: snap.commit, state: 'error', description: skipped }
            : { runId, commit: snap.commit, state: 'pending' },
        )
      : false;
  if (statuses) run.prepared.statuses = statuses;
  const paths = skipped
    ? []
    : await bookkeeping.discoverNotebooks({
        root: snap.root,
        include: input.include,
        exclude: input.exclude,
        paths: pr ? snap.paths : (input.paths ?? baseline?.paths),
        ...(input.changed ? { changed: input.changed } : {}),
        // Versioned: with the run ID the worker discovers in the run's own snapshot and
        // records what it found, from which it decides the commit status (issue 21).
        ...(patched('discovery-record') ? { runId } : {}),
      });
  // Versioned: the notebooks' contracts decide what each runs with, and which are not run.
  const applied = await applyRunContracts(runId, snap.root, paths, input);
  for (const s of applied?.notRun ?? []) done.set(s.path, s);
  const toRun = applied ? paths.filter((p) => !done.has(p)) : paths;
  // Versioned: the environment is measured once per run and kernel, before its notebooks.
  const environmentError =
    toRun.length > 0 && patched('environment-probe')
      ? await measureRunEnvironments(runId, snap.root, toRun, { ...input, notebookTaskQueue: notebookQueue(input) })
      : undefined;
  const ordered = await orderNotebooks(toRun, input.defaultConcurrency); // versioned: longest first
  return {
    runId,
    commit: snap.commit,
    root: snap.root,
    startedAt: new Date().toISOString(),
    remaining: ordered?.order ?? toRun,
    ...(ordered?.concurrency ? { concurrency: ordered.concurrency } : {}),
    total: paths.length,
    done: [...done.values()],
    ...(applied && Object.keys(applied.plans).length ? { plans: applied.plans } : {}),
    ...(statuses ? { statuses } : {}),
    ...(skipped ? { skipped } : {}),
    ...(environmentError ? { environmentError } : {}),
    ...(baseline ? { baseline: baseline.runId } : {}),
  };
}

/**
 * Executes the remaining notebooks, each with its contract's settings, until none is left or the
 * history is full; returns those left for the next run (empty when all are done).
 */
async function execute(run: TestRunState, carry: TestRunCarry): Promise<string[]> {
  const { input } = run;
  const executorFor = notebookExecutors(notebookQueue(input), input.notebookTimeoutS ?? 3600);
  const queue = [...carry.remaining];
  let reportedFailures = run.failures().length;
  const reportFailures = () => {
    if (run.failures().length !== reportedFailures) {
      reportedFailures = run.failures().length;
      upsertSearchAttributes([{ key: RUN_SA.failed, value: reportedFailures }]);
    }
  };
  const request = {
    runId: run.runId,
    root: carry.root,
    cellTimeoutS: input.cellTimeoutS,
    notebookTimeoutS: input.notebookTimeoutS,
    retries: input.retries,
    parameters: input.parameters,
    ...kernelChoiceOf(input),
  };
  await runLanes({
    queue,
    concurrency: Math.max(1, input.concurrency ?? carry.concurrency ?? input.defaultConcurrency),
    historyFull: historyFull(input.maxHistoryEvents),
    running: run.running,
    done: run.done,
    execute: (nbPath) => executePlanned(executorFor, request, nbPath, carry.plans?.[nbPath]),
    onStart: run.describe,
    onDone: () => {
      reportFailures();
      run.describe();
    },
  });
  return queue;
}

/** Writes the run's report and lets go of its published snapshot. */
async function report(run: TestRunState, carry: TestRunCarry): Promise<TestRunResult> {
  const { input } = run;
  run.phase = 'reporting';
  run.describe();
  const result = await bookkeeping.writeRunReport({
    runId: run.runId,
    commit: carry.commit,
    kind: input.kind,
    startedAt: carry.startedAt,
    finishedAt: new Date().toISOString(),
    paths: allPaths(carry, run.done),
    temporalUiUrl: input.temporalUi
      ? temporalUiLink(input.temporalUi.url, input.temporalUi.namespace, workflowInfo().workflowId)
      : undefined,
    ...(carry.environmentError ? { environmentError: carry.environmentError } : {}),
    ...(carry.baseline ? { baseline: carry.baseline } : {}),
  });
  await bookkeeping.releaseSnapshot({ runId: run.runId, commit: carry.commit });
  // Versioned: a candidate run's own optional status (the activity knows whether it is on).
  if (carry.baseline && patched('candidate-status')) await candidateStatus(run.runId, input.allowNewFailures);
  return result;
}

/** After the report: the history entry, the alerts and the final status; the run's result. */
async function finish(run: TestRunState, carry: TestRunCarry, result: TestRunResult): Promise<TestRunResult> {
  const { input, runId } = run;
  // Versioned: histories recorded before the notebook history replay without this step. A
  // pull request's code is not merged: it is not part of the notebooks' history.
  if (!NO_HISTORY_KINDS.includes(input.kind) && patched('record-history')) await recordInHistory(runId);
  let alerts: AlertOutcome[] | undefined;
  if (patched('run-alerts')) {
    [alerts] = await Promise.all([
      NO_ALERT_KINDS.includes(input.kind)
        ? []
        : notify.sendRunAlerts({ runId, kind: input.kind, commit: carry.commit }),
      carry.statuses &&
        !carry.skipped &&
        notify.runStatus({
          runId,
          commit: carry.commit,
          state: notify.finalState(result.counts),
          counts: result.counts,
        }),
    ]);
    run.notifyProblems = notify.alertProblems(alerts);
    if (alerts.length && patched('alerts-in-report')) await notify.noteAlerts(runId, alerts);
  }
  run.phase = 'done';
  const counts = countSummaries([...run.done.values()]);
  upsertSearchAttributes([
    { key: RUN_SA.status, value: counts.total === counts.passed + counts.skipped ? 'passed' : 'failed' },
    { key: RUN_SA.failed, value: counts.total - counts.passed - counts.skipped },
  ]);
  run.describe();
  return alerts ? { ...result, alerts } : result;
}

/**
 * A run that stops without its report (or while it tells): cancelled, it lets go of its
 * snapshot and of the `pending` status, although the workflow is being cancelled; failed, it
 * says so in its search attributes. Continuing as new is not stopping.
 */
async function onStopped(run: TestRunState, err: unknown): Promise<void> {
  if (err instanceof ContinueAsNew) return;
  const { input, runId } = run;
  if (isCancellation(err)) {
    // Versioned: before it, a run cancelled while preparing kept its pin and PR snapshot.
    const early = !run.carry && run.prepared && patched('release-cancelled-early');
    const cancelled = run.carry ?? (early ? run.prepared : undefined);
    if (!cancelled) return;
    if (early) run.releasedEarly = true;
    await CancellationScope.nonCancellable(async () => {
      upsertSearchAttributes([{ key: RUN_SA.status, value: 'cancelled' }]);
      await bookkeeping.releaseSnapshot({ runId, commit: cancelled.commit });
      // A status left `pending` would wait forever (a PR's older head after a newer push).
      if (cancelled.statuses && !cancelled.skipped && patched('cancelled-status')) {
        const why = input.kind === 'pr' ? 'a newer push or closing the pull request' : 'an operator';
        await notify.runStatus({ runId, commit: cancelled.commit, state: 'error', description: `cancelled by ${why}` });
      }
    });
  } else {
    upsertSearchAttributes([{ key: RUN_SA.status, value: 'error' }]);
  }
}
