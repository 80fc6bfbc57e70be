/**
 * A worker host dies (kill -9 of its process group) in the middle of a sync, a test run and a
 * bulk copy, on a real Temporal cluster with two worker hosts: the other host finishes the work
 * once the dead one's heartbeats time out (30 s), each notebook is reported once, each commit
 * published once, and no half-made tree appears under a final name.
 *
 *   node --import tsx --test test/system/cluster/worker-faults.test.ts
 */
import type { Client } from '@temporalio/client';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { readCurrent, snapshotPath, snapshotsDir } from '../../../src/activities/sync/snapshot.js';
import { bulkProgress, startBulk } from '../../../src/clients/copies/client.js';
import type { BulkSummary } from '../../../src/domain/copies/model.js';
import { notebook, sendPush, type FileContent } from '../../../src/demo/sample-repo.js';
import { getRun, startTestRun } from '../../../src/clients/runs/client.js';
import { syncWorkflowId } from '../../../src/domain/sync/model.js';
import {
  assertEachPassedOnce,
  clusterUnavailable,
  finishedRun,
  kill9,
  publishFiles,
  useCluster,
  withHosts,
} from '../../helpers/cluster.js';
import { TEST_SECRET, waitFor } from '../../helpers/fixtures.js';

const unavailable = clusterUnavailable();

/** Every file under `root`, relative, sorted. */
async function listTree(root: string): Promise<string[]> {
  const entries = await fs.readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .sort();
}

/** The identity of the worker running the workflow's pending activity of `type`, once it has one. */
async function runningOn(client: Client, workflowId: string, type: string): Promise<number> {
  const handle = client.workflow.getHandle(workflowId);
  const identity = await waitFor(`${type} started on a worker`, async () => {
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    return pending.find((p) => p.activityType?.name === type && p.lastWorkerIdentity)?.lastWorkerIdentity;
  });
  return Number(/^host-(\d+)$/.exec(identity)![1]);
}

describe('a worker host killed mid-work on a Temporal cluster', { skip: unavailable ?? false }, () => {
  const cluster = useCluster();

  test('mid-publish: the other host catches its own clone up and publishes the whole tree, once', async () => {
    await withHosts(cluster, 'kill-sync', {}, async (h) => {
      const files: Record<string, FileContent> = {};
      for (let i = 0; i < 1500; i++)
        files[`0${i % 6}_Level/Topic ${i % 40}/Notebook ${i}.ipynb`] = notebook([
          `print(${i})`,
          'x = ' + 'a'.repeat(2000),
        ]);
      const sha = await h.upstream.commit(files, 'a big merge');
      const expected = (await h.upstream.git.raw(['ls-tree', '-r', '--name-only', sha])).trim().split('\n').sort();
      const repo = h.env.NBLC_REPO_FULL_NAME!;
      const res = await sendPush(
        `${h.apiUrl}/webhooks/github`,
        TEST_SECRET,
        { repo, before: sha, after: sha },
        'kill-1',
      );
      assert.equal(res.status, 202);
      const victim = await runningOn(cluster.client, syncWorkflowId(repo), 'syncPass');
      await waitFor('publish in progress', async () =>
        (await fs.readdir(snapshotsDir(h.config.cacheDir)).catch(() => [] as string[])).some((n) =>
          n.startsWith('.tmp-'),
        ),
      );
      await kill9(h.workers[victim]!);
      assert.ok(!(await fs.readdir(snapshotsDir(h.config.cacheDir))).includes(sha), 'no half snapshot under its name');

      await waitFor('published by the other host', async () => (await readCurrent(h.config.cacheDir)) === sha, 180_000);
      assert.deepEqual(await listTree(snapshotPath(h.config.cacheDir, sha)), expected);
      const history = await cluster.client.workflow.getHandle(syncWorkflowId(repo)).fetchHistory();
      const publishes = (history.events ?? []).filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'syncPass',
      );
      assert.equal(publishes.length, 1, 'one publish (its attempt retried on the other host), not two');
      const publishId = String(publishes[0]!.eventId);
      const started = (history.events ?? []).find(
        (e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === publishId,
      )?.activityTaskStartedEventAttributes;
      assert.equal(started?.identity, `host-${1 - victim}`, 'the attempt that published ran on the other host');
      assert.ok((started?.attempt ?? 0) >= 2, 'after the killed attempt');
    });
  });

  test('mid test run: the other host runs what the dead one had, each notebook reported once', async () => {
    await withHosts(cluster, 'kill-run', { NBLC_TEST_CONCURRENCY: '2' }, async (h) => {
      const files: Record<string, string> = {};
      for (let i = 0; i < 8; i++)
        files[`run/Notebook ${i}.ipynb`] = notebook(['import time\ntime.sleep(2)', `print(${i})`]);
      await publishFiles(h, files);
      const started = await startTestRun(cluster.client, h.config, { kind: 'manual', concurrency: 4 });
      await waitFor('notebooks running on both hosts', async () => {
        const p = (await getRun(cluster.client, started.runId))?.progress;
        return p && p.done >= 1 && p.running.length >= 3;
      });
      await kill9(h.workers[0]!);
      const finished = await finishedRun(cluster, started.runId, 240_000);
      assertEachPassedOnce(finished, files);
      const { report } = finished;
      assert.ok(report.notebooks.some((n) => n.worker === 'host-1'));
    });
  });

  test('mid bulk provision: the other host finishes every user; each copy is whole, none made twice', async () => {
    await withHosts(cluster, 'kill-bulk', { NBLC_READY_COPY: 'false', NBLC_COPY_CONCURRENCY: '4' }, async (h) => {
      const files: Record<string, string> = {};
      for (let i = 0; i < 200; i++) files[`Topic ${i % 10}/nb-${i}.ipynb`] = notebook([`x = "${'b'.repeat(50_000)}"`]);
      const sha = await publishFiles(h, files);
      const users = Array.from({ length: 40 }, (_, i) => `bulk-${String(i).padStart(2, '0')}`);
      for (const u of users) await fs.mkdir(path.join(h.config.usersDir, u));
      const bulk = await startBulk(cluster.client, h.config, 'provision');
      await waitFor('a few users done', async () => {
        const progress = await bulkProgress(cluster.client, 'provision');
        return (progress?.processed ?? 0) >= 6;
      });
      await kill9(h.workers[0]!);
      const summary = (await bulk.handle.result()) as BulkSummary;
      assert.equal(summary.processed, users.length);
      assert.equal(summary.succeeded, users.length, JSON.stringify(summary.failures));
      assert.equal(summary.created, users.length, 'each copy made once');
      const expected = (await listTree(snapshotPath(h.config.cacheDir, sha))).concat('.nblc-manifest.json').sort();
      for (const u of users) {
        const dir = path.join(h.config.usersDir, u);
        assert.deepEqual(
          (await fs.readdir(dir)).sort(),
          ['notebooks', 'notebooks-latest'],
          `${u}: only the copy and the link`,
        );
        assert.deepEqual(await listTree(path.join(dir, 'notebooks')), expected, `${u}: a whole copy`);
      }
    });
  });
});
