/**
 * Manifests of the users' copies.
 *
 * - The snapshot manifest lists what a published snapshot holds: every folder, every file with
 *   its sha256 and exec bit, every symlink that stays inside the snapshot, and what is skipped
 *   (links leading out of it). Snapshots are immutable, so it is computed once per commit and
 *   cached under `$NBLC_DATA_DIR/copy-manifests/<sha>.json`; copies then cost no hashing.
 * - The copy manifest (`.nblc-manifest.json` inside each copy) records the commit the copy
 *   corresponds to and the content id of every file as delivered: the base of the three-way
 *   update. It is validated on read; a missing or damaged one means "nothing known to be
 *   delivered", which makes the update rules keep every differing file.
 */
import { isUtf8 } from 'node:buffer';
import { constants as fsc } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { COPY_MANIFEST, COPY_MODES, type FileReport } from '../../domain/copies/model.js';
import { checkCancelled, sha256File, type Owner } from './fs.js';
import { mapLimit, printableName, readdirBytes, writeFileAtomic } from '../files.js';
import type { ContentId } from '../../domain/copies/rules.js';

export interface SnapshotEntry {
  path: string;
  id: ContentId;
  exec?: boolean;
}

export interface SnapshotManifest {
  commit: string;
  dirs: string[];
  entries: SnapshotEntry[];
  skipped: FileReport[];
}

const HASH_CONCURRENCY = 8;

const NOT_UTF8 = (dir: boolean) =>
  `its name is not valid UTF-8, so nblc cannot copy it${dir ? ' (nor anything in it)' : ''}: rename it upstream to get it in copies`;

export const manifestCacheDir = (dataDir: string) => path.join(dataDir, 'copy-manifests');
const manifestFile = (dataDir: string, commit: string) => path.join(manifestCacheDir(dataDir), `${commit}.json`);

/** The cached manifest of a commit's snapshot, or null (none yet, or damaged: then removed). */
export async function cachedManifest(dataDir: string, commit: string): Promise<SnapshotManifest | null> {
  const cached = manifestFile(dataDir, commit);
  try {
    return JSON.parse(await fs.readFile(cached, 'utf8')) as SnapshotManifest;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') await fs.rm(cached, { force: true }); // damaged: recompute
    return null;
  }
}

/**
 * The manifest of `snapshots/<sha>`, from the cache or computed (and cached) now. With `previous`
 * (another snapshot and its manifest), a file that is the same inode there (publishing hard-links
 * what a commit did not change, and snapshot files are never written in place) keeps its hash:
 * only what changed is read.
 */
export async function snapshotManifest(opts: {
  dataDir: string;
  snapshotRoot: string;
  commit: string;
  previous?: { root: string; manifest: SnapshotManifest };
  signal?: AbortSignal;
  onProgress?: (done: number) => void;
}): Promise<SnapshotManifest> {
  const known = await cachedManifest(opts.dataDir, opts.commit);
  if (known) return known;
  const manifest = await scanSnapshot(opts.snapshotRoot, opts.commit, opts.signal, opts.onProgress, opts.previous);
  await writeFileAtomic(manifestFile(opts.dataDir, opts.commit), JSON.stringify(manifest));
  return manifest;
}

/** Drops cached manifests of snapshots that are gone (pruned by the sync). */
export async function pruneManifestCache(dataDir: string, snapshotsDir: string): Promise<void> {
  const live = new Set(await fs.readdir(snapshotsDir).catch(() => [] as string[]));
  const dir = manifestCacheDir(dataDir);
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const sha = name.split('.')[0]!;
    if (!live.has(sha)) await fs.rm(path.join(dir, name), { force: true });
  }
}

