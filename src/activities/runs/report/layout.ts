/** What a run directory holds, and how its JSON files are read: shared by the report and the lookup of earlier runs. */

/** The report of a run, in its three forms, at the top of the run directory. */
export const REPORT_FILES = { json: 'report.json', junit: 'junit.xml', html: 'report.html' } as const;

/** The kernel environment the run measured (environment.ts), beside the report. */
export const ENVIRONMENT_FILE = 'environment.json';

/** Every notebook's settings and where each came from (contracts.ts), read by the report. */
export const SETTINGS_FILE = 'settings.json';

/** A run ID that names a directory of the results root: nothing hidden, nothing that climbs out. */
export const isRunDirName = (runId: string) => /^[A-Za-z0-9._-]+$/.test(runId) && !runId.startsWith('.');

/** Reading many result files or earlier reports at once, but not thousands of descriptors. */
export const READ_CONCURRENCY = 32;

export type Json = Record<string, unknown>;
export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
