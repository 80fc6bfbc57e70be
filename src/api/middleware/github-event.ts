/**
 * githubEvent({ handles }): the delivery headers of a GitHub webhook. X-GitHub-Event and
 * X-GitHub-Delivery must be there (400); they are handed on as `c.get('githubEvent')` and
 * `c.get('githubDelivery')`. `ping`, sent when the webhook is created, is answered here, as are
 * events the route does not handle (202 {ignored}), so the route's handler sees only its own.
 * Goes after githubSignature: only an authentic delivery is told what is wrong with it.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { deliveryId } from '../../domain/sync/github-events.js';

export type GithubEventEnv = { Variables: { githubEvent: string; githubDelivery: string } };

/** The answer to a body that is not JSON; also used by the webhook route's zodJson. */
/**
 * GitHub gives up on a delivery after 10 s. Without a deadline the Temporal client retries an
 * unreachable server for ~20 s, so GitHub would log a timeout instead of our 503.
 */
export const TEMPORAL_DEADLINE_MS = 5_000;

/** The answer when Temporal did not take a delivery in time: GitHub shows it failed, to be redelivered. */
export function temporalUnreachable(c: Context): Response {
  return c.json(
    { error: 'Temporal is unreachable; nothing was started. Use "Redeliver" on GitHub once /readyz is OK.' },
    503,
  );
}

export const NOT_JSON = 'body is not valid JSON (the webhook content type must be application/json)';

export interface GithubEventOptions {
  /** The events the route handles; any other (but ping) is answered 202 {ignored}. Default: all. */
  handles?: readonly string[];
}

export function githubEvent(options: GithubEventOptions = {}): MiddlewareHandler<GithubEventEnv> {
  return async (c, next) => {
    const event = c.req.header('x-github-event');
    if (!event) return c.json({ error: 'missing X-GitHub-Event header' }, 400);
    const delivery = deliveryId.safeParse(c.req.header('x-github-delivery'));
    if (!delivery.success) return c.json({ error: 'missing or malformed X-GitHub-Delivery header' }, 400);
    // A webhook created with GitHub's other content type (form-encoded) must fail at its very first
    // delivery, the ping, where the operator who set it up looks: answering the ping 200 would
    // hide the mistake until the first push.
    if (/^application\/x-www-form-urlencoded\b/i.test(c.req.header('content-type') ?? '')) {
      return c.json({ error: NOT_JSON }, 400);
    }
    c.set('githubEvent', event);
    c.set('githubDelivery', delivery.data);
    if (event === 'ping') return c.json({ ok: true }, 200);
    if (options.handles && !options.handles.includes(event)) {
      return c.json({ ignored: `event ${event} is not handled` }, 202);
    }
    await next();
  };
}
