/**
 * What the worker itself knows about a run, kept in its directory (`run.json`, never served):
 * which commit it tests and from where (a published snapshot or a pull request's), and which
 * notebooks discovery found. Activities later in the run compute the snapshot root and the
 * commit status from this record, never from what a workflow hands them (issue 21): a forged
 * workflow cannot point a kernel at `/` or turn a run that ran nothing into a `success`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { removeTree } from '../files.js';
import { pinDir, snapshotPath } from '../sync/snapshot.js';
import { checkCommit, FULL_SHA, realInside, untrusted } from '../untrusted.js';
import { RUN_RECORD_FILE, isObject } from '../../domain/runs/run-dir.js';

export interface RunRecord {
  commit: string;
  /** `snapshot`: snapshots/<commit>; `pr`: .pr-snapshots/<runId>/snapshots/<commit>. */
  source: 'snapshot' | 'pr';
  /** A pull request's changed paths, as the worker computed them. */
  prPaths?: string[];
  /** The notebooks discovery found, in order (absent until discovery ran with the run ID). */
  discovered?: string[];
  /** Selection by change (merge and pull-request runs): why each discovered notebook was selected. */
  selection?: Record<string, string[]>;
}

/** Where pull requests' heads are exported (0700), one folder per run. */
export const prSnapshotsDir = (cacheDir: string) => path.join(cacheDir, '.pr-snapshots');

const recordFile = (resultsDir: string, runId: string) => path.join(resultsDir, runId, RUN_RECORD_FILE);

/** Writes the record (a link planted in its place is replaced, never followed). */
export async function writeRunRecord(resultsDir: string, runId: string, record: RunRecord): Promise<void> {
  const file = recordFile(resultsDir, runId);
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await removeTree(tmp);
  await fs.writeFile(tmp, JSON.stringify(record), { flag: 'wx' });
  await fs.rename(tmp, file);
}

/** The record, or null when the run has none (started before records existed, or forged). */
export async function readRunRecord(resultsDir: string, runId: string): Promise<RunRecord | null> {
  const text = await fs.readFile(recordFile(resultsDir, runId), 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    const raw: unknown = JSON.parse(text);
    if (!isObject(raw) || typeof raw.commit !== 'string' || !FULL_SHA.test(raw.commit)) return null;
    if (raw.source !== 'snapshot' && raw.source !== 'pr') return null;
    const list = (v: unknown) => (Array.isArray(v) && v.every((p) => typeof p === 'string') ? v : undefined);
    return {
      commit: raw.commit,
      source: raw.source,
      ...(list(raw.prPaths) ? { prPaths: list(raw.prPaths) } : {}),
      ...(list(raw.discovered) ? { discovered: list(raw.discovered) } : {}),
      ...(isObject(raw.selection) && Object.values(raw.selection).every((v) => list(v))
        ? { selection: raw.selection as Record<string, string[]> }
        : {}),
    };
  } catch {
    return null;
  }
}

export const removeRunRecord = (resultsDir: string, runId: string) =>
  fs.rm(recordFile(resultsDir, runId), { force: true });

/**
 * The snapshot root of run `runId`, computed here: from its record, or (a run started before
 * records existed) from the `claimed` root, accepted only as `snapshots/<sha>` pinned by this
 * run or `.pr-snapshots/<runId>/snapshots/<sha>`. Either way a real directory whose real path
 * is under `snapshots/` or this run's `.pr-snapshots/` folder, else refused (field `root`).
 */
export async function snapshotRootOf(
  dirs: { cacheDir: string; resultsDir: string },
  runId: string,
  claimed?: unknown,
): Promise<{ root: string; commit: string }> {
  const record = await readRunRecord(dirs.resultsDir, runId);
  const prDir = path.join(prSnapshotsDir(dirs.cacheDir), runId);
  let commit: string;
  let pr: boolean;
  if (record) {
    ({ commit } = record);
    pr = record.source === 'pr';
  } else {
    const rel = typeof claimed === 'string' ? path.relative(dirs.cacheDir, path.resolve(claimed)).split(path.sep) : [];
    const sha = rel.at(-1) ?? '';
    const published = rel.length === 2 && rel[0] === 'snapshots';
    pr = rel.length === 4 && rel[0] === '.pr-snapshots' && rel[1] === runId && rel[2] === 'snapshots';
    if ((!published && !pr) || !FULL_SHA.test(sha)) {
      throw untrusted('root', `${JSON.stringify(claimed)} is not a snapshot of run ${runId}`);
    }
    commit = sha;
    if (published && !(await fs.lstat(path.join(pinDir(dirs.cacheDir, sha), runId)).catch(() => null))) {
      throw untrusted('root', `commit ${sha} is not pinned by run ${runId}`);
    }
  }
  const root = pr ? snapshotPath(prDir, commit) : snapshotPath(dirs.cacheDir, commit);
  const st = await fs.lstat(root).catch(() => null);
  const base = pr ? prDir : path.join(dirs.cacheDir, 'snapshots');
  if (!st?.isDirectory() || !(await realInside(base, root))) {
    throw untrusted('root', `the snapshot of run ${runId} (${commit}) is not a real directory under ${base}`);
  }
  return { root, commit: checkCommit(commit) };
}
