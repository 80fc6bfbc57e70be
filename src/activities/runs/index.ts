/**
 * File-side steps of a test run around the per-notebook executions: which snapshot, which
 * notebooks, the report. The snapshot is pinned for the run's duration so that pruning after
 * newer merges cannot delete the tree under running notebooks.
 */
import { ApplicationFailure } from '@temporalio/common';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../platform/config.js';
import {
  isFailing,
  RUN_FAILURES,
  type TestReport,
  type TestRunQueues,
  type TestRunResult,
} from '../../domain/runs/model.js';
import { discover, type DiscoverOptions } from './discover.js';
import { selectAffected } from './impact.js';
import { recordDiscoveryWarnings } from './report/warnings.js';
import { resetRunDir, runDirOf } from './notebooks.js';
import { readRunRecord, snapshotRootOf, writeRunRecord } from './run-record.js';
import { checkCommit, checkRelativePath, checkRunId, realComponents, realInside, untrusted } from '../untrusted.js';
import { prSnapshotsDir } from './run-record.js';
import { writeReport, type WriteReportOptions } from './report/index.js';
import { historyStore } from '../../storage/runs/history-store.js';
import { openKernelStore } from '../../storage/runs/kernel-store.js';
import { compactComparison } from './report/comparison.js';
import { summarizeEnvironment } from '../../domain/runs/environment.js';
import { pinDir, readCurrent, snapshotPath, snapshotsDir, SHA_RE } from '../sync/snapshot.js';

export type RunsConfig = Pick<Config, 'cacheDir' | 'resultsDir' | 'tests' | 'temporal' | 'dataDir' | 'databaseUrl'>;

