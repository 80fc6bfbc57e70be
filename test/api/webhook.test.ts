/**
 * POST /webhooks/github against a real Temporal dev server (no worker: signalWithStart creates
 * the execution even when nobody polls its task queue, and describe()/fetchHistory() show what
 * the webhook started and with which signal).
 *
 *   node --import tsx --test test/api/webhook.test.ts
 */
import { sign } from '@octokit/webhooks-methods';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Hono } from 'hono';
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { createApp } from '../../src/api/app.js';
import type { Env } from '../../src/runtime/config.js';
import { syncWorkflowId, type Beacon } from '../../src/sync/model.js';
import { createLogger } from '../../src/runtime/logger.js';
import { pushEvent } from '../../src/demo/sample-repo.js';
import { TEST_REPO, TEST_SECRET, tempDir, testConfig } from '../helpers/fixtures.js';
import { useTestEnv, useUnreachableClient } from '../helpers/temporal.js';

const logger = createLogger('silent');
const dir = await tempDir('nblc-api-webhook-');

const env = useTestEnv();
/** A client whose server was stopped after it connected: Temporal "went away". */
const deadClient = useUnreachableClient();

const hex40 = (c: string) => c.repeat(40);
const BEFORE = hex40('a');
const AFTER = hex40('b');

let repoCounter = 0;
/** A repository full name no other test uses, so workflow IDs never collide. */
const uniqueRepo = (label: string) => `${TEST_REPO}-${label}-${++repoCounter}`;

function appFor(repo: string, extraEnv: Env = {}, client?: Client): Hono {
  const config = testConfig(dir, 'file:///nonexistent/notebooks.git', {
    NBLC_REPO_FULL_NAME: repo,
    TEMPORAL_NAMESPACE: env.namespace ?? 'default',
    NBLC_TEMPORAL_UI_URL: 'http://temporal-ui.example:8233',
    ...extraEnv,
  });
  return createApp({ client: client ?? env.client, config, logger });
}

interface Delivery {
  /** X-GitHub-Event; null leaves the header out. */
  event?: string | null;
  /** X-GitHub-Delivery; null leaves the header out. */
  delivery?: string | null;
  /** The secret the body is signed with (default: TEST_SECRET). */
  secret?: string;
  /** X-Hub-Signature-256 as sent; null leaves it out (default: a valid signature with `secret`). */
  signature?: string | null;
  headers?: Record<string, string>;
}

async function deliver(app: Hono, payload: unknown, o: Delivery = {}): Promise<Response> {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'GitHub-Hookshot/test' };
  if (o.event !== null) headers['x-github-event'] = o.event ?? 'push';
  if (o.delivery !== null) headers['x-github-delivery'] = o.delivery ?? randomUUID();
  const signature = o.signature === undefined ? await sign(o.secret ?? TEST_SECRET, body) : o.signature;
  if (signature !== null) headers['x-hub-signature-256'] = signature;
  Object.assign(headers, o.headers);
  return app.request('/webhooks/github', { method: 'POST', headers, body });
}

async function assertNothingStarted(repo: string): Promise<void> {
  await assert.rejects(
    env.client.workflow.getHandle(syncWorkflowId(repo)).describe(),
    WorkflowNotFoundError,
    `a workflow was started for ${repo}`,
  );
}

async function json(res: Response): Promise<Record<string, unknown>> {
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  return (await res.json()) as Record<string, unknown>;
}

/** The `beacon` signals in the workflow's history, decoded. */
async function signalledBeacons(workflowId: string): Promise<Beacon[]> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  const out: Beacon[] = [];
  for (const e of history.events ?? []) {
    const attrs = e.workflowExecutionSignaledEventAttributes;
    if (!attrs) continue;
    assert.equal(attrs.signalName, 'beacon');
    const payloads = attrs.input?.payloads ?? [];
    assert.equal(payloads.length, 1, 'the beacon signal carries exactly one argument');
    out.push(defaultPayloadConverter.fromPayload<Beacon>(payloads[0]!));
  }
  return out;
}

/**
 * Everything Temporal stores about the execution as one text, with binary payload data decoded
 * as UTF-8. (JSON.stringify would not do: protobuf messages serialize bytes as base64.)
 */
