/**
 * The notebook history store against real databases: the same tests on an SQLite file and on a
 * throwaway PostgreSQL cluster (skipped, with the reason, where PostgreSQL is not installed).
 *
 *   node --import tsx --test test/storage/runs/history-store.test.ts
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MIGRATIONS, openDatabase, SCHEMA_VERSION, type Database } from '../../../src/platform/database.js';
import { createHistoryStore } from '../../../src/storage/runs/history-store.js';
import { Secret } from '../../../src/platform/secret.js';
import type { HistoryStore, RecordedNotebook, RecordedRun } from '../../../src/domain/runs/history.js';
import type { NotebookStatus, RunKind } from '../../../src/domain/runs/model.js';
import { tempDir } from '../../helpers/fixtures.js';
import { postgresUnavailable, usePostgres } from '../../helpers/postgres.js';

type DbConfig = { dataDir: string; databaseUrl?: Secret };

const cluster = usePostgres();
const BACKENDS: Array<{ name: string; skip: string | false; location: () => Promise<DbConfig> }> = [
  { name: 'SQLite', skip: false, location: async () => ({ dataDir: await tempDir('nblc-history-') }) },
  {
    name: 'PostgreSQL',
    skip: postgresUnavailable() ?? false,
    location: async () => ({
      dataDir: '/nonexistent',
      databaseUrl: new Secret(await (await cluster()).createDatabase()),
    }),
  },
];

const T0 = Date.parse('2024-05-01T00:00:00.000Z');
const HOUR = 3_600_000;
const sha = (i: number) => i.toString(16).padStart(40, '0');

type Spec = NotebookStatus | (Partial<RecordedNotebook> & { status: NotebookStatus });

/** Run number i (finished i hours after T0) with these notebooks. */
function run(i: number, notebooks: Record<string, Spec>, kind: RunKind = 'scheduled'): RecordedRun {
  return {
    runId: `${kind}-${String(i).padStart(3, '0')}`,
    kind,
    commit: sha(i),
    startedAt: new Date(T0 + i * HOUR - 600_000).toISOString(),
    finishedAt: new Date(T0 + i * HOUR).toISOString(),
    notebooks: Object.entries(notebooks).map(([path, spec]) => {
      const s = typeof spec === 'string' ? { status: spec } : spec;
      return {
        path,
        cause: s.status === 'passed' ? null : "ModuleNotFoundError: No module named 'numpy'",
        durationMs: 1000 + i,
        peakMemoryBytes: null,
        attempts: 1,
        flaky: false,
        ...s,
      };
    }),
  };
}

