/**
 * Alerts and commit statuses end to end: a real Temporal server and workers, real git
 * repositories and kernels, and real receivers on loopback (a chat webhook, an SMTP server, a
 * GitHub API stand-in).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { notebook } from '../../../src/demo/sample-repo.js';
import { alertStore } from '../../../src/storage/alerts/alert-store.js';
import { closeHistoryStores } from '../../../src/storage/runs/history-store.js';
import { runArgs, startTestRun } from '../../../src/clients/runs/client.js';
import { querySync, signalSync } from '../../../src/clients/sync/client.js';
import { syncWorkflowId } from '../../../src/domain/sync/model.js';
import type { TestRunResult } from '../../../src/domain/runs/model.js';
import { testNotebooks } from '../../../src/workflows/runs/testNotebooks.js';
import { sandbox, waitFor } from '../../helpers/fixtures.js';
import { recordHistory, replayAll } from '../../helpers/histories.js';
import { chatReceiver, githubStandIn, smtpReceiver, statusesAt, statusesOf } from '../../helpers/receivers.js';
import { beacon, publish, runResult, withWorkers } from '../../helpers/stack.js';
import { useTestEnv, workflowBundle } from '../../helpers/temporal.js';

const env = useTestEnv();
after(() => closeHistoryStores());

let n = 0;
async function setup(extra: Record<string, string> = {}) {
  const chat = await chatReceiver();
  const smtp = await smtpReceiver();
  const gh = await githubStandIn();
  const id = `${++n}-${randomUUID().slice(0, 8)}`;
  const box = await sandbox({
    NBLC_REPO_FULL_NAME: `test/alerts-${id}`,
    NBLC_TASK_QUEUE: `alerts-${id}`,
    NBLC_NOTEBOOK_TASK_QUEUE: `alerts-nb-${id}`,
    NBLC_TEST_CONCURRENCY: '2',
    NBLC_ALERT_WEBHOOK_URL: `${chat.url}/hooks/secret`,
    NBLC_SMTP_URL: smtp.url,
    NBLC_ALERT_EMAIL_TO: 'ops@example.org',
    NBLC_GITHUB_TOKEN: 'ghp_test',
    NBLC_GITHUB_API_URL: gh.url,
    NBLC_PUBLIC_URL: 'https://nblc.example.org',
    NBLC_API_TOKEN: 'operator-token-for-the-alert-tests-0123456789',
    ...extra,
  });
  return { ...box, chat, smtp, gh };
}

const result = (runId: string) => runResult(env, runId);

/** Every byte string in a history (payloads), decoded, with the rest of it as JSON. */
function payloadText(value: unknown): string {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (v instanceof Uint8Array) out.push(Buffer.from(v).toString('utf8'));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    else if (typeof v === 'string') out.push(v);
  };
  walk(value);
  return out.join('\n');
}

const texts = (chat: { requests: Array<{ body: unknown }> }) =>
  chat.requests.map((r) => (r.body as { text: string }).text);
/** What each alert of a run did: [alert, ok]. */
const alertsOf = (run: TestRunResult) => run.alerts?.map((a) => [a.alert, a.ok]);
const PASS = notebook(['print("ok")']);
const BROKEN = notebook(['raise ValueError("broken by the merge")']);

