/**
 * The report of a notebook test run, written into the run's directory:
 *
 *   <resultsDir>/<runId>/report.json   the TestReport (src/domain/runs/model.ts), written last
 *   <resultsDir>/<runId>/junit.xml     for CI tools
 *   <resultsDir>/<runId>/report.html   one self-contained page for operators
 *
 * Inputs are the per-notebook result files (`results/<path>.json`, written by runNotebook) and
 * the previous finished run of the same kind (its report.json) for "newly failing" / "fixed".
 * Every file is written to a hidden temporary name and renamed into place, and the output
 * depends only on the inputs and the files, so a rerun after a crash converges to the same bytes.
 */
import { ApplicationFailure } from '@temporalio/common';
import path from 'node:path';
import { mapLimit, writeFileAtomic } from '../../files.js';
import {
  countSummaries,
  isFailing,
  NOTEBOOK_STATUSES,
  RUN_FAILURES,
  type NotebookError,
  type NotebookResult,
  type NotebookStatus,
  type KernelNetwork,
  type ResourceLimits,
  type RunKind,
  type TestReport,
} from '../../../domain/runs/model.js';
import { groupCauses } from '../../../domain/runs/causes.js';
import { renderHtml } from '../../../views/runs/report/html.js';
import {
  READ_CONCURRENCY,
  REPORT_FILES,
  isObject,
  isRunDirName,
  unexecutedResult,
} from '../../../domain/runs/run-dir.js';
import { sharedDatasets } from '../../../domain/runs/catalog.js';
import { isFile, readCatalog, readSettings, withSettings } from './run-files.js';
import { readRunRecord } from '../run-record.js';
import { environmentFields, type EnvironmentInput } from './environment.js';
import { findPreviousRun } from './previous.js';
import { compareWithBaseline } from './comparison.js';
import { renderJunit } from '../../../views/runs/report/junit.js';
import { readRunWarnings } from './warnings.js';
import { readCapped } from '../../../platform/capped-read.js';
import { cut, oneLine, REPORT_LIMITS } from './limits.js';

export interface WriteReportOptions {
  /** NBLC_RESULTS_DIR; the run's directory is `<resultsDir>/<runId>/`. */
  resultsDir: string;
  runId: string;
  commit: string;
  kind: RunKind;
  startedAt: string;
  finishedAt: string;
  /** Every notebook of the run, in the run's order. */
  paths: string[];
  /** Link to the run in the Temporal UI. */
  temporalUiUrl?: string;
  /** Why the environment probe's activity failed, when it did. */
  environmentError?: string;
  /** A candidate run's baseline (a run ID): the report adds the comparison with it. */
  baseline?: string;
  /** The notebook history and the default kernel, for the environment's comparisons. */
  environment?: Pick<EnvironmentInput, 'kernel' | 'store' | 'kernelStore'>;
}

export const NO_RESULT_MESSAGE = 'no result was recorded';

