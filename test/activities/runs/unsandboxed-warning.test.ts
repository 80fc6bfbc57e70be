/**
 * NBLC_SANDBOX=off is never silent: besides the warning at worker start and the marks in the
 * report, the notebook activity logs a warning for every run it executes notebooks of (once per
 * run and worker, not per notebook). Real activity code and context, real executor and kernels.
 *   node --import tsx --test test/activities/runs/unsandboxed-warning.test.ts
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Logger } from '@temporalio/common';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { createNotebookActivities } from '../../../src/activities/runs/notebooks.js';
import { loadConfig } from '../../../src/platform/config.js';
import type { NotebookSummary } from '../../../src/domain/runs/model.js';
import { notebookJson } from '../../helpers/notebooks.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nblc-unsandboxed-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('with NBLC_SANDBOX=off, each run is warned about once, naming the run', async () => {
  // A published snapshot, pinned by both runs: the worker computes a run's root from its pin.
  const sha = 'd'.repeat(40);
  const root = path.join(dir, 'cache', 'snapshots', sha);
  fs.mkdirSync(root, { recursive: true });
  for (const runId of ['run-one', 'run-two']) {
    fs.mkdirSync(path.join(dir, 'cache', '.pins', sha), { recursive: true });
    fs.writeFileSync(path.join(dir, 'cache', '.pins', sha, runId), '');
  }
  for (const nb of ['a.ipynb', 'b.ipynb']) fs.writeFileSync(path.join(root, nb), notebookJson(['print(1)']));
  const config = loadConfig({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NBLC_REPO_URL: '/x',
    NBLC_REPO_FULL_NAME: 'a/b',
    NBLC_SANDBOX: 'off',
    NBLC_DATA_DIR: path.join(dir, 'data'),
    NBLC_RESULTS_DIR: path.join(dir, 'results'),
    NBLC_CACHE_DIR: path.join(dir, 'cache'),
  });
  const warnings: string[] = [];
  const noop = () => undefined;
  const logger: Logger = {
    log: noop,
    trace: noop,
    debug: noop,
    info: noop,
    error: noop,
    warn: (m) => warnings.push(m),
  };
  const { runNotebook } = createNotebookActivities(config);
  const run = (runId: string, nb: string) =>
    new MockActivityEnvironment({ heartbeatTimeoutMs: 60_000 }, { logger }).run(runNotebook, {
      runId,
      root,
      path: nb,
      attempt: 1,
    });
  for (const [runId, nb] of [
    ['run-one', 'a.ipynb'],
    ['run-one', 'b.ipynb'],
    ['run-two', 'a.ipynb'],
  ] as const) {
    const summary = (await run(runId, nb)) as NotebookSummary;
    assert.equal(summary.status, 'passed', JSON.stringify(summary));
  }
  const told = warnings.filter((w) => w.includes('NBLC_SANDBOX=off'));
  assert.equal(told.length, 2, told.join('\n'));
  assert.match(told[0]!, /run run-one executes notebooks unsandboxed/);
  assert.match(told[1]!, /run run-two executes notebooks unsandboxed/);
});
