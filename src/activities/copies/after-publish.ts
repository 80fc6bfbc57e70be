/** What the copies do after the sync published a commit (the hook of createSyncActivities). */
import type { Logger } from '@temporalio/common';
import path from 'node:path';
import { STAGING_AREA, lstatOrNull } from './fs.js';
import { cachedManifest, snapshotManifest, type SnapshotManifest } from './manifest.js';
import { AHEAD_CONCURRENCY, ReadyCopies } from './ready.js';
import { readCurrent, snapshotPath } from '../sync/snapshot.js';
import type { CopyConfig } from './config.js';

/**
 * Called by the sync's publish once `current` points at `commit` (`previous`: what it pointed at):
 * derives the new snapshot's manifest from the previous one's (hashing only the files the commit
 * changed) and moves the ready copy, if one is kept, forward to the new commit, so the first
 * request after a merge neither hashes nor copies the suite. Requests of this process wait for it
 * (ReadyCopies.settled). Without a previous manifest or ready copy: the background copy of before.
 * `ahead`: called before the swap of the first publish on a host (nothing published yet), so the
 * ready copy is made, at a request's speed, before any request can ask for a copy.
 */
export function readyCopyAfterPublish(cfg: CopyConfig, ready: ReadyCopies) {
  return (commit: string, log: Logger, previous: string | null = null, ahead = false) =>
    ready.track(
      (async () => {
        const area = path.join(cfg.usersDir, STAGING_AREA);
        const snapshotRoot = snapshotPath(cfg.cacheDir, commit);
        const before = previous && previous !== commit ? await cachedManifest(cfg.dataDir, previous) : null;
        // Derived from the previous one when there is one; the full copy below then reuses it.
        let snapshot: SnapshotManifest | null = null;
        if (before) {
          const root = snapshotPath(cfg.cacheDir, before.commit);
          snapshot = await snapshotManifest({
            dataDir: cfg.dataDir,
            snapshotRoot,
            commit,
            previous: { root, manifest: before },
          });
          if (await ready.advance(area, before, { commit, snapshotRoot, snapshot })) return;
        }
        const { made } = await ready.replace(
          area,
          commit,
          async (signal) => ({
            commit,
            snapshotRoot,
            snapshot: snapshot ?? (await snapshotManifest({ dataDir: cfg.dataDir, snapshotRoot, commit, signal })),
          }),
          log,
          ahead ? AHEAD_CONCURRENCY : undefined,
        );
        // Before the swap (nothing published yet): the first request finds the ready copy made.
        if (ahead) await made;
      })().catch((err: Error) =>
        log.warn(`could not prepare copies of ${commit.slice(0, 7)} after the publish: ${err.message}`, { commit }),
      ),
    );
}

/**
 * At worker start: the ready copy of the published commit, if there is none (the worker was down
 * when it was published, or stopped while making it), made in the background at once, so the
 * first request after a restart takes it instead of copying the suite (it waits for it, like a
 * request right after a publish).
 */
export async function readyCopyAtStart(cfg: CopyConfig, ready: ReadyCopies, log: Logger): Promise<void> {
  if (!ready.enabled) return;
  const commit = await readCurrent(cfg.cacheDir);
  const area = path.join(cfg.usersDir, STAGING_AREA);
  if (!commit || (await lstatOrNull(ReadyCopies.pathOf(area, commit)))) return;
  const snapshotRoot = snapshotPath(cfg.cacheDir, commit);
  await ready.replace(
    area,
    commit,
    async (signal) => ({
      commit,
      snapshotRoot,
      snapshot: await snapshotManifest({ dataDir: cfg.dataDir, snapshotRoot, commit, signal }),
    }),
    log,
  );
}
