/**
 * What a change touches (src/domain/runs/impact.ts): the import scan, where imports resolve,
 * and which notebooks a change selects and why.
 *   node --import tsx --test test/domain/runs/impact.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { importedFiles, normalizePath, scanImports, selectByChange } from '../../../src/domain/runs/impact.js';
import { importClosure } from '../../../src/domain/runs/impact-imports.js';

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
    // catalogs/ holds no notebook: the root's stand for it (same folder, below)
    'Root.ipynb': ['same folder as catalogs/sdss.fits'],
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

test('imports of imports: a notebook is selected through the modules it imports, cycles end, the chain is named', () => {
  const modules = new Map([
    ['x/a.py', scanImports(['import b\nfrom .c import helper'])],
    ['x/b.py', scanImports(['import a  # a cycle back to a'])],
    ['x/c.py', scanImports(['import sys\nsys.path.append("../lib")\nimport deep'])],
    ['lib/deep.py', scanImports(['import x_never'])],
  ]);
  const closure = importClosure('x/One.ipynb', scanImports(['import a']), modules);
  assert.deepEqual(closure.get('x/a.py'), []);
  assert.deepEqual(closure.get('x/b.py'), ['x/a.py']);
  assert.deepEqual(closure.get('x/c.py'), ['x/a.py']);
  assert.deepEqual(
    closure.get('lib/deep.py'),
    ['x/a.py', 'x/c.py'],
    "a module's sys.path literal, from the notebook's folder",
  );
  // A file no module was read for (not found, or over a cap) is named, but not followed.
  assert.deepEqual(closure.get('lib/x_never.py'), ['x/a.py', 'x/c.py', 'lib/deep.py']);
  const imports = {
    'x/One.ipynb': closure,
    'y/Three.ipynb': importClosure('y/Three.ipynb', scanImports(['print(1)']), modules),
  };
  assert.deepEqual(Object.fromEntries(selectByChange({ changed: ['lib/deep.py'], notebooks: NOTEBOOKS, imports })), {
    'x/One.ipynb': ['imports lib/deep.py (through x/a.py, x/c.py)'],
    'Root.ipynb': ['same folder as lib/deep.py'],
  });
  assert.deepEqual(Object.fromEntries(selectByChange({ changed: ['x/b.py'], notebooks: NOTEBOOKS, imports })), {
    'x/One.ipynb': ['imports x/b.py (through x/a.py)', 'same folder as x/b.py'],
    'x/Two.ipynb': ['same folder as x/b.py'],
  });
  // Bounded: a closure never grows past its cap.
  assert.ok(importClosure('x/One.ipynb', scanImports(['import a']), modules, 3).size <= 3);
});

test('same folder: a changed file selects its folder and the folders below; a folder without notebooks stands for the nearest above; the root only its own', () => {
  const notebooks = ['F/A.ipynb', 'F/sub/B.ipynb', 'F/sub/deeper/C.ipynb', 'G/D.ipynb', 'Root.ipynb'];
  const pick = (changed: string[]) => Object.keys(Object.fromEntries(selectByChange({ changed, notebooks })));
  assert.deepEqual(pick(['F/helper.py']), ['F/A.ipynb', 'F/sub/B.ipynb', 'F/sub/deeper/C.ipynb']);
  assert.deepEqual(pick(['F/sub/data.csv']), ['F/sub/B.ipynb', 'F/sub/deeper/C.ipynb']);
  assert.deepEqual(
    pick(['F/data/x.csv']),
    ['F/A.ipynb', 'F/sub/B.ipynb', 'F/sub/deeper/C.ipynb'],
    'Folder/data/ reads as Folder/',
  );
  assert.deepEqual(pick(['G/data/raw/y.fits']), ['G/D.ipynb']);
  assert.deepEqual(pick(['setup.cfg']), ['Root.ipynb'], 'a root file: the root notebooks only, not the suite');
  assert.deepEqual(pick(['scripts/build.sh']), ['Root.ipynb'], 'a top-level folder without notebooks: the root ones');
  assert.deepEqual(selectByChange({ changed: ['F/data/x.csv', 'F/data/y.csv'], notebooks }).get('F/A.ipynb'), [
    'same folder as F/data/x.csv',
  ]);
});
