/**
 * The alert and commit-status activities against real local receivers: a chat webhook, an SMTP
 * server, a GitHub API stand-in; deliveries recorded in a real (SQLite) history database.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createAlertActivities } from '../../src/activities/alerts/index.js';
import { alertStore } from '../../src/storage/alerts/alert-store.js';
import { freePort } from '../../src/process/embedded.js';
import { closeHistoryStores } from '../../src/storage/runs/history-store.js';
import { NOTIFY_FAILURES, type Alert } from '../../src/domain/alerts/model.js';
import { expectFailure, runActivity } from '../helpers/activities.js';
import { tempDir, testConfig } from '../helpers/fixtures.js';
import { chatReceiver, githubStandIn, smtpReceiver, statusesOf } from '../helpers/receivers.js';

after(() => closeHistoryStores());

const SHA = 'c'.repeat(40);
const alert: Alert = {
  id: 'newly-failing',
  title: '1 notebook newly failing: ValueError: boom in the merge run merge-x of cccccccccccc',
  run: { runId: 'merge-x', kind: 'merge', commit: SHA },
  groups: [{ heading: 'ValueError: boom', notebooks: ['a.ipynb'], more: 0 }],
};

async function setup(env: Record<string, string> = {}) {
  const chat = await chatReceiver();
  const smtp = await smtpReceiver();
  const gh = await githubStandIn();
  const dir = await tempDir('nblc-alerts-');
  const config = testConfig(dir, '/nonexistent.git', {
    NBLC_ALERT_WEBHOOK_URL: `${chat.url}/hooks/T000/B000/very-secret-path`,
    NBLC_SMTP_URL: smtp.url,
    NBLC_ALERT_EMAIL_TO: 'ops@example.org',
    NBLC_GITHUB_TOKEN: 'ghp_test_token_0123456789',
    NBLC_GITHUB_API_URL: gh.url,
    NBLC_PUBLIC_URL: 'https://nblc.example.org/',
    NBLC_API_TOKEN: 'operator-token-for-the-alert-tests-0123456789',
    ...env,
  });
  return { chat, smtp, gh, config, acts: createAlertActivities(config) };
}

describe('deliverAlert', () => {
  test('sends once per channel: a second attempt of the same alert skips the channels that have it', async () => {
    const { chat, smtp, config, acts } = await setup();
    const { channels } = await runActivity(acts.planRunAlerts, { runId: 'merge-x', kind: 'merge', error: 'boom' });
    assert.equal(channels.length, 2);
    for (let i = 0; i < 2; i++) {
      for (const channel of channels) {
        const r = await runActivity(acts.deliverAlert, { runId: 'merge-x', channel, alert });
        assert.equal(r.skipped, i === 1);
      }
    }
    assert.equal(chat.requests.length, 1);
    const body = chat.requests[0]!.body as { text: string; blocks: unknown[] };
    assert.match(body.text, /newly failing/);
    assert.match(body.text, /Report: https:\/\/nblc\.example\.org\/runs\/merge-x\/~\d+\.[\w-]{43}\/report\.html/);
    assert.ok(Array.isArray(body.blocks));
    assert.equal(chat.requests[0]!.path, '/hooks/T000/B000/very-secret-path');
    assert.equal(smtp.mails.length, 1);
    assert.deepEqual(smtp.mails[0]!.to, ['ops@example.org']);
    assert.match(smtp.mails[0]!.subject, /^\[nblc\] 1 notebook newly failing/);
    assert.match(smtp.mails[0]!.messageId, /<merge-x:newly-failing@nblc>/);
    const store = await alertStore(config);
    assert.equal((await store.delivery('merge-x:newly-failing', channels[0]!))?.state, 'sent');
  });

  test('a channel that is down fails retryably, with its error recorded and no credential in it', async () => {
    const { chat, config, acts } = await setup();
    chat.failWith = 503;
    const [webhook] = (await runActivity(acts.planRunAlerts, { runId: 'merge-y', kind: 'merge', error: 'x' })).channels;
    assert.match(webhook!, /^webhook:127\.0\.0\.1:\d+#[0-9a-f]{8}$/);
    const failure = await expectFailure(
      runActivity(acts.deliverAlert, { runId: 'merge-y', channel: webhook!, alert }),
      {
        type: NOTIFY_FAILURES.channelFailed,
        nonRetryable: false,
        message: /HTTP 503/,
      },
    );
    assert.doesNotMatch(failure.message, /very-secret-path/);
    const rec = await (await alertStore(config)).delivery('merge-y:newly-failing', webhook!);
    assert.equal(rec?.state, 'claimed');
    assert.match(rec?.error ?? '', /HTTP 503/);
    // It comes back: the retry sends it.
    chat.failWith = null;
    assert.deepEqual(await runActivity(acts.deliverAlert, { runId: 'merge-y', channel: webhook!, alert }), {
      skipped: false,
    });
  });

  test('a refused connection names the cause, never the URL path', async () => {
    const closed = await freePort(); // nothing listens there
    const { config } = await setup({ NBLC_ALERT_WEBHOOK_URL: `http://127.0.0.1:${closed}/hooks/secret-path-xyz` });
    const acts = createAlertActivities(config);
    const [webhook] = (await runActivity(acts.planRunAlerts, { runId: 'r', kind: 'merge', error: 'x' })).channels;
    const failure = await expectFailure(runActivity(acts.deliverAlert, { runId: 'r', channel: webhook!, alert }), {
      type: NOTIFY_FAILURES.channelFailed,
      nonRetryable: false,
      message: /ECONNREFUSED/,
    });
    assert.doesNotMatch(failure.message, /secret-path-xyz/);
  });
});

describe('planRunAlerts', () => {
  test('a kind of run that cannot run is told once; its retry decides the same; a good run recovers', async () => {
    const { acts } = await setup();
    const broken = () => runActivity(acts.planRunAlerts, { runId: 's-1', kind: 'scheduled', error: 'no snapshot' });
    assert.deepEqual(
      (await broken()).alerts.map((a) => a.id),
      ['run-error'],
    );
    assert.deepEqual(
      (await broken()).alerts.map((a) => a.id),
      ['run-error'],
      'a retry',
    );
    const again = await runActivity(acts.planRunAlerts, { runId: 's-2', kind: 'scheduled', error: 'no snapshot' });
    assert.deepEqual(again.alerts, [], 'still broken: nothing new');
    const manual = await runActivity(acts.planRunAlerts, { runId: 'm-1', kind: 'manual', error: 'BadCommit' });
    assert.deepEqual(manual.alerts, [], "a manual run that cannot run is the operator's to see");
  });

  test('no channel configured: nothing to decide', async () => {
    const dir = await tempDir('nblc-alerts-');
    const acts = createAlertActivities(testConfig(dir, '/nonexistent.git'));
    assert.deepEqual(await runActivity(acts.planRunAlerts, { runId: 'r', kind: 'merge', error: 'x' }), {
      alerts: [],
      channels: [],
    });
  });
});

describe('setRunStatus', () => {
  test('octokit sets the status on the commit with its context, counts and the signed report link', async () => {
    const { gh, acts } = await setup();
    const counts = { total: 3, passed: 2, failed: 1 };
    assert.equal(
      await runActivity(acts.setRunStatus, { runId: 'merge-x', commit: SHA, state: 'failure', counts }),
      true,
    );
    const [status] = statusesOf(gh);
    assert.equal(status!.sha, SHA);
    assert.equal(status!.state, 'failure');
    assert.equal(status!.context, 'nblc/notebooks');
    assert.equal(status!.description, '1 of 3 notebooks did not pass (1 failed)');
    assert.match(status!.targetUrl ?? '', /^https:\/\/nblc\.example\.org\/runs\/merge-x\/~/);
    assert.equal(gh.requests[0]!.path, `/repos/astro-datalab/notebooks-latest/statuses/${SHA}`);
    assert.equal(gh.requests[0]!.headers.authorization, 'token ghp_test_token_0123456789');
  });

  test('a token GitHub refuses is a non-retryable failure naming the permission; no token: off', async () => {
    const { gh, acts } = await setup();
    gh.failWith = 403;
    await expectFailure(runActivity(acts.setRunStatus, { runId: 'r', commit: SHA, state: 'pending' }), {
      type: NOTIFY_FAILURES.githubRejected,
      nonRetryable: true,
      message: /Commit statuses: write/,
    });
    gh.failWith = 502;
    await expectFailure(runActivity(acts.setRunStatus, { runId: 'r', commit: SHA, state: 'pending' }), {
      type: NOTIFY_FAILURES.githubUnavailable,
      nonRetryable: false,
    });
    const off = createAlertActivities(testConfig(await tempDir(), '/nonexistent.git'));
    assert.equal(await runActivity(off.setRunStatus, { runId: 'r', commit: SHA, state: 'pending' }), false);
  });
});
