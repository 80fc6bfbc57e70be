/**
 * Publishing in proportion to the change: a new snapshot is assembled from the previous one
 * (hard links to every file and symlink the commit did not touch) plus what `git diff-tree`
 * says changed, written by git itself (`checkout-index`, as a full publish does).
 *
 * Hard links are safe because a snapshot's files are read-only and nothing ever writes one in
 * place: a changed path is never linked (its new content gets a new inode), removing a name
 * (pruning, a crashed attempt's leftovers) keeps the inode for the snapshots that still name it,
 * and a mode change is a new file too (a chmod would change the old snapshot as well).
 *
 * Names are bytes throughout (`-z` output, byte walks): a name that is not UTF-8 is handled like
 * any other. Paths are keyed by their bytes read as Latin-1, which maps bytes to strings 1:1.
 */
import { constants as fsc } from 'node:fs';
import fs from 'node:fs/promises';
import { joinBytes, mapLimit, readdirBytes } from '../files.js';
import { gitBytes } from './git.js';

const GITLINK = 0o160000;
const SYMLINK = 0o120000;
const TYPE_MASK = 0o170000;
/** Links, chmods and fsyncs in flight: enough to keep the kernel busy, bounded for huge trees. */
const FS_CONCURRENCY = 32;

/** One path `git diff-tree --raw` lists: a mode of 0 means "absent on that side". */
export interface TreeChange {
  oldMode: number;
  newMode: number;
  path: Buffer;
}

/** Raised when the previous snapshot does not hold what git says its commit holds. */
export class PreviousNotIntact extends Error {}

const key = (p: Buffer) => p.toString('latin1');
const SLASH = 0x2f;

/** The paths that differ between two commits, without rename detection, names as bytes. */
export async function diffTrees(gitDir: string, from: string, to: string, signal?: AbortSignal): Promise<TreeChange[]> {
  const out = await gitBytes({ baseDir: gitDir, signal }, ['diff-tree', '-r', '-z', '--no-renames', from, to]);
  const changes: TreeChange[] = [];
  // Records are `:<old mode> <new mode> <old id> <new id> <status>\0<path>\0`.
  let at = 0;
  while (at < out.length) {
    const metaEnd = out.indexOf(0, at);
    const pathEnd = out.indexOf(0, metaEnd + 1);
    if (metaEnd < 0 || pathEnd < 0 || out[at] !== 0x3a) throw new Error('unexpected output of git diff-tree');
    const [oldMode, newMode] = out
      .subarray(at + 1, metaEnd)
      .toString('latin1')
      .split(' ');
    changes.push({
      oldMode: parseInt(oldMode!, 8),
      newMode: parseInt(newMode!, 8),
      path: out.subarray(metaEnd + 1, pathEnd),
    });
    at = pathEnd + 1;
  }
  return changes;
}

/** `a/b/c` → [`a`, `a/b`] */
function ancestors(p: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = p.indexOf(SLASH); i >= 0; i = p.indexOf(SLASH, i + 1)) out.push(p.subarray(0, i));
  return out;
}

const depth = (p: Buffer) => p.reduce((n, b) => n + (b === SLASH ? 1 : 0), 0);

/** Whether what the previous snapshot holds at a changed path is what git says the old commit had. */
function sameType(mode: number, entry: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }) {
  const type = mode & TYPE_MASK;
  if (type === GITLINK) return entry.isDirectory(); // a submodule is checked out as an empty folder
  return type === SYMLINK ? entry.isSymbolicLink() : entry.isFile();
}

/**
 * Fills the empty folder `tmp` with the tree of `sha`, sharing what it can with `prevRoot` (the
 * published tree of `prevSha`), makes it read-only and flushes every new folder and file. Returns
 * the number of files and symlinks. Throws PreviousNotIntact when the previous snapshot does not
 * match its commit at a changed path (the caller then checks out in full).
 */
