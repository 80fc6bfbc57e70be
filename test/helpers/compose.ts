/**
 * docker-compose.yml read as Compose reads it (anchors and merge keys resolved, its interpolation
 * for a minimal .env), and the worker's and the API's environments loaded through the real config
 * code: what the compose, Dockerfile and deployment tests check against.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { parse } from 'yaml';
import { loadConfig, type Config, type Env } from '../../src/platform/config.js';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

// ---------------------------------------------------------------------------------------------
// The compose file, with anchors and merge keys resolved as Compose does.

export interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, unknown> | string[];
  ports?: Array<string | number | { target: number | string; published?: number | string }>;
  volumes?: Array<string | { type?: string; source?: string; target: string }>;
  secrets?: Array<string | { source: string; target?: string }>;
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: unknown; disable?: boolean };
  security_opt?: string[];
  privileged?: boolean;
  cap_add?: string[];
  user?: string;
}
export interface Compose {
  services: Record<string, Service>;
  secrets?: Record<string, { file?: string; environment?: string }>;
  volumes?: Record<string, unknown>;
  'x-nblc-env'?: Record<string, unknown>;
}

export const composeText = read('docker-compose.yml');
export const compose = parse(composeText, { merge: true }) as Compose;
export const services = compose.services;

/** The services a user relies on, by the names `docker compose logs <name>` takes. */
export const S = {
  postgres: 'postgres',
  schema: 'temporal-schema',
  temporal: 'temporal',
  namespace: 'temporal-namespace',
  ui: 'temporal-ui',
  worker: 'worker',
  api: 'api',
} as const;

export function service(name: string): Service {
  const s = services[name];
  assert.ok(s, `docker-compose.yml has no service "${name}"`);
  return s;
}

/** `environment:` as a map (either syntax), values as the strings Compose would pass. */
export function rawEnv(s: Service): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  if (Array.isArray(s.environment)) {
    for (const item of s.environment) {
      const i = item.indexOf('=');
      if (i < 0) out[item] = undefined;
      else out[item.slice(0, i)] = item.slice(i + 1);
    }
  } else {
    for (const [k, v] of Object.entries(s.environment ?? {}))
      out[k] = v === null || v === undefined ? undefined : String(v);
  }
  return out;
}

/** What a user puts into .env for the variables the compose file requires (`${NAME:?…}`). */
export const DOTENV_EXAMPLE: Record<string, string> = {
  NBLC_REPO_URL: 'https://github.com/example-org/notebooks.git',
  NBLC_REPO_FULL_NAME: 'example-org/notebooks',
};

/**
 * Compose's interpolation, for a .env that sets only the required variables: `${X:-d}` and
 * `${X-d}` give d, `${X:?m}` / `${X?m}` / `${X}` / `$X` take the example value, `$$` is `$`.
 */
export function interpolate(value: string, dotenv: Record<string, string> = DOTENV_EXAMPLE): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole, name?: string, op?: string, arg?: string, bare?: string) => {
      if (whole === '$$') return '$';
      const n = (name ?? bare)!;
      if (n in dotenv) return dotenv[n]!;
      if (op === ':-' || op === '-') return arg ?? '';
      assert.fail(`docker-compose.yml needs ${n} (${arg ?? 'no default'}) but the test's .env example has none`);
    },
  );
}

/** Compose's `${X:-default}` defaults in a string, by variable name. */
export function composeDefaults(value: string): Array<{ name: string; fallback: string }> {
  return [...value.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):?-([^}]*)\}/g)].map((m) => ({
    name: m[1]!,
    fallback: m[2]!,
  }));
}

export function dependsOn(s: Service): Record<string, string | undefined> {
  if (Array.isArray(s.depends_on)) return Object.fromEntries(s.depends_on.map((d) => [d, undefined]));
  return Object.fromEntries(Object.entries(s.depends_on ?? {}).map(([k, v]) => [k, v?.condition]));
}

/** Published ports as { published, target } (short syntax `[ip:][host:]container[/proto]` or long). */
export function ports(s: Service): Array<{ published?: number; target: number }> {
  return (s.ports ?? []).map((p) => {
    if (typeof p === 'object')
      return { published: p.published ? Number(p.published) : undefined, target: Number(p.target) };
    const parts = interpolate(String(p)) // `${NBLC_API_HOST_PORT:-8080}:8080` with an operator's empty .env
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    const target = Number(parts.at(-1));
    return { published: parts.length > 1 ? Number(parts.at(-2)) : undefined, target };
  });
}