async function everythingStored(workflowId: string): Promise<string> {
  const handle = env.client.workflow.getHandle(workflowId);
  const [history, desc] = await Promise.all([handle.fetchHistory(), handle.describe()]);
  const out: string[] = [];
  const seen = new Set<object>();
  const walk = (v: unknown): void => {
    if (v instanceof Uint8Array) out.push(Buffer.from(v).toString('utf8'));
    else if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object' && !seen.has(v)) {
      seen.add(v);
      for (const [k, child] of Object.entries(v)) {
        out.push(k);
        walk(child);
      }
    }
  };
  walk(history);
  walk(desc.raw);
  walk(desc.memo);
  walk(await desc.staticSummary());
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------

describe('signature verification', () => {
  const repo = uniqueRepo('signatures');
  const app = () => appFor(repo);
  const push = () => pushEvent({ repo, before: BEFORE, after: AFTER });

  test('a delivery without X-Hub-Signature-256 is 401 and starts nothing', async () => {
    const res = await deliver(app(), push(), { signature: null });
    assert.equal(res.status, 401);
    assert.match(String((await json(res)).error), /X-Hub-Signature-256/);
    await assertNothingStarted(repo);
  });

  test('a delivery signed with SHA-1 only (X-Hub-Signature) is 401 and starts nothing', async () => {
    const body = JSON.stringify(push());
    const sha1 = `sha1=${createHmac('sha1', TEST_SECRET).update(body).digest('hex')}`;
    const res = await deliver(app(), body, { signature: null, headers: { 'x-hub-signature': sha1 } });
    assert.equal(res.status, 401);
    assert.match(String((await json(res)).error), /SHA-1.*X-Hub-Signature-256/);
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
      const res = await deliver(app(), body, { signature });
      assert.equal(res.status, 401, `signature ${JSON.stringify(signature)}`);
    }
    await assertNothingStarted(repo);
  });

  test('a body signed with another secret, or altered after signing, is 401 and starts nothing', async () => {
    const wrong = await deliver(app(), push(), { secret: 'not-the-webhook-secret' });
    assert.equal(wrong.status, 401);
    assert.match(String((await json(wrong)).error), /does not match/);

    const signedBody = JSON.stringify(push());
    const tampered = JSON.stringify({ ...push(), after: hex40('c') });
    const altered = await deliver(app(), tampered, { signature: await sign(TEST_SECRET, signedBody) });
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

    const unrelated = await deliver(rotating, body, { secret: 'some-unrelated-secret' });
    assert.equal(unrelated.status, 401);
    await assertNothingStarted(rotated);

    const previous = await deliver(rotating, body, { secret: TEST_SECRET });
    assert.equal(previous.status, 202);
    assert.equal((await json(previous)).workflowId, syncWorkflowId(rotated));

    const current = await deliver(rotating, body, { secret: 'the-new-webhook-secret-after-rotation' });
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
    const res = await deliver(app(), big);
    assert.equal(res.status, 413);
    assert.match(String((await json(res)).error), /larger than/);
    await assertNothingStarted(repo);
  });

  test('a validly signed body that is not JSON is 400', async () => {
    const res = await deliver(app(), 'payload=%7B%22ref%22%3A%22refs%2Fheads%2Fmain%22%7D', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(res.status, 400);
    assert.match(String((await json(res)).error), /not valid JSON/);
    await assertNothingStarted(repo);
  });

  test('a push missing required fields, or with a non-hex SHA, is 400 with a readable problem list', async () => {
    const { after: _omitted, ...noAfter } = pushEvent({ repo, before: BEFORE, after: AFTER });
    const missing = await deliver(app(), noAfter);
    assert.equal(missing.status, 400);
    const missingBody = await json(missing);
    assert.equal(missingBody.error, 'invalid push payload');
    assert.ok(Array.isArray(missingBody.problems));
    assert.ok(
      (missingBody.problems as unknown[]).some((p) => typeof p === 'string' && p.startsWith('after:')),
      `problems name the field: ${JSON.stringify(missingBody.problems)}`,
    );

    const nonHex = await deliver(app(), pushEvent({ repo, before: BEFORE, after: 'z'.repeat(40) }));
    assert.equal(nonHex.status, 400);
    const nonHexProblems = (await json(nonHex)).problems as string[];
    assert.ok(
      nonHexProblems.some((p) => /^after: .*40-hex/.test(p)),
      JSON.stringify(nonHexProblems),
    );

    const short = await deliver(app(), pushEvent({ repo, before: BEFORE, after: 'abc1234' }));
    assert.equal(short.status, 400);

    const notAnObject = await deliver(app(), '[]');
    assert.equal(notAnObject.status, 400);
    assert.ok(((await json(notAnObject)).problems as string[]).length > 0);
    await assertNothingStarted(repo);
  });

  test('a delivery without (or with a malformed) X-GitHub-Delivery is 400', async () => {
    const push = pushEvent({ repo, before: BEFORE, after: AFTER });
    const missing = await deliver(app(), push, { delivery: null });
    assert.equal(missing.status, 400);
    assert.match(String((await json(missing)).error), /X-GitHub-Delivery/);

    const malformed = await deliver(app(), push, { delivery: 'abc def<script>' });
    assert.equal(malformed.status, 400);
    await assertNothingStarted(repo);
  });

  test('a delivery without X-GitHub-Event is 400', async () => {
    const res = await deliver(app(), pushEvent({ repo, before: BEFORE, after: AFTER }), { event: null });
    assert.equal(res.status, 400);
    await assertNothingStarted(repo);
  });

  test('ping (sent when the webhook is created) is 200 and starts nothing', async () => {
    const res = await deliver(
      app(),
      { zen: 'Keep it logically awesome.', hook_id: 1, hook: { events: ['push'] } },
      { event: 'ping' },
    );
    assert.equal(res.status, 200);
    await assertNothingStarted(repo);
  });
});

