/** What a run directory holds, and how its JSON files are read: shared by the report and the lookup of earlier runs. */

/** The report of a run, in its three forms, at the top of the run directory. */
export const REPORT_FILES = { json: 'report.json', junit: 'junit.xml', html: 'report.html' } as const;

/** The kernel environment the run measured (environment.ts), beside the report. */
export const ENVIRONMENT_FILE = 'environment.json';

/**
 * THE run-directory rule, the one every reader and writer of a run directory applies: a run ID
 * names a directory of the results root, so nothing hidden, no dot-only name that climbs out
 * (`.`, `..`), no separator, at most 200 characters.
 */
export const RUN_DIR_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;
export const isRunDirName = (runId: unknown): runId is string => typeof runId === 'string' && RUN_DIR_NAME.test(runId);

/** What a worker records about a run in its directory (never served): the commit and what was found. */
export const RUN_RECORD_FILE = 'run.json';

/** The only files of a run directory served over HTTP: the report, the environment, the executed notebooks. */
export function isServedRunFile(segments: readonly string[]): boolean {
  const [first, ...rest] = segments;
  if (first === 'executed') return rest.length > 0;
  return rest.length === 0 && (Object.values(REPORT_FILES) as string[]).concat(ENVIRONMENT_FILE).includes(first ?? '');
}

/** Reading many result files or earlier reports at once, but not thousands of descriptors. */
export const READ_CONCURRENCY = 32;

export type Json = Record<string, unknown>;
export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
