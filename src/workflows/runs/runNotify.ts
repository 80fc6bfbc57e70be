/**
 * What a test run tells, and what the sync tells: the run's commit status (pending, then the
 * outcome) and its alerts (and the sync's), each an activity with retries of its own. None of it
 * can fail the run: a status GitHub refuses or a channel that stays down ends up in the run's
 * result, report.json and current details, and in the logs. Links and credentials never pass
 * through here (the activities make them from the worker's config). The environment and history
 * steps are in runRecords.ts.
 */
import { ActivityFailure, isCancellation, log, patched, proxyActivities } from '@temporalio/workflow';
import type { AlertActivities } from '../../activities/alerts/index.js';
import { NON_RETRYABLE_NOTIFY_FAILURES, type AlertOutcome } from '../../domain/alerts/model.js';
import type { RunCounts, RunKind } from '../../domain/runs/model.js';
import { failureText } from '../failureText.js';

/** Deciding, and one status: database or GitHub calls, retried while they are away. */
const notify = proxyActivities<AlertActivities>({
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts: 5,
    nonRetryableErrorTypes: NON_RETRYABLE_NOTIFY_FAILURES,
  },
});

/** One alert to one channel: ~15 s of retries for a channel that refuses connections. */
const delivery = proxyActivities<AlertActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts: 5,
    nonRetryableErrorTypes: NON_RETRYABLE_NOTIFY_FAILURES,
  },
});

/** Runs whose commit gets a status: what was merged, what is checked nightly, pull requests. */
export const STATUS_KINDS: readonly RunKind[] = ['merge', 'scheduled', 'pr'];

/** Sets a commit status; false when statuses are off or GitHub kept refusing (logged). */
export async function runStatus(input: Parameters<AlertActivities['setRunStatus']>[0]): Promise<boolean> {
  try {
    return await notify.setRunStatus.executeWithOptions(
      { summary: `${input.state} status on ${input.commit.slice(0, 12)}` },
      [input],
    );
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn('the commit status was not set', { runId: input.runId, state: input.state, error: failureText(err) });
    return false;
  }
}

/** The final status of a finished run, from its counts. */
export function finalState(counts: RunCounts): 'success' | 'failure' {
  // Counts of results from before `skipped` existed have no such key.
  return counts.total === counts.passed + (counts.skipped ?? 0) ? 'success' : 'failure';
}

/**
 * Decides the run's alerts and sends each to each channel, all at once. Returns what became of
 * every delivery; a failure to decide is one outcome on the pseudo-channel `*`.
 */
export function sendRunAlerts(input: Parameters<AlertActivities['planRunAlerts']>[0]): Promise<AlertOutcome[]> {
  return sendAlerts(input.runId, () => notify.planRunAlerts(input));
}

/** The sync's alert (failing since `since`, or working again), keyed by its failing episode. */
export function sendSyncAlert(input: Parameters<AlertActivities['planSyncAlert']>[0]): Promise<AlertOutcome[]> {
  return sendAlerts(`sync-${input.since.replace(/[^0-9]/g, '')}`, () => notify.planSyncAlert(input));
}

/**
 * A run that could not run (snapshot, report, infrastructure): people hear of it once, and its
 * commit gets an `error` status. Cancellation is not a failure; versioned like the run's alerts.
 */
export async function sendFailureAlerts(runId: string, kind: RunKind, commit: string | undefined, err: unknown) {
  if (isCancellation(err) || !(err instanceof ActivityFailure) || !patched('run-alerts')) return;
  await Promise.all([
    sendRunAlerts({ runId, kind, commit, error: failureText(err) }),
    commit &&
      STATUS_KINDS.includes(kind) &&
      runStatus({ runId, commit, state: 'error', description: `the run could not run: ${failureText(err)}` }),
  ]);
}

/** `key`: with each alert's ID, the idempotency key of its deliveries (a run ID, a sync episode). */
async function sendAlerts(
  key: string,
  decide: () => Promise<Awaited<ReturnType<AlertActivities['planRunAlerts']>>>,
): Promise<AlertOutcome[]> {
  let plan: Awaited<ReturnType<AlertActivities['planRunAlerts']>>;
  try {
    plan = await decide();
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn('the alerts were not decided', { key, error: failureText(err) });
    return [{ channel: '*', alert: 'plan', ok: false, error: failureText(err) }];
  }
  return Promise.all(
    plan.alerts.flatMap((alert) =>
      plan.channels.map(async (channel): Promise<AlertOutcome> => {
        try {
          const { skipped } = await delivery.deliverAlert.executeWithOptions({ summary: `${alert.id} → ${channel}` }, [
            { runId: key, channel, alert },
          ]);
          return { channel, alert: alert.id, ok: true, ...(skipped ? { skipped } : {}) };
        } catch (err) {
          if (isCancellation(err)) throw err;
          const error = failureText(err);
          log.warn('an alert was not delivered', { key, channel, alert: alert.id, error });
          return { channel, alert: alert.id, ok: false, error };
        }
      }),
    ),
  );
}

/** Writes the outcomes into report.json; a failure is only logged (the result has them too). */
export async function noteAlerts(runId: string, alerts: AlertOutcome[]): Promise<void> {
  try {
    await notify.noteAlerts({ runId, alerts });
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn('the alert outcomes were not written into report.json', { runId, error: failureText(err) });
  }
}

/** Lines for the current details: the deliveries that failed. */
export function alertProblems(outcomes: readonly AlertOutcome[]): string[] {
  return outcomes.filter((o) => !o.ok).map((o) => `- alert ${o.alert} to ${o.channel} failed: ${o.error}`);
}
