/**
 * `pull_request` deliveries on POST /webhooks/github, route-level: what is refused, ignored, and
 * what Temporal being away answers (the runs themselves: test/workflows/runs/pullRequests.test.ts).
 */
import type { Client } from '@temporalio/client';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApp } from '../../src/api/app.js';
import { createLogger } from '../../src/platform/logger.js';
import { TEST_REPO, tempDir, testConfig } from '../helpers/fixtures.js';
import { useUnreachableClient } from '../helpers/temporal.js';
import { deliverWebhook } from '../helpers/webhooks.js';

const deadClient = useUnreachableClient();
const dir = await tempDir('nblc-api-pr-');
const HEAD = 'b'.repeat(40);

const appWith = (client: Client) =>
  createApp({ client, config: testConfig(dir, '/nonexistent.git'), logger: createLogger('silent') });

function event(action: string, base = 'main') {
  return {
    action,
    number: 3,
    pull_request: {
      head: { sha: HEAD, repo: { full_name: TEST_REPO } },
      base: { ref: base, repo: { full_name: TEST_REPO } },
    },
    repository: { full_name: TEST_REPO },
  };
}

async function deliver(client: Client, payload: unknown) {
  const res = await deliverWebhook(appWith(client), payload, { event: 'pull_request' });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('a pull_request payload that does not fit is 400 with its problems; one that is not JSON is 400', async () => {
  const bad = await deliver(deadClient(), { action: 'opened', number: 3 });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error, 'invalid pull_request payload');
  assert.ok((bad.body.problems as string[]).some((p) => p.startsWith('pull_request')));
  assert.equal((await deliver(deadClient(), 'not json')).status, 400);
});

test('PRs into other branches and other actions are ignored without touching Temporal', async () => {
  const other = await deliver(deadClient(), event('opened', 'develop'));
  assert.equal(other.status, 202);
  assert.match(String(other.body.ignored), /into develop/);
  assert.equal((await deliver(deadClient(), event('edited'))).status, 202);
});

test('Temporal away: 503 and nothing started, so GitHub can redeliver', async () => {
  for (const action of ['opened', 'closed']) {
    const r = await deliver(deadClient(), event(action));
    assert.equal(r.status, 503, action);
    assert.match(String(r.body.error), /Redeliver/);
  }
});
