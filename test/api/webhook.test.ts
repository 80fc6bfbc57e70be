/**
 * POST /webhooks/github against a real Temporal dev server (no worker: signalWithStart creates
 * the execution even when nobody polls its task queue, and describe()/fetchHistory() show what
 * the webhook started and with which signal): accepted pushes, authentic deliveries that are not
 * for us, and Temporal unreachable. What the webhook refuses: webhook-requests.test.ts.
 *
 *   node --import tsx --test test/api/webhook.test.ts
 */
import { defaultPayloadConverter } from '@temporalio/common';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { pushEvent } from '../../src/demo/sample-repo.js';
import { syncWorkflowId, type Beacon } from '../../src/domain/sync/model.js';
import { tempDir } from '../helpers/fixtures.js';
import { useTestEnv, useUnreachableClient } from '../helpers/temporal.js';
import { AFTER, BEFORE, deliverWebhook, jsonBody, webhookApps, hex40 } from '../helpers/webhooks.js';

const dir = await tempDir('nblc-api-webhook-');
const env = useTestEnv();
const { uniqueRepo, appFor, assertNothingStarted } = webhookApps(env, dir);

/** A client whose server was stopped after it connected: Temporal "went away". */
const deadClient = useUnreachableClient();

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
      const res = await deliverWebhook(appFor(repo), payload, { event });
      assert.equal(res.status, 202);
      const body = await jsonBody(res);
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
    const res = await deliverWebhook(
      appFor(repo),
      pushEvent({ repo, before: BEFORE, after: AFTER, pusher: 'octocat' }),
      {
        delivery,
      },
    );
    assert.equal(res.status, 202);
    const body = await jsonBody(res);
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
    const res = await deliverWebhook(appFor(repo), pushEvent({ repo: shouted, before: BEFORE, after: AFTER }));
    assert.equal(res.status, 202, JSON.stringify(await res.clone().json()));
    assert.equal((await jsonBody(res)).workflowId, syncWorkflowId(repo));
    const desc = await env.client.workflow.getHandle(syncWorkflowId(repo)).describe();
    assert.equal(desc.status.name, 'RUNNING');
  });

  test('two pushes for the same repository signal one long-lived workflow run', async () => {
    const repo = uniqueRepo('twice');
    const app = appFor(repo);
    const [d1, d2] = [randomUUID(), randomUUID()];
    const first = await deliverWebhook(app, pushEvent({ repo, before: BEFORE, after: AFTER }), { delivery: d1 });
    const second = await deliverWebhook(app, pushEvent({ repo, before: AFTER, after: hex40('c') }), { delivery: d2 });
    assert.equal(first.status, 202);
    assert.equal(second.status, 202);
    const [a, b] = [await jsonBody(first), await jsonBody(second)];
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
    const res = await deliverWebhook(app, pushEvent({ repo, before: BEFORE, after: AFTER }), {
      delivery,
      secret: previous,
    });
    assert.equal(res.status, 202);
    const responseText = JSON.stringify(await jsonBody(res));
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
    const res = await deliverWebhook(appFor(repo, {}, deadClient()), pushEvent({ repo, before: BEFORE, after: AFTER }));
    assert.equal(res.status, 503);
    const body = await jsonBody(res);
    assert.match(String(body.error), /Temporal/);
    assert.match(String(body.error), /[Rr]edeliver/);
    assert.equal(body.workflowId, undefined);
  });
});
