/**
 * What the dashboard reads from a run's report.json beyond the history database: the run's
 * Temporal UI link and, when the report has them, the environment's changes since the previous
 * run. Here (runtime) because src/api does not touch files. Reports are immutable once written,
 * so the few the overview shows are parsed once per change of size/mtime.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

export interface ReportExtras {
  temporalUiUrl?: string;
  /** As the report has it (its shape is the report writer's); the dashboard renders it generically. */
  environmentChanges?: unknown;
}

/** A report larger than this is not parsed for its extras (a run of many thousands of notebooks). */
const MAX_REPORT_BYTES = 64 * 1024 * 1024;
const RUN_ID = /^[A-Za-z0-9._-]+$/;
const CACHE_SIZE = 16;

const cache = new Map<string, { stamp: string; extras: ReportExtras }>();

/** The extras of run `runId`'s report.json; null when it has none or is not readable. */
export async function readReportExtras(resultsDir: string, runId: string): Promise<ReportExtras | null> {
  if (!RUN_ID.test(runId) || runId.startsWith('.')) return null;
  const file = path.join(resultsDir, runId, 'report.json');
  try {
    const st = await fs.stat(file);
    if (!st.isFile() || st.size > MAX_REPORT_BYTES) return null;
    const key = `${resultsDir}\0${runId}`;
    const stamp = `${st.size}:${st.mtimeMs}`;
    const hit = cache.get(key);
    if (hit?.stamp === stamp) return hit.extras;
    const raw = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
    const extras: ReportExtras = {};
    if (typeof raw.temporalUiUrl === 'string') extras.temporalUiUrl = raw.temporalUiUrl;
    if (raw.environmentChanges !== undefined && raw.environmentChanges !== null) {
      extras.environmentChanges = raw.environmentChanges;
    }
    cache.delete(key);
    cache.set(key, { stamp, extras });
    if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
    return extras;
  } catch {
    return null;
  }
}
