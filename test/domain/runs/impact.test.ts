/**
 * What a change touches (src/domain/runs/impact.ts): the import scan, where imports resolve,
 * and which notebooks a change selects and why.
 *   node --import tsx --test test/domain/runs/impact.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { importedFiles, normalizePath, scanImports, selectByChange } from '../../../src/domain/runs/impact.js';

test('the scan finds imports of every form, and sys.path literals; magics and comments are not imports', () => {
  const scan = scanImports([
    'import numpy as np, lightcurve_slider\nfrom photRM import fit  # the model\n',
    'from utils.plots import (\n    scatter,\n    hist as h,\n)\nif True:\n    import sdss_viz_bokeh\n',
    'import sys\nsys.path.append(\'../lib\')\nsys.path.insert(0, "shared")\n%matplotlib inline\n!pip install nothere\n# import commented\n',
    'from . import sibling\nx = 1; import late',
  ]);
  const names = scan.modules.map((m) => `${'.'.repeat(m.level)}${m.module}:${m.names.join(',')}`);
  assert.deepEqual(names, [
    'numpy:',
    'lightcurve_slider:',
    'photRM:fit',
    'utils.plots:scatter,hist',
    'sdss_viz_bokeh:',
    'sys:',
    '.:sibling',
    'late:',
  ]);
  assert.deepEqual(scan.sysPaths, ['../lib', 'shared']);
});

test("imports resolve from the notebook's folder and its sys.path literals, never outside the repository", () => {
  const files = importedFiles(
    'a/b/nb.ipynb',
    scanImports([
      "import sys\nsys.path.append('../lib')\nsys.path.append('../../../../etc')\nimport helper\nfrom pkg.mod import f",
    ]),
  );
  for (const f of ['a/b/helper.py', 'a/lib/helper.py', 'a/b/pkg/__init__.py', 'a/b/pkg/mod.py', 'a/lib/pkg/mod/f.py'])
    assert.ok(files.includes(f), `${f} in ${files.join(' ')}`);
  assert.ok(files.every((f) => !f.startsWith('..') && !f.startsWith('/')));
  assert.equal(normalizePath('a/../../x'), null);
  assert.equal(normalizePath('a/./b/../c.py'), 'a/c.py');
});

const NOTEBOOKS = ['x/One.ipynb', 'x/Two.ipynb', 'y/Three.ipynb', 'Root.ipynb'];
const IMPORTS = {
  'x/One.ipynb': importedFiles('x/One.ipynb', scanImports(['import helper'])),
  'y/Three.ipynb': importedFiles('y/Three.ipynb', scanImports(["import sys\nsys.path.append('../x')\nimport helper"])),
};
const reasons = (changed: string[], extra: Partial<Parameters<typeof selectByChange>[0]> = {}) =>
  Object.fromEntries(selectByChange({ changed, notebooks: NOTEBOOKS, imports: IMPORTS, ...extra }));

test('a helper module selects its importers and the notebooks beside it, nothing else', () => {
  assert.deepEqual(reasons(['x/helper.py']), {
    'x/One.ipynb': ['imports x/helper.py', 'same folder as x/helper.py'],
    'x/Two.ipynb': ['same folder as x/helper.py'],
    'y/Three.ipynb': ['imports x/helper.py'],
  });
});

test('a changed notebook is selected for itself; documentation selects nothing; a data file its folder', () => {
  assert.deepEqual(
    reasons(['y/Three.ipynb', 'README.md', 'x/README.md', 'docs/guide.rst', '.github/workflows/ci.yml']),
    {
      'y/Three.ipynb': ['changed'],
    },
  );
  assert.deepEqual(reasons(['data.csv']), { 'Root.ipynb': ['same folder as data.csv'] });
  assert.deepEqual(reasons(['gone/Old.ipynb']), {}, 'a deleted notebook is not run');
});

test('an environment file selects every notebook; .nblc.yml dependencies select what they declare', () => {
  for (const file of [
    'requirements.txt',
    'requirements-extra.txt',
    'environment.yml',
    '.nblc.yml',
    '.nblcignore',
    'setup/prerun.py',
  ]) {
    const r = reasons([file], { environmentFiles: ['setup/prerun.py'] });
    assert.deepEqual(Object.keys(r), NOTEBOOKS, file);
    assert.ok(
      Object.values(r).every((why) => why[0] === 'environment'),
      file,
    );
  }
  assert.deepEqual(reasons(['catalogs/sdss.fits'], { dependencies: { 'y/**': ['catalogs/**'] } }), {
    'y/Three.ipynb': ['declared'],
  });
});

test('property: every selected notebook is one of the notebooks, and has a reason naming a changed path or a rule', () => {
  const seg = fc.constantFrom('x', 'y', 'z', 'helper.py', 'README.md', 'data.csv', 'One.ipynb', 'requirements.txt');
  const path = fc.array(seg, { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));
  fc.assert(
    fc.property(fc.array(path, { maxLength: 8 }), (changed) => {
      const selected = selectByChange({ changed, notebooks: NOTEBOOKS, imports: IMPORTS });
      for (const [nb, why] of selected) {
        assert.ok(NOTEBOOKS.includes(nb));
        assert.ok(why.length > 0);
        for (const w of why) {
          const named = w.replace(/^(imports|same folder as) /, '');
          if (w !== named) assert.ok(changed.includes(named), w);
          else assert.ok(['changed', 'environment', 'declared'].includes(w), w);
        }
      }
      // Monotone: more changes never select fewer notebooks.
      const more = selectByChange({ changed: [...changed, 'x/helper.py'], notebooks: NOTEBOOKS, imports: IMPORTS });
      for (const nb of selected.keys()) assert.ok(more.has(nb));
      // Documentation alone never selects anything.
      assert.equal(selectByChange({ changed: changed.filter((p) => p.endsWith('.md')), notebooks: NOTEBOOKS }).size, 0);
    }),
  );
});
