/**
 * The work of one `update` request on the user's files, as a job: everything it reads or writes
 * in the user's directory happens here, so that as root it can run in a process with the copy
 * owner's uid and gid (as-owner.ts). It is also what runs in-process otherwise.
 */
import { constants as fsc } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { COPY_FAILURES, type FileReport } from '../../domain/copies/model.js';
import { existingCopy, fail, type Owner } from './fs.js';
import { readCopyManifest, type SnapshotManifest } from './manifest.js';
import { updateInPlace } from './update.js';
import { removeTree } from '../files.js';

export interface UpdateJob {
  /** Real path of the user's directory. */
  userDir: string;
  /** The copy, directly in the user's directory. */
  name: string;
  requestId: string;
  commit: string;
  snapshotRoot: string;
  snapshot: SnapshotManifest;
}

export interface UpdateHooks {
  signal?: AbortSignal;
  onProgress?: (p: Record<string, unknown>) => void;
  /**
   * Tests only: awaited at the moments a user racing the update could swap a folder for a
   * symlink (after a check, before the write it guards), so the race can be played exactly.
   */
  checkpoint?: (step: string) => Promise<void>;
}

export interface UpdateOutcome {
  /** The copy already carried this request's manifest (a retry): `files` is that report. */
  again: boolean;
  commit: string;
  previousCommit: string | null;
  files: FileReport[];
}

/**
 * Staged files are written beside the copy, in the user's directory: on the copy's filesystem
 * (link(2) and rename(2) need that) and writable by the owner, whose uid the job may run with.
 * Copy names cannot start with a dot, so this never clashes with a copy.
 */
export const UPDATE_STAGING = '.nblc-update-';

/** `owner`: who files created here must belong to (null: whoever runs the job). */
export async function runUpdateJob(
  job: UpdateJob,
  owner: Owner | null,
  hooks: UpdateHooks = {},
): Promise<UpdateOutcome> {
  const root = await existingCopy(job.userDir, job.name);
  if (!root) {
    throw fail(
      COPY_FAILURES.notFound,
      `${path.join(job.userDir, job.name)} does not exist: provision it or choose an existing copy`,
    );
  }
  await hooks.checkpoint?.('checked');
  const old = await readCopyManifest(root);
  if (old && old.requestId === job.requestId && old.mode === 'update') {
    return { again: true, commit: old.commit, previousCommit: null, files: old.report };
  }
  // Run as the owner, the files come from the snapshot with the owner's rights: the cache must be
  // readable by users (it is what their notebooks-latest link shows them).
  await fs.access(job.snapshotRoot, fsc.R_OK | fsc.X_OK).catch(() => {
    throw fail(
      COPY_FAILURES.permission,
      `${job.snapshotRoot} cannot be read by the owner of ${job.userDir} (uid ${process.getuid?.()}): make NBLC_CACHE_DIR readable by users`,
    );
  });
  // What a crashed earlier update left (one workflow per user: none is running now).
  for (const name of await fs.readdir(job.userDir)) {
    if (name.startsWith(UPDATE_STAGING)) await removeTree(path.join(job.userDir, name));
  }
  const staging = await fs.mkdtemp(path.join(job.userDir, UPDATE_STAGING));
  try {
    const files = await updateInPlace({
      root,
      old,
      commit: job.commit,
      snapshotRoot: job.snapshotRoot,
      snapshot: job.snapshot,
      staging,
      owner,
      requestId: job.requestId,
      ...hooks,
    });
    return { again: false, commit: job.commit, previousCommit: old?.commit ?? null, files };
  } finally {
    await removeTree(staging);
  }
}
