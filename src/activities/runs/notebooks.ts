/**
 * Executes one notebook: python/nblc_execute.py (nbclient, a fresh kernel) as a child process
 * in its own process group (started and watched by executor.ts, executor-process.ts). A
 * notebook's own failure is a result; only infrastructure problems (the executor crashed, the
 * kernel died before its first cell) throw, so Temporal retries them. Also the run directory's
 * places (run dir, scratch, result files).
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  INFRA_ATTEMPTS,
  RUN_FAILURES,
  type ExecutorResult,
  type NotebookResult,
  type NotebookSummary,
} from '../../domain/runs/model.js';
import { checkedParameters, execute, executorArgs, notebookMemory, type NotebookConfig } from './executor.js';
import { isPullRequestRoot } from './pr-limits.js';
import { KernelSlots } from './slots.js';
import { removeTree, writeFileAtomic } from '../files.js';
import { ENVIRONMENT_FILE, ENVIRONMENTS_DIR, SETTINGS_FILE } from '../../domain/runs/run-dir.js';
import { checkedChoice } from '../../domain/runs/kernels.js';
import { removeRunRecord, snapshotRootOf } from './run-record.js';
import { checkRelativePath, checkRunId, realComponents, safeOutputPath, untrusted } from '../untrusted.js';
import { readCappedBytes, readTextCapped } from '../../platform/capped-read.js';
import { MAX_SCANNED_NOTEBOOK_BYTES } from './notebook-file.js';
import { REPORT_LIMITS } from './report/limits.js';

export interface RunNotebookInput {
  runId: string;
  /** The snapshot root as the workflow knows it; the worker computes its own (run-record.ts). */
  root: string;
  path: string;
  /** 1-based execution of this notebook within the run (notebook-level retries). */
  attempt: number;
  cellTimeoutS?: number;
  notebookTimeoutS?: number;
  /** The notebook's contract (contract.ts): its memory (capped again here), errors allowed, parameters. */
  memory?: string;
  allowErrors?: boolean;
  parameters?: Record<string, string>;
  /** A candidate run's kernel choice (domain/runs/kernels.ts), checked again here. */
  kernel?: string;
  kernelMap?: Record<string, string>;
}

export const runDirOf = (resultsDir: string, runId: string) => path.join(resultsDir, runId);

/**
 * A run's scratch (the notebooks' private writable copies, the probe's work), outside its run
 * directory so that nothing a kernel wrote there is ever served with the report. A dot name:
 * never a run ID (layout.ts), so no reader of the results root takes it for a run.
 */
export const scratchDirOf = (resultsDir: string, runId: string) => path.join(resultsDir, '.scratch', runId);

/** The run's directory, created, refused when something other than a real directory is there. */
export async function ownRunDir(resultsDir: string, runId: string): Promise<string> {
  const runDir = runDirOf(resultsDir, checkRunId(runId));
  await fs.mkdir(runDir, { recursive: true });
  if (!(await fs.lstat(runDir)).isDirectory()) throw untrusted('runId', `${runDir} is not a real directory`);
  return runDir;
}

/**
 * A new run under a reused workflow ID (a commit published again, a PR run retried) starts from a
 * clean directory, so that no earlier result or measurement can stand in for one of this run.
 * removeTree: a killed notebook may have left read-only scratch folders in tmp/.
 */
export async function resetRunDir(resultsDir: string, runId: string): Promise<void> {
  const runDir = await ownRunDir(resultsDir, runId);
  await Promise.all(['results', 'executed', 'tmp', ENVIRONMENTS_DIR].map((sub) => removeTree(path.join(runDir, sub))));
  await removeTree(scratchDirOf(resultsDir, runId));
  await fs.rm(path.join(runDir, ENVIRONMENT_FILE), { force: true });
  await fs.rm(path.join(runDir, SETTINGS_FILE), { force: true });
  await removeRunRecord(resultsDir, runId);
}

