/** The HTTP API: small composable routes, each testable with app.request(). */
import { Connection, type Client } from '@temporalio/client';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from '../platform/logger.js';
import { dashboardRoutes } from './dashboard/index.js';
import { notebookRoutes } from './notebooks.js';
import { publicRoutes } from './public.js';
import { runRoutes } from './runs.js';
import { userRoutes } from './users.js';
import { webhookRoutes } from './webhook.js';
import type { ApiDeps } from './deps.js';

/** What an app holds open beyond its routes (the readiness probe's connection), closed with it. */
const closers = new WeakMap<Hono, () => Promise<void>>();

/** Closes what createApp opened (server.ts, on stop). */
export const closeApp = (app: Hono) => closers.get(app)?.() ?? Promise.resolve();

/** The one app the server runs: every route mounted, with logging, health and error answers around them. */
export function createApp(deps: ApiDeps): Hono {
  const app = new Hono();
  const ready = readiness(deps.client, deps.logger);
  closers.set(app, ready.close);

  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    deps.logger.debug({
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: performance.now() - started,
    });
  });

  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', async (c) => {
    const reachable = await ready.check();
    return c.json({ ok: reachable, temporal: reachable ? 'reachable' : 'unreachable' }, reachable ? 200 : 503);
  });
  app.route('/webhooks/github', webhookRoutes(deps));
  app.route('/runs', runRoutes(deps));
  app.route('/notebooks', notebookRoutes(deps));
  app.route('/public', publicRoutes(deps));
  app.route('/users', userRoutes(deps));
  // Last: its pages are `/`, `/login`, `/logout` and `/ui/...` (each behind its own middleware).
  app.route('/', dashboardRoutes(deps));

  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => {
    // Middleware such as bearerAuth answers by throwing an HTTPException.
    if (err instanceof HTTPException) return err.getResponse();
    deps.logger.error({ err: err.message, path: c.req.path }, 'unhandled error');
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
}

const READINESS_DEADLINE_MS = 2000;
/** /readyz is unauthenticated: however often it is asked, Temporal hears at most once a second. */
const READINESS_CACHE_MS = 1000;

/**
 * Whether Temporal answers, over one probe connection made once (lazily) like the client's but
 * without its retry interceptor: that one keeps retrying an unreachable server past the call's
 * deadline (~3 s), and a probe that answers late is a failed probe. The answer (a promise, so
 * concurrent requests share one call) is kept for a second.
 */
function readiness(client: Client, logger: Logger) {
  const own = client.connection instanceof Connection ? client.connection : null;
  let probe: Connection | null = null;
  let cached: { at: number; answer: Promise<boolean> } | null = null;
  const ask = async (): Promise<boolean> => {
    probe ??= own ? Connection.lazy({ ...own.options, interceptors: [] }) : null;
    const conn = probe ?? client.connection;
    try {
      await conn.withDeadline(Date.now() + READINESS_DEADLINE_MS, () => conn.workflowService.getSystemInfo({}));
      return true;
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'readiness: Temporal unreachable');
      return false;
    }
  };
  return {
    check(): Promise<boolean> {
      const now = performance.now();
      if (!cached || now - cached.at >= READINESS_CACHE_MS) cached = { at: now, answer: ask() };
      return cached.answer;
    },
    async close(): Promise<void> {
      await probe?.close().catch(() => undefined);
      probe = null;
    },
  };
}
