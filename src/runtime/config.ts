/**
 * One typed, validated configuration, read from the environment.
 *
 * Secrets may be given inline (`NBLC_WEBHOOK_SECRET`) or as a file (`NBLC_WEBHOOK_SECRET_FILE`,
 * the Docker/Kubernetes secrets convention). They are wrapped in {@link Secret} so that logging
 * or serializing a config object never prints them.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_MAX_QUEUED_COPIES, MAX_QUEUED_COPIES_LIMIT } from '../copies/model.js';
import { USER_TOKEN_PREFIX } from '../copies/user-tokens.js';
import { RUN_LIMITS } from '../runs/model.js';
import { Secret } from './secret.js';

export type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const PROJECT_ROOT = path.resolve(import.meta.dirname, '..', '..');

const duration = z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/, 'a duration such as 30s, 15m, 1h or 1d');

const port = z.coerce.number().int().min(0).max(65535);

/** The variables nblc reads (besides Temporal's own TEMPORAL_* connection variables). */
const schema = z.object({
  NBLC_REPO_URL: z.string().min(1, 'the git URL of the notebooks repository is required'),
  NBLC_REPO_FULL_NAME: z
    .string()
    .regex(/^[\w.-]+\/[\w.-]+$/, 'must be "<owner>/<name>" as GitHub spells it in push payloads'),
  NBLC_BRANCH: z
    .string()
    .regex(/^[\w./-]+$/, 'a branch name such as main')
    .default('main'),
  NBLC_DATA_DIR: z.string().default('.nblc'),
  NBLC_CACHE_DIR: z.string().optional(),
  NBLC_RESULTS_DIR: z.string().optional(),
  NBLC_USERS_DIR: z.string().optional(),
  NBLC_USER_CACHE_PATH: z.string().optional(),
  NBLC_COPY_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  NBLC_COPY_MAX_QUEUED: z.coerce.number().int().min(0).max(MAX_QUEUED_COPIES_LIMIT).default(DEFAULT_MAX_QUEUED_COPIES),
  NBLC_UPDATE_COPIES_ON_PUBLISH: z.enum(['true', 'false']).default('false'),
  NBLC_READY_COPY: z.enum(['true', 'false']).default('true'),
  NBLC_KEEP_SNAPSHOTS: z.coerce.number().int().min(1).max(1000).default(3),
  NBLC_HTTP_HOST: z.string().default('127.0.0.1'),
  NBLC_PORT: port.default(8080),
  NBLC_TASK_QUEUE: z.string().min(1).default('nblc'),
  NBLC_SYNC_IDLE_TIMEOUT: duration.default('1h'),
  NBLC_TEMPORAL_PORT: port.default(7233),
  NBLC_TEMPORAL_UI_PORT: port.default(8233),
  NBLC_TEMPORAL_UI_URL: z.string().url().optional(),
  NBLC_TEMPORAL_BIN: z.string().optional(),
  NBLC_NOTEBOOK_TASK_QUEUE: z.string().min(1).default('nblc-notebooks'),
  // A run's defaults, within the bounds of a run's own options.
  NBLC_TEST_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(RUN_LIMITS.concurrency.min)
    .max(RUN_LIMITS.concurrency.max)
    .default(4),
  NBLC_DEFAULT_KERNEL: z.string().min(1).default('python3'),
  NBLC_CELL_TIMEOUT: z.coerce.number().min(RUN_LIMITS.cellTimeoutS.min).max(RUN_LIMITS.cellTimeoutS.max).default(600),
  NBLC_NOTEBOOK_TIMEOUT: z.coerce
    .number()
    .min(RUN_LIMITS.notebookTimeoutS.min)
    .max(RUN_LIMITS.notebookTimeoutS.max)
    .default(3600),
  NBLC_PRERUN_FILE: z.string().optional(),
  NBLC_PYTHON: z.string().optional(),
  NBLC_EXECUTOR: z.enum(['fork', 'spawn']).default('fork'),
  NBLC_TEST_CRON: z.string().default('0 3 * * *'),
  NBLC_TEST_TIMEZONE: z.string().default('UTC'),
  NBLC_TEST_ON_MERGE: z.enum(['true', 'false']).default('true'),
  NBLC_WORKER_NAME: z.string().min(1).optional(),
  NBLC_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  // The notebook sandbox (docs/security.md)
  NBLC_SANDBOX: z.enum(['on', 'off']).default('on'),
  NBLC_KERNEL_USER: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'a user name')
    .default('nblc-kernel'),
  NBLC_NOTEBOOK_MEMORY: z
    .string()
    .regex(/^(\d+(\.\d+)?\s*([KMGT]i?B?)?|0|off)$/i, 'a size such as 4G, 512M or 0 (no limit)')
    .default('4G'),
  NBLC_KERNEL_ENV: z.string().default(''),
  NBLC_CGROUP_ROOT: z.string().regex(/^\//, 'an absolute path').optional(),
  // Alerts and commit statuses (their URLs and tokens are secrets, below).
  NBLC_PUBLIC_URL: z.union([z.literal(''), z.string().url()]).optional(),
  NBLC_ALERT_EMAIL_TO: z.string().optional(),
  NBLC_ALERT_EMAIL_FROM: z.string().min(3).default('nblc <nblc@localhost>'),
  NBLC_ALERT_SYNC_AFTER: duration.default('30m'),
  NBLC_ALERT_QUIET_FLAKY: z.enum(['true', 'false']).default('true'),
  NBLC_ALERT_FLAKY_AFTER: z.coerce.number().int().min(1).max(100).default(3),
  NBLC_GITHUB_API_URL: z.string().url().default('https://api.github.com'),
  NBLC_PR_FROM_FORKS: z.enum(['true', 'false']).default('false'),
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
});

