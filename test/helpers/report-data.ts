/**
 * The report tests' main run, as data: its facts, its notebooks (every status, a missing result,
 * hostile names and errors) and the results runNotebook recorded for them.
 */
import path from 'node:path';
import type { NotebookError, NotebookResult, NotebookStatus } from '../../src/domain/runs/model.js';

/** The main run's own facts, as writeReport is given them. */
export const RUN = {
  runId: 'scheduled-2',
  commit: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
  startedAt: '2024-05-02T02:00:00.000Z',
  finishedAt: '2024-05-02T02:17:42.500Z',
  temporalUiUrl: 'http://localhost:8233/namespaces/default/workflows/test-run%3Ascheduled-2/01HX?tab=history&x="1"',
} as const;

export const P = {
  intro: '01 Intro/Hello world.ipynb',
  deep: '02_Science/Galaxies/deep/nested/Ω photometry & "friends" #2.ipynb',
  flaky: '03 Flaky/retry me.ipynb',
  slow: '04_Slow/slow.ipynb',
  input: '05 Input/ask.ipynb',
  invalid: '06 Other/broken.ipynb',
  julia: '06 Other/julia.ipynb',
  died: 'died.ipynb',
  missing: 'zz/missing.ipynb',
} as const;
/** The run's order: sorted as discoverNotebooks sorts (UTF-16 code units). */
export const PATHS = Object.values(P).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
export const DEEP_HREF =
  'executed/02_Science/Galaxies/deep/nested/%CE%A9%20photometry%20%26%20%22friends%22%20%232.ipynb';

export const XSS = '<script>alert("pwned")</script>';
/** BEL, vertical tab, a lone surrogate: not allowed in XML 1.0, so stripped from the report. */
export const CONTROL = '\u0007\u000b\ud800';
export const traceback = (ctl: string) =>
  [
    '---------------------------------------------------------------------------',
    'ValueError                                Traceback (most recent call last)',
    'Cell In[4], line 3',
    '      1 import numpy as np',
    '      2 mags = np.array([21.3, 22.1])',
    `----> 3 if mags.mean() < 20 & flags["ok"] != 'yes':`,
    `      4     raise ValueError(f"bad magnitude <{mags.mean()}> for Å-band${ctl}")`,
    '',
    'File /opt/conda/lib/python3.11/site-packages/astro/<frozen check>.py:12, in check(x)',
    `ValueError: ${XSS} & more — Ω`,
  ].join('\n');
export const EVALUE = `${XSS} & more — Ω`;
export const deepError = (ctl: string): NotebookError => ({
  cell: 4,
  ename: 'ValueError',
  evalue: EVALUE,
  traceback: traceback(ctl),
});
export const stdinError: NotebookError = {
  cell: 2,
  ename: 'StdinNotImplementedError',
  evalue: 'raw_input was called, but this frontend does not support input requests.',
  traceback: 'StdinNotImplementedError: raw_input was called, but this frontend does not support input requests.',
};

export function result(nbPath: string, r: Partial<NotebookResult> & { status: NotebookStatus }): NotebookResult {
  return {
    durationMs: 1234,
    kernel: 'python3',
    cellsTotal: 6,
    cellsRun: 6,
    error: null,
    errors: [],
    timedOutCell: null,
    message: null,
    path: nbPath,
    attempts: 1,
    artifact: path.join('executed', nbPath),
    ...r,
  };
}

/** What runNotebook wrote for each notebook of the main run (none for P.missing). */
export const RESULTS: NotebookResult[] = [
  result(P.intro, { status: 'passed', durationMs: 850 }),
  result(P.deep, {
    status: 'failed',
    durationMs: 61_250,
    error: deepError(CONTROL),
    errors: [
      {
        cell: 1,
        ename: 'ZeroDivisionError',
        evalue: 'expected',
        traceback: 'ZeroDivisionError: expected',
        expected: true,
      },
      deepError(CONTROL),
    ],
    message: `cell 4: ValueError: ${EVALUE}`,
  }),
  result(P.flaky, { status: 'passed', attempts: 2, flaky: true, durationMs: 5_000 }),
  result(P.slow, {
    status: 'timed_out',
    durationMs: 600_000,
    cellsRun: 3,
    timedOutCell: 3,
    message: 'cell 3 exceeded the cell timeout of 600s',
  }),
  result(P.input, {
    status: 'needs_input',
    error: stdinError,
    errors: [stdinError],
    message: `cell 2: ${stdinError.ename}: ${stdinError.evalue}`,
  }),
  result(P.invalid, {
    status: 'invalid_notebook',
    kernel: null,
    cellsTotal: 0,
    cellsRun: 0,
    message: 'invalid notebook: NotJSONError: Notebook does not appear to be JSON: \'{\\n "cells": [\'',
  }),
  result(P.julia, { status: 'no_such_kernel', kernel: 'julia-1.9', cellsRun: 0, message: 'no such kernel: julia-1.9' }),
  result(P.died, { status: 'kernel_died', attempts: 3, cellsRun: 2, message: 'kernel died while executing cell 2' }),
];
/** Executor artifacts: none for an invalid notebook (the executor writes none) or a missing result. */
export const WITH_ARTIFACT = RESULTS.filter((r) => r.status !== 'invalid_notebook').map((r) => r.path);

export const allFailing = (status: NotebookStatus) => Object.fromEntries(PATHS.map((p) => [p, status]));
