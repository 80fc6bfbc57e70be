/**
 * Opens a file of a run's report for the HTTP API, which serves it to browsers (also through
 * signed links): only a regular file whose real path is inside the run's real directory.
 *
 * What a run's directory holds is partly written by the notebooks under test (executed/…), so it
 * is untrusted: a symlink planted there must not turn the API into a reader of every file its
 * process can read (its own secrets under /run/secrets among them). Hence:
 * - the run directory itself must be a directory, not a link (lstat);
 * - the file's parent directory, resolved (realpath), must lie inside the run directory;
 * - the file is opened with O_NOFOLLOW (a link as the last component fails with ELOOP) and
 *   O_NONBLOCK (opening a FIFO for reading would otherwise wait for a writer forever);
 * - what was opened must be a regular file (fstat), and, where /proc tells, the path the kernel
 *   actually opened must be inside the run directory (closes the window between realpath and open,
 *   in which a directory on the way could be swapped for a link).
 * - only `report.*`/`junit.xml`, `environment.json` and `executed/**` are served (layout.ts);
 * Everything that does not pass is "not found", so the API answers 404 and tells nothing more.
 *
 * Outside src/api on purpose: the API touches no files itself (lint rule); this is the one
 * read-only door it has, and it is small enough to check.
 */
import { getMimeType } from 'hono/utils/mime';
import { constants } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { isRunDirName, isServedRunFile } from '../../domain/runs/run-dir.js';

export interface ReportFile {
  size: number;
  modified: Date;
  contentType: string;
  /** The content; reading it to the end (or cancelling it) closes the file. */
  body(): ReadableStream<Uint8Array>;
  /** Closes the file without reading it (HEAD). */
  close(): Promise<void>;
}

const MAX_DEPTH = 64;
const MAX_SEGMENT_BYTES = 255; // NAME_MAX

/** Errors that mean "there is no such regular file here" (or none we may serve). */
const NOT_SERVED = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'EISDIR', 'ENAMETOOLONG', 'EACCES', 'EPERM', 'ENXIO']);

/** One decoded path segment that names an entry of its directory (no separators, no dot names). */
function isPlainSegment(s: string): boolean {
  return s !== '' && s !== '.' && s !== '..' && !/[/\0]/.test(s) && Buffer.byteLength(s, 'utf8') <= MAX_SEGMENT_BYTES;
}

const inside = (dir: string, p: string) => p === dir || p.startsWith(dir + path.sep);

/**
 * The file `segments` (decoded path segments, e.g. ['executed', 'Intro', 'C++ basics.ipynb'])
 * of run `runId` under `resultsDir`, opened; null when there is none that may be served.
 */
export async function openReportFile(
  resultsDir: string,
  runId: string,
  segments: readonly string[],
): Promise<ReportFile | null> {
  if (!isRunDirName(runId) || segments.length === 0 || segments.length > MAX_DEPTH) return null;
  // Only the report, the environment and the executed notebooks: never the results, the
  // executors' logs or the worker's record beside them.
  if (!isServedRunFile(segments)) return null;
  if (!segments.every(isPlainSegment)) return null;
  let handle: FileHandle | undefined;
  try {
    const runDir = path.join(await fs.realpath(resultsDir), runId);
    if (!(await fs.lstat(runDir)).isDirectory()) return null;
    const parent = await fs.realpath(path.join(runDir, ...segments.slice(0, -1)));
    if (!inside(runDir, parent)) return null;
    const file = path.join(parent, segments.at(-1)!);
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const stat = await handle.stat();
    if (!stat.isFile() || !(await openedInside(handle, runDir))) {
      await handle.close();
      return null;
    }
    const opened = handle;
    return {
      size: stat.size,
      modified: stat.mtime,
      contentType: getMimeType(file) ?? 'application/octet-stream',
      body: () => Readable.toWeb(opened.createReadStream()) as ReadableStream<Uint8Array>,
      close: () => opened.close(),
    };
  } catch (err) {
    await handle?.close().catch(() => undefined);
    if (NOT_SERVED.has((err as NodeJS.ErrnoException).code ?? '')) return null;
    throw err;
  }
}

/** Whether the kernel's path of the open file is inside `dir`; true where /proc does not tell. */
async function openedInside(handle: FileHandle, dir: string): Promise<boolean> {
  const opened = await fs.readlink(`/proc/self/fd/${handle.fd}`).catch(() => null);
  return opened === null || inside(dir, opened);
}
