/**
 * The report tests' run directories: results as runNotebook leaves them, earlier runs' reports to
 * compare with, writeReport's options, and the main run written once.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeReport, type WriteReportOptions } from '../../src/activities/runs/report/index.js';
import type { NotebookResult, NotebookStatus, RunKind, TestReport } from '../../src/domain/runs/model.js';
import { allFailing, P, PATHS, result, RESULTS, RUN, WITH_ARTIFACT } from './report-data.js';
import { tempDir } from './fixtures.js';

export async function writeRunDir(
  resultsDir: string,
  runId: string,
  results: NotebookResult[],
  artifacts: string[],
): Promise<void> {
  const runDir = path.join(resultsDir, runId);
  for (const r of results) {
    const file = path.join(runDir, 'results', `${r.path}.json`);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, JSON.stringify(r, null, 1)); // as runNotebook writes it
  }
  for (const a of artifacts) {
    const file = path.join(runDir, 'executed', a);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n');
  }
}

/** An earlier run's report.json, as writeReport writes it (only what the comparison reads matters). */
export async function writePreviousReport(
  resultsDir: string,
  runId: string,
  kind: RunKind,
  finishedAt: string,
  statuses: Record<string, NotebookStatus>,
): Promise<void> {
  const notebooks = Object.entries(statuses).map(([p, status]) => result(p, { status }));
  const report: TestReport = {
    runId,
    commit: RUN.commit,
    kind,
    startedAt: new Date(Date.parse(finishedAt) - 3_600_000).toISOString(),
    finishedAt,
    counts: {
      total: 0,
      flaky: 0,
      passed: 0,
      failed: 0,
      timed_out: 0,
      kernel_died: 0,
      needs_input: 0,
      no_such_kernel: 0,
      invalid_notebook: 0,
      out_of_memory: 0,
      skipped: 0,
    },
    causes: [],
    notebooks,
    newlyFailing: [],
    fixed: [],
    previousRunId: null,
  };
  await fs.mkdir(path.join(resultsDir, runId), { recursive: true });
  await fs.writeFile(path.join(resultsDir, runId, 'report.json'), JSON.stringify(report, null, 2));
}

/** The previous scheduled run the main run must compare with, and every run it must not. */
export async function writeHistory(resultsDir: string): Promise<void> {
  await writePreviousReport(resultsDir, 'scheduled-1', 'scheduled', '2024-05-01T02:20:00.000Z', {
    [P.intro]: 'passed',
    [P.deep]: 'passed',
    [P.flaky]: 'failed',
    [P.slow]: 'timed_out',
    [P.input]: 'passed',
    [P.invalid]: 'passed',
    [P.julia]: 'no_such_kernel',
    [P.missing]: 'passed',
    'gone/removed.ipynb': 'failed',
  });
  // older run of the same kind
  await writePreviousReport(resultsDir, 'scheduled-0', 'scheduled', '2024-04-30T02:20:00.000Z', allFailing('failed'));
  // newer, but another kind
  await writePreviousReport(resultsDir, 'merge-5', 'merge', '2024-05-02T01:00:00.000Z', allFailing('passed'));
  // same kind, finished after this run started
  await writePreviousReport(
    resultsDir,
    'scheduled-later',
    'scheduled',
    '2024-05-02T03:00:00.000Z',
    allFailing('passed'),
  );
  // newest of the same kind, but corrupt: a truncated report (its head is fine) and garbage
  await writePreviousReport(
    resultsDir,
    'scheduled-truncated',
    'scheduled',
    '2024-05-01T23:00:00.000Z',
    allFailing('passed'),
  );
  const truncated = path.join(resultsDir, 'scheduled-truncated', 'report.json');
  const full = await fs.readFile(truncated, 'utf8');
  await fs.writeFile(truncated, full.slice(0, Math.floor(full.length * 0.7)));
  await fs.mkdir(path.join(resultsDir, 'scheduled-garbage'));
  await fs.writeFile(
    path.join(resultsDir, 'scheduled-garbage', 'report.json'),
    '{"kind": "scheduled", "finishedAt": "2024-05-01T23:30:00Z", "notebooks": [{"path": 1}]}',
  );
  // same kind and newest, but a notebook with an unknown status: not a report we can compare with
  await writePreviousReport(resultsDir, 'scheduled-badstatus', 'scheduled', '2024-05-01T23:40:00.000Z', {
    [P.intro]: 'exploded' as NotebookStatus,
  });
  // no report at all, and a stray file
  await fs.mkdir(path.join(resultsDir, 'scheduled-running', 'results'), { recursive: true });
  await fs.writeFile(path.join(resultsDir, 'stray.txt'), 'not a run');
}

export function options(resultsDir: string, over: Partial<WriteReportOptions> = {}): WriteReportOptions {
  return {
    resultsDir,
    runId: 'scheduled-2',
    commit: RUN.commit,
    kind: 'scheduled',
    startedAt: RUN.startedAt,
    finishedAt: RUN.finishedAt,
    paths: PATHS,
    temporalUiUrl: RUN.temporalUiUrl,
    ...over,
  };
}

/** Writes the report of a manual run of `paths` that has just finished (the sandbox system tests'). */
export function reportNow(resultsDir: string, runId: string, paths: string[]): Promise<TestReport> {
  const now = new Date().toISOString();
  return writeReport({
    resultsDir,
    runId,
    commit: 'a'.repeat(40),
    kind: 'manual',
    startedAt: now,
    finishedAt: now,
    paths,
  });
}

export interface Written {
  resultsDir: string;
  runDir: string;
  report: TestReport;
  json: string;
  junit: string;
  html: string;
}

export async function readWritten(runDir: string) {
  const read = (f: string) => fs.readFile(path.join(runDir, f), 'utf8');
  return { json: await read('report.json'), junit: await read('junit.xml'), html: await read('report.html') };
}

/** The main run: every status, a missing result, a history to compare with. Written once. */
let main: Promise<Written> | undefined;
export function mainRun(): Promise<Written> {
  main ??= (async () => {
    const resultsDir = await tempDir('nblc-report-');
    await writeRunDir(resultsDir, 'scheduled-2', RESULTS, WITH_ARTIFACT);
    await writeHistory(resultsDir);
    const report = await writeReport(options(resultsDir));
    const runDir = path.join(resultsDir, 'scheduled-2');
    return { resultsDir, runDir, report, ...(await readWritten(runDir)) };
  })();
  return main;
}

/** A finished run directory with its results and report, as the workflow leaves it for recordRun. */
export async function finishedRun(
  resultsDir: string,
  run: { runId: string; kind: RunKind; commit: string; finishedAt: string },
  results: NotebookResult[],
): Promise<void> {
  for (const r of results) {
    const file = path.join(resultsDir, run.runId, 'results', `${r.path}.json`);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, JSON.stringify(r));
  }
  await writeReport({
    resultsDir,
    ...run,
    startedAt: new Date(Date.parse(run.finishedAt) - 60_000).toISOString(),
    paths: results.map((r) => r.path),
  });
}
