/**
 * Root causes: the failing notebooks of a run grouped by what went wrong first, so that an
 * operator reads "29 notebooks: ModuleNotFoundError: No module named 'numpy'" instead of 29 rows.
 * Pure (imported by the report activity, the terminal summary and the history store).
 *
 * A notebook's cause is its first unexpected error (the executor's `error`), or, when the status
 * was decided by something other than an error (timeout, dead kernel, invalid notebook), the
 * executor's message. Texts are normalized so that what varies from notebook to notebook or run
 * to run (addresses, temporary paths, timings, cell numbers) does not split a group, while what
 * names the cause (module names, error codes, keys) is kept.
 */
import type { NotebookError, NotebookStatus } from './status.js';

export interface Cause {
  status: NotebookStatus;
  /** The exception class; '' when the status was not decided by an error. */
  ename: string;
  /** Normalized: the first line of the evalue (or message), with varying parts replaced. */
  evalue: string;
}

/** One line of report.json's `causes`: the notebooks (in run order) that share a cause. */
export interface RunCause extends Cause {
  notebooks: string[];
}

/** What a cause is computed from (a NotebookResult, or a report.json entry). */
export interface CauseInput {
  path: string;
  status: NotebookStatus;
  error: Pick<NotebookError, 'ename' | 'evalue'> | null;
  message: string | null;
}

const MAX_TEXT = 200;

/**
 * The evalue as a grouping key and display text. Replaced: hex addresses (`0x7f3a…`), UUIDs,
 * ISO timestamps, numbers with a fraction or of 4+ digits (timings, sizes, pids, ports), and
 * absolute paths (down to their last component: scratch directories carry the run's name).
 * Kept: short integers (HTTP status, errno, axis), digits inside words (`h5py`), quoted names.
 */
export function normalizeText(text: string): string {
  const first = (text.split('\n', 1)[0] ?? '').trim();
  const normalized = first
    .replace(
      /(^|[\s'"([=:])(\/(?!\/)[^\s'"),\]]*\/)([^\s/'"),\]]+)/g,
      (_m, pre: string, _dir, base: string) => `${pre}…/${base}`,
    )
    .replace(/\b0x[0-9a-fA-F]{4,}\b/g, '0x…')
    .replace(/\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b/g, '<uuid>')
    .replace(/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?/g, '<time>')
    .replace(/(?<![\w.])\d+\.\d+(?![\w.])/g, '<n>')
    .replace(/(?<![\w.])\d{4,}(?![\w.])/g, '<n>')
    .replace(/\s+/g, ' ');
  return normalized.length > MAX_TEXT ? `${normalized.slice(0, MAX_TEXT - 1)}…` : normalized;
}

/**
 * An error's name as a cause and in messages: a kernel chooses it (any class name, any text), so
 * like the evalue it is one line, whitespace collapsed, at most 200 characters.
 */
export function normalizeName(ename: string): string {
  const first = (ename.split('\n', 1)[0] ?? '').trim().replace(/\s+/g, ' ');
  return first.length > MAX_TEXT ? `${first.slice(0, MAX_TEXT - 1)}…` : first;
}

/**
 * An executor message as a cause: which cell it happened in is not part of the cause, nor is what
 * happened after it (`…; then cell 7 exceeded …`).
 */
function normalizeMessage(message: string): string {
  const first = (message.split('\n', 1)[0] ?? '').split('; then ', 1)[0] ?? '';
  return normalizeText(first.replace(/\b(prerun )?cell \d+\b/g, 'a cell').replace(/\bprerun cell\b/g, 'a cell'));
}

export function causeOf(nb: Pick<CauseInput, 'status' | 'error' | 'message'>): Cause | null {
  if (nb.status === 'passed') return null;
  if (nb.error) {
    return { status: nb.status, ename: normalizeName(nb.error.ename), evalue: normalizeText(nb.error.evalue) };
  }
  return { status: nb.status, ename: '', evalue: nb.message ? normalizeMessage(nb.message) : '' };
}

/** "ModuleNotFoundError: No module named 'numpy'", or the message, or the status. */
export function causeText(c: Cause): string {
  if (c.ename && c.evalue) return `${c.ename}: ${c.evalue}`;
  return c.ename || c.evalue || c.status.replace(/_/g, ' ');
}

/** "29 notebooks: ModuleNotFoundError: No module named 'numpy'". */
export function causeLine(c: RunCause): string {
  const n = c.notebooks.length;
  return `${n} notebook${n === 1 ? '' : 's'}: ${causeText(c)}`;
}

/** The not-passing notebooks grouped by cause: largest group first, ties in run order. */
export function groupCauses(notebooks: readonly CauseInput[]): RunCause[] {
  const groups = new Map<string, RunCause>();
  for (const nb of notebooks) {
    const cause = causeOf(nb);
    if (!cause) continue;
    const key = JSON.stringify([cause.status, cause.ename, cause.evalue]);
    const group = groups.get(key);
    if (group) group.notebooks.push(nb.path);
    else groups.set(key, { ...cause, notebooks: [nb.path] });
  }
  // Array.prototype.sort is stable: equal sizes keep the order of their first notebook.
  return [...groups.values()].sort((a, b) => b.notebooks.length - a.notebooks.length);
}
