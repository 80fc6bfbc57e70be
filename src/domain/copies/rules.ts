/**
 * The update rules of a user's copy, as one pure function. Three inputs:
 *
 *   base      what the copy's manifest says was delivered (path → content id)
 *   local     what is in the copy now (every entry; content ids for the paths that matter)
 *   upstream  the new snapshot (path → content id)
 *
 * and one output: the actions to take, the outcome of every managed file, and the next manifest.
 * Never destructive: a file is overwritten or removed only when its content is exactly what was
 * delivered; anything else the user made stays where it is, byte for byte.
 */
import type { FileReport } from './model.js';

/** `sha256:<hex>` for a regular file, `symlink:<target>` for a symbolic link. */
export type ContentId = string;

export type LocalEntry = { kind: 'file'; id?: ContentId } | { kind: 'dir' } | { kind: 'other' };

export interface PlanInput {
  base: ReadonlyMap<string, ContentId>;
  upstream: ReadonlyMap<string, ContentId>;
  /** Every entry of the copy, relative paths with `/` (the manifest itself excluded). */
  local: ReadonlyMap<string, LocalEntry>;
  /** Short commit of upstream: names the upstream version written beside a conflicting file. */
  tag: string;
}

export type Action =
  | { op: 'remove'; path: string; expect: ContentId }
  | { op: 'rmdir'; path: string }
  /**
   * Write upstream's `entry` at `path` (the entry itself, or the name beside it). `expect` is
   * the content being replaced; null means the path must not exist.
   */
  | { op: 'write'; path: string; entry: string; id: ContentId; expect: ContentId | null };

export interface Plan {
  /** Removals first, then emptied folders (deepest first), then writes. */
  actions: Action[];
  /** One entry per managed path (in base or upstream), sorted by path. */
  report: FileReport[];
  manifest: Map<string, ContentId>;
}

/** Anything at a managed path that is not a file or link (a folder, a fifo): never equal to content. */
const NOT_CONTENT = '\0not-content';

/** Longest file name, in bytes, most filesystems take (NAME_MAX). */
export const NAME_MAX = 255;
/** An extension longer than this is taken for part of the name when shortening. */
const MAX_EXT = 32;

const utf8Bytes = (cp: number) => (cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4);
const byteLength = (s: string) => [...s].reduce((n, ch) => n + utf8Bytes(ch.codePointAt(0)!), 0);

/** The longest start of `s`, in whole characters, of at most `max` UTF-8 bytes. */
function cut(s: string, max: number): string {
  let out = '';
  let used = 0;
  for (const ch of s) {
    used += utf8Bytes(ch.codePointAt(0)!);
    if (used > max) break;
    out += ch;
  }
  return out;
}

/** FNV-1a of the UTF-16 code units, 8 hex digits: tells apart long names that start alike. */
function shortHash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/**
 * Where upstream's version of a conflicting file goes: `<stem>.upstream-<tag>[-n]<ext>` beside
 * it. When that is longer than a file name may be, the stem is cut short (whole characters) and
 * a hash of the whole name keeps it apart from other long names that start the same way.
 */
