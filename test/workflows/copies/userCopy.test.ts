/**
 * The per-user copy workflow and the bulk workflow against a real Temporal server, real
 * activities and real directories: results returned to the caller, one workflow per user with
 * its requests serialized, a finishing run handing over to the next; and every history of the
 * run replays.
 *
 *   node --import tsx --test test/workflows/copies/userCopy.test.ts
 */
import { Worker } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { CopyRequestError, requestCopy } from '../../../src/clients/copies/client.js';
import { userCopyWorkflowId } from '../../../src/domain/copies/model.js';
import { COPY_SA } from '../../../src/domain/copies/model.js';
import { ReadyCopies } from '../../../src/activities/copies/ready.js';
import { readCopyManifest } from '../../../src/activities/copies/manifest.js';
import { userCopy, userCopyStatusQuery } from '../../../src/workflows/copies/userCopy.js';
import { bigNotebook, publishTree, readTree } from '../../helpers/copies.js';
import { waitFor } from '../../helpers/fixtures.js';
import { recordHistory } from '../../helpers/histories.js';
import { activitiesIn, copyWorkflowHarness, maxConcurrentActivities } from '../../helpers/copy-workflows.js';
import { useTestEnv, workflowBundle } from '../../helpers/temporal.js';

const env = useTestEnv();
const { histories, setup, runsOf } = copyWorkflowHarness(env);

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

  test('every history of this file replays against the current workflow code', async () => {
    assert.ok(histories.length > 3);
    for await (const r of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      assert.equal(r.error, undefined, `${r.workflowId}: ${r.error?.message}`);
    }
  });
});
