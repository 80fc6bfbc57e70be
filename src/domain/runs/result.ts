/**
 * One notebook's outcome, as the executor writes it (python/nblc_execute.py) and as the run keeps
 * it (the compact summary in workflow state): the part of the run model that reports, history
 * and alerts read. Re-exported by model.ts, where the rest of a run is.
 */
import type { NotebookError, NotebookStatus } from './status.js';
import type { NotebookSettings } from './contract.js';
import type { NotebookHeader } from './catalog.js';

/** What python/nblc_execute.py writes as its result JSON. */
export interface ExecutorResult {
  status: NotebookStatus;
  durationMs: number;
  kernel: string | null;
  cellsTotal: number;
  cellsRun: number;
  error: NotebookError | null;
  errors: NotebookError[];
  timedOutCell: number | null;
  message: string | null;
  /** Peak memory of the notebook's processes together (cgroup), or of the largest one (`limits: rlimit`/`none`). */
  peakMemoryBytes?: number | null;
  /** CPU time of the kernel and everything it started. */
  cpuSeconds?: number | null;
  /** `off`: NBLC_SANDBOX=off, the kernel ran unconfined as the service's user. Absent in results from before the sandbox. */
  sandbox?: SandboxState;
  /** How memory was bounded and measured (docs/security.md). */
  limits?: ResourceLimits;
  /** An output was cut or left out past NBLC_NOTEBOOK_OUTPUT_LIMIT (the executed notebook says where). */
  outputTruncated?: boolean;
  /** The kernel's network (NBLC_KERNEL_NETWORK); `host`: not network-isolated. Absent in older results. */
  network?: KernelNetwork;
  /** The kernel ran out of its disk bound (NBLC_NOTEBOOK_DISK). */
  diskFull?: boolean;
}

export type KernelNetwork = 'outbound' | 'none' | 'host';

export type SandboxState = 'on' | 'off';
/**
 * `cgroup2` / `cgroup1`: one cgroup for all the notebook's processes (limit, peak, CPU);
 * `rlimit`: no writable cgroup, each process's data bounded (RLIMIT_DATA), peak of the largest
 * process; `none`: unsandboxed, measured only.
 */
export type ResourceLimits = 'cgroup2' | 'cgroup1' | 'rlimit' | 'none';

/**
 * One notebook's outcome as the run reports it. Stored in full on disk
 * (`<results>/<runId>/results/<path>.json`); the workflow only carries {@link NotebookSummary}.
 */
export interface NotebookResult extends ExecutorResult {
  path: string;
  /** Executions of this notebook in this run (more than 1 with `retries`). */
  attempts: number;
  /** Failed first, passed on a retry. */
  flaky?: boolean;
  /** The executed notebook, relative to the run's directory. */
  artifact: string;
  /** The worker that executed it (NBLC_WORKER_NAME, else `<pid>@<host>`); absent in older reports. */
  worker?: string;
  /** The settings it ran with and where each came from (contract.ts); absent in older reports. */
  settings?: NotebookSettings;
  /** A failure after its `skip.until` passed: "its skip expired on … (reason)". */
  skipExpired?: string;
  /**
   * Merge and pull-request runs: why the change selected it (`changed`, `imports <path>`,
   * `same folder as <path>`, `declared`, `environment`; impact.ts). Absent in other runs.
   */
  selectedBecause?: string[];
  /** Its header cell's fields (catalog.ts): author, version, datasets, keywords; absent without a header. */
  catalog?: NotebookHeader;
  /**
   * The notebook file's git blob id (what `git ls-tree` shows for it at the run's commit): whether
   * the notebook itself changed since it last passed. Absent in older reports.
   */
  blob?: string;
}

/** The compact outcome kept in workflow state (history-friendly for thousands of notebooks). */
export interface NotebookSummary {
  path: string;
  status: NotebookStatus;
  durationMs: number;
  attempts: number;
  flaky?: boolean;
}
