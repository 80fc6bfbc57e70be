/**
 * A test run: discover the notebooks of a published snapshot, execute each one (on the notebook
 * task queue, bounded concurrency), write the report.
 *
 * Each notebook is one activity whose full result is written to the run's directory; the
 * workflow keeps only a compact summary, and continues-as-new (between notebooks, with nothing
 * in flight) so that suites of thousands stay within Temporal's history limits. A notebook is
 * reported once whatever the retries: its result file is keyed by its path.
 */
import {
  ActivityFailure,
  CancellationScope,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { RunActivities } from '../../activities/runs/index.js';
import type { ContractActivities } from '../../activities/runs/contracts.js';
import { temporalUiLink } from '../../domain/ui-links.js';
import type { AlertOutcome } from '../../domain/alerts/model.js';
import {
  alertProblems,
  failureText,
  finalState,
  measureEnvironment,
  noteAlerts,
  recordInHistory,
  runStatus,
  sendRunAlerts,
  STATUS_KINDS,
} from './runNotify.js';
import { pullRequestSnapshot, releasePullRequest } from './pullRequest.js';
import { allPaths, executeWithRetries, notebookExecutors, runLanes } from './runLanes.js';
import {
  clampRunOptions,
  countSummaries,
  isFailing,
  NON_RETRYABLE_SNAPSHOT_FAILURES,
  RUN_SA,
  runIdFromWorkflowId,
  type NotebookSummary,
  type TestRunCarry,
  type TestRunInput,
  type TestRunProgress,
  type TestRunQueues,
  type TestRunResult,
} from '../../domain/runs/model.js';
import { progressQuery } from '../../domain/runs/messages.js';

const DEFAULT_MAX_HISTORY_EVENTS = 10_000;

/** The file-side steps around the executions: snapshot pin, discovery, report. */
const bookkeeping = proxyActivities<RunActivities>({
  startToCloseTimeout: '10 minutes',
  retry: {
    initialInterval: '1s',
    maximumInterval: '30s',
    maximumAttempts: 5,
    nonRetryableErrorTypes: NON_RETRYABLE_SNAPSHOT_FAILURES,
  },
});

/** Each notebook's contract (contract.ts): read once per run, before its notebooks. */
const contracts = proxyActivities<ContractActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 5 },
});

