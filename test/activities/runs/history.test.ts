/**
 * Recording runs in the notebook history: recordRun from a run's real report.json (written by
 * writeReport from result files), and the import of every report under NBLC_RESULTS_DIR on start.
 * SQLite here; the store itself is tested on both databases in test/storage/runs/history-store.test.ts.
 *
 *   node --import tsx --test test/activities/runs/history.test.ts
 */
import { ApplicationFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { createHistoryActivities, importReports } from '../../../src/activities/runs/history.js';
import { openDatabase } from '../../../src/platform/database.js';
import { createHistoryStore } from '../../../src/storage/runs/history-store.js';
import type { HistoryStore } from '../../../src/domain/runs/history.js';
import type { NotebookResult, NotebookStatus, RunKind } from '../../../src/domain/runs/model.js';
import { tempDir } from '../../helpers/fixtures.js';
import { finishedRun as writeFinishedRun } from '../../helpers/report-run.js';

const COMMIT = 'c'.repeat(40);

function result(p: string, status: NotebookStatus, over: Partial<NotebookResult> = {}): NotebookResult {
  const error =
    status === 'passed'
      ? null
      : { cell: 2, ename: 'ModuleNotFoundError', evalue: "No module named 'numpy'", traceback: 'tb' };
  return {
    status,
    durationMs: 2500,
    kernel: 'python3',
    cellsTotal: 3,
    cellsRun: 3,
    error,
    errors: error ? [error] : [],
    timedOutCell: null,
    message: error ? `cell 2: ${error.ename}: ${error.evalue}` : null,
    path: p,
    attempts: 1,
    artifact: `executed/${p}`,
    ...over,
  };
}

/** A finished run directory with its report, as the workflow leaves it. */
function finishedRun(resultsDir: string, runId: string, kind: RunKind, finishedAt: string, results: NotebookResult[]) {
  return writeFinishedRun(resultsDir, { runId, kind, commit: COMMIT, finishedAt }, results);
}

async function setup() {
  const dir = await tempDir('nblc-history-act-');
  const resultsDir = path.join(dir, 'results');
  const db = await openDatabase({ dataDir: dir });
  after(() => db.close());
  const store = createHistoryStore(db);
  return {
    dir,
    resultsDir,
    store,
    activities: createHistoryActivities({ resultsDir, dataDir: dir }, async () => store),
  };
}

const countRows = async (store: HistoryStore, p: string) => (await store.history(p, 1000))?.length ?? 0;

test('recordRun records a run from its report.json; recording it again (a retry, a replay) changes nothing', async () => {
  const { resultsDir, store, activities } = await setup();
  await finishedRun(resultsDir, 'merge-abc', 'merge', '2024-05-01T10:00:00.000Z', [
    result('nb/Fine.ipynb', 'passed'),
    result('nb/Broken.ipynb', 'failed'),
  ]);
  assert.deepEqual(await activities.recordRun({ runId: 'merge-abc' }), { notebooks: 2 });
  assert.deepEqual(await activities.recordRun({ runId: 'merge-abc' }), { notebooks: 2 });
  assert.equal(await countRows(store, 'nb/Broken.ipynb'), 1);
  const [broken] = (await store.history('nb/Broken.ipynb', 10))!;
  assert.deepEqual(broken, {
    runId: 'merge-abc',
    kind: 'merge',
    commit: COMMIT,
    status: 'failed',
    durationMs: 2500,
    finishedAt: '2024-05-01T10:00:00.000Z',
    cause: "ModuleNotFoundError: No module named 'numpy'",
    peakMemoryBytes: null, // not measured by this executor

    attempts: 1,
    flaky: false,
  });
});

test('recordRun refuses, without retries, a bad run ID, a run without a report and a corrupt report', async () => {
  const { resultsDir, activities } = await setup();
  const nonRetryable = (type: string) => (err: unknown) =>
    err instanceof ApplicationFailure && err.nonRetryable && err.type === type;
  await assert.rejects(activities.recordRun({ runId: '../etc' }), nonRetryable('BadRunId'));
  await assert.rejects(activities.recordRun({ runId: 'manual-none' }), nonRetryable('ReportMissing'));
  await fs.mkdir(path.join(resultsDir, 'manual-bad'), { recursive: true });
  await fs.writeFile(path.join(resultsDir, 'manual-bad', 'report.json'), '{"runId": "manual-bad", "kind": "x"}');
  await assert.rejects(activities.recordRun({ runId: 'manual-bad' }), nonRetryable('BadReport'));
});

test('importReports records every finished run once, skips what it has, and reports what it cannot read', async () => {
  const { resultsDir, store } = await setup();
  assert.deepEqual(await importReports(resultsDir, store), {
    imported: [],
    unchanged: 0,
    withoutReport: 0,
    failed: [],
  });
  await finishedRun(resultsDir, 'scheduled-1', 'scheduled', '2024-05-01T03:00:00.000Z', [
    result('a.ipynb', 'passed'),
    result('b.ipynb', 'passed'),
  ]);
  await finishedRun(resultsDir, 'scheduled-2', 'scheduled', '2024-05-02T03:00:00.000Z', [
    result('a.ipynb', 'failed'),
    result('b.ipynb', 'passed', { attempts: 2, flaky: true }),
  ]);
  await finishedRun(resultsDir, 'merge-x', 'merge', '2024-05-02T05:00:00.000Z', [result('a.ipynb', 'failed')]);
  await fs.mkdir(path.join(resultsDir, 'manual-running', 'results'), { recursive: true }); // no report yet
  await fs.mkdir(path.join(resultsDir, 'manual-corrupt'));
  await fs.writeFile(path.join(resultsDir, 'manual-corrupt', 'report.json'), '{"runId": "manual-corrupt", "kin');
  await fs.writeFile(path.join(resultsDir, 'stray.txt'), 'not a run');

  const first = await importReports(resultsDir, store);
  assert.deepEqual(first.imported, ['merge-x', 'scheduled-1', 'scheduled-2']);
  assert.equal(first.withoutReport, 1);
  assert.deepEqual(
    first.failed.map((f) => f.runId),
    ['manual-corrupt'],
  );

  const again = await importReports(resultsDir, store);
  assert.deepEqual(again.imported, []);
  assert.equal(again.unchanged, 3);
  assert.equal(await countRows(store, 'a.ipynb'), 3);

  // A run ID reused for a new run (a merge tested again) has a new report: imported again, replacing.
  await finishedRun(resultsDir, 'merge-x', 'merge', '2024-05-03T05:00:00.000Z', [result('a.ipynb', 'passed')]);
  assert.deepEqual((await importReports(resultsDir, store)).imported, ['merge-x']);
  assert.equal(await countRows(store, 'a.ipynb'), 3);

  const overview = await store.notebooks();
  assert.deepEqual(
    overview.map((n) => [n.path, n.status, n.since.runId, n.lastPassed?.runId, n.passRate, n.flaky, n.runs]),
    [
      ['a.ipynb', 'passed', 'merge-x', 'merge-x', 0.6667, true, 3], // passed, failed, passed,
      ['b.ipynb', 'passed', 'scheduled-1', 'scheduled-2', 1, true, 2],
    ],
  );
});

test('importReports stops between runs when asked to (the process is stopping)', async () => {
  const { resultsDir, store } = await setup();
  await finishedRun(resultsDir, 'manual-1', 'manual', '2024-05-01T03:00:00.000Z', [result('a.ipynb', 'passed')]);
  const stop = new AbortController();
  stop.abort();
  assert.deepEqual((await importReports(resultsDir, store, stop.signal)).imported, []);
});