/** Mounts as { source, target } (short `source:target[:mode]` or long syntax). */
export function mounts(s: Service): Array<{ source?: string; target: string }> {
  return (s.volumes ?? []).map((v) => {
    if (typeof v === 'object') return { source: v.source, target: v.target };
    const [source, target] = v.split(':');
    return target === undefined ? { target: source! } : { source, target };
  });
}

export function secretNames(s: Service): string[] {
  return (s.secrets ?? []).map((x) => (typeof x === 'string' ? x : (x.target ?? x.source)));
}

export function commandText(s: Service): string {
  const parts = [s.entrypoint, s.command].flatMap((x) => (x === undefined ? [] : Array.isArray(x) ? x : [x]));
  return parts.join('\n');
}

export function imageOf(s: Service): { repo: string; tag: string | undefined } {
  const image = s.image ?? '';
  const at = image.lastIndexOf(':');
  return at > image.lastIndexOf('/')
    ? { repo: image.slice(0, at), tag: image.slice(at + 1) }
    : { repo: image, tag: undefined };
}

// ---------------------------------------------------------------------------------------------
// Loading the worker's and the API's environment through the real config code.

export const SECRET_VARIABLES = [
  'NBLC_WEBHOOK_SECRET',
  'NBLC_WEBHOOK_SECRET_PREVIOUS',
  'NBLC_API_TOKEN',
  'NBLC_GIT_TOKEN',
  'NBLC_DATABASE_URL',
];
/** What docs/deployment.md tells operators to write into secrets/nblc_database_url. */
export const DATABASE_URL_EXAMPLE = 'postgresql://temporal:0123abcd@postgres:5432/nblc';
/** Secrets that are URLs, as the docs tell operators to write them. */
export const URL_SECRET_EXAMPLES: Record<string, string> = {
  nblc_database_url: DATABASE_URL_EXAMPLE,
  alert_webhook_url: 'https://hooks.slack.com/services/T000/B000/XXXX,https://chat.example.org/hooks/yyyy',
  smtp_url: 'smtps://nblc:password@mail.example.org:465',
};
const secretsDir = mkdtempSync(path.join(os.tmpdir(), 'nblc-compose-test-'));
after(() => rmSync(secretsDir, { recursive: true, force: true }));

/**
 * The environment a container gets (interpolated), with /run/secrets/<name> replaced by a
 * temporary file, so loadConfig() can read it as it would in the container.
 */
export function containerEnv(name: string, overrides: Record<string, string | undefined> = {}): Env {
  const env: Env = {};
  for (const [k, v] of Object.entries({ ...rawEnv(service(name)), ...overrides })) {
    if (v === undefined) continue;
    env[k] = interpolate(v);
    if (k.endsWith('_FILE') && env[k]!.startsWith('/run/secrets/')) {
      const file = path.join(secretsDir, path.basename(env[k]!));
      const value =
        URL_SECRET_EXAMPLES[path.basename(file)] ?? `test-value-of-${path.basename(file)}-long-enough-for-any-minimum`;
      writeFileSync(file, `${value}\n`);
      env[k] = file;
    }
  }
  return env;
}

export function configOf(name: string, overrides: Record<string, string | undefined> = {}): Config {
  try {
    return loadConfig(containerEnv(name, overrides));
  } catch (err) {
    assert.fail(
      `the "${name}" service's environment does not load with src/platform/config.ts: ${(err as Error).message}`,
    );
  }
}

/** Temporal's own connection variables, read by @temporalio/envconfig (see src/platform/temporal.ts). */
export function isTemporalConnectionVariable(name: string): boolean {
  return (
    [
      'TEMPORAL_ADDRESS',
      'TEMPORAL_NAMESPACE',
      'TEMPORAL_API_KEY',
      'TEMPORAL_TLS',
      'TEMPORAL_PROFILE',
      'TEMPORAL_CONFIG_FILE',
    ].includes(name) || /^TEMPORAL_(TLS|CODEC|GRPC_META)_[A-Z0-9_]+$/.test(name)
  );
}

export const NBLC_SERVICES = [S.worker, S.api] as const;

// ---------------------------------------------------------------------------------------------
