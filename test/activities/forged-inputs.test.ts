/**
 * Every activity the workers register, called with inputs a stranger wrote (issue 21): `..` and
 * absolute run IDs and paths, a link in a notebook's path, `/` as the root, another run's commit.
 * Each is refused with a typed non-retryable failure naming the field, and nothing outside the
 * service's directories changes: a sentinel file outside survives, no file appears there, and
 * another run's report and pin are untouched. Real activities, files and git refusals.
 *   node --import tsx --test test/activities/forged-inputs.test.ts
 */
import { ApplicationFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ReadyCopies } from '../../src/activities/copies/ready.js';
import { createEnvironmentActivities } from '../../src/activities/runs/environment.js';
import { createNotebookActivities } from '../../src/activities/runs/notebooks.js';
import { UNTRUSTED_INPUT } from '../../src/activities/untrusted.js';
import { createActivities } from '../../src/process/worker.js';
import { activityEnv, walk } from '../helpers/activities.js';
import { tempDir, testConfig } from '../helpers/fixtures.js';
import { notebookJson } from '../helpers/notebooks.js';

const A = 'a'.repeat(40); // the good run's commit
const B = 'b'.repeat(40); // published too, but not the good run's
const dir = await tempDir('nblc-forged-');
const outside = path.join(dir, 'outside');
const config = testConfig(dir, path.join(dir, 'no-upstream'), { NBLC_USERS_DIR: path.join(dir, 'users') });
const ready = new ReadyCopies(false);
after(() => ready.close());
// Asked only for notebooks that need worker labels, which no forged case reaches.
const noTemporal = {
  workflowService: { describeTaskQueue: () => Promise.reject(new Error('no Temporal server in this test')) },
} as unknown as Parameters<typeof createActivities>[2];
const all = {
  ...createActivities(config, ready, noTemporal),
  ...createNotebookActivities(config),
  ...createEnvironmentActivities(config),
} as Record<string, (input: unknown) => Promise<unknown>>;

/** Files that must survive every forged call, with their content. */
const sentinels: Record<string, string> = {
  [path.join(outside, 'sentinel')]: 'outside\n',
  [path.join(config.resultsDir, 'other-run', 'report.json')]: '{"runId":"other-run"}\n',
  [path.join(config.cacheDir, '.pins', B, 'other-run')]: '',
};

before(async () => {
  for (const [file, text] of Object.entries(sentinels)) {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, text);
  }
  await fs.writeFile(path.join(outside, 'evil.ipynb'), notebookJson(['print(1)']));
  for (const sha of [A, B]) {
    const root = path.join(config.cacheDir, 'snapshots', sha);
    await fs.mkdir(path.join(root, 'sub'), { recursive: true });
    await fs.writeFile(path.join(root, 'sub', 'nb.ipynb'), notebookJson(['print(1)']));
    await fs.symlink(outside, path.join(root, 'linked')); // a link committed to the repository
  }
  await fs.mkdir(path.join(config.usersDir, 'alice'), { recursive: true });
  await fs.symlink(outside, path.join(config.usersDir, 'mallory')); // a user's folder that is a link
  await activityEnv().run(all.resolveSnapshot!, { runId: 'good-run', commit: A });
});

const rootA = () => path.join(config.cacheDir, 'snapshots', A);
const request = (over: object = {}) => ({
  mode: 'latest',
  requestId: 'r1',
  requestedAt: '2026-01-01T00:00:00Z',
  ...over,
});
const U = UNTRUSTED_INPUT;

