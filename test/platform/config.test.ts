/**
 * The one validated config: secrets from the environment or from files, problems named by
 * variable, and Temporal's API key from a file reaching the connection like an inline one.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig, type Env } from '../../src/platform/config.js';
import { connectionOptions } from '../../src/platform/temporal.js';

const base: Env = { NBLC_REPO_URL: '/srv/notebooks.git', NBLC_REPO_FULL_NAME: 'org/notebooks' };
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nblc-config-'));
const file = async (name: string, text: string) => {
  const p = path.join(dir, name);
  await fs.writeFile(p, text);
  return p;
};
const problemsOf = (env: Env) => {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('the config loaded');
};

test('secrets come from NAME or NAME_FILE (trailing newline dropped, empty file = unset), never both', async () => {
  const cfg = loadConfig({
    ...base,
    NBLC_API_TOKEN_FILE: await file('api', 'tok-from-file-0123456789abcdef0123456789\n'),
    NBLC_GIT_TOKEN_FILE: await file('git', ''),
  });
  assert.equal(cfg.apiToken?.reveal(), 'tok-from-file-0123456789abcdef0123456789');
  assert.equal(cfg.repo.token, undefined);
  assert.doesNotMatch(JSON.stringify(cfg.apiToken), /tok-from-file/, 'a secret does not serialize');
  assert.match(
    problemsOf({ ...base, NBLC_API_TOKEN: 'a', NBLC_API_TOKEN_FILE: await file('b', 'b') }),
    /NBLC_API_TOKEN: set either/,
  );
  assert.match(
    problemsOf({ ...base, NBLC_API_TOKEN_FILE: path.join(dir, 'missing') }),
    /NBLC_API_TOKEN_FILE: cannot read/,
  );
});

test('a missing or malformed value stops loading with a message naming the variable', () => {
  assert.match(
    problemsOf({ NBLC_REPO_FULL_NAME: 'org/notebooks' }),
    /NBLC_REPO_URL is not set: the git URL of the notebooks repository [^\n]*, e\.g\. NBLC_REPO_URL=https:\/\/github\.com\/OWNER\/NAME\.git/,
  );
  const both = problemsOf({});
  assert.match(both, /NBLC_REPO_FULL_NAME is not set: [^\n]*e\.g\. NBLC_REPO_FULL_NAME=OWNER\/NAME/);
  assert.doesNotMatch(both, /expected string|received undefined/);
  assert.match(
    problemsOf({ ...base, NBLC_REPO_FULL_NAME: 'notebooks' }),
    /NBLC_REPO_FULL_NAME: must be "<owner>\/<name>"[^\n]*; it is [^\n]*e\.g\. NBLC_REPO_FULL_NAME=OWNER\/NAME/,
  );
  assert.match(problemsOf({ ...base, NBLC_PORT: 'eighty' }), /NBLC_PORT/);
  assert.match(
    problemsOf({ ...base, NBLC_USER_TOKEN_SECRET: 'short' }),
    /NBLC_USER_TOKEN_SECRET: use at least 32 characters/,
  );
  assert.match(problemsOf({ ...base, NBLC_EXECUTOR: 'thread' }), /NBLC_EXECUTOR/);
});

test('TEMPORAL_API_KEY_FILE reaches the connection as TEMPORAL_API_KEY does, TLS included', async () => {
  const cluster = { ...base, TEMPORAL_ADDRESS: 'temporal.example.org:7233' };
  const inline = connectionOptions(loadConfig({ ...cluster, TEMPORAL_API_KEY: 'key-123' }));
  const fromFile = connectionOptions(loadConfig({ ...cluster, TEMPORAL_API_KEY_FILE: await file('key', 'key-123\n') }));
  assert.equal(inline.apiKey, 'key-123');
  assert.equal(fromFile.apiKey, 'key-123');
  assert.equal(inline.tls, true, 'an API key turns TLS on');
  assert.equal(fromFile.tls, true);
  assert.equal(connectionOptions(loadConfig(cluster)).apiKey, undefined);
});

test('NBLC_READY_COPY: on unless "false"; anything but true/false is refused by name', () => {
  assert.equal(loadConfig(base).copies.readyCopy, true);
  assert.equal(loadConfig({ ...base, NBLC_READY_COPY: 'false' }).copies.readyCopy, false);
  assert.match(problemsOf({ ...base, NBLC_READY_COPY: 'no' }), /NBLC_READY_COPY/);
});

test('copy settings are grouped under config.copies (the variables keep their names)', () => {
  assert.deepEqual(loadConfig(base).copies, { concurrency: 4, updateOnPublish: false, readyCopy: true, maxQueued: 3 });
  const set = loadConfig({
    ...base,
    NBLC_COPY_CONCURRENCY: '9',
    NBLC_UPDATE_COPIES_ON_PUBLISH: 'true',
    NBLC_COPY_MAX_QUEUED: '0',
  });
  assert.deepEqual(set.copies, { concurrency: 9, updateOnPublish: true, readyCopy: true, maxQueued: 0 });
  assert.match(problemsOf({ ...base, NBLC_COPY_CONCURRENCY: '0' }), /NBLC_COPY_CONCURRENCY/);
  // Temporal keeps at most 10 updates of a workflow in flight: the running request and those waiting.
  assert.match(problemsOf({ ...base, NBLC_COPY_MAX_QUEUED: '9' }), /NBLC_COPY_MAX_QUEUED/);
});

test("the run defaults are within RUN_LIMITS: a day at most, as for a run's own options", () => {
  for (const [name, value] of [
    ['NBLC_NOTEBOOK_TIMEOUT', '1e21'],
    ['NBLC_NOTEBOOK_TIMEOUT', '86401'],
    ['NBLC_CELL_TIMEOUT', '1e21'],
    ['NBLC_CELL_TIMEOUT', '0.5'],
    ['NBLC_TEST_CONCURRENCY', '257'],
  ] as const) {
    assert.match(problemsOf({ ...base, [name]: value }), new RegExp(`${name}: `), `${name}=${value}`);
  }
  const edge = loadConfig({ ...base, NBLC_NOTEBOOK_TIMEOUT: '86400', NBLC_CELL_TIMEOUT: '1' });
  assert.equal(edge.tests.notebookTimeoutS, 86_400);
  assert.equal(edge.tests.cellTimeoutS, 1);
});

const STRONG = 'a3f1c9e07b2d4c8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9012345678abcd'; // openssl rand -hex 32

test('NBLC_API_TOKEN: 32 characters at least, only what a bearer token can carry, not a user token', () => {
  assert.equal(loadConfig({ ...base, NBLC_API_TOKEN: STRONG }).apiToken?.reveal(), STRONG);
  const base64 = 'q8F+3vT/9w0xYz1AbCdEfGhIjKlMnOpQrStUvWxYz01=';
  assert.equal(loadConfig({ ...base, NBLC_API_TOKEN: base64 }).apiToken?.reveal(), base64, 'openssl rand -base64 32');
  const short = problemsOf({ ...base, NBLC_API_TOKEN: 'operator-token-for-tests' });
  assert.match(short, /NBLC_API_TOKEN: use at least 32 characters/);
  assert.match(short, /openssl rand -hex 32/);
  for (const odd of [`${STRONG}!`, `${STRONG}:x`, `pass word ${STRONG}`, `${STRONG}@`, `${STRONG}"`, `=${STRONG}`]) {
    assert.match(
      problemsOf({ ...base, NBLC_API_TOKEN: odd }),
      /NBLC_API_TOKEN: .*letters, digits and \. _ ~ \+ \/ -.*openssl rand -hex 32/,
      odd,
    );
  }
  assert.match(
    problemsOf({ ...base, NBLC_API_TOKEN: `nblcu_${STRONG}` }),
    /NBLC_API_TOKEN: must not start with nblcu_/,
  );
});

test('webhook and user-token secrets: 32 characters at least, no whitespace around them', async () => {
  const ok = loadConfig({ ...base, NBLC_WEBHOOK_SECRET: `any #$%! string ${STRONG}`, NBLC_USER_TOKEN_SECRET: STRONG });
  assert.equal(ok.webhookSecrets.length, 1, 'GitHub takes any string: so does nblc');
  assert.match(
    problemsOf({ ...base, NBLC_WEBHOOK_SECRET: 'test-webhook-secret-0123456789' }),
    /NBLC_WEBHOOK_SECRET: use at least 32 characters \(e\.g\. `openssl rand -hex 32`\)/,
  );
  for (const name of [
    'NBLC_WEBHOOK_SECRET',
    'NBLC_WEBHOOK_SECRET_PREVIOUS',
    'NBLC_USER_TOKEN_SECRET',
    'NBLC_API_TOKEN',
  ]) {
    for (const value of [` ${STRONG}`, `${STRONG} `, `${STRONG}\t`, `${STRONG}\r`]) {
      assert.match(problemsOf({ ...base, [name]: value }), new RegExp(`${name}: .*whitespace`), JSON.stringify(value));
    }
  }
  // A file written on Windows: its CRLF is more than the one newline that is dropped.
  const crlf = await file('crlf', `${STRONG}\r\n`);
  assert.equal(loadConfig({ ...base, NBLC_WEBHOOK_SECRET_FILE: crlf }).webhookSecrets[0]?.reveal(), STRONG);
  // The previous secret may be short: a rotation is how a short secret is replaced.
  const rotating = loadConfig({ ...base, NBLC_WEBHOOK_SECRET: STRONG, NBLC_WEBHOOK_SECRET_PREVIOUS: 'old-short' });
  assert.equal(rotating.webhookSecrets.length, 2);
});

test('secrets given inline do not serialize with the config, though the raw environment stays readable', () => {
  const token = 'inline-operator-token-0123456789abcdefghij';
  const url = 'postgresql://nblc:inline-s3cret@db.example:5432/nblc';
  const cfg = loadConfig({ ...base, NBLC_API_TOKEN: token, NBLC_DATABASE_URL: url });
  const printed = JSON.stringify(cfg);
  assert.doesNotMatch(printed, /inline-operator-token|inline-s3cret/);
  assert.match(printed, /"NBLC_API_TOKEN"/, 'the names are there');
  assert.equal(cfg.env.NBLC_API_TOKEN, token);
  assert.deepEqual(
    Object.keys({ ...cfg.env }).sort(),
    Object.keys({ ...base, NBLC_API_TOKEN: 1, NBLC_DATABASE_URL: 1 }).sort(),
  );
});

test('NBLC_DATABASE_URL: unset is SQLite in the data dir; a PostgreSQL URL (or its _FILE) is a secret', async () => {
  assert.equal(loadConfig(base).databaseUrl, undefined);
  const url = 'postgresql://nblc:s3cret@db.example:5432/nblc';
  const cfg = loadConfig({ ...base, NBLC_DATABASE_URL_FILE: await file('db', `${url}\n`) });
  assert.equal(cfg.databaseUrl?.reveal(), url);
  assert.doesNotMatch(JSON.stringify(cfg), /s3cret/, 'the password does not serialize');
  assert.equal(loadConfig({ ...base, NBLC_DATABASE_URL: 'postgres://h/db' }).databaseUrl?.reveal(), 'postgres://h/db');
  assert.match(problemsOf({ ...base, NBLC_DATABASE_URL: 'mysql://h/db' }), /NBLC_DATABASE_URL: a PostgreSQL URL/);
});

test('alert channels and the GitHub token are secrets (inline or _FILE); lists split on commas; bad URLs named', async () => {
  const cfg = loadConfig({
    ...base,
    NBLC_ALERT_WEBHOOK_URL_FILE: await file('hooks', 'https://hooks.example.org/a, https://chat.example.org/b\n'),
    NBLC_SMTP_URL: 'smtps://nblc:pw@mail.example.org:465',
    NBLC_ALERT_EMAIL_TO: 'ops@example.org,,oncall@example.org',
    NBLC_GITHUB_TOKEN_FILE: await file('gh', 'ghp_x\n'),
    NBLC_PUBLIC_URL: 'https://nblc.example.org/',
  });
  assert.deepEqual(
    cfg.alerts.webhookUrls.map((u) => u.reveal()),
    ['https://hooks.example.org/a', 'https://chat.example.org/b'],
  );
  assert.deepEqual(cfg.alerts.emailTo, ['ops@example.org', 'oncall@example.org']);
  assert.equal(cfg.github.token?.reveal(), 'ghp_x');
  assert.equal(cfg.github.apiUrl, 'https://api.github.com');
  assert.equal(cfg.http.publicUrl, 'https://nblc.example.org');
  assert.deepEqual([cfg.alerts.syncAfter, cfg.alerts.quietFlaky, cfg.alerts.flakyAfter], ['30m', true, 3]);
  assert.equal(cfg.github.prFromForks, false);
  assert.doesNotMatch(JSON.stringify([cfg.alerts, cfg.github]), /hooks\.example|pw@|ghp_x/, 'none serializes');
  assert.match(problemsOf({ ...base, NBLC_ALERT_WEBHOOK_URL: 'hooks.example.org/a' }), /NBLC_ALERT_WEBHOOK_URL: http/);
  assert.match(problemsOf({ ...base, NBLC_SMTP_URL: 'mail.example.org' }), /NBLC_SMTP_URL: an SMTP URL/);
  assert.equal(loadConfig({ ...base, NBLC_PUBLIC_URL: '' }).http.publicUrl, undefined);
});

test('the kernel network, CPU and disk settings: defaults, and errors that name the setting', () => {
  const cfg = loadConfig(base);
  assert.equal(cfg.sandbox.network, 'outbound');
  assert.deepEqual(cfg.sandbox.networkAllow, []);
  assert.equal(cfg.sandbox.notebookCpus, 1);
  assert.equal(cfg.sandbox.notebookDisk, '1G');
  const set = loadConfig({
    ...base,
    NBLC_KERNEL_NETWORK: 'none',
    NBLC_KERNEL_NETWORK_ALLOW: ' 10.20.0.0/16, 192.0.2.10:5432,198.51.100.7',
    NBLC_NOTEBOOK_CPUS: '0.5',
    NBLC_NOTEBOOK_DISK: 'off',
  });
  assert.equal(set.sandbox.network, 'none');
  assert.deepEqual(set.sandbox.networkAllow, ['10.20.0.0/16', '192.0.2.10:5432', '198.51.100.7']);
  assert.equal(set.sandbox.notebookCpus, 0.5);
  assert.equal(set.sandbox.notebookDisk, '0');
  assert.match(problemsOf({ ...base, NBLC_KERNEL_NETWORK: 'bridge' }), /NBLC_KERNEL_NETWORK/);
  for (const bad of ['10.0.0.0/33', 'example.com', '10.1.2.3:99999', 'fd00::/8', '300.1.1.1'])
    assert.match(
      problemsOf({ ...base, NBLC_KERNEL_NETWORK_ALLOW: bad }),
      /NBLC_KERNEL_NETWORK_ALLOW: ".*" is not an IPv4/,
    );
  assert.match(
    problemsOf({ ...base, NBLC_KERNEL_NETWORK_ALLOW: '127.0.0.1:7233' }),
    /NBLC_KERNEL_NETWORK_ALLOW: "127\.0\.0\.1:7233" is the host's loopback/,
  );
  assert.match(problemsOf({ ...base, NBLC_NOTEBOOK_CPUS: 'lots' }), /NBLC_NOTEBOOK_CPUS/);
  assert.match(problemsOf({ ...base, NBLC_NOTEBOOK_DISK: 'big' }), /NBLC_NOTEBOOK_DISK/);
});

test('NBLC_USER_LAB_MEMORY: a size in binary units, off/0/unset for no flag; a bad value is refused by name', () => {
  assert.equal(loadConfig(base).tests.userLabMemoryBytes, null);
  assert.equal(loadConfig({ ...base, NBLC_USER_LAB_MEMORY: '4G' }).tests.userLabMemoryBytes, 4 * 2 ** 30);
  assert.equal(loadConfig({ ...base, NBLC_USER_LAB_MEMORY: '512 M' }).tests.userLabMemoryBytes, 512 * 2 ** 20);
  assert.equal(loadConfig({ ...base, NBLC_USER_LAB_MEMORY: 'off' }).tests.userLabMemoryBytes, null);
  assert.match(problemsOf({ ...base, NBLC_USER_LAB_MEMORY: 'lots' }), /NBLC_USER_LAB_MEMORY/);
});
