/**
 * The kernel environment a test run ran in (measured once per run, inside a kernel of the default
 * kernelspec, in the notebooks' sandbox: src/activities/runs/environment.ts), what changed since
 * the previous run's, and why a newly failing notebook fails: its own content changed, the
 * environment did, both, or neither (then look at services, data, flakiness). Pure.
 */

/** The row of the Python version among the package changes. */
export const PYTHON_ROW = 'python';

/** What a run records: measured, or why not (`error`; then no packages and no fingerprint). */
export interface RunEnvironment {
  /** The kernelspec measured (NBLC_DEFAULT_KERNEL). */
  kernel: string;
  python: string | null;
  /** Normalized distribution name (PEP 503) → version, in name order. */
  packages: Record<string, string>;
  /** sha256 (hex) of `python <version>` and every `name==version`, one a line, in name order. */
  fingerprint: string | null;
  measuredAt: string;
  error?: string;
}

/** What the workflow keeps of it (a history holds no package list). */
export interface EnvironmentSummary {
  fingerprint: string | null;
  python: string | null;
  packages: number;
  error?: string;
}

/** One package (or Python itself: PYTHON_ROW) between two runs: added from null, removed to null. */
export interface EnvironmentChange {
  package: string;
  from: string | null;
  to: string | null;
}

/** Whether a thing is the same as when the notebook last passed. */
export type Sameness = 'changed' | 'same' | 'unknown';

/** A newly failing notebook against the run where it last passed. */
export interface NewlyFailingChange {
  path: string;
  lastPassed: { runId: string; commit: string } | null;
  /** The notebook's file (its git blob id) now and then. */
  notebook: Sameness;
  /** The run's environment fingerprint now and then. */
  environment: Sameness;
}

/** Bounds on what a kernel may report: it runs code nblc does not control (sitecustomize, .pth). */
const MAX_PACKAGES = 5000;
const NAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$/;
const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9.+!_-]{0,63}$/;
const PYTHON_RE = /^\d{1,3}\.\d{1,3}(?:\.\d{1,3})?[A-Za-z0-9.+]{0,16}$/;

/** PEP 503: names differing in case or in runs of `-`, `_`, `.` are one distribution. */
export const normalizeName = (name: string) => name.toLowerCase().replace(/[-_.]+/g, '-');

/**
 * The probe's JSON (`{python, packages: {name: version}}`) reduced to what may be recorded: names
 * and versions that look like names and versions, nothing else (so nothing but them can reach a
 * report, however the environment's code printed). Throws when it is not that shape at all.
 */
export function parseProbeOutput(raw: unknown): { python: string | null; packages: Record<string, string> } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('not a JSON object');
  const { python, packages } = raw as Record<string, unknown>;
  if (typeof packages !== 'object' || packages === null || Array.isArray(packages)) {
    throw new Error('no package list');
  }
  const kept = new Map<string, string>();
  for (const [name, version] of Object.entries(packages).slice(0, MAX_PACKAGES)) {
    if (!NAME_RE.test(name) || typeof version !== 'string' || !VERSION_RE.test(version)) continue;
    const key = normalizeName(name);
    if (!kept.has(key)) kept.set(key, version); // the first on the path is the one imported
  }
  return {
    python: typeof python === 'string' && PYTHON_RE.test(python) ? python : null,
    packages: Object.fromEntries([...kept].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  };
}

/** The text the fingerprint hashes: independent of key order, one line per package. */
export function fingerprintText(env: Pick<RunEnvironment, 'python' | 'packages'>): string {
  const names = Object.keys(env.packages).sort();
  return [`python ${env.python ?? '?'}`, ...names.map((n) => `${n}==${env.packages[n]}`)].join('\n') + '\n';
}

export function summarizeEnvironment(env: RunEnvironment): EnvironmentSummary {
  return {
    fingerprint: env.fingerprint,
    python: env.python,
    packages: Object.keys(env.packages).length,
    ...(env.error ? { error: env.error } : {}),
  };
}

/** From `before` to `after`: Python first, then packages in name order; [] when both are equal. */
export function environmentChanges(
  before: Pick<RunEnvironment, 'python' | 'packages'>,
  after: Pick<RunEnvironment, 'python' | 'packages'>,
): EnvironmentChange[] {
  const changes: EnvironmentChange[] = [];
  if (before.python !== after.python) changes.push({ package: PYTHON_ROW, from: before.python, to: after.python });
  const names = [...new Set([...Object.keys(before.packages), ...Object.keys(after.packages)])].sort();
  for (const name of names) {
    const from = before.packages[name] ?? null;
    const to = after.packages[name] ?? null;
    if (from !== to) changes.push({ package: name, from, to });
  }
  return changes;
}

const compare = (now: string | null, then: string | null | undefined): Sameness =>
  now === null || then === null || then === undefined ? 'unknown' : now === then ? 'same' : 'changed';

/**
 * Why `path` fails now: against the run where it last passed (null: it never passed, so nothing
 * can be said), its blob and the environment's fingerprint then and now.
 */
export function newlyFailingChange(
  path: string,
  now: { blob: string | null; fingerprint: string | null },
  lastPass: { runId: string; commit: string; blob: string | null; fingerprint: string | null } | null,
): NewlyFailingChange {
  if (!lastPass) return { path, lastPassed: null, notebook: 'unknown', environment: 'unknown' };
  return {
    path,
    lastPassed: { runId: lastPass.runId, commit: lastPass.commit },
    notebook: compare(now.blob, lastPass.blob),
    environment: compare(now.fingerprint, lastPass.fingerprint),
  };
}

/** One line for reports and the CLI: "the notebook changed since it last passed (run …)". */
export function changeText(c: NewlyFailingChange): string {
  if (!c.lastPassed) return 'never passed before';
  const since = `since it last passed (${c.lastPassed.runId}, ${c.lastPassed.commit.slice(0, 12)})`;
  const nb = c.notebook === 'changed';
  const env = c.environment === 'changed';
  if (nb && env) return `the notebook and the environment changed ${since}`;
  if (nb) return `the notebook changed ${since}`;
  if (env) return `the environment changed ${since}`;
  if (c.notebook === 'same' && c.environment === 'same') {
    return `neither the notebook nor the environment changed ${since}: a service, data or flakiness`;
  }
  const known = [c.notebook === 'same' && 'the notebook', c.environment === 'same' && 'the environment'].filter(
    Boolean,
  );
  return known.length ? `${known.join(' and ')} did not change ${since}; the rest is unknown` : `unknown ${since}`;
}

const SAMENESS: readonly string[] = ['changed', 'same', 'unknown'];

/** A report's `newlyFailingChanges` as read back from its file (the dashboard): the valid entries. */
export function asNewlyFailingChanges(raw: unknown): NewlyFailingChange[] {
  if (!Array.isArray(raw)) return [];
  return raw.filter((c): c is NewlyFailingChange => {
    if (typeof c !== 'object' || c === null) return false;
    const { path, lastPassed, notebook, environment } = c as Record<string, unknown>;
    const last = lastPassed as Record<string, unknown> | null;
    return (
      typeof path === 'string' &&
      SAMENESS.includes(notebook as string) &&
      SAMENESS.includes(environment as string) &&
      (last === null || (typeof last === 'object' && typeof last.runId === 'string' && typeof last.commit === 'string'))
    );
  });
}
