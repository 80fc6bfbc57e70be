/**
 * The sync workflow against a real Temporal server, real activities and real git repositories.
 */
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { Config } from '../../src/runtime/config.js';
import { SYNC_SA, syncWorkflowId, type Beacon, type SyncInput } from '../../src/sync/model.js';
import { bulkCopyWorkflowId, type BulkInput } from '../../src/copies/model.js';
import { requestCopy } from '../../src/copies/client.js';
import { querySync, signalSync } from '../../src/sync/client.js';
import { freePort } from '../../src/runtime/embedded.js';
import { createWorker } from '../../src/runtime/worker.js';
import { beaconSignal, repoSync } from '../../src/workflows/repoSync.js';
import { sandbox, waitFor } from '../helpers/fixtures.js';
import { recordHistory, replayAll, startInput } from '../helpers/histories.js';
import { useTestEnv, workflowBundle } from '../helpers/temporal.js';

const env = useTestEnv();

let n = 0;
/** An upstream repository and a config with its own repository name and task queue. */
async function setup(extra: Record<string, string> = {}) {
  const id = `${++n}-${randomUUID().slice(0, 8)}`;
  return sandbox({ NBLC_REPO_FULL_NAME: `test/sync-${id}`, NBLC_TASK_QUEUE: `sync-${id}`, ...extra });
}

async function worker(config: Config): Promise<Worker> {
  return createWorker(config, env.nativeConnection, { workflowBundle: await workflowBundle() });
}

function beacon(deliveryId: string, sha: string | null, before: string | null = null): Beacon {
  return { deliveryId, sha, before, pusher: 'curator', source: 'github', receivedAt: new Date().toISOString() };
}

const currentSha = async (config: Config) =>
  path.basename(await fs.readlink(path.join(config.cacheDir, 'current')).catch(() => ''));

/** Activities of one type that a history scheduled. */
const scheduled = (history: History, type: string) =>
  (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type).length;

async function activityCount(config: Config, type: string, runId?: string): Promise<number> {
  return scheduled(
    await env.client.workflow.getHandle(syncWorkflowId(config.repo.fullName), runId).fetchHistory(),
    type,
  );
}

