/**
 * Several workers, several hosts, on a real Temporal cluster (PostgreSQL): one `nblc api` and two
 * `nblc worker` processes, each worker with its own data directory as a second host would have;
 * the cache, the results and the users' homes shared (docs/deployment.md, "Several workers").
 *
 *   node --import tsx --test test/system/cluster/workers.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { readCurrent, snapshotsDir } from '../../../src/activities/sync/snapshot.js';
import { notebook, sendPush } from '../../../src/demo/sample-repo.js';
import { startTestRun } from '../../../src/clients/runs/client.js';
import { querySync } from '../../../src/clients/sync/client.js';
import { syncWorkflowId } from '../../../src/domain/sync/model.js';
import { activitySpans, overlap } from '../../helpers/activity-spans.js';
import {
  assertEachPassedOnce,
  clusterUnavailable,
  finishedRun,
  publishFiles,
  useCluster,
  withHosts,
} from '../../helpers/cluster.js';
import { TEST_SECRET, waitFor } from '../../helpers/fixtures.js';

const unavailable = clusterUnavailable();

describe('two worker hosts on a Temporal cluster', { skip: unavailable ?? false }, () => {
  const cluster = useCluster();

  test('a burst of beacons through the API: coalesced pulls, every commit published at most once, the newest last', async () => {
    await withHosts(cluster, 'burst', {}, async (h) => {
      const shas: string[] = [];
      for (let i = 0; i < 5; i++) shas.push(await h.upstream.commit({ [`nb-${i}.ipynb`]: notebook([`print(${i})`]) }));
      const repo = h.env.NBLC_REPO_FULL_NAME!;
      const sent = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          sendPush(
            `${h.apiUrl}/webhooks/github`,
            TEST_SECRET,
            { repo, before: shas[0]!, after: shas[i % 5]! },
            `b-${i}`,
          ),
        ),
      );
      assert.deepEqual(new Set(sent.map((r) => r.status)), new Set([202]));
      await waitFor(
        'the newest commit published',
        async () => (await readCurrent(h.config.cacheDir)) === shas[4],
        120_000,
      );
      const status = await waitFor('every delivery settled', async () => {
        const s = await querySync(cluster.client, h.config);
        const settled = s?.recentDeliveries.filter((d) => !['pending', 'running'].includes(d.outcome));
        return settled?.length === 20 && !s!.running ? s : null;
      });
      for (const d of status.recentDeliveries) assert.notEqual(d.outcome, 'failed', `${d.deliveryId}: ${d.error}`);

      const history = await cluster.client.workflow.getHandle(syncWorkflowId(repo)).fetchHistory();
      const published: string[] = [];
      let fetches = 0;
      // A pass is one activity (syncPass) that says what it published.
      for (const e of history.events ?? []) {
        if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'syncPass') fetches++;
        const data = e.activityTaskCompletedEventAttributes?.result?.payloads?.[0]?.data;
        const sha = data ? (JSON.parse(Buffer.from(data).toString()) as { published?: { sha: string } | null }) : null;
        if (sha?.published) published.push(sha.published.sha);
      }
      assert.ok(fetches < 20, `20 beacons were coalesced into ${fetches} pulls`);
      assert.equal(new Set(published).size, published.length, 'no commit is published twice');
      assert.equal(status.published?.sha, shas[4]);
      const entries = await fs.readdir(snapshotsDir(h.config.cacheDir));
      assert.ok(!entries.some((n) => n.startsWith('.tmp-')), `no half-written snapshot is left: ${entries}`);
    });
  });

  test('a test run spreads its notebooks over both workers; each notebook is reported once, with its worker', async () => {
    // Two at a time per worker, four in flight for the run: both workers must take notebooks.
    await withHosts(cluster, 'spread', { NBLC_TEST_CONCURRENCY: '2' }, async (h) => {
      const files: Record<string, string> = {};
      for (let i = 0; i < 12; i++)
        files[`suite/Notebook ${String(i).padStart(2, '0')}.ipynb`] = notebook([
          'import time\ntime.sleep(1)',
          `print(${i})`,
        ]);
      await publishFiles(h, files);
      const started = await startTestRun(cluster.client, h.config, { kind: 'manual', concurrency: 4 });
      const finished = await finishedRun(cluster, started.runId, 180_000);
      assertEachPassedOnce(finished, files);
      const { report } = finished;
      const byWorker = new Map<string, number>();
      for (const n of report.notebooks) byWorker.set(n.worker ?? '?', (byWorker.get(n.worker ?? '?') ?? 0) + 1);
      assert.deepEqual([...byWorker.keys()].sort(), ['host-0', 'host-1'], `notebooks per worker: ${[...byWorker]}`);
    });
  });

  test("copies: different users' requests run in parallel, one user's requests one after another", async () => {
    // No ready copy: every request copies the suite itself, long enough (~0.3 s) to see overlaps.
    await withHosts(cluster, 'copies', { NBLC_READY_COPY: 'false' }, async (h) => {
      const files: Record<string, string> = {};
      for (let i = 0; i < 400; i++) files[`Topic ${i % 20}/nb-${i}.ipynb`] = notebook([`x = "${'a'.repeat(60_000)}"`]);
      await publishFiles(h, files);
      const users = ['ada', 'bob', 'cy', 'dee'].map((u) => `${u}-par`);
      for (const u of [...users, 'eve-ser']) await fs.mkdir(path.join(h.config.usersDir, u));
      const copy = (user: string) =>
        fetch(`${h.apiUrl}/users/${user}/copies`, {
          method: 'POST',
          headers: { authorization: `Bearer ${h.env.NBLC_API_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ mode: 'latest' }),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as { name: string; error?: string } }));
      const answers = await Promise.all([...users.map(copy), copy('eve-ser'), copy('eve-ser'), copy('eve-ser')]);
      for (const a of answers) assert.equal(a.status, 201, JSON.stringify(a.body));
      const eve = answers.slice(users.length).map((a) => a.body.name);
      assert.equal(new Set(eve).size, 3, `three distinct copies for one user: ${eve}`);

      const parallel = await activitySpans(
        cluster.client,
        `WorkflowId STARTS_WITH "user-copy:" AND NblcUser != "eve-ser"`,
        4,
      );
      const copies = parallel.filter((s) => users.some((u) => s.workflowId === `user-copy:${u}`));
      assert.ok(
        copies.some((a) => copies.some((b) => a.workflowId !== b.workflowId && overlap(a, b))),
        `copies of different users overlap in time: ${JSON.stringify(copies)}`,
      );
      const serial = (
        await waitFor('the three requests of eve in visibility', async () => {
          const spans = await activitySpans(cluster.client, `WorkflowId = "user-copy:eve-ser"`);
          return spans.length >= 3 ? spans : null;
        })
      ).sort((a, b) => a.start - b.start);
      assert.equal(serial.length, 3);
      for (let i = 1; i < serial.length; i++)
        assert.ok(serial[i]!.start >= serial[i - 1]!.end, `eve's requests overlap: ${JSON.stringify(serial)}`);
      const workers = new Set([...copies, ...serial].map((s) => s.worker));
      assert.ok(
        [...workers].every((w) => /^host-[01]$/.test(w)),
        `copies ran on the worker hosts: ${[...workers]}`,
      );
    });
  });
});