/** [activity, forged input, the field the refusal names, the failure type]. */
const CASES: Array<[string, unknown, string, string]> = [
  ['resolveSnapshot', { runId: '..' }, 'runId', U],
  ['resolveSnapshot', { runId: '/tmp' }, 'runId', U],
  ['releaseSnapshot', { runId: 'good-run', commit: '../../outside' }, 'commit', U],
  ['releaseSnapshot', { runId: '../../outside/sentinel', commit: A }, 'runId', U],
  ['discoverNotebooks', { root: '/' }, 'root', U],
  ['discoverNotebooks', { root: outside }, 'root', U],
  ['discoverNotebooks', { runId: 'good-run', root: rootA(), paths: ['../outside/evil.ipynb'] }, 'paths', U],
  ['discoverNotebooks', { runId: 'no-record', root: path.join(config.cacheDir, 'snapshots', B) }, 'root', U],
  ['writeRunReport', { runId: '..', commit: A, kind: 'manual', startedAt: '', finishedAt: '', paths: [] }, 'runId', U],
  [
    'writeRunReport',
    { runId: 'good-run', commit: B, kind: 'manual', startedAt: '', finishedAt: '', paths: [] },
    'commit',
    U,
  ],
  [
    'writeRunReport',
    { runId: 'good-run', commit: A, kind: 'manual', startedAt: '', finishedAt: '', paths: ['/etc/passwd'] },
    'paths',
    U,
  ],
  ['runNotebook', { runId: '..', root: rootA(), path: 'sub/nb.ipynb', attempt: 1 }, 'runId', U],
  ['runNotebook', { runId: 'good-run', root: rootA(), path: 'linked/evil.ipynb', attempt: 1 }, 'path', U],
  ['runNotebook', { runId: 'good-run', root: rootA(), path: '../../../outside/evil.ipynb', attempt: 1 }, 'path', U],
  ['runNotebook', { runId: 'good-run', root: '/', path: 'etc/hostname', attempt: 1 }, 'path', U],
  ['runNotebook', { runId: 'forged', root: '/', path: 'etc/hostname', attempt: 1 }, 'root', U],
  [
    'runNotebook',
    { runId: 'forged', root: path.join(config.cacheDir, 'snapshots', B), path: 'sub/nb.ipynb', attempt: 1 },
    'root',
    U,
  ],
  ['probeEnvironment', { runId: '..' }, 'runId', U],
  ['applyContracts', { runId: '..', root: rootA(), paths: [], notebookTaskQueue: 'q' }, 'runId', U],
  ['applyContracts', { runId: 'forged', root: '/', paths: [], notebookTaskQueue: 'q' }, 'root', U],
  [
    'applyContracts',
    { runId: 'good-run', root: rootA(), paths: ['../../outside/evil.ipynb'], notebookTaskQueue: 'q' },
    'paths',
    U,
  ],
  ['recordRun', { runId: '..' }, 'runId', 'BadRunId'],
  ['preparePullRequest', { runId: '..', number: 1, head: A, fork: false }, 'runId', U],
  ['preparePullRequest', { runId: 'pr-run', number: 1, head: 'HEAD', fork: false }, 'head', U],
  ['preparePullRequest', { runId: 'pr-run', number: -1, head: A, fork: false }, 'number', U],
  ['releasePullRequest', { runId: '..' }, 'runId', U],
  ['planRunAlerts', { runId: '..', kind: 'merge' }, 'runId', U],
  ['planSyncAlert', { repo: 'x', failing: true, since: 'now' }, '', ''],
  ['deliverAlert', { runId: '../x', channel: 'c', alert: { id: 'a' } }, 'runId', U],
  ['noteAlerts', { runId: '..', alerts: [] }, 'runId', U],
  ['noteAlerts', { runId: 'good-run', alerts: [] }, 'runId', U], // no report: nothing created
  ['setRunStatus', { runId: '..', commit: A, state: 'success' }, 'runId', U],
  ['setRunStatus', { runId: 'good-run', commit: B, state: 'success' }, 'commit', U],
  ['setRunStatus', { runId: 'forged', commit: A, state: 'success' }, 'runId', U],
  ['planSync', { candidates: ['--output=/tmp/x'], published: null, tip: A }, 'candidates', U],
  ['planSync', { candidates: [A], published: '../x', tip: A }, 'published', U],
  ['publishSnapshot', { sha: 'HEAD~1' }, 'sha', U],
  ['syncPass', { shas: ['--upload-pack=touch /tmp/x'], tip: false, published: null }, 'shas', U],
  ['syncPass', { shas: 'HEAD', tip: true, published: null }, 'shas', U],
  ['syncPass', { shas: [], tip: 'yes', published: null }, 'tip', U],
  ['syncPass', { shas: [A], tip: false, published: '../x' }, 'published', U],
  ['diffCommits', { from: A, to: '--output=x' }, 'to', U],
  ['provisionCopy', { user: '..', request: request() }, 'user', 'InvalidCopyRequest'],
  ['provisionCopy', { user: 'mallory', request: request() }, 'mallory', 'UnsafePath'],
  ['latestCopy', { user: 'alice', request: request({ dir: '../../outside/x' }) }, 'name', 'InvalidCopyRequest'],
  ['latestCopy', { user: 'alice', request: request({ dir: '/abs' }) }, 'name', 'InvalidCopyRequest'],
  ['updateCopy', { user: 'alice', request: request({ mode: 'update', dir: '..' }) }, 'name', 'InvalidCopyRequest'],
  ['listUserDirs', { after: null, limit: -1 }, 'limit', U],
  // Kernels and candidate runs (issue 19).
  ['probeEnvironment', { runId: 'good-run', kernel: '../../outside/x' }, 'kernel', U],
  ['runKernels', { runId: '..', root: '/', paths: [] }, 'runId', U],
  ['runKernels', { runId: 'good-run', root: rootA(), paths: ['../outside/evil.ipynb'] }, 'paths', U],
  ['resolveBaseline', { runId: '..', compareWith: 'latest-scheduled' }, 'runId', U],
  ['resolveBaseline', { runId: 'good-run', compareWith: '../outside' }, 'compareWith', U],
  ['setCandidateStatus', { runId: '../outside' }, 'runId', U],
  // Longest first (issue 23).
  ['planOrder', { paths: ['../outside/evil.ipynb'], ceiling: 2 }, 'paths', U],
  ['planOrder', { paths: '/etc', ceiling: 2 }, 'paths', U],
];

