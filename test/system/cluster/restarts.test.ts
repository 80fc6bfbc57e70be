/**
 * The Temporal server, then PostgreSQL, go down (SIGKILL; PostgreSQL's immediate shutdown, which
 * needs crash recovery) in the middle of a test run and a bulk copy, and come back: the work
 * completes, each notebook and each user once, and a beacon refused during the outage (503) is
 * published when GitHub redelivers it.
 *
 *   node --import tsx --test test/system/cluster/restarts.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { readCurrent } from '../../../src/activities/sync/snapshot.js';
import { startBulk } from '../../../src/clients/copies/client.js';
import type { BulkSummary } from '../../../src/domain/copies/model.js';
import { notebook, sendPush } from '../../../src/demo/sample-repo.js';
import { getRun, startTestRun } from '../../../src/clients/runs/client.js';
import {
  assertEachPassedOnce,
  clusterUnavailable,
  finishedRun,
  publishFiles,
  startHosts,
  useCluster,
  type Hosts,
} from '../../helpers/cluster.js';
import { TEST_SECRET, waitFor } from '../../helpers/fixtures.js';

const unavailable = clusterUnavailable();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Temporal and PostgreSQL restarted under load', { skip: unavailable ?? false }, () => {
  const cluster = useCluster();

  /** A run of 10 notebooks and a bulk provision of 30 users in flight while `outage` happens. */
  async function underLoad(name: string, outage: (h: Hosts) => Promise<void>) {
    const h = await startHosts(cluster, name, { NBLC_TEST_CONCURRENCY: '2', NBLC_READY_COPY: 'false' });
    try {
      const files: Record<string, string> = {};
      for (let i = 0; i < 10; i++)
        files[`run/Notebook ${i}.ipynb`] = notebook(['import time\ntime.sleep(1.5)', `print(${i})`]);
      await publishFiles(h, files);
      const users = Array.from({ length: 30 }, (_, i) => `${name}-${i}`);
      for (const u of users) await fs.mkdir(path.join(h.config.usersDir, u));

      const run = await startTestRun(cluster.client, h.config, { kind: 'manual', concurrency: 4 });
      const bulk = await startBulk(cluster.client, h.config, 'provision');
      await waitFor('the run under way', async () => {
        const p = (await getRun(cluster.client, run.runId))?.progress;
        return p && p.done >= 1 && p.running.length > 0;
      });
      await outage(h);

      assertEachPassedOnce(await finishedRun(cluster, run.runId, 300_000), files);
      const summary = (await bulk.handle.result()) as BulkSummary;
      assert.equal(summary.processed, users.length);
      assert.equal(summary.created, users.length, JSON.stringify(summary.failures));
      for (const u of users)
        assert.deepEqual((await fs.readdir(path.join(h.config.usersDir, u))).sort(), ['notebooks', 'notebooks-latest']);
      return h;
    } finally {
      await h.stop();
    }
  }

  test('the Temporal server killed and started again: the run and the bulk copy complete; a refused beacon is redelivered', async () => {
    await underLoad('server', async (h) => {
      await cluster.stop('server', { kill: true });
      const next = await h.upstream.commit({ 'later.ipynb': notebook(['print("later")']) });
      const push = { repo: h.env.NBLC_REPO_FULL_NAME!, before: next, after: next };
      const refused = await sendPush(`${h.apiUrl}/webhooks/github`, TEST_SECRET, push, 'during-outage');
      assert.equal(refused.status, 503, 'nothing is started while Temporal is down; GitHub shows the failed delivery');
      await sleep(5000);
      await cluster.up();
      const redelivered = await waitFor('the API reaches Temporal again', async () => {
        const res = await sendPush(`${h.apiUrl}/webhooks/github`, TEST_SECRET, push, 'during-outage');
        return res.status === 202 ? res : null;
      });
      assert.equal(redelivered.status, 202);
      await waitFor(
        'the redelivered commit published',
        async () => (await readCurrent(h.config.cacheDir)) === next,
        120_000,
      );
    });
  });

  test('PostgreSQL stopped hard and started again: the run and the bulk copy complete', async () => {
    await underLoad('postgres', async () => {
      await cluster.stop('postgres', { kill: true });
      await sleep(8000);
      await cluster.up();
    });
  });
});
