/**
 * Immutable snapshots of the notebooks repository and the `current` symlink readers follow.
 *
 * Layout under the cache directory:
 *   snapshots/<full sha>/   read-only tree of that commit (no .git)
 *   current -> snapshots/<full sha>   (relative, so the cache can be mounted anywhere)
 *
 * Every step is written so that a crash at any point leaves either the old or the new state
 * visible, and a rerun converges: trees are assembled under a hidden temporary name and renamed
 * into place; the symlink is replaced by rename(2), which is atomic.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { joinBytes, readdirBytes, removeTree } from '../files.js';
import { gitBytes } from './git.js';
import { assembleFromPrevious } from './incremental.js';

const execFileAsync = promisify(execFile);

export const SHA_RE = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const STALE_TEMP_MS = 10 * 60_000;

export const snapshotsDir = (cacheDir: string) => path.join(cacheDir, 'snapshots');
export const snapshotPath = (cacheDir: string, sha: string) => path.join(snapshotsDir(cacheDir), sha);
export const currentLink = (cacheDir: string) => path.join(cacheDir, 'current');
/** A test run pins the snapshot it executes (one empty file per run) so pruning keeps it. */
export const pinDir = (cacheDir: string, sha: string) => path.join(cacheDir, '.pins', sha);

async function pinned(cacheDir: string, sha: string): Promise<boolean> {
  const pins = await fs.readdir(pinDir(cacheDir, sha)).catch(() => []);
  return pins.length > 0;
}