async function scanSnapshot(
  root: string,
  commit: string,
  signal?: AbortSignal,
  onProgress?: (done: number) => void,
  previous?: { root: string; manifest: SnapshotManifest },
): Promise<SnapshotManifest> {
  const realRoot = await fs.realpath(root);
  const dirs: string[] = [];
  const files: Array<{ rel: string; size: number; exec: boolean; dev: number; ino: number }> = [];
  const entries: SnapshotEntry[] = [];
  const skipped: FileReport[] = [];

  // Names are read as bytes: one that is not UTF-8 cannot be named in a manifest, a report or the
  // rules' paths (all strings), so it is skipped and reported; the rest of the snapshot is copied.
  const walk = async (rel: string): Promise<void> => {
    const entriesHere = await readdirBytes(path.join(root, rel));
    for (const e of entriesHere.sort((a, b) => Buffer.compare(a.name, b.name))) {
      const name = printableName(e.name);
      const r = rel ? `${rel}/${name}` : name;
      const abs = path.join(root, r);
      if (!isUtf8(e.name)) {
        skipped.push({ path: r, outcome: 'skipped', reason: NOT_UTF8(e.isDirectory()) });
      } else if (r === COPY_MANIFEST) {
        skipped.push({ path: r, outcome: 'skipped', reason: `${COPY_MANIFEST} is reserved for nblc's manifest` });
      } else if (e.isDirectory()) {
        dirs.push(r);
        await walk(r);
      } else if (e.isFile()) {
        const st = await fs.lstat(abs);
        files.push({ rel: r, size: st.size, exec: (st.mode & 0o111) !== 0, dev: st.dev, ino: st.ino });
      } else if (e.isSymbolicLink()) {
        const target = await fs.readlink(abs, { encoding: 'buffer' });
        const reason = isUtf8(target)
          ? await linkProblem(realRoot, r, target.toString('utf8'))
          : `symlink to a name that is not valid UTF-8 (${printableName(target)}) is not copied`;
        if (reason) skipped.push({ path: r, outcome: 'skipped', reason });
        else entries.push({ path: r, id: `symlink:${target.toString('utf8')}` });
      } else {
        skipped.push({ path: r, outcome: 'skipped', reason: 'not a file, folder or symlink' });
      }
    }
  };
  await walk('');

  let done = 0;
  const hashed = new Map<string, string>();
  const before = new Map(previous?.manifest.entries.map((e) => [e.path, e.id]));
  /** The previous manifest's hash of the same file (inode) at the same path. */
  const reuse = async (f: (typeof files)[number]) => {
    const id = before.get(f.rel);
    if (!previous || !id?.startsWith('sha256:')) return null;
    const st = await fs.lstat(path.join(previous.root, f.rel)).catch(() => null);
    return st && st.ino === f.ino && st.dev === f.dev ? id.slice('sha256:'.length) : null;
  };
  await mapLimit(files, HASH_CONCURRENCY, async (f) => {
    checkCancelled(signal);
    hashed.set(f.rel, (await reuse(f)) ?? (await sha256File(path.join(root, f.rel), f.size)));
    onProgress?.(++done);
  });
  for (const f of files)
    entries.push({ path: f.rel, id: `sha256:${hashed.get(f.rel)}`, ...(f.exec ? { exec: true } : {}) });
  entries.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { commit, dirs, entries, skipped };
}

/** Why a symlink of the snapshot may not be copied (it leads out of the snapshot), or null. */
async function linkProblem(realRoot: string, rel: string, target: string): Promise<string | null> {
  if (path.isAbsolute(target)) return `symlink to an absolute path (${target}) is not copied`;
  const lexical = path.posix.normalize(path.posix.join(path.posix.dirname(rel), target));
  if (lexical === '..' || lexical.startsWith('../'))
    return `symlink leading outside the snapshot (${target}) is not copied`;
  // Chains of links: where it finally resolves must be inside too (a dangling link is harmless).
  const resolved = await fs.realpath(path.join(realRoot, rel)).catch(() => null);
  if (resolved && resolved !== realRoot && !resolved.startsWith(realRoot + path.sep)) {
    return `symlink resolving outside the snapshot (${target}) is not copied`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// The manifest inside a copy.

/** One file's line of a copy report, as a manifest or the owner's child process carries it. */
export const fileReportSchema = z.object({
  path: z.string(),
  outcome: z.string(),
  upstreamCopy: z.string().optional(),
  reason: z.string().optional(),
});

const copyManifestSchema = z.object({
  format: z.literal('nblc-copy/1'),
  commit: z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/),
  mode: z.enum(COPY_MODES),
  requestId: z.string(),
  at: z.string(),
  files: z.record(z.string(), z.string()),
  /** The report of the operation that wrote this manifest: a retried request returns it. */
  report: z.array(fileReportSchema),
});
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

export type CopyManifest = Omit<z.infer<typeof copyManifestSchema>, 'report'> & { report: FileReport[] };

/**
 * The copy's manifest, or null when it is missing, damaged, or not a regular file. Opened before
 * it is checked (no link followed, a FIFO does not block), so what is checked is what is read.
 * `owner`: read as root on the owner's behalf, only a file that belongs to them counts: a copy
 * swapped for a link meanwhile cannot make root read someone else's manifest.
 */
export async function readCopyManifest(copyRoot: string, owner: Owner | null = null): Promise<CopyManifest | null> {
  let text: string;
  try {
    const fh = await fs.open(path.join(copyRoot, COPY_MANIFEST), fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
    try {
      const st = await fh.stat();
      if (!st.isFile() || st.size > MAX_MANIFEST_BYTES || (owner && st.uid !== owner.uid)) return null;
      // Exactly the size checked: readFile would stat again and follow a file grown meanwhile.
      const buf = Buffer.alloc(st.size);
      let got = 0;
      while (got < buf.length) {
        const { bytesRead } = await fh.read(buf, got, buf.length - got, got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      text = buf.subarray(0, got).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return null;
  }
  try {
    const parsed = copyManifestSchema.safeParse(JSON.parse(text));
    return parsed.success ? (parsed.data as CopyManifest) : null;
  } catch {
    return null;
  }
}

export function manifestText(m: CopyManifest): string {
  return `${JSON.stringify(m, null, 1)}\n`;
}
