/**
 * The per-notebook summaries behind GET /notebooks (src/storage/runs/notebook-summaries.ts): kept up
 * to date by every recording (re-recorded runs, notebooks that left a run, recordings at the same
 * time), and built once for a database recorded before they existed. On SQLite and PostgreSQL.
 * What the overview says of a notebook is tested in history-store.test.ts.
 *
 *   node --import tsx --test test/storage/runs/notebook-summaries.test.ts
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Database } from '../../../src/platform/database.js';
import { createHistoryStore } from '../../../src/storage/runs/history-store.js';
import type { HistoryStore, RecordedRun } from '../../../src/domain/runs/history.js';
import type { NotebookStatus } from '../../../src/domain/runs/model.js';
import { backendSkip, BACKENDS, freshDatabase, type Backend } from '../../helpers/databases.js';
import { usePostgres } from '../../helpers/postgres.js';

const pg = usePostgres();
const dbs: Database[] = [];
after(() => Promise.all(dbs.map((db) => db.close())));

async function store(backend: Backend): Promise<{ db: Database; store: HistoryStore }> {
  const db = await freshDatabase(backend, pg);
  dbs.push(db);
  return { db, store: createHistoryStore(db) };
}

/** Run n (finished n minutes after midnight) of these notebooks and statuses. */
function run(n: number, notebooks: Record<string, NotebookStatus>): RecordedRun {
  const at = (m: number) => new Date(Date.UTC(2025, 0, 1, 0, m)).toISOString();
  return {
    runId: `manual-${String(n).padStart(3, '0')}`,
    kind: 'manual',
    commit: 'f'.repeat(40),
    startedAt: at(n - 1),
    finishedAt: at(n),
    notebooks: Object.entries(notebooks).map(([path, status]) => ({
      ...{ path, status, cause: status === 'passed' ? null : 'ValueError: x' },
      ...{ durationMs: 1, peakMemoryBytes: null, attempts: 1, flaky: false },
    })),
  };
}

for (const backend of BACKENDS) {
  describe(backend, { skip: backendSkip(backend) }, () => {
    test('recordings keep the summaries current: out of order, re-recorded, a notebook leaving a run', async () => {
      const { store: s } = await store(backend);
      await s.record(run(2, { 'a.ipynb': 'failed', 'b.ipynb': 'passed' }));
      await s.record(run(1, { 'a.ipynb': 'passed', 'b.ipynb': 'passed' }));
      const a = (await s.notebooks()).find((nb) => nb.path === 'a.ipynb');
      assert.equal(a?.status, 'failed');
      assert.equal(a?.runs, 2);
      assert.deepEqual(a?.lastPassed, { runId: 'manual-001', commit: 'f'.repeat(40) });
      // Run 2 recorded again without b: b's summary goes back to run 1.
      await s.record(run(2, { 'a.ipynb': 'passed' }));
      const [na, nb] = await s.notebooks();
      assert.deepEqual([na?.path, na?.status, na?.runs], ['a.ipynb', 'passed', 2]);
      assert.deepEqual([nb?.path, nb?.runs, nb?.lastRun.runId], ['b.ipynb', 1, 'manual-001']);
      // And a notebook whose only run is recorded again without it is gone from the overview.
      await s.record(run(1, { 'a.ipynb': 'passed' }));
      assert.deepEqual(
        (await s.notebooks()).map((x) => x.path),
        ['a.ipynb'],
      );
    });

    test('recordings at the same time: every run counts in the summary', async () => {
      const { store: s } = await store(backend);
      const runs = Array.from({ length: 8 }, (_, i) => run(i + 1, { 'a.ipynb': i % 2 ? 'failed' : 'passed' }));
      await Promise.all(runs.map((r) => s.record(r)));
      const [a] = await s.notebooks();
      assert.equal(a?.runs, 8);
      assert.equal(a?.status, 'failed', 'run 8 is the latest');
      assert.equal(a?.passRate, 0.5);
    });

    test('summaries advanced run by run equal the ones computed from all results', async () => {
      const { db, store: s } = await store(backend);
      const statuses: NotebookStatus[] = ['passed', 'passed', 'failed', 'passed', 'timed_out'];
      const order = Array.from({ length: 30 }, (_, i) => i + 1);
      [order[11], order[19]] = [order[19]!, order[11]!]; // two runs recorded out of order
      for (const i of order) {
        const notebooks = Object.fromEntries(
          Array.from({ length: 5 }, (_, j) => [`nb-${j}.ipynb`, statuses[(i * 7 + j * 3) % 5]!]),
        );
        const r = run(i, notebooks);
        r.notebooks.forEach((nb, j) => (nb.flaky = (i + j) % 11 === 0 && nb.status === 'passed'));
        await s.record(r);
      }
      const advanced = await s.notebooks();
      await db.query('DELETE FROM notebook_summaries');
      await db.query("INSERT INTO nblc_pending_work (name) VALUES ('rebuild-notebook-summaries')");
      assert.deepEqual(advanced, await s.notebooks());
      assert.equal(advanced.length, 5);
      assert.ok(advanced.every((nb) => nb.runs === 30));
    });

    test('a database recorded before the summaries is summarized on the first read, once', async () => {
      const { db, store: s } = await store(backend);
      await s.record(run(1, { 'a.ipynb': 'passed', 'b.ipynb': 'failed' }));
      await s.record(run(2, { 'a.ipynb': 'failed', 'b.ipynb': 'failed' }));
      const expected = await s.notebooks();
      // As schema v4 finds such a database: results, no summaries, the rebuild pending.
      await db.query('DELETE FROM notebook_summaries');
      await db.query("INSERT INTO nblc_pending_work (name) VALUES ('rebuild-notebook-summaries')");
      assert.deepEqual(await s.notebooks(), expected);
      assert.deepEqual(await db.query('SELECT name FROM nblc_pending_work'), []);
    });
  });
}
