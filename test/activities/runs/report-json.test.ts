/**
 * report.json: what writeReport returns and writes, for every notebook; bad input.
 *
 *   node --import tsx --test test/activities/runs/report-json.test.ts
 */
import { ApplicationFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { writeReport } from '../../../src/activities/runs/report/index.js';
import { tempDir } from '../../helpers/fixtures.js';
import { parseXml } from '../../helpers/xml.js';
import { P, PATHS, result, RESULTS, RUN } from '../../helpers/report-data.js';
import { mainRun, options, readWritten } from '../../helpers/report-run.js';

describe('report.json', () => {
  test('is the TestReport of every notebook in run order, with the counts', async () => {
    const { report, json } = await mainRun();
    assert.deepEqual(JSON.parse(json), report, 'the file is what writeReport returns');
    assert.deepEqual(Object.keys(report), [
      'runId',
      'commit',
      'kind',
      'startedAt',
      'finishedAt',
      'counts',
      'causes',
      'notebooks',
      'newlyFailing',
      'fixed',
      'previousRunId',
      'temporalUiUrl',
    ]);
    assert.equal(report.runId, 'scheduled-2');
    assert.equal(report.commit, RUN.commit);
    assert.equal(report.kind, 'scheduled');
    assert.equal(report.startedAt, RUN.startedAt);
    assert.equal(report.finishedAt, RUN.finishedAt);
    assert.equal(report.temporalUiUrl, RUN.temporalUiUrl);
    assert.deepEqual(report.counts, {
      total: 9,
      flaky: 1,
      passed: 2,
      failed: 1,
      timed_out: 1,
      kernel_died: 2,
      needs_input: 1,
      no_such_kernel: 1,
      invalid_notebook: 1,
      out_of_memory: 0,
      skipped: 0,
    });
    assert.deepEqual(
      report.notebooks.map((n) => n.path),
      PATHS,
    );
    // each recorded result comes through whole (the control characters too: report.json is JSON)
    for (const r of RESULTS) {
      assert.deepEqual(
        report.notebooks.find((n) => n.path === r.path),
        r,
        r.path,
      );
    }
  });

  test('a notebook without a result file is reported as kernel_died, not dropped', async () => {
    const { report } = await mainRun();
    // the whole result: result() spells out every other field (no error, no cells, the artifact's path)
    assert.deepEqual(
      report.notebooks.find((n) => n.path === P.missing),
      result(P.missing, {
        status: 'kernel_died',
        durationMs: 0,
        kernel: null,
        cellsTotal: 0,
        cellsRun: 0,
        attempts: 0,
        message: 'no result was recorded',
      }),
    );
    assert.equal(report.notebooks.find((n) => n.path === P.missing)?.artifact, `executed/${P.missing}`);
  });

  test('corrupt, unknown and unsafe result files are reported too, each with the reason', async () => {
    const resultsDir = await tempDir('nblc-report-');
    const runDir = path.join(resultsDir, 'r1');
    await fs.mkdir(path.join(runDir, 'results', 'dir.ipynb.json'), { recursive: true });
    await fs.writeFile(path.join(runDir, 'results', 'truncated.ipynb.json'), '{"status": "passed", "durat');
    await fs.writeFile(path.join(runDir, 'results', 'odd.ipynb.json'), '{"status": "exploded"}');
    // a result whose own fields are off: the run's path wins, extra fields are dropped
    await fs.writeFile(
      path.join(runDir, 'results', 'fine.ipynb.json'),
      JSON.stringify({ ...result('elsewhere.ipynb', { status: 'passed' }), secret: 'x', artifact: '../../etc/passwd' }),
    );
    await fs.writeFile(
      path.join(resultsDir, 'outside.ipynb.json'),
      JSON.stringify(result('outside.ipynb', { status: 'passed' })),
    );
    const report = await writeReport(
      options(resultsDir, {
        runId: 'r1',
        paths: ['dir.ipynb', 'truncated.ipynb', 'odd.ipynb', 'fine.ipynb', '../../outside.ipynb', 'fine.ipynb'],
      }),
    );
    const byPath = Object.fromEntries(report.notebooks.map((n) => [n.path, n]));
    assert.deepEqual(
      Object.keys(byPath),
      ['dir.ipynb', 'truncated.ipynb', 'odd.ipynb', 'fine.ipynb', '../../outside.ipynb'],
      'each once, in order',
    );
    assert.equal(report.notebooks.length, 5, 'a path listed twice is reported once');
    assert.match(byPath['dir.ipynb']!.message!, /unreadable: it is a directory/);
    assert.match(byPath['truncated.ipynb']!.message!, /unreadable: .*JSON/);
    assert.match(byPath['odd.ipynb']!.message!, /unreadable: unknown status "exploded"/);
    assert.match(byPath['../../outside.ipynb']!.message!, /not read: the path is not a relative path inside the run/);
    for (const p of ['dir.ipynb', 'truncated.ipynb', 'odd.ipynb', '../../outside.ipynb'])
      assert.equal(byPath[p]!.status, 'kernel_died', p);
    assert.deepEqual(byPath['fine.ipynb'], result('fine.ipynb', { status: 'passed', artifact: 'executed/fine.ipynb' }));
    assert.deepEqual(report.counts, { ...report.counts, total: 5, passed: 1, kernel_died: 4 });
  });

  test('an empty run has a report too', async () => {
    const resultsDir = await tempDir('nblc-report-');
    const report = await writeReport(options(resultsDir, { runId: 'empty', paths: [], temporalUiUrl: undefined }));
    assert.equal(report.counts.total, 0);
    assert.deepEqual(report.notebooks, []);
    assert.equal('temporalUiUrl' in report, false);
    const written = await readWritten(path.join(resultsDir, 'empty'));
    assert.deepEqual(JSON.parse(written.json), report);
    assert.equal(parseXml(written.junit).attrs.tests, '0');
    parseXml(written.html);
    assert.match(written.html, /This run had no notebooks/);
  });

  test('bad input is rejected as non-retryable, nothing is written', async () => {
    const resultsDir = await tempDir('nblc-report-');
    for (const over of [
      { runId: '..' },
      { runId: 'a/b' },
      { runId: '' },
      { startedAt: 'yesterday' },
      { finishedAt: '' },
    ]) {
      await assert.rejects(writeReport(options(resultsDir, over)), (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure, String(err));
        assert.equal(err.type, 'BadReportInput');
        assert.equal(err.nonRetryable, true);
        return true;
      });
    }
    assert.deepEqual(await fs.readdir(resultsDir), []);
  });
});
