/** Activity options more than one workflow uses: long file work that heartbeats and backs off. */
import type { ActivityOptions } from '@temporalio/workflow';

/**
 * Long work on files (publishing a snapshot, a user's copy, a pull request's snapshot): up to 30
 * minutes, a 30 s heartbeat so a lost worker is noticed fast, transient failures backed off
 * 2 s → 1 min over 8 attempts; `nonRetryableErrorTypes` are the stage's typed failures.
 */
export function longFileWork(nonRetryableErrorTypes?: string[]): ActivityOptions {
  return {
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '30 seconds',
    retry: {
      initialInterval: '2s',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
      maximumAttempts: 8,
      ...(nonRetryableErrorTypes ? { nonRetryableErrorTypes } : {}),
    },
  };
}

/**
 * A run's bookkeeping on files and the database (discovery, contracts, kernels, the report): up
 * to 10 minutes, retried 1 s → 30 s over 5 attempts; `nonRetryableErrorTypes` as above.
 */
export function bookkeepingWork(nonRetryableErrorTypes?: string[]): ActivityOptions {
  return {
    startToCloseTimeout: '10 minutes',
    retry: {
      initialInterval: '1s',
      maximumInterval: '30s',
      maximumAttempts: 5,
      ...(nonRetryableErrorTypes ? { nonRetryableErrorTypes } : {}),
    },
  };
}

/**
 * A short read or settings lookup (the published commit, a diff, a setting): up to 2 minutes,
 * retried 1 s → 30 s over 5 attempts.
 */
export function quickLookup(): ActivityOptions {
  return {
    startToCloseTimeout: '2 minutes',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
  };
}
