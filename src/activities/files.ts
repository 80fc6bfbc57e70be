/** Small filesystem and concurrency helpers shared by the activities. */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Temp file (unique per call, so concurrent attempts never collide) + fsync + rename: readers
 * see the old file or the new one, never half of one. Creates the parent directory.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    const fh = await fs.open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
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
    const unlock = async (d: string): Promise<void> => {
      await fs.chmod(d, 0o700).catch(() => undefined);
      for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
        if (e.isDirectory()) await unlock(path.join(d, e.name));
      }
    };
    await unlock(p);
    await fs.rm(p, { recursive: true, force: true });
  }
}
