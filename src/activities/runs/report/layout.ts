/** What a run directory holds, and how its JSON files are read: shared by the report and the lookup of earlier runs. */

/** The report of a run, in its three forms, at the top of the run directory. */
export const REPORT_FILES = { json: 'report.json', junit: 'junit.xml', html: 'report.html' } as const;

/** Reading many result files or earlier reports at once, but not thousands of descriptors. */
export const READ_CONCURRENCY = 32;

export type Json = Record<string, unknown>;
export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
