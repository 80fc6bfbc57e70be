/**
 * Measures the kernel environments of a test run, once per run and kernel, on the notebook task
 * queue: a notebook whose one cell is python/nblc_environment_probe.py, executed like any notebook
 * (the executor, the fork server, the kernelspec measured, the sandbox, no prerun: it needs no login
 * and so sees no credentials). What it prints is checked again here (src/domain/runs/environment.ts)
 * and written to `<run>/environment.json`, which the report reads.
 *
 * It never fails the run: whatever goes wrong is recorded as the environment's `error`. Only a
 * cancellation (the run is being cancelled) propagates.
 */
import { Context } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT, type Config } from '../../platform/config.js';
import { isKernelName } from '../../domain/runs/kernels.js';
import { openKernelStore } from '../../storage/runs/kernel-store.js';
import {
  fingerprintText,
  parseProbeOutput,
  summarizeEnvironment,
  type EnvironmentSummary,
  type RunEnvironment,
} from '../../domain/runs/environment.js';
import { normalizeName } from '../../domain/runs/causes.js';
import type { ExecutorResult } from '../../domain/runs/model.js';
import { removeTree, writeFileAtomic } from '../files.js';
import { execute, executorArgs, type NotebookConfig } from './executor.js';
import { ownRunDir, scratchDirOf } from './notebooks.js';

import { ENVIRONMENT_FILE, ENVIRONMENTS_DIR } from '../../domain/runs/run-dir.js';
import { checkRunId, untrusted } from '../untrusted.js';
import { readTextCapped } from '../../platform/capped-read.js';
import { REPORT_LIMITS } from './report/limits.js';
const PROBE = path.join(PROJECT_ROOT, 'python', 'nblc_environment_probe.py');
const MARKER = 'NBLC_ENVIRONMENT ';
/** Listing a few hundred distributions takes well under a second; a kernel start a few. */
const PROBE_TIMEOUT_S = 120;

export function createEnvironmentActivities(cfg: NotebookConfig & Partial<Pick<Config, 'databaseUrl'>>) {
  return {
    /**
     * Measures the environment of `kernel` (default: NBLC_DEFAULT_KERNEL) into
     * `<run>/environments/<kernel>.json`, and into `<run>/environment.json` when it is the run's
     * primary kernel (or no kernel is named: runs from before kernels); records it in the kernel
     * registry as this worker's; returns what the workflow keeps of it.
     */
    async probeEnvironment(input: { runId: string; kernel?: string; primary?: boolean }): Promise<EnvironmentSummary> {
      const runDir = await ownRunDir(cfg.resultsDir, checkRunId(input.runId));
      if (input.kernel !== undefined && !isKernelName(input.kernel)) {
        throw untrusted('kernel', `${JSON.stringify(input.kernel).slice(0, 120)} is not a kernelspec name`);
      }
      const kernel = input.kernel ?? cfg.tests.defaultKernel;
      const ctx = Context.current();
      const measuredAt = new Date().toISOString();
      let env: RunEnvironment;
      try {
        env = await measure(cfg, kernel, scratchDirOf(cfg.resultsDir, input.runId), ctx, measuredAt);
      } catch (err) {
        if (ctx.cancellationSignal.aborted) throw err;
        env = notMeasured(kernel, measuredAt, `the probe broke: ${(err as Error).message}`);
      }
      if (env.error) ctx.log.warn(`the environment of ${kernel} in run ${input.runId} was not measured: ${env.error}`);
      const text = `${JSON.stringify(env, null, 1)}\n`;
      if (input.kernel !== undefined) {
        await fs.mkdir(path.join(runDir, ENVIRONMENTS_DIR), { recursive: true });
        await writeFileAtomic(path.join(runDir, ENVIRONMENTS_DIR, `${kernel}.json`), text);
      }
      if (input.kernel === undefined || input.primary) await writeFileAtomic(path.join(runDir, ENVIRONMENT_FILE), text);
      try {
        await (await openKernelStore(cfg)).recordMeasurement(cfg.workerName, env);
      } catch (err) {
        ctx.log.warn(`the kernel registry did not record ${kernel}: ${(err as Error).message}`);
      }
      return summarizeEnvironment(env);
    },
  };
}

