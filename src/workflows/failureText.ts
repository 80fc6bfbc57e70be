/** How every workflow words a failed activity for operators (logs, current details, alerts). */
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

/** The reason of a failure as an operator reads it: the activity's root cause. */
export function failureText(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) {
    const cause = err.cause;
    const type = cause instanceof ApplicationFailure && cause.type ? ` [${cause.type}]` : '';
    return `${err.activityType}: ${cause.message}${type}`;
  }
  return err instanceof Error ? err.message : String(err);
}
