/**
 * The latest candidate run per kernel (issue 19), for the dashboard's overview beside the
 * scheduled run. Candidate runs never enter the history database, so they are read from their
 * reports: the newest `candidate-*` run directories (their names start with the kind and the
 * time they started), each report.json parsed once per change of size/mtime.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { isObject, isRunDirName, REPORT_FILES } from '../../domain/runs/run-dir.js';
import { readJsonOrNull } from '../../platform/capped-read.js';

export interface CandidateSummary {
  runId: string;
  kernel: string;
  finishedAt: string;
  commit: string;
  baseline: string;
  newlyFailing: number;
  fixed: number;
  total: number;
}

/** Directories looked at, newest first: candidate runs are few; a page must stay fast. */
const MAX_SCANNED = 50;
const MAX_REPORT_BYTES = 64 * 1024 * 1024;
const cache = new Map<string, { stamp: string; summary: CandidateSummary | null }>();

/** Newest candidate run per kernel, kernels in name order. */
export async function latestCandidates(resultsDir: string): Promise<CandidateSummary[]> {
  const names = (await fs.readdir(resultsDir).catch(() => [] as string[]))
    .filter((n) => n.startsWith('candidate-') && isRunDirName(n))
    .sort()
    .reverse()
    .slice(0, MAX_SCANNED);
  const byKernel = new Map<string, CandidateSummary>();
  for (const name of names) {
    const s = await summaryOf(path.join(resultsDir, name, REPORT_FILES.json), name);
    const seen = s && byKernel.get(s.kernel);
    if (s && (!seen || s.finishedAt > seen.finishedAt)) byKernel.set(s.kernel, s);
  }
  return [...byKernel.values()].sort((a, b) => (a.kernel < b.kernel ? -1 : 1));
}

async function summaryOf(file: string, runId: string): Promise<CandidateSummary | null> {
  try {
    const st = await fs.lstat(file);
    if (!st.isFile() || st.size > MAX_REPORT_BYTES) return null;
    const stamp = `${st.size}:${st.mtimeMs}`;
    const hit = cache.get(file);
    if (hit?.stamp === stamp) return hit.summary;
    const raw = await readJsonOrNull(file, MAX_REPORT_BYTES);
    let summary: CandidateSummary | null = null;
    if (isObject(raw) && raw.kind === 'candidate' && isObject(raw.comparison) && isObject(raw.comparison.counts)) {
      const c = raw.comparison;
      const counts = c.counts as Record<string, unknown>;
      const baseline = isObject(c.baseline) && typeof c.baseline.runId === 'string' ? c.baseline.runId : '?';
      summary = {
        runId,
        kernel: typeof c.kernel === 'string' ? c.kernel : '?',
        finishedAt: typeof raw.finishedAt === 'string' ? raw.finishedAt : '',
        commit: typeof raw.commit === 'string' ? raw.commit : '',
        baseline,
        newlyFailing: Number(counts['newly failing']) || 0,
        fixed: Number(counts.fixed) || 0,
        total: Array.isArray(raw.notebooks) ? raw.notebooks.length : 0,
      };
    }
    cache.set(file, { stamp, summary });
    if (cache.size > MAX_SCANNED * 2) cache.delete(cache.keys().next().value!);
    return summary;
  } catch {
    return null;
  }
}
