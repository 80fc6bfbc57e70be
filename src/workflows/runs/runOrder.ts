/**
 * The step that orders a run's notebooks before they start: longest expected first (unknown
 * ones before all), and the run's default concurrency from the host and the notebooks' recorded
 * peak memory (src/domain/runs/order.ts, read from the history by an activity). Never fails the
 * run: without an answer, the notebooks start in path order at the run's concurrency.
 */
import { isCancellation, log, patched, proxyActivities } from '@temporalio/workflow';
import type { HistoryActivities } from '../../activities/runs/history.js';
import { failureText } from '../failureText.js';

/** A read of the history: brief, retried a little, then the run goes on without it. */
const history = proxyActivities<HistoryActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 3 },
});

/** Undefined for a run of one notebook, and in histories from before the step (patched). */
export async function orderNotebooks(
  paths: string[],
  ceiling: number,
): Promise<{ order: string[]; concurrency?: number } | undefined> {
  if (paths.length <= 1 || !patched('longest-first')) return undefined;
  try {
    const planned = await history.planOrder({ paths, ceiling });
    // Only a permutation of what was asked: the activity's answer is not trusted further
    const same =
      planned.order.length === paths.length && [...planned.order].sort().join('\n') === [...paths].sort().join('\n');
    return same ? planned : { order: paths };
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn('the notebooks start in path order: no history of their durations', { error: failureText(err) });
    return { order: paths };
  }
}
