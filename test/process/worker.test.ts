/**
 * Durability: a worker killed with SIGKILL at any moment and started again converges to the
 * same published state, and no half-written tree is ever visible under a final name.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { snapshotsDir } from '../../src/activities/sync/snapshot.js';
import { getRun, startTestRun } from '../../src/clients/runs/client.js';
import type { TestReport } from '../../src/domain/runs/model.js';
import { querySync, signalSync } from '../../src/clients/sync/client.js';
import { notebook, type FileContent } from '../../src/demo/sample-repo.js';
import { ownQueues, sandbox, waitFor } from '../helpers/fixtures.js';
import { descendants, isAlive, nblcEnv, startNblc, type NblcProcess } from '../helpers/processes.js';
import { beacon } from '../helpers/stack.js';
import { useTestEnv } from '../helpers/temporal.js';

const env = useTestEnv();

/** A suite big enough that publishing takes a noticeable moment. */
function suite(version: number, count = 1500): Record<string, FileContent> {
  const files: Record<string, FileContent> = {};
  for (let i = 0; i < count; i++) {
    files[`0${i % 6}_Level/Topic ${i % 40}/Notebook ${i}.ipynb`] = notebook([
      `print(${version}, ${i})`,
      'x = ' + 'a'.repeat(2000),
    ]);
  }
  files['VERSION'] = String(version);
  return files;
}

async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, rel: string) => {
    for (const e of await fs.readdir(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(path.join(dir, e.name), r);
      else out.push(r);
    }
  };
  await walk(root, '');
  return out.sort();
}

function kill9(p: NblcProcess) {
  process.kill(-p.child.pid!, 'SIGKILL'); // the whole group: node and any git it started
}

describe('worker crash', () => {
  test('kill -9 mid-publish, restart: the run completes and the published tree is whole', async () => {
    const { config, upstream } = await sandbox({ NBLC_TASK_QUEUE: 'crash-test', NBLC_REPO_FULL_NAME: 'test/crash' });
    const workerEnv = nblcEnv(env.address, config);
    const sha = await upstream.commit(suite(1), 'a big merge');
    const expected = (await upstream.git.raw(['ls-tree', '-r', '--name-only', sha])).trim().split('\n').sort();

    let worker = startNblc(['worker'], workerEnv);
    await worker.waitFor(/nblc is running/);
    await signalSync(env.client, config, beacon('crash-1', sha));
    // Kill while the snapshot is being written (a hidden temporary tree exists).
    await waitFor(
      'publish in progress',
      async () =>
        (await fs.readdir(snapshotsDir(config.cacheDir)).catch(() => [] as string[])).some((n) =>
          n.startsWith('.tmp-'),
        ),
      120_000,
    );
    kill9(worker);
    await worker.exited;
    const visible = await fs.readdir(snapshotsDir(config.cacheDir));
    assert.ok(!visible.includes(sha), 'a half-written snapshot must not appear under its final name');
    await assert.rejects(fs.readlink(path.join(config.cacheDir, 'current')), 'nothing is published yet');

    worker = startNblc(['worker'], workerEnv);
    try {
      await worker.waitFor(/nblc is running/);
      // The killed attempt times out on its heartbeat, then the retry converges.
      const status = await waitFor(
        'synced after restart',
        async () => {
          const s = await querySync(env.client, config);
          return s?.recentDeliveries.find((d) => d.deliveryId === 'crash-1')?.outcome === 'synced' ? s : null;
        },
        180_000,
      );
      assert.equal(status.published?.sha, sha);
      assert.equal(path.basename(await fs.readlink(path.join(config.cacheDir, 'current'))), sha);
      assert.deepEqual(await listTree(path.join(config.cacheDir, 'current')), expected);
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  });

  test('kill -9 mid test run, restart: the run completes and reports each notebook exactly once', async () => {
    const { config, upstream } = await sandbox({ ...ownQueues('crash-run'), NBLC_TEST_CONCURRENCY: '2' });
    const workerEnv = nblcEnv(env.address, config, { NBLC_TEST_CONCURRENCY: '2' });
    const files: Record<string, FileContent> = {};
    for (let i = 0; i < 6; i++)
      files[`run/Notebook ${i}.ipynb`] = notebook(['import time\ntime.sleep(1.5)', `print(${i})`]);
    const sha = await upstream.commit(files);

    let worker = startNblc(['worker'], workerEnv);
    await worker.waitFor(/nblc is running/);
    await signalSync(env.client, config, beacon('crash-run', sha));
    await waitFor('published', async () => (await querySync(env.client, config))?.published?.sha === sha);
    const started = await startTestRun(env.client, config, { kind: 'manual' });
    await waitFor('some notebooks done, others running', async () => {
      // A query can time out on a loaded machine (the worker answers it): ask again.
      const p = (await getRun(env.client, started.runId).catch(() => null))?.progress;
      return p && p.done >= 1 && p.running.length > 0;
    });
    // The fork server, its executors (in their own sessions, out of the worker's group) and kernels.
    const tree = descendants(worker.child.pid!);
    assert.ok(tree.length >= 3, `expected a fork server, executors and kernels, saw ${tree.length} processes`);
    kill9(worker);
    await worker.exited;
    // A bound for orphans (they would live on), not a speed: each process down the chain (fork server,
    // executors, kernel servers, kernels) has to be scheduled to notice its parent's death, which
    // took over 20 s once with three cluster test files beside this one.
    await waitFor('no executor or kernel outlives the worker', async () => !tree.some(isAlive), 60_000);

    worker = startNblc(['worker'], workerEnv);
    try {
      const result = await waitFor(
        'run finished after restart',
        async () => (await getRun(env.client, started.runId))?.result,
        240_000,
      );
      assert.equal(result.counts.total, 6);
      assert.equal(result.counts.passed, 6);
      const report = JSON.parse(await fs.readFile(path.join(result.reportDir, 'report.json'), 'utf8')) as TestReport;
      assert.deepEqual(
        report.notebooks.map((n) => n.path),
        Object.keys(files).sort(),
      );
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  });
});
