/**
 * The report's escaping helpers, and the strict XML reader the report tests check them with.
 *
 *   node --import tsx --test test/views/runs/report/text.test.ts
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { relativeHref, stripInvalidChars, xmlAttr, xmlText } from '../../../../src/views/runs/report/text.js';
import { h } from '../../../../src/views/template.js';
import { parseXml, textOf } from '../../../helpers/xml.js';

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

describe('escaping helpers', () => {
  const nasty = `a<b>&c"d'e\tf\ng\rh\u0000i\u001bj\ud800k\uffffl😀`;
  test('strip what XML 1.0 cannot carry, keep the rest (astral characters too)', () => {
    assert.equal(stripInvalidChars(nasty), `a<b>&c"d'e\tf\ng\rhijkl😀`);
  });
  test('escape text, attributes and HTML', () => {
    assert.equal(xmlText(nasty), `a&lt;b&gt;&amp;c"d'e\tf\ng&#13;hijkl😀`);
    assert.equal(xmlAttr(nasty), `a&lt;b&gt;&amp;c&quot;d'e&#9;f&#10;g&#13;hijkl😀`);
    // report.html: the template escapes, the page then loses what is not an XML character.
    assert.equal(stripInvalidChars(String(h`${nasty}`)), `a&lt;b&gt;&amp;c&quot;d&#39;e\tf\ng\rhijkl😀`);
    assert.equal(parseXml(`<a x="${xmlAttr(nasty)}">${xmlText(nasty)}</a>`).attrs.x, stripInvalidChars(nasty));
    assert.equal(textOf(parseXml(`<a x="${xmlAttr(nasty)}">${xmlText(nasty)}</a>`)), stripInvalidChars(nasty));
  });
  test('encode each path segment of a link', () => {
    assert.equal(relativeHref('executed/a b/c#d?e%f/Ω.ipynb'), 'executed/a%20b/c%23d%3Fe%25f/%CE%A9.ipynb');
  });
});
