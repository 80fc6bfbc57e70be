/**
 * The delivered version of notebooks, for their cell-level merge: upstream's blob at the commit a
 * copy was last brought to, read from the sync's private clone. Not from the snapshot of that
 * commit, which the sync prunes; the clone keeps every commit it fetched. So a user's edits are
 * merged with any number of later updates, however old their copy.
 *
 * The request comes from the copy's manifest, which the user may have written (the update job may
 * even be the user's own process, as-owner.ts): only paths the current snapshot has, of
 * mergeable files, are looked up, and a blob is given only if its sha256 is the id asked for. So
 * nothing comes out of the clone that the asker did not already have (a hash is its content's
 * proof), whatever else the repository's history holds.
 */
import fs from 'node:fs/promises';
import { git } from '../sync/git.js';
import { MAX_MERGE_BYTES, sha256Id, type BaseFiles } from './merge-files.js';
import { isMergeable } from '../../domain/copies/rules.js';
import { FULL_SHA } from '../untrusted.js';

const CONTENT_ID = /^sha256:[0-9a-f]{64}$/;

/** BaseFiles reading the clone at `gitDir`, for paths of the snapshot `snapshotPaths` only. */
export function cloneBaseFiles(gitDir: string, snapshotPaths: ReadonlySet<string>, signal?: AbortSignal): BaseFiles {
  return async (commit, files) => {
    const out = new Map<string, Buffer>();
    // No clone on this host (yet): nothing to merge with.
    if (!FULL_SHA.test(commit) || !(await fs.stat(gitDir).catch(() => null))?.isDirectory()) return out;
    const g = git({ baseDir: gitDir, signal });
    for (const f of files) {
      if (!snapshotPaths.has(f.path) || !isMergeable(f.path) || !CONTENT_ID.test(f.id) || out.has(f.path)) continue;
      const rev = `${commit}:${f.path}`;
      try {
        // Size first: a blob too large to merge is not read at all.
        if (Number((await g.raw(['cat-file', '-s', rev])).trim()) > MAX_MERGE_BYTES) continue;
        const blob = (await g.binaryCatFile(['blob', rev])) as Buffer;
        if (sha256Id(blob) === f.id) out.set(f.path, blob);
      } catch {
        // Not in the clone (a commit it never fetched, a clone made anew): no base, a conflict.
      }
    }
    return out;
  };
}
