/**
 * A fork's pull request (issue 21): its objects are fetched into a repository of the run's own,
 * never into the private clone that publishes snapshots, and that repository is gone when the
 * run ends, passed or cancelled; its removal may run twice. Real Temporal server and workers,
 * real git repositories, real kernels, signed webhooks.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { createPullRequestActivities } from '../../../src/activities/runs/pull-requests.js';
import { prRepoOf, prReposDir } from '../../../src/activities/runs/pr-repo.js';
import { createApp } from '../../../src/api/app.js';
import { notebook } from '../../../src/demo/sample-repo.js';
import { closeHistoryStores } from '../../../src/storage/runs/history-store.js';
import { createLogger } from '../../../src/platform/logger.js';
import { getRun } from '../../../src/clients/runs/client.js';
import { sandbox, waitFor } from '../../helpers/fixtures.js';
import { githubStandIn } from '../../helpers/receivers.js';
import { publish, runResult, withWorkers } from '../../helpers/stack.js';
import { useTestEnv } from '../../helpers/temporal.js';
import { deliverWebhook } from '../../helpers/webhooks.js';
import { gitOut } from '../../helpers/activities.js';
import { prEvent, pushPr } from '../../helpers/pull-requests.js';

const env = useTestEnv();
after(() => closeHistoryStores());

const PASS = notebook(['print("ok")']);
const SLOW = notebook(['import time\ntime.sleep(300)']);
const FORK = 'someone/fork';

async function setup() {
  const gh = await githubStandIn();
  const id = randomUUID().slice(0, 8);
  const box = await sandbox({
    NBLC_REPO_FULL_NAME: `test/fork-${id}`,
    NBLC_TASK_QUEUE: `fork-${id}`,
    NBLC_NOTEBOOK_TASK_QUEUE: `fork-nb-${id}`,
    NBLC_PR_FROM_FORKS: 'true',
    NBLC_GITHUB_TOKEN: 'ghp_test',
    NBLC_GITHUB_API_URL: gh.url,
    TEMPORAL_NAMESPACE: env.namespace ?? 'default',
  });
  const app = createApp({ client: env.client, config: box.config, logger: createLogger('silent') });
  const clone = path.join(box.config.dataDir, 'repo.git');
  /** Whether `object` is in `gitDir` (git cat-file -e). */
  const has = (gitDir: string, object: string) =>
    gitOut(gitDir, ['cat-file', '-e', object]).then(
      () => true,
      () => false,
    );
  return { ...box, app, clone, has };
}

/** A fork's commit as GitHub shows it to the base repository, with a blob found nowhere else. */
async function forkPr(upstream: Awaited<ReturnType<typeof setup>>['upstream'], n: number, nb: string) {
  const marker = `fork-only ${randomUUID()}`;
  const head = await pushPr(upstream, n, { 'f/Fork.ipynb': nb, 'f/only-in-fork.txt': marker });
  const blob = (await gitOut(upstream.url, ['rev-parse', `${head}:f/only-in-fork.txt`])).toString().trim();
  return { head, blob };
}

const deliver = (app: ReturnType<typeof createApp>, payload: unknown) =>
  deliverWebhook(app, payload, { event: 'pull_request' });

/** A service with main published, then a fork's pull request #n of `nb`; `fn` runs with its workers. */
async function withForkPr(
  n: number,
  nb: string,
  fn: (pr: Awaited<ReturnType<typeof setup>> & { main: string; head: string; blob: string }) => Promise<void>,
) {
  const service = await setup();
  const main = await service.upstream.commit({ 'a/A.ipynb': PASS });
  await withWorkers(env, service.config, async () => {
    await publish(env, service.config, main);
    await fn({ ...service, main, ...(await forkPr(service.upstream, n, nb)) });
  });
}

describe("a fork's pull request", () => {
  test('passed: the clone never holds its objects, and its own repository is gone', async () => {
    await withForkPr(41, PASS, async ({ config, app, clone, has, main, head, blob }) => {
      assert.equal((await deliver(app, prEvent(config.repo.fullName, 41, 'opened', head, FORK))).status, 202);
      const r = await runResult(env, `pr-41-${head.slice(0, 12)}`);
      assert.equal(r.commit, head);
      assert.equal(r.counts.passed, 1, 'the fork was tested');
      assert.equal(await has(clone, head), false, "the fork's commit is not in the clone");
      assert.equal(await has(clone, blob), false, "the fork's blob is not in the clone");
      assert.equal(await has(clone, main), true, 'the clone itself is there (the check can succeed)');
      assert.deepEqual(await fs.readdir(prReposDir(config.dataDir)), [], 'no pull-request repository left');
    });
  });

  test('cancelled by closing: the repository held its objects while the run ran, and is gone after', async () => {
    await withForkPr(42, SLOW, async ({ config, app, clone, has, head, blob }) => {
      const runId = `pr-42-${head.slice(0, 12)}`;
      await deliver(app, prEvent(config.repo.fullName, 42, 'opened', head, FORK));
      await waitFor('the fork run executing', async () => (await getRun(env.client, runId))?.progress?.running.length);
      const own = prRepoOf(config.dataDir, runId);
      assert.equal(await has(own, blob), true, "the run's repository has the fork's objects");
      assert.equal(await has(clone, blob), false, 'the clone does not');
      await deliver(app, prEvent(config.repo.fullName, 42, 'closed', head, FORK));
      await waitFor(
        'the fork run cancelled',
        async () => (await env.client.workflow.getHandle(`test-run:${runId}`).describe()).status.name === 'CANCELLED',
      );
      await waitFor('its repository removed', async () => (await fs.readdir(prReposDir(config.dataDir))).length === 0);
      assert.equal(await has(clone, head), false);
      assert.equal(await has(clone, blob), false);
    });
  });

  test('preparing and releasing twice (an activity retried): the second release finds nothing and fails not', async () => {
    const { config, upstream, clone, has } = await setup();
    await upstream.commit({ 'a/A.ipynb': PASS });
    const { head, blob } = await forkPr(upstream, 43, PASS);
    const acts = createPullRequestActivities(config);
    const mock = new MockActivityEnvironment();
    const input = { runId: 'pr-43-twice', number: 43, head, fork: true };
    const first = await mock.run(acts.preparePullRequest, input);
    const second = await mock.run(acts.preparePullRequest, input);
    assert.deepEqual(second, first, 'a repeated attempt prepares the same snapshot');
    assert.equal(await has(prRepoOf(config.dataDir, 'pr-43-twice'), blob), true);
    for (let i = 0; i < 2; i++) await mock.run(acts.releasePullRequest, { runId: 'pr-43-twice', number: 43, head });
    assert.deepEqual(await fs.readdir(prReposDir(config.dataDir)), []);
    assert.equal(await has(clone, blob), false);
  });
});