describe('authentic deliveries that are not for us', () => {
  const cases: Array<{ name: string; make: (repo: string) => { payload: unknown; event?: string }; reason: RegExp }> = [
    {
      name: 'another event (issues)',
      make: (repo) => ({
        payload: { action: 'opened', issue: { number: 1 }, repository: { full_name: repo } },
        event: 'issues',
      }),
      reason: /issues/,
    },
    {
      name: 'another repository',
      make: () => ({ payload: pushEvent({ repo: 'someone-else/notebooks', before: BEFORE, after: AFTER }) }),
      reason: /someone-else\/notebooks/,
    },
    {
      name: 'another branch',
      make: (repo) => ({ payload: pushEvent({ repo, branch: 'feature/x', before: BEFORE, after: AFTER }) }),
      reason: /refs\/heads\/feature\/x/,
    },
    {
      name: 'a tag push',
      make: (repo) => ({ payload: pushEvent({ repo, ref: 'refs/tags/v1', before: hex40('0'), after: AFTER }) }),
      reason: /tag.*refs\/tags\/v1/,
    },
    {
      name: 'a deletion of the configured branch',
      make: (repo) => ({ payload: pushEvent({ repo, before: BEFORE, after: hex40('0') }) }),
      reason: /deletion/,
    },
  ];
  for (const c of cases) {
    test(`${c.name} is 202 {ignored} and starts nothing`, async () => {
      const repo = uniqueRepo('ignored');
      const { payload, event } = c.make(repo);
      const res = await deliver(appFor(repo), payload, { event });
      assert.equal(res.status, 202);
      const body = await json(res);
      assert.equal(typeof body.ignored, 'string');
      assert.match(body.ignored as string, c.reason);
      assert.equal(body.workflowId, undefined);
      await assertNothingStarted(repo);
      await assertNothingStarted('someone-else/notebooks');
    });
  }
});

