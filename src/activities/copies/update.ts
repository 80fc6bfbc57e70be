/**
 * `update` of a copy in place: scan the copy, plan with the pure rules (copy-rules.ts), apply.
 *
 * Applying is rerunnable after a crash at any point: files are staged in the private staging
 * area and linked (no-clobber) or renamed (replace) into place, each replaced or removed file is
 * checked again right before, and the manifest moves to the new commit last. A rerun plans from
 * the old manifest against what is on disk and converges to the same copy.
 */
import { isUtf8 } from 'node:buffer';
import fs from 'node:fs/promises';
import path from 'node:path';
import { COPY_FAILURES, COPY_MANIFEST, type FileReport } from '../../domain/copies/model.js';
import { NOT_CONTENT, checkCancelled, chownTo, contentId, fail, lstatOrNull, safeParent, type Owner } from './fs.js';
import { manifestText, type CopyManifest, type SnapshotEntry, type SnapshotManifest } from './manifest.js';
import { planUpdate, type Action, type ContentId, type LocalEntry, type Plan } from '../../domain/copies/rules.js';
import { writeEntry } from './tree.js';
import { printableName, readdirBytes } from '../files.js';

/** Scan, plan, apply, then move the manifest to `commit`; returns the report of every file. */
export async function updateInPlace(opts: {
  root: string;
  old: CopyManifest | null;
  commit: string;
  snapshotRoot: string;
  snapshot: SnapshotManifest;
  staging: string;
  owner: Owner | null;
  requestId: string;
  signal?: AbortSignal;
  onProgress?: (p: Record<string, unknown>) => void;
  /** Tests: see UpdateHooks (update-job.ts). */
  checkpoint?: (step: string) => Promise<void>;
}): Promise<FileReport[]> {
  const { root, snapshot } = opts;
  const tag = opts.commit.slice(0, 7);
  const base = new Map(Object.entries(opts.old?.files ?? {}));
  const upstream = new Map(snapshot.entries.map((e) => [e.path, e.id]));
  opts.onProgress?.({ step: 'scan copy' });
  const local = await scanCopy(root, new Set([...base.keys(), ...upstream.keys()]), tag, opts.signal);
  const plan = planUpdate({ base, upstream, local, tag });
  const total = plan.actions.length;
  const applied = await applyPlan(plan, base, {
    root,
    snapshotRoot: opts.snapshotRoot,
    entries: new Map(snapshot.entries.map((e) => [e.path, e])),
    staging: opts.staging,
    owner: opts.owner,
    signal: opts.signal,
    onProgress: (done) => opts.onProgress?.({ step: 'apply', done, total }),
    checkpoint: opts.checkpoint,
  });
  const reported = new Set(applied.report.map((r) => r.path));
  const files = [...applied.report, ...snapshot.skipped.filter((s) => !reported.has(s.path))];
  files.sort((a, b) => (a.path < b.path ? -1 : 1));
  const manifest: CopyManifest = {
    format: 'nblc-copy/1',
    commit: opts.commit,
    mode: 'update',
    requestId: opts.requestId,
    at: new Date().toISOString(),
    files: Object.fromEntries(applied.manifest),
    report: files,
  };
  await opts.checkpoint?.('manifest');
  await writeCopyManifest(root, manifest, opts.staging, opts.owner);
  return files;
}

/**
 * Every entry of the copy (never following links), with content ids for the paths the rules
 * look at: managed ones, and names beside them that carry `tag`.
 */
export async function scanCopy(
  root: string,
  managed: ReadonlySet<string>,
  tag: string,
  signal?: AbortSignal,
): Promise<Map<string, LocalEntry>> {
  const local = new Map<string, LocalEntry>();
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdirBytes(path.join(root, rel))) {
      checkCancelled(signal);
      if (!isUtf8(e.name)) {
        // Never a managed path (those are UTF-8): listed only so its folder is not seen as empty,
        // under a key with a NUL, which no real path has, so it cannot stand for a managed one.
        local.set(`${rel ? `${rel}/` : ''}\0${printableName(e.name)}`, { kind: 'other' });
        continue;
      }
      const name = e.name.toString('utf8');
      const r = rel ? `${rel}/${name}` : name;
      if (r === COPY_MANIFEST) continue;
      if (e.isDirectory()) {
        local.set(r, { kind: 'dir' });
        await walk(r);
      } else if (e.isFile() || e.isSymbolicLink()) {
        const wanted = managed.has(r) || name.includes(`.upstream-${tag}`);
        if (!wanted) {
          local.set(r, { kind: 'file' });
          continue;
        }
        // Looked at through a handle: it may have become anything since readdir, or gone.
        const id = await contentId(path.join(root, r), e.isSymbolicLink() ? 'symlink' : 'file');
        if (id === null) continue;
        local.set(r, id.startsWith(NOT_CONTENT) ? { kind: 'other' } : { kind: 'file', id });
      } else {
        local.set(r, { kind: 'other' });
      }
    }
  };
  await walk('');
  return local;
}

