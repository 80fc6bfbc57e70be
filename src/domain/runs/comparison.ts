/**
 * A candidate run against its baseline (issue 19): the verdict diff an operator reads before a
 * new kernel environment reaches users. Per notebook: `same`, `newly failing`, `fixed`, `still
 * failing (other cause)` or `only here`; the newly failing grouped by root cause; and the package
 * diff between the two environments, the changed packages that the newly failing notebooks'
 * tracebacks name first. Pure: the report activity reads both runs and calls this.
 */
import { causeOf, causeText, type CauseInput } from './causes.js';
import { environmentChanges, normalizeName, PYTHON_ROW, type RunEnvironment } from './environment.js';
import { isFailing, plural, type NotebookError, type NotebookStatus, type RunKind } from './status.js';

export const VERDICTS = ['newly failing', 'fixed', 'still failing (other cause)', 'only here', 'same'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** What the comparison needs of a notebook (a NotebookResult, or a report.json entry). */
export interface ComparedNotebook extends CauseInput {
  error: (Pick<NotebookError, 'ename' | 'evalue'> & { traceback?: string }) | null;
}

export interface ComparedRun {
  runId: string;
  kind: RunKind | 'candidate';
  commit: string;
  notebooks: readonly ComparedNotebook[];
  /** The environment the diff is taken from (the run's primary kernel's). */
  environment?: RunEnvironment;
}

export interface NotebookVerdict {
  path: string;
  verdict: Verdict;
  before: NotebookStatus | null;
  after: NotebookStatus;
  /** The cause now (and before), when it did not pass. */
  cause?: string;
  causeBefore?: string;
}

export interface PackageDiff {
  package: string;
  from: string | null;
  to: string | null;
  /** How many newly failing notebooks' tracebacks name it (0: none). */
  named: number;
}

export interface RunComparison {
  baseline: { runId: string; kind: string; commit: string; kernel: string | null };
  kernel: string | null;
  counts: Record<Verdict, number>;
  /** Every notebook of the candidate run, in its order. */
  notebooks: NotebookVerdict[];
  /** Baseline notebooks the candidate did not run. */
  notRun: string[];
  /** The newly failing by root cause, largest first. */
  newlyFailing: Array<{ cause: string; notebooks: string[] }>;
  /** From the baseline's environment to the candidate's: named packages first, then Python, then by name. */
  packages: PackageDiff[];
  /** Why there is no package diff (an environment was not measured). */
  packagesMissing?: string;
}

const causeOfText = (nb: ComparedNotebook) => {
  const c = causeOf(nb);
  return c ? causeText(c) : undefined;
};

/** The verdict of one notebook from its result here and in the baseline (undefined: not there). */
export function verdictOf(after: ComparedNotebook, before: ComparedNotebook | undefined): Verdict {
  if (!before) return 'only here';
  const now = isFailing(after.status);
  const then = isFailing(before.status);
  if (now && !then) return 'newly failing';
  if (!now && then) return 'fixed';
  if (now && then && causeOfText(after) !== causeOfText(before)) return 'still failing (other cause)';
  return 'same';
}

/** The module names a distribution is imported as, by convention (PEP 503 name, `-` → `_`). */
const moduleNames = (pkg: string) => [...new Set([pkg, pkg.replace(/-/g, '_')])];

/** How many of `texts` name the package: as a word (an import, a module path, an attribute's owner). */
function timesNamed(pkg: string, texts: readonly string[]): number {
  if (pkg === PYTHON_ROW) return 0;
  const res = moduleNames(pkg).map(
    (m) => new RegExp(`(^|[^A-Za-z0-9_.-])${m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^A-Za-z0-9_-])`, 'i'),
  );
  return texts.filter((t) => res.some((re) => re.test(t))).length;
}

/** The package diff, the packages the failures name first (most named first), then Python, then names. */
export function packageDiff(
  before: Pick<RunEnvironment, 'python' | 'packages'>,
  after: Pick<RunEnvironment, 'python' | 'packages'>,
  failureTexts: readonly string[],
): PackageDiff[] {
  const rows = environmentChanges(before, after).map((c) => ({
    ...c,
    named: timesNamed(normalizeName(c.package), failureTexts),
  }));
  const rank = (r: PackageDiff) => (r.named > 0 ? 0 : r.package === PYTHON_ROW ? 1 : 2);
  return rows.sort(
    (a, b) => rank(a) - rank(b) || b.named - a.named || (a.package < b.package ? -1 : a.package > b.package ? 1 : 0),
  );
}

/** The candidate run against its baseline. */
export function compareRuns(baseline: ComparedRun, candidate: ComparedRun): RunComparison {
  const before = new Map(baseline.notebooks.map((nb) => [nb.path, nb]));
  const here = new Set(candidate.notebooks.map((nb) => nb.path));
  const counts = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
  const notebooks: NotebookVerdict[] = [];
  const groups = new Map<string, string[]>();
  const failureTexts: string[] = [];
  for (const nb of candidate.notebooks) {
    const then = before.get(nb.path);
    const verdict = verdictOf(nb, then);
    counts[verdict]++;
    const cause = causeOfText(nb);
    const causeBefore = then ? causeOfText(then) : undefined;
    notebooks.push({
      path: nb.path,
      verdict,
      before: then?.status ?? null,
      after: nb.status,
      ...(cause ? { cause } : {}),
      ...(causeBefore ? { causeBefore } : {}),
    });
    if (verdict === 'newly failing') {
      const key = cause ?? nb.status;
      groups.set(key, [...(groups.get(key) ?? []), nb.path]);
      failureTexts.push([nb.error?.ename, nb.error?.evalue, nb.error?.traceback, nb.message].join('\n'));
    }
  }
  const from = baseline.environment;
  const to = candidate.environment;
  const measured = (e: RunEnvironment | undefined) => e !== undefined && e.fingerprint !== null;
  return {
    baseline: {
      runId: baseline.runId,
      kind: baseline.kind,
      commit: baseline.commit,
      kernel: from?.kernel ?? null,
    },
    kernel: to?.kernel ?? null,
    counts,
    notebooks,
    notRun: baseline.notebooks.filter((nb) => !here.has(nb.path)).map((nb) => nb.path),
    newlyFailing: [...groups]
      .map(([cause, paths]) => ({ cause, notebooks: paths }))
      .sort((a, b) => b.notebooks.length - a.notebooks.length),
    packages: measured(from) && measured(to) ? packageDiff(from!, to!, failureTexts) : [],
    ...(measured(from) && measured(to)
      ? {}
      : { packagesMissing: `the ${measured(from) ? 'candidate' : 'baseline'}'s environment was not measured` }),
  };
}

/** Whether a gate passes: no more newly failing notebooks than allowed. */
export const gatePasses = (c: Pick<RunComparison, 'counts'>, allowed = 0): boolean =>
  c.counts['newly failing'] <= allowed;

/** The comparison as text (`nblc test --wait`, summaries): the package diff first, then the verdicts. */
export function comparisonText(c: RunComparison, maxRows = 30): string {
  const lines = [
    `compared with ${c.baseline.kind} run ${c.baseline.runId} (${c.baseline.kernel ?? '?'} → ${c.kernel ?? '?'})`,
  ];
  if (c.packages.length) {
    lines.push('packages:');
    for (const p of c.packages.slice(0, maxRows))
      lines.push(
        `  ${p.package} ${p.from ?? '(none)'} → ${p.to ?? '(none)'}${p.named ? `  (named by ${plural(p.named, 'failure')})` : ''}`,
      );
    if (c.packages.length > maxRows) lines.push(`  … ${c.packages.length - maxRows} more`);
  } else lines.push(c.packagesMissing ? `packages: unknown, ${c.packagesMissing}` : 'packages: no change');
  const counted = VERDICTS.filter((v) => c.counts[v] > 0).map((v) => `${c.counts[v]} ${v}`);
  lines.push(`verdicts: ${counted.join(', ') || 'no notebooks'}`);
  for (const g of c.newlyFailing) {
    lines.push(`newly failing, ${plural(g.notebooks.length, 'notebook')}: ${g.cause}`);
    for (const p of g.notebooks.slice(0, maxRows)) lines.push(`  ${p}`);
  }
  for (const v of ['fixed', 'still failing (other cause)', 'only here'] as const) {
    const paths = c.notebooks.filter((n) => n.verdict === v).map((n) => n.path);
    if (paths.length) lines.push(`${v}: ${paths.slice(0, maxRows).join(', ')}`);
  }
  if (c.notRun.length) lines.push(`not run here (in the baseline): ${c.notRun.length}`);
  return lines.join('\n');
}