export async function writeReport(opts: WriteReportOptions): Promise<TestReport> {
  if (!isRunDirName(opts.runId)) {
    throw ApplicationFailure.nonRetryable(`"${opts.runId}" is not a run directory name`, RUN_FAILURES.badReportInput);
  }
  for (const [name, value] of [
    ['startedAt', opts.startedAt],
    ['finishedAt', opts.finishedAt],
  ] as const) {
    if (Number.isNaN(Date.parse(value))) {
      throw ApplicationFailure.nonRetryable(`${name} "${value}" is not a timestamp`, RUN_FAILURES.badReportInput);
    }
  }
  const runDir = path.join(opts.resultsDir, opts.runId);
  const paths = [...new Set(opts.paths)];
  const settings = await readSettings(runDir);
  const startedAt = Date.parse(opts.startedAt);
  const selection = (await readRunRecord(opts.resultsDir, opts.runId))?.selection ?? {};
  const catalog = await readCatalog(runDir);
  const notebooks = (await mapLimit(paths, READ_CONCURRENCY, (p) => readResult(runDir, p))).map((nb) => {
    const why = Object.hasOwn(selection, nb.path) ? selection[nb.path] : undefined;
    const header = Object.hasOwn(catalog, nb.path) ? catalog[nb.path] : undefined;
    return {
      ...withSettings(nb, settings[nb.path], startedAt),
      ...(why ? { selectedBecause: why } : {}),
      ...(header ? { catalog: header } : {}),
    };
  });
  const shared = sharedDatasets(
    notebooks.filter((n) => isFailing(n.status)).map((n) => n.path),
    catalog,
  );
  if (opts.baseline !== undefined && !isRunDirName(opts.baseline)) {
    throw ApplicationFailure.nonRetryable(
      `"${opts.baseline}" is not a run directory name`,
      RUN_FAILURES.badReportInput,
    );
  }
  // A pull request's run compared with another pull request's would say nothing; a candidate
  // run is compared with its baseline (comparison below), not with the previous candidate.
  const previous =
    opts.kind === 'pr' || opts.kind === 'candidate'
      ? null
      : await findPreviousRun(opts.resultsDir, opts.runId, opts.kind, opts.startedAt);
  const { newlyFailing, fixed } = compareWithPrevious(notebooks, previous?.statuses ?? null);
  const warnings = await readRunWarnings(runDir);

  const report: TestReport = {
    runId: opts.runId,
    commit: opts.commit,
    kind: opts.kind,
    startedAt: opts.startedAt,
    finishedAt: opts.finishedAt,
    counts: countSummaries(notebooks),
    causes: groupCauses(notebooks),
    ...(shared.length ? { sharedDatasets: shared } : {}),
    notebooks,
    newlyFailing,
    fixed,
    previousRunId: previous?.runId ?? null,
    ...(opts.temporalUiUrl ? { temporalUiUrl: opts.temporalUiUrl } : {}),
    ...unsandboxedCount(notebooks),
    ...(warnings.length ? { warnings } : {}),
    ...networkCount(notebooks),
    // After the notebooks: peekReport reads the head of the file, which stays small.
    ...(await environmentFields({
      runDir,
      runId: opts.runId,
      finishedAt: opts.finishedAt,
      kernel: opts.environment?.kernel ?? 'python3',
      store: opts.environment?.store,
      kernelStore: opts.environment?.kernelStore,
      notebooks,
      newlyFailing,
      ...(opts.environmentError ? { environmentError: opts.environmentError } : {}),
      candidate: opts.kind === 'candidate',
    })),
  };
  if (opts.baseline) report.comparison = await compareWithBaseline(opts.resultsDir, opts.baseline, report);

  const artifacts = new Set<string>();
  await mapLimit(notebooks, READ_CONCURRENCY, async (nb) => {
    if (await isFile(path.join(runDir, nb.artifact))) artifacts.add(nb.path);
  });

  await writeFileAtomic(path.join(runDir, REPORT_FILES.junit), renderJunit(report));
  await writeFileAtomic(
    path.join(runDir, REPORT_FILES.html),
    renderHtml(report, { hasArtifact: (nb) => artifacts.has(nb.path) }),
  );
  // Last: an existing report.json means the whole report is there (and the next run may compare with it).
  await writeFileAtomic(path.join(runDir, REPORT_FILES.json), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

/**
 * newlyFailing: not passed now, and passed in the previous run or not part of it (a new notebook
 * that fails is newly failing). fixed: passed now and not passed in the previous run. Both in
 * the run's order. Without a previous run there is nothing to compare with: both are empty.
 */
export function compareWithPrevious(
  notebooks: Array<Pick<NotebookResult, 'path' | 'status'>>,
  previous: ReadonlyMap<string, NotebookStatus> | null,
): { newlyFailing: string[]; fixed: string[] } {
  if (!previous) return { newlyFailing: [], fixed: [] };
  const newlyFailing: string[] = [];
  const fixed: string[] = [];
  for (const nb of notebooks) {
    const before = previous.get(nb.path);
    if (isFailing(nb.status) && (before === undefined || !isFailing(before))) newlyFailing.push(nb.path);
    if (nb.status === 'passed' && before !== undefined && isFailing(before)) fixed.push(nb.path);
  }
  return { newlyFailing, fixed };
}

/** NBLC_SANDBOX=off leaves a mark on the report: how many notebooks ran unconfined. */
/** Kernels on the host's network: NBLC_KERNEL_NETWORK=host, or NBLC_SANDBOX=off. */
function networkCount(notebooks: NotebookResult[]): { networkNotIsolated?: number } {
  const n = notebooks.filter((nb) => nb.network === 'host' || nb.sandbox === 'off').length;
  return n ? { networkNotIsolated: n } : {};
}

function unsandboxedCount(notebooks: NotebookResult[]): { unsandboxed?: number } {
  const n = notebooks.filter((nb) => nb.sandbox === 'off').length;
  return n ? { unsandboxed: n } : {};
}

// ---------------------------------------------------------------------------------------------
// Reading the notebooks' results

/** A relative path without `.`/`..`/empty segments: it cannot leave the directory it is joined to. */
function isSafeRelative(p: string): boolean {
  return (
    p.length > 0 &&
    !p.startsWith('/') &&
    !p.includes('\\') &&
    !p.includes('\0') &&
    p.split('/').every((s) => s !== '' && s !== '.' && s !== '..')
  );
}

/** A notebook the run recorded no usable result for: reported as an infrastructure failure. */
function unrecorded(nbPath: string, message: string): NotebookResult {
  return unexecutedResult(nbPath, 'kernel_died', message);
}

/** The notebook's result file, normalized to exactly the NotebookResult fields; never throws for a bad file. */
async function readResult(runDir: string, nbPath: string): Promise<NotebookResult> {
  if (!isSafeRelative(nbPath)) return unrecorded(nbPath, 'not read: the path is not a relative path inside the run');
  // EACCES, EIO, EMFILE… throw: an infrastructure problem, retried by the activity
  const read = await readCapped(path.join(runDir, 'results', `${nbPath}.json`), REPORT_LIMITS.resultFile);
  if (read.kind === 'missing') return unrecorded(nbPath, NO_RESULT_MESSAGE);
  if (read.kind === 'refused') return unrecorded(nbPath, `the result file is unreadable: ${read.why}`);
  try {
    return normalizeResult(JSON.parse(read.text), nbPath);
  } catch (err) {
    return unrecorded(nbPath, `the result file is unreadable: ${(err as Error).message}`);
  }
}

const LIMITS: readonly ResourceLimits[] = ['cgroup2', 'cgroup1', 'rlimit', 'none'];
const NETWORKS: readonly KernelNetwork[] = ['outbound', 'none', 'host'];
const num = (v: unknown, dflt: number) => (typeof v === 'number' && Number.isFinite(v) ? v : dflt);
const strOrNull = (v: unknown) => (typeof v === 'string' ? v : null);

/**
 * An error as the report holds it, whatever the result file says: the name one line of at most
 * 200 characters, the value and the traceback cut (the first error's traceback longer than the
 * others'), so that no notebook can make report.json too large to read back.
 */
function normalizeError(v: unknown, tracebackLimit = REPORT_LIMITS.traceback): NotebookError | null {
  if (!isObject(v)) return null;
  return {
    cell: num(v.cell, -1),
    ename: typeof v.ename === 'string' ? oneLine(v.ename, REPORT_LIMITS.ename) : '',
    evalue: typeof v.evalue === 'string' ? cut(v.evalue, REPORT_LIMITS.evalue) : '',
    traceback: typeof v.traceback === 'string' ? cut(v.traceback, tracebackLimit) : '',
    ...(v.expected === true ? { expected: true } : {}),
  };
}

export function normalizeResult(raw: unknown, nbPath: string): NotebookResult {
  if (!isObject(raw)) throw new Error('not a JSON object');
  const status = raw.status;
  if (!NOTEBOOK_STATUSES.includes(status as NotebookStatus))
    throw new Error(`unknown status ${JSON.stringify(status)}`);
  const artifact =
    typeof raw.artifact === 'string' && isSafeRelative(raw.artifact) ? raw.artifact : `executed/${nbPath}`;
  return {
    status: status as NotebookStatus,
    durationMs: num(raw.durationMs, 0),
    kernel: strOrNull(raw.kernel),
    cellsTotal: num(raw.cellsTotal, 0),
    cellsRun: num(raw.cellsRun, 0),
    error: normalizeError(raw.error),
    errors: Array.isArray(raw.errors)
      ? raw.errors
          .slice(0, REPORT_LIMITS.errors)
          .map((e) => normalizeError(e, REPORT_LIMITS.laterTraceback))
          .filter((e): e is NotebookError => e !== null)
      : [],
    timedOutCell: typeof raw.timedOutCell === 'number' ? raw.timedOutCell : null,
    message: strOrNull(raw.message),
    // measured by executors since the sandbox; absent from older results
    ...(typeof raw.peakMemoryBytes === 'number' || raw.peakMemoryBytes === null
      ? { peakMemoryBytes: raw.peakMemoryBytes }
      : {}),
    ...(typeof raw.cpuSeconds === 'number' || raw.cpuSeconds === null ? { cpuSeconds: raw.cpuSeconds } : {}),
    ...(raw.sandbox === 'on' || raw.sandbox === 'off' ? { sandbox: raw.sandbox } : {}),
    ...(LIMITS.includes(raw.limits as ResourceLimits) ? { limits: raw.limits as ResourceLimits } : {}),
    ...(raw.outputTruncated === true ? { outputTruncated: true } : {}),
    ...(NETWORKS.includes(raw.network as KernelNetwork) ? { network: raw.network as KernelNetwork } : {}),
    ...(raw.diskFull === true ? { diskFull: true } : {}),
    path: nbPath, // the run's path, whatever the file says
    attempts: num(raw.attempts, 1),
    ...(raw.flaky === true ? { flaky: true } : {}),
    artifact,
    ...(typeof raw.worker === 'string' ? { worker: raw.worker } : {}),
    ...(typeof raw.blob === 'string' && /^[0-9a-f]{40,64}$/.test(raw.blob) ? { blob: raw.blob } : {}),
  };
}
