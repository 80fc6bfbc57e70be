/**
 * `nblc alerts test`: sends a test message to every configured alert channel from this process
 * (run it where the worker runs, with its configuration) and exits 1 naming any that failed, so
 * an operator finds a wrong webhook URL or SMTP password before the first real alert is lost.
 */
import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { alertChannels } from '../activities/alerts/channels.js';
import { loadConfig } from '../platform/config.js';
import { renderAlert } from '../domain/alerts/model.js';

export function registerAlerts(program: Command): void {
  const alerts = program.command('alerts').description('the alert channels (NBLC_ALERT_WEBHOOK_URL, NBLC_SMTP_URL)');
  alerts
    .command('test')
    .description('send a test message to every configured channel; exit 1 naming any that failed')
    .action(async () => {
      const config = loadConfig();
      const problems: string[] = [];
      if (config.alerts.smtpUrl && config.alerts.emailTo.length === 0) {
        problems.push('e-mail: NBLC_SMTP_URL is set but NBLC_ALERT_EMAIL_TO is empty, so no e-mail is sent');
      }
      const channels = alertChannels(config);
      if (channels.length === 0) {
        problems.push('no alert channel is configured: set NBLC_ALERT_WEBHOOK_URL and/or NBLC_SMTP_URL');
      }
      const message = renderAlert({
        id: 'run-recovered',
        title: `Test message from nblc on ${hostname()}: alerts reach this channel`,
        groups: [],
        note: 'Sent by `nblc alerts test`; nothing is wrong.',
      });
      const outcomes = await Promise.all(
        channels.map(async (c) => {
          try {
            await c.send(message, `test-${randomBytes(6).toString('hex')}`);
            return { id: c.id, error: null };
          } catch (err) {
            return { id: c.id, error: (err as Error).message };
          }
        }),
      );
      for (const o of outcomes) console.log(o.error ? `FAILED  ${o.id}: ${o.error}` : `sent    ${o.id}`);
      const failed = outcomes.filter((o) => o.error).map((o) => o.id);
      if (failed.length) problems.push(`not delivered to ${failed.join(', ')}`);
      for (const p of problems) console.error(`nblc: ${p}`);
      if (problems.length) process.exitCode = 1;
    });
}
