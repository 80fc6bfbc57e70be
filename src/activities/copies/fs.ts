/**
 * Filesystem guards for the users' copies: where a user's files may be written, who owns them,
 * content ids, and the private staging area copies are assembled in.
 *
 * The service may run as root and writes into directories users control, so nothing here follows
 * a symlink on the way to a write: every folder on the way is lstat'ed and must be a real
 * directory, and the parent of each write is resolved once more right before it. A check and the
 * write after it are still two system calls; as root, updates therefore run with the owner's
 * uid (as-owner.ts), and these checks are what gives each file its reason in the report.
 */
import { ApplicationFailure } from '@temporalio/common';
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { constants as fsc, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { COPY_FAILURES, userNameProblem } from '../../domain/copies/model.js';
import type { ContentId } from '../../domain/copies/rules.js';
import { removeTree } from '../files.js';

export interface Owner {
  uid: number;
  gid: number;
}

export const fail = (type: string, message: string) => ApplicationFailure.nonRetryable(message, type);

const code = (err: unknown) => (err as NodeJS.ErrnoException).code;

export async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await fs.lstat(p);
  } catch (err) {
    if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') return null;
    throw err;
  }
}

/** Running as root: files we create must belong to the owner of the user's directory. */
export const runningAsRoot = () => process.getuid?.() === 0;

export async function chownTo(p: string, owner: Owner | null): Promise<void> {
  if (owner) await fs.lchown(p, owner.uid, owner.gid);
}

export interface UserDir {
  user: string;
  /** Real path of the user's directory. */
  dir: string;
  usersDir: string;
  owner: Owner | null;
}

/**
 * The user's directory, `<usersDir>/<user>`, which must be a real directory (not a symlink).
 * It is created when missing (`create`), except as root: then only the platform knows who
 * should own it.
 */
export async function userDir(usersDir: string, user: string, create: boolean): Promise<UserDir> {
  const problem = userNameProblem(user);
  if (problem) throw fail(COPY_FAILURES.invalid, problem);
  await fs.mkdir(usersDir, { recursive: true });
  const root = await fs.realpath(usersDir);
  const dir = path.join(root, user);
  let st = await lstatOrNull(dir);
  if (!st && create && !runningAsRoot()) {
    await fs.mkdir(dir, { mode: 0o755 }).catch((err) => {
      if (code(err) !== 'EEXIST') throw err;
    });
    st = await lstatOrNull(dir);
  }
  if (!st) {
    throw fail(
      COPY_FAILURES.userDirMissing,
      `${dir} does not exist: create the user's directory (owned by the user) first${runningAsRoot() ? '; running as root, nblc does not guess who should own it' : ''}`,
    );
  }
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw fail(
      COPY_FAILURES.unsafe,
      `${dir} is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}; refusing to write there`,
    );
  }
  return { user, dir, usersDir: root, owner: runningAsRoot() ? { uid: st.uid, gid: st.gid } : null };
}

/** A copy directly in the user's directory: null when absent; refuses anything but a real directory. */
export async function existingCopy(userDir: string, name: string): Promise<string | null> {
  const p = path.join(userDir, name);
  const st = await lstatOrNull(p);
  if (!st) return null;
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw fail(
      COPY_FAILURES.unsafe,
      `${p} is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}; refusing to use it as a copy`,
    );
  }
  return p;
}

export const STAGING_AREA = '.nblc-staging';

/**
 * The private staging area, `<usersDir>/.nblc-staging/` (mode 0700, so users cannot reach into
 * what is being assembled; user names never start with a dot). It is on the users' filesystem,
 * so assembled trees and files can be renamed into place. Leftovers of this user's earlier,
 * crashed operations are removed first: one workflow per user means none is running.
 */
export async function stagingFor(u: UserDir, what: string): Promise<string> {
  const area = path.join(u.usersDir, STAGING_AREA);
  await fs.mkdir(area, { mode: 0o700 }).catch((err) => {
    if (code(err) !== 'EEXIST') throw err;
  });
  const st = await fs.lstat(area);
  if (!st.isDirectory() || st.isSymbolicLink()) throw fail(COPY_FAILURES.unsafe, `${area} is not a real directory`);
  const prefix = `${u.user}~`; // `~` cannot occur in a user name
  for (const name of await fs.readdir(area)) {
    if (name.startsWith(prefix)) await removeTree(path.join(area, name));
  }
  return fs.mkdtemp(path.join(area, `${prefix}${what}~`));
}

/** Prefix of the content id of an entry that is neither a regular file nor a symlink. */
export const NOT_CONTENT = 'other:';
/**
 * Larger than any file a snapshot delivers (notebooks, data): such a file is the user's, and is
 * not hashed (a sparse file of a terabyte would keep a worker busy for hours).
 */
const MAX_HASHED_BYTES = 4 * 1024 ** 3;
const CHUNK = 1024 * 1024;

