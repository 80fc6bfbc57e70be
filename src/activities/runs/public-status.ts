/**
 * `$NBLC_CACHE_DIR/status.json`, what users are told about each notebook (src/domain/runs/health.ts),
 * written after a scheduled run is recorded in the history, and its list of notebooks made the
 * published snapshot's after each publish and each run: beside `current`, replaced atomically
 * (a reader sees the old file or the new one, whole), readable by every user.
 */
import type { Logger } from '@temporalio/common';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  followPublished,
  notebookHealth,
  STATUS_RUN_KIND,
  type NotebookHealth,
  type PublicStatus,
} from '../../domain/runs/health.js';
import type { HistoryStore } from '../../domain/runs/history.js';
import { isObject, REPORT_FILES } from '../../domain/runs/run-dir.js';
import { writeFileAtomic, mapLimit } from '../files.js';
import { readTextCapped } from '../../platform/capped-read.js';
import { REPORT_LIMITS } from './report/limits.js';
import { PUBLIC_STATUS_FILE, readPublicStatus } from '../../storage/runs/public-status.js';
import { readCurrent, snapshotPath } from '../sync/snapshot.js';
import { discover } from './discover.js';

/** Scheduled runs of a notebook read from its history: enough for the streak and the percentiles. */
const HISTORY_DEPTH = 60;
/** History queries at a time: the store is one database. */
const QUERIES_AT_ONCE = 8;
/** Writers that find the file replaced under them start over, this many times at most. */
const ATTEMPTS = 5;

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
  // The run may have tested an older commit than the one published now: its list follows `current`.
  await replaceStatus(cfg.cacheDir, async () => (await published(cfg.cacheDir, status)) ?? status);
  return true;
}

/**
 * After a publish (and after every run, in case a publish's own call failed): status.json's
 * notebooks become those of the published snapshot, so a notebook removed upstream leaves it
 * and a new or moved one comes in as `unknown`, without waiting for the next scheduled run.
 * Idempotent (nothing is written when the list is already the snapshot's); nothing to do
 * before the first scheduled run wrote the file. Returns whether it wrote.
 */
export async function followPublishedSnapshot(cfg: { cacheDir: string }): Promise<boolean> {
  return replaceStatus(cfg.cacheDir, async (before) => (before ? published(cfg.cacheDir, before) : null));
}

/** `status` following the published snapshot's notebooks; null when there is none, or no change. */
async function published(cacheDir: string, status: PublicStatus): Promise<PublicStatus | null> {
  const sha = await readCurrent(cacheDir);
  if (!sha) return null;
  // The notebooks a scheduled run would test there (discovery's, with the repository's .nblcignore).
  const { paths } = await discover({ root: snapshotPath(cacheDir, sha) });
  return followPublished(status, sha, paths, new Date().toISOString());
}

/**
 * Replaces status.json with what `next` makes of the file as it is (null: leave it), unless
 * another writer replaced it meanwhile (a publish and a scheduled run's record at once): then
 * it starts over from that writer's file, so neither loses the other's change.
 */
async function replaceStatus(
  cacheDir: string,
  next: (before: PublicStatus | null) => Promise<PublicStatus | null>,
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    const before = await readPublicStatus(cacheDir);
    const status = await next(before?.status ?? null);
    if (!status) return false;
    await fs.mkdir(cacheDir, { recursive: true });
    try {
      // Every user reads it (their servers mount the cache): 0644 whatever the worker's umask.
      await writeFileAtomic(
        path.join(cacheDir, PUBLIC_STATUS_FILE),
        `${JSON.stringify(status, null, 1)}\n`,
        0o644,
        async () => {
          if ((await readPublicStatus(cacheDir))?.text !== before?.text) throw new Replaced();
        },
      );
      return true;
    } catch (err) {
      if (!(err instanceof Replaced) || attempt >= ATTEMPTS) throw err;
    }
  }
}

/** status.json was replaced by another writer between our read and our rename. */
class Replaced extends Error {
  constructor() {
    super(`${PUBLIC_STATUS_FILE} was replaced by another writer ${ATTEMPTS} times while it was rewritten; try again`);
  }
}

/** A path relative to the snapshot, nothing that climbs out or is absolute. */
function isSnapshotPath(p: string): boolean {
  return (
    p.length > 0 && !p.startsWith('/') && !p.includes('\\') && p.split('/').every((s) => s && s !== '.' && s !== '..')
  );
}

/**
 * The sync's publish hook (beside the copies'): status.json follows the commit just published.
 * Never fails the publish: the next run's record follows it again.
 */
export function publicStatusAfterPublish(cfg: { cacheDir: string }) {
  return async (commit: string, log: Logger): Promise<void> => {
    await followPublishedSnapshot(cfg).catch((err: Error) =>
      log.warn(`${PUBLIC_STATUS_FILE} does not list the notebooks of ${commit.slice(0, 7)} yet: ${err.message}`, {
        commit,
      }),
    );
  };
}
