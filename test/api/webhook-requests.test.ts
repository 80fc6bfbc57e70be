/**
 * POST /webhooks/github refusing what it must not act on: missing, malformed or wrong signatures
 * (and secret rotation), bodies that are too large, not JSON or not a push, missing headers; a
 * ping. Against a real Temporal dev server, which must show that nothing was started.
 *
 *   node --import tsx --test test/api/webhook-requests.test.ts
 */
import { sign } from '@octokit/webhooks-methods';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { pushEvent } from '../../src/demo/sample-repo.js';
import { syncWorkflowId } from '../../src/domain/sync/model.js';
import { TEST_SECRET, tempDir } from '../helpers/fixtures.js';
import { useTestEnv } from '../helpers/temporal.js';
import { AFTER, BEFORE, deliverWebhook, jsonBody, webhookApps, hex40 } from '../helpers/webhooks.js';

const dir = await tempDir('nblc-api-webhook-');
const env = useTestEnv();
const { uniqueRepo, appFor, assertNothingStarted } = webhookApps(env, dir);

// ---------------------------------------------------------------------------------------------

describe('signature verification', () => {
  const repo = uniqueRepo('signatures');
  const app = () => appFor(repo);
  const push = () => pushEvent({ repo, before: BEFORE, after: AFTER });

  test('a delivery without X-Hub-Signature-256 is 401 and starts nothing', async () => {
    const res = await deliverWebhook(app(), push(), { signature: null });
    assert.equal(res.status, 401);
    assert.match(String((await jsonBody(res)).error), /X-Hub-Signature-256/);
    await assertNothingStarted(repo);
  });

  test('a delivery signed with SHA-1 only (X-Hub-Signature) is 401 and starts nothing', async () => {
    const body = JSON.stringify(push());
    const sha1 = `sha1=${createHmac('sha1', TEST_SECRET).update(body).digest('hex')}`;
    const res = await deliverWebhook(app(), body, { signature: null, headers: { 'x-hub-signature': sha1 } });
    assert.equal(res.status, 401);
    assert.match(String((await jsonBody(res)).error), /SHA-1.*X-Hub-Signature-256/);
    await assertNothingStarted(repo);
  });

  test('malformed signatures are 401 and start nothing', async () => {
    const body = JSON.stringify(push());
    const valid = await sign(TEST_SECRET, body);
    for (const signature of [
      '',
      'garbage',
      valid.slice('sha256='.length), // no algorithm prefix
      `sha1=${valid.slice('sha256='.length)}`,
      valid.slice(0, -2), // truncated
      `${valid}00`, // too long
      `sha256=${'z'.repeat(64)}`,
    ]) {
      const res = await deliverWebhook(app(), body, { signature });
      assert.equal(res.status, 401, `signature ${JSON.stringify(signature)}`);
    }
    await assertNothingStarted(repo);
  });

  test('a body signed with another secret, or altered after signing, is 401 and starts nothing', async () => {
    const wrong = await deliverWebhook(app(), push(), { secret: 'not-the-webhook-secret' });
    assert.equal(wrong.status, 401);
    assert.match(String((await jsonBody(wrong)).error), /does not match/);

    const signedBody = JSON.stringify(push());
    const tampered = JSON.stringify({ ...push(), after: hex40('c') });
    const altered = await deliverWebhook(app(), tampered, { signature: await sign(TEST_SECRET, signedBody) });
    assert.equal(altered.status, 401);
    await assertNothingStarted(repo);
  });

  test('secret rotation: the previous secret is still accepted, an unrelated one is not', async () => {
    const rotated = uniqueRepo('rotation');
    const rotating = appFor(rotated, {
      NBLC_WEBHOOK_SECRET: 'the-new-webhook-secret-after-rotation',
      NBLC_WEBHOOK_SECRET_PREVIOUS: TEST_SECRET,
    });
    const body = pushEvent({ repo: rotated, before: BEFORE, after: AFTER });

    const unrelated = await deliverWebhook(rotating, body, { secret: 'some-unrelated-secret' });
    assert.equal(unrelated.status, 401);
    await assertNothingStarted(rotated);

    const previous = await deliverWebhook(rotating, body, { secret: TEST_SECRET });
    assert.equal(previous.status, 202);
    assert.equal((await jsonBody(previous)).workflowId, syncWorkflowId(rotated));

    const current = await deliverWebhook(rotating, body, { secret: 'the-new-webhook-secret-after-rotation' });
    assert.equal(current.status, 202);
  });
});

