/** What the copies do after the sync published a commit (the hook of createSyncActivities). */
import type { Logger } from '@temporalio/common';
import path from 'node:path';
import { STAGING_AREA } from './fs.js';
import { cachedManifest, snapshotManifest, type SnapshotManifest } from './manifest.js';
import type { ReadyCopies } from './ready.js';
import { snapshotPath } from '../sync/snapshot.js';
import type { CopyConfig } from './config.js';

/**
 * Called by the sync's publish once `current` points at `commit` (`previous`: what it pointed at):
 * derives the new snapshot's manifest from the previous one's (hashing only the files the commit
 * changed) and moves the ready copy, if one is kept, forward to the new commit, so the first
 * request after a merge neither hashes nor copies the suite. Requests of this process wait for it
 * (ReadyCopies.settled). Without a previous manifest or ready copy: the background copy of before.
 */
export function readyCopyAfterPublish(cfg: CopyConfig, ready: ReadyCopies) {
  return (commit: string, log: Logger, previous: string | null = null) =>
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
        await ready.replace(
          area,
          commit,
          async (signal) => ({
            commit,
            snapshotRoot,
            snapshot: snapshot ?? (await snapshotManifest({ dataDir: cfg.dataDir, snapshotRoot, commit, signal })),
          }),
          log,
        );
      })().catch((err: Error) =>
        log.warn(`could not prepare copies of ${commit.slice(0, 7)} after the publish: ${err.message}`, { commit }),
      ),
    );
}