export type EnvironmentActivities = ReturnType<typeof createEnvironmentActivities>;

function notMeasured(kernel: string, measuredAt: string, error: string): RunEnvironment {
  return { kernel, python: null, packages: {}, fingerprint: null, measuredAt, error };
}

export function fingerprintOf(env: Pick<RunEnvironment, 'python' | 'packages'>): string {
  return createHash('sha256').update(fingerprintText(env)).digest('hex');
}

async function measure(
  cfg: NotebookConfig,
  kernel: string,
  scratchDir: string,
  ctx: Context,
  measuredAt: string,
): Promise<RunEnvironment> {
  await fs.mkdir(scratchDir, { recursive: true });
  const work = await fs.mkdtemp(path.join(scratchDir, 'environment-'));
  try {
    await fs.chmod(work, 0o755); // as readable as a snapshot, for the kernel's user
    // Its own root: the sandbox shows it read-only and the notebook's folder as a private copy.
    const root = path.join(work, 'probe');
    const scratch = path.join(work, 'scratch');
    await Promise.all([fs.mkdir(root), fs.mkdir(scratch)]);
    const notebook = path.join(root, 'environment.ipynb');
    await fs.writeFile(notebook, probeNotebook(kernel, await fs.readFile(PROBE, 'utf8')));
    const output = path.join(work, 'executed.ipynb');
    const result = path.join(work, 'result.json');
    const args = executorArgs(cfg, {
      notebook,
      output,
      result,
      cellTimeoutS: PROBE_TIMEOUT_S,
      notebookTimeoutS: PROBE_TIMEOUT_S,
      scratch,
      root,
    });
    const { code } = await execute(cfg, args, `${result}.log`, ctx, 'environment probe');
    // The executor's log may quote what the kernel printed: it stays out of the report.
    if (code !== 0) return notMeasured(kernel, measuredAt, `the executor exited with ${code}`);
    // written after a kernel ran: capped, no link followed (the executor bounds the outputs)
    const r = JSON.parse(await readTextCapped(result, REPORT_LIMITS.resultFile)) as ExecutorResult;
    if (r.status !== 'passed') {
      // An error's name only: its message and traceback come from the environment's code.
      const why = r.status === 'failed' ? (r.error ? normalizeName(r.error.ename) : 'an error') : r.message;
      return notMeasured(kernel, measuredAt, `the probe ended ${r.status}: ${why}`);
    }
    const line = streamText(JSON.parse(await readTextCapped(output, 2 * cfg.tests.outputLimitBytes + 2 ** 20)))
      .split('\n')
      .find((l) => l.startsWith(MARKER));
    if (line === undefined) return notMeasured(kernel, measuredAt, 'the probe printed no environment');
    const measured = parseProbeOutput(JSON.parse(line.slice(MARKER.length)));
    return { kernel, ...measured, fingerprint: fingerprintOf(measured), measuredAt };
  } finally {
    await removeTree(work);
  }
}

function probeNotebook(kernel: string, source: string): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: kernel, display_name: kernel } },
    cells: [{ id: 'environment', cell_type: 'code', source, metadata: {}, execution_count: null, outputs: [] }],
  });
}

/** The stream outputs of the probe's cell. */
function streamText(nb: unknown): string {
  const cell = (nb as { cells?: Array<{ outputs?: Array<{ output_type?: string; text?: unknown }> }> }).cells?.[0];
  return (cell?.outputs ?? [])
    .filter((o) => o.output_type === 'stream')
    .map((o) => (Array.isArray(o.text) ? o.text.join('') : typeof o.text === 'string' ? o.text : ''))
    .join('');
}