export interface Config {
  repo: { url: string; fullName: string; branch: string; token?: Secret };
  /**
   * Current secret first, then the previous one while a rotation is under way. Empty when not
   * configured: only the HTTP API needs it, and refuses to start without it.
   */
  webhookSecrets: Secret[];
  apiToken?: Secret;
  /** Signs per-user tokens (user-tokens.ts): a user's own copy requests without the operator token. */
  userTokenSecret?: Secret;
  dataDir: string;
  /** PostgreSQL for the notebook history; unset: SQLite in dataDir (src/runtime/database.ts). */
  databaseUrl?: Secret;
  cacheDir: string;
  resultsDir: string;
  usersDir: string;
  /** The cache as users see it: the target of their `notebooks-latest` link. */
  userCachePath: string;
  keepSnapshots: number;
  /** `publicUrl`: the API as browsers reach it (behind a proxy); https makes session cookies Secure. */
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
  sandbox: SandboxConfig;
  /** The base URL people reach the API at: absolute report links in alerts and commit statuses. */
  publicUrl?: string;
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
  };
  github: { token?: Secret; apiUrl: string; prFromForks: boolean };
  logLevel: z.infer<typeof schema>['NBLC_LOG_LEVEL'];
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
  /** Variables of the worker's environment passed on to kernels (besides PATH, LANG, LC_*, TZ). */
  kernelEnv: string[];
  /** A cgroup v2 folder delegated to nblc for the notebooks' cgroups; unset: detected. */
  cgroupRoot?: string;
}

/** Never passed to a kernel, even when listed in NBLC_KERNEL_ENV: nblc's own and Temporal's settings and secrets. */
const KERNEL_ENV_FORBIDDEN = /^(NBLC_|TEMPORAL_)/;

function sandboxConfig(v: z.infer<typeof schema>, problems: string[]): SandboxConfig {
  const kernelEnv = v.NBLC_KERNEL_ENV.split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  for (const name of kernelEnv) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) problems.push(`NBLC_KERNEL_ENV: "${name}" is not a variable name`);
    else if (KERNEL_ENV_FORBIDDEN.test(name)) {
      problems.push(`NBLC_KERNEL_ENV: ${name} is nblc's or Temporal's own and never reaches a kernel`);
    }
  }
  const memory = v.NBLC_NOTEBOOK_MEMORY.trim();
  return {
    enabled: v.NBLC_SANDBOX === 'on',
    kernelUser: v.NBLC_KERNEL_USER,
    notebookMemory: memory.toLowerCase() === 'off' ? '0' : memory.replace(/\s+/g, ''),
    kernelEnv,
    cgroupRoot: v.NBLC_CGROUP_ROOT,
  };
}

/** The secrets, each from NAME or NAME_FILE (readSecret); in the order loadConfig takes them. */
const SECRET_VARIABLES = [
  'NBLC_WEBHOOK_SECRET',
  'NBLC_WEBHOOK_SECRET_PREVIOUS',
  'NBLC_API_TOKEN',
  'NBLC_GIT_TOKEN',
  'NBLC_USER_TOKEN_SECRET',
  'TEMPORAL_API_KEY',
  // A PostgreSQL URL carries its password.
  'NBLC_DATABASE_URL',
  // Incoming-webhook and SMTP URLs carry their credentials; the token sets commit statuses.
  'NBLC_ALERT_WEBHOOK_URL',
  'NBLC_SMTP_URL',
  'NBLC_GITHUB_TOKEN',
] as const;

/** Secrets nblc makes and checks itself: at least this long, as `openssl rand -hex 32` makes them. */
export const MIN_SECRET_LENGTH = 32;
const MAKE_ONE = '(e.g. `openssl rand -hex 32`)';
/**
 * What hono's bearerAuth accepts as a token (RFC 6750's b64token): it answers 400 to any other,
 * so an NBLC_API_TOKEN with a character outside these would lock every operator out.
 */