/** Activities of one type over a whole continue-as-new chain, followed from its first run (no visibility lag). */
async function chainActivityCount(config: Config, type: string, firstRunId: string): Promise<number> {
  let total = 0;
  for (let runId: string | undefined = firstRunId; runId;) {
    const history: History = await env.client.workflow
      .getHandle(syncWorkflowId(config.repo.fullName), runId)
      .fetchHistory();
    total += scheduled(history, type);
    runId =
      history.events?.find((e) => e.workflowExecutionContinuedAsNewEventAttributes)
        ?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return total;
}

async function published(config: Config, sha: string) {
  return waitFor(`publish of ${sha.slice(0, 8)}`, async () => {
    const s = await querySync(env.client, config);
    return s?.published?.sha === sha && !s.running && s.pending.length === 0 ? s : null;
  });
}

async function settled(config: Config, deliveryId: string) {
  return waitFor(`delivery ${deliveryId}`, async () => {
    const s = await querySync(env.client, config);
    const d = s?.recentDeliveries.find((r) => r.deliveryId === deliveryId);
    return d && d.outcome !== 'pending' && d.outcome !== 'running' ? { status: s!, delivery: d } : null;
  });
}

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
      assert.equal(await activityCount(config, 'publishSnapshot'), 1);
      assert.equal(await activityCount(config, 'fetchBranch'), 1);
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
      const pulls = await activityCount(config, 'fetchBranch');
      assert.ok(pulls >= 1 && pulls <= 5, `pulls: ${pulls}`);
      assert.ok((await activityCount(config, 'publishSnapshot')) <= pulls);
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
        const fetch = desc.raw.pendingActivities?.find((a) => a.activityType?.name === 'fetchBranch');
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
      assert.equal(await activityCount(config, 'publishSnapshot'), 1);
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
      const fetches = await activityCount(config, 'fetchBranch');
      await signalSync(env.client, config, beacon('ok', first));
      await waitFor(
        'duplicate counted',
        async () =>
          (await querySync(env.client, config))?.recentDeliveries.find((d) => d.deliveryId === 'ok')?.duplicates === 1,
      );
      assert.equal(await activityCount(config, 'fetchBranch'), fetches, 'a synced redelivery must not pull again');

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

  test('continues as new before the history grows large, carrying what it published and its dedupe window', async () => {
    const { config, upstream } = await setup();
    const workflowId = syncWorkflowId(config.repo.fullName);
    const input: SyncInput = { repo: config.repo.fullName, branch: 'main', idleTimeout: '1h', maxHistoryEvents: 40 };
    const w = await worker(config);
    await w.runUntil(async () => {
      const firstRun = await env.client.workflow.signalWithStart(repoSync, {
        workflowId,
        taskQueue: config.taskQueue,
        args: [input],
        signal: beaconSignal,
        signalArgs: [beacon('can-0', null)],
      });
      let last = '';
      for (let i = 1; i <= 4; i++) {
        last = await upstream.commit({ [`c${i}.ipynb`]: '{}' });
        await signalSync(env.client, config, beacon(`can-${i}`, last));
        await settled(config, `can-${i}`);
      }
      const desc = await env.client.workflow.getHandle(workflowId).describe();
      assert.notEqual(desc.runId, firstRun.signaledRunId, 'expected a continue-as-new');
      const status = await querySync(env.client, config);
      assert.equal(status?.published?.sha, last);
      assert.ok(
        status?.recentDeliveries.some((d) => d.deliveryId === 'can-1'),
        'deliveries carried over',
      );
      // The duplicate may itself push the run over the limit: count over the whole chain.
      const fetches = await chainActivityCount(config, 'fetchBranch', firstRun.signaledRunId);
      assert.ok(fetches >= 4, `expected a pull per settled delivery, saw ${fetches}`);
      await signalSync(env.client, config, beacon('can-1', null));
      await waitFor(
        'duplicate after continue-as-new',
        async () =>
          (await querySync(env.client, config))?.recentDeliveries.find((d) => d.deliveryId === 'can-1')?.duplicates ===
          1,
      );
      assert.equal(await chainActivityCount(config, 'fetchBranch', firstRun.signaledRunId), fetches);
      await recordHistory(env, workflowId, 'continue-as-new', firstRun.signaledRunId);
    });
  });

  test("with NBLC_UPDATE_COPIES_ON_PUBLISH, a publish updates every user's copy and keeps their edits", async () => {
    const { config, upstream, first } = await setup({
      NBLC_UPDATE_COPIES_ON_PUBLISH: 'true',
      NBLC_COPY_MAX_QUEUED: '1',
    });
    await upstream.commit({ 'a.ipynb': '{"v": 1}', 'b.ipynb': '{"v": 1}' });
    const w = await worker(config);
    await w.runUntil(async () => {
      await signalSync(env.client, config, beacon('u-1', null));
      const one = (await published(config, await upstream.git.revparse(['HEAD'])))!.published!.sha;
      assert.notEqual(one, first);
      // The first publish found no users; now ada gets her copy and edits one notebook.
      const ada = path.join(config.usersDir, 'ada');
      await fs.mkdir(ada, { recursive: true });
      await requestCopy(env.client, config, 'ada', { mode: 'provision' });
      await fs.writeFile(path.join(ada, 'notebooks', 'a.ipynb'), '{"mine": true}');

      const two = await upstream.commit({ 'a.ipynb': '{"v": 2}', 'b.ipynb': '{"v": 2}' });
      await signalSync(env.client, config, beacon('u-2', two));
      await published(config, two);
      const bulk = env.client.workflow.getHandle(`${bulkCopyWorkflowId('update')}:publish-${two.slice(0, 12)}`);
      const summary = await waitFor('the bulk update', async () => {
        try {
          return await bulk.result();
        } catch (err) {
          if ((err as Error).name === 'WorkflowNotFoundError') return null;
          throw err;
        }
      });
      assert.equal(summary.succeeded, 1);
      // the users' workflows it starts get the configured per-user cap, not the default
      assert.equal(startInput<BulkInput>(await bulk.fetchHistory())?.maxQueued, 1);
      assert.equal(await fs.readFile(path.join(ada, 'notebooks', 'a.ipynb'), 'utf8'), '{"mine": true}');
      assert.equal(await fs.readFile(path.join(ada, 'notebooks', 'b.ipynb'), 'utf8'), '{"v": 2}');
      const beside = (await fs.readdir(path.join(ada, 'notebooks'))).filter((f) => f.includes('.upstream-'));
      assert.deepEqual(beside, [`a.upstream-${two.slice(0, 7)}.ipynb`]);
      await recordHistory(env, syncWorkflowId(config.repo.fullName), 'sync-with-copies-update');
    });
  });

  test('ends after an idle period; the next beacon starts a new run that knows what is published', async () => {
    const { config, upstream, first } = await setup({ NBLC_SYNC_IDLE_TIMEOUT: '2s' });
    const w = await worker(config);
    await w.runUntil(async () => {
      const started = await signalSync(env.client, config, beacon('i-1', first));
      const result = await env.client.workflow.getHandle(started.workflowId, started.runId).result();
      assert.equal(result.reason, 'idle');
      assert.equal(result.published?.sha, first);

      const second = await upstream.commit({ 'later.ipynb': '{}' });
      const again = await signalSync(env.client, config, beacon('i-2', second));
      assert.notEqual(again.runId, started.runId);
      await published(config, second);
      await recordHistory(env, started.workflowId, 'idle-end', started.runId);
    });
  });
});

describe('determinism', () => {
  test('recorded histories (committed fixtures and this run) replay against the current workflow code', async () => {
    const replayed = await replayAll(await workflowBundle());
    assert.ok(replayed >= 1, 'no history was replayed');
  });
});