/** Activities that take no input at all: nothing to forge. */
const NO_INPUT = ['readPublished', 'fetchBranch', 'copyUpdateSettings', 'mergeRunSettings'];

test('every activity the workers register has forged-input cases here (or takes no input)', () => {
  const covered = new Set([...CASES.map((c) => c[0]), ...NO_INPUT]);
  assert.deepEqual(
    Object.keys(all).filter((name) => !covered.has(name)),
    [],
  );
});

test('forged inputs are refused, typed and non-retryable, naming the field; nothing outside changes', async () => {
  const before = await walk(outside);
  for (const [name, input, field, type] of CASES) {
    const what = `${name}(${JSON.stringify(input)})`;
    let failure: unknown = null;
    await activityEnv()
      .run(all[name]!, input)
      .catch((err: unknown) => (failure = err));
    if (type === '') {
      // No path, run or commit in the input (planSyncAlert): with no channel it decides nothing.
      assert.equal(failure, null, what);
      continue;
    }
    assert.ok(failure instanceof ApplicationFailure, `${what}: ${String(failure)}`);
    assert.equal(failure.type, type, `${what}: ${failure.message}`);
    assert.equal(failure.nonRetryable, true, what);
    if (type === U) assert.match(failure.message, new RegExp(`input ${field}\\b`), what);
    for (const [file, text] of Object.entries(sentinels)) {
      assert.equal(await fs.readFile(file, 'utf8'), text, `${what} changed ${file}`);
    }
    assert.deepEqual(await walk(outside), before, `${what} changed ${outside}`);
  }
  // The good run's pin and record are there, and nothing named after a forged run appeared.
  assert.ok((await fs.readdir(path.join(config.cacheDir, '.pins', A))).includes('good-run'));
  const runs = (await fs.readdir(config.resultsDir)).filter((n) => !n.startsWith('.')).sort();
  assert.deepEqual(runs, ['good-run', 'other-run']);
});
