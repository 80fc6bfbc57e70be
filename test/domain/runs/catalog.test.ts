/**
 * The header cell's fields (src/domain/runs/catalog.ts), read without running anything, and the
 * datasets a run's failures share.
 *   node --import tsx --test test/domain/runs/catalog.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseHeader, sharedDatasets } from '../../../src/domain/runs/catalog.js';

test("the platform's header cell: strings, lists, tuples, comments; the first assignment wins", () => {
  const header = parseHeader([
    [
      "__nbid__ = '0001'",
      "__author__ = 'Robert Nikutta <robert.nikutta@noirlab.edu>, Stéphanie Juneau'",
      "__version__ = '20240606' # yyyymmdd",
      '__datasets__ = [\'ls_dr9\', "sdss_dr17"]',
      "__keywords__ = ('tutorial', 'query client', 'plot:cmd',)",
      "__version__ = 'later'",
    ].join('\n'),
  ]);
  assert.deepEqual(header, {
    author: 'Robert Nikutta <robert.nikutta@noirlab.edu>, Stéphanie Juneau',
    version: '20240606',
    datasets: ['ls_dr9', 'sdss_dr17'],
    keywords: ['tutorial', 'query client', 'plot:cmd'],
  });
  assert.deepEqual(parseHeader(["__datasets__ = 'des_dr2, gaia_dr3'\n__keywords__ = ''"]), {
    datasets: ['des_dr2', 'gaia_dr3'],
  });
});

test('anything but a literal is left out, and nothing runs', () => {
  assert.deepEqual(
    parseHeader([
      "__author__ = open('/etc/passwd').read()\n__version__ = f'{x}'\n__datasets__ = DATASETS\n__keywords__ = ['a', b]\n  __author__ = 'indented'",
    ]),
    {},
  );
  assert.deepEqual(
    parseHeader(['print(1)', 'x = 2', 'y = 3', "__author__ = 'too late'"]),
    {},
    'the fourth cell is not a header',
  );
});

test('a run whose failures share a dataset says so, largest first; one notebook is not a pattern', () => {
  const catalog = {
    'a.ipynb': { datasets: ['ls_dr9', 'gaia_dr3'] },
    'b.ipynb': { datasets: ['ls_dr9'] },
    'c.ipynb': { datasets: ['ls_dr9', 'gaia_dr3'] },
    'd.ipynb': { datasets: ['sdss_dr17'] },
  };
  assert.deepEqual(sharedDatasets(['a.ipynb', 'b.ipynb', 'c.ipynb', 'd.ipynb'], catalog), [
    { dataset: 'ls_dr9', notebooks: ['a.ipynb', 'b.ipynb', 'c.ipynb'] },
    { dataset: 'gaia_dr3', notebooks: ['a.ipynb', 'c.ipynb'] },
  ]);
  assert.deepEqual(sharedDatasets(['d.ipynb', 'x.ipynb'], catalog), []);
});

test('property: the parser never throws and returns only strings it was given', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ maxLength: 200 }), { maxLength: 4 }), (cells) => {
      const h = parseHeader(cells.map((c) => `__author__ = ${c}\n__keywords__ = [${c}]`));
      for (const v of [h.author, ...(h.keywords ?? [])]) if (v !== undefined) assert.equal(typeof v, 'string');
    }),
  );
});
