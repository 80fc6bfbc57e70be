/**
 * Operator routes for test runs (bearer token): start one, list them, read one's progress or
 * result, and its report files (served read-only from NBLC_RESULTS_DIR).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { getRun, listRuns, startTestRun } from '../clients/runs/client.js';
import { globProblem } from '../domain/runs/globs.js';
import { RUN_LIMITS } from '../domain/runs/model.js';
import { KERNEL_NAME_RE, MAX_RUN_KERNELS } from '../domain/runs/kernels.js';
import { grantProblem, isGrant, reportLink } from '../platform/runs/report-links.js';
import { isRunDirName } from '../domain/runs/run-dir.js';
import { openReportFile } from '../storage/runs/report-files.js';
import type { ApiDeps } from './deps.js';
import { operatorAuth } from './middleware/auth.js';
import { MAX_JSON_BODY_BYTES, limitBody } from './middleware/body-limit.js';
import { orSession } from './middleware/session.js';
import { zodJson } from './middleware/zod-json.js';

/** The bounds are RUN_LIMITS', the same the CLI and the workflow apply. */
// Complexity too (globProblem): a pathological glob would stall the worker's discovery.
const glob = z
  .string()
  .min(1)
  .max(RUN_LIMITS.globLength)
  .superRefine((g, ctx) => {
    const problem = globProblem(g);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
const globs = z.array(glob).max(RUN_LIMITS.globs).optional();
const kernelName = z.string().regex(KERNEL_NAME_RE, 'a kernelspec name (letters, digits, . _ -)');
const count = (l: { min: number; max: number }) => z.number().int().min(l.min).max(l.max).optional();
const seconds = (l: { min: number; max: number }) => z.number().min(l.min).max(l.max).optional();
const runRequest = z
  .object({
    include: globs,
    exclude: globs,
    concurrency: count(RUN_LIMITS.concurrency),
    retries: count(RUN_LIMITS.retries),
    cellTimeoutS: seconds(RUN_LIMITS.cellTimeoutS),
    notebookTimeoutS: seconds(RUN_LIMITS.notebookTimeoutS),
    commit: z
      .string()
      .regex(/^[0-9a-f]{40}$/, 'a full 40-hex commit SHA')
      .optional(),
    /** Values for each notebook's cell tagged `parameters` (papermill's), as `--parameter NAME=VALUE`. */
    parameters: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,99}$/, 'a Python identifier'), z.string().max(1000))
      .refine((p) => Object.keys(p).length <= 100, 'at most 100 parameters')
      .optional(),
    /** A candidate run (issue 19): every notebook on this kernelspec, compared with `compareWith`. */
    kernel: kernelName.optional(),
    kernelMap: z
      .record(kernelName, kernelName)
      .refine((m) => Object.keys(m).length <= MAX_RUN_KERNELS, `at most ${MAX_RUN_KERNELS} mappings`)
      .optional(),
    allowNewFailures: z.number().int().min(0).max(1_000_000).optional(),
    compareWith: z
      .string()
      .refine((v) => v === 'latest-scheduled' || isRunDirName(v), 'a run ID or latest-scheduled')
      .optional(),
  })
  .strict()
  .refine((r) => (r.kernel === undefined) === (r.compareWith === undefined), {
    message: 'a candidate run takes both kernel and compareWith (a run ID or latest-scheduled)',
  })
  .refine((r) => r.kernelMap === undefined || r.kernel !== undefined, { message: 'kernelMap needs kernel' });

/**
 * Report files run the notebooks' own HTML (executed outputs) and our report: in a sandbox (an
 * opaque origin, no script), never sniffed into another type, and without sending the signed
 * link on as a Referer when a link in them is followed. Downloads stay allowed: the report links
 * to the executed notebooks, which a browser saves (they are never rendered as pages).
 */
