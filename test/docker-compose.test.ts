/**
 * Nothing here builds or starts a container: this test keeps docker-compose.yml, the Dockerfile
 * and docs/deployment.md consistent with the code they deploy (src/runtime/config.ts, src/runtime/search-attributes.ts),
 * so a renamed variable, a new search attribute or a moved mount point fails here, not in
 * production.
 *
 *   node --import tsx --test test/docker-compose.test.ts
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig, type Config, type Env } from '../src/runtime/config.js';
import { CLI_TYPE_NAMES, SEARCH_ATTRIBUTES } from '../src/runtime/search-attributes.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

// ---------------------------------------------------------------------------------------------
// The compose file, with anchors and merge keys resolved as Compose does.

interface Service {
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
}
interface Compose {
  services: Record<string, Service>;
  secrets?: Record<string, { file?: string; environment?: string }>;
  volumes?: Record<string, unknown>;
  'x-nblc-env'?: Record<string, unknown>;
}

const composeText = read('docker-compose.yml');
const compose = parse(composeText, { merge: true }) as Compose;
const services = compose.services;

/** The services a user relies on, by the names `docker compose logs <name>` takes. */
const S = {
  postgres: 'postgres',
  schema: 'temporal-schema',
  temporal: 'temporal',
  namespace: 'temporal-namespace',
  ui: 'temporal-ui',
  worker: 'worker',
  api: 'api',
} as const;

function service(name: string): Service {
  const s = services[name];
  assert.ok(s, `docker-compose.yml has no service "${name}"`);
  return s;
}

/** `environment:` as a map (either syntax), values as the strings Compose would pass. */
function rawEnv(s: Service): Record<string, string | undefined> {
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
const DOTENV_EXAMPLE: Record<string, string> = {
  NBLC_REPO_URL: 'https://github.com/example-org/notebooks.git',
  NBLC_REPO_FULL_NAME: 'example-org/notebooks',
};

/**
 * Compose's interpolation, for a .env that sets only the required variables: `${X:-d}` and
 * `${X-d}` give d, `${X:?m}` / `${X?m}` / `${X}` / `$X` take the example value, `$$` is `$`.
 */
function interpolate(value: string, dotenv: Record<string, string> = DOTENV_EXAMPLE): string {
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
function composeDefaults(value: string): Array<{ name: string; fallback: string }> {
  return [...value.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):?-([^}]*)\}/g)].map((m) => ({
    name: m[1]!,
    fallback: m[2]!,
  }));
}

function dependsOn(s: Service): Record<string, string | undefined> {
  if (Array.isArray(s.depends_on)) return Object.fromEntries(s.depends_on.map((d) => [d, undefined]));
  return Object.fromEntries(Object.entries(s.depends_on ?? {}).map(([k, v]) => [k, v?.condition]));
}

/** Published ports as { published, target } (short syntax `[ip:][host:]container[/proto]` or long). */
function ports(s: Service): Array<{ published?: number; target: number }> {
  return (s.ports ?? []).map((p) => {
    if (typeof p === 'object')
      return { published: p.published ? Number(p.published) : undefined, target: Number(p.target) };
    const parts = String(p)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    const target = Number(parts.at(-1));
    return { published: parts.length > 1 ? Number(parts.at(-2)) : undefined, target };
  });
}

/** Mounts as { source, target } (short `source:target[:mode]` or long syntax). */
function mounts(s: Service): Array<{ source?: string; target: string }> {
  return (s.volumes ?? []).map((v) => {
    if (typeof v === 'object') return { source: v.source, target: v.target };
    const [source, target] = v.split(':');
    return target === undefined ? { target: source! } : { source, target };
  });
}

function secretNames(s: Service): string[] {
  return (s.secrets ?? []).map((x) => (typeof x === 'string' ? x : (x.target ?? x.source)));
}

function commandText(s: Service): string {
  const parts = [s.entrypoint, s.command].flatMap((x) => (x === undefined ? [] : Array.isArray(x) ? x : [x]));
  return parts.join('\n');
}

