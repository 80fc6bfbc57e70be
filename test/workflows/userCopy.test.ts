/**
 * The per-user copy workflow and the bulk workflow against a real Temporal server, real
 * activities and real directories: results returned to the caller, one workflow per user with
 * its requests serialized, a finishing run handing over to the next, bulk runs with a failing
 * user, a busy user and continue-as-new; and every history of the run replays.
 *
 *   node --import tsx --test test/workflows/userCopy.test.ts
 */
import { Worker } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { Config } from '../../src/runtime/config.js';
import { CopyRequestError, requestCopy } from '../../src/copies/client.js';
import { bulkCopyWorkflowId, userCopyWorkflowId, type BulkSummary } from '../../src/copies/model.js';
import { COPY_SA } from '../../src/copies/model.js';
import { ReadyCopies } from '../../src/activities/copies/ready.js';
import { readCopyManifest } from '../../src/activities/copies/manifest.js';
import { createWorker } from '../../src/runtime/worker.js';
import { bulkProgressQuery, userCopiesBulk } from '../../src/workflows/userCopiesBulk.js';
import { userCopy, userCopyStatusQuery } from '../../src/workflows/userCopy.js';
import { bigNotebook, publishTree, readTree } from '../helpers/copies.js';
import { tempDir, testConfig, waitFor } from '../helpers/fixtures.js';
import { recordHistory, replayAll } from '../helpers/histories.js';
import { useTestEnv, workflowBundle } from '../helpers/temporal.js';

const env = useTestEnv();

const histories: Array<{ workflowId: string; history: temporal.api.history.v1.IHistory }> = [];

async function setup(users: string[] = ['ada']) {
  const dir = await tempDir('nblc-usercopy-');
  const config = testConfig(dir, '/nonexistent.git', { NBLC_TASK_QUEUE: `copies-${randomUUID().slice(0, 8)}` });
  for (const u of users) await fs.mkdir(path.join(config.usersDir, u), { recursive: true });
  const worker = await createWorker(config, env.nativeConnection, { workflowBundle: await workflowBundle() });
  return { dir, config, worker };
}

type Run = { runId: string; history: temporal.api.history.v1.IHistory };

/**
 * Every run of a workflow ID, oldest first, with its history (kept for the replay test). The
 * listing comes from visibility, which lags a little: poll until `complete` holds.
 */
async function runsOf(workflowId: string, complete: (runs: Run[]) => boolean = () => true): Promise<Run[]> {
  const runs = await waitFor(
    `runs of ${workflowId}`,
    async () => {
      const found: Run[] = [];
      for await (const w of env.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
        if (w.status.name === 'RUNNING') return null;
        found.push({
          runId: w.runId,
          history: await env.client.workflow.getHandle(workflowId, w.runId).fetchHistory(),
        });
      }
      return found.length > 0 && complete(found) ? found.reverse() : null;
    },
    20_000,
  );
  for (const r of runs) histories.push({ workflowId: `${workflowId}/${r.runId}`, history: r.history });
  return runs;
}