export interface ApplyContext {
  root: string;
  snapshotRoot: string;
  entries: ReadonlyMap<string, SnapshotEntry>;
  staging: string;
  owner: Owner | null;
  signal?: AbortSignal;
  onProgress?: (done: number) => void;
  checkpoint?: (step: string) => Promise<void>;
}

/**
 * Executes the plan. Returns the report and manifest as they are on disk: an action the user
 * raced with (a file changed or appeared since the scan) is skipped, its entry keeps its old
 * base, and the next update sees it again.
 */
export async function applyPlan(
  plan: Plan,
  base: ReadonlyMap<string, ContentId>,
  ctx: ApplyContext,
): Promise<{ report: FileReport[]; manifest: Map<string, ContentId> }> {
  const report = new Map(plan.report.map((r) => [r.path, { ...r }]));
  const manifest = new Map(plan.manifest);
  const skip = (entry: string, reason: string) => {
    report.set(entry, { path: entry, outcome: 'skipped', reason });
    const b = base.get(entry);
    if (b === undefined) manifest.delete(entry);
    else manifest.set(entry, b);
  };
  let staged = 0;
  let done = 0;
  for (const a of plan.actions) {
    checkCancelled(ctx.signal);
    const problem = await applyOne(a, ctx, () => path.join(ctx.staging, `f${staged++}`)).catch((err) =>
      fileProblem(err, ctx.root),
    );
    if (problem && a.op !== 'rmdir') skip(a.op === 'write' ? a.entry : a.path, problem);
    ctx.onProgress?.(++done);
  }
  return { report: [...report.values()], manifest };
}

const CHANGED = 'changed in the copy during the update; run the update again';

/**
 * Errors about one path of the copy, reported as that file's reason so the rest of the update
 * proceeds: as the owner (as-owner.ts) a folder they made read-only, or one swapped for a link to
 * somewhere they may not write, refuses; a path longer than the filesystem takes (the copy's root
 * is longer than the snapshot's). Anything else, such as a snapshot the owner cannot read while
 * staging, fails the update.
 */
function fileProblem(err: NodeJS.ErrnoException & { dest?: string }, root: string): string {
  const where = err.dest ?? err.path ?? '';
  if (!where.startsWith(root + path.sep)) throw err;
  if (err.code === 'EACCES' || err.code === 'EPERM') return `permission denied (${err.syscall ?? 'write'})`;
  if (err.code === 'ENAMETOOLONG') return 'its path in the copy is too long for the filesystem';
  throw err;
}

async function applyOne(a: Action, ctx: ApplyContext, stagedName: () => string): Promise<string | null> {
  const dest = path.join(ctx.root, a.path);
  if (a.op === 'rmdir') {
    await ctx.checkpoint?.(`rmdir ${a.path}`);
    await fs.rmdir(dest).catch(() => undefined); // something new in it: it stays
    return null;
  }
  const parent = await safeParent(ctx.root, a.path, ctx.owner, a.op === 'write');
  if (!parent.ok) return a.op === 'remove' && parent.missing ? null : parent.reason;
  await ctx.checkpoint?.(`${a.op} ${a.path}`);
  if (a.op === 'remove') {
    const now = await contentId(dest);
    if (now === null) return null; // already gone
    if (now !== a.expect) return CHANGED;
    await fs.unlink(dest);
    return null;
  }
  const entry = ctx.entries.get(a.entry);
  if (!entry || entry.id !== a.id) throw new Error(`snapshot has no ${a.entry} with content ${a.id}`);
  const tmp = stagedName();
  await writeEntry(ctx.snapshotRoot, entry, tmp, ctx.owner);
  try {
    if (a.expect === null) {
      // link(2) never replaces: if the user created something there meanwhile, it stays.
      await fs.link(tmp, dest).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'EEXIST') throw Object.assign(new Error(CHANGED), { skip: true });
        throw err;
      });
    } else {
      if ((await contentId(dest)) !== a.expect) return CHANGED;
      await fs.rename(tmp, dest);
    }
    return null;
  } catch (err) {
    if ((err as { skip?: boolean }).skip) return CHANGED;
    if ((err as NodeJS.ErrnoException).code === 'EXDEV') {
      throw fail(
        COPY_FAILURES.crossDevice,
        `${ctx.root} is on another filesystem than its staging folder ${ctx.staging}`,
      );
    }
    throw err;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/** Replaces the copy's manifest (staged, then renamed: it is the commit point of an update). */
export async function writeCopyManifest(root: string, m: CopyManifest, staging: string, owner: Owner | null) {
  const tmp = path.join(staging, 'manifest.json');
  await fs.writeFile(tmp, manifestText(m), { mode: 0o644 });
  await chownTo(tmp, owner);
  const fh = await fs.open(tmp, 'r+');
  await fh.sync().finally(() => fh.close());
  const dest = path.join(root, COPY_MANIFEST);
  const st = await lstatOrNull(dest);
  if (st && !st.isFile())
    throw fail(COPY_FAILURES.unsafe, `${dest} is not a regular file; move it away and update again`);
  await fs.rename(tmp, dest);
}
