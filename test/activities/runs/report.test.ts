/**
 * The report of a test run: report.json, junit.xml and report.html written by writeReport from
 * real result files in a real run directory, compared with earlier runs' real report.json files.
 *
 *   node --import tsx --test test/activities/runs/report.test.ts
 */
import { ApplicationFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { writeReport, type WriteReportOptions } from '../../../src/activities/runs/report/index.js';
import { html, relativeHref, stripInvalidChars, xmlAttr, xmlText } from '../../../src/activities/runs/report/text.js';
import type { NotebookError, NotebookResult, NotebookStatus, RunKind, TestReport } from '../../../src/runs/model.js';
import { tempDir } from '../../helpers/fixtures.js';

// ---------------------------------------------------------------------------------------------
// A small strict XML reader: enough to prove junit.xml (and report.html, written as well-formed
// XML) are well-formed, and to assert on decoded attributes and text instead of on raw bytes.

type XmlNode = XmlElement | string;
interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  content: XmlNode[];
}

const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeXml(s: string, where: number): string {
  return s.replace(/&([^;&<\s]*)(;?)/g, (m, ref: string, semi: string) => {
    if (!semi) throw new Error(`bare & at ${where}: ${JSON.stringify(s.slice(0, 80))}`);
    if (ref in ENTITIES) return ENTITIES[ref]!;
    const num = /^#(\d+)$/.exec(ref)?.[1] ?? (/^#x([0-9a-fA-F]+)$/.exec(ref) ? parseInt(ref.slice(2), 16) : undefined);
    if (num === undefined) throw new Error(`unknown entity ${m} at ${where}`);
    const ch = String.fromCodePoint(Number(num));
    if (NOT_XML_CHAR.test(ch)) throw new Error(`reference to an illegal character ${m} at ${where}`);
    return ch;
  });
}

