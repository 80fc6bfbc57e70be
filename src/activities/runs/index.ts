/**
 * File-side steps of a test run around the per-notebook executions: which snapshot, which
 * notebooks, the report. The snapshot is pinned for the run's duration so that pruning after
 * newer merges cannot delete the tree under running notebooks.
 */
import { ApplicationFailure } from '@temporalio/common';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../platform/config.js';
import { RUN_FAILURES, type TestReport, type TestRunQueues, type TestRunResult } from '../../domain/runs/model.js';
import { discoverNotebooks, type DiscoverOptions } from './discover.js';
import { resetRunDir, runDirOf } from './notebooks.js';
import { writeReport, type WriteReportOptions } from './report/index.js';
import { historyStore } from '../../storage/runs/history-store.js';
import { summarizeEnvironment } from '../../domain/runs/environment.js';
import { pinDir, readCurrent, snapshotPath, SHA_RE } from '../sync/snapshot.js';

export type RunsConfig = Pick<Config, 'cacheDir' | 'resultsDir' | 'tests' | 'temporal' | 'dataDir' | 'databaseUrl'>;

export function createRunActivities(cfg: RunsConfig) {
  return {
    /** The snapshot to test (default: the published one), pinned for this run. */
    async resolveSnapshot(input: { runId: string; commit?: string }): Promise<{ commit: string; root: string }> {
      const commit = input.commit ?? (await readCurrent(cfg.cacheDir));
      if (!commit) {
        throw ApplicationFailure.nonRetryable(
          'nothing is published yet: run "nblc sync" first',
          RUN_FAILURES.nothingPublished,
        );
      }
      if (!SHA_RE.test(commit)) {
        throw ApplicationFailure.nonRetryable(`"${commit}" is not a full commit SHA`, RUN_FAILURES.badCommit);
      }
      const root = snapshotPath(cfg.cacheDir, commit);
      await resetRunDir(cfg.resultsDir, input.runId);
      await fs.mkdir(pinDir(cfg.cacheDir, commit), { recursive: true });
      await fs.writeFile(path.join(pinDir(cfg.cacheDir, commit), input.runId), '');
      if (
        !(await fs.stat(root).then(
          (s) => s.isDirectory(),
          () => false,
        ))
      ) {
        await fs.rm(path.join(pinDir(cfg.cacheDir, commit), input.runId), { force: true });
        throw ApplicationFailure.nonRetryable(
          `commit ${commit} has no published snapshot (only the last NBLC_KEEP_SNAPSHOTS are kept); publish it with "nblc sync --sha ${commit}"`,
          RUN_FAILURES.snapshotNotFound,
        );
      }
      return { commit, root };
    },

    async releaseSnapshot(input: { runId: string; commit: string }): Promise<void> {
      await fs.rm(path.join(pinDir(cfg.cacheDir, input.commit), input.runId), { force: true });
      await fs.rmdir(pinDir(cfg.cacheDir, input.commit)).catch(() => undefined);
    },

    async discoverNotebooks(input: DiscoverOptions): Promise<string[]> {
      return discoverNotebooks(input);
    },

    /** Writes report.json, junit.xml and report.html; returns what the workflow reports. */
    async writeRunReport(input: Omit<WriteReportOptions, 'resultsDir' | 'environment'>): Promise<TestRunResult> {
      const report = await writeReport({
        resultsDir: cfg.resultsDir,
        ...input,
        environment: { kernel: cfg.tests.defaultKernel, store: () => historyStore(cfg) },
      });
      return {
        runId: report.runId,
        commit: report.commit,
        kind: report.kind,
        counts: report.counts,
        causes: report.causes,
        reportDir: runDirOf(cfg.resultsDir, input.runId),
        notebooks: report.notebooks.map((n) => ({
          path: n.path,
          status: n.status,
          durationMs: n.durationMs,
          attempts: n.attempts,
          ...(n.flaky ? { flaky: true } : {}),
        })),
        failures: report.notebooks
          .filter((n) => n.status !== 'passed')
          .map((n) => ({ path: n.path, status: n.status })),
        newlyFailing: report.newlyFailing,
        fixed: report.fixed,
        ...compactEnvironment(report),
      };
    },

    /** What the sync workflow needs to start a merge run; null when merge runs are off. */
    async mergeRunSettings(): Promise<TestRunQueues | null> {
      if (!cfg.tests.onMerge) return null;
      return {
        notebookTaskQueue: cfg.tests.taskQueue,
        defaultConcurrency: cfg.tests.concurrency,
        temporalUi: { url: cfg.temporal.uiUrl, namespace: cfg.temporal.namespace },
      };
    },
  };
}

export type RunActivities = ReturnType<typeof createRunActivities>;

/** Changes beyond this many stay in report.json: the workflow's result is kept in its history. */
const RESULT_CHANGES = 20;

/** The report's environment provenance as the workflow returns it (no package list). */
function compactEnvironment(report: TestReport): Partial<TestRunResult> {
  return {
    ...(report.environment ? { environment: summarizeEnvironment(report.environment) } : {}),
    ...(report.environmentChanges
      ? {
          environmentChanges: report.environmentChanges.slice(0, RESULT_CHANGES),
          environmentChangeCount: report.environmentChanges.length,
        }
      : {}),
    ...(report.environmentComparedWith !== undefined
      ? { environmentComparedWith: report.environmentComparedWith }
      : {}),
    ...(report.newlyFailingChanges ? { newlyFailingChanges: report.newlyFailingChanges } : {}),
  };
}
