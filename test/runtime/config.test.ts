/**
 * The one validated config: secrets from the environment or from files, problems named by
 * variable, and Temporal's API key from a file reaching the connection like an inline one.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig, type Env } from '../../src/runtime/config.js';
import { connectionOptions } from '../../src/runtime/temporal.js';

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
    NBLC_API_TOKEN_FILE: await file('api', 'tok-from-file\n'),
    NBLC_GIT_TOKEN_FILE: await file('git', ''),
  });
  assert.equal(cfg.apiToken?.reveal(), 'tok-from-file');
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
  assert.match(problemsOf({ NBLC_REPO_FULL_NAME: 'org/notebooks' }), /NBLC_REPO_URL/);
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
  assert.deepEqual(loadConfig(base).copies, { concurrency: 4, updateOnPublish: false, readyCopy: true });
  const set = loadConfig({ ...base, NBLC_COPY_CONCURRENCY: '9', NBLC_UPDATE_COPIES_ON_PUBLISH: 'true' });
  assert.deepEqual(set.copies, { concurrency: 9, updateOnPublish: true, readyCopy: true });
  assert.match(problemsOf({ ...base, NBLC_COPY_CONCURRENCY: '0' }), /NBLC_COPY_CONCURRENCY/);
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
  assert.equal(cfg.publicUrl, 'https://nblc.example.org');
  assert.deepEqual([cfg.alerts.syncAfter, cfg.alerts.quietFlaky, cfg.alerts.flakyAfter], ['30m', true, 3]);
  assert.equal(cfg.github.prFromForks, false);
  assert.doesNotMatch(JSON.stringify([cfg.alerts, cfg.github]), /hooks\.example|pw@|ghp_x/, 'none serializes');
  assert.match(problemsOf({ ...base, NBLC_ALERT_WEBHOOK_URL: 'hooks.example.org/a' }), /NBLC_ALERT_WEBHOOK_URL: http/);
  assert.match(problemsOf({ ...base, NBLC_SMTP_URL: 'mail.example.org' }), /NBLC_SMTP_URL: an SMTP URL/);
  assert.equal(loadConfig({ ...base, NBLC_PUBLIC_URL: '' }).publicUrl, undefined);
});
