/**
 * The dashboard: server-rendered pages for operators, no build step and no script.
 *
 *   GET /                      overview (latest runs, failing now by cause, flaky, environment)
 *   GET /ui/notebooks          every notebook, filtered and paged
 *   GET /ui/notebooks/<path>   one notebook's history
 *   GET /ui/runs               every recorded run, paged
 *   GET /ui/runs/<id>/executed/<path>   an executed notebook, as text and images
 *   GET|POST /login, POST /logout
 *
 * Pages take a session cookie (middleware/session.ts) or the bearer token; browsers without
 * either are sent to /login. Data comes from the history database and, for a few runs, their
 * report.json (src/storage/runs/run-reports.ts); runs in progress from Temporal, if it answers soon.
 */
import type { Client } from '@temporalio/client';
import { Hono, type Context } from 'hono';
import type { HistoryStore } from '../../domain/runs/history.js';
import { runIdFromWorkflowId, RUN_SA, type RunKind } from '../../domain/runs/model.js';
import { historyStore } from '../../storage/runs/history-store.js';
import {
  readExecutedNotebook,
  readReportExtras,
  type ExecutedNotebook,
  type ReportExtras,
} from '../../storage/runs/run-reports.js';
import type { ApiDeps } from '../deps.js';
import { catalogOf } from '../../storage/runs/catalog.js';
import { limitBody } from '../middleware/body-limit.js';
import {
  endSession,
  hasSession,
  isOperatorToken,
  requireSession,
  safeNext,
  sameOriginPosts,
  startSession,
  type SessionOptions,
} from '../middleware/session.js';
import { h, page, PAGE_HEADERS, type Html } from './layout.js';
import { makeLinks } from './links.js';
import { executedPage } from './executed.js';
import { loginPage } from './login.js';
import { loginThrottle } from '../middleware/login-throttle.js';
import { NOTEBOOK_RUNS, notebookPage } from './notebook.js';
import { notebookListPage, STATUS_FILTERS, type StatusFilter } from './notebook-list.js';
import { OVERVIEW_LIMITS, overviewPage, type ActiveRun } from './overview.js';
import { RUNS_PER_PAGE, runsPage } from './runs.js';

export interface DashboardSources {
  store: () => Promise<HistoryStore>;
  reportExtras: (runId: string) => Promise<ReportExtras | null>;
  executed: (runId: string, notebook: string) => Promise<ExecutedNotebook>;
  /** Runs in progress; null when Temporal does not answer. */
  activeRuns: () => Promise<ActiveRun[] | null>;
  now: () => number;
}

const KINDS: RunKind[] = ['scheduled', 'merge', 'manual'];
const TEMPORAL_DEADLINE_MS = 1500;
const MAX_FORM_BYTES = 16 * 1024;

async function runningTestRuns(client: Client): Promise<ActiveRun[] | null> {
  const list = async () => {
    const out: ActiveRun[] = [];
    const query = `WorkflowType = 'testNotebooks' AND ExecutionStatus = 'Running'`;
    for await (const wf of client.workflow.list({ query, pageSize: 10 })) {
      out.push({
        runId: runIdFromWorkflowId(wf.workflowId),
        kind: wf.typedSearchAttributes.get(RUN_SA.kind),
        startTime: wf.startTime.toISOString(),
      });
      if (out.length >= 10) break;
    }
    return out;
  };
  // The page must not wait on an unreachable Temporal (its client retries for seconds).
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), TEMPORAL_DEADLINE_MS)));
  try {
    return await Promise.race([list().catch(() => null), late]);
  } finally {
    clearTimeout(timer);
  }
}

const positive = (raw: string | undefined) => Math.max(1, Math.min(1_000_000, Math.floor(Number(raw)) || 1));