export const BEARER_TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;

/**
 * Why a secret nblc checks is not acceptable. Whitespace around it is a copy-paste or editor
 * accident (a trailing CR, a space) that the other side of the secret does not have; the minimum
 * makes guessing hopeless. `previous`: the secret being rotated out, exempt from the minimum, so
 * rotating is how a short secret is replaced without dropping deliveries.
 */
function secretProblems(name: string, secret: Secret | undefined, opts: { bearer?: boolean; previous?: boolean } = {}) {
  if (!secret) return [];
  const value = secret.reveal();
  const problems: string[] = [];
  if (value.trim() !== value) problems.push(`${name}: has whitespace at its start or end; write it again ${MAKE_ONE}`);
  if (!opts.previous && value.length < MIN_SECRET_LENGTH)
    problems.push(`${name}: use at least ${MIN_SECRET_LENGTH} characters ${MAKE_ONE}`);
  if (opts.bearer && value.trim() === value && !BEARER_TOKEN.test(value))
    problems.push(
      `${name}: only letters, digits and . _ ~ + / - (then = padding) can be sent as a bearer token ${MAKE_ONE}`,
    );
  if (opts.bearer && value.startsWith(USER_TOKEN_PREFIX))
    problems.push(`${name}: must not start with ${USER_TOKEN_PREFIX}, which marks users' own tokens`);
  return problems;
}

/** Reads `NAME` or the file named by `NAME_FILE` (trailing newline stripped). */
export function readSecret(env: Env, name: string, problems: string[]): Secret | undefined {
  const inline = env[name];
  const file = env[`${name}_FILE`];
  if (inline && file) {
    problems.push(`${name}: set either ${name} or ${name}_FILE, not both`);
    return undefined;
  }
  if (file) {
    try {
      // An empty file means "not set": compose needs a file for every declared secret.
      const value = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
      return value ? new Secret(value) : undefined;
    } catch (err) {
      problems.push(`${name}_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? err})`);
      return undefined;
    }
  }
  return inline ? new Secret(inline) : undefined;
}

