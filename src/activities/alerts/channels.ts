/**
 * Where alerts go: Slack-compatible incoming webhooks (`{text, blocks}`, which Mattermost,
 * Rocket.Chat and Teams connectors accept too) and e-mail over SMTP (nodemailer). Their URLs
 * carry credentials, so a channel is known outside this file by an ID that does not reveal them
 * (`webhook:<host>#<hash>`, `email:<recipients>`), and every error is scrubbed before it can
 * reach a log, a result or a workflow history.
 */
import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { Config } from '../../platform/config.js';
import { redact, Secret } from '../../platform/secret.js';
import type { AlertMessage } from '../../domain/alerts/model.js';

/** One send may take this long; the activity's retries do the rest. */
export const SEND_TIMEOUT_MS = 15_000;

export interface Channel {
  /** Stable and credential-free: the delivery records and the run's status name it. */
  id: string;
  /** `messageId`: the alert's idempotency key, as a Message-ID for e-mail. */
  send(message: AlertMessage, messageId: string): Promise<void>;
}

export type AlertsConfig = Pick<Config, 'alerts'>;

export function alertChannels(cfg: AlertsConfig): Channel[] {
  const channels: Channel[] = cfg.alerts.webhookUrls.map(webhookChannel);
  if (cfg.alerts.smtpUrl && cfg.alerts.emailTo.length)
    channels.push(emailChannel(cfg.alerts.smtpUrl, cfg.alerts.emailTo, cfg.alerts.emailFrom));
  return channels;
}

function webhookChannel(url: Secret): Channel {
  let host = 'webhook';
  try {
    host = new URL(url.reveal()).host;
  } catch {
    // the config checked the scheme; a URL that does not parse fails at send time
  }
  const hash = createHash('sha256').update(url.reveal()).digest('hex').slice(0, 8);
  return {
    id: `webhook:${host}#${hash}`,
    async send(message) {
      try {
        const res = await fetch(url.reveal(), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          // Markdown-escaped: paths and errors come from notebooks, which must not @channel anyone.
          body: JSON.stringify({ text: message.markdown, blocks: message.blocks }),
          signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
        });
        const body = await res.text().catch(() => '');
        if (!res.ok)
          throw new ChannelError(`HTTP ${res.status}: ${body.slice(0, 200)}`, res.status < 500 && res.status !== 429);
      } catch (err) {
        throw scrubbed(err, [url]);
      }
    },
  };
}

function emailChannel(smtpUrl: Secret, to: string[], from: string): Channel {
  return {
    id: `email:${to.join(',')}`,
    async send(message, messageId) {
      const transport = nodemailer.createTransport({
        url: smtpUrl.reveal(),
        connectionTimeout: SEND_TIMEOUT_MS,
        greetingTimeout: SEND_TIMEOUT_MS,
        socketTimeout: SEND_TIMEOUT_MS,
      });
      try {
        await transport.sendMail({
          from,
          to,
          subject: message.subject,
          text: message.text,
          // Mail clients and servers drop a second message with the same ID.
          messageId: `<${messageId.replace(/[^A-Za-z0-9._:-]/g, '-')}@nblc>`,
        });
      } catch (err) {
        throw scrubbed(err, [smtpUrl]);
      } finally {
        transport.close();
      }
    },
  };
}

/** A failed send; `permanent` when retrying cannot help (a 4xx answer: wrong URL, revoked hook). */
export class ChannelError extends Error {
  constructor(
    message: string,
    readonly permanent = false,
  ) {
    super(message);
    this.name = 'ChannelError';
  }
}

/** The error with its cause ("fetch failed: ECONNREFUSED …"), credentials removed. */
function scrubbed(err: unknown, secrets: Secret[]): ChannelError {
  const e = err as Error & { cause?: { code?: string; message?: string }; code?: string };
  const cause = e.cause ? `: ${e.cause.code ?? e.cause.message ?? ''}` : '';
  const text = `${e.message ?? String(err)}${cause}`;
  // URL credentials, the whole URLs, and their passwords alone (SMTP servers may echo them).
  const words = secrets.flatMap((s) => {
    try {
      const u = new URL(s.reveal());
      const parts = [u.password, decodeURIComponent(u.password), u.pathname.length > 8 ? u.pathname : ''];
      return [s, ...parts.filter(Boolean).map((p) => new Secret(p))];
    } catch {
      return [s];
    }
  });
  return new ChannelError(redact(text, words), err instanceof ChannelError && err.permanent);
}
