/**
 * Reading the repository's `.nblcignore`, which a pull request's author (or anyone who commits)
 * controls: only a regular file at the snapshot's top of at most {@link IGNORE_FILE_LIMIT} bytes.
 * A link (to /dev/kmsg it would block a libuv thread forever, to /dev/zero cost hundreds of MB),
 * a FIFO, a device or a larger file is ignored, with a warning that the run's report shows.
 */
import path from 'node:path';
import { readCapped } from '../../platform/capped-read.js';

export const IGNORE_FILE = '.nblcignore';
export const IGNORE_FILE_LIMIT = 64 * 1024;

/** The file's text ('' when there is none) and, when it was not read, why. */
export interface IgnoreFile {
  text: string;
  warning?: string;
}

/** The one way discovery reads the file. */
export async function readIgnoreFile(root: string): Promise<IgnoreFile> {
  const read = await readCapped(path.join(root, IGNORE_FILE), IGNORE_FILE_LIMIT);
  if (read.kind === 'text') return { text: read.text };
  if (read.kind === 'missing') return { text: '' };
  return {
    text: '',
    warning: `${IGNORE_FILE} was ignored (${read.why}): only a regular file of at most ${IGNORE_FILE_LIMIT / 1024} KiB at the repository's top is read, so every notebook was discovered`,
  };
}
