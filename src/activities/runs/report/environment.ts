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
import { ENVIRONMENT_FILE } from '../environment.js';

/** How long the report waits for the history before it is written without the comparisons. */
const HISTORY_TIMEOUT_MS = 15_000;

export type EnvironmentFields = Pick<
  TestReport,
  'environment' | 'environmentChanges' | 'environmentComparedWith' | 'newlyFailingChanges' | 'historyError'
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
}

export async function environmentFields(input: EnvironmentInput): Promise<EnvironmentFields> {
  const environment = (await readEnvironment(input.runDir)) ?? unmeasured(input);
  if (!environment && !input.newlyFailing.length) return {};
  const fields: EnvironmentFields = environment ? { environment } : {};
  if (!input.store) return fields;
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
  if (environment?.fingerprint) {
    const previous = await store.previousEnvironment(input.runId, input.finishedAt);
    fields.environmentComparedWith = previous?.runId ?? null;
    if (previous) fields.environmentChanges = environmentChanges(previous.environment, environment);
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

function withTimeout<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${HISTORY_TIMEOUT_MS / 1000} s`)), HISTORY_TIMEOUT_MS);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
