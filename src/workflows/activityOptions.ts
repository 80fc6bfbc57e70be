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
