/**
 * The alert store against real databases (SQLite, and PostgreSQL where installed): the results
 * before a run that the decision reads, run-level states, and deliveries claimed then sent.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createAlertStore } from '../../../src/storage/alerts/alert-store.js';
import { openDatabase, type Database } from '../../../src/platform/database.js';
import { createHistoryStore } from '../../../src/storage/runs/history-store.js';
import { Secret } from '../../../src/platform/secret.js';
import type { RecordedRun } from '../../../src/domain/runs/history.js';
import type { NotebookStatus, RunKind } from '../../../src/domain/runs/model.js';
import { tempDir } from '../../helpers/fixtures.js';
import { postgresUnavailable, usePostgres } from '../../helpers/postgres.js';

const cluster = usePostgres();
const BACKENDS = [
  { name: 'SQLite', skip: false as string | false, open: async () => openDatabase({ dataDir: await tempDir() }) },
  {
    name: 'PostgreSQL',
    skip: postgresUnavailable() ?? (false as string | false),
    open: async () =>
      openDatabase({ dataDir: '/nonexistent', databaseUrl: new Secret(await (await cluster()).createDatabase()) }),
  },
];

const T0 = Date.parse('2024-05-01T00:00:00.000Z');
function run(i: number, statuses: Record<string, NotebookStatus>, kind: RunKind = 'merge'): RecordedRun {
  return {
    runId: `${kind}-${i}`,
    kind,
    commit: String(i).padStart(40, '0'),
    startedAt: new Date(T0 + i * 3_600_000 - 60_000).toISOString(),
    finishedAt: new Date(T0 + i * 3_600_000).toISOString(),
    notebooks: Object.entries(statuses).map(([path, status]) => ({
      path,
      status,
      cause: status === 'passed' ? null : 'ValueError: x',
      durationMs: 1,
      peakMemoryBytes: null,
      attempts: 1,
      flaky: i === 2 && status === 'passed',
    })),
  };
}

for (const backend of BACKENDS) {
  describe(backend.name, { skip: backend.skip }, () => {
    async function withDb(fn: (db: Database) => Promise<void>) {
      const db = await backend.open();
      try {
        await fn(db);
      } finally {
        await db.close();
      }
    }

    test('results before a run: newest first, not the run itself, not later runs, not pull requests', async () => {
      await withDb(async (db) => {
        const history = createHistoryStore(db);
        await history.record(run(1, { 'a.ipynb': 'passed', 'b.ipynb': 'failed' }));
        await history.record(run(2, { 'a.ipynb': 'passed' }, 'scheduled'));
        await history.record(run(3, { 'a.ipynb': 'failed' }, 'pr'));
        await history.record(run(4, { 'a.ipynb': 'failed' }));
        await history.record(run(5, { 'a.ipynb': 'timed_out' }));
        const store = createAlertStore(db);
        const past = await store.pastResults(['a.ipynb', 'b.ipynb', 'c.ipynb'], 'merge-4', run(4, {}).finishedAt, 10);
        assert.deepEqual(past.get('a.ipynb'), [
          { status: 'passed', flaky: true },
          { status: 'passed', flaky: false },
        ]);
        assert.deepEqual(past.get('b.ipynb'), [{ status: 'failed', flaky: false }]);
        assert.equal(past.has('c.ipynb'), false);
        assert.equal((await store.pastResults(['a.ipynb'], 'x', run(9, {}).finishedAt, 1)).get('a.ipynb')!.length, 1);
      });
    });

    test('a delivery is claimed, then sent; a claim without a send is claimed again; states round-trip', async () => {
      await withDb(async (db) => {
        const store = createAlertStore(db);
        assert.equal(await store.claim('run-1:fixed', 'email:ops'), 'claimed');
        await store.failed('run-1:fixed', 'email:ops', 'ECONNREFUSED');
        assert.deepEqual(await store.delivery('run-1:fixed', 'email:ops'), {
          state: 'claimed',
          attempts: 1,
          error: 'ECONNREFUSED',
        });
        assert.equal(await store.claim('run-1:fixed', 'email:ops'), 'claimed');
        await store.sent('run-1:fixed', 'email:ops');
        assert.equal(await store.claim('run-1:fixed', 'email:ops'), 'sent');
        assert.deepEqual(await store.delivery('run-1:fixed', 'email:ops'), { state: 'sent', attempts: 2, error: null });
        assert.equal(await store.claim('run-1:fixed', 'webhook:x'), 'claimed', 'per channel');

        assert.equal(await store.state('run:merge'), null);
        await store.setState('run:merge', { state: 'broken', previous: null, changedBy: 'run-1' });
        await store.setState('run:merge', { state: 'broken', previous: 'ok', changedBy: 'run-2' });
        assert.deepEqual(await store.state('run:merge'), { state: 'broken', previous: 'ok', changedBy: 'run-2' });
      });
    });
  });
}