for (const backend of BACKENDS) {
  describe(backend.name, { skip: backend.skip }, () => {
    async function withStore<T>(fn: (store: HistoryStore, db: Database) => Promise<T>, at?: DbConfig): Promise<T> {
      const db = await openDatabase(at ?? (await backend.location()));
      try {
        return await fn(createHistoryStore(db), db);
      } finally {
        await db.close();
      }
    }

    test('the schema is created once, in code, with its version; a newer schema is refused', async () => {
      const at = await backend.location();
      for (let i = 0; i < 2; i++) {
        await withStore(async (_store, db) => {
          const versions = await db.query<{ version: unknown }>('SELECT version FROM nblc_schema_version');
          assert.deepEqual(
            versions.map((v) => Number(v.version)),
            MIGRATIONS.map((m) => m.version),
          );
        }, at);
      }
      await withStore(async (_s, db) => {
        await db.query('INSERT INTO nblc_schema_version (version, applied_at) VALUES (?, ?)', [
          SCHEMA_VERSION + 1,
          'x',
        ]);
      }, at);
      await assert.rejects(openDatabase(at), /newer than this nblc knows/);
    });

    test('recording a run twice is recording it once; a run recorded again replaces its notebooks', async () => {
      await withStore(async (store) => {
        const first = run(1, { 'a.ipynb': 'passed', 'dir/b.ipynb': 'failed' });
        await store.record(first);
        await store.record(first);
        assert.equal((await store.history('a.ipynb', 10))!.length, 1);
        assert.deepEqual([...(await store.recordedRuns())], [['scheduled-001', first.finishedAt]]);
        // The same run ID, a new run of it (fewer notebooks, another outcome).
        await store.record({ ...run(2, { 'a.ipynb': 'failed' }), runId: 'scheduled-001' });
        assert.equal(await store.history('dir/b.ipynb', 10), null, 'no longer part of the run');
        const [only] = (await store.history('a.ipynb', 10))!;
        assert.equal(only!.status, 'failed');
        assert.equal(only!.commit, sha(2));
        assert.equal((await store.notebooks()).length, 1);
      });
    });

    test('a notebook history is newest first, with kind, commit, cause, duration, memory and attempts', async () => {
      await withStore(async (store) => {
        await store.record(run(1, { 'x/a.ipynb': 'passed' }));
        await store.record(run(3, { 'x/a.ipynb': { status: 'failed', peakMemoryBytes: 6_000_000_000 } }, 'merge'));
        await store.record(run(2, { 'x/a.ipynb': { status: 'passed', attempts: 2, flaky: true } }, 'manual'));
        const runs = (await store.history('x/a.ipynb', 10))!;
        assert.deepEqual(runs[0], {
          runId: 'merge-003',
          kind: 'merge',
          commit: sha(3),
          status: 'failed',
          durationMs: 1003,
          finishedAt: new Date(T0 + 3 * HOUR).toISOString(),
          cause: "ModuleNotFoundError: No module named 'numpy'",
          peakMemoryBytes: 6_000_000_000,
          attempts: 1,
          flaky: false,
        });
        assert.deepEqual(
          runs.map((r) => [r.runId, r.cause, r.attempts, r.flaky]),
          [
            ['merge-003', "ModuleNotFoundError: No module named 'numpy'", 1, false],
            ['manual-002', null, 2, true],
            ['scheduled-001', null, 1, false],
          ],
        );
        assert.deepEqual(
          (await store.history('x/a.ipynb', 2))!.map((r) => r.runId),
          ['merge-003', 'manual-002'],
        );
        assert.equal(await store.history('x/unknown.ipynb', 10), null);
        assert.equal(await store.history('x', 10), null, 'a folder is not a notebook');
      });
    });

    test('the overview: latest status of any kind, since, last pass, pass rate and flakiness', async () => {
      await withStore(async (store) => {
        const timeline: Array<[RunKind, Record<string, Spec>]> = [
          ['scheduled', { 'a.ipynb': 'passed', 'b.ipynb': 'passed', 'c.ipynb': 'failed' }],
          ['scheduled', { 'a.ipynb': 'passed', 'b.ipynb': 'failed', 'c.ipynb': 'timed_out' }],
          ['merge', { 'a.ipynb': 'passed', 'b.ipynb': 'passed' }],
          ['scheduled', { 'a.ipynb': 'failed', 'b.ipynb': 'failed', 'c.ipynb': 'timed_out' }],
          ['manual', { 'a.ipynb': 'failed', 'b.ipynb': 'passed', 'd.ipynb': { status: 'passed', flaky: true } }],
        ];
        // Recorded out of order: the history is ordered by when runs finished, not by recording.
        for (const i of [3, 1, 5, 2, 4]) await store.record(run(i, timeline[i - 1]![1], timeline[i - 1]![0]));
        const at = (i: number) => ({
          runId: `${timeline[i - 1]![0]}-00${i}`,
          commit: sha(i),
          finishedAt: new Date(T0 + i * HOUR).toISOString(),
        });
        const ref = (i: number) => ({ runId: at(i).runId, commit: sha(i) });
        assert.deepEqual(await store.notebooks(), [
          // broke once in run 4 (a scheduled run) and stayed broken: a regression, not flaky
          {
            path: 'a.ipynb',
            status: 'failed',
            cause: "ModuleNotFoundError: No module named 'numpy'",
            since: at(4),
            lastRun: at(5),
            lastPassed: ref(3),
            passRate: 0.6,
            flaky: false,
            runs: 5,
          },
          // back and forth
          {
            path: 'b.ipynb',
            status: 'passed',
            cause: null,
            since: at(5),
            lastRun: at(5),
            lastPassed: ref(5),
            passRate: 0.6,
            flaky: true,
            runs: 5,
          },
          // failing since it was first seen (its status changed: failed → timed out in run 2)
          {
            path: 'c.ipynb',
            status: 'timed_out',
            cause: "ModuleNotFoundError: No module named 'numpy'",
            since: at(2),
            lastRun: at(4),
            lastPassed: null,
            passRate: 0,
            flaky: false,
            runs: 3,
          },
          // passed only on a retry
          {
            path: 'd.ipynb',
            status: 'passed',
            cause: null,
            since: at(5),
            lastRun: at(5),
            lastPassed: ref(5),
            passRate: 1,
            flaky: true,
            runs: 1,
          },
        ]);
      });
    });

    test('pass rate and flakiness look at the last 20 runs; since and last pass look further back', async () => {
      await withStore(async (store) => {
        for (let i = 1; i <= 30; i++) {
          // e: passed in runs 1-2 and 9, failing otherwise (so flaky in the past, not recently)
          // f: failing in runs 1-15, passing in 16-30
          await store.record(
            run(i, {
              'e.ipynb': i <= 2 || i === 9 ? 'passed' : 'failed',
              'f.ipynb': i <= 15 ? 'failed' : 'passed',
            }),
          );
        }
        const [e, f] = await store.notebooks();
        assert.deepEqual(e, {
          path: 'e.ipynb',
          status: 'failed',
          cause: "ModuleNotFoundError: No module named 'numpy'",
          since: { runId: 'scheduled-010', commit: sha(10), finishedAt: new Date(T0 + 10 * HOUR).toISOString() },
          lastRun: { runId: 'scheduled-030', commit: sha(30), finishedAt: new Date(T0 + 30 * HOUR).toISOString() },
          lastPassed: { runId: 'scheduled-009', commit: sha(9) },
          passRate: 0,
          flaky: false,
          runs: 30,
        });
        assert.equal(f!.passRate, 0.75, '15 of the last 20');
        assert.equal(f!.flaky, false, 'fixed once');
        assert.equal(f!.since.runId, 'scheduled-016');
      });
    });
    test('runs: newest first, of one kind or all, a page at a time, with their counts', async () => {
      await withStore(async (store) => {
        await store.record(run(1, { 'a.ipynb': 'passed', 'b.ipynb': 'failed' }));
        await store.record(run(2, { 'a.ipynb': { status: 'passed', flaky: true } }, 'merge'));
        await store.record(run(3, { 'a.ipynb': 'passed', 'b.ipynb': 'passed', 'c.ipynb': 'timed_out' }));
        await store.record({ ...run(4, {}), runId: 'scheduled-empty' });
        const all = await store.runs({ limit: 10 });
        assert.equal(all.total, 4);
        assert.deepEqual(
          all.runs.map((r) => [r.runId, r.kind, r.notebooks, r.passed, r.flaky]),
          [
            ['scheduled-empty', 'scheduled', 0, 0, 0],
            ['scheduled-003', 'scheduled', 3, 2, 0],
            ['merge-002', 'merge', 1, 1, 1],
            ['scheduled-001', 'scheduled', 2, 1, 0],
          ],
        );
        assert.deepEqual(all.runs[1], {
          runId: 'scheduled-003',
          kind: 'scheduled',
          commit: sha(3),
          startedAt: new Date(T0 + 3 * HOUR - 600_000).toISOString(),
          finishedAt: new Date(T0 + 3 * HOUR).toISOString(),
          notebooks: 3,
          passed: 2,
          flaky: 0,
        });
        const page = await store.runs({ kind: 'scheduled', limit: 2, offset: 1 });
        assert.equal(page.total, 3);
        assert.deepEqual(
          page.runs.map((r) => r.runId),
          ['scheduled-003', 'scheduled-001'],
        );
        assert.deepEqual(await store.runs({ kind: 'manual', limit: 1 }), { runs: [], total: 0 });
      });
    });
  });
}
