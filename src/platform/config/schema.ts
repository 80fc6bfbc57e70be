/** The environment variables nblc reads (besides Temporal's own TEMPORAL_* connection variables), one piece per stage. */
import { z } from 'zod';
import { DEFAULT_MAX_QUEUED_COPIES, MAX_QUEUED_COPIES_LIMIT } from '../../domain/copies/model.js';
import { RUN_LIMITS } from '../../domain/runs/model.js';

const duration = z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/, 'a duration such as 30s, 15m, 1h or 1d');

const port = z.coerce.number().int().min(0).max(65535);

/** The repository and its sync: where it is, which branch, how many snapshots stay. */
const repository = {
  NBLC_REPO_URL: z.string().min(1, 'the git URL of the notebooks repository is required'),
  NBLC_REPO_FULL_NAME: z
    .string()
    .regex(/^[\w.-]+\/[\w.-]+$/, 'must be "<owner>/<name>" as GitHub spells it in push payloads'),
  NBLC_BRANCH: z
    .string()
    .regex(/^[\w./-]+$/, 'a branch name such as main')
    .default('main'),
  NBLC_KEEP_SNAPSHOTS: z.coerce.number().int().min(1).max(1000).default(3),
  NBLC_SYNC_IDLE_TIMEOUT: duration.default('1h'),
};

/** Where nblc keeps its data, the notebooks cache, run results and users' homes. */
const directories = {
  NBLC_DATA_DIR: z.string().default('.nblc'),
  NBLC_CACHE_DIR: z.string().optional(),
  NBLC_RESULTS_DIR: z.string().optional(),
  NBLC_USERS_DIR: z.string().optional(),
  NBLC_USER_CACHE_PATH: z.string().optional(),
};

/** Users' copies. */
const copies = {
  NBLC_COPY_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  NBLC_COPY_MAX_QUEUED: z.coerce.number().int().min(0).max(MAX_QUEUED_COPIES_LIMIT).default(DEFAULT_MAX_QUEUED_COPIES),
  NBLC_UPDATE_COPIES_ON_PUBLISH: z.enum(['true', 'false']).default('false'),
  NBLC_READY_COPY: z.enum(['true', 'false']).default('true'),
};

/** Notebooks at once, within a run's own bounds (RUN_LIMITS): the worker's and the pull requests'. */
const concurrency = (fallback: number) =>
  z.coerce.number().int().min(RUN_LIMITS.concurrency.min).max(RUN_LIMITS.concurrency.max).default(fallback);

/** Test runs: a run's defaults (within the bounds of a run's own options), the executor, when runs start. */
const runs = {
  NBLC_NOTEBOOK_TASK_QUEUE: z.string().min(1).default('nblc-notebooks'),
  NBLC_TEST_CONCURRENCY: concurrency(4),
  NBLC_DEFAULT_KERNEL: z.string().min(1).default('python3'),
  NBLC_CELL_TIMEOUT: z.coerce.number().min(RUN_LIMITS.cellTimeoutS.min).max(RUN_LIMITS.cellTimeoutS.max).default(600),
  NBLC_NOTEBOOK_TIMEOUT: z.coerce
    .number()
    .min(RUN_LIMITS.notebookTimeoutS.min)
    .max(RUN_LIMITS.notebookTimeoutS.max)
    .default(3600),
  NBLC_PRERUN_FILE: z.string().optional(),
  NBLC_NOTEBOOK_OUTPUT_LIMIT: z
    .string()
    .regex(/^\s*\d+(\.\d+)?\s*([KMG]i?B?)?\s*$/i, 'a size such as 64M or 1G')
    .refine(
      (v) =>
        Number.isNaN(outputLimitBytes(v)) || (outputLimitBytes(v) >= 2 ** 20 && outputLimitBytes(v) <= 16 * 2 ** 30),
      {
        message: 'between 1M and 16G: the outputs of one notebook together (one output: a quarter of it)',
      },
    )
    .default('64M'),
  NBLC_PYTHON: z.string().optional(),
  NBLC_EXECUTOR: z.enum(['fork', 'spawn']).default('fork'),
  // KERNELSPEC=mod1,mod2;OTHER=mod3 (`*` for every kernelspec): what kernel fork servers import first
  NBLC_KERNEL_PRELOAD: z
    .string()
    .regex(
      /^\s*(([^\s=;,]+\s*=\s*([A-Za-z_][\w.]*\s*(,\s*[A-Za-z_][\w.]*\s*)*)?)?\s*(;\s*|$))*$/,
      'KERNELSPEC=module,module;OTHER=module (`*=` for every kernelspec)',
    )
    .default(''),
  NBLC_TEST_CRON: z.string().default('0 3 * * *'),
  NBLC_TEST_TIMEZONE: z.string().default('UTC'),
  NBLC_TEST_ON_MERGE: z.enum(['true', 'false']).default('true'),
  /** The memory of a user's notebook server: status.json flags notebooks that need more. */
  NBLC_USER_LAB_MEMORY: z
    .string()
    .regex(/^(\d+(\.\d+)?\s*([KMGT]i?B?)?|0|off)$/i, 'a size such as 4G or 2048M, or off (no flag)')
    .optional(),
  NBLC_PR_FROM_FORKS: z.enum(['true', 'false']).default('false'),
  // Unreviewed code gets less: no prerun cell, no NBLC_KERNEL_ENV, and a bounded tree.
  NBLC_PR_PRERUN: z.enum(['true', 'false']).default('false'),
  // A candidate run (issue 19) sets its own commit status, nblc/candidate, only when asked.
  NBLC_CANDIDATE_STATUS: z.enum(['true', 'false']).default('false'),
  NBLC_PR_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(512 * 1024 * 1024),
  NBLC_PR_MAX_FILES: z.coerce.number().int().min(1).default(20_000),
  // Pull-request notebooks a notebook worker runs at once (their own task queue): merge and
  // scheduled runs are never starved by many open pull requests.
  NBLC_PR_CONCURRENCY: concurrency(2),
};

