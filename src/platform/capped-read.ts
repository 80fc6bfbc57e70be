/**
 * Reading a file that someone else could have written or replaced (a notebook's result, which
 * holds what its kernel printed; a repository's own files; a user's copy; a run's report): never
 * through a link, never blocking on a FIFO or device, never more than a given number of bytes.
 * One notebook's huge or odd file must not sink the activity or the page that reads it. On the
 * platform floor so every floor above (storage, activities) reads such files the one way.
 */
import { constants } from 'node:fs';
import fs from 'node:fs/promises';

/** Not read: why, in words for a report (a link, not a regular file, too large). */
export type CappedRefusal = { kind: 'missing' } | { kind: 'refused'; why: string };
export type CappedBytes = { kind: 'bytes'; bytes: Buffer } | CappedRefusal;
export type CappedRead = { kind: 'text'; text: string } | CappedRefusal;

/** The file's bytes when it is a regular file of at most `limit` bytes that did not grow while read. */
export async function readCappedBytes(file: string, limit: number): Promise<CappedBytes> {
  let fh: fs.FileHandle;
  try {
    // O_NOFOLLOW: a link is refused (ELOOP); O_NONBLOCK: opening a FIFO or a device cannot hang
    fh = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    if (code === 'ELOOP') return { kind: 'refused', why: 'it is a symbolic link' };
    if (code === 'EISDIR') return { kind: 'refused', why: 'it is a directory' };
    if (code === 'ENXIO') return { kind: 'refused', why: 'it is not a regular file' }; // a socket
    throw err; // EACCES, EIO, EMFILE…: an infrastructure problem, for the activity's retries
  }
  try {
    // the checks are on the opened file: a link swapped in after them changes nothing read
    const st = await fh.stat();
    if (st.isDirectory()) return { kind: 'refused', why: 'it is a directory' };
    if (!st.isFile()) return { kind: 'refused', why: 'it is not a regular file' };
    if (st.size > limit) return { kind: 'refused', why: `it has ${st.size} bytes, more than the ${limit} read` };
    const buf = Buffer.alloc(st.size + 1);
    let length = 0;
    for (let n = 1; n > 0 && length < buf.length; length += n) {
      n = (await fh.read(buf, length, buf.length - length, length)).bytesRead;
    }
    if (length > st.size) return { kind: 'refused', why: 'it grew while read' };
    return { kind: 'bytes', bytes: buf.subarray(0, length) };
  } finally {
    await fh.close();
  }
}

/** The file's text (UTF-8) when it is a regular file of at most `limit` bytes. */
export async function readCapped(file: string, limit: number): Promise<CappedRead> {
  const read = await readCappedBytes(file, limit);
  return read.kind === 'bytes' ? { kind: 'text', text: read.bytes.toString('utf8') } : read;
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

/**
 * The file's text, or null when it is missing, refused or cannot be read at all: for readers
 * whose answer for an odd file is "none" (a catalog, a status, a page's extras).
 */
export async function readTextOrNull(file: string, limit: number): Promise<string | null> {
  const read = await readCapped(file, limit).catch(() => null);
  return read?.kind === 'text' ? read.text : null;
}

/** The file parsed as JSON, or null when readTextOrNull has no text or it is not JSON. */
export async function readJsonOrNull(file: string, limit: number): Promise<unknown> {
  const text = await readTextOrNull(file, limit);
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