/** The full SHA `current` points at, or null when nothing is published yet. */
export async function readCurrent(cacheDir: string): Promise<string | null> {
  try {
    const target = path.basename(await fs.readlink(currentLink(cacheDir)));
    return SHA_RE.test(target) ? target : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Removes write permission bottom-up (files keep their exec bit). Returns the number of files.
 * Names are handled as bytes (files.ts): a name that is not UTF-8 is published like any other.
 */
async function makeReadOnly(dir: Buffer): Promise<number> {
  let files = 0;
  for (const entry of await readdirBytes(dir)) {
    const p = joinBytes(dir, entry.name);
    if (entry.isDirectory()) {
      files += await makeReadOnly(p);
    } else if (entry.isFile()) {
      const { mode } = await fs.stat(p);
      await fs.chmod(p, mode & ~0o222);
      files++;
    } else {
      files++; // symlinks carry no permissions of their own
    }
  }
  await fs.chmod(dir, 0o555);
  return files;
}

/**
 * Writes the tree of `sha` into `snapshots/<sha>` unless it is already there.
 *
 * With `previous` (the published commit), the tree is assembled from that snapshot plus the
 * change (incremental.ts): hard links for what did not change, git's checkout for what did. Else,
 * or when the previous snapshot is missing or does not match its commit, a full checkout: a
 * private index file and `checkout-index`, which runs no hooks and writes no .git (file modes and
 * symlinks are kept as git stores them). Either way the tree is complete, read-only and flushed
 * before it gets its final name, whose existence is what marks a snapshot complete.
 */
export async function materialize(opts: {
  gitDir: string;
  cacheDir: string;
  sha: string;
  previous?: string | null;
  signal?: AbortSignal;
}): Promise<{ path: string; files: number; reused: boolean }> {
  const final = snapshotPath(opts.cacheDir, opts.sha);
  if (await exists(final)) return { path: final, files: -1, reused: true };
  await fs.mkdir(snapshotsDir(opts.cacheDir), { recursive: true });
  const prefix = path.join(snapshotsDir(opts.cacheDir), `.tmp-${opts.sha.slice(0, 12)}-`);
  let tmp = await fs.mkdtemp(prefix);
  const index = `${tmp}.index`;
  try {
    let files = -1;
    const prevRoot = opts.previous ? snapshotPath(opts.cacheDir, opts.previous) : null;
    if (prevRoot && opts.previous !== opts.sha && (await publishedTree(prevRoot))) {
      files = await assembleFromPrevious({ ...opts, prevRoot, prevSha: opts.previous!, tmp, index }).catch(
        async (err: Error) => {
          if (opts.signal?.aborted) throw err;
          // Not usable (damaged, or its commit gone from the clone): start over with a full checkout.
          await removeTree(tmp);
          tmp = await fs.mkdtemp(prefix);
          return -1;
        },
      );
    }
    if (files < 0) {
      // The private clone is bare: point git at a throwaway index and at the temporary tree.
      const g = { baseDir: opts.gitDir, signal: opts.signal, env: { GIT_INDEX_FILE: index, GIT_WORK_TREE: tmp } };
      await gitBytes(g, ['read-tree', opts.sha]);
      await gitBytes(g, ['checkout-index', '--all', '--force']);
      files = await makeReadOnly(Buffer.from(tmp));
      // Flush the tree before it gets its final name: after a power loss a snapshot under its
      // final name must be complete, since its existence is what marks it complete.
      await execFileAsync('sync', ['--file-system', tmp]);
    }
    try {
      await fs.rename(tmp, final);
    } catch (err) {
      // Another attempt finished first: its tree is identical, keep it.
      if (!['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
      await removeTree(tmp);
      return { path: final, files, reused: true };
    }
    // The rename itself must be durable before `current` can point at the new name.
    await syncDir(snapshotsDir(opts.cacheDir));
    return { path: final, files, reused: false };
  } catch (err) {
    await removeTree(tmp);
    throw err;
  } finally {
    await fs.rm(index, { force: true });
  }
}

/**
 * A snapshot to build on: published under its final name (given only once it was complete and
 * flushed) and locked as publishing leaves it. Its content is checked against git at every path
 * the change touches while it is used (incremental.ts).
 */
async function publishedTree(root: string): Promise<boolean> {
  const st = await fs.lstat(root).catch(() => null);
  return !!st && st.isDirectory() && (st.mode & 0o777) === 0o555;
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, fsc.O_RDONLY);
  await fh.sync().finally(() => fh.close());
}

/** Points `current` at `snapshots/<sha>` with one atomic rename. */
export async function swapCurrent(cacheDir: string, sha: string): Promise<void> {
  const tmpLink = path.join(cacheDir, `.current-${randomBytes(6).toString('hex')}`);
  await fs.symlink(path.join('snapshots', sha), tmpLink);
  try {
    await fs.rename(tmpLink, currentLink(cacheDir));
  } catch (err) {
    await fs.rm(tmpLink, { force: true });
    throw err;
  }
  // Mark it as the most recently published, for pruning order.
  const now = new Date();
  await fs.utimes(snapshotPath(cacheDir, sha), now, now);
  await syncDir(cacheDir);
}

/**
 * Keeps the `keep` most recently published snapshots, the current one and those pinned by a
 * running test; removes the
 * rest and any temporary leftovers of crashed attempts. Returns the removed SHAs.
 */
export async function prune(cacheDir: string, keep: number): Promise<string[]> {
  const dir = snapshotsDir(cacheDir);
  const current = await readCurrent(cacheDir);
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  const snapshots: Array<{ sha: string; mtime: number }> = [];
  const now = Date.now();
  for (const e of entries) {
    const p = path.join(dir, e.name);
    const st = await fs.lstat(p).catch(() => null);
    if (!st) continue;
    if (e.name.startsWith('.')) {
      if (now - st.mtimeMs > STALE_TEMP_MS) await removeTree(p);
    } else if (SHA_RE.test(e.name) && st.isDirectory()) {
      snapshots.push({ sha: e.name, mtime: st.mtimeMs });
    }
  }
  // Temporary links of a swap interrupted by a crash.
  for (const name of await fs.readdir(cacheDir).catch(() => [] as string[])) {
    if (!name.startsWith('.current-')) continue;
    const st = await fs.lstat(path.join(cacheDir, name)).catch(() => null);
    if (st && now - st.mtimeMs > STALE_TEMP_MS) await fs.rm(path.join(cacheDir, name), { force: true });
  }
  snapshots.sort((a, b) => b.mtime - a.mtime);
  const removed: string[] = [];
  for (const s of snapshots.slice(keep)) {
    if (s.sha === current || (await pinned(cacheDir, s.sha))) continue;
    // Rename first so the directory disappears at once, then delete at leisure.
    const trash = path.join(dir, `.trash-${s.sha.slice(0, 12)}-${randomBytes(4).toString('hex')}`);
    await fs.rename(path.join(dir, s.sha), trash);
    await removeTree(trash);
    removed.push(s.sha);
  }
  return removed;
}
