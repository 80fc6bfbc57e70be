/**
 * Running python/nblc_execute.py for a notebook or the environment probe: its arguments (what a
 * worker allows of a workflow's settings), starting it (forked by the fork server or spawned), and
 * watching it (heartbeats with its progress, its process group ended on cancellation).
 */
import type { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../../platform/config.js';
import { RUN_FAILURES } from '../../domain/runs/model.js';
import { SIZE_RE, sizeBytes } from '../../domain/runs/contract.js';
import { executorEnv, forkExecutor, forkServerFor, spawnExecutor } from './executor-process.js';
import { sandboxArgs } from './sandbox.js';
import path from 'node:path';

/** Under the data folder: what the kernel servers learned to preload, one file per kernelspec and Python. */
export const LEARNED_PRELOADS = 'kernel-preloads';

const KILL_GRACE_MS = 5000;

/** The worker's settings a notebook's execution reads. */
export type NotebookConfig = Pick<
  Config,
  'resultsDir' | 'tests' | 'workerName' | 'sandbox' | 'dataDir' | 'cacheDir' | 'usersDir' | 'env' | 'github'
>;

/** The executor's arguments (python/nblc_execute.py), for a notebook or the environment probe. */
export function executorArgs(
  cfg: NotebookConfig,
  o: {
    notebook: string;
    output: string;
    result: string;
    cellTimeoutS: number;
    notebookTimeoutS: number;
    scratch: string;
    prerun?: string;
    root: string;
    memory?: string;
    allowErrors?: boolean;
    parameters?: Record<string, string>;
    kernel?: string;
    kernelMap?: Record<string, string>;
  },
): string[] {
  return [
    ...['--notebook', o.notebook, '--output', o.output, '--result', o.result],
    ...['--default-kernel', cfg.tests.defaultKernel],
    ...(o.kernel ? ['--kernel', o.kernel] : []),
    ...(o.kernelMap ? ['--kernel-map', JSON.stringify(o.kernelMap)] : []),
    ...['--cell-timeout', String(o.cellTimeoutS), '--timeout', String(o.notebookTimeoutS)],
    ...['--scratch-root', o.scratch],
    ...(o.prerun ? ['--prerun', o.prerun] : []),
    ...(o.allowErrors ? ['--allow-errors'] : []),
    ...(o.parameters && Object.keys(o.parameters).length ? ['--parameters', JSON.stringify(o.parameters)] : []),
    ...['--root', o.root],
    ...['--output-limit', String(cfg.tests.outputLimitBytes)],
    ...sandboxArgs(cfg, o.memory),
  ];
}

/**
 * The memory a notebook asked for, as this worker allows it: the workflow's input is a
 * stranger's, so NBLC_NOTEBOOK_MEMORY_MAX is applied here too; nothing valid asked, the default.
 */
export function notebookMemory(cfg: NotebookConfig, asked: string | undefined): string {
  if (asked === undefined || !SIZE_RE.test(asked)) return cfg.sandbox.notebookMemory;
  const max = sizeBytes(cfg.sandbox.notebookMemoryMax);
  const bytes = sizeBytes(asked);
  return max > 0 && (bytes === 0 || bytes > max) ? cfg.sandbox.notebookMemoryMax : asked;
}

/** Only identifiers and bounded strings reach the executor's --parameters. */
export function checkedParameters(parameters: unknown): Record<string, string> | undefined {
  if (!parameters || typeof parameters !== 'object') return undefined;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(parameters).slice(0, 100))
    if (/^[A-Za-z_][A-Za-z0-9_]{0,99}$/.test(name) && typeof value === 'string' && value.length <= 1000)
      out[name] = value;
  return out;
}

/**
 * Starts the executor (forked by the fork server, or spawned when that is unavailable or
 * configured), heartbeating with its progress; on cancellation (or a lost heartbeat) it
 * terminates the executor's process group: SIGTERM lets it shut the kernel down, SIGKILL follows.
 */
export async function execute(
  cfg: NotebookConfig,
  args: string[],
  stderrFile: string,
  ctx: Context,
  nbPath: string,
  trusted = true,
): Promise<{ code: number | null; stderr: string }> {
  const proc = await startExecutor(cfg, args, stderrFile, ctx, trusted ? cfg.sandbox.kernelEnv : []);
  let progress: unknown = { path: nbPath, event: 'spawned' };
  proc.onLine((line) => {
    try {
      progress = { path: nbPath, ...JSON.parse(line) };
      ctx.heartbeat(progress);
    } catch {
      // not a progress line
    }
  });
  const heartbeat = setInterval(() => ctx.heartbeat(progress), 2000);
  const onCancel = () => {
    proc.kill('SIGTERM');
    setTimeout(() => proc.kill('SIGKILL'), KILL_GRACE_MS).unref();
  };
  ctx.cancellationSignal.addEventListener('abort', onCancel, { once: true });
  try {
    const code = await proc.exited.catch((err: Error) => {
      if (ctx.cancellationSignal.aborted) return null;
      throw ApplicationFailure.retryable(
        `the notebook executor for ${nbPath} was lost: ${err.message}`,
        RUN_FAILURES.executorCrashed,
      );
    });
    if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
    return { code, stderr: code === 0 ? '' : await proc.stderr() };
  } finally {
    clearInterval(heartbeat);
    ctx.cancellationSignal.removeEventListener('abort', onCancel);
    await proc.release();
  }
}

/**
 * Starts this worker's fork server now rather than on the first notebook (~0.8 CPU-s of imports,
 * which the first run would otherwise wait for). Resolves once it listens; a server that cannot
 * start is only logged: the first notebook reports it and spawns, as without a pre-start.
 */
export async function prestartForkServer(cfg: NotebookConfig, log: (message: string) => void): Promise<void> {
  if (cfg.tests.executor !== 'fork') return;
  await serverOf(cfg, executorEnv(cfg.env, cfg.sandbox.kernelEnv))
    .socket()
    .catch((err: Error) => log(err.message));
}

/** The worker's fork server; its kernel servers keep their learned preloads under the data folder. */
export function serverOf(cfg: NotebookConfig, env: NodeJS.ProcessEnv) {
  return forkServerFor(cfg.tests.python, env, cfg.tests.kernelPreload, path.join(cfg.dataDir, LEARNED_PRELOADS));
}

async function startExecutor(
  cfg: NotebookConfig,
  args: string[],
  stderrFile: string,
  ctx: Context,
  kernelEnv: readonly string[],
) {
  const env = executorEnv(cfg.env, kernelEnv);
  if (cfg.tests.executor === 'spawn') return spawnExecutor(cfg.tests.python, args, env);
  const server = serverOf(cfg, env);
  for (let attempt = 1; ; attempt++) {
    let socket: string | null;
    try {
      socket = await server.socket();
    } catch (err) {
      ctx.log.warn(`${(err as Error).message}; starting a new Python per notebook for now`);
      socket = null;
    }
    if (socket === null) return spawnExecutor(cfg.tests.python, args, env);
    try {
      return await forkExecutor(socket, args, stderrFile);
    } catch (err) {
      if (attempt >= 2) throw err;
      server.reset(); // its socket is gone: start a new server once
    }
  }
}
