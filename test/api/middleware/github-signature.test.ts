/**
 * githubSignature on a bare Hono app: refusals before the body is read, secrets, rotation, and
 * the verified body handed on.
 *
 *   node --import tsx --test test/api/middleware/github-signature.test.ts
 */
import { sign } from '@octokit/webhooks-methods';
import { Hono } from 'hono';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { SIGNATURE_ERRORS, githubSignature } from '../../../src/api/middleware/github-signature.js';
import type { Logger } from '../../../src/platform/logger.js';
import { Secret } from '../../../src/platform/secret.js';

const SECRET = 'the-webhook-secret-0123456789';
const PREVIOUS = 'the-previous-webhook-secret-42';
const BODY = '{"ref":"refs/heads/main","note":"Été \\u2603 ✓"}\n';

/** An app with only the middleware; `ran` tells whether the handler after it was reached. */
function appWith(secrets: string[], logger?: Logger) {
  const seen: { ran: boolean; rawBody?: string; json?: unknown } = { ran: false };
  const app = new Hono();
  app.post(
    '/',
    githubSignature(
      secrets.map((s) => new Secret(s)),
      logger,
    ),
    async (c) => {
      seen.ran = true;
      seen.rawBody = c.get('rawBody');
      seen.json = await c.req.json(); // from Hono's cache of the text the middleware read
      return c.json({ ok: true });
    },
  );
  return { app, seen };
}

function request(headers: Record<string, string>, body = BODY): Request {
  return new Request('http://localhost/', { method: 'POST', headers, body });
}

async function errorOf(res: Response): Promise<string> {
  assert.equal(res.status, 401);
  return ((await res.json()) as { error: string }).error;
}

test('no X-Hub-Signature-256: 401, the body is not read and the handler never runs', async () => {
  const { app, seen } = appWith([SECRET]);
  const req = request({ 'content-type': 'application/json' });
  assert.equal(await errorOf(await app.request(req)), SIGNATURE_ERRORS.missing);
  assert.equal(req.bodyUsed, false, 'the body was read');
  assert.equal(seen.ran, false);
});

test('only a SHA-1 X-Hub-Signature: 401 naming both headers, body unread', async () => {
  const { app, seen } = appWith([SECRET]);
  const sha1 = `sha1=${createHmac('sha1', SECRET).update(BODY).digest('hex')}`;
  const req = request({ 'x-hub-signature': sha1 });
  assert.match(await errorOf(await app.request(req)), /SHA-1.*X-Hub-Signature-256/);
  assert.equal(req.bodyUsed, false);
  assert.equal(seen.ran, false);
});

test('a malformed signature: 401, body unread', async () => {
  const { app, seen } = appWith([SECRET]);
  const valid = await sign(SECRET, BODY);
  const hex = valid.slice('sha256='.length);
  for (const signature of [
    'garbage',
    hex,
    `sha1=${hex}`,
    valid.slice(0, -2),
    `${valid}00`,
    `sha256=${'z'.repeat(64)}`,
    valid.toUpperCase(),
  ]) {
    const req = request({ 'x-hub-signature-256': signature });
    assert.equal(await errorOf(await app.request(req)), SIGNATURE_ERRORS.malformed, signature);
    assert.equal(req.bodyUsed, false, signature);
  }
  assert.equal(seen.ran, false);
});

test('signed with another secret, or altered after signing, or empty: 401 "does not match"', async () => {
  const { app, seen } = appWith([SECRET]);
  const other = await app.request(request({ 'x-hub-signature-256': await sign('another-secret', BODY) }));
  assert.equal(await errorOf(other), SIGNATURE_ERRORS.mismatch);
  const altered = await app.request(request({ 'x-hub-signature-256': await sign(SECRET, BODY) }, `${BODY} `));
  assert.equal(await errorOf(altered), SIGNATURE_ERRORS.mismatch);
  const empty = await app.request(request({ 'x-hub-signature-256': await sign(SECRET, 'x') }, ''));
  assert.equal(await errorOf(empty), SIGNATURE_ERRORS.mismatch);
  assert.equal(seen.ran, false);
});

test('no secret configured: every delivery is refused', async () => {
  const { app, seen } = appWith([]);
  const res = await app.request(request({ 'x-hub-signature-256': await sign(SECRET, BODY) }));
  assert.equal(await errorOf(res), SIGNATURE_ERRORS.mismatch);
  assert.equal(seen.ran, false);
});

test('rotation: the current and the previous secret are accepted, nothing else', async () => {
  const { app, seen } = appWith([SECRET, PREVIOUS]);
  for (const secret of [SECRET, PREVIOUS]) {
    const res = await app.request(request({ 'x-hub-signature-256': await sign(secret, BODY) }));
    assert.equal(res.status, 200, secret);
  }
  assert.equal(seen.ran, true);
  const unrelated = await app.request(request({ 'x-hub-signature-256': await sign('unrelated', BODY) }));
  assert.equal(unrelated.status, 401);
});

test('the verified body, byte for byte, is available downstream as rawBody and through c.req', async () => {
  const { app, seen } = appWith([SECRET]);
  const res = await app.request(request({ 'x-hub-signature-256': await sign(SECRET, BODY) }));
  assert.equal(res.status, 200);
  assert.equal(seen.rawBody, BODY);
  assert.deepEqual(seen.json, JSON.parse(BODY));
});

test('refusals are logged with the reason and the delivery, never the signature', async () => {
  const logged: Array<Record<string, unknown>> = [];
  const logger = { warn: (fields: Record<string, unknown>) => logged.push(fields) } as unknown as Logger;
  const { app } = appWith([SECRET], logger);
  const signature = await sign('another-secret', BODY);
  await app.request(
    request({ 'x-hub-signature-256': signature, 'x-github-delivery': 'd-1', 'x-github-event': 'push' }),
  );
  assert.deepEqual(logged, [{ delivery: 'd-1', event: 'push', reason: SIGNATURE_ERRORS.mismatch }]);
  assert.ok(!JSON.stringify(logged).includes(signature.slice(7)));
});
