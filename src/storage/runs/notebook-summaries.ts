/**
 * The overview of every notebook (GET /notebooks, the dashboard) kept as one row per notebook
 * (`notebook_summaries`, schema v4), so that reading it no longer ranks the whole result table
 * (~1 s at 200k results on SQLite, whose client blocks the event loop). `record()` advances the
 * rows of the paths a new run touched by its results (or recomputes them from their own results:
 * a run recorded again, out of order, or a notebook's first result), in its transaction; recordings are serialized (SQLite's single writer, an advisory lock on
 * PostgreSQL), so that two runs of the same notebooks cannot overwrite each other's summaries
 * with ones computed before the other committed. Databases from before v4 are summarized once,
 * on the first read (`nblc_pending_work`).
 */
import {
  HISTORY_WINDOW,
  overviewOf,
  type HistoryRow,
  type NotebookOverview,
  type RecordedRun,
} from '../../domain/runs/history.js';
import type { NotebookStatus } from '../../domain/runs/model.js';
import type { Database, Queryable } from '../../platform/database.js';
import { flag, int, marks, text, textOrNull, tuples } from '../sql.js';

/** Paths per query: well below both databases' limits on bound parameters. */
const CHUNK = 200;
const REBUILD = 'rebuild-notebook-summaries';

/** Serializes the transactions that write results and summaries (a no-op on SQLite). */
export async function lockRecording(db: Database, tx: Queryable): Promise<void> {
  if (db.dialect === 'postgres') await tx.query("SELECT pg_advisory_xact_lock(hashtext('nblc-record'))");
}

/** Recomputes the summaries of `paths` from their results; a path without results loses its row. */
export async function refreshSummaries(tx: Queryable, paths: Iterable<string>): Promise<void> {
  const all = [...new Set(paths)];
  for (let i = 0; i < all.length; i += CHUNK) {
    const chunk = all.slice(i, i + CHUNK);
    const rows = await tx.query(overviewSql(chunk.length), [...chunk, ...chunk, HISTORY_WINDOW]);
    const history = rows.map(historyRow);
    const recent = new Map<string, Recent[]>();
    for (const r of history.filter((r) => r.rn <= HISTORY_WINDOW).sort((a, b) => a.rn - b.rn)) {
      const list = recent.get(r.path) ?? [];
      list.push({ status: r.status, flaky: r.flaky });
      recent.set(r.path, list);
    }
    await tx.query(`DELETE FROM notebook_summaries WHERE path IN (${marks(chunk.length)})`, chunk);
    await store(
      tx,
      overviewOf(history).map((o) => ({ ...o, recent: recent.get(o.path) ?? [] })),
    );
  }
}

/** A notebook's overview and the statuses of its HISTORY_WINDOW newest results, newest first. */
type Recent = { status: NotebookStatus; flaky: boolean };
type Summary = NotebookOverview & { recent: Recent[] };

async function store(tx: Queryable, summaries: readonly Summary[]): Promise<void> {
  for (let j = 0; j < summaries.length; j += CHUNK / 2) {
    const part = summaries.slice(j, j + CHUNK / 2);
    await tx.query(
      `INSERT INTO notebook_summaries (path, summary) VALUES ${tuples(part.length, 2)}
       ON CONFLICT (path) DO UPDATE SET summary = excluded.summary`,
      part.flatMap((o) => [o.path, JSON.stringify(o)]),
    );
  }
}

/**
 * After a new run's results were inserted: a notebook whose summary exists and whose new result
 * is its newest is advanced from its summary alone (the common case, a constant cost per
 * notebook); the others (a first result, one recorded out of order, summaries not built yet)
 * are recomputed from their results.
 */
export async function advanceSummaries(tx: Queryable, run: RecordedRun): Promise<void> {
  for (let i = 0; i < run.notebooks.length; i += CHUNK) {
    const chunk = run.notebooks.slice(i, i + CHUNK);
    const rows = await tx.query<{ summary: string }>(
      `SELECT summary FROM notebook_summaries WHERE path IN (${marks(chunk.length)})`,
      chunk.map((nb) => nb.path),
    );
    const known = new Map(rows.map((r) => JSON.parse(text(r.summary)) as Summary).map((s) => [s.path, s]));
    const advanced: Summary[] = [];
    const recompute: string[] = [];
    for (const nb of chunk) {
      const prev = known.get(nb.path);
      const newer =
        prev &&
        (run.finishedAt > prev.lastRun.finishedAt ||
          (run.finishedAt === prev.lastRun.finishedAt && run.runId > prev.lastRun.runId));
      if (prev && newer && prev.recent) advanced.push(advance(prev, run, nb));
      else recompute.push(nb.path);
    }
    await store(tx, advanced);
    await refreshSummaries(tx, recompute);
  }
}