const activitiesIn = (runs: Run[]) =>
  runs.flatMap((r) => r.history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length;

/** The largest number of activities of one run that were ever scheduled and not yet finished. */
function maxConcurrentActivities(history: temporal.api.history.v1.IHistory): number {
  let open = 0;
  let max = 0;
  for (const e of history.events ?? []) {
    if (e.activityTaskScheduledEventAttributes) max = Math.max(max, ++open);
    if (e.activityTaskCompletedEventAttributes || e.activityTaskFailedEventAttributes) open--;
  }
  return max;
}

describe('userCopy workflow', () => {
  test('a request returns the path and per-file report; the workflow is per user and found by NblcUser', async () => {
    const ada = `ada-${randomUUID().slice(0, 6)}`;
    const { config, worker } = await setup([ada]);
    await publishTree(config.cacheDir, { 'Intro/Hello World.ipynb': '{}', 'README.md': 'hi' });
    await worker.runUntil(async () => {
      const res = await requestCopy(env.client, config, ada, { mode: 'provision' });
      assert.equal(res.created, true);
      assert.equal(res.path, path.join(config.usersDir, ada, 'notebooks'));
      assert.deepEqual(
        res.files.map((f) => [f.path, f.outcome]),
        [
          ['Intro/Hello World.ipynb', 'added'],
          ['README.md', 'added'],
        ],
      );
      assert.equal(res.workflowId, userCopyWorkflowId(ada));
      assert.match(res.temporalUiUrl, /user-copy%3Aada-/);
      const desc = await env.client.workflow.getHandle(res.workflowId).describe();
      assert.equal(desc.typedSearchAttributes.get(COPY_SA.user), ada);
      const [run] = await runsOf(res.workflowId, (r) => activitiesIn(r) >= 1);
      await recordHistory(env, res.workflowId, 'user-copy-provision', run!.runId);
    });
  });

  test('by default a request takes the ready copy the previous one left (the folder itself), with its own manifest', async () => {
    const ada = `ada-${randomUUID().slice(0, 6)}`;
    const { config, worker } = await setup([ada]);
    const sha = await publishTree(config.cacheDir, { 'Intro/Hello World.ipynb': '{}', 'README.md': 'hi' });
    const ready = ReadyCopies.pathOf(path.join(config.usersDir, '.nblc-staging'), sha);
    await worker.runUntil(async () => {
      const first = await requestCopy(env.client, config, ada, { mode: 'latest', dir: 'one' });
      const { ino } = await waitFor('a ready copy', () => fs.stat(ready).catch(() => null), 20_000);
      const second = await requestCopy(env.client, config, ada, { mode: 'latest', dir: 'two' });
      assert.equal((await fs.stat(second.path)).ino, ino);
      assert.deepEqual(await readTree(second.path), await readTree(first.path));
      assert.deepEqual(second.files, first.files);
      assert.equal((await readCopyManifest(second.path))?.commit, sha);
    });
  });

  test('concurrent requests for one user are served one at a time, each with its own answer', async () => {
    const ada = `ada-${randomUUID().slice(0, 6)}`;
    const { config, worker } = await setup([ada]);
    config.copies.maxQueued = 8; // six at once: more than the default cap lets wait (userCopy-cap.test.ts)
    const files: Record<string, string> = {};
    for (let i = 0; i < 200; i++) files[`Topic ${i % 7}/nb ${i}.ipynb`] = bigNotebook(i, 20);
    await publishTree(config.cacheDir, files);
    await worker.runUntil(async () => {
      await requestCopy(env.client, config, ada, { mode: 'provision' });
      const requests = [
        requestCopy(env.client, config, ada, { mode: 'latest' }),
        requestCopy(env.client, config, ada, { mode: 'update' }),
        requestCopy(env.client, config, ada, { mode: 'latest' }),
        requestCopy(env.client, config, ada, { mode: 'latest', dir: 'mine' }),
        requestCopy(env.client, config, ada, { mode: 'update', dir: 'missing' }).catch((e: unknown) => e),
        requestCopy(env.client, config, ada, { mode: 'provision' }),
      ];
      const [l1, upd, l2, mine, missing, again] = await Promise.all(requests);
      const latest = [l1, l2, mine] as Array<Awaited<ReturnType<typeof requestCopy>>>;
      assert.equal(new Set(latest.map((r) => r.name)).size, 3, 'three distinct copies');
      for (const r of latest) assert.equal(Object.keys(await readTree(r.path)).length, 200, `${r.name} is whole`);
      assert.equal((upd as Awaited<ReturnType<typeof requestCopy>>).counts.unchanged, 200);
      assert.ok(missing instanceof CopyRequestError && missing.type === 'CopyNotFound', String(missing));
      assert.equal((again as Awaited<ReturnType<typeof requestCopy>>).created, false);

      const runs = await runsOf(userCopyWorkflowId(ada), (r) => activitiesIn(r) >= 7);
      assert.equal(activitiesIn(runs), 7, 'one activity per request');
      for (const r of runs)
        assert.equal(maxConcurrentActivities(r.history), 1, `run ${r.runId} ran copies in parallel`);
    });
  });

  test('a run that is finishing turns requests away; the client retries them into the next run', async () => {
    const ada = `ada-${randomUUID().slice(0, 6)}`;
    const { config, worker } = await setup([ada]);
    const files: Record<string, string> = {};
    for (let i = 0; i < 1500; i++) files[`T${i % 20}/nb ${i}.ipynb`] = bigNotebook(i, 16);
    await publishTree(config.cacheDir, files);
    await worker.runUntil(async () => {
      // A run told to stop taking requests after its first one.
      const first = await env.client.workflow.start(userCopy, {
        workflowId: userCopyWorkflowId(ada),
        taskQueue: config.taskQueue,
        args: [
          {
            user: ada,
            maxHistoryEvents: 1,
            initial: { mode: 'provision', requestId: 'initial', requestedAt: new Date().toISOString() },
          },
        ],
      });
      const queued = requestCopy(env.client, config, ada, { mode: 'latest' }); // accepted before it drains
      await waitFor('the run draining with a request still running', async () => {
        const s = await first.query(userCopyStatusQuery);
        return s.draining && s.running !== null;
      });
      const late = await Promise.all(
        Array.from({ length: 3 }, () => requestCopy(env.client, config, ada, { mode: 'latest' })),
      );
      assert.equal(new Set([...late, await queued].map((a) => a.name)).size, 4);
      assert.equal((await first.result()).handled, 2, 'the finishing run served only what it had accepted');
      const runs = await runsOf(userCopyWorkflowId(ada), (r) => activitiesIn(r) >= 5);
      assert.ok(runs.length >= 2, `expected the late requests in a later run, got ${runs.length} run(s)`);
    });
  });
});

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
      await waitOpen(userCopyWorkflowId('ada'));
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

  test('every history of this file replays against the current workflow code', async () => {
    assert.ok(histories.length > 5);
    for await (const r of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      assert.equal(r.error, undefined, `${r.workflowId}: ${r.error?.message}`);
    }
    // And the committed fixtures of every workflow type.
    assert.ok((await replayAll(await workflowBundle())) >= 1);
  });
});

async function waitOpen(workflowId: string): Promise<void> {
  for (;;) {
    const desc = await env.client.workflow
      .getHandle(workflowId)
      .describe()
      .catch(() => null);
    if (desc?.status.name === 'RUNNING') return;
    await new Promise((r) => setTimeout(r, 20));
  }
}
