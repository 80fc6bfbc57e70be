/**
 * The activities' readers of files a pull request or a notebook could have planted (a notebook's
 * metadata and cells as the kernel, contract and impact scans read them; `.nblc.yml`'s
 * dependencies; a notebook's result as the commit status counts it) read them the one capped
 * way: a link to a secret, to /dev/zero, or a FIFO gives "none", promptly, and a link swapped in
 * while reading goes on never makes them read the secret.
 *   node --import tsx --test test/activities/runs/planted-files.test.ts
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ranCounts } from '../../../src/activities/alerts/ran.js';
import { selectAffected } from '../../../src/activities/runs/impact.js';
import { readNotebookCells } from '../../../src/activities/runs/notebook-file.js';
import { writeRunRecord } from '../../../src/activities/runs/run-record.js';
import { notebookJson } from '../../helpers/notebooks.js';

let dir = '';
let secret = '';
const SECRET_NB = JSON.stringify({ metadata: { kernelspec: { name: 'secret-kernel' } }, cells: [] });

/** A link to the secret, a link to /dev/zero, a FIFO: each where a regular file was expected. */
const PLANTS: Array<[string, (file: string, secretFile: string) => Promise<void>]> = [
  ['link to a secret', (file, secretFile) => fs.symlink(secretFile, file)],
  ['link to /dev/zero', (file) => fs.symlink('/dev/zero', file)],
  ['FIFO', async (file) => void execFileSync('mkfifo', [file])],
];

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nblc-planted-'));
  secret = path.join(dir, 'secret.ipynb');
  await fs.writeFile(secret, SECRET_NB);
});
after(() => fs.rm(dir, { recursive: true, force: true }));

test('a notebook read as data (kernel, contract, impact scans): a planted file reads as none', async () => {
  const plain = path.join(dir, 'plain.ipynb');
  await fs.writeFile(plain, notebookJson(['import helper']));
  assert.equal((await readNotebookCells(plain))?.cells[0]?.source, 'import helper');
  for (const [kind, plant] of PLANTS) {
    const file = path.join(dir, `${kind.replace(/\W/g, '-')}.ipynb`);
    await plant(file, secret);
    assert.equal(await readNotebookCells(file), null, kind);
  }
});

test('a notebook swapped for a link to a secret while scans go on: the secret is never read', async () => {
  const file = path.join(dir, 'swapped.ipynb');
  let swapping = true;
  const swapper = (async () => {
    for (let i = 0; swapping; i++) {
      const tmp = path.join(dir, `swap-${i}`);
      await (i % 2 ? fs.symlink(secret, tmp) : fs.writeFile(tmp, notebookJson(['x = 1'])));
      await fs.rename(tmp, file);
    }
  })();
  const kernels = new Set<unknown>();
  for (let i = 0; i < 1000; i++) kernels.add((await readNotebookCells(file))?.metadata.kernelspec);
  swapping = false;
  await swapper;
  assert.ok(![...kernels].some((k) => JSON.stringify(k ?? null).includes('secret')), 'read through a link');
});

test('.nblc.yml’s dependencies: applied from a regular file, none from a planted one', async () => {
  const yml = 'dependencies:\n  "a.ipynb": ["data/**"]\n';
  const select = (root: string) =>
    selectAffected({ root, found: ['a.ipynb', 'b.ipynb'], changed: ['data/x.csv'], cacheDir: dir });
  const regular = path.join(dir, 'repo-regular');
  await fs.mkdir(regular);
  await fs.writeFile(path.join(regular, '.nblc.yml'), yml);
  assert.deepEqual((await select(regular)).paths, ['a.ipynb'], 'the declared dependency selects a.ipynb');
  const secretYml = path.join(dir, 'secret.yml');
  await fs.writeFile(secretYml, yml);
  for (const [kind, plant] of PLANTS) {
    const root = path.join(dir, `repo-${kind.replace(/\W/g, '-')}`);
    await fs.mkdir(root);
    await plant(path.join(root, '.nblc.yml'), secretYml);
    assert.deepEqual((await select(root)).paths, [], kind);
  }
});

test('a result planted as a link or FIFO counts as not passed for the commit status', async () => {
  const results = path.join(dir, 'results');
  const runId = 'pr-20261207-100000-aaaaaa';
  const found = ['ok.ipynb', ...PLANTS.map(([kind]) => `${kind.replace(/\W/g, '-')}.ipynb`)];
  await writeRunRecord(results, runId, { commit: 'a'.repeat(40), source: 'snapshot', discovered: found });
  const resultsOf = path.join(results, runId, 'results');
  await fs.mkdir(resultsOf, { recursive: true });
  const passed = path.join(dir, 'passed.json');
  await fs.writeFile(passed, JSON.stringify({ status: 'passed' }));
  await fs.writeFile(path.join(resultsOf, 'ok.ipynb.json'), JSON.stringify({ status: 'passed' }));
  for (const [kind, plant] of PLANTS)
    await plant(path.join(resultsOf, `${kind.replace(/\W/g, '-')}.ipynb.json`), passed);
  const { counts } = await ranCounts(results, runId);
  assert.equal(counts?.passed, 1, 'only the regular result passed');
  assert.equal(counts?.total, found.length);
});