/** overviewOf's rules, one result further. */
function advance(prev: Summary, run: RecordedRun, nb: RecordedRun['notebooks'][number]): Summary {
  const at = { runId: run.runId, commit: run.commit, finishedAt: run.finishedAt };
  const recent = [{ status: nb.status, flaky: nb.flaky }, ...prev.recent].slice(0, HISTORY_WINDOW);
  let changes = 0;
  for (let i = 1; i < recent.length; i++) if (recent[i]!.status !== recent[i - 1]!.status) changes++;
  const passed = recent.filter((r) => r.status === 'passed').length;
  return {
    path: nb.path,
    status: nb.status,
    cause: nb.cause,
    since: nb.status === prev.status ? prev.since : at,
    lastRun: at,
    lastPassed: nb.status === 'passed' ? { runId: run.runId, commit: run.commit } : prev.lastPassed,
    passRate: Math.round((passed / recent.length) * 10_000) / 10_000,
    flaky: changes >= 2 || recent.some((r) => r.flaky),
    runs: prev.runs + 1,
    recent,
  };
}

/** Every notebook's overview, by path; summarizes an older database first (once). */
export async function readSummaries(db: Database): Promise<NotebookOverview[]> {
  if ((await db.query('SELECT name FROM nblc_pending_work WHERE name = ?', [REBUILD])).length) {
    await db.transaction(async (tx) => {
      await lockRecording(db, tx);
      if (!(await tx.query('SELECT name FROM nblc_pending_work WHERE name = ?', [REBUILD])).length) return;
      const paths = await tx.query<{ path: string }>('SELECT DISTINCT path FROM notebook_results');
      await refreshSummaries(
        tx,
        paths.map((p) => text(p.path)),
      );
      await tx.query('DELETE FROM nblc_pending_work WHERE name = ?', [REBUILD]);
    });
  }
  const rows = await db.query<{ summary: string }>('SELECT summary FROM notebook_summaries');
  const list = rows.map((r) => {
    const { recent: _recent, ...overview } = JSON.parse(text(r.summary)) as Summary;
    return overview;
  });
  // In code units, as overviewOf orders them (a database's collation may order otherwise).
  return list.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function historyRow(r: Record<string, unknown>): HistoryRow {
  return {
    path: text(r.path),
    runId: text(r.run_id),
    commit: text(r.commit_sha),
    status: r.status as NotebookStatus,
    cause: textOrNull(r.cause),
    flaky: flag(r.flaky),
    finishedAt: text(r.finished_at),
    rn: int(r.rn),
    total: int(r.total),
    isSince: flag(r.is_since),
    isLastPassed: flag(r.is_last_passed),
  };
}

/**
 * Per notebook of the `n` paths bound first (twice, then the window), newest first (rn = 1 is
 * its latest result): every row within the window, the row where the current streak of its
 * latest status began (the one before the newest row with another status, or its oldest row),
 * and its newest passed row. Window functions, which both SQLite (3.28+) and PostgreSQL have;
 * the totals by GROUP BY, since a second window ordering (COUNT(*) OVER) would sort again.
 */
function overviewSql(n: number): string {
  const list = marks(n);
  return `
WITH ranked AS (
  SELECT path, run_id, status, cause, flaky, finished_at,
         ROW_NUMBER() OVER (PARTITION BY path ORDER BY finished_at DESC, run_id DESC) AS rn
  FROM notebook_results WHERE path IN (${list})
),
totals AS (SELECT path, COUNT(*) AS total FROM notebook_results WHERE path IN (${list}) GROUP BY path),
latest AS (SELECT path, status FROM ranked WHERE rn = 1),
streak AS (
  SELECT k.path, MIN(k.rn) - 1 AS rn FROM ranked k JOIN latest l ON l.path = k.path
  WHERE k.status <> l.status GROUP BY k.path
),
passed AS (SELECT path, MIN(rn) AS rn FROM ranked WHERE status = 'passed' GROUP BY path)
SELECT k.path, k.run_id, t.commit_sha, k.status, k.cause, k.flaky, k.finished_at, k.rn, c.total,
       CASE WHEN k.rn = COALESCE(s.rn, c.total) THEN 1 ELSE 0 END AS is_since,
       CASE WHEN k.rn = p.rn THEN 1 ELSE 0 END AS is_last_passed
FROM ranked k
JOIN totals c ON c.path = k.path
JOIN test_runs t ON t.run_id = k.run_id
LEFT JOIN streak s ON s.path = k.path
LEFT JOIN passed p ON p.path = k.path
WHERE k.rn <= ? OR k.rn = COALESCE(s.rn, c.total) OR k.rn = p.rn
ORDER BY k.path, k.rn`;
}
