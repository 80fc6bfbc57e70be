/**
 * The environment side of the notebook history (history-store.ts): each run's kernel environment
 * (table `run_environments`, schema v3) and, for a newly failing notebook, its last pass with the
 * notebook's blob and the environment's fingerprint then. Same SQL on SQLite and PostgreSQL.
 */
import type { HistoryStore, LastPass, RecordedRun } from '../../domain/runs/history.js';
import { environmentOf } from '../../domain/runs/history.js';
import type { RunEnvironment } from '../../domain/runs/environment.js';
import type { Queryable, SqlValue } from '../../platform/database.js';
import { text, textOrNull } from '../sql.js';

/** Newly failing notebooks explained per report; beyond, the report says nothing of the rest. */
export const MAX_EXPLAINED = 500;

/** Within record()'s transaction: the run's environment replaces what was recorded of it. */
export async function recordEnvironment(tx: Queryable, run: RecordedRun): Promise<void> {
  await tx.query('DELETE FROM run_environments WHERE run_id = ?', [run.runId]);
  const env = run.environment;
  if (!env) return;
  await tx.query(
    `INSERT INTO run_environments (run_id, kernel, python, fingerprint, packages, error, measured_at, finished_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    environmentRow(run, env),
  );
}

/** The columns both environment tables share, in their order: one run's measurement of a kernel. */
function environmentRow(run: RecordedRun, env: RunEnvironment): SqlValue[] {
  return [
    run.runId,
    env.kernel,
    env.python,
    env.fingerprint,
    JSON.stringify(env.packages),
    env.error ?? null,
    env.measuredAt,
    run.finishedAt,
  ];
}

/** Within record()'s transaction: every kernel environment of the run replaces what was recorded. */
export async function recordKernelEnvironments(tx: Queryable, run: RecordedRun): Promise<void> {
  await tx.query('DELETE FROM run_kernel_environments WHERE run_id = ?', [run.runId]);
  const seen = new Set<string>();
  for (const env of [...(run.environments ?? []), ...(run.environment ? [run.environment] : [])]) {
    if (seen.has(env.kernel)) continue;
    seen.add(env.kernel);
    await tx.query(
      `INSERT INTO run_kernel_environments
         (run_id, kernel, python, fingerprint, packages, error, measured_at, finished_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      environmentRow(run, env),
    );
  }
}

export function environmentQueries(db: Queryable): Pick<HistoryStore, 'previousEnvironment' | 'lastPasses'> {
  return {
    async previousEnvironment(runId, before) {
      const [row] = await db.query(
        `SELECT run_id, kernel, python, fingerprint, packages, error, measured_at FROM run_environments
         WHERE run_id <> ? AND fingerprint IS NOT NULL AND finished_at < ?
         ORDER BY finished_at DESC, run_id DESC LIMIT 1`,
        [runId, new Date(before).toISOString()],
      );
      if (!row) return null;
      let packages: unknown;
      try {
        packages = JSON.parse(text(row.packages));
      } catch {
        return null;
      }
      const environment: RunEnvironment | undefined = environmentOf({
        kernel: row.kernel,
        python: row.python,
        fingerprint: row.fingerprint,
        packages,
        measuredAt: row.measured_at,
      });
      return environment ? { runId: text(row.run_id), environment } : null;
    },

    async lastPasses(paths, runId) {
      const out = new Map<string, LastPass>();
      // One indexed range per path (notebook_results_by_path), newest first.
      for (const path of paths.slice(0, MAX_EXPLAINED)) {
        const [row] = await db.query(
          `SELECT r.run_id, t.commit_sha, r.blob, e.fingerprint
           FROM notebook_results r
           JOIN test_runs t ON t.run_id = r.run_id
           LEFT JOIN run_environments e ON e.run_id = r.run_id
           WHERE r.path = ? AND r.status = 'passed' AND r.run_id <> ?
           ORDER BY r.finished_at DESC, r.run_id DESC LIMIT 1`,
          [path, runId],
        );
        if (!row) continue;
        out.set(path, {
          runId: text(row.run_id),
          commit: text(row.commit_sha),
          blob: textOrNull(row.blob),
          fingerprint: textOrNull(row.fingerprint),
        });
      }
      return out;
    },
  };
}
