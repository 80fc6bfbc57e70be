/**
 * The sync workflow over time, against a real Temporal server: it continues as new before its
 * history grows large, updates users' copies after a publish when asked, and ends when idle.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { syncWorkflowId, type SyncInput } from '../../../src/domain/sync/model.js';
import { bulkCopyWorkflowId, type BulkInput } from '../../../src/domain/copies/model.js';
import { requestCopy } from '../../../src/clients/copies/client.js';
import { querySync, signalSync } from '../../../src/clients/sync/client.js';
import { beaconSignal } from '../../../src/domain/sync/messages.js';
import { repoSync } from '../../../src/workflows/sync/repoSync.js';
import { waitFor } from '../../helpers/fixtures.js';
import { recordHistory, replayAll, startInput } from '../../helpers/histories.js';
import { repoSyncHarness } from '../../helpers/repo-sync.js';
import { useTestEnv, workflowBundle } from '../../helpers/temporal.js';

const env = useTestEnv();
const { setup, worker, beacon, chainActivityCount, published, settled } = repoSyncHarness(env);

describe('repoSync workflow over time', () => {
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
      const fetches = await chainActivityCount(config, 'pulls', firstRun.signaledRunId);
      assert.ok(fetches >= 4, `expected a pull per settled delivery, saw ${fetches}`);
      await signalSync(env.client, config, beacon('can-1', null));
      await waitFor(
        'duplicate after continue-as-new',
        async () =>
          (await querySync(env.client, config))?.recentDeliveries.find((d) => d.deliveryId === 'can-1')?.duplicates ===
          1,
      );
      assert.equal(await chainActivityCount(config, 'pulls', firstRun.signaledRunId), fetches);
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

  test('the histories of this file and the committed fixtures replay against the current workflow code', async () => {
    assert.ok((await replayAll(await workflowBundle())) >= 1);
  });
});
