/**
 * A test run's options (globs, concurrency, retries, timeouts) and their limits, checked by the
 * API, the CLI and the config, and clamped by the workflow. Pure, like the rest of the model.
 */
import { globsProblem, MAX_GLOB_LENGTH, MAX_GLOBS } from './globs.js';

export interface TestRunOptions {
  /** Globs relative to the snapshot root (`**` supported); default all notebooks. */
  include?: string[];
  exclude?: string[];
  concurrency?: number;
  /** Re-run a notebook that did not pass up to this many times; a later pass is `flaky`. */
  retries?: number;
  cellTimeoutS?: number;
  notebookTimeoutS?: number;
}

/**
 * The bounds of a run's options, wherever they come from: the API's schema, the CLI's options,
 * the config's defaults, and the workflow (clampRunOptions). Beyond them a run is a mistake, or
 * worse: a notebookTimeoutS of 1e21 made an invalid activity timeout, and the workflow failed its
 * task forever with its snapshot pinned. Durations are seconds, at most a day.
 */
export const RUN_LIMITS = {
  /** include / exclude: globs in each list, characters in each glob. */
  globs: MAX_GLOBS,
  globLength: MAX_GLOB_LENGTH,
  concurrency: { min: 1, max: 256 },
  retries: { min: 0, max: 10 },
  cellTimeoutS: { min: 1, max: 86_400 },
  notebookTimeoutS: { min: 1, max: 86_400 },
} as const;

type Counted = 'concurrency' | 'retries';
type Timed = 'cellTimeoutS' | 'notebookTimeoutS';
const COUNTS: readonly Counted[] = ['concurrency', 'retries'];
const DURATIONS: readonly Timed[] = ['cellTimeoutS', 'notebookTimeoutS'];
const GLOB_LISTS = ['include', 'exclude'] as const;

/** "from 1 to 256": the bounds of a numeric option, for messages. */
export const boundsText = (name: Counted | Timed) => `from ${RUN_LIMITS[name].min} to ${RUN_LIMITS[name].max}`;

/** What is wrong with the options, one "name: problem" each; empty when they are acceptable. */
export function runOptionsProblems(opts: TestRunOptions): string[] {
  const problems: string[] = [];
  for (const name of COUNTS) {
    const v = opts[name];
    const { min, max } = RUN_LIMITS[name];
    if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= max))
      problems.push(`${name}: ${v} is not a whole number ${boundsText(name)}`);
  }
  for (const name of DURATIONS) {
    const v = opts[name];
    const { min, max } = RUN_LIMITS[name];
    if (v !== undefined && !(Number.isFinite(v) && v >= min && v <= max))
      problems.push(`${name}: ${v} is not a number of seconds ${boundsText(name)}`);
  }
  for (const name of GLOB_LISTS) {
    const globs = opts[name];
    if (globs === undefined) continue;
    if (globs.length > RUN_LIMITS.globs) problems.push(`${name}: at most ${RUN_LIMITS.globs} globs`);
    if (globs.some((g) => typeof g !== 'string' || g.length < 1 || g.length > RUN_LIMITS.globLength))
      problems.push(`${name}: each glob has 1 to at most ${RUN_LIMITS.globLength} characters`);
    else {
      const complex = globsProblem(globs, name);
      if (complex) problems.push(complex);
    }
  }
  return problems;
}

/**
 * The options brought within RUN_LIMITS, the rest of `input` as it is: for the workflow, which
 * cannot refuse its input and must never be handed a duration it cannot schedule. Numbers are
 * clamped (counts made whole), what is not a finite number is dropped (the default applies),
 * glob lists keep their first RUN_LIMITS.globs acceptable globs. Acceptable options come back
 * exactly as they were, so a workflow that starts calling this replays its old histories.
 */
export function clampRunOptions<T extends TestRunOptions>(input: T): T {
  const out = { ...input };
  for (const name of [...COUNTS, ...DURATIONS]) {
    const v: unknown = out[name];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      delete out[name];
      continue;
    }
    const { min, max } = RUN_LIMITS[name];
    const bounded = Math.min(max, Math.max(min, v));
    out[name] = (COUNTS as readonly string[]).includes(name) ? Math.floor(bounded) : bounded;
  }
  for (const name of GLOB_LISTS) {
    const globs: unknown = out[name];
    if (globs === undefined) continue;
    if (!Array.isArray(globs)) {
      delete out[name];
      continue;
    }
    const ok = (g: unknown): g is string => typeof g === 'string' && g.length >= 1 && g.length <= RUN_LIMITS.globLength;
    const kept = globs.filter(ok).slice(0, RUN_LIMITS.globs);
    if (kept.length !== globs.length) out[name] = kept;
  }
  return out;
}
