/**
 * The words of a run that the rest of the run model, the alerts and the causes are all made of:
 * its own module so that model.ts can hold alerts' and causes' types without them importing it back.
 */

export type RunKind = 'scheduled' | 'merge' | 'manual' | 'pr';

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
};

/** One error output of a cell; `cell` is the index in the notebook (-1: the injected prerun cell). */
export interface NotebookError {
  cell: number;
  ename: string;
  evalue: string;
  /** ANSI escape codes stripped. */
  traceback: string;
  expected?: boolean;
}
