/**
 * The durations side of the notebook history (history-store.ts): each notebook's recent
 * durations and peak memory, which order a run's notebooks (src/domain/runs/order.ts). Same SQL
 * on SQLite and PostgreSQL.
 */
import type { HistoryStore } from '../../domain/runs/history.js';
import type { RecentRuns } from '../../domain/runs/order.js';
import type { Queryable } from '../../platform/database.js';

/** Paths per query: well below both databases' limits on bound parameters. */
const PATH_CHUNK = 200;

/** The store's part that reads recent durations and peaks, spread into createHistoryStore. */
export function durationQueries(db: Queryable): Pick<HistoryStore, 'recentRuns'> {
  return {
    async recentRuns(paths, limit) {
      const out = new Map<string, RecentRuns>();
      const n = Math.max(1, Math.floor(limit));
      for (let i = 0; i < paths.length; i += PATH_CHUNK) {
        const chunk = paths.slice(i, i + PATH_CHUNK);
        // Window functions: both databases; the newest `n` of each path, by its index on path.
        const rows = await db.query(
          `SELECT path, duration_ms, peak_memory_bytes FROM (
             SELECT path, duration_ms, peak_memory_bytes,
                    ROW_NUMBER() OVER (PARTITION BY path ORDER BY finished_at DESC, run_id DESC) AS k
             FROM notebook_results WHERE path IN (${chunk.map(() => '?').join(', ')})
           ) recent WHERE k <= ? ORDER BY path, k`,
          [...chunk, n],
        );
        for (const r of rows) {
          const path = String(r.path);
          const entry = out.get(path) ?? out.set(path, { durationsMs: [], peakMemoryBytes: [] }).get(path)!;
          entry.durationsMs.push(Number(r.duration_ms));
          if (r.peak_memory_bytes !== null && r.peak_memory_bytes !== undefined) {
            entry.peakMemoryBytes.push(Number(r.peak_memory_bytes));
          }
        }
      }
      return out;
    },
  };
}
