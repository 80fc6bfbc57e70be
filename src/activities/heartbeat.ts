import { Context } from '@temporalio/activity';

/**
 * Runs `fn` while heartbeating, so that a lost worker is noticed within the heartbeat timeout
 * and a cancellation reaches `fn` through the signal (which kills the child process it runs).
 * The SDK throttles heartbeats, so a short interval costs nothing.
 */
export async function withHeartbeat<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  details: () => unknown = () => undefined,
  everyMs = 2000,
): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat(details());
  const timer = setInterval(() => ctx.heartbeat(details()), everyMs);
  try {
    return await fn(ctx.cancellationSignal);
  } finally {
    clearInterval(timer);
  }
}
