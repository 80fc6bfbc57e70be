/**
 * Histories for the dashboard's tests: a small one with hostile names, one generated at scale, and
 * logging in the way a browser does.
 */
import type { Client } from '@temporalio/client';
import type { Hono } from 'hono';
import assert from 'node:assert/strict';
import { createApp } from '../../src/api/app.js';
import { dashboardRoutes, type DashboardSources } from '../../src/api/dashboard/index.js';
import { historyStore } from '../../src/storage/runs/history-store.js';
import type { Config } from '../../src/platform/config.js';
import { createLogger } from '../../src/platform/logger.js';
import { tempDir, testConfig } from './fixtures.js';
import type { HistoryStore, RecordedNotebook, RecordedRun } from '../../src/domain/runs/history.js';
import type { NotebookStatus, RunKind } from '../../src/domain/runs/model.js';

export const T0 = Date.parse('2024-01-01T03:00:00.000Z');
const HOUR = 3_600_000;

/** A deterministic pseudo-random sequence (tests must not depend on Math.random). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

export interface GeneratedHistory {
  paths: string[];
  runs: number;
  /** What is failing at the end, by cause. */
  failingByCause: Map<string, string[]>;
  flaky: string[];
}

/**
 * `notebooks` notebooks over `runs` runs: every 4th run a scheduled run of everything, the others
 * merge runs of a few notebooks. At the end, 30 notebooks share one cause (since run 60% of the
 * way), 8 time out, `distinct` fail each in their own way, and 12 flip between passing and failing.
 */
export async function generateHistory(
  store: HistoryStore,
  opts: { notebooks: number; runs: number; distinct?: number },
): Promise<GeneratedHistory> {
  const random = rng(42);
  const paths = Array.from(
    { length: opts.notebooks },
    (_, i) => `${String(i % 12).padStart(2, '0')}_Topic/Notebook ${String(i).padStart(4, '0')}.ipynb`,
  );
  const shared = paths.slice(0, 30);
  const timeouts = paths.slice(30, 38);
  const distinct = paths.slice(38, 38 + (opts.distinct ?? 40));
  const flaky = paths.slice(100, 112);
  const brokeAt = Math.floor(opts.runs * 0.6);
  const outcome = (p: string, i: number): Pick<RecordedNotebook, 'status' | 'cause' | 'flaky' | 'attempts'> => {
    const fail = (status: NotebookStatus, cause: string) => ({ status, cause, flaky: false, attempts: 1 });
    if (shared.includes(p) && i >= brokeAt) return fail('failed', "ModuleNotFoundError: No module named 'numpy'");
    if (timeouts.includes(p) && i >= brokeAt + 5) return fail('timed_out', 'a cell exceeded the cell timeout (<n> s)');
    const d = distinct.indexOf(p);
    if (d >= 0 && i >= opts.runs - 20 - d) return fail('failed', `ValueError: bad input #${d} for the query`);
    if (flaky.includes(p) && random() < 0.35) return fail('failed', 'ConnectionError: the archive did not answer');
    return { status: 'passed', cause: null, flaky: false, attempts: 1 };
  };
  for (let i = 0; i < opts.runs; i++) {
    const kind: RunKind = i % 4 === 0 ? 'scheduled' : i % 13 === 0 ? 'manual' : 'merge';
    const subset = kind === 'merge' ? [0, 1, 2].map(() => paths[Math.floor(random() * paths.length)]!) : paths;
    const finishedAt = new Date(T0 + i * 6 * HOUR).toISOString();
    const run: RecordedRun = {
      runId: `${kind}-${String(i).padStart(5, '0')}`,
      kind,
      commit: (i + 1).toString(16).padStart(40, 'c'),
      startedAt: new Date(T0 + i * 6 * HOUR - 600_000).toISOString(),
      finishedAt,
      notebooks: [...new Set(subset)].map((path) => ({
        path,
        ...outcome(path, i),
        durationMs: 2000 + Math.round(random() * 3000) + (path.endsWith('0.ipynb') ? 20_000 : 0),
        peakMemoryBytes: null,
      })),
    };
    await store.record(run);
  }
  const failingByCause = new Map<string, string[]>();
  const last = opts.runs - 1;
  for (const p of paths) {
    // The final state is each notebook's last scheduled run (or a later merge run of it): close
    // enough for the assertions that use it, which are about groups, not exact members.
    const o = outcome(p, last);
    if (o.status !== 'passed' && !flaky.includes(p)) {
      failingByCause.set(o.cause!, [...(failingByCause.get(o.cause!) ?? []), p]);
    }
  }
  return { paths, runs: opts.runs, failingByCause, flaky };
}