/**
 * sha256 of the `size` bytes `fh` holds, read in chunks (no whole-file buffer); null if the file
 * turns out longer (growing while read: not content anyone delivered, and never read to its end).
 */
async function sha256Handle(fh: fs.FileHandle, size: number): Promise<string | null> {
  const hash = createHash('sha256');
  // One byte more than the size tells EOF and growth apart.
  const buf = Buffer.allocUnsafe(Math.min(size + 1, CHUNK));
  let total = 0;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size + 1 - total), null);
    if (bytesRead === 0) return hash.digest('hex');
    total += bytesRead;
    if (total > size) return null;
    hash.update(buf.subarray(0, bytesRead));
  }
}

const OPEN_FLAGS = fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK;

/** sha256 of a regular file of the (read-only, trusted) snapshot. */
export async function sha256File(p: string, size: number): Promise<string> {
  const fh = await fs.open(p, OPEN_FLAGS);
  try {
    const hex = await sha256Handle(fh, size);
    if (hex === null) throw new Error(`${p} grew while it was hashed; snapshots are read-only`);
    return hex;
  } finally {
    await fh.close();
  }
}

const kindOf = (st: Stats) =>
  st.isDirectory() ? 'dir' : st.isFIFO() ? 'fifo' : st.isSocket() ? 'socket' : st.isFile() ? 'large' : 'device';

/**
 * The content id of the entry at `p`, never following a link: `sha256:<hex>` of a regular file,
 * `symlink:<target>`, `other:<kind>` for anything else (never equal to delivered content), or
 * null when nothing is there. The entry is opened first (O_NOFOLLOW, O_NONBLOCK) and checked on
 * the handle, so what is hashed is what was checked: a FIFO or a device the user swapped in is
 * never read (a FIFO blocks a thread for good; /dev/zero never ends). `seen`: what the caller saw
 * there (a readdir entry), to try first.
 */
export async function contentId(p: string, seen?: 'file' | 'symlink'): Promise<ContentId | null> {
  if (seen === 'symlink') {
    const link = await linkId(p);
    if (link !== undefined) return link;
  }
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(p, OPEN_FLAGS);
  } catch (err) {
    const c = code(err);
    if (c === 'ELOOP') {
      const link = await linkId(p);
      return link === undefined ? `${NOT_CONTENT}changing` : link; // a link, then not: the user is at it
    }
    if (c === 'ENOENT' || c === 'ENOTDIR') return null;
    if (c === 'ENXIO') return `${NOT_CONTENT}socket`;
    if (c === 'EACCES' || c === 'EPERM') return `${NOT_CONTENT}unreadable`; // as the owner: their choice
    throw err;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.size > MAX_HASHED_BYTES) return `${NOT_CONTENT}${kindOf(st)}`;
    const hex = await sha256Handle(fh, st.size);
    return hex === null ? `${NOT_CONTENT}changing` : `sha256:${hex}`;
  } finally {
    await fh.close();
  }
}

/** `symlink:<target>` if `p` is a link now, null if nothing is there, undefined if something else is. */
async function linkId(p: string): Promise<ContentId | null | undefined> {
  try {
    const target = await fs.readlink(p, { encoding: 'buffer' });
    // Targets that are not UTF-8 are never delivered (manifest.ts skips them).
    return isUtf8(target) ? `symlink:${target.toString('utf8')}` : `${NOT_CONTENT}symlink`;
  } catch (err) {
    if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') return null;
    if (code(err) === 'EINVAL') return undefined;
    throw err;
  }
}

/**
 * Makes sure every folder from `root` (a real path) to the parent of `rel` is a real directory,
 * creating missing ones (owned by `owner`) if `create`. Returns the absolute parent, or why not.
 */
export async function safeParent(
  root: string,
  rel: string,
  owner: Owner | null,
  create = true,
): Promise<{ ok: true; parent: string } | { ok: false; reason: string; missing?: boolean }> {
  const parts = rel.split('/').slice(0, -1);
  let dir = root;
  for (const part of parts) {
    dir = path.join(dir, part);
    const st = await lstatOrNull(dir);
    if (!st) {
      if (!create) return { ok: false, reason: `${path.relative(root, dir)} does not exist`, missing: true };
      try {
        await fs.mkdir(dir, { mode: 0o755 });
        await chownTo(dir, owner);
      } catch (err) {
        if (code(err) !== 'EEXIST') throw err;
      }
      continue;
    }
    if (st.isSymbolicLink() || !st.isDirectory()) {
      return {
        ok: false,
        reason: `${path.relative(root, dir)} is not a folder in the copy (a file or link is in the way)`,
      };
    }
  }
  // Once more, resolved: a folder swapped for a link since the checks above is caught here.
  if ((await fs.realpath(dir)) !== dir)
    return { ok: false, reason: `${path.relative(root, dir)} changed during the update` };
  return { ok: true, parent: dir };
}

export function checkCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason ?? new Error('cancelled');
}
