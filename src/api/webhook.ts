/**
 * POST /webhooks/github: signature header → body limit → signature → event headers (ping, other
 * events) → push payload → the handler, which drops pushes that are not for us and signals the
 * sync workflow.
 * `pull_request` deliveries branch off after the headers to their own payload and handler
 * (pull-requests.ts): they start and cancel runs of pull requests' notebooks.
 */
import { Hono } from 'hono';
import type { Beacon } from '../domain/sync/model.js';
import { signalSync } from '../clients/sync/client.js';
import { ignoreReason, pushPayload } from '../domain/sync/github-events.js';
import { pullRequestRoute } from './pull-requests.js';
import type { ApiDeps } from './deps.js';
import { limitBody } from './middleware/body-limit.js';
import { NOT_JSON, TEMPORAL_DEADLINE_MS, githubEvent, temporalUnreachable } from './middleware/github-event.js';
import { githubSignature, githubSignatureHeader } from './middleware/github-signature.js';
import { zodJson } from './middleware/zod-json.js';

export const MAX_BODY_BYTES = 25 * 1024 * 1024; // GitHub caps payloads at 25 MB

export type WebhookDeps = ApiDeps<
  'repo' | 'webhookSecrets' | 'taskQueue' | 'syncIdleTimeout' | 'temporal' | 'tests' | 'alerts'
>;

export function webhookRoutes(deps: WebhookDeps): Hono {
  const app = new Hono();
  app.post(
    '/',
    // The signature header first: limitBody reads a body sent without a Content-Length, and
    // nothing of a delivery that cannot be authentic is read.
    githubSignatureHeader(deps.logger),
    limitBody(MAX_BODY_BYTES),
    githubSignature(deps.config.webhookSecrets, deps.logger),
    githubEvent({ handles: ['push', 'pull_request'] }),
    pullRequestRoute(deps),
    zodJson(pushPayload, { notJson: NOT_JSON, invalid: 'invalid push payload' }),
    async (c) => {
      const push = c.req.valid('json');
      const log = deps.logger.child({ delivery: c.get('githubDelivery'), event: c.get('githubEvent') });
      const ignored = ignoreReason(push, deps.config.repo.fullName, deps.config.repo.branch);
      if (ignored) {
        log.info({ ignored }, 'ignored push');
        return c.json({ ignored }, 202);
      }
      const beacon: Beacon = {
        deliveryId: c.get('githubDelivery'),
        sha: push.after,
        before: push.before,
        pusher: push.pusher?.name ?? push.sender?.login ?? 'unknown',
        source: 'github',
        receivedAt: new Date().toISOString(),
      };
      try {
        const started = await deps.client.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, () =>
          signalSync(deps.client, deps.config, beacon),
        );
        log.info({ sha: beacon.sha, workflowId: started.workflowId, runId: started.runId }, 'sync signalled');
        return c.json(started, 202);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'could not signal the sync workflow');
        return temporalUnreachable(c);
      }
    },
  );
  return app;
}
