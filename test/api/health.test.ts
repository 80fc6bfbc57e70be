/**
 * Liveness, readiness and unknown routes, against a real Temporal dev server and one that was
 * stopped after the client connected.
 *
 *   node --import tsx --test test/api/health.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApp } from '../../src/api/app.js';
import { createLogger } from '../../src/platform/logger.js';
import { tempDir, testConfig } from '../helpers/fixtures.js';
import { useTestEnv, useUnreachableClient } from '../helpers/temporal.js';

const logger = createLogger('silent');
const dir = await tempDir('nblc-api-health-');
const config = testConfig(dir, 'file:///nonexistent/notebooks.git');

const env = useTestEnv();
/** A client whose server was stopped after it connected: Temporal "went away". */
const deadClient = useUnreachableClient();

const app = () => createApp({ client: env.client, config, logger });

async function json(res: Response): Promise<Record<string, unknown>> {
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  return (await res.json()) as Record<string, unknown>;
}

test('GET /healthz is 200 while the process is up', async () => {
  const res = await app().request('/healthz');
  assert.equal(res.status, 200);
  assert.deepEqual(await json(res), { ok: true });
});

test('GET /healthz does not depend on Temporal', async () => {
  const res = await createApp({ client: deadClient(), config, logger }).request('/healthz');
  assert.equal(res.status, 200);
});

test('GET /readyz is 200 when Temporal is reachable', async () => {
  const res = await app().request('/readyz');
  assert.equal(res.status, 200);
  const body = await json(res);
  assert.equal(body.ok, true);
  assert.equal(body.temporal, 'reachable');
});

test('GET /readyz is 503 when Temporal is not reachable', async () => {
  const res = await createApp({ client: deadClient(), config, logger }).request('/readyz');
  assert.equal(res.status, 503);
  const body = await json(res);
  assert.equal(body.ok, false);
  assert.equal(body.temporal, 'unreachable');
});

test('an unknown route is 404 JSON naming the route', async () => {
  const res = await app().request('/no/such/route?x=1');
  assert.equal(res.status, 404);
  const body = await json(res);
  assert.match(String(body.error), /GET \/no\/such\/route/);

  const wrongMethod = await app().request('/webhooks/github');
  assert.equal(wrongMethod.status, 404);
  assert.match(String((await json(wrongMethod)).error), /GET \/webhooks\/github/);
});