function parseXml(src: string): XmlElement {
  const bad = NOT_XML_CHAR.exec(src);
  if (bad) throw new Error(`illegal XML character U+${bad[0].codePointAt(0)!.toString(16)} at ${bad.index}`);
  const doc: XmlElement = { name: '#document', attrs: {}, content: [] };
  const stack = [doc];
  const openTag = /<([A-Za-z][\w.:-]*)((?:\s+[A-Za-z_:][\w.:-]*\s*=\s*"[^"<]*")*)\s*(\/?)>/y;
  const closeTag = /<\/([A-Za-z][\w.:-]*)\s*>/y;
  let i = 0;
  while (i < src.length) {
    const lt = src.indexOf('<', i);
    const text = src.slice(i, lt < 0 ? src.length : lt);
    if (text.includes(']]>')) throw new Error(`"]]>" in text at ${i}`);
    if (text) stack.at(-1)!.content.push(decodeXml(text, i));
    if (lt < 0) break;
    const skipTo = (end: string) => {
      const e = src.indexOf(end, lt);
      if (e < 0) throw new Error(`unterminated markup at ${lt}`);
      return e + end.length;
    };
    if (src.startsWith('<?', lt)) i = skipTo('?>');
    else if (src.startsWith('<!--', lt)) i = skipTo('-->');
    else if (/^<!doctype /i.test(src.slice(lt, lt + 10))) i = skipTo('>');
    else if (src.startsWith('</', lt)) {
      closeTag.lastIndex = lt;
      const m = closeTag.exec(src);
      if (!m) throw new Error(`malformed end tag at ${lt}: ${src.slice(lt, lt + 60)}`);
      const open = stack.pop();
      if (!open || open === doc || open.name !== m[1]) throw new Error(`</${m[1]}> at ${lt} closes <${open?.name}>`);
      i = lt + m[0].length;
    } else {
      openTag.lastIndex = lt;
      const m = openTag.exec(src);
      if (!m) throw new Error(`malformed tag at ${lt}: ${src.slice(lt, lt + 60)}`);
      const el: XmlElement = { name: m[1]!, attrs: {}, content: [] };
      for (const a of m[2]!.matchAll(/([A-Za-z_:][\w.:-]*)\s*=\s*"([^"<]*)"/g)) {
        if (a[1]! in el.attrs) throw new Error(`duplicate attribute ${a[1]} at ${lt}`);
        el.attrs[a[1]!] = decodeXml(a[2]!.replace(/[\t\n\r]/g, ' '), lt); // attribute-value normalization
      }
      stack.at(-1)!.content.push(el);
      if (!m[3]) stack.push(el);
      i = lt + m[0].length;
    }
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack.at(-1)!.name}>`);
  const roots = doc.content.filter((n): n is XmlElement => typeof n !== 'string');
  if (roots.length !== 1) throw new Error(`${roots.length} root elements`);
  if (doc.content.some((n) => typeof n === 'string' && n.trim())) throw new Error('text outside the root element');
  return roots[0]!;
}

const elements = (el: XmlElement) => el.content.filter((n): n is XmlElement => typeof n !== 'string');
function findAll(el: XmlElement, pred: (e: XmlElement) => boolean): XmlElement[] {
  return elements(el).flatMap((c) => [...(pred(c) ? [c] : []), ...findAll(c, pred)]);
}
function findOne(el: XmlElement, pred: (e: XmlElement) => boolean, what: string): XmlElement {
  const found = findAll(el, pred);
  assert.equal(found.length, 1, `exactly one ${what}`);
  return found[0]!;
}
const textOf = (el: XmlElement): string => el.content.map((n) => (typeof n === 'string' ? n : textOf(n))).join('');
const hasClass = (el: XmlElement, cls: string) => (el.attrs.class ?? '').split(/\s+/).includes(cls);

describe('the XML reader of these tests', () => {
  test('rejects what is not well-formed', () => {
    assert.equal(textOf(parseXml('<a x="1 &amp; 2"><b>&lt;&#10;</b>t</a>')), '<\nt');
    for (const bad of [
      '<a>&</a>',
      '<a><b></a></b>',
      '<a>',
      '<a x="<"/>',
      '<a x=1/>',
      '<a/><b/>',
      '<a>\u0007</a>',
      '<a>&bogus;</a>',
      '<a x="1" x="2"/>',
    ]) {
      assert.throws(() => parseXml(bad), `${JSON.stringify(bad)} is rejected`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Fixtures: a run directory as runNotebook leaves it, and earlier runs' reports

const COMMIT = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const STARTED = '2024-05-02T02:00:00.000Z';
const FINISHED = '2024-05-02T02:17:42.500Z';
const UI_URL = 'http://localhost:8233/namespaces/default/workflows/test-run%3Ascheduled-2/01HX?tab=history&x="1"';

const P = {
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
const PATHS = Object.values(P).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const DEEP_HREF = 'executed/02_Science/Galaxies/deep/nested/%CE%A9%20photometry%20%26%20%22friends%22%20%232.ipynb';

const XSS = '<script>alert("pwned")</script>';
/** BEL, vertical tab, a lone surrogate: not allowed in XML 1.0, so stripped from the report. */
const CONTROL = '\u0007\u000b\ud800';
const traceback = (ctl: string) =>
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
const EVALUE = `${XSS} & more — Ω`;
const deepError = (ctl: string): NotebookError => ({
  cell: 4,
  ename: 'ValueError',
  evalue: EVALUE,
  traceback: traceback(ctl),
});
const stdinError: NotebookError = {
  cell: 2,
  ename: 'StdinNotImplementedError',
  evalue: 'raw_input was called, but this frontend does not support input requests.',
  traceback: 'StdinNotImplementedError: raw_input was called, but this frontend does not support input requests.',
};

function result(nbPath: string, r: Partial<NotebookResult> & { status: NotebookStatus }): NotebookResult {
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
const RESULTS: NotebookResult[] = [
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
const WITH_ARTIFACT = RESULTS.filter((r) => r.status !== 'invalid_notebook').map((r) => r.path);

async function writeRunDir(
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
async function writePreviousReport(
  resultsDir: string,
  runId: string,
  kind: RunKind,
  finishedAt: string,
  statuses: Record<string, NotebookStatus>,
): Promise<void> {
  const notebooks = Object.entries(statuses).map(([p, status]) => result(p, { status }));
  const report: TestReport = {
    runId,
    commit: COMMIT,
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

const allFailing = (status: NotebookStatus) => Object.fromEntries(PATHS.map((p) => [p, status]));

/** The previous scheduled run the main run must compare with, and every run it must not. */
async function writeHistory(resultsDir: string): Promise<void> {
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

function options(resultsDir: string, over: Partial<WriteReportOptions> = {}): WriteReportOptions {
  return {
    resultsDir,
    runId: 'scheduled-2',
    commit: COMMIT,
    kind: 'scheduled',
    startedAt: STARTED,
    finishedAt: FINISHED,
    paths: PATHS,
    temporalUiUrl: UI_URL,
    ...over,
  };
}

interface Written {
  resultsDir: string;
  runDir: string;
  report: TestReport;
  json: string;
  junit: string;
  html: string;
}

async function readWritten(runDir: string) {
  const read = (f: string) => fs.readFile(path.join(runDir, f), 'utf8');
  return { json: await read('report.json'), junit: await read('junit.xml'), html: await read('report.html') };
}

/** The main run: every status, a missing result, a history to compare with. Written once. */
let main: Promise<Written> | undefined;
function mainRun(): Promise<Written> {
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

// ---------------------------------------------------------------------------------------------

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
    assert.equal(report.commit, COMMIT);
    assert.equal(report.kind, 'scheduled');
    assert.equal(report.startedAt, STARTED);
    assert.equal(report.finishedAt, FINISHED);
    assert.equal(report.temporalUiUrl, UI_URL);
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
    assert.deepEqual(
      report.notebooks.find((n) => n.path === P.missing),
      {
        status: 'kernel_died',
        durationMs: 0,
        kernel: null,
        cellsTotal: 0,
        cellsRun: 0,
        error: null,
        errors: [],
        timedOutCell: null,
        message: 'no result was recorded',
        path: P.missing,
        attempts: 0,
        artifact: `executed/${P.missing}`,
      },
    );
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

describe('junit.xml', () => {
  test('is well-formed with the run totals on <testsuites> and <testsuite>', async () => {
    const { junit } = await mainRun();
    assert.ok(junit.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n'));
    const root = parseXml(junit);
    assert.equal(root.name, 'testsuites');
    const [suite, ...more] = elements(root);
    assert.equal(more.length, 0, 'one <testsuite>');
    assert.equal(suite!.name, 'testsuite');
    const totals = { tests: '9', failures: '2', errors: '5', skipped: '0', time: '1062.500' };
    assert.deepEqual(suite!.attrs, { name: 'nblc scheduled a1b2c3d', ...totals, timestamp: STARTED });
    assert.deepEqual(root.attrs, { name: 'nblc', ...totals });
    const props = Object.fromEntries(
      findAll(suite!, (e) => e.name === 'property').map((p) => [p.attrs.name, p.attrs.value]),
    );
    assert.deepEqual(props, {
      runId: 'scheduled-2',
      commit: COMMIT,
      kind: 'scheduled',
      startedAt: STARTED,
      finishedAt: FINISHED,
      previousRunId: 'scheduled-1',
      temporalUiUrl: UI_URL,
    });
  });

  test('has one <testcase> per notebook with classname, name and time', async () => {
    const { junit } = await mainRun();
    const cases = findAll(parseXml(junit), (e) => e.name === 'testcase');
    assert.deepEqual(
      cases.map((c) => [c.attrs.classname, c.attrs.name]),
      [
        ['01 Intro', 'Hello world.ipynb'],
        ['02_Science.Galaxies.deep.nested', 'Ω photometry & "friends" #2.ipynb'],
        ['03 Flaky', 'retry me.ipynb'],
        ['04_Slow', 'slow.ipynb'],
        ['05 Input', 'ask.ipynb'],
        ['06 Other', 'broken.ipynb'],
        ['06 Other', 'julia.ipynb'],
        ['(root)', 'died.ipynb'],
        ['zz', 'missing.ipynb'],
      ],
    );
    assert.deepEqual(
      cases.map((c) => c.attrs.time),
      ['0.850', '61.250', '5.000', '600.000', '1.234', '1.234', '1.234', '1.234', '0.000'],
    );
  });

  test('failed and needs_input are <failure>s with the traceback; a passed notebook has no child', async () => {
    const { junit } = await mainRun();
    const cases = findAll(parseXml(junit), (e) => e.name === 'testcase');
    const at = (name: string) => cases.find((c) => c.attrs.name === name)!;
    assert.deepEqual(elements(at('Hello world.ipynb')), []);

    const [failure, ...rest] = elements(at('Ω photometry & "friends" #2.ipynb'));
    assert.equal(rest.length, 0);
    assert.equal(failure!.name, 'failure');
    assert.deepEqual(failure!.attrs, { message: `ValueError: ${EVALUE}`, type: 'ValueError' });
    const body = textOf(failure!);
    assert.ok(body.includes(traceback('')), 'the whole traceback, control characters stripped');
    assert.ok(body.startsWith(`cell 4: ValueError: ${EVALUE}`), 'the executor message first');
    assert.ok(!body.includes('ZeroDivisionError'), 'expected errors are not failures');

    const [input] = elements(at('ask.ipynb'));
    assert.equal(input!.name, 'failure');
    assert.deepEqual(input!.attrs, {
      message: `${stdinError.ename}: ${stdinError.evalue}`,
      type: 'StdinNotImplementedError',
    });
  });

  test('timed_out, kernel_died, no_such_kernel, invalid_notebook are <error>s typed by status', async () => {
    const { junit } = await mainRun();
    const cases = findAll(parseXml(junit), (e) => e.name === 'testcase');
    const only = (name: string) => {
      const kids = elements(cases.find((c) => c.attrs.name === name)!).filter((e) => e.name !== 'system-out');
      assert.equal(kids.length, 1, name);
      return kids[0]!;
    };
    const expected: Array<[string, string, string]> = [
      ['slow.ipynb', 'timed_out', 'cell 3 exceeded the cell timeout of 600s'],
      ['died.ipynb', 'kernel_died', 'kernel died while executing cell 2'],
      ['julia.ipynb', 'no_such_kernel', 'no such kernel: julia-1.9'],
      ['broken.ipynb', 'invalid_notebook', RESULTS.find((r) => r.path === P.invalid)!.message!],
      ['missing.ipynb', 'kernel_died', 'no result was recorded'],
    ];
    for (const [name, type, message] of expected) {
      const el = only(name);
      assert.equal(el.name, 'error', name);
      assert.deepEqual(el.attrs, { message, type }, name);
      assert.equal(textOf(el), message, name);
    }
    assert.equal(findAll(parseXml(junit), (e) => e.name === 'failure').length, 2);
    assert.equal(findAll(parseXml(junit), (e) => e.name === 'error').length, 5);
  });

  test('a flaky pass and a retried notebook get a <system-out> note', async () => {
    const { junit } = await mainRun();
    const cases = findAll(parseXml(junit), (e) => e.name === 'testcase');
    const out = (name: string) =>
      elements(cases.find((c) => c.attrs.name === name)!)
        .filter((e) => e.name === 'system-out')
        .map(textOf);
    assert.deepEqual(out('retry me.ipynb'), ['flaky: failed first, passed on attempt 2']);
    assert.deepEqual(out('died.ipynb'), ['attempts: 3']);
    assert.deepEqual(out('Hello world.ipynb'), []);
  });
});

describe('report.html', () => {
  test('is one self-contained page, well-formed, with everything escaped', async () => {
    const { html: page } = await mainRun();
    const root = parseXml(page); // written as well-formed XML: an escaping slip would not parse
    assert.equal(root.name, 'html');
    assert.doesNotMatch(page, /<script/i, "no script, and the evalue's <script> only escaped");
    assert.match(page, /&lt;script&gt;alert\(&quot;pwned&quot;\)&lt;\/script&gt;/);
    assert.doesNotMatch(page, /<(link|img|iframe|object|embed|base)\b|\bsrc=|url\(|@import/i, 'no external resources');
    assert.equal(findAll(root, (e) => e.name === 'style').length, 1, 'inline CSS');
    assert.ok(!NOT_XML_CHAR.test(page));
    for (const a of findAll(root, (e) => e.name === 'a')) {
      const href = a.attrs.href ?? '';
      assert.ok(
        href === UI_URL ||
          /^(executed\/|#nb-\d+$|\.\.\/scheduled-1\/report\.html$|report\.json$|junit\.xml$)/.test(href),
        `unexpected link ${href}`,
      );
    }
  });

  test('has the run, its dates, duration and count badges in the header', async () => {
    const { html: page } = await mainRun();
    const header = findOne(parseXml(page), (e) => e.name === 'header', '<header>');
    assert.ok(hasClass(header, 'bad'), 'a failing run is marked');
    const text = textOf(header).replace(/\s+/g, ' ');
    for (const s of [
      'scheduled run: 7 of 9 notebooks not passing',
      'scheduled-2',
      'a1b2c3d',
      '2024-05-02 02:00:00 UTC',
      '2024-05-02 02:17:42 UTC',
      '17m 43s',
    ]) {
      assert.ok(text.includes(s), `header shows ${s}: ${text}`);
    }
    const badges = findAll(header, (e) => hasClass(e, 'badge')).map((b) => `${b.attrs.class} ${textOf(b)}`);
    assert.deepEqual(badges, [
      'badge total 9 total',
      'badge st-passed 2 passed',
      'badge st-failed 1 failed',
      'badge st-timed_out 1 timed out',
      'badge st-kernel_died 2 kernel died',
      'badge st-needs_input 1 needs input',
      'badge st-no_such_kernel 1 no such kernel',
      'badge st-invalid_notebook 1 invalid notebook',
      'badge flaky 1 flaky',
    ]);
    const ui = findAll(header, (e) => e.name === 'a' && e.attrs.href === UI_URL);
    assert.equal(ui.length, 1, 'links the run in the Temporal UI');
  });

  test('lists not-passing notebooks first, each with its error and a link to the executed notebook', async () => {
    const { html: page } = await mainRun();
    const rows = findAll(parseXml(page), (e) => e.name === 'tr' && /^nb-\d+$/.test(e.attrs.id ?? ''));
    const pathOf = (r: XmlElement) => textOf(elements(r)[1]!).split(/\s\(no executed notebook\)|\n/)[0]!;
    assert.equal(rows.length, 9);
    assert.deepEqual(
      rows.map((r) => textOf(elements(r)[0]!)),
      [
        'failed',
        'timed out',
        'needs input',
        'invalid notebook',
        'no such kernel',
        'kernel died',
        'kernel died',
        'passed',
        'passed',
      ],
    );
    assert.ok(rows.slice(0, 7).every((r) => hasClass(r, 'bad')) && rows.slice(7).every((r) => !hasClass(r, 'bad')));
    assert.ok(pathOf(rows[0]!).startsWith(P.deep), pathOf(rows[0]!));

    const deepRow = rows[0]!;
    const link = findOne(deepRow, (e) => e.name === 'a', 'link in the row');
    assert.equal(link.attrs.href, DEEP_HREF, 'each segment URL-encoded');
    assert.equal(textOf(link), P.deep);
    const details = findOne(deepRow, (e) => e.name === 'details', 'the error');
    assert.equal(textOf(findOne(details, (e) => e.name === 'summary', 'summary')), `cell 4: ValueError: ${EVALUE}`);
    assert.equal(textOf(findOne(details, (e) => e.name === 'pre', 'traceback')), traceback(''));
    assert.ok(!textOf(deepRow).includes('ZeroDivisionError'), 'expected errors are not shown as problems');

    const rowOf = (p: string) => rows.find((r) => pathOf(r).startsWith(p))!;
    for (const p of [P.invalid, P.missing]) {
      assert.equal(
        findAll(rowOf(p), (e) => e.name === 'a').length,
        0,
        `no link to a notebook that was not written: ${p}`,
      );
      assert.match(textOf(rowOf(p)), /\(no executed notebook\)/);
    }
    assert.match(textOf(rowOf(P.missing)), /no result was recorded/);
    assert.match(textOf(rowOf(P.slow)), /cell 3 exceeded the cell timeout of 600s/);
    assert.equal(
      findOne(rowOf(P.intro), (e) => e.name === 'a', 'link').attrs.href,
      'executed/01%20Intro/Hello%20world.ipynb',
    );
    assert.equal(findAll(rowOf(P.intro), (e) => e.name === 'details').length, 0);
    assert.match(textOf(rowOf(P.flaky)), /^passed.*5\.0 s.*python3\s*2 flaky$/s);
  });

  test('shows the newly failing and fixed notebooks at the top', async () => {
    const { html: page } = await mainRun();
    const root = parseXml(page);
    const newly = findOne(root, (e) => e.name === 'section' && e.attrs.id === 'newly-failing', 'newly failing section');
    const fixed = findOne(root, (e) => e.name === 'section' && e.attrs.id === 'fixed', 'fixed section');
    const items = (s: XmlElement) =>
      findAll(s, (e) => e.name === 'li').map((li) => textOf(findAll(li, (e) => e.name === 'a')[0]!));
    assert.deepEqual(
      items(newly),
      [P.deep, P.invalid, P.input, P.died, P.missing].sort((a, b) => PATHS.indexOf(a) - PATHS.indexOf(b)),
    );
    assert.deepEqual(items(fixed), [P.flaky]);
    assert.match(textOf(findOne(newly, (e) => e.name === 'h2', 'h2')), /^Newly failing \(5\) since scheduled-1$/);
    assert.match(textOf(findOne(fixed, (e) => e.name === 'h2', 'h2')), /^Fixed since scheduled-1 \(1\)$/);
    // both come before the table
    assert.ok(page.indexOf('id="newly-failing"') < page.indexOf('id="fixed"'));
    assert.ok(page.indexOf('id="fixed"') < page.indexOf('<table'));
    // and link to the rows
    const target = findAll(newly, (e) => e.name === 'a' && textOf(e) === P.deep)[0]!.attrs.href!;
    assert.equal(findAll(root, (e) => e.name === 'tr' && `#${e.attrs.id}` === target).length, 1);
  });
});

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
    const resultsDir = await tempDir('nblc-report-');
    await writeRunDir(
      resultsDir,
      'merge-2',
      [result('a.ipynb', { status: 'failed' }), result('b.ipynb', { status: 'passed' })],
      [],
    );
    await writePreviousReport(resultsDir, 'merge-0', 'merge', '2024-04-01T00:00:00.000Z', {
      'a.ipynb': 'failed',
      'b.ipynb': 'failed',
    });
    // newer, notebooks first: its head shows neither kind nor finishedAt
    const notebooks = [result('a.ipynb', { status: 'passed' }), result('b.ipynb', { status: 'failed' })];
    await fs.mkdir(path.join(resultsDir, 'merge-1'));
    await fs.writeFile(
      path.join(resultsDir, 'merge-1', 'report.json'),
      JSON.stringify({ notebooks, finishedAt: '2024-05-01T00:00:00Z', kind: 'merge', runId: 'merge-1' }),
    );
    const report = await writeReport(
      options(resultsDir, { runId: 'merge-2', kind: 'merge', paths: ['a.ipynb', 'b.ipynb'] }),
    );
    assert.equal(report.previousRunId, 'merge-1');
    assert.deepEqual(report.newlyFailing, ['a.ipynb']);
    assert.deepEqual(report.fixed, ['b.ipynb']);
  });

  test('a previous report with a long head before its notebooks is still read', async () => {
    const resultsDir = await tempDir('nblc-report-');
    await writeRunDir(resultsDir, 'merge-2', [result('a.ipynb', { status: 'failed' })], []);
    await writePreviousReport(resultsDir, 'merge-0', 'merge', '2024-04-01T00:00:00.000Z', { 'a.ipynb': 'failed' });
    // kind and finishedAt are in the head, "notebooks" is not (more than the peeked bytes before it)
    const long = { runId: 'merge-1', kind: 'merge', finishedAt: '2024-05-01T00:00:00Z', note: 'x'.repeat(40_000) };
    await fs.mkdir(path.join(resultsDir, 'merge-1'));
    await fs.writeFile(
      path.join(resultsDir, 'merge-1', 'report.json'),
      JSON.stringify({ ...long, notebooks: [result('a.ipynb', { status: 'passed' })] }),
    );
    const report = await writeReport(options(resultsDir, { runId: 'merge-2', kind: 'merge', paths: ['a.ipynb'] }));
    assert.equal(report.previousRunId, 'merge-1');
    assert.deepEqual(report.newlyFailing, ['a.ipynb']);
  });

  test('a notebook failing in both runs is neither newly failing nor fixed; without changes the page says so', async () => {
    const resultsDir = await tempDir('nblc-report-');
    await writeRunDir(
      resultsDir,
      'r2',
      [result('a.ipynb', { status: 'failed' }), result('b.ipynb', { status: 'passed' })],
      [],
    );
    await writePreviousReport(resultsDir, 'r1', 'scheduled', '2024-05-01T00:00:00.000Z', {
      'a.ipynb': 'timed_out',
      'b.ipynb': 'passed',
    });
    const report = await writeReport(options(resultsDir, { runId: 'r2', paths: ['a.ipynb', 'b.ipynb'] }));
    assert.equal(report.previousRunId, 'r1');
    assert.deepEqual([report.newlyFailing, report.fixed], [[], []]);
    assert.match((await readWritten(path.join(resultsDir, 'r2'))).html, /No change since the previous scheduled run/);
  });
});

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

