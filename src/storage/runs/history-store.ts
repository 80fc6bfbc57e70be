/**
 * The notebook history (src/domain/runs/history.ts) in nblc's database (database.ts): the same SQL on
 * SQLite and PostgreSQL. One store per process and database, opened on first use and closed by
 * the stack (`closeHistoryStores`), shared by the recordRun activity and the API.
 */
import type { HistoryStore, NotebookRun, RecordedRun } from '../../domain/runs/history.js';
import type { NotebookStatus, RunKind } from '../../domain/runs/model.js';
import type { Config } from '../../platform/config.js';
import { closeSharedDatabases, sharedDatabase, type Database, type SqlValue } from '../../platform/database.js';
import { durationQueries } from './duration-store.js';
import { environmentQueries, recordEnvironment, recordKernelEnvironments } from './environment-store.js';
import { advanceSummaries, lockRecording, readSummaries, refreshSummaries } from './notebook-summaries.js';
import { flag, int, intOrNull, text, textOrNull, tuples } from '../sql.js';

/** Rows per INSERT: well below both databases' limits on bound parameters. */
const INSERT_CHUNK = 100;

export function createHistoryStore(db: Database): HistoryStore {
  return {
    async record(run: RecordedRun): Promise<void> {
      const now = new Date().toISOString();
      await db.transaction(async (tx) => {
        await lockRecording(db, tx);
        const before = await tx.query<{ path: string }>('SELECT path FROM notebook_results WHERE run_id = ?', [
          run.runId,
        ]);
        await tx.query(
          `INSERT INTO test_runs (run_id, kind, commit_sha, started_at, finished_at, recorded_at)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (run_id) DO UPDATE SET kind = excluded.kind, commit_sha = excluded.commit_sha,
             started_at = excluded.started_at, finished_at = excluded.finished_at, recorded_at = excluded.recorded_at`,
          [run.runId, run.kind, run.commit, run.startedAt, run.finishedAt, now],
        );
        // A run ID reused for a new run (the same merge tested again) replaces the old results
        // whole: notebooks no longer in it must not linger.
        await tx.query('DELETE FROM notebook_results WHERE run_id = ?', [run.runId]);
        for (let i = 0; i < run.notebooks.length; i += INSERT_CHUNK) {
          const chunk = run.notebooks.slice(i, i + INSERT_CHUNK);
          const args: SqlValue[] = chunk.flatMap((nb) => [
            run.runId,
            nb.path,
            nb.status,
            nb.cause,
            nb.durationMs,
            nb.peakMemoryBytes,
            nb.attempts,
            nb.flaky ? 1 : 0,
            run.finishedAt,
            nb.blob ?? null,
          ]);
          // ON CONFLICT: a concurrent recording of the same run (PostgreSQL) converges too.
          await tx.query(
            `INSERT INTO notebook_results
               (run_id, path, status, cause, duration_ms, peak_memory_bytes, attempts, flaky, finished_at, blob)
             VALUES ${tuples(chunk.length, 10)}
             ON CONFLICT (run_id, path) DO UPDATE SET status = excluded.status, cause = excluded.cause,
               duration_ms = excluded.duration_ms, peak_memory_bytes = excluded.peak_memory_bytes,
               attempts = excluded.attempts, flaky = excluded.flaky, finished_at = excluded.finished_at,
               blob = excluded.blob`,
            args,
          );
        }
        await recordEnvironment(tx, run);
        await recordKernelEnvironments(tx, run);
        // A run recorded again may have lost notebooks and changed results: recomputed whole.
        if (before.length) {
          await refreshSummaries(tx, [...before.map((r) => text(r.path)), ...run.notebooks.map((nb) => nb.path)]);
        } else await advanceSummaries(tx, run);
      });
    },

    async recordedRuns(): Promise<Map<string, string>> {
      const rows = await db.query<{ run_id: string; finished_at: string }>('SELECT run_id, finished_at FROM test_runs');
      return new Map(rows.map((r) => [r.run_id, r.finished_at]));
    },

    notebooks: () => readSummaries(db),

    async history(path: string, limit: number): Promise<NotebookRun[] | null> {
      const rows = await db.query(
        `SELECT r.run_id, t.kind, t.commit_sha, r.status, r.duration_ms, r.finished_at, r.cause,
                r.peak_memory_bytes, r.attempts, r.flaky
         FROM notebook_results r JOIN test_runs t ON t.run_id = r.run_id
         WHERE r.path = ?
         ORDER BY r.finished_at DESC, r.run_id DESC
         LIMIT ?`,
        [path, Math.max(1, Math.floor(limit))],
      );
      if (!rows.length) return null;
      return rows.map((r) => ({
        runId: text(r.run_id),
        kind: r.kind as RunKind,
        commit: text(r.commit_sha),
        status: r.status as NotebookStatus,
        durationMs: int(r.duration_ms),
        finishedAt: text(r.finished_at),
        cause: textOrNull(r.cause),
        peakMemoryBytes: intOrNull(r.peak_memory_bytes),
        attempts: int(r.attempts),
        flaky: flag(r.flaky),
      }));
    },

    async runs({ limit, offset = 0, kind }) {
      const where = kind ? 'WHERE kind = ?' : '';
      const filter: SqlValue[] = kind ? [kind] : [];
      const [count] = await db.query(`SELECT COUNT(*) AS n FROM test_runs ${where}`, filter);
      // The page of runs first, then the counts of only those: never a scan of every result.
      const rows = await db.query(
        `WITH page AS (
           SELECT run_id, kind, commit_sha, started_at, finished_at FROM test_runs ${where}
           ORDER BY finished_at DESC, run_id DESC LIMIT ? OFFSET ?
         )
         SELECT p.run_id, p.kind, p.commit_sha, p.started_at, p.finished_at,
                COUNT(r.path) AS notebooks,
                SUM(CASE WHEN r.status = 'passed' THEN 1 ELSE 0 END) AS passed,
                SUM(CASE WHEN r.flaky = 1 THEN 1 ELSE 0 END) AS flaky
         FROM page p LEFT JOIN notebook_results r ON r.run_id = p.run_id
         GROUP BY p.run_id, p.kind, p.commit_sha, p.started_at, p.finished_at
         ORDER BY p.finished_at DESC, p.run_id DESC`,
        [...filter, Math.max(1, Math.floor(limit)), Math.max(0, Math.floor(offset))],
      );
      return {
        total: int(count?.n),
        runs: rows.map((r) => ({
          runId: text(r.run_id),
          kind: r.kind as RunKind,
          commit: text(r.commit_sha),
          startedAt: text(r.started_at),
          finishedAt: text(r.finished_at),
          notebooks: int(r.notebooks),
          passed: int(r.passed),
          flaky: int(r.flaky),
        })),
      };
    },

    ...environmentQueries(db),
    ...durationQueries(db),

    close: () => db.close(),
  };
}

/** The process's history store for this config's database. */
export function historyStore(config: Pick<Config, 'dataDir' | 'databaseUrl'>): Promise<HistoryStore> {
  return sharedDatabase(config).then(createHistoryStore);
}

/** Closes the stores' databases (the history's and the alerts' are one, `sharedDatabase`). */
export function closeHistoryStores(): Promise<void> {
  return closeSharedDatabases();
}
