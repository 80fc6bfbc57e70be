/**
 * junit.xml: well-formed, one <testcase> per notebook, failures and errors typed by status.
 *
 *   node --import tsx --test test/activities/runs/report-junit.test.ts
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseXml, elements, findAll, textOf } from '../../helpers/xml.js';
import { EVALUE, P, RESULTS, RUN, stdinError, traceback } from '../../helpers/report-data.js';
import { mainRun } from '../../helpers/report-run.js';

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
    assert.deepEqual(suite!.attrs, { name: 'nblc scheduled a1b2c3d', ...totals, timestamp: RUN.startedAt });
    assert.deepEqual(root.attrs, { name: 'nblc', ...totals });
    const props = Object.fromEntries(
      findAll(suite!, (e) => e.name === 'property').map((p) => [p.attrs.name, p.attrs.value]),
    );
    assert.deepEqual(props, {
      runId: 'scheduled-2',
      commit: RUN.commit,
      kind: 'scheduled',
      startedAt: RUN.startedAt,
      finishedAt: RUN.finishedAt,
      previousRunId: 'scheduled-1',
      temporalUiUrl: RUN.temporalUiUrl,
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
