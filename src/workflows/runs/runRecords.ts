/**
 * The steps that record a test run beside its report: its kernel environment, measured before
 * the notebooks, and its entry in the notebook history, written after the report. Neither can
 * fail the run: what went wrong is logged, and the environment's reason goes into the report.
 */
import { isCancellation, log, proxyActivities } from '@temporalio/workflow';
import type { EnvironmentActivities } from '../../activities/runs/environment.js';
import type { HistoryActivities } from '../../activities/runs/history.js';
import { NON_RETRYABLE_RECORD_FAILURES } from '../../domain/runs/model.js';
import { failureText } from '../failureText.js';

/** The notebook history: a database write, retried while the database is away. */
const history = proxyActivities<HistoryActivities>({
  startToCloseTimeout: '5 minutes',
  retry: {
    initialInterval: '2s',
    maximumInterval: '1 minute',
    maximumAttempts: 8,
    nonRetryableErrorTypes: NON_RETRYABLE_RECORD_FAILURES,
  },
});

/**
 * Measures the run's kernel environment once, on the notebook task queue (a kernel like the
 * notebooks'). Never fails the run: the activity records its own failures in the environment; if
 * the activity itself fails (no notebook worker answers, a timeout), the reason is returned for
 * the report.
 */
export async function measureEnvironment(runId: string, notebookTaskQueue: string): Promise<string | undefined> {
  const probe = proxyActivities<EnvironmentActivities>({
    taskQueue: notebookTaskQueue,
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '2s', maximumAttempts: 2, nonRetryableErrorTypes: NON_RETRYABLE_RECORD_FAILURES },
  });
  try {
    await probe.probeEnvironment.executeWithOptions({ summary: 'environment probe' }, [{ runId }]);
    return undefined;
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn('the environment was not measured', { runId, error: failureText(err) });
    return failureText(err);
  }
}

/**
 * Records the finished run in the notebook history. A failure does not fail the run: its report
 * stands, and the next worker start imports reports the history lacks.
 */
export async function recordInHistory(runId: string): Promise<void> {
  try {
    await history.recordRun({ runId });
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn('the run was not recorded in the notebook history; the next worker start imports it', {
      runId,
      error: err instanceof Error ? err.message : String(err),
    });
  }
}
