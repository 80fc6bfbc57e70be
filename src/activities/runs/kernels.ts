/**
 * Kernels on the worker side: which kernelspecs a run's notebooks run with (each is then probed
 * once per run, environment.ts), and which kernelspecs this worker has (python/nblc_kernelspecs.py,
 * jupyter_client's own listing, with the executors' environment: JUPYTER_PATH and the like),
 * recorded in the kernel registry (storage/runs/kernel-store.ts) when the worker starts.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT, type Config } from '../../platform/config.js';
import { checkedChoice, isKernelName, kernelFor, runKernels } from '../../domain/runs/kernels.js';
import { READ_CONCURRENCY } from '../../domain/runs/run-dir.js';
import { openKernelStore, type KernelSpecInfo } from '../../storage/runs/kernel-store.js';
import { mapLimit } from '../files.js';
import { executorEnv } from './executor-process.js';
import { snapshotRootOf } from './run-record.js';
import { checkRelativePath, checkRunId, realComponents } from '../untrusted.js';
import { readNotebookCells } from './notebook-file.js';

const LISTER = path.join(PROJECT_ROOT, 'python', 'nblc_kernelspecs.py');
const MAX_PATHS = 100_000;

export type KernelConfig = Pick<Config, 'resultsDir' | 'cacheDir' | 'tests' | 'sandbox' | 'workerName'>;

export interface RunKernelsInput {
  runId: string;
  root: string;
  paths: string[];
  kernel?: string;
  kernelMap?: Record<string, string>;
}

export function createKernelActivities(cfg: KernelConfig) {
  return {
    /** The kernels the run's notebooks will run with, the most used (the primary) first. */
    async runKernels(input: RunKernelsInput): Promise<string[]> {
      // A stranger's input: the root is the run's own, every path checked, only valid names kept.
      const runId = checkRunId(input.runId);
      const { root } = await snapshotRootOf(cfg, runId, input.root);
      const paths = (Array.isArray(input.paths) ? input.paths : [])
        .slice(0, MAX_PATHS)
        .map((p) => checkRelativePath(p, 'paths'));
      const choice = checkedChoice(input);
      const uses = new Map<string, number>();
      await mapLimit(paths, READ_CONCURRENCY, async (nbPath) => {
        const asked = await askedKernel(root, nbPath);
        const name = kernelFor(asked ?? cfg.tests.defaultKernel, choice);
        if (isKernelName(name)) uses.set(name, (uses.get(name) ?? 0) + 1);
      });
      return runKernels(uses, cfg.tests.defaultKernel);
    },
  };
}

export type KernelActivities = ReturnType<typeof createKernelActivities>;

/** The kernelspec name a notebook asks for; null when it names none or cannot be read. */
async function askedKernel(root: string, nbPath: string): Promise<string | null> {
  const real = await realComponents(root, nbPath, 'paths', true).then(
    () => true,
    () => false,
  );
  if (!real) return null;
  const nb = await readNotebookCells(path.join(root, nbPath));
  const spec = nb?.metadata.kernelspec;
  const name = typeof spec === 'object' && spec !== null ? (spec as { name?: unknown }).name : undefined;
  return typeof name === 'string' && name ? name : null;
}

/**
 * This worker's kernelspecs as jupyter_client lists them for the executors (same interpreter,
 * same environment); names checked, display names and languages bounded.
 */
export async function listKernelspecs(cfg: Pick<Config, 'tests' | 'sandbox' | 'env'>): Promise<KernelSpecInfo[]> {
  const { stdout } = await promisify(execFile)(cfg.tests.python, [LISTER], {
    env: executorEnv(cfg.env, cfg.sandbox.kernelEnv),
    timeout: 60_000,
    maxBuffer: 4 * 1024 * 1024,
  });
  const raw = JSON.parse(stdout) as Record<string, { display_name?: unknown; language?: unknown }>;
  const text = (v: unknown, fallback: string) => (typeof v === 'string' && v ? v.slice(0, 200) : fallback);
  return Object.entries(raw)
    .filter(([name]) => isKernelName(name))
    .map(([name, spec]) => ({
      name,
      displayName: text(spec?.display_name, name),
      language: text(spec?.language, 'unknown'),
    }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

/**
 * Records this worker's kernelspecs in the registry (on start, and whenever a probe meets a
 * kernelspec it has not listed). Never throws: the registry is for operators, not for runs.
 */
export async function recordWorkerKernels(
  cfg: Pick<Config, 'tests' | 'sandbox' | 'env' | 'workerName' | 'dataDir' | 'databaseUrl'>,
): Promise<{ recorded: number } | { error: string }> {
  try {
    const specs = await listKernelspecs(cfg);
    await (await openKernelStore(cfg)).recordSpecs(cfg.workerName, specs, new Date().toISOString());
    return { recorded: specs.length };
  } catch (err) {
    return { error: (err as Error).message };
  }
}
