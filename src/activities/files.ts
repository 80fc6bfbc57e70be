/** Small filesystem and concurrency helpers shared by the activities. */
import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/*
 * File names are bytes: git stores them so, and a repository may hold names that are not valid
 * UTF-8 (b'caf\xe9.txt'). Node decodes string paths as UTF-8, so such a name read as a string
 * does not lead back to its file. Walks that must reach every entry read names as bytes.
 */

const SLASH = Buffer.from('/');

/** `dir/name` as bytes. */
export const joinBytes = (dir: Buffer, name: Buffer) => Buffer.concat([dir, SLASH, name]);

/** The entries of `dir`, names as bytes. */
export const readdirBytes = (dir: Buffer | string) => fs.readdir(dir, { encoding: 'buffer', withFileTypes: true });

/**
 * A name for reports and logs: itself when it is UTF-8, else with each byte that is not part of
 * a valid UTF-8 sequence written `\xHH` (so b'caf\xe9.txt' reads `caf\xE9.txt`).
 */
export function printableName(name: Buffer): string {
  if (isUtf8(name)) return name.toString('utf8');
  let out = '';
  for (let i = 0; i < name.length;) {
    const b = name[i]!;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    const seq = len ? name.subarray(i, i + len) : null;
    if (seq && seq.length === len && isUtf8(seq)) {
      out += seq.toString('utf8');
      i += len;
    } else {
      out += `\\x${b.toString(16).toUpperCase().padStart(2, '0')}`;
      i += 1;
    }
  }
  return out;
}

/**
 * Temp file (unique per call, so concurrent attempts never collide) + fsync + rename: readers
 * see the old file or the new one, never half of one. Creates the parent directory.
 * `beforeRename`: a last check (a writer that derived `text` from the file sees whether another
 * writer replaced it meanwhile); when it throws, nothing is replaced.
 */
export async function writeFileAtomic(
  file: string,
  text: string,
  mode?: number,
  beforeRename?: () => Promise<void>,
): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    const fh = await fs.open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(text, 'utf8');
      if (mode !== undefined) await fh.chmod(mode); // the umask may have taken bits away
      await fh.sync();
    } finally {
      await fh.close();
    }
    await beforeRename?.();
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/** `fn` over `items`, at most `limit` at a time; results in the order of `items`. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Removes a tree, also one whose folders are read-only (published snapshots): plain `rm` first,
 * and only if that is refused, make every folder writable and remove again. A missing tree is fine.
 */
export async function removeTree(p: string): Promise<void> {
  try {
    await fs.rm(p, { recursive: true, force: true });
  } catch {
    // Names as bytes: a folder whose name is not UTF-8 must be unlocked too.
    const unlock = async (d: Buffer): Promise<void> => {
      await fs.chmod(d, 0o700).catch(() => undefined);
      for (const e of await readdirBytes(d).catch(() => [])) {
        if (e.isDirectory()) await unlock(joinBytes(d, e.name));
      }
    };
    await unlock(Buffer.from(p));
    await fs.rm(p, { recursive: true, force: true });
  }
}
