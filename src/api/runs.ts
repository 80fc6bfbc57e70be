/**
 * Operator routes for test runs (bearer token): start one, list them, read one's progress or
 * result, and its report files (served read-only from NBLC_RESULTS_DIR).
 */
import { serveStatic } from '@hono/node-server/serve-static';
import type { Client } from '@temporalio/client';
import { Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { Config } from '../runtime/config.js';
import type { Logger } from '../runtime/logger.js';
import { getRun, listRuns, startTestRun } from '../runs/client.js';
import { operatorAuth } from './auth.js';
import { grantProblem, isGrant, reportLink } from '../runs/report-links.js';

export interface RunsDeps {
  client: Client;
  config: Config;
  logger: Logger;
}

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

export function runRoutes(deps: RunsDeps): Hono {
  const app = new Hono();
  let reports: MiddlewareHandler | undefined;
  const bearer = operatorAuth(deps.config.apiToken);
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

  app.post('/', async (c) => {
    const body = await c.req.json().catch(() => undefined);
    const parsed = runRequest.safeParse(body ?? {});
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
      return c.json({ error: 'invalid run request', problems }, 400);
    }
    const started = await startTestRun(deps.client, deps.config, { kind: 'manual', ...parsed.data });
    deps.logger.info({ runId: started.runId }, 'test run started over HTTP');
    return c.json(started, 202);
  });

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
