/**
 * Environment provenance in the notebook history (src/storage/runs/environment-store.ts): each run's
 * environment and each result's notebook blob, on an SQLite file and on a throwaway PostgreSQL
 * cluster (skipped, with the reason, where PostgreSQL is not installed).
 *
 *   node --import tsx --test test/storage/runs/environment-store.test.ts
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createHistoryStore } from '../../../src/storage/runs/history-store.js';
import type { RunEnvironment } from '../../../src/domain/runs/environment.js';
import type { HistoryStore, RecordedRun } from '../../../src/domain/runs/history.js';
import type { NotebookStatus } from '../../../src/domain/runs/model.js';
import { backendSkip, BACKENDS, freshDatabase, type Backend } from '../../helpers/databases.js';
import { usePostgres } from '../../helpers/postgres.js';

const pg = usePostgres();
const opened: HistoryStore[] = [];
after(() => Promise.all(opened.map((s) => s.close())));

async function open(backend: Backend): Promise<HistoryStore> {
  const store = createHistoryStore(await freshDatabase(backend, pg));
  opened.push(store);
  return store;
}

const at = (hour: number) => new Date(Date.UTC(2025, 0, 1, hour)).toISOString();

function environment(fingerprint: string | null, packages: Record<string, string>, error?: string): RunEnvironment {
  return {
    kernel: 'python3',
    python: fingerprint ? '3.11.7' : null,
    packages,
    fingerprint,
    measuredAt: at(0),
    ...(error ? { error } : {}),
  };
}

/** Run `n` (finished at hour n), its notebooks as [path, status, blob]. */
function run(n: number, notebooks: Array<[string, NotebookStatus, string]>, env?: RunEnvironment): RecordedRun {
  return {
    runId: `scheduled-${n}`,
    kind: 'scheduled',
    commit: String(n).repeat(40).slice(0, 40),
    startedAt: at(n - 1),
    finishedAt: at(n),
    notebooks: notebooks.map(([path, status, blob]) => ({
      path,
      status,
      cause: null,
      durationMs: 1,
      peakMemoryBytes: null,
      attempts: 1,
      flaky: false,
      blob,
    })),
    ...(env ? { environment: env } : {}),
  };
}

const F1 = '1'.repeat(64);
const F2 = '2'.repeat(64);

for (const kind of BACKENDS) {
  describe(kind, { skip: backendSkip(kind) }, () => {
    test('the previous measured environment and each notebook’s last pass, with its blob and fingerprint', async () => {
      const store = await open(kind);
      await store.record(
        run(
          1,
          [
            ['a.ipynb', 'passed', 'blob-a1'],
            ['b.ipynb', 'passed', 'blob-b1'],
          ],
          environment(F1, { numpy: '1.26.4' }),
        ),
      );
      await store.record(
        run(
          2,
          [
            ['a.ipynb', 'passed', 'blob-a2'],
            ['b.ipynb', 'failed', 'blob-b1'],
          ],
          environment(F2, { numpy: '2.0.0' }),
        ),
      );
      // Not measured: never the one compared with.
      await store.record(
        run(3, [['a.ipynb', 'failed', 'blob-a2']], environment(null, {}, 'the probe ended timed_out')),
      );

      const previous = await store.previousEnvironment('scheduled-4', at(4));
      assert.equal(previous?.runId, 'scheduled-2');
      assert.deepEqual(previous?.environment, environment(F2, { numpy: '2.0.0' }));
      assert.equal((await store.previousEnvironment('scheduled-2', at(2)))?.runId, 'scheduled-1', 'not itself');
      assert.equal(await store.previousEnvironment('scheduled-1', at(1)), null, 'nothing before the first');

      const passes = await store.lastPasses(['a.ipynb', 'b.ipynb', 'never.ipynb'], 'scheduled-4');
      assert.deepEqual(Object.fromEntries(passes), {
        'a.ipynb': { runId: 'scheduled-2', commit: '2'.repeat(40), blob: 'blob-a2', fingerprint: F2 },
        'b.ipynb': { runId: 'scheduled-1', commit: '1'.repeat(40), blob: 'blob-b1', fingerprint: F1 },
      });
      // The run being reported is not its own last pass.
      assert.equal((await store.lastPasses(['a.ipynb'], 'scheduled-2')).get('a.ipynb')?.runId, 'scheduled-1');
    });

    test('recording a run again replaces its environment (and removes it when the report has none)', async () => {
      const store = await open(kind);
      await store.record(run(1, [['a.ipynb', 'passed', 'x']], environment(F1, { numpy: '1' })));
      await store.record(run(1, [['a.ipynb', 'passed', 'x']], environment(F2, { numpy: '2' })));
      assert.equal((await store.previousEnvironment('later', at(9)))?.environment.fingerprint, F2);
      await store.record(run(1, [['a.ipynb', 'passed', 'x']]));
      assert.equal(await store.previousEnvironment('later', at(9)), null);
      const [pass] = (await store.lastPasses(['a.ipynb'], 'later')).values();
      assert.deepEqual(pass, { runId: 'scheduled-1', commit: '1'.repeat(40), blob: 'x', fingerprint: null });
    });
  });
}
