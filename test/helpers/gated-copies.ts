/**
 * The real copy activities with a gate: `latest` for a held user waits until `open(user)`. The
 * gate is not what is tested; it keeps a user's first request running while a test sends more.
 */
import { createCopyActivities, type CopyInput } from '../../src/activities/copies/index.js';
import type { Config } from '../../src/platform/config.js';

export function gatedCopyActivities(config: Config, held: Iterable<string>) {
  const real = createCopyActivities(config);
  const closed = new Set(held);
  const waiting = new Map<string, Array<() => void>>();
  const activities = {
    ...real,
    latestCopy: async (input: CopyInput) => {
      if (closed.has(input.user)) {
        await new Promise<void>((release) => waiting.set(input.user, [...(waiting.get(input.user) ?? []), release]));
      }
      return real.latestCopy(input);
    },
  };
  const open = (user: string) => {
    closed.delete(user);
    for (const release of waiting.get(user) ?? []) release();
    waiting.delete(user);
  };
  return { activities, open };
}
