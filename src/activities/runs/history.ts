/**
 * Recording finished runs in the notebook history (src/domain/runs/history.ts): `recordRun` reads the
 * run's report.json, the one complete account of the run, and replaces whatever the store had of
 * it, so a retried activity or a replayed workflow records the run once. `importReports` does the
 * same for every report under NBLC_RESULTS_DIR (on start: runs from before the history, or whose
 * recording failed), skipping those already recorded as they are.
 */
import { ApplicationFailure } from '@temporalio/common';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../../platform/config.js';
import { historyStore } from '../../storage/runs/history-store.js';
import { recordedRunOf, type HistoryStore, type RecordedRun } from '../../domain/runs/history.js';
import { RUN_FAILURES } from '../../domain/runs/model.js';
import { RUN_LIMITS } from '../../domain/runs/options.js';
import { defaultConcurrency, longestFirst, RECENT_RUNS, type RecentRuns } from '../../domain/runs/order.js';
import { isRunDirName, REPORT_FILES } from '../../domain/runs/run-dir.js';
import { peekReport } from './report/previous.js';
import { followPublishedSnapshot, writePublicStatus } from './public-status.js';
import { STATUS_RUN_KIND } from '../../domain/runs/health.js';
import { readTextCapped } from '../../platform/capped-read.js';
import { checkRelativePath, untrusted } from '../untrusted.js';
import { REPORT_LIMITS } from './report/limits.js';

/** Run directory names as runIdFromWorkflowId makes them. */

export type HistoryConfig = Pick<Config, 'resultsDir' | 'dataDir' | 'databaseUrl'> &
  Partial<Pick<Config, 'cacheDir'>> & { tests?: Pick<Config['tests'], 'userLabMemoryBytes'> };

export function createHistoryActivities(
  cfg: HistoryConfig,
  store: () => Promise<HistoryStore> = () => historyStore(cfg),
) {
  return {
    /** Records the finished run `runId` from its report.json; returns how many notebooks it had. */
    async recordRun(input: { runId: string }): Promise<{ notebooks: number }> {
      const { runId } = input;
      if (!isRunDirName(runId)) {
        throw ApplicationFailure.nonRetryable(`"${runId}" is not a run directory name`, RUN_FAILURES.badRunId);
      }
      const run = await readRun(cfg.resultsDir, runId);
      if (run === 'missing') {
        throw ApplicationFailure.nonRetryable(`run ${runId} has no ${REPORT_FILES.json}`, RUN_FAILURES.reportMissing);
      }
      if (run instanceof Error) {
        throw ApplicationFailure.nonRetryable(`${runId}/${REPORT_FILES.json}: ${run.message}`, RUN_FAILURES.badReport);
      }
      await (await store()).record(run); // a database error is retried
      // Users' status.json follows the scheduled runs only (public-status.ts decides from the report);
      // any other run only makes its list the published snapshot's, should a publish have missed it.
      if (run.kind === STATUS_RUN_KIND && cfg.cacheDir) {
        await writePublicStatus(
          {
            resultsDir: cfg.resultsDir,
            cacheDir: cfg.cacheDir,
            userLabMemoryBytes: cfg.tests?.userLabMemoryBytes ?? null,
          },
          runId,
          await store(),
        );
      } else if (cfg.cacheDir) {
        await followPublishedSnapshot({ cacheDir: cfg.cacheDir });
      }
      return { notebooks: run.notebooks.length };
    },

    /**
     * The order a run's notebooks start in (longest expected first, unknown ones before all)
     * and how many run at once by default, from their recent durations and peak memory
     * (src/domain/runs/order.ts) and this host's cores and free memory. Never fails the run:
     * without the history, the paths as given and the ceiling. Paths a stranger wrote (`..`,
     * absolute) are refused like every activity's: they would only come back reordered, but
     * the history is queried with them.
     */
    async planOrder(input: { paths: string[]; ceiling: number }): Promise<{ order: string[]; concurrency: number }> {
      if (!Array.isArray(input?.paths)) throw untrusted('paths', 'is not a list of notebook paths');
      const paths = input.paths.map((p) => checkRelativePath(p, 'paths'));
      const ceiling = Number.isInteger(input?.ceiling)
        ? Math.min(Math.max(input.ceiling, RUN_LIMITS.concurrency.min), RUN_LIMITS.concurrency.max)
        : RUN_LIMITS.concurrency.min;
      let recent: Map<string, RecentRuns>;
      try {
        recent = await (await store()).recentRuns(paths, RECENT_RUNS);
      } catch {
        return { order: paths, concurrency: ceiling }; // the database is away: as before
      }
      const host = { cores: os.availableParallelism(), freeMemoryBytes: os.freemem() };
      return { order: longestFirst(paths, recent), concurrency: defaultConcurrency(host, recent, ceiling) };
    },
  };
}

export type HistoryActivities = ReturnType<typeof createHistoryActivities>;

/** The run's report as the history records it; the directory name is its run ID. */
async function readRun(resultsDir: string, runId: string): Promise<RecordedRun | 'missing' | Error> {
  let text: string;
  try {
    text = await readTextCapped(path.join(resultsDir, runId, REPORT_FILES.json), REPORT_LIMITS.reportFile);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    if (code === 'EFBIG') return err as Error; // refused (too large, not a regular file): not retried
    throw err;
  }
  try {
    return { ...recordedRunOf(JSON.parse(text)), runId };
  } catch (err) {
    return err as Error;
  }
}

export interface ImportOutcome {
  imported: string[];
  /** Already recorded with the same finishedAt. */
  unchanged: number;
  /** Run directories whose report.json is missing (running, or crashed before its report). */
  withoutReport: number;
  failed: Array<{ runId: string; error: string }>;
}

/**
 * Records every run under `resultsDir` the store does not have as it is: idempotent, and cheap
 * when nothing changed (only the head of each report is read to see its finishedAt). A corrupt
 * report is listed in `failed` and does not stop the others; a database error does.
 */
export async function importReports(
  resultsDir: string,
  store: HistoryStore,
  signal?: AbortSignal,
): Promise<ImportOutcome> {
  const outcome: ImportOutcome = { imported: [], unchanged: 0, withoutReport: 0, failed: [] };
  let names: string[];
  try {
    names = (await fs.readdir(resultsDir, { withFileTypes: true }))
      .filter((d) => d.isDirectory() && isRunDirName(d.name))
      .map((d) => d.name)
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return outcome;
    throw err;
  }
  const recorded = await store.recordedRuns();
  for (const runId of names) {
    if (signal?.aborted) break;
    const head = await peekReport(path.join(resultsDir, runId, REPORT_FILES.json));
    if (head === null) {
      outcome.withoutReport++;
      continue;
    }
    // Pull-request runs test unmerged code: they are not part of the notebooks' history.
    // Nor are candidate runs (another kernel than the users'): they never enter it.
    if (head !== 'unknown' && (head.kind === 'pr' || head.kind === 'candidate')) continue;
    const known = recorded.get(runId);
    if (known !== undefined && head !== 'unknown' && sameTime(known, head.finishedAt)) {
      outcome.unchanged++;
      continue;
    }
    const run = await readRun(resultsDir, runId);
    if (run === 'missing') outcome.withoutReport++;
    else if (run instanceof Error) outcome.failed.push({ runId, error: run.message });
    else if (known !== undefined && known === run.finishedAt) outcome.unchanged++;
    else {
      await store.record(run);
      outcome.imported.push(runId);
    }
  }
  return outcome;
}

function sameTime(a: string, b: string): boolean {
  return Date.parse(a) === Date.parse(b);
}
