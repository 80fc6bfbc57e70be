/**
 * The stores that read a run's directory (report-files.ts, run-reports.ts) refuse the run IDs the
 * run-directory rule refuses, even when a directory of that name exists and holds a report.
 *   node --import tsx --test test/storage/runs/run-ids.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fs from 'node:fs/promises';
import path from 'node:path';
import { openReportFile } from '../../../src/storage/runs/report-files.js';
import { readExecutedNotebook, readReportExtras } from '../../../src/storage/runs/run-reports.js';
import { tempDir } from '../../helpers/fixtures.js';

/** A run directory as the report activity leaves it: a report with extras, one executed notebook. */
async function runDir(resultsDir: string, runId: string): Promise<void> {
  const dir = path.join(resultsDir, runId);
  await fs.mkdir(path.join(dir, 'executed'), { recursive: true });
  await fs.writeFile(path.join(dir, 'report.json'), JSON.stringify({ temporalUiUrl: 'http://ui/x' }));
  await fs.writeFile(path.join(dir, 'report.html'), '<p>report</p>');
  await fs.writeFile(path.join(dir, 'executed', 'a.ipynb'), JSON.stringify({ cells: [] }));
}

test('a run directory with a plain name is read; one named only dots or hidden is not', async () => {
  const resultsDir = await tempDir();
  for (const id of ['run-1', '...', '.hidden']) await runDir(resultsDir, id);

  assert.deepEqual(await readReportExtras(resultsDir, 'run-1'), { temporalUiUrl: 'http://ui/x' });
  assert.deepEqual(await readExecutedNotebook(resultsDir, 'run-1', 'a.ipynb'), { notebook: { cells: [] } });
  const file = await openReportFile(resultsDir, 'run-1', ['report.html']);
  assert.ok(file);
  await file.close();

  for (const id of ['...', '.hidden']) {
    assert.equal(await readReportExtras(resultsDir, id), null, id);
    assert.deepEqual(await readExecutedNotebook(resultsDir, id, 'a.ipynb'), { problem: 'missing' }, id);
    assert.equal(await openReportFile(resultsDir, id, ['report.html']), null, id);
  }
});
