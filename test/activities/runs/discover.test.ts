/**
 * Which notebooks a run executes, on a real directory tree: globs with `**`, default exclusions,
 * the repository's .nblcignore, odd paths, the restriction to a merge's paths, stable order.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import { DEFAULT_EXCLUDES, discoverNotebooks } from '../../../src/activities/runs/discover.js';
import { MAX_EXTRA_WILDCARDS, extraWildcards, globProblem } from '../../../src/domain/runs/globs.js';

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

test('a glob too complex to match quickly is refused at once, saying what to do; ordinary ones work', async () => {
  const odd = await fs.mkdtemp(path.join(os.tmpdir(), 'nblc-discover-'));
  // A long name of one letter is the worst case for a pattern of many `*` in one segment.
  const long = `${'a'.repeat(34)}.ipynb`;
  for (const f of [long, '03_Science/x.ipynb', '03_Science/deep/y.ipynb', 'Other/z.ipynb']) {
    await fs.mkdir(path.dirname(path.join(odd, f)), { recursive: true });
    await fs.writeFile(path.join(odd, f), '{}');
  }
  for (const [key, bad] of [
    ['include', `${'*a'.repeat(12)}*c.ipynb`],
    ['exclude', `${'*a'.repeat(12)}*c.ipynb`],
    ['include', '*a*/*a*/*a*.ipynb'],
    ['exclude', '**/a/**/b/**/c/**/*.ipynb'],
  ] as const) {
    const started = performance.now();
    await assert.rejects(discoverNotebooks({ root: odd, [key]: [bad, '**/*.ipynb'] }), (err: Error) => {
      assert.equal((err as { type?: string }).type, 'InvalidGlob');
      assert.match(err.message, new RegExp(`${key} glob ".*" is too complex`));
      assert.match(err.message, /at most/);
      return true;
    });
    assert.ok(performance.now() - started < 1000, `${bad} refused in ${performance.now() - started} ms`);
  }
  assert.deepEqual(await discoverNotebooks({ root: odd, include: ['03_*/**'] }), [
    '03_Science/deep/y.ipynb',
    '03_Science/x.ipynb',
  ]);
  assert.deepEqual(await discoverNotebooks({ root: odd, include: ['**/*.ipynb'], exclude: ['**/*Sci*/**/*.ipynb'] }), [
    'Other/z.ipynb',
    long,
  ]);
  await fs.rm(odd, { recursive: true });
});

test('glob complexity: extra wildcards counted per segment, [classes] and escapes are plain', () => {
  const counts: Record<string, number> = {
    '**/*.ipynb': 0,
    '03_*/**': 0,
    '*/*/*/*/*/*/*/*/*/*/*/*': 0,
    '**/*Galaxy*.ipynb': 1,
    '**/0*_*/**/*.ipynb': 2,
    '[*][*][*]*.ipynb': 0,
    '\\*\\*\\**.ipynb': 0,
    '*a*/*a*/*a*.ipynb': 3,
    '**/a/**/b/**/c/**/*.ipynb': 3,
    '*+(a|b)*!(c)*.ipynb': 4,
  };
  for (const [glob, n] of Object.entries(counts)) assert.equal(extraWildcards(glob), n, glob);
  for (const glob of DEFAULT_EXCLUDES) assert.equal(globProblem(glob), null, glob);
  assert.ok(MAX_EXTRA_WILDCARDS >= 2);
  assert.match(globProblem('x'.repeat(501)) ?? '', /too long/);
  assert.match(globProblem('') ?? '', /empty/);
});