/** Logs in through the form as a browser would (same origin); returns the session cookie. */
export async function loginCookie(app: Hono, token: string, origin = 'http://localhost'): Promise<string> {
  const res = await app.request(`${origin}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
    body: new URLSearchParams({ token, next: '/' }).toString(),
  });
  if (res.status !== 303) throw new Error(`login answered ${res.status}`);
  return (res.headers.get('set-cookie') ?? '').split(';', 1)[0]!;
}

export const TOKEN = 'operator-token-for-dashboard-tests';
const logger = createLogger('silent');
const noTemporal = {} as Client;

/** A notebook path and an error that are hostile HTML. */
export const EVIL = `x/<script>alert("nb")</script> & 'quotes'.ipynb`;
export const EVIL_CAUSE = `NameError: name '<img src=x onerror=alert(1)>' is not defined`;

/** Recorded run `i` of `kind` with notebooks of `statuses`, an hour after run i - 1. */
export function run(i: number, kind: RecordedRun['kind'], statuses: Record<string, NotebookStatus>): RecordedRun {
  const finishedAt = new Date(T0 + i * 3_600_000).toISOString();
  return {
    runId: `${kind}-${i}`,
    kind,
    commit: String(i).repeat(40).slice(0, 40),
    startedAt: finishedAt,
    finishedAt,
    notebooks: Object.entries(statuses).map(([p, status]) => ({
      path: p,
      status,
      cause: status === 'passed' ? null : p === EVIL ? EVIL_CAUSE : "ModuleNotFoundError: No module named 'numpy'",
      durationMs: 1000 * i,
      peakMemoryBytes: null,
      attempts: 1,
      flaky: false,
    })),
  };
}

/** An app whose history has four small runs (hostile names among them), and a logged-in cookie. */
export async function small(sources: Partial<DashboardSources> = {}, env: Record<string, string> = {}) {
  const dir = await tempDir('nblc-dashboard-');
  const config = dashboardConfig(dir, env);
  const store = await historyStore(config);
  await store.record(
    run(1, 'scheduled', {
      'a/One.ipynb': 'passed',
      'a/Two.ipynb': 'passed',
      [EVIL]: 'passed',
      'b/C++ 100% #1?.ipynb': 'passed',
    }),
  );
  await store.record(run(2, 'scheduled', { 'a/One.ipynb': 'failed', 'a/Two.ipynb': 'failed', [EVIL]: 'failed' }));
  await store.record(run(3, 'merge', { 'a/One.ipynb': 'failed', [EVIL]: 'passed' }));
  await store.record(run(4, 'manual', { 'a/One.ipynb': 'failed', 'a/Two.ipynb': 'failed', [EVIL]: 'failed' }));
  return { ...(await dashboardApp(config, sources)), config };
}

/** A config in `dir` with the operator token TOKEN (the dashboard's password). */
export function dashboardConfig(dir: string, env: Record<string, string> = {}): Config {
  return testConfig(dir, 'file:///nonexistent/notebooks.git', { NBLC_API_TOKEN: TOKEN, ...env });
}

/** The whole app on `config` (no Temporal; `sources` under /with-sources), and the cookie of a session logged in with TOKEN if it has one. */
export async function dashboardApp(config: Config, sources: Partial<DashboardSources> = {}) {
  const app = createApp({ client: noTemporal, config, logger });
  // Pages over `sources` (instead of what the history and the run directories say), beside the real ones.
  if (Object.keys(sources).length)
    app.route('/with-sources', dashboardRoutes({ client: noTemporal, config, logger }, sources));
  return { app, cookie: config.apiToken ? await loginCookie(app, TOKEN) : '' };
}

/** GET `p` with the session cookie: the response and its text. */
export const page = async (
  app: { request: (p: string, i?: RequestInit) => Response | Promise<Response> },
  p: string,
  cookie: string,
) => {
  const res = await app.request(p, { headers: { cookie } });
  return { res, text: await res.text() };
};

/** No tag, attribute or entity of the hostile strings got through unescaped. */
export function assertEscaped(text: string) {
  assert.doesNotMatch(text, /<script>alert/);
  assert.doesNotMatch(text, /<img src=x/);
  assert.doesNotMatch(text, /<script/i, 'the pages have no script at all');
}
