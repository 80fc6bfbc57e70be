/**
 * What a run actually ran, as the worker reads it from the run's directory: the commit of its
 * record and, when discovery recorded what it found, the status of each of those notebooks from
 * the result files the notebook workers wrote. The commit status is decided from this (issue 21):
 * a forged workflow that skips discovery or notebooks cannot make a commit `success`.
 */
import path from 'node:path';
import { countSummaries, NOTEBOOK_STATUSES, type NotebookStatus, type RunCounts } from '../../domain/runs/model.js';
import { mapLimit } from '../files.js';
import { readRunRecord } from '../runs/run-record.js';
import { READ_CONCURRENCY, isObject } from '../../domain/runs/run-dir.js';
import { readJsonOrNull } from '../../platform/capped-read.js';
import { REPORT_LIMITS } from '../runs/report/limits.js';

/**
 * The run's commit (null without a record) and, when known, the counts of what ran, and whether
 * discovery selected by change.
 */
export async function ranCounts(
  resultsDir: string,
  runId: string,
): Promise<{ commit: string | null; counts: RunCounts | null; byChange?: boolean }> {
  const record = await readRunRecord(resultsDir, runId);
  if (!record) return { commit: null, counts: null };
  if (!record.discovered) return { commit: record.commit, counts: null };
  const runDir = path.join(resultsDir, runId);
  const statuses = await mapLimit(record.discovered, READ_CONCURRENCY, (p) => statusOf(runDir, p));
  return {
    commit: record.commit,
    counts: countSummaries(statuses.map((status) => ({ status }))),
    // Selected by what a change touched (impact.ts): an empty run means nothing was affected.
    ...(record.selection ? { byChange: true } : {}),
  };
}

/**
 * A notebook's recorded status; `kernel_died` (not passed) when there is no readable result (the
 * report's cap: a result the report cannot read does not pass here either).
 */
async function statusOf(runDir: string, nbPath: string): Promise<NotebookStatus> {
  const fallback: NotebookStatus = 'kernel_died';
  const file = path.join(runDir, 'results', `${nbPath}.json`);
  const raw = await readJsonOrNull(file, REPORT_LIMITS.resultFile);
  const status = isObject(raw) ? raw.status : undefined;
  return (NOTEBOOK_STATUSES as readonly unknown[]).includes(status) ? (status as NotebookStatus) : fallback;
}