export function dashboardRoutes(deps: ApiDeps, sources: Partial<DashboardSources> = {}): Hono {
  const { config, logger } = deps;
  const src: DashboardSources = {
    store: () => historyStore(config),
    reportExtras: (runId) => readReportExtras(config.resultsDir, runId),
    executed: (runId, notebook) => readExecutedNotebook(config.resultsDir, runId, notebook),
    activeRuns: () => runningTestRuns(deps.client),
    now: () => Date.now(),
    ...sources,
  };
  const session: SessionOptions = { token: config.apiToken, publicUrl: config.http.publicUrl, now: src.now };
  const send = (c: Context, body: Html, status: 200 | 401 | 404 | 429 | 503 = 200) =>
    c.html(body, status, PAGE_HEADERS);
  const links = () => makeLinks(config.linkSecret!, config.temporal, src.now());
  const app = new Hono();
  const throttle = loginThrottle(src.now);
  const auth = requireSession(session);

  // The database may be down or not migrated yet: a page that says so, not a bare 500.
  const withStore = async (c: Context, fn: (s: HistoryStore) => Promise<Response>) => {
    let store: HistoryStore;
    try {
      store = await src.store();
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'dashboard: the history database is unavailable');
      const msg = `The history database is unavailable: ${(err as Error).message}`;
      return send(c, page('Unavailable', 'overview', h`<h1>Unavailable</h1><p class="error">${msg}</p>`), 503);
    }
    return fn(store);
  };

  app.get('/login', async (c) => {
    const next = safeNext(c.req.query('next'));
    if (!config.apiToken) return send(c, loginPage({ next, off: true }), 503);
    if (await hasSession(c, session)) return c.redirect(next, 302);
    return send(c, loginPage({ next }));
  });

  app.post('/login', limitBody(MAX_FORM_BYTES), sameOriginPosts(session), async (c) => {
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const next = safeNext(typeof form.next === 'string' ? form.next : undefined);
    if (!config.apiToken) return send(c, loginPage({ next, off: true }), 503);
    const wait = throttle.blockedFor(c);
    if (wait > 0) {
      c.header('retry-after', String(wait));
      return send(c, loginPage({ next, error: `Too many wrong tokens from here: try again in ${wait} s.` }), 429);
    }
    if (typeof form.token !== 'string' || !isOperatorToken(session, form.token.trim())) {
      throttle.failed(c);
      logger.warn('dashboard: login with a wrong token');
      return send(c, loginPage({ next, error: 'That is not the operator token.' }), 401);
    }
    await startSession(c, session);
    logger.info('dashboard: login');
    return c.redirect(next, 303);
  });

  app.post('/logout', sameOriginPosts(session), async (c) => {
    await endSession(c, session);
    return c.redirect('/login', 303);
  });

  app.get('/', auth, (c) =>
    withStore(c, async (store) => {
      const [notebooks, recent, active, ...latest] = await Promise.all([
        store.notebooks(),
        store.runs({ limit: OVERVIEW_LIMITS.recentRuns }),
        src.activeRuns(),
        ...KINDS.map(async (kind) => {
          const run = (await store.runs({ kind, limit: 1 })).runs[0] ?? null;
          return { kind, run, extras: run ? await src.reportExtras(run.runId) : null };
        }),
      ]);
      const data = { notebooks, recent: recent.runs, active, latest, nowMs: src.now() };
      return send(c, overviewPage(data, links()));
    }),
  );

  app.get('/ui/notebooks', auth, (c) =>
    withStore(c, async (store) => {
      const status = (STATUS_FILTERS as readonly string[]).includes(c.req.query('status') ?? '')
        ? (c.req.query('status') as StatusFilter)
        : 'all';
      const filter = {
        status,
        cause: c.req.query('cause'),
        q: c.req.query('q')?.slice(0, 200),
        dataset: c.req.query('dataset')?.slice(0, 200) || undefined,
        keyword: c.req.query('keyword')?.slice(0, 200) || undefined,
        page: positive(c.req.query('page')),
      };
      const catalog = await catalogOf(config.resultsDir, store);
      return send(c, notebookListPage(await store.notebooks(), filter, src.now(), catalog));
    }),
  );

  app.get('/ui/notebooks/:path{.+}', auth, (c) =>
    withStore(c, async (store) => {
      const path = c.req.param('path');
      const runs = await store.history(path, NOTEBOOK_RUNS);
      if (!runs) {
        return send(
          c,
          page('Not found', 'notebooks', h`<h1>Not found</h1><p>No recorded runs of <code>${path}</code>.</p>`),
          404,
        );
      }
      const catalog = await catalogOf(config.resultsDir, store);
      const entry = Object.hasOwn(catalog, path) ? catalog[path] : undefined;
      const data = { path, runs, page: positive(c.req.query('page')), nowMs: src.now(), catalog: entry };
      return send(c, notebookPage(data, links()));
    }),
  );

  app.get('/ui/runs', auth, (c) =>
    withStore(c, async (store) => {
      const kind = KINDS.find((k) => k === c.req.query('kind'));
      const pageNo = positive(c.req.query('page'));
      const { runs, total } = await store.runs({ kind, limit: RUNS_PER_PAGE, offset: (pageNo - 1) * RUNS_PER_PAGE });
      return send(c, runsPage({ runs, total, page: pageNo, kind, nowMs: src.now() }, links()));
    }),
  );
  app.get('/ui/runs/:runId/executed/:path{.+}', auth, async (c) => {
    const runId = c.req.param('runId');
    const path = c.req.param('path');
    const read = await src.executed(runId, path);
    return send(
      c,
      executedPage(runId, path, read, links()),
      'problem' in read && read.problem === 'missing' ? 404 : 200,
    );
  });
  return app;
}