function imageOf(s: Service): { repo: string; tag: string | undefined } {
  const image = s.image ?? '';
  const at = image.lastIndexOf(':');
  return at > image.lastIndexOf('/')
    ? { repo: image.slice(0, at), tag: image.slice(at + 1) }
    : { repo: image, tag: undefined };
}

// ---------------------------------------------------------------------------------------------
// Loading the worker's and the API's environment through the real config code.

const SECRET_VARIABLES = [
  'NBLC_WEBHOOK_SECRET',
  'NBLC_WEBHOOK_SECRET_PREVIOUS',
  'NBLC_API_TOKEN',
  'NBLC_GIT_TOKEN',
  'NBLC_DATABASE_URL',
];
/** What docs/deployment.md tells operators to write into secrets/nblc_database_url. */
const DATABASE_URL_EXAMPLE = 'postgresql://temporal:0123abcd@postgres:5432/nblc';
/** Secrets that are URLs, as the docs tell operators to write them. */
const URL_SECRET_EXAMPLES: Record<string, string> = {
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
function containerEnv(name: string, overrides: Record<string, string | undefined> = {}): Env {
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

function configOf(name: string, overrides: Record<string, string | undefined> = {}): Config {
  try {
    return loadConfig(containerEnv(name, overrides));
  } catch (err) {
    assert.fail(
      `the "${name}" service's environment does not load with src/runtime/config.ts: ${(err as Error).message}`,
    );
  }
}

/** Temporal's own connection variables, read by @temporalio/envconfig (see src/runtime/temporal.ts). */
function isTemporalConnectionVariable(name: string): boolean {
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

const NBLC_SERVICES = [S.worker, S.api] as const;

// ---------------------------------------------------------------------------------------------

test('the stack has its services: postgres, schema setup, temporal, namespace setup, ui, worker, api', () => {
  for (const name of Object.values(S)) service(name);
  assert.match(service(S.postgres).image ?? '', /^postgres:16(\.|$|-)/);
  assert.match(service(S.schema).image ?? '', /^temporalio\/admin-tools:/);
  assert.match(service(S.temporal).image ?? '', /^temporalio\/server:/);
  assert.equal(service(S.namespace).image, service(S.worker).image, 'the namespace setup runs the nblc image');
  assert.match(service(S.ui).image ?? '', /^temporalio\/ui:/);
});

test('images that are pulled are pinned, and the Temporal server and admin tools are the same release', () => {
  for (const [name, s] of Object.entries(services)) {
    if (s.build) continue;
    const { tag } = imageOf(s);
    assert.ok(tag && tag !== 'latest', `service ${name}: image "${s.image}" must carry a version tag`);
  }
  assert.equal(
    imageOf(service(S.schema)).tag,
    imageOf(service(S.temporal)).tag,
    'admin-tools (schema) and server versions differ',
  );
});

test('the schema job creates and migrates both databases before the server starts', () => {
  const schema = service(S.schema);
  const script = commandText(schema);
  assert.match(script, /temporal-sql-tool/);
  for (const word of ['temporal', 'temporal_visibility', 'create-database', 'setup-schema', 'update-schema']) {
    assert.ok(script.includes(word), `the schema job's script does not mention ${word}`);
  }
  assert.match(script, /postgresql\/v12\/\$\$schema\/versioned|postgresql\/v12\/(temporal|visibility)\/versioned/);
  assert.equal(rawEnv(schema).SQL_PLUGIN, 'postgres12');
  assert.equal(rawEnv(schema).SQL_HOST, S.postgres);
  assert.equal(dependsOn(schema)[S.postgres], 'service_healthy');

  const temporal = service(S.temporal);
  assert.equal(rawEnv(temporal).DB, 'postgres12');
  assert.equal(rawEnv(temporal).POSTGRES_SEEDS, S.postgres);
  assert.equal(dependsOn(temporal)[S.schema], 'service_completed_successfully');
  assert.ok(service(S.postgres).healthcheck?.test, 'postgres needs a healthcheck (the schema job waits for it)');
  assert.ok(temporal.healthcheck?.test, 'temporal needs a healthcheck (the namespace job and the UI wait for it)');
});

test('one-shot scripts escape their shell variables from Compose interpolation ($$)', () => {
  for (const name of [S.schema, S.temporal]) {
    const unescaped = commandText(service(name))
      .replace(/\$\$/g, '')
      .match(/\$\{?[A-Za-z_(]/);
    assert.equal(unescaped, null, `service ${name}: "${unescaped?.[0]}" would be replaced by Compose; write $$`);
  }
});

test("the worker and the API are built from this repository's Dockerfile and run `worker` / `api`", () => {
  for (const [name, cmd] of [
    [S.worker, 'worker'],
    [S.api, 'api'],
  ] as const) {
    const s = service(name);
    assert.ok(s.build, `service ${name} has no build:`);
    const build = typeof s.build === 'string' ? { context: s.build } : s.build;
    assert.equal(path.resolve(ROOT, build.context ?? '.'), ROOT, `service ${name} builds another context`);
    assert.equal(build.dockerfile ?? 'Dockerfile', 'Dockerfile');
    assert.ok(existsSync(path.join(ROOT, 'Dockerfile')));
    assert.deepEqual([s.command].flat(), [cmd]);
    assert.equal(
      dependsOn(s)[S.namespace],
      'service_completed_successfully',
      `service ${name} must wait for the namespace and search attributes`,
    );
  }
});

test('every NBLC_* / TEMPORAL_* variable set on the worker and the API is one the code reads', () => {
  for (const name of NBLC_SERVICES) {
    for (const key of Object.keys(rawEnv(service(name)))) {
      if (!/^(NBLC|TEMPORAL)_/.test(key)) continue;
      assert.ok(
        CONFIG_VARIABLES.includes(key) || isTemporalConnectionVariable(key),
        `service ${name} sets ${key}, which neither src/runtime/config.ts (CONFIG_VARIABLES) nor Temporal's envconfig reads`,
      );
    }
  }
});

test('the worker and the API share their settings through the x-nblc-env anchor', () => {
  const shared = compose['x-nblc-env'];
  assert.ok(shared, 'docker-compose.yml has no x-nblc-env');
  for (const key of ['NBLC_REPO_URL', 'NBLC_REPO_FULL_NAME', 'NBLC_BRANCH', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE']) {
    assert.ok(key in shared, `x-nblc-env does not set ${key}`);
  }
  for (const name of NBLC_SERVICES) {
    const env = rawEnv(service(name));
    for (const [key, value] of Object.entries(shared)) assert.equal(env[key], String(value), `service ${name}: ${key}`);
  }
});

test("the worker's and the API's environments load with src/runtime/config.ts", () => {
  for (const name of NBLC_SERVICES) {
    const cfg = configOf(name);
    assert.equal(cfg.repo.url, DOTENV_EXAMPLE.NBLC_REPO_URL);
    assert.equal(cfg.repo.fullName, DOTENV_EXAMPLE.NBLC_REPO_FULL_NAME);
  }
  assert.ok(configOf(S.api).webhookSecrets.length >= 1, 'the API gets no webhook secret');
  assert.ok(configOf(S.api).apiToken, 'the API gets no operator token');
  assert.ok(configOf(S.worker).repo.token, 'the worker gets no git token');
});

/**
 * Which secret each service's code reads, found in the code: the config field each secret
 * variable becomes, searched in the source files the service runs (the worker: activities,
 * workflows and the worker; the API: src/api and the server). A service gets the secrets it reads
 * and no other: a worker compromised through a notebook holds no webhook secret or API token.
 */
const SECRET_FIELDS: Record<string, RegExp> = {
  NBLC_WEBHOOK_SECRET: /\bwebhookSecrets\b/,
  NBLC_WEBHOOK_SECRET_PREVIOUS: /\bwebhookSecrets\b/,
  NBLC_API_TOKEN: /\bapiToken\b/,
  NBLC_USER_TOKEN_SECRET: /\buserTokenSecret\b/,
  NBLC_GIT_TOKEN: /\brepo\.token\b/,
  NBLC_DATABASE_URL: /\bdatabaseUrl\b/,
  NBLC_ALERT_WEBHOOK_URL: /\bwebhookUrls\b/,
  NBLC_SMTP_URL: /\bsmtpUrl\b/,
  NBLC_GITHUB_TOKEN: /\bgithub\.token\b/,
};
const CODE_OF: Record<(typeof NBLC_SERVICES)[number], string[]> = {
  [S.worker]: ['src/activities', 'src/workflows', 'src/runtime/worker.ts', 'src/runtime/history-store.ts'],
  [S.api]: ['src/api', 'src/runtime/server.ts', 'src/runtime/history-store.ts'],
};
/** Only while a rotation is under way (docs/deployment.md): read by the API, not given by default. */
const OPTIONAL_SECRETS = ['NBLC_WEBHOOK_SECRET_PREVIOUS'];

function sourcesUnder(rel: string): string[] {
  const abs = path.join(ROOT, rel);
  if (rel.endsWith('.ts')) return [read(rel)];
  return readdirSync(abs, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => readFileSync(path.join(abs, f), 'utf8'));
}

test('each service gets exactly the secrets its code reads (the worker no webhook or user-token secret)', () => {
  for (const name of NBLC_SERVICES) {
    const code = CODE_OF[name].flatMap(sourcesUnder).join('\n');
    const reads = Object.keys(SECRET_FIELDS).filter((v) => SECRET_FIELDS[v]!.test(code));
    const env = rawEnv(service(name));
    const given = Object.keys(SECRET_FIELDS).filter((v) => env[v] !== undefined || env[`${v}_FILE`] !== undefined);
    for (const variable of given) {
      assert.ok(reads.includes(variable), `service ${name} gets ${variable}, which its code never reads`);
    }
    for (const variable of reads) {
      if (OPTIONAL_SECRETS.includes(variable)) continue;
      assert.ok(given.includes(variable), `service ${name} reads ${variable}, which it is not given`);
    }
    const used = new Set(
      Object.entries(env)
        .filter(([k, v]) => k.endsWith('_FILE') && v?.startsWith('/run/secrets/'))
        .map(([, v]) => path.basename(v!)),
    );
    for (const secret of secretNames(service(name))) {
      assert.ok(used.has(secret), `service ${name} mounts secret ${secret} but no variable of it points there`);
    }
  }
  // The worker runs the notebooks under test: whatever it holds, never what opens the API to the
  // world (the webhook secret) or mints users' tokens.
  const workerSecrets = secretNames(service(S.worker));
  assert.ok(workerSecrets.includes('git_token'));
  for (const forbidden of ['webhook_secret', 'user_token_secret']) {
    assert.ok(!workerSecrets.includes(forbidden), `the worker must not hold ${forbidden}`);
  }
});

test("defaults written into docker-compose.yml (${X:-default}) are the code's defaults", () => {
  const strip = (c: Config) => JSON.stringify({ ...c, env: undefined });
  for (const name of NBLC_SERVICES) {
    for (const [key, value] of Object.entries(rawEnv(service(name)))) {
      if (!value || !CONFIG_VARIABLES.includes(key)) continue;
      for (const { name: variable, fallback } of composeDefaults(value)) {
        if (variable !== key) continue;
        assert.equal(
          strip(configOf(name, { [key]: fallback })),
          strip(configOf(name, { [key]: undefined })),
          `service ${name}: the compose default ${key}=${fallback} differs from src/runtime/config.ts's default`,
        );
      }
    }
  }
});

test("TEMPORAL_ADDRESS points at the temporal service's gRPC frontend (7233)", () => {
  const frontend = rawEnv(service(S.temporal)).FRONTEND_GRPC_PORT ?? '7233';
  assert.equal(frontend, '7233');
  for (const name of [...NBLC_SERVICES, S.ui, S.namespace]) {
    const address = interpolate(rawEnv(service(name)).TEMPORAL_ADDRESS ?? '');
    const [host, port] = address.split(':');
    assert.equal(host, S.temporal, `service ${name}: TEMPORAL_ADDRESS=${address} is not the temporal service`);
    assert.match(service(host!).image ?? '', /^temporalio\/server:/);
    assert.equal(port, '7233', `service ${name}: TEMPORAL_ADDRESS=${address} is not the gRPC port`);
  }
  for (const name of NBLC_SERVICES) assert.equal(configOf(name).temporal.address, 'temporal:7233');
});

test('the namespace the setup creates is the one the worker, the API and the UI use', () => {
  const created = configOf(S.namespace).temporal.namespace;
  for (const name of NBLC_SERVICES) assert.equal(configOf(name).temporal.namespace, created, `service ${name}`);
  assert.equal(interpolate(rawEnv(service(S.ui)).TEMPORAL_DEFAULT_NAMESPACE ?? 'default'), created);
  assert.equal(configOf(S.namespace).temporal.address, configOf(S.worker).temporal.address);
});

test("the setup service runs `nblc temporal setup`, which registers src/runtime/search-attributes.ts's list (no second list)", () => {
  const setup = service(S.namespace);
  assert.ok(setup.build, 'the setup service must run the nblc image built from this repository');
  const argv = [setup.command].flat().map((a) => interpolate(String(a)));
  assert.deepEqual(argv.slice(0, 2), ['temporal', 'setup'], `command ${argv.join(' ')} is not \`temporal setup\``);
  assert.equal(setup.entrypoint, undefined, "the image's entrypoint (node bin/nblc.js) runs the command");
  const retention = argv[argv.indexOf('--retention') + 1] ?? '';
  assert.match(retention, /^\d+[smhd]$/, 'the retention is a duration nblc temporal setup takes');
  assert.equal(
    rawEnv(setup).SEARCH_ATTRIBUTES,
    undefined,
    'search attributes come from the code, not the compose file',
  );
  assert.ok(SEARCH_ATTRIBUTES.length > 0);
  for (const sa of SEARCH_ATTRIBUTES) assert.ok(CLI_TYPE_NAMES[sa.type], `${sa.name}: unknown type ${sa.type}`);
  assert.equal(dependsOn(setup)[S.temporal], 'service_healthy');
});

test("the nblc-database job creates the database of the worker's and the API's NBLC_DATABASE_URL", () => {
  const job = service('nblc-database');
  assert.match(job.image ?? '', /^postgres:16(\.|$|-)/);
  assert.equal(dependsOn(job)[S.postgres], 'service_healthy');
  assert.equal(rawEnv(job).PGHOST, S.postgres);
  const script = commandText(job);
  assert.match(script, /createdb/);
  assert.equal(script.replace(/\$\$/g, '').match(/\$\{?[A-Za-z_(]/), null, 'shell variables escaped ($$)');
  const url = new URL(DATABASE_URL_EXAMPLE);
  assert.equal(`/${rawEnv(job).NBLC_DB_NAME}`, url.pathname);
  assert.equal(url.hostname, S.postgres);
  assert.equal(decodeURIComponent(url.username), rawEnv(job).PGUSER);
  for (const name of NBLC_SERVICES) {
    assert.equal(dependsOn(service(name))['nblc-database'], 'service_completed_successfully', name);
    assert.equal(configOf(name).databaseUrl?.reveal(), DATABASE_URL_EXAMPLE, name);
  }
  assert.ok(read('docs/deployment.md').includes('@postgres:5432/nblc'), 'the docs show how to write the URL');
});

test('the API listens on 0.0.0.0 and publishes the port it listens on', () => {
  const cfg = configOf(S.api);
  assert.equal(interpolate(rawEnv(service(S.api)).NBLC_HTTP_HOST ?? ''), '0.0.0.0');
  assert.equal(cfg.http.host, '0.0.0.0');
  const published = ports(service(S.api));
  assert.ok(
    published.some((p) => p.target === cfg.http.port && p.published !== undefined),
    `the api must publish container port ${cfg.http.port} (NBLC_PORT or its default)`,
  );
  assert.ok(
    ports(service(S.ui)).some((p) => p.published === 8233),
    'the Temporal UI is not published on port 8233',
  );
});

test('volumes are mounted where NBLC_DATA_DIR, NBLC_CACHE_DIR and NBLC_USERS_DIR point', () => {
  const where: Record<string, (c: Config) => string> = {
    'nblc-data': (c) => c.dataDir,
    'notebooks-cache': (c) => c.cacheDir,
    users: (c) => c.usersDir,
  };
  for (const volume of Object.keys(where))
    assert.ok(compose.volumes && volume in compose.volumes, `volume ${volume} is not declared`);
  const worker = mounts(service(S.worker));
  const workerCfg = configOf(S.worker);
  for (const [volume, dir] of Object.entries(where)) {
    assert.ok(
      worker.some((m) => m.source === volume && m.target === dir(workerCfg)),
      `the worker must mount volume ${volume} at ${dir(workerCfg)}`,
    );
  }
  for (const name of NBLC_SERVICES) {
    const cfg = configOf(name);
    for (const m of mounts(service(name))) {
      const dir = m.source ? where[m.source] : undefined;
      if (dir) assert.equal(m.target, dir(cfg), `service ${name} mounts ${m.source} where its config does not look`);
    }
  }
});

test('secrets come from files under /run/secrets, never inline', () => {
  for (const name of NBLC_SERVICES) {
    const s = service(name);
    const env = rawEnv(s);
    for (const variable of SECRET_VARIABLES) {
      assert.equal(env[variable], undefined, `service ${name} sets ${variable} inline; use ${variable}_FILE`);
      const file = env[`${variable}_FILE`];
      if (file === undefined) continue;
      assert.match(file, /^\/run\/secrets\/[\w.-]+$/, `service ${name}: ${variable}_FILE must be under /run/secrets`);
      const secret = path.basename(file);
      assert.ok(secretNames(s).includes(secret), `service ${name} reads ${file} but does not mount secret ${secret}`);
      assert.ok(compose.secrets?.[secret]?.file, `secret ${secret} must be declared with file:`);
    }
  }
  for (const [name, secret] of Object.entries(compose.secrets ?? {})) {
    assert.ok(secret.file?.startsWith('./secrets/'), `secret ${name} must be a file under ./secrets/`);
  }
  // Anything that looks like a credential, in any service, is a *_FILE or not set at all.
  for (const [name, s] of Object.entries(services)) {
    for (const [key, value] of Object.entries(rawEnv(s))) {
      if (/(PASSWORD|PWD|SECRET|TOKEN|API_KEY)$/.test(key)) {
        assert.fail(`service ${name} sets ${key}=${value ? '…' : ''} inline; give it as a Docker secret`);
      }
    }
  }
});

test("the worker's volume mount points exist in the image, owned by its user", () => {
  const dockerfile = read('Dockerfile');
  for (const m of mounts(service(S.worker))) {
    assert.ok(
      dockerfile.includes(m.target),
      `the Dockerfile does not create ${m.target}, so a new volume there would be root-owned`,
    );
  }
});

// ---------------------------------------------------------------------------------------------
// The Dockerfile.

interface Instruction {
  op: string;
  args: string;
}

/** Instructions of the Dockerfile: comments dropped, continuation lines joined. */
function dockerfileInstructions(text: string): Instruction[] {
  const logical: string[] = [];
  let current = '';
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*#/.test(line) && !current) continue;
    if (/^\s*#/.test(line)) continue; // comment lines inside a continuation are skipped too
    if (/\\\s*$/.test(line)) {
      current += line.replace(/\\\s*$/, ' ');
      continue;
    }
    current += line;
    if (current.trim()) logical.push(current.trim());
    current = '';
  }
  if (current.trim()) logical.push(current.trim());
  return logical.map((l) => {
    const m = /^(\S+)\s*(.*)$/.exec(l)!;
    return { op: m[1]!.toUpperCase(), args: m[2]! };
  });
}

const instructions = dockerfileInstructions(read('Dockerfile'));
const ops = (op: string) => instructions.filter((i) => i.op === op);
/** The final stage: the instructions after the last FROM. */
const finalStage = instructions.slice(instructions.map((i) => i.op).lastIndexOf('FROM'));

test('the Dockerfile builds on Debian (glibc for the Temporal core bridge), not Alpine', () => {
  const from = finalStage[0]!.args.split(/\s+/).find((w) => !w.startsWith('--'))!;
  assert.doesNotMatch(from, /alpine/i, `base image ${from} is Alpine (musl)`);
  assert.match(from, /bookworm|bullseye|trixie|debian/i, `base image ${from} is not visibly Debian-based`);
});

test("the Dockerfile's ENTRYPOINT runs node bin/nblc.js", () => {
  const [entrypoint] = finalStage.filter((i) => i.op === 'ENTRYPOINT').slice(-1);
  assert.ok(entrypoint, 'no ENTRYPOINT');
  const argv = JSON.parse(entrypoint.args) as string[];
  const node = argv.indexOf('node');
  assert.ok(
    node >= 0 && argv[node + 1] === 'bin/nblc.js',
    `ENTRYPOINT ${entrypoint.args} does not run node bin/nblc.js`,
  );
  assert.ok(existsSync(path.join(ROOT, 'bin', 'nblc.js')), 'bin/nblc.js does not exist');
});

test('the Dockerfile installs from the lock files: package-lock.json (npm ci, no devDependencies) and requirements.txt', () => {
  const copied = ops('COPY')
    .map((i) =>
      i.args
        .split(/\s+/)
        .filter((w) => !w.startsWith('--'))
        .slice(0, -1),
    )
    .flat();
  assert.ok(copied.includes('package-lock.json'), 'the Dockerfile does not COPY package-lock.json');
  assert.ok(copied.includes('requirements.txt'), 'the Dockerfile does not COPY requirements.txt');
  const runs = ops('RUN')
    .map((i) => i.args)
    .join('\n');
  assert.match(runs, /npm ci\b[^\n]*--omit=dev/, 'no `npm ci --omit=dev`');
  assert.match(runs, /-m venv \.venv\b/, 'the venv must be .venv in the project root (config.ts looks there)');
  assert.match(runs, /\.venv\/bin\/pip install[^\n]*-r requirements\.txt/);
  for (const tool of ['git', 'python3', 'python3-venv'])
    assert.match(runs, new RegExp(`\\b${tool}\\b`), `${tool} is not installed`);
});

test('the image runs as a non-root user, has a healthcheck for the API, and sets only variables the code reads', () => {
  const [user] = finalStage.filter((i) => i.op === 'USER').slice(-1);
  assert.ok(user, 'no USER: the container would run as root');
  assert.doesNotMatch(user.args, /^(root|0)(:|$)/);
  const [health] = finalStage.filter((i) => i.op === 'HEALTHCHECK').slice(-1);
  assert.ok(health && /\/healthz/.test(health.args), 'no HEALTHCHECK probing /healthz');
  for (const env of ops('ENV')) {
    for (const key of env.args.match(/\b(?:NBLC|TEMPORAL)_[A-Z0-9_]+(?==)/g) ?? []) {
      assert.ok(
        CONFIG_VARIABLES.includes(key) || isTemporalConnectionVariable(key),
        `the Dockerfile sets ${key}, which nothing reads`,
      );
    }
  }
});

test('.dockerignore keeps secrets, local settings and installed dependencies out of the build context', () => {
  const ignored = read('.dockerignore')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const entry of ['secrets', '.env', 'node_modules', '.venv', '.git']) {
    assert.ok(ignored.includes(entry) || ignored.includes(`${entry}/`), `.dockerignore does not exclude ${entry}`);
  }
});

// ---------------------------------------------------------------------------------------------
// The deployment guide.

test('docs/deployment.md documents every variable nblc reads and every service', () => {
  const docs = read('docs/deployment.md');
  for (const variable of [...CONFIG_VARIABLES, 'TEMPORAL_API_KEY', 'TEMPORAL_TLS']) {
    assert.ok(docs.includes(`\`${variable}\``), `docs/deployment.md does not document ${variable}`);
  }
  for (const name of Object.values(S))
    assert.ok(docs.includes(`\`${name}\``), `docs/deployment.md does not mention service ${name}`);
  for (const secret of Object.keys(compose.secrets ?? {})) {
    assert.ok(docs.includes(`secrets/${secret}`), `docs/deployment.md does not say how to create secrets/${secret}`);
  }
});
