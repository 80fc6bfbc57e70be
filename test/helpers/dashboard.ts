/** Histories for the dashboard's tests: generated at scale, and logging in the way a browser does. */
import type { Hono } from 'hono';
import type { HistoryStore, RecordedNotebook, RecordedRun } from '../../src/runs/history.js';
import type { NotebookStatus, RunKind } from '../../src/runs/model.js';

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
