/**
 * Writing a run's report again (a retried activity) converges to the same files.
 *
 *   node --import tsx --test test/activities/runs/report-rerun.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { writeReport } from '../../../src/activities/runs/report/index.js';
import { tempDir } from '../../helpers/fixtures.js';
import { allFailing, RESULTS, WITH_ARTIFACT } from '../../helpers/report-data.js';
import { options, readWritten, writeHistory, writePreviousReport, writeRunDir } from '../../helpers/report-run.js';

describe('rerunning', () => {
  test("converges to identical files, over a half-written page and a crashed attempt's temporary file", async () => {
    const resultsDir = await tempDir('nblc-report-');
    await writeRunDir(resultsDir, 'scheduled-2', RESULTS, WITH_ARTIFACT);
    await writeHistory(resultsDir);
    const runDir = path.join(resultsDir, 'scheduled-2');
    // A workflow ID used again (after its first execution closed) gets the same run directory,
    // with the earlier execution's report in it: that is not "the previous run", or a retry
    // would compare with the report it has just written.
    await writePreviousReport(resultsDir, 'scheduled-2', 'scheduled', '2024-05-01T23:50:00.000Z', allFailing('failed'));
    const first = await writeReport(options(resultsDir));
    assert.equal(first.previousRunId, 'scheduled-1');
    const files = await readWritten(runDir);
    const entries = (await fs.readdir(runDir)).sort();
    assert.deepEqual(
      entries,
      ['executed', 'junit.xml', 'report.html', 'report.json', 'results'],
      'no temporary files left',
    );

    // its own earlier report.json must not become "the previous run"
    const second = await writeReport(options(resultsDir));
    assert.deepEqual(second, first);
    assert.deepEqual(await readWritten(runDir), files);

    await fs.writeFile(path.join(runDir, 'report.html'), files.html.slice(0, 100));
    await fs.writeFile(path.join(runDir, '.report.json.123-abcd.tmp'), '{"half');
    const third = await writeReport(options(resultsDir));
    assert.deepEqual(third, first);
    assert.deepEqual(await readWritten(runDir), files);
  });
});
