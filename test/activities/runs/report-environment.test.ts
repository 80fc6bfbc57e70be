/**
 * The report's environment provenance (src/activities/runs/report/environment.ts): runs written by
 * the real report writer and recorded by the real recordRun in an SQLite history; the next run's
 * report compares its environment and explains its newly failing notebooks in report.json,
 * report.html, the workflow's result and `nblc test --wait`'s text; a history that does not
 * answer costs only the comparisons.
 *
 *   node --import tsx --test test/activities/runs/report-environment.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { createApp } from '../../../src/api/app.js';
import { createLogger } from '../../../src/platform/logger.js';
import { loginCookie } from '../../helpers/dashboard.js';
import { fingerprintOf } from '../../../src/activities/runs/environment.js';
import { createHistoryActivities } from '../../../src/activities/runs/history.js';
import { createRunActivities } from '../../../src/activities/runs/index.js';
import { writeReport } from '../../../src/activities/runs/report/index.js';
import { closeHistoryStores } from '../../../src/storage/runs/history-store.js';
import { readReportExtras } from '../../../src/storage/runs/run-reports.js';
import type { RunEnvironment } from '../../../src/domain/runs/environment.js';
import type { NotebookResult, NotebookStatus, TestReport } from '../../../src/domain/runs/model.js';
import { summaryText } from '../../../src/domain/runs/summary.js';
import { runActivity } from '../../helpers/activities.js';
import { tempDir, testConfig } from '../../helpers/fixtures.js';

after(closeHistoryStores);

const TOKEN = 'nblc-test-operator-token-0123456789abcdef';

const measured = (python: string, packages: Record<string, string>): RunEnvironment => ({
  kernel: 'python3',
  python,
  packages,
  fingerprint: fingerprintOf({ python, packages }),
  measuredAt: '2025-01-01T00:00:00.000Z',
});

function result(p: string, status: NotebookStatus, blob: string): NotebookResult {
  const error = status === 'passed' ? null : { cell: 1, ename: 'ImportError', evalue: 'numpy.core', traceback: '' };
  return {
    ...{ status, durationMs: 10, kernel: 'python3', cellsTotal: 2, cellsRun: 2, timedOutCell: null },
    ...{ error, errors: error ? [error] : [], message: error && 'cell 1: ImportError: numpy.core' },
    ...{ path: p, attempts: 1, artifact: `executed/${p}`, blob },
  };
}

/** A run's directory as the workflow leaves it before its report: results and environment.json. */
async function runDir(resultsDir: string, runId: string, results: NotebookResult[], env?: RunEnvironment) {
  for (const r of results) {
    const file = path.join(resultsDir, runId, 'results', `${r.path}.json`);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, JSON.stringify(r));
  }
  if (env) await fs.writeFile(path.join(resultsDir, runId, 'environment.json'), JSON.stringify(env));
}

const times = (hour: number) => ({
  startedAt: `2025-01-01T0${hour}:00:00.000Z`,
  finishedAt: `2025-01-01T0${hour}:30:00.000Z`,
});
const BLOB = { a: 'a'.repeat(40), b: 'b'.repeat(40), b2: 'c'.repeat(40) };

