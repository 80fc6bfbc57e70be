/**
 * POST /users/:user/copies under a flood, over real HTTP, against a real Temporal server and the
 * real copy activities (ada's first `latest` held at a gate, so her later requests pile up behind
 * it): beyond NBLC_COPY_MAX_QUEUED waiting requests she gets 429 with a clear message, at once,
 * while bob is served; the accepted ones all finish once the gate opens.
 *
 *   node --import tsx --test test/api/copy-cap.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { userToken } from '../../src/platform/copies/user-tokens.js';
import { userCopyWorkflowId } from '../../src/domain/copies/model.js';
import { createLogger } from '../../src/platform/logger.js';
import { startApi, type RunningApi } from '../../src/process/server.js';
import { createWorker } from '../../src/process/worker.js';
import { userCopyStatusQuery } from '../../src/workflows/copies/userCopy.js';
import { publishTree } from '../helpers/copies.js';
import { tempDir, testConfig, waitFor } from '../helpers/fixtures.js';
import { gatedCopyActivities } from '../helpers/gated-copies.js';
import { useTestEnv, workflowBundle } from '../helpers/temporal.js';

const MAX_QUEUED = 2;
const dir = await tempDir('nblc-api-copy-cap-');
const config = testConfig(dir, '/nonexistent.git', {
  NBLC_API_TOKEN: 'operator-token-for-the-copy-cap-tests-0123456789',
  NBLC_USER_TOKEN_SECRET: 'user-token-secret-for-the-copy-cap-tests-0123',
  NBLC_TASK_QUEUE: 'api-copy-cap',
  NBLC_COPY_MAX_QUEUED: String(MAX_QUEUED),
});
const env = useTestEnv();
let server: RunningApi;
before(async () => {
  for (const u of ['ada', 'bob']) await fs.mkdir(path.join(config.usersDir, u), { recursive: true });
  await publishTree(config.cacheDir, { 'Intro.ipynb': '{}', 'deep/More.ipynb': '{}' });
});
after(() => server?.close());

/** `getlatest`'s request: the user's own token, {"mode":"latest"}. */
async function getlatest(user: string, dir: string): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(`${server.url}/users/${user}/copies`, {
    method: 'POST',
    headers: { authorization: `Bearer ${userToken(config.userTokenSecret!, user)}` },
    body: JSON.stringify({ mode: 'latest', dir }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

test("a flood of one user's copy requests gets 429 beyond the cap while another user is served", async () => {
  server = await startApi({ client: env.client, config, logger: createLogger('silent') }, '127.0.0.1', 0);
  const gate = gatedCopyActivities(config, ['ada']);
  const worker = await createWorker(config, env.nativeConnection, {
    workflowBundle: await workflowBundle(),
    activities: gate.activities,
  });
  const underTest = async () => {
    const first = getlatest('ada', 'copy-0');
    const status = () => env.client.workflow.getHandle(userCopyWorkflowId('ada')).query(userCopyStatusQuery);
    await waitFor('the first request running', async () => (await status().catch(() => null))?.running);

    // Eight more at once: two may wait, six are refused, and at once (the gate is still closed).
    const flood = Array.from({ length: 8 }, (_, i) => getlatest('ada', `copy-${i + 1}`));
    const refusals = await waitFor('the refusals', async () => {
      const settled = await Promise.all(flood.map((p) => Promise.race([p, null])));
      const answered = settled.filter((r) => r !== null);
      return answered.length === 6 ? answered : null;
    });
    for (const r of refusals) {
      assert.equal(r.status, 429, JSON.stringify(r.body));
      assert.equal(r.body.type, 'UserCopyQueueFull');
      assert.match(r.body.error ?? '', /ada has 3 copy requests running or waiting \(at most 2 may wait\): try again/);
    }
    assert.equal((await status()).queued.length, MAX_QUEUED);

    // bob is not held up by ada's flood.
    const bob = await getlatest('bob', 'mine');
    assert.equal(bob.status, 201, JSON.stringify(bob.body));

    gate.open('ada');
    const served = (await Promise.all([first, ...flood])).filter((r) => r.status === 201);
    assert.equal(served.length, 1 + MAX_QUEUED);
    assert.equal((await fs.readdir(path.join(config.usersDir, 'ada'))).length, 1 + MAX_QUEUED);
  };
  await worker.runUntil(() => underTest().finally(() => gate.open('ada')));
});
