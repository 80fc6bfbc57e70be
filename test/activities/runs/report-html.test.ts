/**
 * report.html: one self-contained, escaped page, not-passing notebooks first.
 *
 *   node --import tsx --test test/activities/runs/report-html.test.ts
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  NOT_XML_CHAR,
  type XmlElement,
  parseXml,
  elements,
  findAll,
  findOne,
  textOf,
  hasClass,
} from '../../helpers/xml.js';
import { DEEP_HREF, EVALUE, P, PATHS, RUN, traceback } from '../../helpers/report-data.js';
import { mainRun } from '../../helpers/report-run.js';

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
        href === RUN.temporalUiUrl ||
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
    const ui = findAll(header, (e) => e.name === 'a' && e.attrs.href === RUN.temporalUiUrl);
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