describe('root causes', () => {
  const importError = (module: string, cell: number): NotebookError => ({
    cell,
    ename: 'ModuleNotFoundError',
    evalue: `No module named '${module}'`,
    traceback: `ModuleNotFoundError Traceback\n----> 1 import ${module}\nModuleNotFoundError: No module named '${module}'`,
  });
  const nameError = (cell: number): NotebookError => ({
    cell,
    ename: 'NameError',
    evalue: "name 'np' is not defined",
    traceback: `NameError Traceback (cell ${cell})\nNameError: name 'np' is not defined`,
  });
  /** An import that fails, then a NameError in each later cell: what a notebook that keeps running shows. */
  const cascade = (p: string, module: string, cell: number, later: number) =>
    result(p, {
      status: 'failed',
      error: importError(module, cell),
      errors: [importError(module, cell), ...Array.from({ length: later }, (_, i) => nameError(cell + 1 + i))],
      message: `cell ${cell}: ModuleNotFoundError: No module named '${module}'`,
    });
  const notebooks = [
    cascade('a/One.ipynb', 'numpy', 1, 2),
    result('a/Fine.ipynb', { status: 'passed' }),
    cascade('b/Two.ipynb', 'matplotlib', 0, 0),
    cascade('b/Three.ipynb', 'numpy', 4, 5),
    cascade('c/Four.ipynb', 'numpy', 0, 1),
  ];

  async function write() {
    const resultsDir = await tempDir('nblc-report-causes-');
    await writeRunDir(
      resultsDir,
      'manual-causes',
      notebooks,
      notebooks.map((n) => n.path),
    );
    const report = await writeReport(
      options(resultsDir, { runId: 'manual-causes', kind: 'manual', paths: notebooks.map((n) => n.path) }),
    );
    return { report, ...(await readWritten(path.join(resultsDir, 'manual-causes'))) };
  }

  test('report.json groups the failing notebooks by their first error, largest group first', async () => {
    const { report, json } = await write();
    assert.deepEqual(JSON.parse(json).causes, report.causes);
    assert.deepEqual(report.causes, [
      {
        status: 'failed',
        ename: 'ModuleNotFoundError',
        evalue: "No module named 'numpy'",
        notebooks: ['a/One.ipynb', 'b/Three.ipynb', 'c/Four.ipynb'],
      },
      {
        status: 'failed',
        ename: 'ModuleNotFoundError',
        evalue: "No module named 'matplotlib'",
        notebooks: ['b/Two.ipynb'],
      },
    ]);
  });

  test('report.html opens with them; follow-on errors are collapsed behind their count', async () => {
    const { html: page } = await write();
    const main = findOne(parseXml(page), (e) => e.name === 'main', 'main');
    const first = elements(main)[0]!;
    assert.equal(first.attrs.id, 'causes', 'the causes come first');
    const lines = findAll(first, (e) => hasClass(e, 'cause')).map(textOf);
    assert.deepEqual(lines, [
      "3 notebooks: ModuleNotFoundError: No module named 'numpy'",
      "1 notebook: ModuleNotFoundError: No module named 'matplotlib'",
    ]);
    const links = findAll(first, (e) => e.name === 'a').map((a) => textOf(a));
    assert.deepEqual(links, ['a/One.ipynb', 'b/Three.ipynb', 'c/Four.ipynb', 'b/Two.ipynb']);

    const row = findAll(main, (e) => e.name === 'tr' && textOf(e).includes('Three.ipynb'))[0]!;
    // the row's own details: the first error, then the collapsed later ones (each a details inside)
    const [firstError, later] = elements(elements(row)[1]!).filter((e) => e.name === 'details');
    assert.match(textOf(elements(firstError!)[0]!), /ModuleNotFoundError/);
    assert.ok(hasClass(later!, 'later'));
    assert.equal(textOf(elements(later!)[0]!), '5 later errors');
    assert.equal(findAll(later!, (e) => e.name === 'pre').length, 5, 'each still one click away');
    const two = findAll(main, (e) => e.name === 'tr' && textOf(e).includes('Two.ipynb'))[0]!;
    assert.equal(findAll(two, (e) => hasClass(e, 'later')).length, 0, 'nothing to collapse');
  });

  test('junit.xml has the first traceback in full and one line per later error', async () => {
    const { junit } = await write();
    const one = findOne(parseXml(junit), (e) => e.name === 'testcase' && e.attrs.name === 'One.ipynb', 'One');
    const body = textOf(findOne(one, (e) => e.name === 'failure', 'failure'));
    assert.ok(body.includes('----> 1 import numpy'), body);
    assert.ok(body.includes("then 2 later errors:\n  cell 2: NameError: name 'np' is not defined\n  cell 3:"), body);
    assert.ok(!body.includes('NameError Traceback'), 'later tracebacks are left to the HTML page');
  });

  test('a run where everything passed has no causes section', async () => {
    const { html: page, report } = await mainRun();
    assert.equal(report.causes.length, 7);
    const passing = await tempDir('nblc-report-pass-');
    const ok = [result('ok.ipynb', { status: 'passed' })];
    await writeRunDir(passing, 'manual-ok', ok, ['ok.ipynb']);
    const clean = await writeReport(options(passing, { runId: 'manual-ok', kind: 'manual', paths: ['ok.ipynb'] }));
    assert.deepEqual(clean.causes, []);
    assert.ok(page.includes('id="causes"'));
    assert.ok(!(await readWritten(path.join(passing, 'manual-ok'))).html.includes('id="causes"'));
  });
});

