/**
 * `$NBLC_CACHE_DIR/status.json`, what users are told about each notebook (src/domain/runs/health.ts),
 * written after a scheduled run is recorded in the history: beside `current`, replaced
 * atomically (a reader sees the old file or the new one, whole), readable by every user.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { notebookHealth, STATUS_RUN_KIND, type NotebookHealth, type PublicStatus } from '../../domain/runs/health.js';
import type { HistoryStore } from '../../domain/runs/history.js';
import { isObject, REPORT_FILES } from '../../domain/runs/run-dir.js';
import { writeFileAtomic, mapLimit } from '../files.js';
import { readTextCapped } from '../../platform/capped-read.js';
import { REPORT_LIMITS } from './report/limits.js';
import { PUBLIC_STATUS_FILE } from '../../storage/runs/public-status.js';

/** Scheduled runs of a notebook read from its history: enough for the streak and the percentiles. */
const HISTORY_DEPTH = 60;
/** History queries at a time: the store is one database. */
const QUERIES_AT_ONCE = 8;

/**
 * Writes status.json from the recorded scheduled run `runId`; any other kind of run (manual,
 * merge, pr, a future `candidate`) leaves it alone. Returns whether it wrote.
 */
export async function writePublicStatus(
  cfg: { resultsDir: string; cacheDir: string; userLabMemoryBytes: number | null },
  runId: string,
  store: HistoryStore,
): Promise<boolean> {
  const text = await readTextCapped(path.join(cfg.resultsDir, runId, REPORT_FILES.json), REPORT_LIMITS.reportFile);
  const report: unknown = JSON.parse(text);
  if (!isObject(report) || report.kind !== STATUS_RUN_KIND || !Array.isArray(report.notebooks)) return false;
  const notebooks = report.notebooks.filter(
    (n): n is { path: string; status: string; message?: unknown } =>
      isObject(n) && typeof n.path === 'string' && isSnapshotPath(n.path),
  );
  const entries = await mapLimit(notebooks, QUERIES_AT_ONCE, async (nb) => {
    const runs = ((await store.history(nb.path, HISTORY_DEPTH)) ?? []).filter((r) => r.kind === STATUS_RUN_KIND);
    const skip = typeof nb.message === 'string' ? nb.message : undefined;
    return [nb.path, notebookHealth(runs, cfg.userLabMemoryBytes, skip)] as const;
  });
  const environment = isObject(report.environment) ? report.environment : {};
  const status: PublicStatus = {
    version: 1,
    generatedAt: new Date().toISOString(),
    runId,
    commit: String(report.commit),
    environmentFingerprint: typeof environment.fingerprint === 'string' ? environment.fingerprint : null,
    userLabMemoryBytes: cfg.userLabMemoryBytes,
    notebooks: Object.fromEntries(entries.filter((e): e is [string, NotebookHealth] => e[1] !== null)),
  };
  await fs.mkdir(cfg.cacheDir, { recursive: true });
  // Every user reads it (their servers mount the cache): 0644 whatever the worker's umask.
  await writeFileAtomic(path.join(cfg.cacheDir, PUBLIC_STATUS_FILE), `${JSON.stringify(status, null, 1)}\n`, 0o644);
  return true;
}

/** A path relative to the snapshot, nothing that climbs out or is absolute. */
function isSnapshotPath(p: string): boolean {
  return (
    p.length > 0 && !p.startsWith('/') && !p.includes('\\') && p.split('/').every((s) => s && s !== '.' && s !== '..')
  );
}
