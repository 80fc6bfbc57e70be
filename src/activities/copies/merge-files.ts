/**
 * The contents behind the rules' `toMerge` (rules.ts): for each notebook both the user and
 * upstream changed, its three versions (the user's, read from the copy without following links;
 * upstream's, from the snapshot; the delivered one, from the private clone through `BaseFiles`)
 * and their cell-level merge (src/domain/copies/notebook-merge.ts). Any version missing,
 * changed meanwhile, too large, or not a notebook makes that file a conflict, as before merges.
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { mergeNotebookTexts } from '../../domain/copies/notebook-merge.js';
import { checkCancelled } from './fs.js';
import { readCappedBytes } from '../../platform/capped-read.js';
import type { ContentId, MergeVerdict } from '../../domain/copies/rules.js';

/** Notebooks larger than this (any of the three versions) are not merged: conflicts, as before. */
export const MAX_MERGE_BYTES = 64 * 1024 * 1024;

/**
 * The delivered version of `files` (upstream's at `commit`), each only if its sha256 is the id
 * asked for: by path; a file it cannot give is missing from the answer.
 */
export type BaseFiles = (commit: string, files: Array<{ path: string; id: ContentId }>) => Promise<Map<string, Buffer>>;

export const sha256Id = (bytes: Buffer): ContentId => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/**
 * Up to `max` bytes of the regular file at `p`, never following a link nor blocking on a FIFO;
 * null if it is not a regular file, is larger, or is gone.
 */
async function readBounded(p: string, max: number): Promise<Buffer | null> {
  const read = await readCappedBytes(p, max).catch(() => null);
  return read?.kind === 'bytes' ? read.bytes : null;
}

export interface MergedFiles {
  verdicts: Map<string, MergeVerdict>;
  /** The merged bytes, by content id. */
  contents: Map<ContentId, Buffer>;
}

/** Merges each of `paths` (as the rules listed them); `ids`: what the rules saw of each version. */
export async function mergeFiles(opts: {
  paths: string[];
  root: string;
  snapshotRoot: string;
  /** The commit the copy was brought to last (its manifest's), and the ids delivered then. */
  baseCommit: string;
  base: ReadonlyMap<string, ContentId>;
  local: (p: string) => ContentId | undefined;
  upstream: ReadonlyMap<string, ContentId>;
  baseFiles?: BaseFiles;
  signal?: AbortSignal;
}): Promise<MergedFiles> {
  const verdicts = new Map<string, MergeVerdict>();
  const contents = new Map<ContentId, Buffer>();
  const conflict = (p: string, why: string) => verdicts.set(p, { conflict: why });
  const asked = opts.paths.map((p) => ({ path: p, id: opts.base.get(p)! }));
  const bases =
    opts.baseFiles && asked.length ? await opts.baseFiles(opts.baseCommit, asked) : new Map<string, Buffer>();
  for (const p of opts.paths) {
    checkCancelled(opts.signal);
    const base = bases.get(p);
    if (!base) {
      conflict(p, `the version delivered at ${opts.baseCommit.slice(0, 7)} is not available to merge with`);
      continue;
    }
    const local = await readBounded(path.join(opts.root, p), MAX_MERGE_BYTES);
    if (!local || sha256Id(local) !== opts.local(p)) {
      conflict(p, 'too large to merge, or changed during the update');
      continue;
    }
    const upstream = await readBounded(path.join(opts.snapshotRoot, p), MAX_MERGE_BYTES);
    if (!upstream || sha256Id(upstream) !== opts.upstream.get(p)) {
      conflict(p, 'upstream is too large to merge');
      continue;
    }
    if (![base, local, upstream].every((b) => isUtf8(b))) {
      conflict(p, 'not UTF-8 text, so not a notebook nblc can merge');
      continue;
    }
    const text = (b: Buffer) => b.toString('utf8');
    const merged = mergeNotebookTexts(text(base), text(local), text(upstream));
    if (!merged.ok) {
      conflict(p, merged.reason);
      continue;
    }
    const bytes = Buffer.from(merged.text, 'utf8');
    const id = sha256Id(bytes);
    contents.set(id, bytes);
    verdicts.set(p, { id, cells: merged.cells });
  }
  return { verdicts, contents };
}