const REPORT_FILE_HEADERS = {
  'content-security-policy': 'sandbox allow-downloads',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * The segments of the request's path after /runs (where app.ts mounts these routes), each
 * percent-decoded exactly once, from the URL as sent; null when one does not decode. Not
 * c.req.path: it is decoded like decodeURI, which leaves %2B, %26, %25, %23… as they are, so
 * (as with serveStatic, which also refused any path with a `%` left in it) `C++ basics.ipynb`,
 * `Spectra & Photometry.ipynb` or `100%.ipynb` could not be found from it.
 */
function runPath(url: string): string[] | null {
  try {
    return new URL(url).pathname.split('/').slice(2).map(decodeURIComponent);
  } catch {
    return null;
  }
}

/**
 * report.html links to the previous run's report as `../<run>/report.html`: right under
 * /runs/<id>/, one level short under a signed path (/runs/<id>/~<grant>/), where it names
 * /runs/<id>/<run>/report.html, no file of this run (its only folder is executed/). That path is
 * sent on to the previous run's own report without a login: the redirect tells nothing, and the
 * report it leads to asks for the operator's token, as a signed link opens its own run only.
 */
function isPreviousReport(second: string | undefined, rest: string[]): boolean {
  return (
    second !== undefined &&
    second !== 'executed' &&
    !isGrant(second) &&
    isRunDirName(second) &&
    rest.length === 1 &&
    rest[0] === 'report.html'
  );
}

export function runRoutes(deps: ApiDeps): Hono {
  const app = new Hono();
  // Report files (GET /runs/:id/<file>) also open with the dashboard's session cookie.
  const bearer = orSession(
    operatorAuth(deps.config.apiToken),
    { token: deps.config.apiToken },
    (c) => /^(GET|HEAD)$/.test(c.req.method) && /^\/runs\/[^/]+\/./.test(c.req.path),
  );
  // /runs/:id/~<grant>/... is opened by its signed path instead of the bearer token: checked
  // here, where the token is skipped, so no route behind it can forget to.
  app.use('*', async (c, next) => {
    const [id = '', grant, ...rest] = runPath(c.req.url) ?? [];
    if (isPreviousReport(grant, rest)) return c.redirect(`../../${encodeURIComponent(grant!)}/report.html`, 302);
    if (!isGrant(grant)) return bearer(c, next);
    if (!isRunDirName(id)) return c.json({ error: 'malformed run id' }, 400);
    const key = deps.config.linkSecret;
    const problem = key
      ? grantProblem(key, id, grant!)
      : 'report links are off: set NBLC_LINK_SECRET or NBLC_API_TOKEN';
    return problem ? c.json({ error: problem }, key ? 401 : 503) : next();
  });

  app.post(
    '/',
    limitBody(MAX_JSON_BODY_BYTES),
    zodJson(runRequest, {
      notJson: 'the body must be JSON: the run options, or nothing (or {}) for a run of every notebook',
      invalid: 'invalid run request',
      empty: {}, // `curl -X POST .../runs` runs everything
    }),
    async (c) => {
      const body = c.req.valid('json');
      const kind = body.kernel !== undefined ? 'candidate' : 'manual';
      const started = await startTestRun(deps.client, deps.config, { kind, ...body });
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
    if (!isRunDirName(id)) return c.json({ error: 'malformed run id' }, 400);
    const run = await getRun(deps.client, id);
    if (!run) return c.json({ error: `no run ${id}` }, 404);
    const key = deps.config.linkSecret;
    return c.json(run.result && key ? { ...run, reportLink: reportLink(key, id) } : run);
  });

  // report.html links to executed/<path> relative to itself, so both live under /runs/:id/
  // (or /runs/:id/~<grant>/ for a signed link). HEAD is routed here too (Hono), without a body.
  app.get('/:id/*', async (c) => {
    const [id = '', ...rest] = runPath(c.req.url) ?? [];
    if (!isRunDirName(id)) return c.json({ error: 'malformed run id' }, 400);
    const segments = isGrant(rest[0]) ? rest.slice(1) : rest;
    const file = await openReportFile(deps.config.resultsDir, id, segments);
    if (!file) return c.json({ error: 'no such report file (is the run finished?)' }, 404);
    const headers = {
      ...REPORT_FILE_HEADERS,
      'content-type': file.contentType,
      'content-length': String(file.size),
      'last-modified': file.modified.toUTCString(),
    };
    if (c.req.method === 'HEAD') {
      await file.close();
      return c.body(null, 200, headers);
    }
    return c.body(file.body(), 200, headers);
  });
  return app;
}
