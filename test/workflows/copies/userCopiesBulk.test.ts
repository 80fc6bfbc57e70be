/**
 * The bulk copy workflow against a real Temporal server, real activities and real directories:
 * bounded fan-out with a failing user, a busy user waited for, continue-as-new, the per-user cap
 * passed on to the users' workflows; and every history
 * of the run (and the committed fixtures) replays.
 *
 *   node --import tsx --test test/workflows/copies/userCopiesBulk.test.ts
 */
import { Worker } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { Config } from '../../../src/platform/config.js';
import { requestCopy, startBulk } from '../../../src/clients/copies/client.js';
import {
  bulkCopyWorkflowId,
  DEFAULT_MAX_QUEUED_COPIES,
  userCopyWorkflowId,
  type BulkSummary,
  type UserCopyInput,
} from '../../../src/domain/copies/model.js';
import { bulkProgressQuery, userCopiesBulk } from '../../../src/workflows/copies/userCopiesBulk.js';
import { bigNotebook, publishTree, readTree } from '../../helpers/copies.js';
import { replayAll, startInput } from '../../helpers/histories.js';
import { copyWorkflowHarness, waitOpen } from '../../helpers/copy-workflows.js';
import { useTestEnv, workflowBundle } from '../../helpers/temporal.js';

const env = useTestEnv();
const { histories, setup, runsOf } = copyWorkflowHarness(env);

describe('userCopiesBulk workflow', () => {
  const users = ['ada', 'bob', 'carol', 'dave', 'erin'];

  async function bulk(config: Config, input: Parameters<typeof userCopiesBulk>[0]): Promise<BulkSummary> {
    const handle = await env.client.workflow.start(userCopiesBulk, {
      workflowId: `${bulkCopyWorkflowId(input.mode)}-${randomUUID().slice(0, 6)}`,
      taskQueue: config.taskQueue,
      args: [input],
    });
    const summary = await handle.result();
    const progress = await handle.query(bulkProgressQuery);
    assert.equal(progress.done, true);
    assert.equal(progress.processed, summary.processed);
    await runsOf(handle.workflowId);
    return summary;
  }

  test('provision then update of every user: bounded fan-out, one failure does not stop the others, summary', async () => {
    const { dir, config, worker } = await setup(users);
    await fs.mkdir(path.join(dir, 'elsewhere'));
    await fs.symlink(path.join(dir, 'elsewhere'), path.join(config.usersDir, 'mallory'));
    await fs.writeFile(path.join(config.usersDir, 'stray-file'), 'not a user');
    await publishTree(config.cacheDir, { 'a.ipynb': 'v1', 'b.ipynb': 'v1' });
    await worker.runUntil(async () => {
      // Pages of two users and one page per run: the bulk continues-as-new twice.
      const provisioned = await bulk(config, { mode: 'provision', concurrency: 2, pageSize: 2, pagesPerRun: 1 });
      assert.equal(provisioned.processed, 6);
      assert.equal(provisioned.succeeded, 5);
      assert.equal(provisioned.created, 5);
      assert.equal(provisioned.failed, 1);
      assert.equal(provisioned.failures[0]?.user, 'mallory');
      assert.match(provisioned.failures[0]?.error ?? '', /symlink/);
      for (const u of users)
        assert.deepEqual(await readTree(path.join(config.usersDir, u, 'notebooks')), {
          'a.ipynb': 'v1',
          'b.ipynb': 'v1',
        });
      assert.deepEqual(await fs.readdir(path.join(dir, 'elsewhere')), []);

      await fs.writeFile(path.join(config.usersDir, 'bob', 'notebooks', 'a.ipynb'), 'bob was here');
      await fs.mkdir(path.join(config.usersDir, 'frank')); // a new account, not provisioned yet
      await publishTree(config.cacheDir, { 'a.ipynb': 'v2', 'b.ipynb': 'v2' });
      const updated = await bulk(config, { mode: 'update', concurrency: 3 });
      assert.equal(updated.succeeded, 5);
      assert.equal(updated.withConflicts, 1);
      assert.equal(updated.skipped, 1, 'frank has no copy to update: skipped, not failed');
      assert.deepEqual(
        updated.failures.map((f) => f.user),
        ['mallory'],
      );
      assert.equal(
        await fs.readFile(path.join(config.usersDir, 'bob', 'notebooks', 'a.ipynb'), 'utf8'),
        'bob was here',
      );
      assert.equal(await fs.readFile(path.join(config.usersDir, 'ada', 'notebooks', 'a.ipynb'), 'utf8'), 'v2');
    });
  });

  test('a user busy with their own request is waited for, not skipped', async () => {
    const { config, worker } = await setup(['ada', 'bob']);
    const files: Record<string, string> = {};
    for (let i = 0; i < 3000; i++) files[`T${i % 30}/nb ${i}.ipynb`] = bigNotebook(i, 8);
    await publishTree(config.cacheDir, files);
    await worker.runUntil(async () => {
      const own = requestCopy(env.client, config, 'ada', { mode: 'latest' });
      // Started as soon as ada's workflow is open, so the bulk finds it busy.
      await waitOpen(env, userCopyWorkflowId('ada'));
      const handle = await env.client.workflow.start(userCopiesBulk, {
        workflowId: `busy-${randomUUID().slice(0, 6)}`,
        taskQueue: config.taskQueue,
        args: [{ mode: 'provision', concurrency: 2 }],
      });
      const summary = await handle.result();
      assert.equal((await own).created, true);
      assert.equal(summary.succeeded, 2, JSON.stringify(summary.failures));
      const events = (await handle.fetchHistory()).events ?? [];
      assert.ok(
        events.some((e) => e.startChildWorkflowExecutionFailedEventAttributes),
        'the bulk met a busy ada',
      );
      assert.ok(
        events.some((e) => e.timerStartedEventAttributes),
        'and waited for her',
      );
    });
  });

  test("the users' workflows it starts get NBLC_COPY_MAX_QUEUED, not the default cap", async () => {
    // a user of this test alone: other tests' runs of the same workflow ID are on this server too
    const user = `cap-${randomUUID().slice(0, 6)}`;
    const { config, worker } = await setup([user]);
    await publishTree(config.cacheDir, { 'a.ipynb': 'v1' });
    const configured = { ...config, copies: { ...config.copies, maxQueued: 1 } };
    assert.notEqual(DEFAULT_MAX_QUEUED_COPIES, 1);
    await worker.runUntil(async () => {
      const { handle } = await startBulk(env.client, configured, 'provision');
      assert.equal((await handle.result()).succeeded, 1);
      await runsOf(handle.workflowId);
      const [child] = await runsOf(userCopyWorkflowId(user));
      const input = startInput<UserCopyInput>(child!.history);
      assert.equal(input?.user, user);
      assert.equal(input?.maxQueued, 1);
    });
  });

  test('every history of this file replays against the current workflow code', async () => {
    assert.ok(histories.length > 2);
    for await (const r of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      assert.equal(r.error, undefined, `${r.workflowId}: ${r.error?.message}`);
    }
    // And the committed fixtures of every workflow type.
    assert.ok((await replayAll(await workflowBundle())) >= 1);
  });
});
