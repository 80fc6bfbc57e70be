/**
 * githubEvent on a bare Hono app: the delivery headers, ping, events a route does not handle,
 * and a webhook configured with the form content type.
 *
 *   node --import tsx --test test/api/middleware/github-event.test.ts
 */
import { Hono } from 'hono';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NOT_JSON, githubEvent, type GithubEventOptions } from '../../../src/api/middleware/github-event.js';

const DELIVERY = '72d3162e-cc78-11e3-81ab-4c9367dc0958';

function appWith(options?: GithubEventOptions) {
  const seen: Array<{ event: string; delivery: string }> = [];
  const app = new Hono();
  app.post('/', githubEvent(options), (c) => {
    seen.push({ event: c.get('githubEvent'), delivery: c.get('githubDelivery') });
    return c.json({ handled: true });
  });
  return { app, seen };
}

async function deliver(app: Hono, headers: Record<string, string | null>, body = '{}'): Promise<Response> {
  const all: Record<string, string | null> = {
    'content-type': 'application/json',
    'x-github-event': 'push',
    'x-github-delivery': DELIVERY,
    ...headers,
  };
  const sent = Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== null));
  return app.request('/', { method: 'POST', headers: sent, body });
}

test('the event and the delivery ID are handed on', async () => {
  const { app, seen } = appWith({ handles: ['push'] });
  const res = await deliver(app, {});
  assert.equal(res.status, 200);
  assert.deepEqual(seen, [{ event: 'push', delivery: DELIVERY }]);
});

test('a missing X-GitHub-Event, or a missing or malformed X-GitHub-Delivery, is 400', async () => {
  const { app, seen } = appWith();
  const noEvent = await deliver(app, { 'x-github-event': null });
  assert.equal(noEvent.status, 400);
  assert.deepEqual(await noEvent.json(), { error: 'missing X-GitHub-Event header' });
  for (const delivery of [null, '', 'abc def<script>', 'x'.repeat(101)]) {
    const res = await deliver(app, { 'x-github-delivery': delivery });
    assert.equal(res.status, 400, String(delivery));
    assert.deepEqual(await res.json(), { error: 'missing or malformed X-GitHub-Delivery header' });
  }
  assert.deepEqual(seen, []);
});

test('ping is answered 200 here, whatever the route handles', async () => {
  const { app, seen } = appWith({ handles: ['push'] });
  const res = await deliver(app, { 'x-github-event': 'ping' }, '{"zen":"Keep it logically awesome."}');
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ok: true });
  assert.deepEqual(seen, []);
});

test('an event the route does not handle is 202 {ignored}; without `handles`, every event passes', async () => {
  const { app, seen } = appWith({ handles: ['push'] });
  const res = await deliver(app, { 'x-github-event': 'issues' });
  assert.equal(res.status, 202);
  assert.deepEqual(await res.json(), { ignored: 'event issues is not handled' });
  assert.deepEqual(seen, []);

  const open = appWith();
  assert.equal((await deliver(open.app, { 'x-github-event': 'issues' })).status, 200);
  assert.deepEqual(open.seen, [{ event: 'issues', delivery: DELIVERY }]);
});

test("a form-encoded delivery (GitHub's other content type) is 400 from the first ping on", async () => {
  const { app, seen } = appWith({ handles: ['push'] });
  for (const event of ['ping', 'push', 'issues']) {
    const res = await deliver(
      app,
      { 'x-github-event': event, 'content-type': 'application/x-www-form-urlencoded' },
      'payload=%7B%7D',
    );
    assert.equal(res.status, 400, event);
    assert.deepEqual(await res.json(), { error: NOT_JSON });
  }
  assert.deepEqual(seen, []);
});

test('the headers are checked without reading the body', async () => {
  const { app } = appWith({ handles: ['push'] });
  const req = new Request('http://localhost/', {
    method: 'POST',
    headers: { 'x-github-event': 'ping', 'x-github-delivery': DELIVERY },
    body: '{}',
  });
  assert.equal((await app.request(req)).status, 200);
  assert.equal(req.bodyUsed, false);
});
