/**
 * Reads `$NBLC_CACHE_DIR/status.json` for the public routes (the API touches no files itself):
 * a regular file only (no link followed, no FIFO waited on), capped, and parsed; null when there
 * is none yet or it is not a status file.
 */
import path from 'node:path';
import { failingUpstream, parsePublicStatus, type PublicStatus } from '../../domain/runs/health.js';
import { readTextOrNull } from '../../platform/capped-read.js';

/** A status.json of ten thousand notebooks is a few megabytes; more is not ours. */
const MAX_STATUS_BYTES = 32 * 2 ** 20;
export const PUBLIC_STATUS_FILE = 'status.json';

/** The file's text and its parse, or null. */
export async function readPublicStatus(cacheDir: string): Promise<{ text: string; status: PublicStatus } | null> {
  const text = await readTextOrNull(path.join(cacheDir, PUBLIC_STATUS_FILE), MAX_STATUS_BYTES);
  const status = text === null ? null : parsePublicStatus(text);
  return status ? { text: text!, status } : null;
}

/**
 * The notebooks among `paths` (a new copy's) that fail upstream now, as status.json says; empty
 * when there is no status yet. What `getlatest` and `nblc copy` tell the user.
 */
export async function failingNow(cacheDir: string, paths: readonly string[]): Promise<string[]> {
  const read = await readPublicStatus(cacheDir).catch(() => null);
  return read ? failingUpstream(read.status, paths) : [];
}
