/**
 * Operator routes for test runs (bearer token): start one, list them, read one's progress or
 * result, and its report files (served read-only from NBLC_RESULTS_DIR).
 */
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { getRun, listRuns, startTestRun } from '../runs/client.js';
import { grantProblem, isGrant, reportLink } from '../runs/report-links.js';
import type { ApiDeps } from './app.js';
import { operatorAuth } from './middleware/auth.js';
import { orSession } from './middleware/session.js';
import { limitBody } from './middleware/body-limit.js';
import { zodJson } from './middleware/zod-json.js';

/** A run request is a few globs and numbers; a larger body is a mistake, or worse. */
const MAX_REQUEST_BYTES = 64 * 1024;

const glob = z.string().min(1).max(500);
const runRequest = z
  .object({
    include: z.array(glob).max(100).optional(),
    exclude: z.array(glob).max(100).optional(),
    concurrency: z.number().int().min(1).max(256).optional(),
    retries: z.number().int().min(0).max(10).optional(),
    cellTimeoutS: z.number().positive().optional(),
    notebookTimeoutS: z.number().positive().optional(),
    commit: z
      .string()
      .regex(/^[0-9a-f]{40}$/, 'a full 40-hex commit SHA')
      .optional(),
  })
  .strict();

const RUN_ID = /^[A-Za-z0-9._-]+$/;

export function runRoutes(deps: ApiDeps): Hono {
  const app = new Hono();
  let reports: MiddlewareHandler | undefined;
  // Report files (GET /runs/:id/<file>) also open with the dashboard's session cookie.
  const bearer = orSession(
    operatorAuth(deps.config.apiToken),
    { token: deps.config.apiToken },
    (c) => /^(GET|HEAD)$/.test(c.req.method) && /^\/runs\/[^/]+\/./.test(c.req.path),
  );
  // /runs/:id/~<grant>/... is opened by its signed path instead of the bearer token: checked
  // here, where the token is skipped, so no route behind it can forget to.
  app.use('*', async (c, next) => {
    const [, , id = '', grant] = c.req.path.split('/');
    if (!isGrant(grant)) return bearer(c, next);
    if (!RUN_ID.test(id) || id.startsWith('.')) return c.json({ error: 'malformed run id' }, 400);
    const token = deps.config.apiToken;
    const problem = token ? grantProblem(token, id, grant!) : 'the operator API is off: set NBLC_API_TOKEN';
    return problem ? c.json({ error: problem }, token ? 401 : 503) : next();
  });

  app.post(
    '/',
    limitBody(MAX_REQUEST_BYTES),
    zodJson(runRequest, {
      notJson: 'the body must be JSON: the run options, or nothing (or {}) for a run of every notebook',
      invalid: 'invalid run request',
      empty: {}, // `curl -X POST .../runs` runs everything
    }),
    async (c) => {
      const started = await startTestRun(deps.client, deps.config, { kind: 'manual', ...c.req.valid('json') });
      deps.logger.info({ runId: started.runId }, 'test run started over HTTP');
      return c.json(started, 202);
    },
  );

  app.get('/', async (c) => {
    const limit = Math.min(200, Math.max(1, Number(c.req.query('limit') ?? 50) || 50));
    return c.json({ runs: await listRuns(deps.client, limit) });
  });

  app.get('/:id', async (c) => {
    const id = c.req.param('id');
    if (!RUN_ID.test(id)) return c.json({ error: 'malformed run id' }, 400);
    const run = await getRun(deps.client, id);
    if (!run) return c.json({ error: `no run ${id}` }, 404);
    const token = deps.config.apiToken;
    return c.json(run.result && token ? { ...run, reportLink: reportLink(token, id) } : run);
  });

  // report.html links to executed/<path> relative to itself, so both live under /runs/:id/
  // (or /runs/:id/~<grant>/ for a signed link).
  app.get(
    '/:id/*',
    async (c, next) => {
      const id = c.req.param('id');
      if (!RUN_ID.test(id) || id.startsWith('.')) return c.json({ error: 'malformed run id' }, 400);
      return next();
    },
    (c, next) => {
      // Built on first use: the worker creates the results directory with the first run.
      reports ??= serveStatic({
        root: deps.config.resultsDir,
        rewriteRequestPath: (p) => p.replace(/^\/runs/, '').replace(/^(\/[^/]+)\/~[^/]*/, '$1'),
        onNotFound: () => undefined,
      });
      return reports(c, next);
    },
    (c) => c.json({ error: 'no such report file (is the run finished?)' }, 404),
  );
  return app;
}
