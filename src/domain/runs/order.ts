/**
 * Which notebooks of a run start first, and how many run at once, from what the history
 * recorded of them (pure: the activity in src/activities/runs/history.ts reads the history).
 *
 * A run's wall time is set by its slowest notebooks: a long one that starts last holds the whole
 * run. So notebooks start in order of their expected duration, longest first, where expected is
 * the median of their recent runs (RECENT_RUNS); those the history does not know start before
 * all others (they may be the longest; nothing says otherwise). Ties keep path order.
 */

/** Recent runs of a notebook whose durations make its expected duration. */
export const RECENT_RUNS = 5;

export interface RecentRuns {
  /** Newest first, in ms. */
  durationsMs: number[];
  /** Newest first; the runs where the executor measured it. */
  peakMemoryBytes: number[];
}

/** A notebook's expected value from its recent runs: one outlier does not move it. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1]! + s[mid]!) / 2;
}

/** `paths` longest expected first, unknown ones before all; otherwise in the order given. */
export function longestFirst(paths: readonly string[], recent: ReadonlyMap<string, RecentRuns>): string[] {
  const expected = new Map(paths.map((p) => [p, median(recent.get(p)?.durationsMs ?? [])]));
  const rank = (p: string) => expected.get(p) ?? Number.POSITIVE_INFINITY;
  return paths
    .map((p, i) => ({ p, i }))
    .sort((a, b) => rank(b.p) - rank(a.p) || a.i - b.i)
    .map(({ p }) => p);
}

export interface Host {
  cores: number;
  freeMemoryBytes: number;
}

/**
 * Notebooks at once by default: one per core, fewer when the free memory cannot hold that many
 * of the run's notebooks at their recorded peak (the largest of the medians: the heaviest may
 * well run side by side); never more than `ceiling` (the run's or NBLC_TEST_CONCURRENCY), never
 * fewer than one. Without recorded peaks, the cores alone.
 */
export function defaultConcurrency(host: Host, recent: ReadonlyMap<string, RecentRuns>, ceiling: number): number {
  const peaks = [...recent.values()].map((r) => median(r.peakMemoryBytes)).filter((m): m is number => m !== undefined);
  const heaviest = peaks.length ? Math.max(...peaks) : 0;
  const byMemory = heaviest > 0 ? Math.floor(host.freeMemoryBytes / heaviest) : Number.POSITIVE_INFINITY;
  return Math.max(1, Math.min(ceiling, Math.max(1, Math.floor(host.cores)), byMemory));
}