test('a changed environment is listed, and each newly failing notebook says what changed since it passed', async () => {
  const dir = await tempDir('nblc-report-env-');
  const config = testConfig(dir, 'file:///nonexistent.git', { NBLC_API_TOKEN: TOKEN });
  const { resultsDir } = config;
  const runs = createRunActivities(config);
  /** Run n of a.ipynb and b.ipynb: its directory, then its report (the activity, as the workflow calls it). */
  const reportRun = async (n: number, results: NotebookResult[], env: RunEnvironment) => {
    await runDir(resultsDir, `scheduled-${n}`, results, env);
    const runId = `scheduled-${n}`;
    const paths = results.map((nb) => nb.path);
    return runActivity(runs.writeRunReport, {
      runId,
      commit: String(n).repeat(40),
      kind: 'scheduled',
      paths,
      ...times(n),
    });
  };
  const before = measured('3.11.7', { astropy: '5.3', numpy: '1.26.4', old: '0.1' });
  await reportRun(1, [result('a.ipynb', 'passed', BLOB.a), result('b.ipynb', 'passed', BLOB.b)], before);
  await runActivity(createHistoryActivities(config).recordRun, { runId: 'scheduled-1' });
  const now = measured('3.12.1', { astropy: '5.3', dl: '1.2', numpy: '2.0.0' });
  const r = await reportRun(2, [result('a.ipynb', 'failed', BLOB.a), result('b.ipynb', 'failed', BLOB.b2)], now);

  const report = JSON.parse(await fs.readFile(path.join(r.reportDir, 'report.json'), 'utf8')) as TestReport;
  const changes = [
    { package: 'python', from: '3.11.7', to: '3.12.1' },
    { package: 'dl', from: null, to: '1.2' },
    { package: 'numpy', from: '1.26.4', to: '2.0.0' },
    { package: 'old', from: '0.1', to: null },
  ];
  assert.deepEqual(report.environment, now);
  assert.equal(report.environmentComparedWith, 'scheduled-1');
  assert.deepEqual(report.environmentChanges, changes);
  const lastPassed = { runId: 'scheduled-1', commit: '1'.repeat(40) };
  assert.deepEqual(report.newlyFailingChanges, [
    { path: 'a.ipynb', lastPassed, notebook: 'same', environment: 'changed' },
    { path: 'b.ipynb', lastPassed, notebook: 'changed', environment: 'changed' },
  ]);
  const head = (await fs.readFile(path.join(r.reportDir, 'report.json'), 'utf8')).split('"notebooks"')[0]!;
  assert.doesNotMatch(head, /"environment"/, 'the head of the report (peekReport) stays small');

  // The dashboard reads the same rows from the report.
  assert.deepEqual((await readReportExtras(resultsDir, 'scheduled-2'))?.environmentChanges, changes);

  const html = await fs.readFile(path.join(r.reportDir, 'report.html'), 'utf8');
  assert.match(html, /4 changes since run <code>scheduled-1<\/code>/);
  assert.match(html, /<tr><td>numpy<\/td><td>1\.26\.4<\/td><td>2\.0\.0<\/td><\/tr>/);
  assert.match(html, /<tr><td>dl<\/td><td>–<\/td><td>1\.2<\/td><\/tr>/);
  assert.match(html, /a\.ipynb<\/a>.*— the environment changed since it last passed \(scheduled-1, 111111111111\)/);

  // The dashboard's overview, from the history and the latest report.
  await runActivity(createHistoryActivities(config).recordRun, { runId: 'scheduled-2' });
  const app = createApp({ client: {} as Client, config, logger: createLogger('silent') });
  const res = await app.request('/', { headers: { cookie: await loginCookie(app, TOKEN) } });
  const overview = await res.text();
  assert.match(overview, /<h2>Environment changes<\/h2>/);
  assert.match(overview, /<td class="mono">numpy<\/td><td class="mono">1\.26\.4<\/td><td class="mono">2\.0\.0<\/td>/);
  assert.match(overview, /a\.ipynb<\/span><\/a><div class="muted">the environment changed since it last passed/);

  assert.deepEqual(r.environment, { fingerprint: now.fingerprint, python: '3.12.1', packages: 3 });
  assert.equal(r.environmentChangeCount, 4);
  const text = summaryText(r);
  assert.match(text, /a\.ipynb: the environment changed since it last passed/);
  assert.match(text, /b\.ipynb: the notebook and the environment changed since it last passed/);
  assert.match(
    text,
    /4 changes since scheduled-1:\n {4}Python: 3\.11\.7 → 3\.12\.1\n {4}dl: added 1\.2\n {4}numpy: 1\.26\.4 → 2\.0\.0\n {4}old: removed 0\.1/,
  );
});

test('a history that does not answer, and a probe that failed: the report is written all the same', async () => {
  const resultsDir = path.join(await tempDir('nblc-report-env-'), 'results');
  await runDir(resultsDir, 'manual-1', [result('a.ipynb', 'passed', BLOB.a)]);
  await writeReport({
    resultsDir,
    runId: 'manual-1',
    commit: '1'.repeat(40),
    kind: 'manual',
    paths: ['a.ipynb'],
    ...times(1),
  });
  await runDir(resultsDir, 'manual-2', [result('a.ipynb', 'failed', BLOB.a)]);
  const report = await writeReport({
    resultsDir,
    runId: 'manual-2',
    commit: '2'.repeat(40),
    kind: 'manual',
    paths: ['a.ipynb'],
    ...times(2),
    environmentError: 'probeEnvironment: activity StartToClose timeout',
    environment: { kernel: 'python3', store: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432')) },
  });
  assert.deepEqual(report.newlyFailing, ['a.ipynb']);
  assert.equal(report.environment?.fingerprint, null);
  assert.equal(report.environment?.error, 'not measured: probeEnvironment: activity StartToClose timeout');
  assert.equal(report.historyError, 'the notebook history did not answer: connect ECONNREFUSED 127.0.0.1:5432');
  assert.equal(report.newlyFailingChanges, undefined);
  const html = await fs.readFile(path.join(resultsDir, 'manual-2', 'report.html'), 'utf8');
  assert.match(html, /Kernel <code>python3<\/code>: not measured: probeEnvironment: activity StartToClose timeout/);
  assert.match(html, /the notebook history did not answer/);
});
