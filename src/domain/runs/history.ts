/**
 * Per-notebook history across test runs: what is recorded of each run, the answers of
 * `GET /notebooks` and `GET /notebooks/<path>/history`, and the store interface behind them.
 * Pure: the database code is src/platform/database.ts and history-store.ts.
 */
import type { RecentRuns } from './order.js';
import { causeOf, causeText } from './causes.js';
import { parseProbeOutput, type RunEnvironment } from './environment.js';
import { NOTEBOOK_STATUSES, type NotebookStatus, type RunKind } from './model.js';

/** passRate and flaky look at this many of a notebook's most recent runs. */
export const HISTORY_WINDOW = 20;

export interface RecordedNotebook {
  path: string;
  status: NotebookStatus;
  /** causeText of its first unexpected error (causes.ts); null when it passed. */
  cause: string | null;
  durationMs: number;
  /** When the executor measured it. */
  peakMemoryBytes: number | null;
  attempts: number;
  flaky: boolean;
  /** The notebook file's git blob id, when the report has it. */
  blob?: string | null;
}

export interface RecordedRun {
  runId: string;
  kind: RunKind;
  commit: string;
  startedAt: string;
  finishedAt: string;
  notebooks: RecordedNotebook[];
  /** The kernel environment it ran in, when it was measured (or why it was not). */
  environment?: RunEnvironment;
  /** Every kernel it used and its environment (reports from before kernels: absent). */
  environments?: RunEnvironment[];
}

/** A notebook's most recent pass before a run, with what it ran as then. */
export interface LastPass {
  runId: string;
  commit: string;
  blob: string | null;
  fingerprint: string | null;
}

export interface NotebookOverview {
  path: string;
  /** In its most recent run (of any kind). */
  status: NotebookStatus;
  /** Its cause in that run (causeText of the first unexpected error); null when it passed. */
  cause: string | null;
  /** The first run of the current streak of this status. */
  since: { runId: string; commit: string; finishedAt: string };
  /** Its most recent run: an old one means the notebook left the suite (or was excluded). */
  lastRun: { runId: string; commit: string; finishedAt: string };
  lastPassed: { runId: string; commit: string } | null;
  /** Passed runs / runs, over the last HISTORY_WINDOW runs. */
  passRate: number;
  /** In the last HISTORY_WINDOW runs: it went back and forth, or passed only on a retry. */
  flaky: boolean;
  /** Recorded runs of this notebook. */
  runs: number;
}

export interface NotebookRun {
  runId: string;
  kind: RunKind;
  commit: string;
  status: NotebookStatus;
  durationMs: number;
  finishedAt: string;
  cause: string | null;
  peakMemoryBytes: number | null;
  attempts: number;
  flaky: boolean;
}

/** A recorded run with its counts (the dashboard's run lists). */
export interface RunOverview {
  runId: string;
  kind: RunKind;
  commit: string;
  startedAt: string;
  finishedAt: string;
  notebooks: number;
  passed: number;
  flaky: number;
}

export interface HistoryStore {
  /** Replaces whatever was recorded of `run.runId` (recording a run twice is recording it once). */
  record(run: RecordedRun): Promise<void>;
  /** runId → finishedAt of every recorded run (the import skips those it has). */
  recordedRuns(): Promise<Map<string, string>>;
  /** Every notebook ever recorded, by path. */
  notebooks(): Promise<NotebookOverview[]>;
  /** Newest first; null when the path was never recorded. */
  history(path: string, limit: number): Promise<NotebookRun[] | null>;
  /** Recorded runs (of one kind, if given), newest first, a page at a time; `total`: all of them. */
  runs(opts: { limit: number; offset?: number; kind?: RunKind }): Promise<{ runs: RunOverview[]; total: number }>;
  /** The newest measured environment of another run that finished before `before`, with its run. */
  previousEnvironment(runId: string, before: string): Promise<{ runId: string; environment: RunEnvironment } | null>;
  /** Each path's most recent pass in another run than `runId` (paths that never passed: absent). */
  lastPasses(paths: readonly string[], runId: string): Promise<Map<string, LastPass>>;
  /** Each path's newest `limit` durations and peaks (paths never recorded: absent). */
  recentRuns(paths: readonly string[], limit: number): Promise<Map<string, RecentRuns>>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// From a report.json

const RUN_KINDS: readonly RunKind[] = ['scheduled', 'merge', 'manual'];
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isTime = (v: unknown): v is string => typeof v === 'string' && !Number.isNaN(Date.parse(v));
const count = (v: unknown, dflt: number) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : dflt);

/**
 * What the history keeps of a parsed report.json. Throws on what is not a report (the run's
 * fields or a notebook's path/status missing); optional per-notebook fields default. Timestamps
 * are rewritten as `toISOString()` so that they compare as text in either database.
 */
