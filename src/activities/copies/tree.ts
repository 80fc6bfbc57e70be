/**
 * New copies (`provision`, `latest`) and the `notebooks-latest` link: the snapshot's tree is
 * assembled in the private staging area (or taken ready-made, copy-ready.ts) and renamed into the
 * user's directory in one step, so a crash never leaves a half copy under the final name. Files
 * are copied by the kernel (copy_file_range, or a reflink where the filesystem has them) several
 * at a time, and get their hashes from the cached snapshot manifest: no byte passes through
 * JavaScript.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  COPY_FAILURES,
  COPY_MANIFEST,
  LATEST_LINK,
  type CopyResult,
  type FileReport,
} from '../../domain/copies/model.js';
import { checkCancelled, chownTo, fail, lstatOrNull, type Owner, type UserDir } from './fs.js';
import { mapLimit } from '../files.js';
import { manifestText, type CopyManifest, type SnapshotEntry, type SnapshotManifest } from './manifest.js';

const COPY_CONCURRENCY = 16;

/** Copies are the user's: writable by them (snapshots are read-only), exec bits kept. */
export const fileMode = (exec?: boolean) => (exec ? 0o755 : 0o644);

/** Writes upstream's entry (a file or a symlink) at `dest`, which must not exist yet. */
export async function writeEntry(
  snapshotRoot: string,
  entry: { path: string; id: string; exec?: boolean },
  dest: string,
  owner: Owner | null,
): Promise<void> {
  if (entry.id.startsWith('symlink:')) {
    await fs.symlink(entry.id.slice('symlink:'.length), dest);
  } else {
    await fs.copyFile(path.join(snapshotRoot, entry.path), dest, fsc.COPYFILE_FICLONE | fsc.COPYFILE_EXCL);
    await fs.chmod(dest, fileMode(entry.exec));
  }
  await chownTo(dest, owner);
}

/** Copies the snapshot's folders and entries into `tree`, which must not exist yet. */
export async function copyTree(opts: {
  snapshotRoot: string;
  snapshot: SnapshotManifest;
  tree: string;
  owner: Owner | null;
  signal?: AbortSignal;
  onProgress?: (done: number) => void;
  concurrency?: number;
}): Promise<void> {
  const { snapshot, tree, owner } = opts;
  await fs.mkdir(tree, { mode: 0o755 });
  for (const d of snapshot.dirs) await fs.mkdir(path.join(tree, d), { mode: 0o755 });
  let done = 0;
  await mapLimit(snapshot.entries, opts.concurrency ?? COPY_CONCURRENCY, async (e) => {
    checkCancelled(opts.signal);
    await writeEntry(opts.snapshotRoot, e, path.join(tree, e.path), owner);
    opts.onProgress?.(++done);
  });
}

/**
 * Turns `tree`, a copy of the snapshot `from` made by copyTree (and nothing else: a ready copy,
 * never a user's), into a copy of `to`, writing only what differs between the two manifests: the
 * result is what copyTree would make of `to`, at the cost of the change.
 */
export async function advanceTree(opts: {
  tree: string;
  from: SnapshotManifest;
  to: SnapshotManifest;
  snapshotRoot: string;
  signal?: AbortSignal;
}): Promise<void> {
  const { tree, from, to } = opts;
  const at = (rel: string) => path.join(tree, rel);
  const before = new Map(from.entries.map((e) => [e.path, e]));
  const after = new Map(to.entries.map((e) => [e.path, e]));
  const same = (a?: SnapshotEntry, b?: SnapshotEntry) => !!a && !!b && a.id === b.id && !!a.exec === !!b.exec;
  const gone = from.entries.filter((e) => !same(e, after.get(e.path)));
  const come = to.entries.filter((e) => !same(e, before.get(e.path)));
  await mapLimit(gone, COPY_CONCURRENCY, (e) => fs.unlink(at(e.path)));
  // Folders: removed deepest first (a child's path is longer), added parents first (walk order).
  const toDirs = new Set(to.dirs);
  const fromDirs = new Set(from.dirs);
  for (const d of from.dirs.filter((x) => !toDirs.has(x)).sort((a, b) => b.length - a.length)) await fs.rmdir(at(d));
  for (const d of to.dirs.filter((x) => !fromDirs.has(x))) await fs.mkdir(at(d), { mode: 0o755 });
  await mapLimit(come, COPY_CONCURRENCY, async (e) => {
    checkCancelled(opts.signal);
    await writeEntry(opts.snapshotRoot, e, at(e.path), null);
  });
}