export function createRunActivities(cfg: RunsConfig) {
  return {
    /** The snapshot to test (default: the published one), pinned for this run. */
    async resolveSnapshot(input: { runId: string; commit?: string }): Promise<{ commit: string; root: string }> {
      const runId = checkRunId(input.runId);
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
      await resetRunDir(cfg.resultsDir, runId);
      await fs.mkdir(pinDir(cfg.cacheDir, commit), { recursive: true });
      await fs.writeFile(path.join(pinDir(cfg.cacheDir, commit), runId), '');
      const st = await fs.lstat(root).catch(() => null);
      if (!st?.isDirectory() || !(await realInside(snapshotsDir(cfg.cacheDir), root))) {
        await fs.rm(path.join(pinDir(cfg.cacheDir, commit), runId), { force: true });
        throw ApplicationFailure.nonRetryable(
          `commit ${commit} has no published snapshot (only the last NBLC_KEEP_SNAPSHOTS are kept); publish it with "nblc sync --sha ${commit}"`,
          RUN_FAILURES.snapshotNotFound,
        );
      }
      // What later activities compute the root and the commit status from (run-record.ts).
      await writeRunRecord(cfg.resultsDir, runId, { commit, source: 'snapshot' });
      return { commit, root };
    },

    /** Removes this run's pin: one file under `.pins/<commit>/`, nothing else whatever the input. */
    async releaseSnapshot(input: { runId: string; commit: string }): Promise<void> {
      const runId = checkRunId(input.runId);
      const commit = checkCommit(input.commit);
      await fs.rm(path.join(pinDir(cfg.cacheDir, commit), runId), { force: true });
      await fs.rmdir(pinDir(cfg.cacheDir, commit)).catch(() => undefined);
    },

    /**
     * With the run ID (workflows since `untrusted-inputs`), the root is the run's own snapshot
     * (run-record.ts), a pull request's paths are those the worker computed, and what is found
     * is recorded for the commit status. Without it (older histories), the root must still be
     * a real snapshot under `snapshots/` or `.pr-snapshots/`.
     */
    async discoverNotebooks(input: DiscoverOptions & { runId?: string; changed?: string[] }): Promise<string[]> {
      const paths = input.paths?.filter((p) => {
        checkRelativePath(p, 'paths');
        return true;
      });
      if (input.runId === undefined) {
        const st = await fs.lstat(input.root).catch(() => null);
        const under = async (base: string) => realInside(base, input.root);
        if (
          !st?.isDirectory() ||
          !((await under(snapshotsDir(cfg.cacheDir))) || (await under(prSnapshotsDir(cfg.cacheDir))))
        ) {
          throw untrusted('root', `${JSON.stringify(input.root)} is not a published or pull-request snapshot`);
        }
        const old = await discover({ ...input, paths: await realFiles(input.root, paths) });
        await recordDiscoveryWarnings(cfg.resultsDir, old.warnings); // for the run's report
        return old.paths;
      }
      const runId = checkRunId(input.runId);
      const record = await readRunRecord(cfg.resultsDir, runId);
      const { root } = await snapshotRootOf(cfg, runId, input.root);
      // What a merge or a pull request changed selects the notebooks it touches (impact.ts).
      const changed = record?.source === 'pr' ? record.prPaths : changedPaths(input.changed);
      const own = changed ? undefined : paths;
      const { paths: all, warnings } = await discover({ ...input, root, paths: await realFiles(root, own) });
      const selected = changed
        ? await selectAffected({ root, found: all, changed, cacheDir: cfg.cacheDir, prerunFile: cfg.tests.prerunFile })
        : null;
      // for the run's report
      await recordDiscoveryWarnings(cfg.resultsDir, [...warnings, ...(selected?.warnings ?? [])]);
      const found = selected?.paths ?? all;
      if (record) {
        await writeRunRecord(cfg.resultsDir, runId, {
          ...record,
          discovered: found,
          ...(selected ? { selection: selected.reasons } : {}),
        });
      }
      return found;
    },

    /** Writes report.json, junit.xml and report.html; returns what the workflow reports. */
    async writeRunReport(input: Omit<WriteReportOptions, 'resultsDir' | 'environment'>): Promise<TestRunResult> {
      const runId = checkRunId(input.runId);
      const commit = checkCommit(input.commit);
      const record = await readRunRecord(cfg.resultsDir, runId);
      if (record && record.commit !== commit)
        throw untrusted('commit', `run ${runId} tests ${record.commit}, not ${commit}`);
      input.paths.forEach((p) => checkRelativePath(p, 'paths'));
      const report = await writeReport({
        resultsDir: cfg.resultsDir,
        ...input,
        environment: {
          kernel: cfg.tests.defaultKernel,
          store: () => historyStore(cfg),
          kernelStore: () => openKernelStore(cfg),
        },
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
          ...(n.selectedBecause ? { selectedBecause: n.selectedBecause } : {}),
        })),
        failures: report.notebooks.filter((n) => isFailing(n.status)).map((n) => ({ path: n.path, status: n.status })),
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

/** The given paths that are real files under `root` through real folders only (links dropped). */
async function realFiles(root: string, paths: string[] | undefined): Promise<string[] | undefined> {
  if (!paths) return undefined;
  const notebooks = paths.filter((p) => p.endsWith('.ipynb'));
  const ok = await Promise.all(
    notebooks.map((p) =>
      realComponents(root, p, 'paths', true).then(
        () => true,
        () => false,
      ),
    ),
  );
  return notebooks.filter((_, i) => ok[i]);
}

/** A merge's changed paths as the workflow passes them: each checked, at most MAX_CHANGED. */
function changedPaths(changed: unknown): string[] | undefined {
  if (changed === undefined) return undefined;
  if (!Array.isArray(changed) || changed.length > MAX_CHANGED)
    throw untrusted('changed', `not a list of at most ${MAX_CHANGED} paths`);
  return changed.map((p) => checkRelativePath(p, 'changed'));
}

/** More changed paths than any merge has: a larger list is not a merge's. */
const MAX_CHANGED = 100_000;

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
    ...(report.comparison ? { comparison: compactComparison(report.comparison) } : {}),
  };
}
