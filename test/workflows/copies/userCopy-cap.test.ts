/**
 * The per-user cap on copy requests, against a real Temporal server and the real copy activities
 * held at a gate (so the first request of a user stays running while the others arrive): beyond
 * NBLC_COPY_MAX_QUEUED waiting requests the workflow's update validator refuses at once with
 * QUEUE_FULL, another user is served meanwhile, the accepted ones all finish once the gate opens,
 * and the histories replay (a validator's refusal leaves no trace in them).
 *
 *   node --import tsx --test test/workflows/copies/userCopy-cap.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { CopyRequestError, requestCopy } from '../../../src/clients/copies/client.js';
import { QUEUE_FULL, userCopyWorkflowId } from '../../../src/domain/copies/model.js';
import { createWorker } from '../../../src/process/worker.js';
import { userCopyStatusQuery } from '../../../src/workflows/copies/userCopy.js';
import { publishTree } from '../../helpers/copies.js';
import { tempDir, testConfig, waitFor } from '../../helpers/fixtures.js';
import { gatedCopyActivities } from '../../helpers/gated-copies.js';
import { recordHistory, replayAll } from '../../helpers/histories.js';
import { useTestEnv, workflowBundle } from '../../helpers/temporal.js';

const env = useTestEnv();

/** The user's workflow status, once `ready` holds. */
async function statusWhen(user: string, ready: (s: { running: unknown; queued: unknown[] }) => boolean) {
  return waitFor(`status of ${user}`, async () => {
    const s = await env.client.workflow
      .getHandle(userCopyWorkflowId(user))
      .query(userCopyStatusQuery)
      .catch(() => null);
    return s && ready(s) ? s : null;
  });
}

test('beyond NBLC_COPY_MAX_QUEUED waiting requests a user is refused at once; others are served', async () => {
  const dir = await tempDir('nblc-usercopy-cap-');
  const config = testConfig(dir, '/nonexistent.git', { NBLC_TASK_QUEUE: 'copies-cap', NBLC_COPY_MAX_QUEUED: '2' });
  assert.equal(config.copies.maxQueued, 2);
  for (const u of ['ada', 'bob']) await fs.mkdir(path.join(config.usersDir, u), { recursive: true });
  await publishTree(config.cacheDir, { 'a.ipynb': '{}', 'b/c.ipynb': '{}' });
  const gate = gatedCopyActivities(config, ['ada']);
  const worker = await createWorker(config, env.nativeConnection, {
    workflowBundle: await workflowBundle(),
    activities: gate.activities,
  });

  // The gate opens in the end whatever happens, so a failing test leaves nothing running.
  const underTest = async () => {
    const latest = (user: string, dir: string) => requestCopy(env.client, config, user, { mode: 'latest', dir });
    const running = latest('ada', 'first');
    await statusWhen('ada', (s) => !!s.running);
    const waiting = [latest('ada', 'second'), latest('ada', 'third')];
    await statusWhen('ada', (s) => s.queued.length === 2);

    // The third waiting request: refused by the validator, at once (the gate is still closed).
    const refused = await Promise.race([
      latest('ada', 'fourth').then(
        () => 'accepted',
        (err: unknown) => err,
      ),
      new Promise((r) => setTimeout(() => r('not answered in 15 s: it was queued'), 15_000)),
    ]);
    assert.ok(refused instanceof CopyRequestError, String(refused));
    assert.equal(refused.type, QUEUE_FULL);
    assert.match(refused.message, /ada has 3 copy requests running or waiting \(at most 2 may wait\)/);
    assert.match(refused.message, /try again/);

    // Another user is served meanwhile.
    const bob = await latest('bob', 'mine');
    assert.equal(bob.created, true);

    gate.open('ada');
    const done = await Promise.all([running, ...waiting]);
    assert.deepEqual(
      done.map((r) => r.name),
      ['first', 'second', 'third'],
    );
    assert.deepEqual((await fs.readdir(path.join(config.usersDir, 'ada'))).sort(), ['first', 'second', 'third']);
    // Once the queue has room again, ada is served.
    assert.equal((await latest('ada', 'fifth')).created, true);
  };
  await worker.runUntil(() => underTest().finally(() => gate.open('ada')));

  for (const user of ['ada', 'bob']) {
    const workflowId = userCopyWorkflowId(user);
    for await (const w of env.client.workflow.list({ query: `WorkflowId = "${workflowId}"` }))
      await recordHistory(env, workflowId, `user-copy-cap-${user}`, w.runId);
  }
  assert.ok((await replayAll(await workflowBundle())) >= 2);
});
