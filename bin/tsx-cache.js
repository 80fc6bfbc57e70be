// Plain JavaScript: it runs before tsx is loaded (bin/nblc.js).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The folder tsx 4 caches into: <tmpdir>/tsx-<euid> (its temporary-directory module). */
export const tsxCacheDir = () => path.join(os.tmpdir(), `tsx-${process.geteuid?.() ?? os.userInfo().username}`);

/**
 * Makes tsx's cache folder this user's alone (created 0700, or an existing one checked), and
 * returns why it cannot be used, or null. Once it is a directory of ours that no one else may
 * write, no one else can change it: /tmp's sticky bit keeps others from renaming or removing it.
 */
export function privateTsxCache(dir = tsxCacheDir()) {
  if (process.env.TSX_DISABLE_CACHE) return null; // off already
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if (err.code !== 'EEXIST') return `${dir}: ${err.code}`;
  }
  const st = fs.lstatSync(dir);
  const uid = process.geteuid?.();
  if (!st.isDirectory()) return `${dir} is not a folder`;
  if (uid !== undefined && st.uid !== uid) return `${dir} belongs to uid ${st.uid}, not to this user (${uid})`;
  if (st.mode & 0o022) return `${dir} is writable by others`;
  return null;
}