describe('escaping helpers', () => {
  const nasty = `a<b>&c"d'e\tf\ng\rh\u0000i\u001bj\ud800k\uffffl😀`;
  test('strip what XML 1.0 cannot carry, keep the rest (astral characters too)', () => {
    assert.equal(stripInvalidChars(nasty), `a<b>&c"d'e\tf\ng\rhijkl😀`);
  });
  test('escape text, attributes and HTML', () => {
    assert.equal(xmlText(nasty), `a&lt;b&gt;&amp;c"d'e\tf\ng&#13;hijkl😀`);
    assert.equal(xmlAttr(nasty), `a&lt;b&gt;&amp;c&quot;d'e&#9;f&#10;g&#13;hijkl😀`);
    assert.equal(html(nasty), `a&lt;b&gt;&amp;c&quot;d&#39;e\tf\ng\rhijkl😀`);
    assert.equal(parseXml(`<a x="${xmlAttr(nasty)}">${xmlText(nasty)}</a>`).attrs.x, stripInvalidChars(nasty));
    assert.equal(textOf(parseXml(`<a x="${xmlAttr(nasty)}">${xmlText(nasty)}</a>`)), stripInvalidChars(nasty));
  });
  test('encode each path segment of a link', () => {
    assert.equal(relativeHref('executed/a b/c#d?e%f/Ω.ipynb'), 'executed/a%20b/c%23d%3Fe%25f/%CE%A9.ipynb');
  });
});