export async function testNotebooks(requested: TestRunInput & TestRunQueues): Promise<TestRunResult> {
  // Clients check RUN_LIMITS already; a start that went around them (or an older client) must
  // still not give the workflow an invalid duration, which would fail its task forever with the
  // snapshot pinned. Values within the limits come back unchanged, so histories replay as before.
  const input = clampRunOptions(requested);
  const info = workflowInfo();
  const runId = input.carry?.runId ?? runIdFromWorkflowId(info.workflowId);
  const concurrency = Math.max(1, input.concurrency ?? input.defaultConcurrency);
  const executorFor = notebookExecutors(input.notebookTaskQueue, input.notebookTimeoutS ?? 3600);

  let carry: TestRunCarry | undefined = input.carry;
  let phase: TestRunProgress['phase'] = carry ? 'running' : 'discovering';
  const running = new Set<string>();
  const done = new Map<string, NotebookSummary>((carry?.done ?? []).map((s) => [s.path, s]));
  const failures = () => [...done.values()].filter((s) => isFailing(s.status));
  let notifyProblems: string[] = [];

  setHandler(progressQuery, () => ({
    runId,
    kind: input.kind,
    commit: carry?.commit ?? null,
    phase,
    total: carry?.total ?? 0,
    done: done.size,
    failed: failures().length,
    running: [...running],
    failures: failures().map((f) => ({ path: f.path, status: f.status })),
  }));
  const describe = () =>
    setCurrentDetails(
      [
        `**${input.kind} test run** of \`${carry?.commit.slice(0, 12) ?? '…'}\`: ${phase}`,
        `${done.size}/${carry?.total ?? '?'} done, ${failures().length} not passed`,
        ...(running.size ? [`running: ${[...running].join(', ')}`] : []),
        ...failures()
          .slice(0, 20)
          .map((f) => `- ${f.status}: ${f.path}`),
        ...notifyProblems,
      ].join('\n\n'),
    );

  try {
    if (!carry) {
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
      // Versioned, like the steps below: older histories replay without them.
      const statuses =
        STATUS_KINDS.includes(input.kind) && patched('commit-status')
          ? await runStatus(
              skipped
                ? { runId, commit: snap.commit, state: 'error', description: skipped }
                : { runId, commit: snap.commit, state: 'pending' },
            )
          : false;
      const paths = skipped
        ? []
        : await bookkeeping.discoverNotebooks({
            root: snap.root,
            include: input.include,
            exclude: input.exclude,
            paths: pr ? snap.paths : input.paths,
            ...(input.changed ? { changed: input.changed } : {}),
            // Versioned: with the run ID the worker discovers in the run's own snapshot and
            // records what it found, from which it decides the commit status (issue 21).
            ...(patched('discovery-record') ? { runId } : {}),
          });
      // Versioned: the notebooks' contracts decide what each runs with, and which are not run.
      const applied =
        paths.length > 0 && patched('notebook-contracts')
          ? await contracts.applyContracts({
              runId,
              root: snap.root,
              paths,
              notebookTaskQueue: input.notebookTaskQueue,
              notebookTimeoutS: input.notebookTimeoutS,
              cellTimeoutS: input.cellTimeoutS,
              retries: input.retries,
              parameters: input.parameters,
            })
          : undefined;
      for (const s of applied?.notRun ?? []) done.set(s.path, s);
      const toRun = applied ? paths.filter((p) => !done.has(p)) : paths;
      // Versioned: the environment is measured once per run, before its notebooks.
      const environmentError =
        toRun.length > 0 && patched('environment-probe')
          ? await measureEnvironment(runId, input.notebookTaskQueue)
          : undefined;
      carry = {
        runId,
        commit: snap.commit,
        root: snap.root,
        startedAt: new Date().toISOString(),
        remaining: toRun,
        total: paths.length,
        done: [...done.values()],
        ...(applied && Object.keys(applied.plans).length ? { plans: applied.plans } : {}),
        ...(statuses ? { statuses } : {}),
        ...(skipped ? { skipped } : {}),
        ...(environmentError ? { environmentError } : {}),
      };
      phase = 'running';
    }
    const run = carry;
    describe();

    const maxEvents = input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS;
    const historyFull = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= maxEvents;
    const queue = [...run.remaining];
    let reportedFailures = failures().length;
    const reportFailures = () => {
      if (failures().length !== reportedFailures) {
        reportedFailures = failures().length;
        upsertSearchAttributes([{ key: RUN_SA.failed, value: reportedFailures }]);
      }
    };
    const request = {
      runId,
      root: run.root,
      cellTimeoutS: input.cellTimeoutS,
      notebookTimeoutS: input.notebookTimeoutS,
    };
    await runLanes({
      queue,
      concurrency,
      historyFull,
      running,
      done,
      execute: (nbPath) => {
        const plan = run.plans?.[nbPath];
        return executeWithRetries(
          executorFor(plan),
          {
            ...request,
            ...(plan?.cellTimeoutS !== undefined ? { cellTimeoutS: plan.cellTimeoutS } : {}),
            ...(plan?.timeoutS !== undefined ? { notebookTimeoutS: plan.timeoutS } : {}),
            ...(plan?.memory !== undefined ? { memory: plan.memory } : {}),
            ...(plan?.allowErrors ? { allowErrors: true } : {}),
            ...(plan?.parameters && input.parameters ? { parameters: input.parameters } : {}),
          },
          nbPath,
          1 + Math.max(0, plan?.retries ?? input.retries ?? 0),
        );
      },
      onStart: describe,
      onDone: () => {
        reportFailures();
        describe();
      },
    });
    if (queue.length > 0) {
      return await continueAsNew<typeof testNotebooks>({
        ...input,
        carry: { ...run, remaining: queue, done: [...done.values()] },
      });
    }

    phase = 'reporting';
    describe();
    const result = await bookkeeping.writeRunReport({
      runId,
      commit: run.commit,
      kind: input.kind,
      startedAt: run.startedAt,
      finishedAt: new Date().toISOString(),
      paths: allPaths(run, done),
      temporalUiUrl: input.temporalUi
        ? temporalUiLink(input.temporalUi.url, input.temporalUi.namespace, info.workflowId)
        : undefined,
      ...(run.environmentError ? { environmentError: run.environmentError } : {}),
    });
    await bookkeeping.releaseSnapshot({ runId, commit: run.commit });
    if (input.kind === 'pr') await releasePullRequest(runId, input.pullRequest);
    // Versioned: histories recorded before the notebook history replay without this step. A
    // pull request's code is not merged: it is not part of the notebooks' history.
    if (input.kind !== 'pr' && patched('record-history')) await recordInHistory(runId);
    let alerts: AlertOutcome[] | undefined;
    if (patched('run-alerts')) {
      [alerts] = await Promise.all([
        input.kind === 'pr' ? [] : sendRunAlerts({ runId, kind: input.kind, commit: run.commit }),
        run.statuses &&
          !run.skipped &&
          runStatus({ runId, commit: run.commit, state: finalState(result.counts), counts: result.counts }),
      ]);
      notifyProblems = alertProblems(alerts);
      if (alerts.length && patched('alerts-in-report')) await noteAlerts(runId, alerts);
    }
    phase = 'done';
    const counts = countSummaries([...done.values()]);
    upsertSearchAttributes([
      { key: RUN_SA.status, value: counts.total === counts.passed + counts.skipped ? 'passed' : 'failed' },
      { key: RUN_SA.failed, value: counts.total - counts.passed - counts.skipped },
    ]);
    describe();
    return alerts ? { ...result, alerts } : result;
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    if (isCancellation(err) && carry) {
      const cancelled = carry;
      // Cleanup must run although the workflow is being cancelled.
      await CancellationScope.nonCancellable(async () => {
        upsertSearchAttributes([{ key: RUN_SA.status, value: 'cancelled' }]);
        await bookkeeping.releaseSnapshot({ runId, commit: cancelled.commit });
        // A status left `pending` would wait forever (a PR's older head after a newer push).
        if (cancelled.statuses && !cancelled.skipped && patched('cancelled-status')) {
          const why = input.kind === 'pr' ? 'a newer push or closing the pull request' : 'an operator';
          await runStatus({ runId, commit: cancelled.commit, state: 'error', description: `cancelled by ${why}` });
        }
      });
      if (input.kind === 'pr') await releasePullRequest(runId, input.pullRequest);
    } else if (!isCancellation(err)) {
      upsertSearchAttributes([{ key: RUN_SA.status, value: 'error' }]);
      // The run could not run (snapshot, report, infrastructure): people hear of it once.
      const commit = carry?.commit ?? input.commit;
      if (input.kind === 'pr') await releasePullRequest(runId, input.pullRequest);
      if (err instanceof ActivityFailure && patched('run-alerts')) {
        await Promise.all([
          sendRunAlerts({ runId, kind: input.kind, commit, error: failureText(err) }),
          commit &&
            STATUS_KINDS.includes(input.kind) &&
            runStatus({ runId, commit, state: 'error', description: `the run could not run: ${failureText(err)}` }),
        ]);
      }
    }
    throw err;
  }
}