describe('accepted pushes', () => {
  test('a push to the branch is 202 {workflowId, runId, temporalUiUrl} and signals a running sync workflow', async () => {
    const repo = uniqueRepo('accepted');
    const delivery = randomUUID();
    const res = await deliver(appFor(repo), pushEvent({ repo, before: BEFORE, after: AFTER, pusher: 'octocat' }), {
      delivery,
    });
    assert.equal(res.status, 202);
    const body = await json(res);
    assert.deepEqual(Object.keys(body).sort(), ['runId', 'temporalUiUrl', 'workflowId']);
    assert.equal(body.workflowId, `repo-sync:${repo}`);
    assert.equal(typeof body.runId, 'string');
    assert.ok((body.runId as string).length > 0);

    const desc = await env.client.workflow.getHandle(body.workflowId as string).describe();
    assert.equal(desc.status.name, 'RUNNING');
    assert.equal(desc.runId, body.runId);
    assert.equal(desc.type, 'repoSync');

    const beacons = await signalledBeacons(body.workflowId as string);
    assert.equal(beacons.length, 1);
    const beacon = beacons[0]!;
    assert.equal(beacon.deliveryId, delivery);
    assert.equal(beacon.sha, AFTER);
    assert.equal(beacon.before, BEFORE);
    assert.equal(beacon.pusher, 'octocat');
    assert.equal(beacon.source, 'github');

    const ui = body.temporalUiUrl as string;
    assert.ok(URL.canParse(ui), ui);
    assert.ok(ui.startsWith('http://temporal-ui.example:8233/'), ui);
    assert.ok(ui.includes(`/namespaces/${env.namespace ?? 'default'}/`), ui);
    assert.ok(ui.includes(encodeURIComponent(body.workflowId as string)), ui);
    assert.ok(!ui.includes(body.workflowId as string), `the workflow ID (with ":" and "/") is URL-encoded: ${ui}`);
    assert.ok(ui.includes(body.runId as string), ui);
  });

  test('repository names compare case-insensitively, as GitHub does', async () => {
    const repo = uniqueRepo('case');
    const shouted = repo
      .split('/')
      .map((part) => part.replace(/(^|-)([a-z])/g, (_m, sep: string, ch: string) => sep + ch.toUpperCase()))
      .join('/');
    assert.notEqual(shouted, repo);
    assert.equal(shouted.toLowerCase(), repo);
    const res = await deliver(appFor(repo), pushEvent({ repo: shouted, before: BEFORE, after: AFTER }));
    assert.equal(res.status, 202, JSON.stringify(await res.clone().json()));
    assert.equal((await json(res)).workflowId, syncWorkflowId(repo));
    const desc = await env.client.workflow.getHandle(syncWorkflowId(repo)).describe();
    assert.equal(desc.status.name, 'RUNNING');
  });

  test('two pushes for the same repository signal one long-lived workflow run', async () => {
    const repo = uniqueRepo('twice');
    const app = appFor(repo);
    const [d1, d2] = [randomUUID(), randomUUID()];
    const first = await deliver(app, pushEvent({ repo, before: BEFORE, after: AFTER }), { delivery: d1 });
    const second = await deliver(app, pushEvent({ repo, before: AFTER, after: hex40('c') }), { delivery: d2 });
    assert.equal(first.status, 202);
    assert.equal(second.status, 202);
    const [a, b] = [await json(first), await json(second)];
    assert.equal(a.workflowId, b.workflowId);
    assert.equal(a.runId, b.runId);

    const beacons = await signalledBeacons(a.workflowId as string);
    assert.deepEqual(
      beacons.map((x) => [x.deliveryId, x.sha]),
      [
        [d1, AFTER],
        [d2, hex40('c')],
      ],
    );
  });

  test('no secret reaches the workflow history, inputs, memo or summary', async () => {
    const repo = uniqueRepo('secrets');
    const current = 'current-webhook-secret-4f1c9a0123456789abcdef';
    const previous = 'previous-webhook-secret-7d2e0b0123456789abcdef';
    const gitToken = 'ghp_gitTokenThatMustStayPrivate0123';
    const app = appFor(repo, {
      NBLC_WEBHOOK_SECRET: current,
      NBLC_WEBHOOK_SECRET_PREVIOUS: previous,
      NBLC_GIT_TOKEN: gitToken,
      NBLC_API_TOKEN: 'api-token-that-must-stay-private',
    });
    const delivery = randomUUID();
    const res = await deliver(app, pushEvent({ repo, before: BEFORE, after: AFTER }), { delivery, secret: previous });
    assert.equal(res.status, 202);
    const responseText = JSON.stringify(await json(res));
    const stored = await everythingStored(syncWorkflowId(repo));

    // The search can find what is inside payloads (the delivery ID is only in the signal's payload
    // data, the idle timeout only in the start input), so not finding the secrets means something.
    assert.ok(stored.includes(delivery), 'the check must see decoded signal payloads');
    assert.ok(stored.includes(`"idleTimeout":"1h"`), 'the check must see decoded workflow input');
    for (const secret of [current, previous, gitToken, 'api-token-that-must-stay-private']) {
      assert.ok(!stored.includes(secret), `a secret is stored in Temporal: ${secret}`);
      assert.ok(!responseText.includes(secret));
    }
  });
});

describe('Temporal unreachable', () => {
  test('a valid push is 503 and tells the operator to redeliver', async () => {
    const repo = uniqueRepo('unreachable');
    const res = await deliver(appFor(repo, {}, deadClient()), pushEvent({ repo, before: BEFORE, after: AFTER }));
    assert.equal(res.status, 503);
    const body = await json(res);
    assert.match(String(body.error), /Temporal/);
    assert.match(String(body.error), /[Rr]edeliver/);
    assert.equal(body.workflowId, undefined);
  });
});
