/**
 * What users are told about each notebook (issue 18, part 4): `status.json` beside `current`,
 * `GET /public/status.json` and the badges. Built from the scheduled runs only, so that a manual,
 * merge, pull-request or (issue 19) candidate run never changes what users read. Pure; it holds
 * no tracebacks, no messages of failures (they may quote the prerun cell or the worker's paths),
 * and only paths relative to the snapshot.
 */
import type { NotebookStatus, RunKind } from './model.js';

/** The one kind whose runs users' status is made of (an allow-list: new kinds stay out). */
export const STATUS_RUN_KIND: RunKind = 'scheduled';

/** How many recent passes the median duration, and how many recent runs the p95 memory, use. */
export const RECENT_PASSES = 10;
export const RECENT_RUNS = 20;

/** A notebook published since the last scheduled run (new, or moved): not run yet. */
export const UNKNOWN = 'unknown';

export interface NotebookHealth {
  status: NotebookStatus | typeof UNKNOWN;
  /** When the current streak of this status began (the first scheduled run that had it). */
  since: string;
  lastPass: { at: string; commit: string } | null;
  /** Median of the recent passes' durations; null without a pass. */
  medianDurationMs: number | null;
  /** 95th percentile of the recent runs' peak memory; null when never measured. */
  p95PeakMemoryBytes: number | null;
  /** p95PeakMemoryBytes is over NBLC_USER_LAB_MEMORY: it may not fit in a user's server. */
  exceedsUserLabMemory: boolean;
  /** Why it is skipped, when it is. */
  skipReason?: string;
}

export interface PublicStatus {
  /** Format version: readers may refuse another. */
  version: 1;
  generatedAt: string;
  /** The scheduled run it reflects, and the commit that run tested. */
  runId: string;
  commit: string;
  /** The kernel environment the run was verified with (environment.ts), null when not measured. */
  environmentFingerprint: string | null;
  /** NBLC_USER_LAB_MEMORY in bytes (null: not set, no flag). */
  userLabMemoryBytes: number | null;
  /**
   * The published commit whose notebooks `notebooks` lists (each publish makes the list follow
   * it: a removed notebook leaves, a new or moved one comes in as `unknown`); absent in files
   * written before it existed.
   */
  publishedCommit?: string;
  notebooks: Record<string, NotebookHealth>;
}

/** One scheduled run of a notebook, newest first in the lists below. */
export interface HealthRun {
  status: NotebookStatus;
  finishedAt: string;
  commit: string;
  durationMs: number;
  peakMemoryBytes: number | null;
}

/** The median of a list (the mean of the middle two for an even count); null when empty. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2);
}

/** The p-th percentile by the nearest rank (p95 of 20 values is the 19th smallest); null when empty. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/**
 * One notebook's health from its scheduled runs (newest first; the first is the run being
 * published) and, when skipped, why.
 */
export function notebookHealth(
  runs: readonly HealthRun[],
  userLabMemoryBytes: number | null,
  skipReason?: string,
): NotebookHealth | null {
  const latest = runs[0];
  if (!latest) return null;
  let since = latest.finishedAt;
  for (const r of runs) {
    if (r.status !== latest.status) break;
    since = r.finishedAt;
  }
  const passes = runs.filter((r) => r.status === 'passed');
  const memory = runs
    .slice(0, RECENT_RUNS)
    .map((r) => r.peakMemoryBytes)
    .filter((m): m is number => typeof m === 'number' && m > 0);
  const p95 = percentile(memory, 95);
  return {
    status: latest.status,
    since,
    lastPass: passes[0] ? { at: passes[0].finishedAt, commit: passes[0].commit } : null,
    medianDurationMs: median(passes.slice(0, RECENT_PASSES).map((r) => r.durationMs)),
    p95PeakMemoryBytes: p95,
    exceedsUserLabMemory:
      userLabMemoryBytes !== null && userLabMemoryBytes > 0 && p95 !== null && p95 > userLabMemoryBytes,
    ...(latest.status === 'skipped' && skipReason ? { skipReason: oneLine(skipReason, 300) } : {}),
  };
}

/** A reason as users read it: one line, bounded. */
function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * `status` with its notebooks made those of the published commit `commit` (`notebooks`, in
 * discovery's order): the ones gone leave, the new ones (added, or moved from another path)
 * come in as `unknown` until a scheduled run tests them. Null when nothing changes: rewriting
 * the same list again is a no-op, so a retried publish writes nothing.
 */
export function followPublished(
  status: PublicStatus,
  commit: string,
  notebooks: readonly string[],
  now: string,
): PublicStatus | null {
  const same =
    status.publishedCommit === commit &&
    notebooks.length === Object.keys(status.notebooks).length &&
    notebooks.every((p) => Object.hasOwn(status.notebooks, p));
  if (same) return null;
  const entry = (p: string): NotebookHealth =>
    Object.hasOwn(status.notebooks, p)
      ? status.notebooks[p]!
      : {
          status: UNKNOWN,
          since: now,
          lastPass: null,
          medianDurationMs: null,
          p95PeakMemoryBytes: null,
          exceedsUserLabMemory: false,
        };
  return {
    ...status,
    generatedAt: now,
    publishedCommit: commit,
    notebooks: Object.fromEntries(notebooks.map((p) => [p, entry(p)])),
  };
}

/** The notebooks of the new copy that currently fail upstream (getlatest, `nblc copy`). */
export function failingUpstream(status: Pick<PublicStatus, 'notebooks'>, copied: readonly string[]): string[] {
  const set = new Set(copied);
  return Object.entries(status.notebooks)
    .filter(([p, h]) => set.has(p) && h.status !== 'passed' && h.status !== 'skipped' && h.status !== UNKNOWN)
    .map(([p]) => p)
    .sort();
}

/** Parses a status.json as a reader gets it; null when it is not one. */
export function parsePublicStatus(text: string): PublicStatus | null {
  try {
    const raw = JSON.parse(text) as PublicStatus;
    return raw && raw.version === 1 && typeof raw.notebooks === 'object' && raw.notebooks !== null ? raw : null;
  } catch {
    return null;
  }
}
