/**
 * The worker's and the API's environments in docker-compose.yml, loaded through the real config
 * code: every variable one the code reads, shared through one anchor, defaults equal to the
 * code's, each service only the secrets it reads, secrets only from files. Nothing is started.
 *
 *   node --import tsx --test test/system/deploy/docker-compose-env.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_VARIABLES, type Config } from '../../../src/platform/config.js';
import {
  composeDefaults,
  compose,
  configOf,
  isTemporalConnectionVariable,
  NBLC_SERVICES,
  rawEnv,
  read,
  ROOT,
  S,
  secretNames,
  SECRET_VARIABLES,
  service,
  services,
  DOTENV_EXAMPLE,
} from '../../helpers/compose.js';

test('every NBLC_* / TEMPORAL_* variable set on the worker and the API is one the code reads', () => {
  for (const name of NBLC_SERVICES) {
    for (const key of Object.keys(rawEnv(service(name)))) {
      if (!/^(NBLC|TEMPORAL)_/.test(key)) continue;
      assert.ok(
        CONFIG_VARIABLES.includes(key) || isTemporalConnectionVariable(key),
        `service ${name} sets ${key}, which neither src/platform/config.ts (CONFIG_VARIABLES) nor Temporal's envconfig reads`,
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

test("the worker's and the API's environments load with src/platform/config.ts", () => {
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
  NBLC_LINK_SECRET: /\blinkSecret\b/,
  NBLC_USER_TOKEN_SECRET: /\buserTokenSecret\b/,
  NBLC_GIT_TOKEN: /\brepo\.token\b/,
  NBLC_DATABASE_URL: /\bdatabaseUrl\b/,
  NBLC_ALERT_WEBHOOK_URL: /\bwebhookUrls\b/,
  NBLC_SMTP_URL: /\bsmtpUrl\b/,
  NBLC_GITHUB_TOKEN: /\bgithub\.token\b/,
};
const CODE_OF: Record<(typeof NBLC_SERVICES)[number], string[]> = {
  [S.worker]: ['src/activities', 'src/workflows', 'src/process/worker.ts', 'src/storage/runs/history-store.ts'],
  [S.api]: ['src/api', 'src/process/server.ts', 'src/storage/runs/history-store.ts'],
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
          `service ${name}: the compose default ${key}=${fallback} differs from src/platform/config.ts's default`,
        );
      }
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
