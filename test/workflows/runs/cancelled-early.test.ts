/**
 * A run cancelled while it prepares (before it carries anything: discovery, contracts, the
 * environment probe) lets go of what it already holds: a pull request's exported snapshot and
 * its repository of the PR's objects, a published snapshot's pin, and its `pending` commit
 * status ('release-cancelled-early'). Held in the probe here: only the service's worker polls,
 * so the probe waits on the notebook queue until the run is cancelled.
 *   node --import tsx --test test/workflows/runs/cancelled-early.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { after, describe, test } from 'node:test';
import type { Worker } from '@temporalio/worker';
import { prSnapshotsDir } from '../../../src/activities/runs/run-record.js';
import { prRepoOf } from '../../../src/activities/runs/pr-repo.js';
import { pinDir } from '../../../src/activities/sync/snapshot.js';
import { startTestRun } from '../../../src/clients/runs/client.js';
import { runIdFromWorkflowId } from '../../../src/domain/runs/model.js';
import { notebook } from '../../../src/demo/sample-repo.js';
import { createWorker } from '../../../src/process/worker.js';
import { closeHistoryStores } from '../../../src/storage/runs/history-store.js';
import { waitFor } from '../../helpers/fixtures.js';
import { recordHistory, replayAll } from '../../helpers/histories.js';
import { statusesAt } from '../../helpers/receivers.js';
import { publish } from '../../helpers/stack.js';
import { useTestEnv, workflowBundle } from '../../helpers/temporal.js';
import { deliverWebhook } from '../../helpers/webhooks.js';
import { prEvent, prService, pushPr } from '../../helpers/pull-requests.js';

const env = useTestEnv();
after(() => closeHistoryStores());

const PASS = notebook(['print("ok")']);

/** Runs `fn` while only the service's worker polls (no notebook worker: probes wait). */
async function withServiceWorker<T>(config: Parameters<typeof createWorker>[0], fn: () => Promise<T>): Promise<T> {
  const worker: Worker = await createWorker(config, env.nativeConnection, { workflowBundle: await workflowBundle() });
  const running = worker.run();
  try {
    return await fn();
  } finally {
    worker.shutdown();
    await running;
  }
}

/** Waits until the workflow waits on its environment probe (prepare's last step), then cancels it. */
async function cancelInProbe(workflowId: string): Promise<void> {
  const handle = env.client.workflow.getHandle(workflowId);
  await waitFor('the run waiting on its environment probe', async () =>
    (await handle.describe()).raw.pendingActivities?.some((a) => a.activityType?.name === 'probeEnvironment'),
  );
  await handle.cancel();
  await waitFor('the run cancelled', async () => (await handle.describe()).status.name === 'CANCELLED');
}

describe('a run cancelled before it carries anything', () => {
  test('a pull request run: its snapshot, its repository and its pending status go', async () => {
    const { config, upstream, gh, app } = await prService(env, 'early');
    const main = await upstream.commit({ 'a/A.ipynb': PASS });
    await withServiceWorker(config, async () => {
      await publish(env, config, main);
      const head = await pushPr(upstream, 21, { 'a/B.ipynb': PASS });
      const res = await deliverWebhook(app, prEvent(config.repo.fullName, 21, 'opened', head), {
        event: 'pull_request',
      });
      const workflowId = ((await res.json()) as { workflowId: string }).workflowId;
      const runId = runIdFromWorkflowId(workflowId);
      await waitFor('the PR head exported', async () =>
        (await fs.readdir(prSnapshotsDir(config.cacheDir)).catch((): string[] => [])).includes(runId),
      );
      await cancelInProbe(workflowId);
      await recordHistory(env, workflowId, 'test-run-pr-cancelled-early');
      await waitFor(
        'the PR snapshot removed',
        async () => !(await fs.readdir(prSnapshotsDir(config.cacheDir))).includes(runId),
      );
      await assert.rejects(fs.stat(prRepoOf(config.dataDir, runId)), { code: 'ENOENT' }, 'the PR repository');
      assert.deepEqual(statusesAt(gh, head), [
        ['pending', 'testing the notebooks…'],
        ['error', 'cancelled by a newer push or closing the pull request'],
      ]);
    });
  });

  test('a manual run: its pin on the published snapshot goes', async () => {
    const { config, upstream } = await prService(env, 'early-pin');
    const main = await upstream.commit({ 'a/A.ipynb': PASS });
    await withServiceWorker(config, async () => {
      await publish(env, config, main);
      const started = await startTestRun(env.client, config, { kind: 'manual' });
      const pins = pinDir(config.cacheDir, main);
      await waitFor('the snapshot pinned', async () => (await fs.readdir(pins).catch(() => [])).length > 0);
      await cancelInProbe(started.workflowId);
      await recordHistory(env, started.workflowId, 'test-run-manual-cancelled-early');
      assert.deepEqual(await fs.readdir(pins).catch(() => []), [], 'no pin left');
    });
  });

  test('their histories replay, with every committed one', async () => {
    assert.ok((await replayAll(await workflowBundle())) >= 2);
  });
});
