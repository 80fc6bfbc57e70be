/**
 * Which notebooks a run executes, on a real directory tree: globs with `**`, default exclusions,
 * the repository's .nblcignore, odd paths, the restriction to a merge's paths, stable order.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import { discoverNotebooks } from '../../../src/activities/runs/discover.js';

let root = '';
const FILES = [
  'README.md',
  'Zeta.ipynb',
  'alpha.ipynb',
  '01 Intro/Hello World.ipynb',
  '01 Intro/.ipynb_checkpoints/Hello World-checkpoint.ipynb',
  '01 Intro/Hello World_tested.ipynb',
  '01 Intro/Hello World.nbconvert.ipynb',
  '02 Données/Étoiles été.ipynb',
  '02 Données/stars.csv',
  'a/b/c/d/e/Deep.ipynb',
  'Login/Needs Login.ipynb',
  'Templates/NotebookTemplate.ipynb',
  'Scratch/keep.ipynb',
  'Scratch/drop.ipynb',
];

before(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'nblc-discover-'));
  for (const f of FILES) {
    await fs.mkdir(path.dirname(path.join(root, f)), { recursive: true });
    await fs.writeFile(path.join(root, f), '{}');
  }
  await fs.writeFile(
    path.join(root, '.nblcignore'),
    '# needs an interactive login\nLogin/\nScratch/*\n!Scratch/keep.ipynb\n',
  );
  await fs.symlink(path.join(root, 'alpha.ipynb'), path.join(root, 'Linked.ipynb'));
});

test('defaults: every notebook but checkpoints, executed copies, templates and .nblcignore entries, in code-point order', async () => {
  assert.deepEqual(await discoverNotebooks({ root }), [
    '01 Intro/Hello World.ipynb',
    '02 Données/Étoiles été.ipynb',
    'Scratch/keep.ipynb',
    'Zeta.ipynb',
    'a/b/c/d/e/Deep.ipynb',
    'alpha.ipynb',
  ]);
});

test('include and exclude globs with ** are relative to the snapshot root', async () => {
  assert.deepEqual(await discoverNotebooks({ root, include: ['0*/**'] }), [
    '01 Intro/Hello World.ipynb',
    '02 Données/Étoiles été.ipynb',
  ]);
  assert.deepEqual(await discoverNotebooks({ root, include: ['**/Deep.ipynb', '*.ipynb'], exclude: ['Z*'] }), [
    'a/b/c/d/e/Deep.ipynb',
    'alpha.ipynb',
  ]);
  // The defaults and .nblcignore still apply to what an include names.
  assert.deepEqual(await discoverNotebooks({ root, include: ['Login/**', '**/.ipynb_checkpoints/**'] }), []);
});

test("a merge run's paths: only existing notebooks inside the snapshot, filtered the same way", async () => {
  const paths = ['Zeta.ipynb', 'gone.ipynb', 'README.md', '../outside.ipynb', 'Login/Needs Login.ipynb', 'alpha.ipynb'];
  assert.deepEqual(await discoverNotebooks({ root, paths }), ['Zeta.ipynb', 'alpha.ipynb']);
});
