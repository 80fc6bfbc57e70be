/**
 * POST /users/:user/copies through app.request(), against a real Temporal dev server, a real
 * worker and real directories: authentication, validation (traversal in names), the answer with
 * the per-file report, and the failures callers can act on.
 *
 *   node --import tsx --test test/api/users.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { createApp } from '../../src/api/app.js';
import { createLogger } from '../../src/platform/logger.js';
import { userToken } from '../../src/platform/copies/user-tokens.js';
import { publishTree } from '../helpers/copies.js';
import { tempDir, testConfig } from '../helpers/fixtures.js';
import { useTestEnv } from '../helpers/temporal.js';

const TOKEN = 'operator-token-for-the-user-tests-0123456789';
const logger = createLogger('silent');
const dir = await tempDir('nblc-api-users-');
const USER_SECRET = 'user-token-secret-0123456789abcdef0123';
const config = testConfig(dir, '/nonexistent.git', {
  NBLC_API_TOKEN: TOKEN,
  NBLC_USER_TOKEN_SECRET: USER_SECRET,
  NBLC_TASK_QUEUE: 'api-users',
});

const env = useTestEnv({ worker: config });
before(async () => {
  await fs.mkdir(path.join(config.usersDir, 'ada'), { recursive: true });
  await fs.mkdir(path.join(config.usersDir, 'bob'), { recursive: true });
});

const app = () => createApp({ client: env.client, config, logger });

function post(user: string, body: unknown, token: string | null = TOKEN) {
  return app().request(`/users/${user}/copies`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('POST /users/:user/copies', () => {
  test('401 without the operator token or with a wrong one; 503 when no token is configured', async () => {
    assert.equal((await post('ada', { mode: 'provision' }, null)).status, 401);
    assert.equal((await post('ada', { mode: 'provision' }, 'wrong')).status, 401);
    const offConfig = { ...config, apiToken: undefined, userTokenSecret: undefined };
    const off = createApp({ client: env.client, config: offConfig, logger });
    const res = await off.request('/users/ada/copies', { method: 'POST', body: '{"mode":"provision"}' });
    assert.equal(res.status, 503);
    assert.match(((await res.json()) as { error: string }).error, /NBLC_API_TOKEN/);
    await assert.rejects(fs.stat(path.join(config.usersDir, 'ada', 'notebooks')), 'nothing was done');
  });

  test("a user's own token opens that user's copies only, never another's or the operator routes", async () => {
    const adaToken = userToken(config.userTokenSecret!, 'ada');
    assert.match(adaToken, /^nblcu_[\w-]{43}$/);
    // The operator gets it for the account hook; a user token cannot.
    const issued = await app().request('/users/ada/token', { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(issued.status, 200);
    assert.deepEqual(await issued.json(), { user: 'ada', token: adaToken });
    const selfIssued = await app().request('/users/ada/token', { headers: { authorization: `Bearer ${adaToken}` } });
    assert.equal(selfIssued.status, 401);

    const forBob = await post('bob', { mode: 'latest' }, adaToken);
    assert.equal(forBob.status, 401);
    assert.match(((await forBob.json()) as { error: string }).error, /not a token of user bob/);
    const forged = await post('ada', { mode: 'latest' }, `${adaToken.slice(0, -2)}xx`);
    assert.equal(forged.status, 401);
    const runs = await app().request('/runs', { headers: { authorization: `Bearer ${adaToken}` } });
    assert.equal(runs.status, 401);
    assert.deepEqual(await fs.readdir(path.join(config.usersDir, 'bob')), [], 'nothing was done for bob');

    // Off without the secret: the token means nothing.
    const off = createApp({ client: env.client, config: { ...config, userTokenSecret: undefined }, logger });
    const res = await off.request('/users/ada/copies', {
      method: 'POST',
      headers: { authorization: `Bearer ${adaToken}` },
      body: '{"mode":"provision"}',
    });
    assert.equal(res.status, 401);
    assert.match(((await res.json()) as { error: string }).error, /NBLC_USER_TOKEN_SECRET/);
  });

  test('400 for user names that could leave the users directory, and for bad bodies', async () => {
    for (const user of ['..%2Fetc', '%2Fetc', 'a%2Fb', '%00', 'ada%00', '.hidden', '-x', 'x'.repeat(65)]) {
      const res = await post(user, { mode: 'provision' });
      assert.equal(res.status, 400, user);
      assert.match(((await res.json()) as { error: string }).error, /invalid user name/);
    }
    for (const body of [
      'not json',
      { mode: 'delete' },
      { mode: 'latest', dir: '../bob' },
      { mode: 'latest', dir: 'a/b' },
      { mode: 'provision', dir: 'x' },
      { mode: 'update', extra: 1 },
    ]) {
      assert.equal((await post('ada', body)).status, 400, JSON.stringify(body));
    }
    assert.deepEqual((await fs.readdir(config.usersDir)).sort(), ['ada', 'bob'], 'nothing was created');
  });

  test('provision answers with the path and the per-file report; update reports every file', async () => {
    await publishTree(config.cacheDir, { 'Intro/Hello World.ipynb': 'v1', 'README.md': 'v1' });
    const created = await post('ada', { mode: 'provision' });
    assert.equal(created.status, 201);
    const body = (await created.json()) as {
      path: string;
      created: boolean;
      files: Array<{ path: string; outcome: string }>;
      workflowId: string;
    };
    assert.equal(body.path, path.join(config.usersDir, 'ada', 'notebooks'));
    assert.deepEqual(
      body.files.map((f) => [f.path, f.outcome]),
      [
        ['Intro/Hello World.ipynb', 'added'],
        ['README.md', 'added'],
      ],
    );
    assert.equal(body.workflowId, 'user-copy:ada');

    const again = await post('ada', { mode: 'provision' });
    assert.equal(again.status, 200);
    assert.equal(((await again.json()) as { created: boolean }).created, false);

    await fs.writeFile(path.join(config.usersDir, 'ada', 'notebooks', 'README.md'), 'my notes');
    const sha = await publishTree(config.cacheDir, { 'Intro/Hello World.ipynb': 'v2', 'README.md': 'v2' });
    const updated = await post('ada', { mode: 'update' });
    assert.equal(updated.status, 200);
    const report = (await updated.json()) as {
      commit: string;
      files: Array<{ path: string; outcome: string; upstreamCopy?: string }>;
    };
    assert.equal(report.commit, sha);
    assert.deepEqual(report.files, [
      { path: 'Intro/Hello World.ipynb', outcome: 'updated' },
      { path: 'README.md', outcome: 'conflict', upstreamCopy: `README.upstream-${sha.slice(0, 7)}.md` },
    ]);
  });

  test('failures the caller can act on: 404 for a missing copy or user, 409 for an existing name', async () => {
    await publishTree(config.cacheDir, { 'a.ipynb': 'v1' });
    const missing = await post('ada', { mode: 'update', dir: 'nope' });
    assert.equal(missing.status, 404);
    assert.deepEqual(Object.keys((await missing.json()) as object).sort(), ['error', 'type']);
    assert.equal((await post('ada', { mode: 'latest', dir: 'proj' })).status, 201);
    const exists = await post('ada', { mode: 'latest', dir: 'proj' });
    assert.equal(exists.status, 409);
    assert.equal(((await exists.json()) as { type: string }).type, 'CopyExists');
    assert.equal((await post('nobody', { mode: 'update' })).status, 404);
  });
});
