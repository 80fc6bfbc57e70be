/**
 * Comparing a run with the previous finished run of its kind: newly failing and fixed notebooks.
 *
 *   node --import tsx --test test/activities/runs/report-previous.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { writeReport } from '../../../src/activities/runs/report/index.js';
import type { NotebookStatus, RunKind } from '../../../src/domain/runs/model.js';
import { tempDir } from '../../helpers/fixtures.js';
import { allFailing, P, result, RESULTS } from '../../helpers/report-data.js';
import { mainRun, options, readWritten, writePreviousReport, writeRunDir } from '../../helpers/report-run.js';

type Statuses = Record<string, NotebookStatus>;

/** A new results directory: run `runId` with notebooks `now`, and an earlier report of `kind` with `before`. */
async function runAfter(
  kind: RunKind,
  previous: { runId: string; finishedAt: string; before: Statuses },
  runId: string,
  now: Statuses,
): Promise<string> {
  const resultsDir = await tempDir('nblc-report-');
  const results = Object.entries(now).map(([p, status]) => result(p, { status }));
  await writeRunDir(resultsDir, runId, results, []);
  await writePreviousReport(resultsDir, previous.runId, kind, previous.finishedAt, previous.before);
  return resultsDir;
}

/** A report.json written as given, not by writeReport. */
async function writeRawReport(resultsDir: string, runId: string, report: object): Promise<void> {
  await fs.mkdir(path.join(resultsDir, runId));
  await fs.writeFile(path.join(resultsDir, runId, 'report.json'), JSON.stringify(report));
}

describe('comparing with the previous run', () => {
  test('uses the newest finished run of the same kind, ignoring other kinds, later and corrupt reports', async () => {
    const { report } = await mainRun();
    assert.equal(report.previousRunId, 'scheduled-1');
    // in the run's order: passed before (deep, input, invalid, missing) or new (died)
    assert.deepEqual(report.newlyFailing, [P.deep, P.input, P.invalid, P.died, P.missing]);
    assert.deepEqual(report.fixed, [P.flaky]);
  });

  test('without a previous run of that kind there is nothing to compare', async () => {
    const resultsDir = await tempDir('nblc-report-');
    await writeRunDir(resultsDir, 'manual-1', RESULTS, []);
    await writePreviousReport(resultsDir, 'scheduled-1', 'scheduled', '2024-05-01T02:20:00.000Z', allFailing('passed'));
    const report = await writeReport(options(resultsDir, { runId: 'manual-1', kind: 'manual' }));
    assert.equal(report.previousRunId, null);
    assert.deepEqual(report.newlyFailing, []);
    assert.deepEqual(report.fixed, []);
    const { html: page } = await readWritten(path.join(resultsDir, 'manual-1'));
    assert.match(page, /No earlier finished manual run to compare with/);
    assert.doesNotMatch(page, /id="newly-failing"|id="fixed"/);
  });

  test('a previous report written with another key order is still read', async () => {
    const resultsDir = await runAfter(
      'merge',
      {
        runId: 'merge-0',
        finishedAt: '2024-04-01T00:00:00.000Z',
        before: { 'a.ipynb': 'failed', 'b.ipynb': 'failed' },
      },
      'merge-2',
      { 'a.ipynb': 'failed', 'b.ipynb': 'passed' },
    );
    // newer, notebooks first: its head shows neither kind nor finishedAt
    const notebooks = [result('a.ipynb', { status: 'passed' }), result('b.ipynb', { status: 'failed' })];
    await writeRawReport(resultsDir, 'merge-1', {
      notebooks,
      finishedAt: '2024-05-01T00:00:00Z',
      kind: 'merge',
      runId: 'merge-1',
    });
    const report = await writeReport(
      options(resultsDir, { runId: 'merge-2', kind: 'merge', paths: ['a.ipynb', 'b.ipynb'] }),
    );
    assert.equal(report.previousRunId, 'merge-1');
    assert.deepEqual(report.newlyFailing, ['a.ipynb']);
    assert.deepEqual(report.fixed, ['b.ipynb']);
  });

  test('a previous report with a long head before its notebooks is still read', async () => {
    const resultsDir = await runAfter(
      'merge',
      { runId: 'merge-0', finishedAt: '2024-04-01T00:00:00.000Z', before: { 'a.ipynb': 'failed' } },
      'merge-2',
      { 'a.ipynb': 'failed' },
    );
    // kind and finishedAt are in the head, "notebooks" is not (more than the peeked bytes before it)
    const long = { runId: 'merge-1', kind: 'merge', finishedAt: '2024-05-01T00:00:00Z', note: 'x'.repeat(40_000) };
    await writeRawReport(resultsDir, 'merge-1', { ...long, notebooks: [result('a.ipynb', { status: 'passed' })] });
    const report = await writeReport(options(resultsDir, { runId: 'merge-2', kind: 'merge', paths: ['a.ipynb'] }));
    assert.equal(report.previousRunId, 'merge-1');
    assert.deepEqual(report.newlyFailing, ['a.ipynb']);
  });

  test('a notebook failing in both runs is neither newly failing nor fixed; without changes the page says so', async () => {
    const resultsDir = await runAfter(
      'scheduled',
      { runId: 'r1', finishedAt: '2024-05-01T00:00:00.000Z', before: { 'a.ipynb': 'timed_out', 'b.ipynb': 'passed' } },
      'r2',
      { 'a.ipynb': 'failed', 'b.ipynb': 'passed' },
    );
    const report = await writeReport(options(resultsDir, { runId: 'r2', paths: ['a.ipynb', 'b.ipynb'] }));
    assert.equal(report.previousRunId, 'r1');
    assert.deepEqual([report.newlyFailing, report.fixed], [[], []]);
    assert.match((await readWritten(path.join(resultsDir, 'r2'))).html, /No change since the previous scheduled run/);
  });
});