export function besideName(p: string, tag: string, n = 1): string {
  const slash = p.lastIndexOf('/');
  const dir = p.slice(0, slash + 1);
  const name = p.slice(slash + 1);
  const dot = name.lastIndexOf('.');
  let [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  const mark = `.upstream-${tag}${n > 1 ? `-${n}` : ''}`;
  if (byteLength(stem) + byteLength(mark) + byteLength(ext) <= NAME_MAX) return `${dir}${stem}${mark}${ext}`;
  if (byteLength(ext) > MAX_EXT) [stem, ext] = [name, ''];
  const tail = `~${shortHash(name)}${mark}${ext}`;
  return `${dir}${cut(stem, NAME_MAX - byteLength(tail))}${tail}`;
}

const parentOf = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');

function ancestors(p: string): string[] {
  const parts = p.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

export function planUpdate({ base, upstream, local, tag }: PlanInput): Plan {
  const managed = [...new Set([...base.keys(), ...upstream.keys()])].sort();
  const isManaged = new Set(managed);

  const contentAt = (p: string): ContentId | undefined => {
    const e = local.get(p);
    if (!e) return undefined;
    if (e.kind !== 'file') return NOT_CONTENT;
    if (!e.id) throw new Error(`planUpdate: no content id for ${p}`);
    return e.id;
  };

  // 1. Files removed upstream that the user did not change are removed.
  const removed = new Set(managed.filter((p) => !upstream.has(p) && contentAt(p) === base.get(p) && local.has(p)));

  // 2. So are the folders those removals leave empty, unless upstream still has files in them.
  const emptied = emptiedFolders(local, removed, upstream);
  const present = (p: string) => local.has(p) && !removed.has(p) && !emptied.has(p);
  const obstructed = (p: string) => ancestors(p).some((a) => present(a) && local.get(a)!.kind !== 'dir');

  const actions: Action[] = [
    ...[...removed].map((p): Action => ({ op: 'remove', path: p, expect: base.get(p)! })),
    ...[...emptied]
      .sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? -1 : 1))
      .map((p): Action => ({ op: 'rmdir', path: p })),
  ];
  const report: FileReport[] = [];
  const manifest = new Map<string, ContentId>();
  const besides = new Set<string>();

  // 3. Every managed file, by the rules of the README's "User copies" section.
  for (const p of managed) {
    const b = base.get(p);
    const u = upstream.get(p);
    const l = present(p) ? contentAt(p) : undefined;

    if (u === undefined) {
      // Removed upstream: gone if the user had not changed it, kept (and no longer managed) if they had.
      report.push({ path: p, outcome: l === undefined ? 'removed' : 'kept-removed-upstream' });
      continue;
    }
    if (obstructed(p)) {
      report.push({ path: p, outcome: 'obstructed', reason: 'a folder on the way is a file or link in the copy' });
      if (b !== undefined) manifest.set(p, b);
      continue;
    }
    manifest.set(p, u);
    if (l === u) {
      report.push({ path: p, outcome: 'unchanged' });
    } else if (l === undefined) {
      actions.push({ op: 'write', path: p, entry: p, id: u, expect: null });
      report.push({ path: p, outcome: b === undefined ? 'added' : 'restored' });
    } else if (l === b) {
      actions.push({ op: 'write', path: p, entry: p, id: u, expect: b });
      report.push({ path: p, outcome: 'updated' });
    } else if (u === b) {
      report.push({ path: p, outcome: 'kept' });
    } else {
      // Both changed it: the user's version stays, upstream's goes beside it (reused on a rerun).
      let n = 1;
      let beside = besideName(p, tag, n);
      const taken = (q: string) =>
        isManaged.has(q) || besides.has(q) || (present(q) && contentAt(q) !== u) || obstructed(q);
      while (taken(beside)) beside = besideName(p, tag, ++n);
      besides.add(beside);
      if (!present(beside)) actions.push({ op: 'write', path: beside, entry: p, id: u, expect: null });
      report.push({ path: p, outcome: 'conflict', upstreamCopy: beside });
    }
  }
  return { actions, report, manifest };
}

/**
 * Folders of the copy that hold nothing once `removed` is gone (and held at least one of those
 * files), and that no upstream file needs.
 */
function emptiedFolders(
  local: ReadonlyMap<string, LocalEntry>,
  removed: ReadonlySet<string>,
  upstream: ReadonlyMap<string, ContentId>,
): Set<string> {
  if (removed.size === 0) return new Set();
  const children = new Map<string, string[]>();
  for (const p of local.keys()) {
    const parent = parentOf(p);
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent)!.push(p);
  }
  const needed = new Set([...upstream.keys()].flatMap(ancestors));
  const candidates = new Set([...removed].flatMap(ancestors).filter((d) => !needed.has(d)));
  const emptied = new Set<string>();
  // Deepest first, so a folder sees whether its subfolders were emptied.
  for (const d of [...candidates].sort((a, b) => b.split('/').length - a.split('/').length)) {
    if (local.get(d)?.kind !== 'dir') continue;
    const kids = children.get(d) ?? [];
    if (kids.length > 0 && kids.every((k) => removed.has(k) || emptied.has(k))) emptied.add(d);
  }
  return emptied;
}
