/**
 * The file side of selection by change (src/activities/runs/impact.ts) on a real snapshot
 * folder: imports of imports read from the modules' files, never through a link, never past a
 * cap, never blocking on a FIFO.
 *   node --import tsx --test test/activities/runs/impact.test.ts
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { selectAffected } from '../../../src/activities/runs/impact.js';
import { MODULE_SCAN_LIMITS } from '../../../src/domain/runs/impact-imports.js';
import { notebook } from '../../../src/demo/sample-repo.js';
import { tempDir } from '../../helpers/fixtures.js';

/** Writes `files` (path → text) under `root`. */
async function write(root: string, files: Record<string, string>): Promise<void> {
  for (const [p, text] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(root, p)), { recursive: true });
    await fs.writeFile(path.join(root, p), text);
  }
}

test('a notebook importing A is selected when B, which A imports, changes; links, FIFOs and oversized modules are not followed', async () => {
  const dir = await tempDir('nblc-impact-');
  const root = path.join(dir, 'snapshot');
  const outside = path.join(dir, 'outside');
  await write(outside, { 'bridge.py': 'import sys\nsys.path.append("../x")\nimport b\n' });
  await write(root, {
    'x/Uses.ipynb': notebook(['import a\nprint(a.f())']),
    'y/Far.ipynb': notebook(['import sys\nsys.path.append("../x")\nimport chain1']),
    'y/ViaLink.ipynb': notebook(['import sys\nsys.path.append("../linked")\nimport bridge']),
    'y/ViaLinkFile.ipynb': notebook(['import sys\nsys.path.append("../x")\nimport alias']),
    'y/ViaHuge.ipynb': notebook(['import sys\nsys.path.append("../x")\nimport huge']),
    'y/ViaFifo.ipynb': notebook(['import sys\nsys.path.append("../x")\nimport pipe']),
    'z/Other.ipynb': notebook(['import numpy']),
    'x/a.py': 'from b import g\n\ndef f():\n    return g()\n',
    'x/b.py': 'import a  # back to a: a cycle\n\ndef g():\n    return 1\n',
    'x/chain1.py': 'import chain2\n',
    'x/chain2.py': 'from . import b\n',
    // over the per-file cap: its imports are not read
    'x/huge.py': `import b\n${'#'.repeat(MODULE_SCAN_LIMITS.fileBytes)}\n`,
  });
  await fs.symlink(outside, path.join(root, 'linked')); // a folder link planted in the repository
  await fs.symlink(path.join(outside, 'bridge.py'), path.join(root, 'x', 'alias.py')); // a file link
  execFileSync('mkfifo', [path.join(root, 'x', 'pipe.py')]);
  const found = (await fs.readdir(root, { recursive: true })).filter((p) => p.endsWith('.ipynb')).sort();

  const { paths, reasons } = await selectAffected({ root, found, changed: ['x/b.py'], cacheDir: dir });
  assert.deepEqual(reasons, {
    'x/Uses.ipynb': ['imports x/b.py (through x/a.py)', 'same folder as x/b.py'],
    'y/Far.ipynb': ['imports x/b.py (through x/chain1.py, x/chain2.py)'],
  });
  assert.deepEqual(paths, ['x/Uses.ipynb', 'y/Far.ipynb']);

  // Changing a module selects only through the imports that reach it.
  const chain = await selectAffected({ root, found, changed: ['x/chain2.py'], cacheDir: dir });
  assert.deepEqual(chain.reasons['y/Far.ipynb'], ['imports x/chain2.py (through x/chain1.py)']);
  assert.equal(chain.reasons['z/Other.ipynb'], undefined);
  assert.deepEqual(chain.warnings, [], 'a scan within its limits says nothing');
});

test('a scan cut short by a limit says so, for the report: what was read still selects', async () => {
  const dir = await tempDir('nblc-impact-cut-');
  const root = path.join(dir, 'snapshot');
  const n = MODULE_SCAN_LIMITS.files + 1; // one module file more than a scan reads
  const many: Record<string, string> = {};
  for (let i = 0; i < n; i++) many[`x/m${i}.py`] = 'import target\n';
  await write(root, {
    ...many,
    'x/Near.ipynb': notebook(['import target']),
    'x/Wide.ipynb': notebook([Array.from({ length: n }, (_, i) => `import m${i}`).join('\n')]),
    'x/target.py': 'VALUE = 1\n',
    'y/Far.ipynb': notebook(['import sys\nsys.path.append("../x")\nimport target']),
  });
  const found = ['x/Near.ipynb', 'x/Wide.ipynb', 'y/Far.ipynb'];
  const { paths, warnings } = await selectAffected({ root, found, changed: ['x/target.py'], cacheDir: dir });
  assert.ok(paths.includes('y/Far.ipynb'), 'a direct importer is selected all the same');
  assert.deepEqual(warnings, [
    `the import scan stopped at ${MODULE_SCAN_LIMITS.files} module files: a notebook that imports a changed module only through modules past that point was not selected by this change (the scheduled run tests it)`,
  ]);
});
