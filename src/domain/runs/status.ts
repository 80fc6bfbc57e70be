/**
 * The words of a run that the rest of the run model, the alerts and the causes are all made of:
 * its own module so that model.ts can hold alerts' and causes' types without them importing it back.
 */

export type RunKind = 'scheduled' | 'merge' | 'manual' | 'pr' | 'candidate';

export const NOTEBOOK_STATUSES = [
  'passed',
  'failed',
  'timed_out',
  'kernel_died',
  'needs_input',
  'no_such_kernel',
  'invalid_notebook',
  /** The notebook's processes exceeded NBLC_NOTEBOOK_MEMORY (told apart from `kernel_died`). */
  'out_of_memory',
  /**
   * Not run, on purpose: its contract says `skip` or `interactive`, or no worker has what it
   * `needs` (contract.ts); `message` says why. Neither a pass nor a failure.
   */
  'skipped',
] as const;
export type NotebookStatus = (typeof NOTEBOOK_STATUSES)[number];

/** How a status reads on a page (reports, dashboard). */
export const STATUS_LABEL: Record<NotebookStatus, string> = {
  passed: 'passed',
  failed: 'failed',
  timed_out: 'timed out',
  kernel_died: 'kernel died',
  needs_input: 'needs input',
  no_such_kernel: 'no such kernel',
  invalid_notebook: 'invalid notebook',
  out_of_memory: 'out of memory',
  skipped: 'skipped',
};

/**
 * Whether a status is a failure: everything but a pass and a deliberate skip. Alerts, commit
 * statuses, "newly failing" and the causes all ask this, so that a skip never reads as broken.
 */
export const isFailing = (status: NotebookStatus): boolean => status !== 'passed' && status !== 'skipped';

/** Statuses JUnit reports as <failure> (the notebook's code failed); the others are <error>s. */
export const FAILURE_STATUSES: ReadonlySet<NotebookStatus> = new Set(['failed', 'needs_input']);

/** "1 notebook", "2 notebooks": the one way every page, alert and report counts things. */
export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** One error output of a cell; `cell` is the index in the notebook (-1: the injected prerun cell). */
export interface NotebookError {
  cell: number;
  ename: string;
  evalue: string;
  /** ANSI escape codes stripped. */
  traceback: string;
  expected?: boolean;
}