function durationMs(d: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms'];
  return Number(m[1]) * unit;
}

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push(`${issue.path.join('.')}: ${issue.message}`);
    }
  }
  const [
    webhookSecret,
    previousSecret,
    apiToken,
    gitToken,
    userTokenSecret,
    temporalApiKey,
    databaseUrl,
    alertWebhooks,
    smtpUrl,
    githubToken,
  ] = SECRET_VARIABLES.map((name) => readSecret(env, name, problems));
  const webhookUrls = splitList(alertWebhooks?.reveal()).map((u) => new Secret(u));
  if (webhookUrls.some((u) => !/^https?:\/\/[^\s]+$/.test(u.reveal()))) {
    problems.push('NBLC_ALERT_WEBHOOK_URL: http(s) URLs of incoming webhooks, separated by commas');
  }
  if (smtpUrl && !/^smtps?:\/\/[^\s]+$/.test(smtpUrl.reveal())) {
    problems.push('NBLC_SMTP_URL: an SMTP URL such as smtps://user:password@mail.example.org:465');
  }
  // An SMTP URL without recipients sends nothing; `nblc alerts test` says so.
  const emailTo = splitList(env.NBLC_ALERT_EMAIL_TO);
  problems.push(
    ...secretProblems('NBLC_WEBHOOK_SECRET', webhookSecret),
    ...secretProblems('NBLC_WEBHOOK_SECRET_PREVIOUS', previousSecret, { previous: true }),
    ...secretProblems('NBLC_API_TOKEN', apiToken, { bearer: true }),
    ...secretProblems('NBLC_USER_TOKEN_SECRET', userTokenSecret),
  );
  if (databaseUrl && !/^postgres(ql)?:\/\/[^\s]+$/.test(databaseUrl.reveal())) {
    problems.push('NBLC_DATABASE_URL: a PostgreSQL URL such as postgresql://user:password@host:5432/nblc');
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const v = parsed.data;
  const sandbox = sandboxConfig(v, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  if (durationMs(v.NBLC_SYNC_IDLE_TIMEOUT) < 1000) {
    throw new ConfigError(['NBLC_SYNC_IDLE_TIMEOUT: must be at least 1s']);
  }

  const dataDir = path.resolve(v.NBLC_DATA_DIR);
  const under = (p: string | undefined, name: string) => path.resolve(p ?? path.join(dataDir, name));
  const uiUrl = (v.NBLC_TEMPORAL_UI_URL ?? `http://localhost:${v.NBLC_TEMPORAL_UI_PORT}`).replace(/\/+$/, '');
  return {
    repo: { url: v.NBLC_REPO_URL, fullName: v.NBLC_REPO_FULL_NAME, branch: v.NBLC_BRANCH, token: gitToken },
    webhookSecrets: [webhookSecret, previousSecret].filter((x): x is Secret => !!x),
    apiToken,
    userTokenSecret,
    dataDir,
    databaseUrl,
    cacheDir: under(v.NBLC_CACHE_DIR, 'cache'),
    resultsDir: under(v.NBLC_RESULTS_DIR, 'results'),
    usersDir: under(v.NBLC_USERS_DIR, 'users'),
    userCachePath: v.NBLC_USER_CACHE_PATH || path.join(under(v.NBLC_CACHE_DIR, 'cache'), 'current'),
    keepSnapshots: v.NBLC_KEEP_SNAPSHOTS,
    http: {
      host: v.NBLC_HTTP_HOST,
      port: v.NBLC_PORT,
      publicUrl: v.NBLC_PUBLIC_URL ? v.NBLC_PUBLIC_URL.replace(/\/+$/, '') : undefined,
    },
    taskQueue: v.NBLC_TASK_QUEUE,
    syncIdleTimeout: v.NBLC_SYNC_IDLE_TIMEOUT,
    temporal: {
      address: v.TEMPORAL_ADDRESS || undefined,
      apiKey: temporalApiKey,
      namespace: v.TEMPORAL_NAMESPACE,
      uiUrl,
      embedded: {
        port: v.NBLC_TEMPORAL_PORT,
        uiPort: v.NBLC_TEMPORAL_UI_PORT,
        binary: v.NBLC_TEMPORAL_BIN ?? path.join(PROJECT_ROOT, '.venv', 'bin', 'temporal'),
        dbFile: path.join(dataDir, 'temporal.sqlite'),
      },
    },
    tests: {
      taskQueue: v.NBLC_NOTEBOOK_TASK_QUEUE,
      concurrency: v.NBLC_TEST_CONCURRENCY,
      defaultKernel: v.NBLC_DEFAULT_KERNEL,
      cellTimeoutS: v.NBLC_CELL_TIMEOUT,
      notebookTimeoutS: v.NBLC_NOTEBOOK_TIMEOUT,
      prerunFile: v.NBLC_PRERUN_FILE ? path.resolve(v.NBLC_PRERUN_FILE) : undefined,
      python: v.NBLC_PYTHON ?? path.join(PROJECT_ROOT, '.venv', 'bin', 'python'),
      executor: v.NBLC_EXECUTOR,
      cron: ['', 'off', 'none'].includes(v.NBLC_TEST_CRON.trim()) ? null : v.NBLC_TEST_CRON.trim(),
      timezone: v.NBLC_TEST_TIMEZONE,
      onMerge: v.NBLC_TEST_ON_MERGE === 'true',
    },
    copies: {
      concurrency: v.NBLC_COPY_CONCURRENCY,
      updateOnPublish: v.NBLC_UPDATE_COPIES_ON_PUBLISH === 'true',
      readyCopy: v.NBLC_READY_COPY === 'true',
      maxQueued: v.NBLC_COPY_MAX_QUEUED,
    },
    workerName: v.NBLC_WORKER_NAME ?? `${process.pid}@${os.hostname()}`,
    sandbox,
    publicUrl: v.NBLC_PUBLIC_URL ? v.NBLC_PUBLIC_URL.replace(/\/+$/, '') : undefined,
    alerts: {
      webhookUrls,
      smtpUrl,
      emailTo,
      emailFrom: v.NBLC_ALERT_EMAIL_FROM,
      syncAfter: v.NBLC_ALERT_SYNC_AFTER,
      quietFlaky: v.NBLC_ALERT_QUIET_FLAKY === 'true',
      flakyAfter: v.NBLC_ALERT_FLAKY_AFTER,
    },
    github: {
      token: githubToken,
      apiUrl: v.NBLC_GITHUB_API_URL.replace(/\/+$/, ''),
      prFromForks: v.NBLC_PR_FROM_FORKS === 'true',
    },
    logLevel: v.NBLC_LOG_LEVEL,
    env,
  };
}

/** `a, b,,c` → ['a', 'b', 'c']. */
function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Every variable name nblc itself reads; docker-compose and docs are checked against it. */
export const CONFIG_VARIABLES: readonly string[] = [
  ...Object.keys(schema.shape),
  // TEMPORAL_API_KEY itself is Temporal's own variable (read by envconfig too).
  ...SECRET_VARIABLES.flatMap((n) => [n, `${n}_FILE`]).filter((n) => n !== 'TEMPORAL_API_KEY'),
];

export { durationMs, PROJECT_ROOT };