describe('request validation', () => {
  const repo = uniqueRepo('validation');
  const app = () => appFor(repo);

  test('a body over 25 MB is 413 and starts nothing', async () => {
    const big = JSON.stringify({
      ...pushEvent({ repo, before: BEFORE, after: AFTER }),
      padding: 'x'.repeat(26 * 1024 * 1024),
    });
    const res = await deliverWebhook(app(), big);
    assert.equal(res.status, 413);
    assert.match(String((await jsonBody(res)).error), /larger than/);
    await assertNothingStarted(repo);
  });

  test('a validly signed body that is not JSON is 400', async () => {
    const res = await deliverWebhook(app(), 'payload=%7B%22ref%22%3A%22refs%2Fheads%2Fmain%22%7D', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(res.status, 400);
    assert.match(String((await jsonBody(res)).error), /not valid JSON/);
    await assertNothingStarted(repo);
  });

  test('a push missing required fields, or with a non-hex SHA, is 400 with a readable problem list', async () => {
    const { after: _omitted, ...noAfter } = pushEvent({ repo, before: BEFORE, after: AFTER });
    const missing = await deliverWebhook(app(), noAfter);
    assert.equal(missing.status, 400);
    const missingBody = await jsonBody(missing);
    assert.equal(missingBody.error, 'invalid push payload');
    assert.ok(Array.isArray(missingBody.problems));
    assert.ok(
      (missingBody.problems as unknown[]).some((p) => typeof p === 'string' && p.startsWith('after:')),
      `problems name the field: ${JSON.stringify(missingBody.problems)}`,
    );

    const nonHex = await deliverWebhook(app(), pushEvent({ repo, before: BEFORE, after: 'z'.repeat(40) }));
    assert.equal(nonHex.status, 400);
    const nonHexProblems = (await jsonBody(nonHex)).problems as string[];
    assert.ok(
      nonHexProblems.some((p) => /^after: .*40-hex/.test(p)),
      JSON.stringify(nonHexProblems),
    );

    const short = await deliverWebhook(app(), pushEvent({ repo, before: BEFORE, after: 'abc1234' }));
    assert.equal(short.status, 400);

    const notAnObject = await deliverWebhook(app(), '[]');
    assert.equal(notAnObject.status, 400);
    assert.ok(((await jsonBody(notAnObject)).problems as string[]).length > 0);
    await assertNothingStarted(repo);
  });

  test('a delivery without (or with a malformed) X-GitHub-Delivery is 400', async () => {
    const push = pushEvent({ repo, before: BEFORE, after: AFTER });
    const missing = await deliverWebhook(app(), push, { delivery: null });
    assert.equal(missing.status, 400);
    assert.match(String((await jsonBody(missing)).error), /X-GitHub-Delivery/);

    const malformed = await deliverWebhook(app(), push, { delivery: 'abc def<script>' });
    assert.equal(malformed.status, 400);
    await assertNothingStarted(repo);
  });

  test('a delivery without X-GitHub-Event is 400', async () => {
    const res = await deliverWebhook(app(), pushEvent({ repo, before: BEFORE, after: AFTER }), { event: null });
    assert.equal(res.status, 400);
    await assertNothingStarted(repo);
  });

  test('ping (sent when the webhook is created) is 200 and starts nothing', async () => {
    const res = await deliverWebhook(
      app(),
      { zen: 'Keep it logically awesome.', hook_id: 1, hook: { events: ['push'] } },
      { event: 'ping' },
    );
    assert.equal(res.status, 200);
    await assertNothingStarted(repo);
  });
});
