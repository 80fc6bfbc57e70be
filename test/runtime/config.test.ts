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