describe('alerts and commit statuses', () => {
  test('a merge that breaks a notebook alerts once per channel and fails its commit; the fix alerts once more', async () => {
    const { config, upstream, chat, smtp, gh } = await setup({ NBLC_TEST_ON_MERGE: 'true' });
    /** Commits `files` and publishes them; the commit and the result of its merge run. */
    const merge = async (files: Record<string, string>) => {
      const sha = await upstream.commit(files);
      await publish(env, config, sha);
      return { sha, run: await result(`merge-${sha.slice(0, 12)}`) };
    };
    await withWorkers(env, config, async () => {
      const { run: first } = await merge({ 'x/One.ipynb': PASS, 'x/Two.ipynb': PASS });
      assert.equal(first.counts.passed, 2);
      assert.deepEqual(texts(chat), [], 'all new and passing: nothing to tell');

      const { sha: second, run: broken } = await merge({ 'x/Two.ipynb': BROKEN });
      assert.deepEqual(alertsOf(broken), [
        ['newly-failing', true],
        ['newly-failing', true],
      ]);
      assert.equal(chat.requests.length, 1);
      assert.match(texts(chat)[0]!, /^1 notebook newly failing: ValueError: broken by the merge in the merge run/);
      assert.match(texts(chat)[0]!, /x\/Two\.ipynb/);
      assert.match(texts(chat)[0]!, new RegExp(`commit ${second}`));
      assert.match(
        texts(chat)[0]!,
        /Report: https:\/\/nblc\.example\.org\/runs\/merge-[0-9a-f]{12}\/~\d+\.[\w-]+\/report\.html/,
      );
      assert.equal(smtp.mails.length, 1);
      assert.match(smtp.mails[0]!.subject, /newly failing/);
      const onSecond = statusesOf(gh).filter((s) => s.sha === second);
      assert.deepEqual(
        onSecond.map((s) => s.state),
        ['pending', 'failure'],
      );
      assert.equal(onSecond[1]!.description, '1 of 1 notebooks did not pass (1 failed)');
      assert.match(onSecond[1]!.targetUrl!, /^https:\/\/nblc\.example\.org\/runs\/merge-/);
      assert.deepEqual(
        statusesOf(gh).map((s) => s.context),
        ['nblc/notebooks', 'nblc/notebooks', 'nblc/notebooks', 'nblc/notebooks'],
      );

      // GitHub redelivers the beacon: the sync ignores it, nothing is run or sent again.
      await signalSync(env.client, config, beacon(`d-${second}`, second));
      await waitFor(
        'the duplicate counted',
        async () =>
          (await querySync(env.client, config))?.recentDeliveries.find((d) => d.deliveryId === `d-${second}`)
            ?.duplicates === 1,
      );
      // The same merge run once more (as a retried pass or an operator would start it): the
      // decision is the same, and every channel has it already.
      const again = await env.client.workflow.execute(testNotebooks, {
        workflowId: `test-run:merge-${second.slice(0, 12)}`,
        taskQueue: config.taskQueue,
        args: [runArgs(config, { kind: 'merge', commit: second, paths: ['x/Two.ipynb'] })],
      });
      assert.deepEqual(
        again.alerts?.map((a) => [a.alert, a.ok, a.skipped]),
        [
          ['newly-failing', true, true],
          ['newly-failing', true, true],
        ],
      );
      assert.equal(chat.requests.length, 1, 'no second alert');
      assert.equal(smtp.mails.length, 1, 'no second mail');
      await recordHistory(env, `test-run:merge-${second.slice(0, 12)}`, 'test-run-merge-alerts');
      // No URL, token or signed link ever enters a history: only alerts and channel IDs.
      const history = await env.client.workflow.getHandle(`test-run:merge-${second.slice(0, 12)}`).fetchHistory();
      const text = payloadText(history);
      assert.match(text, /newly-failing/);
      for (const secret of ['hooks/secret', 'ghp_test', 'operator-token', 'report.html', smtp.url]) {
        assert.ok(!text.includes(secret), `the history contains ${secret}`);
      }

      const { sha: third, run: fixed } = await merge({ 'x/Two.ipynb': PASS });
      assert.deepEqual(alertsOf(fixed), [
        ['fixed', true],
        ['fixed', true],
      ]);
      assert.equal(chat.requests.length, 2);
      assert.match(texts(chat)[1]!, /^1 notebook fixed in the merge run/);
      assert.equal(smtp.mails.length, 2);
      assert.deepEqual(statusesAt(gh, third), [
        ['pending', 'testing the notebooks…'],
        ['success', 'all 1 notebook passed'],
      ]);
    });
  });

  test('a channel down: the run completes, the others are alerted (one after a retry), the failure is recorded', async () => {
    const down = await chatReceiver();
    down.failWith = 503;
    const box = await setup();
    box.chat.failNext = 1; // a hiccup: its activity is retried, the other channels are not
    const { config, upstream, chat, smtp } = await setup({
      NBLC_ALERT_WEBHOOK_URL: `${box.chat.url}/hooks/up,${down.url}/hooks/down`,
    });
    const sha = await upstream.commit({ 'a/Ok.ipynb': PASS, 'a/Broken.ipynb': BROKEN });
    await withWorkers(env, config, async () => {
      await publish(env, config, sha);
      const started = await startTestRun(env.client, config, { kind: 'manual' });
      const r = await result(started.runId);
      assert.equal(r.counts.failed, 1);
      const failedAlerts = r.alerts!.filter((a) => !a.ok);
      assert.equal(failedAlerts.length, 1);
      assert.match(failedAlerts[0]!.channel, /^webhook:127\.0\.0\.1:\d+#/);
      assert.match(failedAlerts[0]!.error!, /HTTP 503/);
      assert.doesNotMatch(failedAlerts[0]!.error!, /hooks\/down/);
      assert.equal(r.alerts!.filter((a) => a.ok).length, 2, 'the other webhook and e-mail');
      assert.equal(box.chat.requests.length, 2, 'one refused, then one delivered on the retry');
      assert.equal(chat.requests.length, 0, 'this receiver is not configured here');
      assert.equal(smtp.mails.length, 1);
      assert.equal(down.requests.length, 5, 'retried with backoff, then given up');
      const report = JSON.parse(await fs.readFile(path.join(r.reportDir, 'report.json'), 'utf8')) as TestRunResult;
      assert.deepEqual(report.alerts, r.alerts, 'report.json tells it too');
      // The workflow's current details (the UI shows them), through the SDK's metadata query.
      const meta = await env.client.workflow
        .getHandle(started.workflowId)
        .query<{ currentDetails?: string }>('__temporal_workflow_metadata');
      assert.match(meta.currentDetails ?? '', /alert newly-failing to webhook:.* failed: .*HTTP 503/);
      const rec = await (await alertStore(config)).delivery(`${started.runId}:newly-failing`, failedAlerts[0]!.channel);
      assert.equal(rec?.state, 'claimed');
      assert.equal(rec?.attempts, 5);
    });
  });
});

describe('run alerts', () => {
  test('scheduled runs that cannot run are told once; the first that runs again says so', async () => {
    const { config, first, chat, smtp } = await setup();
    const scheduled = (id: string) =>
      env.client.workflow
        .execute(testNotebooks, {
          workflowId: `test-run:${id}`,
          taskQueue: config.taskQueue,
          args: [runArgs(config, { kind: 'scheduled' })],
        })
        .then(
          () => 'completed',
          (err: Error) => {
            // The reason sits at the bottom of the failure's chain (workflow ← activity ← cause).
            const messages: string[] = [];
            for (let e: Error | undefined = err; e; e = e.cause as Error | undefined) messages.push(e.message);
            return messages.join(' ← ');
          },
        );
    await withWorkers(env, config, async () => {
      // Nothing is published yet: the nightly run has nothing to test.
      assert.match(await scheduled(`sched-a-${first.slice(0, 6)}`), /published/i);
      await waitFor('the could-not-run alert', async () => texts(chat)[0], 30_000);
      assert.match(texts(chat)[0]!, /^The scheduled run .* could not run/);
      assert.equal(smtp.mails.length, 1);
      assert.match(await scheduled(`sched-b-${first.slice(0, 6)}`), /published/i);
      assert.equal(chat.requests.length, 1, 'still broken: no second alert');

      await publish(env, config, first);
      assert.equal(await scheduled(`sched-c-${first.slice(0, 6)}`), 'completed');
      assert.equal(chat.requests.length, 2);
      assert.match(texts(chat)[1]!, /^scheduled runs work again/);
    });
  });
});

describe('sync alerts', () => {
  test('a sync failing for longer than NBLC_ALERT_SYNC_AFTER is told once, and so is its recovery', async () => {
    const { config, upstream, first, chat } = await setup({ NBLC_ALERT_SYNC_AFTER: '2s' });
    // A commit that is not (yet) on the branch: its delivery fails the pass.
    await upstream.git.checkoutLocalBranch('feature');
    const feature = await upstream.commit({ 'feature.ipynb': '{}' }, 'feature work');
    await upstream.git.push('origin', 'feature');
    await withWorkers(env, config, async () => {
      await publish(env, config, first);
      await signalSync(env.client, config, beacon('early', feature));
      const failing = await waitFor('the sync-failing alert', async () => texts(chat)[0], 30_000);
      assert.match(failing, new RegExp(`^The sync of ${config.repo.fullName} has been failing since \\d{4}-`));
      assert.match(failing, /does not exist/);
      await new Promise((r) => setTimeout(r, 3000));
      assert.equal(chat.requests.length, 1, 'told once while it keeps failing');

      await upstream.git.push('origin', 'feature:main');
      await signalSync(env.client, config, beacon('early', feature)); // GitHub's "Redeliver"
      const recovered = await waitFor('the recovery alert', async () => texts(chat)[1], 30_000);
      assert.match(recovered, /works again \\?\(it had been failing since/); // Markdown-escaped for chats
      assert.equal((await querySync(env.client, config))?.lastError, null);
      await recordHistory(env, syncWorkflowId(config.repo.fullName), 'sync-alerts');
    });
    assert.equal(chat.requests.length, 2);
  });
});

describe('determinism', () => {
  test('histories with alerts (fixtures and this run) replay against the current workflow code', async () => {
    assert.ok((await replayAll(await workflowBundle())) >= 1);
  });
});