/**
 * Completes a copied tree: writes its manifest and gives its folders to the owner. A ready copy
 * (`readyCopy`, copied earlier as the service's user) also has every entry handed over.
 */
export async function finishCopy(opts: {
  tree: string;
  snapshot: SnapshotManifest;
  owner: Owner | null;
  readyCopy: boolean;
  manifest: Omit<CopyManifest, 'files' | 'report'>;
}): Promise<FileReport[]> {
  const { snapshot, owner, tree } = opts;
  const report: FileReport[] = [
    ...snapshot.entries.map((e): FileReport => ({ path: e.path, outcome: 'added' })),
    ...snapshot.skipped,
  ].sort((a, b) => (a.path < b.path ? -1 : 1));
  const manifest: CopyManifest = {
    ...opts.manifest,
    files: Object.fromEntries(snapshot.entries.map((e) => [e.path, e.id])),
    report,
  };
  const manifestPath = path.join(tree, COPY_MANIFEST);
  await fs.writeFile(manifestPath, manifestText(manifest), { mode: 0o644 });
  await chownTo(manifestPath, owner);
  if (owner) {
    // The entries of a ready copy (a request's own copy made them the user's already) and every
    // folder, all at once: each lchown is one syscall, and waiting for each in turn was most of it.
    const paths = [...(opts.readyCopy ? snapshot.entries.map((e) => e.path) : []), '', ...snapshot.dirs];
    await mapLimit(paths, COPY_CONCURRENCY, (p) => chownTo(path.join(tree, p), owner));
  }
  return report;
}

/**
 * Renames the assembled tree to `final`. False when something already has that name: rename(2)
 * refuses a non-empty folder or a file, so an existing copy is never replaced.
 */
export async function installCopy(tree: string, final: string): Promise<boolean> {
  try {
    await fs.rename(tree, final);
    return true;
  } catch (err) {
    const c = (err as NodeJS.ErrnoException).code ?? '';
    if (['EEXIST', 'ENOTEMPTY', 'ENOTDIR', 'EISDIR'].includes(c)) return false;
    if (c === 'EXDEV') {
      throw fail(
        COPY_FAILURES.crossDevice,
        `${path.dirname(final)} is on another filesystem than NBLC_USERS_DIR: copies are assembled in NBLC_USERS_DIR/.nblc-staging and renamed into place, so users' directories must be on NBLC_USERS_DIR's filesystem`,
      );
    }
    throw err;
  }
}

/** `notebooks-latest` → the cache as users see it; a user's own entry of that name is left alone. */
export async function ensureLatestLink(u: UserDir, target: string): Promise<NonNullable<CopyResult['link']>> {
  const p = path.join(u.dir, LATEST_LINK);
  const st = await lstatOrNull(p);
  const answer = (outcome: NonNullable<CopyResult['link']>['outcome']) => ({ path: p, target, outcome });
  if (!st) {
    try {
      await fs.symlink(target, p); // never replaces anything
      await chownTo(p, u.owner);
      return answer('created');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      return answer('kept-user-entry');
    }
  }
  if (!st.isSymbolicLink()) return answer('kept-user-entry');
  if ((await fs.readlink(p)) === target) return answer('unchanged');
  const tmp = path.join(u.dir, `.nblc-link-${randomBytes(6).toString('hex')}`);
  await fs.symlink(target, tmp);
  await chownTo(tmp, u.owner);
  await fs.rename(tmp, p).catch(async (err) => {
    await fs.rm(tmp, { force: true });
    throw err;
  });
  return answer('updated');
}
