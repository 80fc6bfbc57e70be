/** The validated configuration every part of nblc reads: its shape, stage by stage. */
import type { Secret } from '../secret.js';
import type { Vars } from './schema.js';

export type Env = Record<string, string | undefined>;

export interface Config {
  repo: { url: string; fullName: string; branch: string; token?: Secret };
  /**
   * Current secret first, then the previous one while a rotation is under way. Empty when not
   * configured: only the HTTP API needs it, and refuses to start without it.
   */
  webhookSecrets: Secret[];
  apiToken?: Secret;
  /**
   * Signs report links (report-links.ts): NBLC_LINK_SECRET, or the operator token when unset. A
   * worker that puts links into alerts needs it; given this one, it never holds the operator token.
   */
  linkSecret?: Secret;
  /** Signs per-user tokens (user-tokens.ts): a user's own copy requests without the operator token. */
  userTokenSecret?: Secret;
  dataDir: string;
  /** PostgreSQL for the notebook history; unset: SQLite in dataDir (src/platform/database.ts). */
  databaseUrl?: Secret;
  cacheDir: string;
  resultsDir: string;
  usersDir: string;
  /** The cache as users see it: the target of their `notebooks-latest` link. */
  userCachePath: string;
  keepSnapshots: number;
  /**
   * `publicUrl`: the API as browsers and people reach it (behind a proxy): https makes session
   * cookies Secure; alerts and commit statuses link to reports under it.
   */
  http: { host: string; port: number; publicUrl?: string };
  taskQueue: string;
  syncIdleTimeout: string;
  temporal: {
    /** Undefined: nblc runs its own embedded dev server. */
    address?: string;
    /** TEMPORAL_API_KEY, or the file in TEMPORAL_API_KEY_FILE (Temporal's envconfig has no _FILE form). */
    apiKey?: Secret;
    namespace: string;
    uiUrl: string;
    embedded: { port: number; uiPort: number; binary: string; dbFile: string };
  };
  tests: {
    /** Notebook execution runs on its own task queue, so it can scale onto more hosts. */
    taskQueue: string;
    concurrency: number;
    defaultKernel: string;
    cellTimeoutS: number;
    notebookTimeoutS: number;
    prerunFile?: string;
    /** NBLC_NOTEBOOK_OUTPUT_LIMIT in bytes: a notebook's outputs together; past it they are cut. */
    outputLimitBytes: number;
    python: string;
    /** `fork`: executors forked by a per-worker fork server; `spawn`: a new Python per notebook. */
    executor: 'fork' | 'spawn';
    /** Cron of the scheduled full run; null when NBLC_TEST_CRON=off. */
    cron: string | null;
    timezone: string;
    onMerge: boolean;
  };
  /** The users' copies (their paths, usersDir and userCachePath, stay with the other directories). */
  copies: {
    /** Users processed at once by a bulk provision or update. */
    concurrency: number;
    /** After each publish, update every user's `notebooks/` in place (a bulk update workflow). */
    updateOnPublish: boolean;
    /** Keep one copy of the published snapshot assembled, for the next `provision` / `latest` (ready.ts). */
    readyCopy: boolean;
    /** A user's requests that may wait behind the running one; more are refused (429). */
    maxQueued: number;
  };
  /**
   * This worker process in notebook results and as its Temporal identity (the UI shows who ran
   * an activity): NBLC_WORKER_NAME, else `<pid>@<host>` as the SDK names workers.
   */
  workerName: string;
  /**
   * What this notebook worker offers (NBLC_WORKER_LABELS: `bigmem,datalab-auth`): notebooks whose
   * contract `needs` them run only on workers that have them all (contract.ts, labelQueue).
   */
  workerLabels: string[];
  sandbox: SandboxConfig;
  alerts: {
    /** Slack-compatible incoming webhooks (NBLC_ALERT_WEBHOOK_URL, comma-separated). */
    webhookUrls: Secret[];
    smtpUrl?: Secret;
    emailTo: string[];
    emailFrom: string;
    /** Alert when the sync has failed for this long (and again when it recovers). */
    syncAfter: string;
    /** Notebooks flaky in the history alert only after `flakyAfter` failed runs in a row. */
    quietFlaky: boolean;
    flakyAfter: number;
    /**
     * Seconds a commit status's signed report link opens report.html and the executed notebooks
     * (NBLC_STATUS_LINK_TTL); 0: the status links to the report behind the dashboard's login.
     */
    statusLinkTtlS: number;
  };
  github: {
    token?: Secret;
    apiUrl: string;
    prFromForks: boolean;
    /** NBLC_PR_PRERUN: pull-request runs get the prerun cell and NBLC_KERNEL_ENV too. */
    prPrerun: boolean;
    /** NBLC_PR_MAX_BYTES, NBLC_PR_MAX_FILES: a PR's tree beyond these is refused. */
    prMaxBytes: number;
    prMaxFiles: number;
    /**
     * NBLC_PR_CONCURRENCY: pull-request notebooks one notebook worker process runs at once (on
     * their own task queue, `<notebook queue>-pr`), within NBLC_TEST_CONCURRENCY.
     */
    prConcurrency: number;
  };
  logLevel: Vars['NBLC_LOG_LEVEL'];
  /** The raw environment, for Temporal's own TEMPORAL_* variables (TLS, API key, profiles). */
  env: Env;
}

/** How notebook kernels are confined (python/nblc_sandbox.py, docs/security.md). */
export interface SandboxConfig {
  /** NBLC_SANDBOX=off: kernels run as the service, unconfined (a warning on every run). */
  enabled: boolean;
  /** The kernels' user when the worker runs as root. */
  kernelUser: string;
  /** Memory of one notebook's processes together, as given (`4G`); '0': no limit. */
  notebookMemory: string;
  /**
   * The most a notebook's contract may ask for (`metadata.nblc.memory`, NBLC_NOTEBOOK_MEMORY_MAX);
   * as given, '0': no cap. Unset: NBLC_NOTEBOOK_MEMORY (a notebook may ask for less, not more).
   */
  notebookMemoryMax: string;
  /** Variables of the worker's environment passed on to kernels (besides PATH, LANG, LC_*, TZ). */
  kernelEnv: string[];
  /** A cgroup v2 folder delegated to nblc for the notebooks' cgroups; unset: detected. */
  cgroupRoot?: string;
  /** NBLC_KERNEL_NETWORK: `outbound` (own namespace, slirp4netns, private ranges closed), `none`, `host`. */
  network: 'outbound' | 'none' | 'host';
  /** NBLC_KERNEL_NETWORK_ALLOW: IPv4 CIDRs, addresses or address:port an `outbound` kernel may reach anyway. */
  networkAllow: string[];
  /** NBLC_NOTEBOOK_CPUS: CPUs of one notebook's processes together (cgroup quota); 0: no bound. */
  notebookCpus: number;
  /** NBLC_NOTEBOOK_DISK: its writable folder and /tmp together, as given (`1G`); '0': no bound. */
  notebookDisk: string;
}
