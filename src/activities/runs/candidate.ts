/**
 * A candidate run's baseline (issue 19): which finished run it is compared with (a run ID, or
 * `latest-scheduled`: the newest scheduled run with a report), what that run ran (the candidate's
 * notebooks by default), and, when the candidate's report is written, the baseline's report as
 * the comparison (src/domain/runs/comparison.ts) reads it.
 */
import { ApplicationFailure } from '@temporalio/common';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../platform/config.js';
import type { ComparedRun } from '../../domain/runs/comparison.js';
import { environmentOf } from '../../domain/runs/history.js';
import { NOTEBOOK_STATUSES, RUN_FAILURES, type NotebookStatus, type RunKind } from '../../domain/runs/model.js';
import { isObject, isRunDirName, REPORT_FILES } from '../../domain/runs/run-dir.js';
import { readTextCapped } from '../../platform/capped-read.js';
import { checkRunId, untrusted } from '../untrusted.js';
import { REPORT_LIMITS } from './report/limits.js';
import { peekReport } from './report/previous.js';

export const LATEST_SCHEDULED = 'latest-scheduled';

export interface Baseline {
  runId: string;
  kind: string;
  commit: string;
  /** The notebooks it ran, in its order. */
  paths: string[];
}

export function createCandidateActivities(cfg: Pick<Config, 'resultsDir'>) {
  return {
    /** The run `compareWith` names, finished (its report written); a typed failure otherwise. */
    async resolveBaseline(input: { runId: string; compareWith: string }): Promise<Baseline> {
      const own = checkRunId(input.runId);
      const name =
        input.compareWith === LATEST_SCHEDULED
          ? await latestOfKind(cfg.resultsDir, 'scheduled', own)
          : input.compareWith;
      if (name === null) {
        throw ApplicationFailure.nonRetryable(
          'no scheduled run has a report yet: run one (nblc schedule trigger) or give --compare-with RUN',
          RUN_FAILURES.baselineMissing,
        );
      }
      if (typeof name !== 'string' || !isRunDirName(name) || name === own) {
        throw untrusted(
          'compareWith',
          `${JSON.stringify(name).slice(0, 120)} is not another run's ID (nblc runs lists them) nor latest-scheduled`,
        );
      }
      const report = await readBaseline(cfg.resultsDir, name);
      return {
        runId: name,
        kind: report.kind,
        commit: report.commit,
        paths: report.notebooks.map((nb) => nb.path),
      };
    },
  };
}

export type CandidateActivities = ReturnType<typeof createCandidateActivities>;

/** The newest run of `kind` under `resultsDir` with a report (by its finishedAt), other than `own`. */
async function latestOfKind(resultsDir: string, kind: RunKind, own: string): Promise<string | null> {
  const names = (await fs.readdir(resultsDir, { withFileTypes: true }).catch(() => []))
    .filter((d) => d.isDirectory() && isRunDirName(d.name) && d.name !== own)
    .map((d) => d.name);
  let best: { name: string; at: number } | null = null;
  for (const name of names) {
    const head = await peekReport(path.join(resultsDir, name, REPORT_FILES.json));
    if (!head || head === 'unknown' || head.kind !== kind) continue;
    const at = Date.parse(head.finishedAt);
    if (!best || at > best.at || (at === best.at && name > best.name)) best = { name, at };
  }
  return best?.name ?? null;
}

/** The baseline's report.json as the comparison reads it; a typed failure when it has none. */
export async function readBaseline(resultsDir: string, runId: string): Promise<ComparedRun> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readTextCapped(path.join(resultsDir, runId, REPORT_FILES.json), REPORT_LIMITS.reportFile));
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `run ${runId} has no readable ${REPORT_FILES.json} (not finished, or not a run): ${(err as Error).message}`,
      RUN_FAILURES.baselineMissing,
    );
  }
  if (!isObject(raw) || !Array.isArray(raw.notebooks)) {
    throw ApplicationFailure.nonRetryable(
      `run ${runId}'s ${REPORT_FILES.json} is not a report`,
      RUN_FAILURES.badReport,
    );
  }
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  const notebooks: ComparedRun['notebooks'] = raw.notebooks.flatMap((nb: unknown) => {
    if (!isObject(nb) || typeof nb.path !== 'string') return [];
    const status = NOTEBOOK_STATUSES.includes(nb.status as NotebookStatus) ? (nb.status as NotebookStatus) : 'failed';
    const error = isObject(nb.error)
      ? { ename: text(nb.error.ename), evalue: text(nb.error.evalue), traceback: text(nb.error.traceback) }
      : null;
    return [{ path: nb.path, status, error, message: typeof nb.message === 'string' ? nb.message : null }];
  });
  return {
    runId,
    kind: (typeof raw.kind === 'string' ? raw.kind : 'manual') as RunKind,
    commit: text(raw.commit),
    notebooks,
    ...(environmentOf(raw.environment) ? { environment: environmentOf(raw.environment)! } : {}),
  };
}
