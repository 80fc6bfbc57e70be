/**
 * /login is the one place a stranger can guess the operator token from a browser form: failed
 * attempts are counted per client address in fixed windows (in this process's memory: several
 * API processes each count their own), and past the limit the address gets 429 until its window
 * ends, even with the right token, so guessing cannot go on. Behind a reverse proxy every client
 * has the proxy's address (one shared count); a proxy's own limit is the place for more.
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';

export const LOGIN_FAILURES_PER_WINDOW = 10;
export const LOGIN_WINDOW_MS = 5 * 60_000;
/** Beyond this many addresses the oldest windows are dropped: memory stays bounded. */
const MAX_ADDRESSES = 10_000;

/** The client's address as the socket tells it (nothing a header can choose); `unknown` without one. */
function addressOf(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // app.request() in tests: no socket
  }
}

export function loginThrottle(now: () => number = Date.now) {
  const windows = new Map<string, { start: number; failures: number }>();
  const current = (c: Context) => {
    const key = addressOf(c);
    let w = windows.get(key);
    if (!w || now() - w.start >= LOGIN_WINDOW_MS) {
      windows.delete(key);
      if (windows.size >= MAX_ADDRESSES) windows.delete(windows.keys().next().value!);
      w = { start: now(), failures: 0 };
      windows.set(key, w);
    }
    return w;
  };
  return {
    /** Seconds until this address may try again, or 0 when it may now. */
    blockedFor(c: Context): number {
      const w = current(c);
      return w.failures >= LOGIN_FAILURES_PER_WINDOW ? Math.ceil((w.start + LOGIN_WINDOW_MS - now()) / 1000) : 0;
    },
    failed(c: Context): void {
      current(c).failures++;
    },
  };
}
