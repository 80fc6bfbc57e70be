/**
 * Root causes: failing notebooks grouped by their first error in report.json, report.html and junit.xml.
 *
 *   node --import tsx --test test/activities/runs/report-causes.test.ts
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { writeReport } from '../../../src/activities/runs/report/index.js';
import type { NotebookError } from '../../../src/domain/runs/model.js';
import { tempDir } from '../../helpers/fixtures.js';
import { parseXml, elements, findAll, findOne, textOf, hasClass } from '../../helpers/xml.js';
import { result } from '../../helpers/report-data.js';
import { mainRun, options, readWritten, writeRunDir } from '../../helpers/report-run.js';

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
