/**
 * What the dashboard reads from a run's report.json beyond the history database: the run's
 * Temporal UI link and, when the report has them, the environment's changes since the previous
 * run and what changed since each newly failing notebook last passed. Here (runtime) because src/api does not touch files. Reports are immutable once written,
 * so the few the overview shows are parsed once per change of size/mtime.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { asEnvironmentChanges, type EnvironmentChange } from '../../domain/runs/environment.js';
import { isObject, isRunDirName } from '../../domain/runs/run-dir.js';
import { readJsonOrNull, readTextCapped } from '../../platform/capped-read.js';

export interface ReportExtras {
  temporalUiUrl?: string;
  /** The report's package changes since the previous measured run (its valid rows). */
  environmentChanges?: EnvironmentChange[];
  /** What changed since each newly failing notebook last passed (src/domain/runs/environment.ts). */
  newlyFailingChanges?: unknown;
}

/** A report larger than this is not parsed for its extras (a run of many thousands of notebooks). */
const MAX_REPORT_BYTES = 64 * 1024 * 1024;
const CACHE_SIZE = 16;

const cache = new Map<string, { stamp: string; extras: ReportExtras }>();

/** The extras of run `runId`'s report.json; null when it has none or is not readable. */
export async function readReportExtras(resultsDir: string, runId: string): Promise<ReportExtras | null> {
  if (!isRunDirName(runId)) return null;
  const file = path.join(resultsDir, runId, 'report.json');
  try {
    const st = await fs.lstat(file);
    if (!st.isFile() || st.size > MAX_REPORT_BYTES) return null;
    const key = `${resultsDir}\0${runId}`;
    const stamp = `${st.size}:${st.mtimeMs}`;
    const hit = cache.get(key);
    if (hit?.stamp === stamp) return hit.extras;
    const raw = await readJsonOrNull(file, MAX_REPORT_BYTES);
    if (!isObject(raw)) return null;
    const extras: ReportExtras = {};
    if (typeof raw.temporalUiUrl === 'string') extras.temporalUiUrl = raw.temporalUiUrl;
    if (Array.isArray(raw.environmentChanges)) extras.environmentChanges = asEnvironmentChanges(raw.environmentChanges);
    if (Array.isArray(raw.newlyFailingChanges)) extras.newlyFailingChanges = raw.newlyFailingChanges;
    cache.delete(key);
    cache.set(key, { stamp, extras });
    if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
    return extras;
  } catch {
    return null;
  }
}

/** An executed notebook larger than this is offered as a download only. */
export const MAX_EXECUTED_BYTES = 32 * 1024 * 1024;

export type ExecutedNotebook = { notebook: unknown } | { problem: 'missing' | 'too-large' | 'unreadable' };

/**
 * Run `runId`'s executed copy of `notebook` (`executed/<path>` in its directory), parsed. Only a
 * regular file whose real path is inside the run's real `executed/` folder: no `..`, no symlink
 * out of it (a notebook's run may have left anything in its folder).
 */
export async function readExecutedNotebook(
  resultsDir: string,
  runId: string,
  notebook: string,
): Promise<ExecutedNotebook> {
  const segments = notebook.split('/');
  if (!isRunDirName(runId) || segments.some((s) => !s || s === '.' || s === '..')) {
    return { problem: 'missing' };
  }
  try {
    const root = await fs.realpath(path.join(resultsDir, runId, 'executed'));
    const file = await fs.realpath(path.join(root, ...segments));
    if (!file.startsWith(root + path.sep)) return { problem: 'missing' };
    const st = await fs.stat(file);
    if (!st.isFile()) return { problem: 'missing' };
    if (st.size > MAX_EXECUTED_BYTES) return { problem: 'too-large' };
    return { notebook: JSON.parse(await readTextCapped(file, MAX_EXECUTED_BYTES)) as unknown };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { problem: code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'unreadable' };
  }
}
