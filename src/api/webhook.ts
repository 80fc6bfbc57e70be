/** POST /webhooks/github: verify, filter, and signal the sync workflow. */
import type { Client } from '@temporalio/client';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Config } from '../runtime/config.js';
import type { Beacon } from '../sync/model.js';
import type { Logger } from '../runtime/logger.js';
import { signalSync } from '../sync/client.js';
import { deliveryId as deliveryIdSchema, ignoreReason, pushPayload } from '../sync/github-events.js';
import { checkSignature } from './signature.js';

export const MAX_BODY_BYTES = 25 * 1024 * 1024; // GitHub caps payloads at 25 MB
/**
 * GitHub gives up on a delivery after 10 s. Without a deadline the Temporal client retries an
 * unreachable server for ~20 s, so GitHub would log a timeout instead of our 503.
 */
export const SIGNAL_DEADLINE_MS = 5_000;

export interface WebhookDeps {
  client: Client;
  config: Pick<Config, 'repo' | 'webhookSecrets' | 'taskQueue' | 'syncIdleTimeout' | 'temporal'>;
  logger: Logger;
}

export function webhookRoutes(deps: WebhookDeps): Hono {
  const app = new Hono();
  app.post(
    '/',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.json({ error: `payload larger than ${MAX_BODY_BYTES} bytes` }, 413),
    }),
    async (c) => {
      const body = await c.req.text();
      const sig = await checkSignature(
        deps.config.webhookSecrets,
        body,
        c.req.header('x-hub-signature-256'),
        c.req.header('x-hub-signature'),
      );
      const event = c.req.header('x-github-event');
      const rawDelivery = c.req.header('x-github-delivery');
      const log = deps.logger.child({ delivery: rawDelivery?.slice(0, 100), event });
      if (!sig.ok) {
        log.warn({ reason: sig.error }, 'rejected webhook: bad signature');
        return c.json({ error: sig.error }, 401);
      }
      const delivery = deliveryIdSchema.safeParse(rawDelivery);
      if (!event) return c.json({ error: 'missing X-GitHub-Event header' }, 400);
      if (!delivery.success) return c.json({ error: 'missing or malformed X-GitHub-Delivery header' }, 400);

      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        return c.json({ error: 'body is not valid JSON (the webhook content type must be application/json)' }, 400);
      }
      if (event === 'ping') return c.json({ ok: true }, 200);
      if (event !== 'push') return c.json({ ignored: `event ${event} is not handled` }, 202);

      const parsed = pushPayload.safeParse(json);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
        return c.json({ error: 'invalid push payload', problems }, 400);
      }
      const push = parsed.data;
      const ignored = ignoreReason(push, deps.config.repo.fullName, deps.config.repo.branch);
      if (ignored) {
        log.info({ ignored }, 'ignored push');
        return c.json({ ignored }, 202);
      }
      const beacon: Beacon = {
        deliveryId: delivery.data,
        sha: push.after,
        before: push.before,
        pusher: push.pusher?.name ?? push.sender?.login ?? 'unknown',
        source: 'github',
        receivedAt: new Date().toISOString(),
      };
      try {
        const started = await deps.client.withDeadline(Date.now() + SIGNAL_DEADLINE_MS, () =>
          signalSync(deps.client, deps.config, beacon),
        );
        log.info({ sha: beacon.sha, workflowId: started.workflowId, runId: started.runId }, 'sync signalled');
        return c.json(started, 202);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'could not signal the sync workflow');
        return c.json(
          { error: 'Temporal is unreachable; nothing was started. Use "Redeliver" on GitHub once /readyz is OK.' },
          503,
        );
      }
    },
  );
  return app;
}
