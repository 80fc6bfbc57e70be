/** `nblc alerts test` as an operator runs it: a child process, real local receivers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort } from '../../src/process/embedded.js';
import { runNblcAsync } from '../helpers/processes.js';
import { chatReceiver, smtpReceiver } from '../helpers/receivers.js';
import { tempDir } from '../helpers/fixtures.js';

const base = async () => ({
  NBLC_REPO_URL: '/nonexistent.git',
  NBLC_REPO_FULL_NAME: 'org/notebooks',
  NBLC_DATA_DIR: await tempDir('nblc-alerts-cli-'),
});

test('alerts test sends to every channel and exits 0 when all took it', async () => {
  const chat = await chatReceiver();
  const smtp = await smtpReceiver();
  const r = await runNblcAsync(['alerts', 'test'], {
    ...(await base()),
    NBLC_ALERT_WEBHOOK_URL: `${chat.url}/hooks/one`,
    NBLC_SMTP_URL: smtp.url,
    NBLC_ALERT_EMAIL_TO: 'ops@example.org, oncall@example.org',
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^sent {4}webhook:127\.0\.0\.1:\d+#[0-9a-f]{8}$/m);
  assert.match(r.stdout, /^sent {4}email:ops@example\.org,oncall@example\.org$/m);
  assert.equal(chat.requests.length, 1);
  assert.match((chat.requests[0]!.body as { text: string }).text, /^Test message from nblc/);
  assert.equal(smtp.mails.length, 1);
  assert.deepEqual(smtp.mails[0]!.to, ['ops@example.org', 'oncall@example.org']);
});

test('alerts test exits 1 naming the channel that failed, without its secret URL; the others still get it', async () => {
  const chat = await chatReceiver();
  const closed = await freePort();
  const r = await runNblcAsync(['alerts', 'test'], {
    ...(await base()),
    NBLC_ALERT_WEBHOOK_URL: `${chat.url}/hooks/ok,http://127.0.0.1:${closed}/hooks/secret-token-abc`,
  });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`^FAILED  webhook:127\\.0\\.0\\.1:${closed}#[0-9a-f]{8}: .*ECONNREFUSED`, 'm'));
  assert.match(r.stderr, new RegExp(`not delivered to webhook:127\\.0\\.0\\.1:${closed}#`));
  assert.doesNotMatch(r.stdout + r.stderr, /secret-token-abc/);
  assert.equal(chat.requests.length, 1);
});

test('alerts test exits 1 when nothing is configured, or e-mail has no recipients', async () => {
  const none = await runNblcAsync(['alerts', 'test'], await base());
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no alert channel is configured/);
  const smtp = await smtpReceiver();
  const noRecipients = await runNblcAsync(['alerts', 'test'], { ...(await base()), NBLC_SMTP_URL: smtp.url });
  assert.equal(noRecipients.code, 1);
  assert.match(noRecipients.stderr, /NBLC_ALERT_EMAIL_TO is empty/);
});
