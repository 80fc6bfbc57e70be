/**
 * Measures the kernel environment of a test run, once per run, on the notebook task queue: a
 * notebook whose one cell is python/nblc_environment_probe.py, executed like any notebook (the
 * executor, the fork server, the default kernelspec, the sandbox, no prerun: it needs no login
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
import { PROJECT_ROOT } from '../../platform/config.js';
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

import { ENVIRONMENT_FILE } from '../../domain/runs/run-dir.js';
import { checkRunId } from '../untrusted.js';
const PROBE = path.join(PROJECT_ROOT, 'python', 'nblc_environment_probe.py');
const MARKER = 'NBLC_ENVIRONMENT ';
/** Listing a few hundred distributions takes well under a second; a kernel start a few. */
const PROBE_TIMEOUT_S = 120;

export function createEnvironmentActivities(cfg: NotebookConfig) {
  return {
    /** Measures the environment into `<run>/environment.json`; what the workflow keeps of it. */
    async probeEnvironment(input: { runId: string }): Promise<EnvironmentSummary> {
      const runDir = await ownRunDir(cfg.resultsDir, checkRunId(input.runId));
      const ctx = Context.current();
      const measuredAt = new Date().toISOString();
      let env: RunEnvironment;
      try {
        env = await measure(cfg, scratchDirOf(cfg.resultsDir, input.runId), ctx, measuredAt);
      } catch (err) {
        if (ctx.cancellationSignal.aborted) throw err;
        env = notMeasured(cfg, measuredAt, `the probe broke: ${(err as Error).message}`);
      }
      if (env.error) ctx.log.warn(`the environment of run ${input.runId} was not measured: ${env.error}`);
      await writeFileAtomic(path.join(runDir, ENVIRONMENT_FILE), `${JSON.stringify(env, null, 1)}\n`);
      return summarizeEnvironment(env);
    },
  };
}

export type EnvironmentActivities = ReturnType<typeof createEnvironmentActivities>;

function notMeasured(cfg: NotebookConfig, measuredAt: string, error: string): RunEnvironment {
  return { kernel: cfg.tests.defaultKernel, python: null, packages: {}, fingerprint: null, measuredAt, error };
}

export function fingerprintOf(env: Pick<RunEnvironment, 'python' | 'packages'>): string {
  return createHash('sha256').update(fingerprintText(env)).digest('hex');
}

async function measure(
  cfg: NotebookConfig,
  scratchDir: string,
  ctx: Context,
  measuredAt: string,
): Promise<RunEnvironment> {
  const kernel = cfg.tests.defaultKernel;
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
    if (code !== 0) return notMeasured(cfg, measuredAt, `the executor exited with ${code}`);
    const r = JSON.parse(await fs.readFile(result, 'utf8')) as ExecutorResult;
    if (r.status !== 'passed') {
      // An error's name only: its message and traceback come from the environment's code.
      const why = r.status === 'failed' ? (r.error ? normalizeName(r.error.ename) : 'an error') : r.message;
      return notMeasured(cfg, measuredAt, `the probe ended ${r.status}: ${why}`);
    }
    const line = streamText(JSON.parse(await fs.readFile(output, 'utf8')))
      .split('\n')
      .find((l) => l.startsWith(MARKER));
    if (line === undefined) return notMeasured(cfg, measuredAt, 'the probe printed no environment');
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
