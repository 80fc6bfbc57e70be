/**
 * Kernels in nblc's database (schema v5): the registry of the kernelspecs each worker has
 * (`worker_kernels`: listed when the worker starts, measured by every probe of a run there) and
 * the environment of every kernel each recorded run used (`run_kernel_environments`), from
 * which a run's per-kernel `environmentChanges` come. Same SQL on SQLite and PostgreSQL.
 */
import { knownKernels, type KnownKernel, type WorkerKernel } from '../../domain/runs/kernels.js';
import type { RunEnvironment } from '../../domain/runs/environment.js';
import { environmentOf } from '../../domain/runs/history.js';
import type { Config } from '../../platform/config.js';
import { sharedDatabase, type Queryable } from '../../platform/database.js';

export interface KernelSpecInfo {
  name: string;
  displayName: string;
  language: string;
}

export interface KernelStore {
  /** The kernelspecs `worker` has now, seen at `at` (others it had stay, with their older seenAt). */
  recordSpecs(worker: string, specs: readonly KernelSpecInfo[], at: string): Promise<void>;
  /** A probe's measurement of `env.kernel` on `worker`. */
  recordMeasurement(worker: string, env: RunEnvironment, spec?: KernelSpecInfo): Promise<void>;
  /** Every kernelspec across the workers. */
  kernels(): Promise<KnownKernel[]>;
  /** The newest measured environment of `kernel` in another run that finished before `before`. */
  previousKernelEnvironment(
    kernel: string,
    runId: string,
    before: string,
  ): Promise<{ runId: string; environment: RunEnvironment } | null>;
}

export function createKernelStore(db: Queryable): KernelStore {
  return {
    async recordSpecs(worker, specs, at) {
      for (const s of specs) {
        await db.query(
          `INSERT INTO worker_kernels (worker, name, display_name, language, seen_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (worker, name) DO UPDATE SET display_name = excluded.display_name,
             language = excluded.language, seen_at = excluded.seen_at`,
          [worker, s.name, s.displayName, s.language, at],
        );
      }
    },

    async recordMeasurement(worker, env, spec) {
      await db.query(
        `INSERT INTO worker_kernels
           (worker, name, display_name, language, seen_at, python, fingerprint, packages, error, measured_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (worker, name) DO UPDATE SET python = excluded.python, fingerprint = excluded.fingerprint,
           packages = excluded.packages, error = excluded.error, measured_at = excluded.measured_at`,
        [
          worker,
          env.kernel,
          spec?.displayName ?? env.kernel,
          spec?.language ?? 'unknown',
          env.measuredAt,
          env.python,
          env.fingerprint,
          JSON.stringify(env.packages),
          env.error ?? null,
          env.measuredAt,
        ],
      );
    },

    async kernels() {
      const rows = await db.query(
        `SELECT worker, name, display_name, language, seen_at, python, fingerprint, packages, error, measured_at
         FROM worker_kernels`,
      );
      const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
      return knownKernels(
        rows.map((r): WorkerKernel => ({
          worker: String(r.worker),
          name: String(r.name),
          displayName: String(r.display_name),
          language: String(r.language),
          seenAt: String(r.seen_at),
          python: text(r.python),
          fingerprint: text(r.fingerprint),
          packages: parsePackages(r.packages),
          measuredAt: text(r.measured_at),
          ...(r.error ? { error: String(r.error) } : {}),
        })),
      );
    },

    async previousKernelEnvironment(kernel, runId, before) {
      const [row] = await db.query(
        `SELECT run_id, kernel, python, fingerprint, packages, measured_at FROM run_kernel_environments
         WHERE kernel = ? AND run_id <> ? AND fingerprint IS NOT NULL AND finished_at < ?
         ORDER BY finished_at DESC, run_id DESC LIMIT 1`,
        [kernel, runId, new Date(before).toISOString()],
      );
      if (!row) return null;
      const environment = environmentOf({ ...row, packages: parsePackages(row.packages), measuredAt: row.measured_at });
      return environment ? { runId: String(row.run_id), environment } : null;
    },
  };
}

function parsePackages(raw: unknown): Record<string, string> {
  try {
    const v: unknown = JSON.parse(String(raw));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/** The process's kernel store for this config's database. */
export async function openKernelStore(config: Pick<Config, 'dataDir' | 'databaseUrl'>): Promise<KernelStore> {
  return createKernelStore(await sharedDatabase(config));
}