/** The notebook sandbox (docs/security.md). */
const sandbox = {
  NBLC_SANDBOX: z.enum(['on', 'off']).default('on'),
  NBLC_KERNEL_USER: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'a user name')
    .default('nblc-kernel'),
  NBLC_NOTEBOOK_MEMORY: z
    .string()
    .regex(/^(\d+(\.\d+)?\s*([KMGT]i?B?)?|0|off)$/i, 'a size such as 4G, 512M or 0 (no limit)')
    .default('4G'),
  NBLC_NOTEBOOK_MEMORY_MAX: z
    .string()
    .regex(/^(\d+(\.\d+)?\s*([KMGT]i?B?)?|0|off)$/i, 'a size such as 16G, or 0 (no cap)')
    .optional(),
  NBLC_KERNEL_ENV: z.string().default(''),
  NBLC_KERNEL_NETWORK: z.enum(['outbound', 'none', 'host']).default('outbound'),
  NBLC_KERNEL_NETWORK_ALLOW: z.string().default(''),
  NBLC_NOTEBOOK_CPUS: z
    .string()
    .regex(/^(\d+(\.\d+)?|off)$/i, 'a number of CPUs such as 1 or 0.5, or 0 (no bound)')
    .default('1'),
  NBLC_NOTEBOOK_DISK: z
    .string()
    .regex(/^(\d+(\.\d+)?\s*([KMGT]i?B?)?|0|off)$/i, 'a size such as 1G, 512M or 0 (no bound)')
    .default('1G'),
  NBLC_CGROUP_ROOT: z.string().regex(/^\//, 'an absolute path').optional(),
};

/** Alerts and commit statuses (their URLs and tokens are secrets: secrets.ts). */
const alerts = {
  NBLC_PUBLIC_URL: z.union([z.literal(''), z.string().url()]).optional(),
  NBLC_ALERT_EMAIL_TO: z.string().optional(),
  NBLC_ALERT_EMAIL_FROM: z.string().min(3).default('nblc <nblc@localhost>'),
  NBLC_ALERT_SYNC_AFTER: duration.default('30m'),
  NBLC_ALERT_QUIET_FLAKY: z.enum(['true', 'false']).default('true'),
  NBLC_ALERT_FLAKY_AFTER: z.coerce.number().int().min(1).max(100).default(3),
  // How long the signed report link of a commit status opens it; 0 links to the dashboard (login).
  NBLC_STATUS_LINK_TTL: duration.default('4h'),
  NBLC_GITHUB_API_URL: z.string().url().default('https://api.github.com'),
};

/** The processes: the HTTP API, Temporal (embedded or a cluster), the worker's name, logging. */
const processes = {
  NBLC_HTTP_HOST: z.string().default('127.0.0.1'),
  NBLC_PORT: port.default(8080),
  NBLC_TASK_QUEUE: z.string().min(1).default('nblc'),
  NBLC_TEMPORAL_PORT: port.default(7233),
  NBLC_TEMPORAL_UI_PORT: port.default(8233),
  NBLC_TEMPORAL_UI_URL: z.string().url().optional(),
  NBLC_TEMPORAL_BIN: z.string().optional(),
  NBLC_WORKER_NAME: z.string().min(1).optional(),
  NBLC_WORKER_LABELS: z.string().default(''),
  NBLC_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
};

export const schema = z.object({
  ...repository,
  ...directories,
  ...copies,
  ...runs,
  ...sandbox,
  ...alerts,
  ...processes,
});

/**
 * What each required setting is, with an example: a new operator who left one out (or got it
 * wrong) reads in the error what to put there, not only zod's type complaint.
 */
export const SETTING_HELP: Record<string, { what: string; example: string }> = {
  NBLC_REPO_URL: {
    what: 'the git URL of the notebooks repository nblc syncs, tests and copies to users',
    example: 'https://github.com/OWNER/NAME.git',
  },
  NBLC_REPO_FULL_NAME: {
    what: 'that repository as GitHub names it in webhook payloads',
    example: 'OWNER/NAME',
  },
};

/** The variables as parsed, with their defaults. */
export type Vars = z.infer<typeof schema>;

/** `64M`, `1.5G`, `1048576` as bytes (binary units, as NBLC_NOTEBOOK_MEMORY). */
export function outputLimitBytes(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMG]?)/i.exec(text);
  if (!m) return NaN;
  const unit = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Math.floor(Number(m[1]) * unit);
}