export function recordedRunOf(raw: unknown): RecordedRun {
  if (!isObject(raw)) throw new Error('not a JSON object');
  const { runId, kind, commit, startedAt, finishedAt, notebooks } = raw;
  if (typeof runId !== 'string' || !runId) throw new Error('no runId');
  if (!RUN_KINDS.includes(kind as RunKind)) throw new Error(`unknown kind ${JSON.stringify(kind)}`);
  if (typeof commit !== 'string') throw new Error('no commit');
  if (!isTime(startedAt) || !isTime(finishedAt)) throw new Error('startedAt/finishedAt are not timestamps');
  if (!Array.isArray(notebooks)) throw new Error('no notebooks');
  const seen = new Set<string>();
  const recorded: RecordedNotebook[] = [];
  for (const nb of notebooks) {
    if (!isObject(nb) || typeof nb.path !== 'string') throw new Error('a notebook without a path');
    const status = nb.status as NotebookStatus;
    if (!NOTEBOOK_STATUSES.includes(status)) throw new Error(`${nb.path}: unknown status ${JSON.stringify(status)}`);
    if (seen.has(nb.path)) continue;
    seen.add(nb.path);
    const error = isObject(nb.error)
      ? { ename: String(nb.error.ename ?? ''), evalue: String(nb.error.evalue ?? '') }
      : null;
    const message = typeof nb.message === 'string' ? nb.message : null;
    const cause = causeOf({ status, error, message });
    // A skip is no cause, but its reason is what the dashboard and the history show beside it.
    const skipReason = status === 'skipped' && message ? message.replace(/\s+/g, ' ').trim().slice(0, 500) : null;
    recorded.push({
      path: nb.path,
      status,
      cause: cause ? causeText(cause) : skipReason,
      durationMs: Math.round(count(nb.durationMs, 0)),
      peakMemoryBytes: typeof nb.peakMemoryBytes === 'number' ? Math.round(count(nb.peakMemoryBytes, 0)) : null,
      attempts: Math.round(count(nb.attempts, 1)),
      flaky: nb.flaky === true,
      blob: typeof nb.blob === 'string' && /^[0-9a-f]{40,64}$/.test(nb.blob) ? nb.blob : null,
    });
  }
  const environment = environmentOf(raw.environment);
  const environments = (Array.isArray(raw.environments) ? raw.environments : [])
    .map(environmentOf)
    .filter((e): e is RunEnvironment => e !== undefined);
  return {
    runId,
    kind: kind as RunKind,
    commit,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(finishedAt).toISOString(),
    notebooks: recorded,
    ...(environment ? { environment } : {}),
    ...(environments.length ? { environments } : {}),
  };
}

/** A report's `environment`, checked as the probe's output is; undefined when absent or not one. */
export function environmentOf(raw: unknown): RunEnvironment | undefined {
  if (!isObject(raw) || typeof raw.kernel !== 'string' || !isTime(raw.measuredAt)) return undefined;
  let measured: ReturnType<typeof parseProbeOutput>;
  try {
    measured = parseProbeOutput(raw);
  } catch {
    return undefined;
  }
  const fingerprint =
    typeof raw.fingerprint === 'string' && /^[0-9a-f]{64}$/.test(raw.fingerprint) ? raw.fingerprint : null;
  return {
    kernel: raw.kernel,
    ...measured,
    fingerprint,
    measuredAt: raw.measuredAt,
    ...(typeof raw.error === 'string' ? { error: raw.error.slice(0, 1000) } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// The overview from a notebook's recent results

/** One result of a notebook, `rn`-th most recent (1 = latest) of its `total`. */
export interface HistoryRow {
  path: string;
  runId: string;
  commit: string;
  status: NotebookStatus;
  cause: string | null;
  flaky: boolean;
  finishedAt: string;
  rn: number;
  total: number;
  /** The first run of the current streak. */
  isSince: boolean;
  /** The most recent passed run. */
  isLastPassed: boolean;
}

/**
 * The overview of each notebook from its rows (any order): every row with rn ≤ HISTORY_WINDOW,
 * plus its `since` and `lastPassed` rows wherever they are. A single change of status is a
 * regression or a fix (`since` says when); flaky takes two changes within the window (it went
 * back and forth), or a pass that needed a retry.
 */
export function overviewOf(rows: readonly HistoryRow[]): NotebookOverview[] {
  const byPath = new Map<string, HistoryRow[]>();
  for (const r of rows) {
    const list = byPath.get(r.path);
    if (list) list.push(r);
    else byPath.set(r.path, [r]);
  }
  const out: NotebookOverview[] = [];
  for (const [path, list] of byPath) {
    list.sort((a, b) => a.rn - b.rn);
    const latest = list[0]!;
    if (latest.rn !== 1) continue; // cannot happen with the store's query
    const window = list.filter((r) => r.rn <= HISTORY_WINDOW);
    let changes = 0;
    for (let i = 1; i < window.length; i++) if (window[i]!.status !== window[i - 1]!.status) changes++;
    const since = list.find((r) => r.isSince) ?? latest;
    const lastPassed = list.find((r) => r.isLastPassed);
    const passed = window.filter((r) => r.status === 'passed').length;
    out.push({
      path,
      status: latest.status,
      cause: latest.cause,
      since: { runId: since.runId, commit: since.commit, finishedAt: since.finishedAt },
      lastRun: { runId: latest.runId, commit: latest.commit, finishedAt: latest.finishedAt },
      lastPassed: lastPassed ? { runId: lastPassed.runId, commit: lastPassed.commit } : null,
      passRate: Math.round((passed / window.length) * 10_000) / 10_000,
      flaky: changes >= 2 || window.some((r) => r.flaky),
      runs: latest.total,
    });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
