/**
 * The run directory, the one rule for it: what a run ID may be (the name of a directory of the
 * results root) and what the directory holds. Pure, so the API, the stores and the activities
 * all check a run ID the same way (a rule copied per floor drifted: one copy let `..` through).
 */
import type { NotebookResult, NotebookStatus } from './model.js';

/** The report of a run, in its three forms, at the top of the run directory. */
export const REPORT_FILES = { json: 'report.json', junit: 'junit.xml', html: 'report.html' } as const;

/** The kernel environment the run measured (environment.ts), beside the report. */
export const ENVIRONMENT_FILE = 'environment.json';
/** `<run>/environments/<kernel>.json`: each kernel the run used, measured once (kernels.ts). */
export const ENVIRONMENTS_DIR = 'environments';

/** Every notebook's settings and where each came from (contracts.ts), read by the report. */
export const SETTINGS_FILE = 'settings.json';

/** Every notebook's header fields (catalog.ts), from its first code cells, read by the report and the API. */
export const CATALOG_FILE = 'catalog.json';

/** Longer run IDs are refused rather than passed to the file system (NAME_MAX is 255 bytes). */
export const MAX_RUN_ID_LENGTH = 200;

/**
 * A run ID that names a directory of the results root: what runIdFromWorkflowId makes (letters,
 * digits, `.`, `_`, `-`), nothing hidden (no leading dot, so neither `.` nor `..` nor `...`),
 * nothing that climbs out (no separator), not too long for a file name.
 */
export const isRunDirName = (runId: unknown): runId is string =>
  typeof runId === 'string' &&
  runId.length <= MAX_RUN_ID_LENGTH &&
  /^[A-Za-z0-9._-]+$/.test(runId) &&
  !runId.startsWith('.');

/** What a worker records about a run in its directory (never served): the commit and what was found. */
export const RUN_RECORD_FILE = 'run.json';

/**
 * The only files of a run directory served over HTTP: the report, the environment, the executed
 * notebooks. Never the per-notebook results, the executors' logs or the worker's record.
 */
export function isServedRunFile(segments: readonly string[]): boolean {
  const [first, ...rest] = segments;
  if (first === 'executed') return rest.length > 0;
  return rest.length === 0 && [...Object.values(REPORT_FILES), ENVIRONMENT_FILE].includes(first ?? '');
}

/** Reading many result files or earlier reports at once, but not thousands of descriptors. */
export const READ_CONCURRENCY = 32;

export type Json = Record<string, unknown>;
export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The result file of a notebook that was not executed (its contract said not to, or the run
 * recorded nothing for it): its status and why, in the shape the report reads every result in.
 */
export function unexecutedResult(nbPath: string, status: NotebookStatus, message: string): NotebookResult {
  return {
    status,
    durationMs: 0,
    kernel: null,
    cellsTotal: 0,
    cellsRun: 0,
    error: null,
    errors: [],
    timedOutCell: null,
    message,
    path: nbPath,
    attempts: 0,
    artifact: `executed/${nbPath}`,
  };
}
