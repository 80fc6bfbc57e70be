/**
 * Pull-request runs end to end: signed `pull_request` deliveries to the real HTTP route, a real
 * Temporal server and workers, a real upstream repository with `refs/pull/<n>/head`, real kernels,
 * and a GitHub API stand-in for the commit statuses.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { prSnapshotsDir } from '../../../src/activities/runs/pull-requests.js';
import { createApp } from '../../../src/api/app.js';
import { notebook } from '../../../src/demo/sample-repo.js';
import { closeHistoryStores, historyStore } from '../../../src/storage/runs/history-store.js';
import { getRun } from '../../../src/clients/runs/client.js';
import { waitFor } from '../../helpers/fixtures.js';
import { recordHistory } from '../../helpers/histories.js';
import { chatReceiver, statusesAt, statusesOf } from '../../helpers/receivers.js';
import { publish, runResult, withWorkers, pathStatuses } from '../../helpers/stack.js';
import { useTestEnv } from '../../helpers/temporal.js';
import { deliverWebhook } from '../../helpers/webhooks.js';
import { prEvent, prService, pushPr } from '../../helpers/pull-requests.js';
import { gitOut, snapshotNames } from '../../helpers/activities.js';

const env = useTestEnv();
after(() => closeHistoryStores());

const PASS = notebook(['print("ok")']);
const BROKEN = notebook(['raise ValueError("broken in the pull request")']);
const SLOW = notebook(['import time\ntime.sleep(120)']);

async function setup() {
  const chat = await chatReceiver();
  const service = await prService(env, 'pr', {
    NBLC_TEST_CONCURRENCY: '2',
    NBLC_ALERT_WEBHOOK_URL: `${chat.url}/hooks/x`,
    NBLC_PUBLIC_URL: 'https://nblc.example.org',
    NBLC_API_TOKEN: 'operator-token-for-the-alert-tests-0123456789',
  });
  return { ...service, chat };
}

async function deliver(app: ReturnType<typeof createApp>, payload: unknown) {
  const res = await deliverWebhook(app, payload, { event: 'pull_request' });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const result = (runId: string) => runResult(env, runId);

const statusName = async (workflowId: string) =>
  (await env.client.workflow.getHandle(workflowId).describe()).status.name;

describe('pull-request runs', () => {
  test('a PR that changes a helper module runs the notebooks that import it, saying why; the rest stay out', async () => {
    const { config, upstream, gh, app } = await setup();
    const USES = notebook(["import sys\nsys.path.append('../lib')\nimport helper\nprint(helper.VALUE)"]);
    const main = await upstream.commit({ 'lib/helper.py': 'VALUE = 1\n', 'y/Uses.ipynb': USES, 'z/Other.ipynb': PASS });
    await withWorkers(env, config, async () => {
      await publish(env, config, main);
      const head = await pushPr(upstream, 11, { 'lib/helper.py': 'VALUE = 2\n' });
      const started = await deliver(app, prEvent(config.repo.fullName, 11, 'opened', head));
      assert.equal(started.status, 202, JSON.stringify(started.body));
      const r = await result(`pr-11-${head.slice(0, 12)}`);
      assert.deepEqual(
        r.notebooks.map((n) => [n.path, n.status, n.selectedBecause]),
        [['y/Uses.ipynb', 'passed', ['imports lib/helper.py']]],
      );
      assert.deepEqual(statusesAt(gh, head).at(-1), ['success', 'all 1 notebook passed']);
    });
  });

  test('a PR that breaks a notebook: its changed notebooks run at its head, failure status, nothing published', async () => {
    const { config, upstream, gh, chat, app } = await setup();
    const main = await upstream.commit({ 'x/One.ipynb': PASS, 'x/Two.ipynb': PASS });
    await withWorkers(env, config, async () => {
      await publish(env, config, main);
      const before = await snapshotNames(config.cacheDir);
      const head = await pushPr(upstream, 7, { 'x/Two.ipynb': BROKEN, 'x/New.ipynb': PASS });

      const started = await deliver(app, prEvent(config.repo.fullName, 7, 'opened', head));
      assert.equal(started.status, 202, JSON.stringify(started.body));
      assert.equal(started.body.workflowId, `test-run:pr-7-${head.slice(0, 12)}`);
      const r = await result(`pr-7-${head.slice(0, 12)}`);
      assert.equal(r.kind, 'pr');
      assert.equal(r.commit, head);
      assert.deepEqual(
        pathStatuses(r),
        [
          ['x/New.ipynb', 'passed'],
          ['x/Two.ipynb', 'failed'],
        ],
        'only what the PR changes',
      );
      assert.deepEqual(
        statusesOf(gh).map((s) => [s.sha, s.state]),
        [
          [head, 'pending'],
          [head, 'failure'],
        ],
        'merge runs are off here: only the PR head gets statuses',
      );
      const final = statusesOf(gh).at(-1)!;
      assert.equal(final.description, '1 of 2 notebooks did not pass (1 failed)');
      assert.match(final.targetUrl ?? '', /^https:\/\/nblc\.example\.org\/runs\/pr-7-/);

      // Users' cache: unchanged, the PR's tree is gone, its results are not in the history.
      assert.equal(path.basename(await fs.readlink(path.join(config.cacheDir, 'current'))), main);
      assert.deepEqual(await snapshotNames(config.cacheDir), before);
      assert.deepEqual(await fs.readdir(prSnapshotsDir(config.cacheDir)), []);
      assert.equal((await fs.stat(prSnapshotsDir(config.cacheDir))).mode & 0o777, 0o700);
      assert.equal(await (await historyStore(config)).history('x/New.ipynb', 5), null);
      const refs = await gitOut(path.join(config.dataDir, 'repo.git'), ['for-each-ref', '--format=%(refname)']);
      assert.doesNotMatch(refs.toString(), /refs\/nblc\/pr\/7\/head/, "the PR's head ref is dropped with its run");
      assert.equal(chat.requests.length, 0, 'pull requests alert through their status only');
      await recordHistory(env, `test-run:pr-7-${head.slice(0, 12)}`, 'test-run-pr');
    });
  });

  test('a second push cancels the run of the first; closing the PR cancels its run; forks are not run', async () => {
    const { config, upstream, gh, app } = await setup();
    const main = await upstream.commit({ 'a/A.ipynb': PASS });
    await withWorkers(env, config, async () => {
      await publish(env, config, main);
      const slow = await pushPr(upstream, 8, { 'a/Slow.ipynb': SLOW });
      const first = (await deliver(app, prEvent(config.repo.fullName, 8, 'opened', slow))).body.workflowId as string;
      await waitFor('the first run executing', async () => {
        const p = (await getRun(env.client, first))?.progress;
        return p?.running.length ? p : null;
      });
      const fast = await pushPr(upstream, 8, { 'a/Slow.ipynb': PASS });
      const second = await deliver(app, prEvent(config.repo.fullName, 8, 'synchronize', fast));
      assert.deepEqual(second.body.cancelled, [first]);
      await waitFor('the first run cancelled', async () => (await statusName(first)) === 'CANCELLED');
      assert.deepEqual(statusesAt(gh, slow), [
        ['pending', 'testing the notebooks…'],
        ['error', 'cancelled by a newer push or closing the pull request'],
      ]);
      const r = await result(`pr-8-${fast.slice(0, 12)}`);
      assert.equal(r.counts.passed, 1);
      assert.deepEqual(
        statusesOf(gh)
          .filter((s) => s.sha === fast)
          .map((s) => s.state),
        ['pending', 'success'],
      );

      const again = await pushPr(upstream, 8, { 'a/Slow.ipynb': SLOW });
      const third = (await deliver(app, prEvent(config.repo.fullName, 8, 'synchronize', again))).body
        .workflowId as string;
      await waitFor('the third run executing', async () => (await getRun(env.client, third))?.progress?.running.length);
      const closed = await deliver(app, prEvent(config.repo.fullName, 8, 'closed', again));
      assert.deepEqual(closed.body.cancelled, [third]);
      await waitFor('the closed PR run cancelled', async () => (await statusName(third)) === 'CANCELLED');
      await waitFor(
        'PR snapshots removed',
        async () => (await fs.readdir(prSnapshotsDir(config.cacheDir))).length === 0,
      );

      const forked = 'e'.repeat(40);
      const fork = await deliver(app, prEvent(config.repo.fullName, 9, 'opened', forked, 'someone/fork'));
      const f = await result(`pr-9-${forked.slice(0, 12)}`);
      assert.equal(fork.status, 202);
      assert.equal(f.counts.total, 0);
      const [status] = statusesOf(gh).filter((s) => s.sha === forked);
      assert.equal(status!.state, 'error');
      assert.match(status!.description, /not run: pull requests from forks/);

      const other = await deliver(app, prEvent(config.repo.fullName, 10, 'opened', fast, undefined, 'develop'));
      assert.match(String(other.body.ignored), /into develop, not main/);
      const labeled = await deliver(app, prEvent(config.repo.fullName, 8, 'labeled', fast));
      assert.match(String(labeled.body.ignored), /action labeled/);
    });
  });
});
