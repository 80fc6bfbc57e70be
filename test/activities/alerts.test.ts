/**
 * The alert and commit-status activities against real local receivers: a chat webhook, an SMTP
 * server, a GitHub API stand-in; deliveries recorded in a real (SQLite) history database.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { createAlertActivities } from '../../src/activities/alerts/index.js';
import { writeRunRecord } from '../../src/activities/runs/run-record.js';
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

  test('what notebooks wrote reaches the chat escaped: no @channel, no <!here>, no link or Markdown', async () => {
    const { chat, acts } = await setup();
    const [webhook] = (await runActivity(acts.planRunAlerts, { runId: 'merge-z', kind: 'merge', error: 'x' })).channels;
    // An error whose name and value a notebook chose, and a notebook path its author chose.
    const hostile: Alert = {
      ...alert,
      title: '1 notebook newly failing: @channel <!here> *Err*',
      groups: [
        { heading: '@here [click](http://evil.example) `x` _y_', notebooks: ['@all/<!channel>.ipynb'], more: 0 },
      ],
    };
    await runActivity(acts.deliverAlert, { runId: 'merge-z', channel: webhook!, alert: hostile });
    const body = chat.requests.at(-1)!.body as { text: string; blocks: unknown[] };
    for (const sent of [body.text, JSON.stringify(body.blocks)]) {
      assert.doesNotMatch(sent, /@(channel|here|all)\b/, sent);
      assert.doesNotMatch(sent, /<!(here|channel)/, sent);
    }
    assert.match(body.text, /\\\[click\\\]\\\(http:\/\/evil\.example\\\)/);
    assert.match(body.text, /\\`x\\` \\_y\\_/);
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

/** What the worker recorded of a run (run-record.ts) and its notebooks' results, as runNotebook writes them. */
async function ran(resultsDir: string, runId: string, statuses: Record<string, string> | null) {
  const discovered = statuses ? Object.keys(statuses) : undefined;
  await writeRunRecord(resultsDir, runId, { commit: SHA, source: 'snapshot', ...(discovered ? { discovered } : {}) });
  for (const [nb, status] of Object.entries(statuses ?? {})) {
    await fs.mkdir(path.join(resultsDir, runId, 'results'), { recursive: true });
    await fs.writeFile(path.join(resultsDir, runId, 'results', `${nb}.json`), JSON.stringify({ path: nb, status }));
  }
}

describe('setRunStatus', () => {
  test('octokit sets the status on the commit with its context, counts and the signed report link', async () => {
    const { gh, acts, config } = await setup();
    await ran(config.resultsDir, 'merge-x', { 'a.ipynb': 'passed', 'b.ipynb': 'failed', 'c.ipynb': 'passed' });
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

  test('the state is what ran, whatever the input says: results on disk, not the counts given', async () => {
    const { gh, acts, config } = await setup();
    await ran(config.resultsDir, 'lie', { 'a.ipynb': 'passed', 'b.ipynb': 'timed_out' });
    await runActivity(acts.setRunStatus, {
      runId: 'lie',
      commit: SHA,
      state: 'success',
      counts: { total: 2, passed: 2 },
    });
    // A carry with statuses and no notebooks: nothing discovered on the worker, so no `success`.
    await ran(config.resultsDir, 'nothing', null);
    await runActivity(acts.setRunStatus, {
      runId: 'nothing',
      commit: SHA,
      state: 'success',
      counts: { total: 0, passed: 0 },
    });
    // Discovery on the worker found nothing to test: that one is a success.
    await ran(config.resultsDir, 'empty', {});
    await runActivity(acts.setRunStatus, { runId: 'empty', commit: SHA, state: 'failure' });
    assert.deepEqual(
      statusesOf(gh).map((s) => [s.state, s.description]),
      [
        ['failure', '1 of 2 notebooks did not pass (1 timed out)'],
        ['error', 'nblc cannot tell which notebooks ran: start the run again'],
        ['success', 'no notebooks to test'],
      ],
    );
  });

  test('a status links for NBLC_STATUS_LINK_TTL (default 4 h), or with 0 to the report behind the login', async () => {
    const { gh, acts, config } = await setup();
    await ran(config.resultsDir, 'merge-y', { 'a.ipynb': 'passed' });
    await runActivity(acts.setRunStatus, { runId: 'merge-y', commit: SHA, state: 'success' });
    const expires = Number(/\/~(\d+)\./.exec(statusesOf(gh)[0]!.targetUrl ?? '')?.[1]);
    const hours = (expires * 1000 - Date.now()) / 3_600_000;
    assert.ok(hours > 3.9 && hours <= 4, `the link is valid ${hours} h`);
    const dash = await setup({ NBLC_STATUS_LINK_TTL: '0s' });
    await ran(dash.config.resultsDir, 'merge-y', { 'a.ipynb': 'passed' });
    await runActivity(dash.acts.setRunStatus, { runId: 'merge-y', commit: SHA, state: 'success' });
    assert.equal(statusesOf(dash.gh)[0]!.targetUrl, 'https://nblc.example.org/runs/merge-y/report.html');
  });

  test('a token GitHub refuses is a non-retryable failure naming the permission; no token: off', async () => {
    const { gh, acts, config } = await setup();
    await ran(config.resultsDir, 'r', null);
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
    const offConfig = testConfig(await tempDir(), '/nonexistent.git');
    await ran(offConfig.resultsDir, 'r', null);
    const off = createAlertActivities(offConfig);
    assert.equal(await runActivity(off.setRunStatus, { runId: 'r', commit: SHA, state: 'pending' }), false);
  });
});
