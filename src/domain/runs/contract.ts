/**
 * The per-notebook contract: what a notebook declares about how it runs (`metadata.nblc`), the
 * ecosystem's keys read where nblc's are absent (`metadata.execution`, nbmake and Jupyter Book),
 * folder defaults from the repository's `.nblc.yml`, and the settings each notebook finally runs
 * with, each with where it came from. Pure: the activities read the files, the workflow and the
 * reports use the outcome (docs/architecture.md, "Notebook contracts").
 */
import picomatch from 'picomatch';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { globProblem } from './globs.js';
import { RUN_LIMITS } from './options.js';

/** The file of folder defaults and declared dependencies, at the repository root. */
export const CONTRACT_FILE = '.nblc.yml';

/** Sizes as NBLC_NOTEBOOK_MEMORY takes them: binary units, 0 for no limit. */
export const SIZE_RE = /^(\d+(\.\d+)?([KMGT]i?B?)?|0)$/i;
export const LABEL_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** Labels a notebook may need: each set is a task queue, a worker polls one per subset of its own. */
export const MAX_LABELS = 4;

const seconds = (limit: { min: number; max: number }) =>
  z.number().min(limit.min).max(limit.max, `at most ${limit.max} seconds`);

const skipSchema = z.strictObject({
  reason: z.string().trim().min(1, 'say why the notebook is skipped').max(500),
  /** A date (YYYY-MM-DD, end of that day UTC) or a date-time after which the notebook runs again. */
  until: z
    .string()
    .refine((s) => untilTime(s) !== null, 'a date such as 2027-03-31 or an ISO date-time')
    .optional(),
  issue: z.string().trim().min(1).max(500).optional(),
});

/** The keys a notebook (and a folder of `.nblc.yml`) may set; unknown keys are mistakes. */
export const contractSchema = z.strictObject({
  timeout: seconds(RUN_LIMITS.notebookTimeoutS).optional(),
  cellTimeout: seconds(RUN_LIMITS.cellTimeoutS).optional(),
  retries: z.number().int().min(RUN_LIMITS.retries.min).max(RUN_LIMITS.retries.max).optional(),
  memory: z
    .union([z.string().trim().regex(SIZE_RE, 'a size such as 8G or 512M'), z.number().int().min(0)])
    .transform(String)
    .optional(),
  skip: skipSchema.optional(),
  needs: z
    .array(z.string().regex(LABEL_RE, 'a worker label such as bigmem or datalab-auth'))
    .max(MAX_LABELS, `at most ${MAX_LABELS} labels`)
    .optional(),
  interactive: z.boolean().optional(),
});
export type NotebookContract = z.infer<typeof contractSchema>;
export type SkipDeclaration = z.infer<typeof skipSchema>;

/** nbmake's and Jupyter Book's keys: `timeout` is per cell there (nbclient's timeout). */
const executionSchema = z.object({
  timeout: seconds(RUN_LIMITS.cellTimeoutS).optional(),
  allow_errors: z.boolean().optional(),
});

const fileSchema = z.strictObject({
  /** Glob (relative to the repository root) -> the contract's keys for the notebooks it matches. */
  notebooks: z.record(z.string().min(1).max(RUN_LIMITS.globLength), contractSchema).optional(),
  /** Glob of notebooks -> globs of files whose change selects them (merge and pull-request runs). */
  dependencies: z
    .record(z.string().min(1).max(RUN_LIMITS.globLength), z.array(z.string().min(1).max(RUN_LIMITS.globLength)))
    .optional(),
});
export type ContractFile = z.infer<typeof fileSchema>;

