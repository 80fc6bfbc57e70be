/**
 * Reading a file that someone else could have written or replaced (a notebook's result, which
 * holds what its kernel printed; a repository's own files): never through a link, never
 * blocking on a FIFO or device, never more than a given number of bytes. One notebook's huge
 * or odd file must not sink the activity that reads the whole run.
 */
import { constants } from 'node:fs';
import fs from 'node:fs/promises';

export type CappedRead =
  | { kind: 'text'; text: string }
  | { kind: 'missing' }
  /** Not read: why, in words for a report (a link, not a regular file, too large). */
  | { kind: 'refused'; why: string };

/** The file's text when it is a regular file of at most `limit` bytes (UTF-8). */
export async function readCapped(file: string, limit: number): Promise<CappedRead> {
  let fh: fs.FileHandle;
  try {
    // O_NOFOLLOW: a link is refused (ELOOP); O_NONBLOCK: opening a FIFO or a device cannot hang
    fh = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    if (code === 'ELOOP') return { kind: 'refused', why: 'it is a symbolic link' };
    if (code === 'EISDIR') return { kind: 'refused', why: 'it is a directory' };
    throw err; // EACCES, EIO, EMFILE…: an infrastructure problem, for the activity's retries
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) return { kind: 'refused', why: 'it is a directory' };
    if (!st.isFile()) return { kind: 'refused', why: 'it is not a regular file' };
    if (st.size > limit) return { kind: 'refused', why: `it has ${st.size} bytes, more than the ${limit} read` };
    const buf = Buffer.alloc(Math.min(st.size, limit) + 1);
    let length = 0;
    for (let n = 1; n > 0 && length < buf.length; length += n) {
      n = (await fh.read(buf, length, buf.length - length, length)).bytesRead;
    }
    if (length > limit) return { kind: 'refused', why: `it grew past ${limit} bytes while read` };
    return { kind: 'text', text: buf.subarray(0, length).toString('utf8') };
  } finally {
    await fh.close();
  }
}

/**
 * readCapped for callers written around fs.readFile: the text, or an error (code ENOENT when
 * missing, as fs.readFile's; EFBIG with the reason when the file was refused).
 */
export async function readTextCapped(file: string, limit: number): Promise<string> {
  const read = await readCapped(file, limit);
  if (read.kind === 'text') return read.text;
  const err = new Error(
    read.kind === 'missing' ? `${file}: no such file` : `${file} was not read: ${read.why}`,
  ) as NodeJS.ErrnoException;
  err.code = read.kind === 'missing' ? 'ENOENT' : 'EFBIG';
  throw err;
}
