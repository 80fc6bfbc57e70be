/**
 * A `.nblcignore` that is not a small regular file (committed as a link to /dev/zero, as a FIFO,
 * or huge) is ignored with a warning that the run's report shows; discovery answers and the
 * worker's file calls keep working (a FIFO opened without O_NONBLOCK would hold a libuv thread).
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { discover } from '../../../src/activities/runs/discover.js';
import { createRunActivities } from '../../../src/activities/runs/index.js';
import { writeReport } from '../../../src/activities/runs/report/index.js';
import { loadConfig } from '../../../src/platform/config.js';
import { quietLogger } from '../../helpers/activities.js';

let dir = '';
const NOTEBOOKS = ['a.ipynb', 'Login/b.ipynb'];

async function snapshotWith(name: string, ignore: (file: string) => Promise<void>): Promise<string> {
  const root = path.join(dir, name);
  for (const nb of NOTEBOOKS) {
    await fs.mkdir(path.dirname(path.join(root, nb)), { recursive: true });
    await fs.writeFile(path.join(root, nb), '{}');
  }
  await ignore(path.join(root, '.nblcignore'));
  return root;
}

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nblc-ignore-file-'));
});
after(() => fs.rm(dir, { recursive: true, force: true }));

test('a regular .nblcignore is applied, without a warning', async () => {
  const root = await snapshotWith('regular', (f) => fs.writeFile(f, 'Login/\n'));
  assert.deepEqual(await discover({ root }), { paths: ['a.ipynb'], warnings: [] });
});

test('a link to /dev/zero is not followed: every notebook, and a warning', async () => {
  const root = await snapshotWith('zero', (f) => fs.symlink('/dev/zero', f));
  const { paths, warnings } = await discover({ root });
  assert.deepEqual(paths, ['Login/b.ipynb', 'a.ipynb']);
  assert.match(warnings.join(), /\.nblcignore was ignored \(it is a symbolic link\)/);
});

test('a FIFO: discoveries answer, more of them than libuv has threads, and file calls still work', async () => {
  const root = await snapshotWith('fifo', async (f) => void execFileSync('mkfifo', [f]));
  const runs = await Promise.all(Array.from({ length: 8 }, () => discover({ root })));
  for (const { paths, warnings } of runs) {
    assert.deepEqual(paths, ['Login/b.ipynb', 'a.ipynb']);
    assert.match(warnings.join(), /it is not a regular file/);
  }
  assert.equal(await fs.readFile(path.join(root, 'a.ipynb'), 'utf8'), '{}', 'the worker’s file calls answer');
});

test('a file over 64 KiB is ignored, not read', async () => {
  const root = await snapshotWith('huge', (f) => fs.writeFile(f, `Login/\n${'#'.repeat(70_000)}\n`));
  const { paths, warnings } = await discover({ root });
  assert.deepEqual(paths, ['Login/b.ipynb', 'a.ipynb']);
  assert.match(warnings.join(), /it has 70008 bytes/);
});

test('the discovery activity of a run leaves the warning for the run’s report (json and html)', async () => {
  const resultsDir = path.join(dir, 'results');
  const cfg = loadConfig({
    PATH: process.env.PATH,
    NBLC_REPO_URL: '/x',
    NBLC_REPO_FULL_NAME: 'a/b',
    NBLC_DATA_DIR: path.join(dir, 'data'),
    NBLC_RESULTS_DIR: resultsDir,
  });
  // A published snapshot: the activity refuses any other root (its input is a stranger's).
  const published = path.relative(dir, path.join(cfg.cacheDir, 'snapshots', 'c'.repeat(40)));
  const root = await snapshotWith(published, (f) => fs.symlink('/dev/zero', f));
  const env = new MockActivityEnvironment(
    { workflowExecution: { workflowId: 'test-run:ignored-1', runId: 'r1' } },
    { logger: quietLogger },
  );
  const paths = await env.run(createRunActivities(cfg).discoverNotebooks, { root });
  assert.deepEqual(paths, ['Login/b.ipynb', 'a.ipynb']);
  const now = new Date().toISOString();
  const report = await writeReport({
    resultsDir,
    runId: 'ignored-1',
    commit: 'c'.repeat(40),
    kind: 'manual',
    startedAt: now,
    finishedAt: now,
    paths,
  });
  assert.match(report.warnings?.join() ?? '', /\.nblcignore was ignored \(it is a symbolic link\)/);
  const html = await fs.readFile(path.join(resultsDir, 'ignored-1', 'report.html'), 'utf8');
  assert.match(html, /\.nblcignore was ignored \(it is a symbolic link\)/);
});