/** "metadata.nblc.skip.reason: …": the first problems of a failed parse, naming each field. */
function issuesText(prefix: string, error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${[prefix, ...i.path.map(String)].join('.')}: ${i.message}`)
    .join('; ');
}

/** Parses `.nblc.yml`; a file that does not parse or validate is an error naming the field. */
export function parseContractFile(text: string): { file: ContractFile } | { error: string } {
  let data: unknown;
  try {
    data = parseYaml(text, { maxAliasCount: 50 }) ?? {};
  } catch (err) {
    return { error: `${CONTRACT_FILE} is not YAML: ${(err as Error).message.split('\n')[0]}` };
  }
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) return { error: `${CONTRACT_FILE}: ${issuesText(CONTRACT_FILE, parsed.error)}` };
  const globs = [...Object.keys(parsed.data.notebooks ?? {}), ...Object.keys(parsed.data.dependencies ?? {})];
  for (const glob of [...globs, ...Object.values(parsed.data.dependencies ?? {}).flat()]) {
    const problem = globProblem(glob, CONTRACT_FILE);
    if (problem) return { error: problem };
  }
  return { file: parsed.data };
}

/** The end of a skip's `until`: a bare date lasts to the end of that day (UTC); null when not a date. */
export function untilTime(until: string): number | null {
  const day = /^\d{4}-\d\d-\d\d$/.test(until);
  const t = Date.parse(day ? `${until}T23:59:59.999Z` : until);
  return Number.isFinite(t) ? t : null;
}

/** Bytes of a size as NBLC_NOTEBOOK_MEMORY takes it (binary units); 0 is no limit. */
export function sizeBytes(size: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT])?/i.exec(size.trim());
  if (!m) return NaN;
  const units: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };
  return Math.floor(Number(m[1]) * (m[2] ? units[m[2].toUpperCase()]! : 1));
}

/** Where a setting came from, as the report shows it. */
export type SettingSource = string;

/** What a notebook runs with, each setting beside where it came from. */
export interface NotebookSettings {
  timeoutS: number;
  cellTimeoutS: number;
  retries: number;
  /** A size for the executor's --memory ('0': no limit). */
  memory: string;
  allowErrors: boolean;
  needs: string[];
  /** The run's values for the notebook's `parameters` cell (papermill's tag); none when it has no such cell. */
  parameters: Record<string, string>;
  skip?: SkipDeclaration;
  interactive: boolean;
  sources: Partial<Record<SettingKey, SettingSource>>;
}
export type SettingKey = Exclude<keyof NotebookSettings, 'sources'>;

/** The service's and the run's values, under the notebook's and its folder's. */
export interface SettingDefaults {
  timeoutS: { value: number; source: SettingSource };
  cellTimeoutS: { value: number; source: SettingSource };
  retries: { value: number; source: SettingSource };
  memory: { value: string; source: SettingSource };
  /** NBLC_NOTEBOOK_MEMORY_MAX ('0': none). */
  memoryMax: string;
  parameters?: Record<string, string>;
}

/** What the activity read of one notebook: its metadata, and whether a cell is tagged `parameters`. */
export interface NotebookDeclarations {
  metadata: Record<string, unknown>;
  hasParametersCell: boolean;
}

/**
 * The settings of one notebook: its `metadata.nblc`, then the ecosystem's keys, then the
 * `.nblc.yml` globs matching it (later entries over earlier ones), then the run's and the
 * service's. Returns an `invalid` message naming the field when the notebook's metadata is wrong.
 */
export function resolveSettings(
  nbPath: string,
  declared: NotebookDeclarations,
  file: ContractFile | undefined,
  defaults: SettingDefaults,
): NotebookSettings | { invalid: string } {
  const own = contractSchema.safeParse(declared.metadata.nblc ?? {});
  if (!own.success) return { invalid: `invalid notebook: ${issuesText('metadata.nblc', own.error)}` };
  const execution = executionSchema.safeParse(declared.metadata.execution ?? {});
  if (!execution.success) return { invalid: `invalid notebook: ${issuesText('metadata.execution', execution.error)}` };

  const layers: Array<{ contract: NotebookContract; source: string }> = [];
  for (const [glob, contract] of Object.entries(file?.notebooks ?? {}))
    if (picomatch(glob, { dot: true })(nbPath)) layers.unshift({ contract, source: `${CONTRACT_FILE} "${glob}"` });
  layers.unshift({ contract: own.data, source: 'metadata.nblc' });

  const sources: NotebookSettings['sources'] = {};
  function pick<K extends keyof NotebookContract>(key: K, setting: SettingKey): NotebookContract[K] | undefined {
    for (const l of layers) {
      if (l.contract[key] !== undefined) {
        sources[setting] = `${l.source}${l.source === 'metadata.nblc' ? `.${key}` : ''}`;
        return l.contract[key];
      }
    }
    return undefined;
  }
  function orDefault<T>(value: T | undefined, setting: SettingKey, fallback: { value: T; source: string }): T {
    if (value !== undefined) return value;
    sources[setting] = fallback.source;
    return fallback.value;
  }

  const timeoutS = orDefault(pick('timeout', 'timeoutS'), 'timeoutS', defaults.timeoutS);
  let cellTimeoutS = own.data.cellTimeout;
  if (cellTimeoutS !== undefined) sources.cellTimeoutS = 'metadata.nblc.cellTimeout';
  else if (execution.data.timeout !== undefined) {
    cellTimeoutS = execution.data.timeout;
    sources.cellTimeoutS = 'metadata.execution.timeout';
  } else cellTimeoutS = orDefault(pick('cellTimeout', 'cellTimeoutS'), 'cellTimeoutS', defaults.cellTimeoutS);
  const retries = orDefault(pick('retries', 'retries'), 'retries', defaults.retries);
  let memory = orDefault(pick('memory', 'memory'), 'memory', defaults.memory);
  const max = sizeBytes(defaults.memoryMax);
  const asked = sizeBytes(memory);
  if (max > 0 && (asked === 0 || asked > max)) {
    memory = defaults.memoryMax;
    sources.memory = `${sources.memory} (capped by NBLC_NOTEBOOK_MEMORY_MAX)`;
  }
  const allowErrors = execution.data.allow_errors ?? false;
  if (execution.data.allow_errors !== undefined) sources.allowErrors = 'metadata.execution.allow_errors';
  const needs = [...new Set(pick('needs', 'needs') ?? [])].sort();
  const skip = pick('skip', 'skip');
  const interactive = pick('interactive', 'interactive') ?? false;
  const parameters = declared.hasParametersCell ? (defaults.parameters ?? {}) : {};
  if (Object.keys(parameters).length) sources.parameters = 'the run (--parameter)';
  else if (Object.keys(defaults.parameters ?? {}).length) sources.parameters = 'not applied: no cell tagged parameters';
  return {
    timeoutS,
    cellTimeoutS,
    retries,
    memory,
    allowErrors,
    needs,
    parameters,
    ...(skip ? { skip } : {}),
    interactive,
    sources,
  };
}

/** Why a notebook is not run at `now` (ms), or null: interactive, or skipped and not yet expired. */
export function skipReason(s: Pick<NotebookSettings, 'skip' | 'interactive'>, now: number): string | null {
  if (s.interactive) return 'interactive: true (never run unattended)';
  if (!s.skip) return null;
  const end = s.skip.until === undefined ? null : untilTime(s.skip.until);
  if (end !== null && end < now) return null;
  return skipText(s.skip);
}

/** "reason (until 2027-01-31, issue #12)": a skip as pages show it. */
export function skipText(skip: SkipDeclaration): string {
  const extra = [skip.until ? `until ${skip.until}` : '', skip.issue ? `issue ${skip.issue}` : ''].filter(Boolean);
  return extra.length ? `${skip.reason} (${extra.join(', ')})` : skip.reason;
}

/** A skip whose `until` passed: the notebook runs, and a failure says its skip expired. */
export function expiredSkip(s: Pick<NotebookSettings, 'skip'>, now: number): string | null {
  const end = s.skip?.until === undefined ? null : untilTime(s.skip.until);
  return end !== null && end < now ? `its skip expired on ${s.skip!.until} (${s.skip!.reason})` : null;
}

/** The task queue of a label set: the notebook queue, `@`, the sorted labels joined by `+`. */
export function labelQueue(taskQueue: string, labels: string[]): string {
  return labels.length ? `${taskQueue}@${[...labels].sort().join('+')}` : taskQueue;
}

/** Every non-empty subset of a worker's labels: the queues it polls besides the plain one. */
export function labelSubsets(labels: string[]): string[][] {
  const sorted = [...new Set(labels)].sort();
  const out: string[][] = [];
  for (let mask = 1; mask < 1 << sorted.length; mask++) out.push(sorted.filter((_, i) => mask & (1 << i)));
  return out;
}

/** `--parameter NAME=VALUE`: a Python identifier and its value (the executor makes it a literal). */
export function parseParameter(text: string): { name: string; value: string } | { error: string } {
  const eq = text.indexOf('=');
  const name = eq < 0 ? text : text.slice(0, eq);
  if (eq < 0 || !/^[A-Za-z_][A-Za-z0-9_]{0,99}$/.test(name))
    return { error: `--parameter "${text.slice(0, 120)}": write NAME=VALUE with NAME a Python identifier` };
  const value = text.slice(eq + 1);
  if (value.length > 1000) return { error: `--parameter ${name}: a value of at most 1000 characters` };
  return { name, value };
}

/**
 * What the workflow carries for a notebook whose settings differ from the run's: only the
 * differences, so that a suite of thousands stays small in the history.
 */
export interface NotebookPlan {
  timeoutS?: number;
  cellTimeoutS?: number;
  retries?: number;
  memory?: string;
  allowErrors?: true;
  /** It has a cell tagged `parameters`: the run's values go to it. */
  parameters?: true;
  /** The task queue of the labels it needs (labelQueue). */
  taskQueue?: string;
}

/** The plan of one notebook against the run's values; null when it runs exactly as the run says. */
export function planOf(
  s: NotebookSettings,
  run: { timeoutS: number; cellTimeoutS: number; retries: number; memory: string; taskQueue: string },
): NotebookPlan | null {
  const plan: NotebookPlan = {
    ...(s.timeoutS !== run.timeoutS ? { timeoutS: s.timeoutS } : {}),
    ...(s.cellTimeoutS !== run.cellTimeoutS ? { cellTimeoutS: s.cellTimeoutS } : {}),
    ...(s.retries !== run.retries ? { retries: s.retries } : {}),
    ...(s.memory !== run.memory ? { memory: s.memory } : {}),
    ...(s.allowErrors ? { allowErrors: true as const } : {}),
    ...(Object.keys(s.parameters).length ? { parameters: true as const } : {}),
    ...(s.needs.length ? { taskQueue: labelQueue(run.taskQueue, s.needs) } : {}),
  };
  return Object.keys(plan).length ? plan : null;
}
