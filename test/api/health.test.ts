/**
 * Liveness, readiness and unknown routes, against a real Temporal dev server and one that was
 * stopped after the client connected.
 *
 *   node --import tsx --test test/api/health.test.ts
 */
import { Client, Connection } from '@temporalio/client';
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { createApp } from '../../src/api/app.js';
import { createLogger } from '../../src/platform/logger.js';
import { startApi } from '../../src/process/server.js';
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

/** A TCP relay to the test server that counts the connections made through it. */
async function countingRelay(target: string) {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((inbound) => {
    accepted++;
    const outbound = net.connect(port, host);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    accepted: () => accepted,
    /** Temporal goes away: no new connection, the open ones cut. */
    cut: () => {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

test('GET /readyz reuses one connection and keeps its answer for a second', async () => {
  const relay = await countingRelay(env.address);
  const connection = await Connection.connect({ address: relay.address });
  const api = await startApi({ client: new Client({ connection }), config, logger }, '127.0.0.1', 0);
  try {
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${api.url}/readyz`);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      if (i === 10) await new Promise((resolve) => setTimeout(resolve, 1100)); // past the cache: asked again
    }
    // The client's own connection and the probe's: not one per request.
    assert.ok(relay.accepted() <= 2, `${relay.accepted()} connections for 20 probes`);
    const fresh = await fetch(`${api.url}/readyz`);
    await fresh.arrayBuffer();
    relay.cut();
    const cached = await fetch(`${api.url}/readyz`);
    assert.equal(cached.status, 200, 'the answer of the last second');
    await cached.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const later = await fetch(`${api.url}/readyz`);
    assert.equal(later.status, 503, 'asked again after a second: Temporal is gone');
  } finally {
    await api.close();
    await connection.close();
  }
});
