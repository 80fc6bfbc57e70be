/**
 * The report's environment provenance: the environment the run ran in (`<run>/environment.json`,
 * written by the probe, src/activities/runs/environment.ts), what changed since the previous
 * measured run, and for each newly failing notebook what changed since it last passed; the last
 * two from the notebook history (src/storage/runs/history-store.ts), where earlier runs' environments
 * and notebook blobs are recorded. A history that does not answer costs the comparisons, never
 * the report (`historyError` says why).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { environmentChanges, newlyFailingChange, type RunEnvironment } from '../../../domain/runs/environment.js';
import { environmentOf, type HistoryStore } from '../../../domain/runs/history.js';
import type { NotebookResult, TestReport } from '../../../domain/runs/model.js';
import { MAX_EXPLAINED } from '../../../storage/runs/environment-store.js';
import { ENVIRONMENT_FILE, ENVIRONMENTS_DIR } from '../../../domain/runs/run-dir.js';
import type { KernelStore } from '../../../storage/runs/kernel-store.js';

/** How long the report waits for the history before it is written without the comparisons. */
const HISTORY_TIMEOUT_MS = 15_000;

export type EnvironmentFields = Pick<
  TestReport,
  | 'environment'
  | 'environmentChanges'
  | 'environmentComparedWith'
  | 'newlyFailingChanges'
  | 'historyError'
  | 'environments'
  | 'kernelChanges'
>;

export interface EnvironmentInput {
  runDir: string;
  runId: string;
  finishedAt: string;
  /** NBLC_DEFAULT_KERNEL: the kernel an unmeasured environment names. */
  kernel: string;
  notebooks: readonly NotebookResult[];
  newlyFailing: readonly string[];
  /** The probe's activity failed altogether (the workflow says why). */
  environmentError?: string;
  /** The notebook history; without it, nothing is compared. */
  store?: () => Promise<HistoryStore>;
  /** The kernels' environments of earlier runs (per-kernel changes); without it, none. */
  kernelStore?: () => Promise<Pick<KernelStore, 'previousKernelEnvironment'>>;
  /** A candidate run: its environments are not compared with the history's (its comparison is). */
  candidate?: boolean;
}

export async function environmentFields(input: EnvironmentInput): Promise<EnvironmentFields> {
  const environment = (await readEnvironment(input.runDir)) ?? unmeasured(input);
  const environments = await readKernelEnvironments(input.runDir);
  if (!environment && !input.newlyFailing.length && !environments.length) return {};
  const fields: EnvironmentFields = {
    ...(environment ? { environment } : {}),
    ...(environments.length ? { environments } : {}),
  };
  if (!input.store || input.candidate) return fields;
  try {
    return { ...fields, ...(await withTimeout(compare(input, environment, input.store))) };
  } catch (err) {
    return { ...fields, historyError: `the notebook history did not answer: ${(err as Error).message}` };
  }
}

async function compare(
  input: EnvironmentInput,
  environment: RunEnvironment | undefined,
  open: () => Promise<HistoryStore>,
): Promise<EnvironmentFields> {
  const store = await open();
  const fields: EnvironmentFields = {};
  const kernels = input.kernelStore ? await input.kernelStore() : undefined;
  const previousOf = async (env: RunEnvironment) =>
    (await kernels?.previousKernelEnvironment(env.kernel, input.runId, input.finishedAt)) ?? null;
  if (environment?.fingerprint) {
    // The same kernel's, when earlier runs recorded kernels; else the previous run's (before kernels).
    const previous =
      (await previousOf(environment)) ?? (await store.previousEnvironment(input.runId, input.finishedAt));
    fields.environmentComparedWith = previous?.runId ?? null;
    if (previous) fields.environmentChanges = environmentChanges(previous.environment, environment);
  }
  const measured = (await readKernelEnvironments(input.runDir)).filter((e) => e.fingerprint);
  if (kernels && measured.length) {
    fields.kernelChanges = [];
    for (const env of measured) {
      const previous = await previousOf(env);
      fields.kernelChanges.push({
        kernel: env.kernel,
        comparedWith: previous?.runId ?? null,
        changes: previous ? environmentChanges(previous.environment, env) : [],
      });
    }
  }
  if (input.newlyFailing.length) {
    // The first MAX_EXPLAINED only: hundreds of notebooks newly failing together share a cause.
    const explained = input.newlyFailing.slice(0, MAX_EXPLAINED);
    const passes = await store.lastPasses(explained, input.runId);
    const blobs = new Map(input.notebooks.map((nb) => [nb.path, nb.blob ?? null]));
    const now = (p: string) => ({ blob: blobs.get(p) ?? null, fingerprint: environment?.fingerprint ?? null });
    fields.newlyFailingChanges = explained.map((p) => newlyFailingChange(p, now(p), passes.get(p) ?? null));
  }
  return fields;
}

function unmeasured(input: EnvironmentInput): RunEnvironment | undefined {
  if (!input.environmentError) return undefined;
  const error = `not measured: ${input.environmentError}`;
  return { kernel: input.kernel, python: null, packages: {}, fingerprint: null, measuredAt: input.finishedAt, error };
}

/** The probe's file; undefined when there is none (a run from before) or it is not one. */
async function readEnvironment(runDir: string): Promise<RunEnvironment | undefined> {
  try {
    return environmentOf(JSON.parse(await fs.readFile(path.join(runDir, ENVIRONMENT_FILE), 'utf8')));
  } catch {
    return undefined;
  }
}

/** `<run>/environments/*.json`: every kernel the run used, in name order; [] for runs from before. */
async function readKernelEnvironments(runDir: string): Promise<RunEnvironment[]> {
  const dir = path.join(runDir, ENVIRONMENTS_DIR);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const out: RunEnvironment[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    try {
      const env = environmentOf(JSON.parse(await fs.readFile(path.join(dir, name), 'utf8')));
      if (env && `${env.kernel}.json` === name) out.push(env);
    } catch {
      // not one: left out
    }
  }
  return out;
}

function withTimeout<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${HISTORY_TIMEOUT_MS / 1000} s`)), HISTORY_TIMEOUT_MS);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