/** `slots`: shared by the worker's task queues (slots.ts); its own when alone. */
export function createNotebookActivities(
  cfg: NotebookConfig,
  slots = new KernelSlots(cfg.tests.concurrency, cfg.github.prConcurrency),
) {
  const warned = new Set<string>(); // runs told about NBLC_SANDBOX=off (once per run and worker)
  const activities = {
    async runNotebook(input: RunNotebookInput): Promise<NotebookSummary> {
      const ctx = Context.current();
      // A pull request's notebook (known by the root the worker computes) takes one of its
      // NBLC_PR_CONCURRENCY slots first, whichever queue it came from.
      const { root } = await snapshotRootOf(cfg, checkRunId(input.runId), input.root);
      return slots.run(
        isPullRequestRoot(cfg.cacheDir, root),
        () => runOne(input, ctx),
        () => ctx.heartbeat({ path: input.path, event: 'waiting for a kernel slot' }),
        ctx.cancellationSignal,
      );
    },
  };
  async function runOne(input: RunNotebookInput, ctx: Context): Promise<NotebookSummary> {
    const nbPath = checkRelativePath(input.path);
    // The root the worker computes for this run, never the input's: not `/`, not another run's.
    const { root } = await snapshotRootOf(cfg, checkRunId(input.runId), input.root);
    await realComponents(root, nbPath, 'path', true);
    const runDir = await ownRunDir(cfg.resultsDir, input.runId);
    const artifact = path.join('executed', nbPath);
    // Folders made here one by one, none a link: the executor writes inside the run directory.
    const output = await safeOutputPath(runDir, artifact, 'path');
    const resultFile = await safeOutputPath(runDir, `results/${nbPath}.json`, 'path');
    const scratch = scratchDirOf(cfg.resultsDir, input.runId);
    await fs.mkdir(scratch, { recursive: true });
    const executorResult = `${resultFile}.executor-${ctx.info.attempt}`;

    // Unreviewed code (a PR snapshot, known by the root the worker computed, not by what the
    // input says) gets neither the prerun cell nor NBLC_KERNEL_ENV, unless NBLC_PR_PRERUN=true.
    const trusted = !isPullRequestRoot(cfg.cacheDir, root) || cfg.github.prPrerun;
    const args = executorArgs(cfg, {
      notebook: path.join(root, nbPath),
      output,
      result: executorResult,
      cellTimeoutS: input.cellTimeoutS ?? cfg.tests.cellTimeoutS,
      notebookTimeoutS: input.notebookTimeoutS ?? cfg.tests.notebookTimeoutS,
      scratch,
      prerun: trusted ? cfg.tests.prerunFile : undefined,
      root,
      memory: notebookMemory(cfg, input.memory),
      allowErrors: input.allowErrors === true,
      parameters: checkedParameters(input.parameters),
      ...checkedChoice(input),
    });
    if (!cfg.sandbox.enabled && !warned.has(input.runId)) {
      warned.add(input.runId);
      ctx.log.warn(
        `NBLC_SANDBOX=off: run ${input.runId} executes notebooks unsandboxed, as the service's user (docs/security.md)`,
      );
    }
    const { code, stderr } = await execute(cfg, args, `${executorResult}.log`, ctx, input.path, trusted);
    if (code !== 0) {
      throw ApplicationFailure.retryable(
        `the notebook executor for ${input.path} exited with ${code}: ${stderr.slice(-2000)}`,
        RUN_FAILURES.executorCrashed,
      );
    }
    const result = JSON.parse(await readTextCapped(executorResult, REPORT_LIMITS.resultFile)) as ExecutorResult;
    await fs.rm(executorResult, { force: true });
    if (result.status === 'kernel_died' && result.cellsRun === 0 && ctx.info.attempt < INFRA_ATTEMPTS) {
      // Died before running anything: a port clash, memory pressure, a busy host. Try again.
      throw ApplicationFailure.retryable(
        `kernel for ${input.path} died before its first cell: ${result.message}`,
        RUN_FAILURES.kernelStartFailed,
      );
    }
    const full: NotebookResult = {
      ...result,
      path: input.path,
      attempts: input.attempt,
      ...(result.status === 'passed' && input.attempt > 1 ? { flaky: true } : {}),
      artifact,
      worker: cfg.workerName,
      ...(await blobOf(path.join(root, nbPath))),
    };
    await writeFileAtomic(resultFile, JSON.stringify(full, null, 1));
    return {
      path: input.path,
      status: full.status,
      durationMs: full.durationMs,
      attempts: input.attempt,
      ...(full.flaky ? { flaky: true } : {}),
    };
  }
  return activities;
}

/**
 * The file's git blob id (sha1 of `blob <size>\0<content>`, as `git ls-tree` shows it): whether the
 * notebook itself changed since it last passed. Nothing for what is not a regular file or is larger than a scan reads.
 */
async function blobOf(file: string): Promise<{ blob?: string }> {
  const read = await readCappedBytes(file, MAX_SCANNED_NOTEBOOK_BYTES).catch(() => null);
  if (read?.kind !== 'bytes') return {};
  const content = read.bytes;
  return { blob: createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex') };
}

export type NotebookActivities = ReturnType<typeof createNotebookActivities>;
