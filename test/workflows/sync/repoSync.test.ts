/**
 * The sync workflow against a real Temporal server, real activities and real git repositories:
 * publishing, bursts, retries, redeliveries, pull now; and every recorded history replays. Its
 * life cycle (continue-as-new, idle end, copies on publish): repoSync-lifecycle.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { Config } from '../../../src/platform/config.js';
import { SYNC_SA, syncWorkflowId } from '../../../src/domain/sync/model.js';
import { querySync, signalSync } from '../../../src/clients/sync/client.js';
import { freePort } from '../../../src/process/embedded.js';
import { waitFor } from '../../helpers/fixtures.js';
import { recordHistory, replayAll } from '../../helpers/histories.js';
import { repoSyncHarness } from '../../helpers/repo-sync.js';
import { useTestEnv, workflowBundle } from '../../helpers/temporal.js';

const env = useTestEnv();
const { setup, worker, beacon, currentSha, activityCount, published, settled } = repoSyncHarness(env);

describe('repoSync workflow', () => {
  test('a beacon publishes its commit; status, search attributes and details tell operators what happened', async () => {
    const { config, first } = await setup();
    const w = await worker(config);
    await w.runUntil(async () => {
      const started = await signalSync(env.client, config, beacon('d-1', first));
      const status = await published(config, first);
      assert.equal(await currentSha(config), first);
      assert.equal(status.lastError, null);
      assert.equal(status.recentDeliveries[0]?.deliveryId, 'd-1');
      assert.equal(status.recentDeliveries[0]?.outcome, 'synced');
      assert.equal(status.published?.deliveryId, 'd-1');

      const desc = await env.client.workflow.getHandle(started.workflowId).describe();
      assert.equal(desc.typedSearchAttributes.get(SYNC_SA.repo), config.repo.fullName);
      assert.equal(desc.typedSearchAttributes.get(SYNC_SA.publishedCommit), first);
      assert.match((await desc.staticSummary()) ?? '', /Sync test\/sync-/);
      await recordHistory(env, started.workflowId, 'publish-one');
      // Since `one-activity-pass`: the pass is one activity, which said what it published.
      assert.equal(await activityCount(config, 'pulls'), 1);
      assert.equal(await activityCount(config, 'publishes'), 1);
      await recordHistory(env, started.workflowId, 'publish-one-activity-pass');
    });
  });

  test('a burst of beacons, even out of order, pulls once and publishes only the newest commit', async () => {
    const { config, upstream } = await setup();
    const shas: string[] = [];
    for (let i = 1; i <= 4; i++) shas.push(await upstream.commit({ [`nb${i}.ipynb`]: `{"v": ${i}}` }, `merge ${i}`));
    // Signals land before any worker polls: the first workflow task sees the whole burst.
    for (const i of [1, 3, 0, 2]) await signalSync(env.client, config, beacon(`burst-${i}`, shas[i]!));
    const w = await worker(config);
    await w.runUntil(async () => {
      const status = await published(config, shas[3]!);
      assert.equal(await activityCount(config, 'publishes'), 1);
      assert.equal(await activityCount(config, 'pulls'), 1);
      const outcomes = Object.fromEntries(status.recentDeliveries.map((d) => [d.deliveryId, d.outcome]));
      assert.deepEqual(outcomes, {
        'burst-3': 'synced',
        'burst-0': 'superseded',
        'burst-1': 'superseded',
        'burst-2': 'superseded',
      });
      await recordHistory(env, syncWorkflowId(config.repo.fullName), 'burst');
    });
  });

  test('50 beacons over 5 commits while the worker runs: the last commit is published after only a few pulls', async () => {
    const { config, upstream } = await setup();
    const shas: string[] = [];
    for (let i = 0; i < 5; i++) shas.push(await upstream.commit({ [`b${i}.ipynb`]: '{}' }));
    const w = await worker(config);
    await w.runUntil(async () => {
      // Ten deliveries per merge (GitHub's retries, other hooks), all at once and interleaved.
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => signalSync(env.client, config, beacon(`b50-${i}`, shas[i % 5]!))),
      );
      const status = await published(config, shas[4]!);
      assert.equal(status.lastError, null);
      const pulls = await activityCount(config, 'pulls');
      assert.ok(pulls >= 1 && pulls <= 5, `pulls: ${pulls}`);
      assert.ok((await activityCount(config, 'publishes')) <= pulls);
      assert.equal(await currentSha(config), shas[4]);
    });
  });

  test('upstream unreachable: the pull retries with backoff and publishes once the server is back', async () => {
    const base = await setup();
    const port = await freePort();
    // The same repository, served by `git daemon` on a port where nothing listens yet.
    const url = `git://127.0.0.1:${port}/${path.basename(base.upstream.url)}`;
    const config: Config = { ...base.config, repo: { ...base.config.repo, url } };
    const workflowId = syncWorkflowId(config.repo.fullName);
    const w = await worker(config);
    await w.runUntil(async () => {
      await signalSync(env.client, config, beacon('down-1', base.first));
      const failing = await waitFor('a pull that failed and is being retried', async () => {
        const desc = await env.client.workflow.getHandle(workflowId).describe();
        const fetch = desc.raw.pendingActivities?.find((a) =>
          ['fetchBranch', 'syncPass'].includes(a.activityType?.name ?? ''),
        );
        return fetch && (fetch.attempt ?? 0) >= 2 ? fetch : null;
      });
      assert.match(failing.lastFailure?.message ?? '', /unable to connect|Connection refused/i);
      const root = path.dirname(base.upstream.url);
      const daemon = spawn(
        'git',
        ['daemon', '--reuseaddr', '--export-all', `--base-path=${root}`, '--listen=127.0.0.1', `--port=${port}`, root],
        { stdio: 'ignore' },
      );
      try {
        const status = await published(config, base.first);
        assert.equal(status.recentDeliveries.find((d) => d.deliveryId === 'down-1')?.outcome, 'synced');
      } finally {
        daemon.kill();
      }
    });
  });

  test('an older commit arriving after a newer one is never published', async () => {
    const { config, upstream, first } = await setup();
    const second = await upstream.commit({ 'b.ipynb': '{}' });
    const w = await worker(config);
    await w.runUntil(async () => {
      await signalSync(env.client, config, beacon('new', second));
      await published(config, second);
      await signalSync(env.client, config, beacon('late-old', first));
      const { status, delivery } = await settled(config, 'late-old');
      assert.equal(delivery.outcome, 'stale');
      assert.equal(status.published?.sha, second);
      assert.equal(await currentSha(config), second);
      assert.equal(await activityCount(config, 'publishes'), 1);
    });
  });

  test('a delivery that synced is ignored when redelivered; one that failed is processed again', async () => {
    const { config, upstream, first } = await setup();
    // A commit that is not (yet) on the configured branch.
    await upstream.git.checkoutLocalBranch('feature');
    const feature = await upstream.commit({ 'feature.ipynb': '{}' }, 'feature work');
    await upstream.git.push('origin', 'feature');
    const w = await worker(config);
    await w.runUntil(async () => {
      await signalSync(env.client, config, beacon('ok', first));
      await published(config, first);
      const fetches = await activityCount(config, 'pulls');
      await signalSync(env.client, config, beacon('ok', first));
      await waitFor(
        'duplicate counted',
        async () =>
          (await querySync(env.client, config))?.recentDeliveries.find((d) => d.deliveryId === 'ok')?.duplicates === 1,
      );
      assert.equal(await activityCount(config, 'pulls'), fetches, 'a synced redelivery must not pull again');

      await signalSync(env.client, config, beacon('early', feature));
      const failed = await settled(config, 'early');
      assert.equal(failed.delivery.outcome, 'failed');
      assert.match(failed.delivery.error ?? '', /does not exist .* after fetching main/);
      assert.match(failed.status.lastError?.message ?? '', /run "nblc sync"/);
      assert.equal(await currentSha(config), first);

      // The feature is merged (fast-forward); GitHub's "Redeliver" sends the same delivery ID.
      await upstream.git.push('origin', 'feature:main');
      await signalSync(env.client, config, beacon('early', feature));
      const retried = await settled(config, 'early');
      assert.equal(retried.delivery.outcome, 'synced');
      assert.equal(retried.status.lastError, null);
      assert.equal(await currentSha(config), feature);
      await recordHistory(env, syncWorkflowId(config.repo.fullName), 'dedupe-and-redeliver');
    });
  });

  test('"pull now" (no commit given) publishes the branch tip', async () => {
    const { config, upstream } = await setup();
    const tip = await upstream.commit({ 'tip.ipynb': '{}' });
    const w = await worker(config);
    await w.runUntil(async () => {
      await signalSync(env.client, config, { ...beacon('manual-1', null), source: 'operator' });
      await published(config, tip);
    });
  });
});

describe('determinism', () => {
  test('recorded histories (committed fixtures and this run) replay against the current workflow code', async () => {
    const replayed = await replayAll(await workflowBundle());
    assert.ok(replayed >= 1, 'no history was replayed');
  });
});