export async function assembleFromPrevious(opts: {
  gitDir: string;
  prevRoot: string;
  prevSha: string;
  sha: string;
  tmp: string;
  index: string;
  signal?: AbortSignal;
}): Promise<number> {
  const { gitDir, signal } = opts;
  const tmp = Buffer.from(opts.tmp);
  const prev = Buffer.from(opts.prevRoot);
  // The new commit's index, for checkout-index; read while the diff runs.
  const withIndex = { baseDir: gitDir, signal, env: { GIT_INDEX_FILE: opts.index, GIT_WORK_TREE: opts.tmp } };
  const [changes] = await Promise.all([
    diffTrees(gitDir, opts.prevSha, opts.sha, signal),
    gitBytes(withIndex, ['read-tree', opts.sha]),
  ]);

  // 1. Link every entry of the previous snapshot the commit did not touch; new folders for its folders.
  const touched = new Map(changes.filter((c) => c.oldMode !== 0).map((c) => [key(c.path), c.oldMode]));
  const dirs: Buffer[] = [];
  let seen = 0;
  let files = 0;
  const linkDir = async (rel: Buffer | null): Promise<void> => {
    const entries = await readdirBytes(rel ? joinBytes(prev, rel) : prev);
    const sub: Buffer[] = [];
    await mapLimit(entries, FS_CONCURRENCY, async (e) => {
      const r = rel ? joinBytes(rel, e.name) : e.name;
      const oldMode = touched.get(key(r));
      if (oldMode !== undefined) {
        if (!sameType(oldMode, e)) throw new PreviousNotIntact(`${key(r)} has another type than in ${opts.prevSha}`);
        seen++;
      } else if (e.isDirectory()) {
        await fs.mkdir(joinBytes(tmp, r), { mode: 0o700 });
        sub.push(r);
      } else if (e.isFile() || e.isSymbolicLink()) {
        await fs.link(joinBytes(prev, r), joinBytes(tmp, r)); // a symlink is linked itself, not followed
        files++;
      } else {
        throw new PreviousNotIntact(`${key(r)} is not a file, folder or symlink`);
      }
    });
    dirs.push(...sub);
    await Promise.all(sub.map(linkDir)); // the fs work is queued on libuv's threads either way
  };
  await linkDir(null);
  if (seen !== touched.size)
    throw new PreviousNotIntact(`paths changed since ${opts.prevSha} are missing in its snapshot`);

  // 2. Folders emptied by the change go (a checkout has no empty folders but submodules', which
  //    are re-created below), deepest first; rmdir refuses any that still holds something.
  const emptied = new Map<string, Buffer>();
  for (const c of changes) if (c.oldMode !== 0) for (const a of ancestors(c.path)) emptied.set(key(a), a);
  for (const d of [...emptied.values()].sort((a, b) => depth(b) - depth(a))) {
    await fs.rmdir(joinBytes(tmp, d)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST' && err.code !== 'ENOENT') throw err;
    });
  }

  // 3. What the commit adds or changes, written by git as in a full publish (modes, symlinks,
  //    submodules as empty folders, leading folders created).
  const added = changes.filter((c) => c.newMode !== 0);
  if (added.length > 0) {
    const paths = Buffer.concat(added.flatMap((c) => [c.path, Buffer.from([0])]));
    await gitBytes(withIndex, ['checkout-index', '--force', '-z', '--stdin'], paths);
  }

  // 4. Read-only and on disk: the new files (linked ones are already both) and every folder
  //    (all are new, and their entries must be durable before the tree gets its final name).
  const regular = added.filter((c) => (c.newMode & TYPE_MASK) === 0o100000);
  files += added.filter((c) => (c.newMode & TYPE_MASK) !== GITLINK).length;
  const finalDirs = new Map(dirs.map((d) => [key(d), d]));
  for (const c of added) {
    for (const a of ancestors(c.path)) finalDirs.set(key(a), a);
    if ((c.newMode & TYPE_MASK) === GITLINK) finalDirs.set(key(c.path), c.path);
  }
  // Files and folders in one batch: no order among them matters, only that all are on disk
  // before the rename, and concurrent fsyncs share the file system's journal commits.
  const work = [
    ...regular.map((c) => ({ p: joinBytes(tmp, c.path), dir: false })),
    ...[...finalDirs.values()].map((d) => ({ p: joinBytes(tmp, d), dir: true })),
    { p: tmp, dir: true },
  ];
  await mapLimit(work, FS_CONCURRENCY, async ({ p, dir }) => {
    const flags = dir ? fsc.O_RDONLY | fsc.O_DIRECTORY : fsc.O_RDONLY | fsc.O_NOFOLLOW;
    const fh = await fs.open(p, flags).catch((err) => {
      // A folder emptied and removed, or replaced by a file or symlink of the same name.
      if (dir && ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return null;
      throw err;
    });
    if (!fh) return;
    try {
      await fh.chmod(dir ? 0o555 : (await fh.stat()).mode & 0o7555);
      await fh.sync();
    } finally {
      await fh.close();
    }
  });
  return files;
}
