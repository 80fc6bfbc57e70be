/**
 * Kernels end to end on a real Temporal server with real kernels: a run measures every kernel its
 * notebooks use, once each (a notebook asking for a kernelspec other than the default gets its own
 * environment in the report), records them per kernel in the history (the next run compares per
 * kernel), and the kernel registry knows which kernelspecs the worker has and what it measured.
 *
 *   node --import tsx --test test/workflows/runs/kernels.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { startTestRun } from '../../../src/clients/runs/client.js';
import { notebook } from '../../../src/demo/sample-repo.js';
import type { TestReport } from '../../../src/domain/runs/model.js';
import { PROJECT_ROOT } from '../../../src/platform/config.js';
import { recordWorkerKernels } from '../../../src/activities/runs/kernels.js';
import { openKernelStore } from '../../../src/storage/runs/kernel-store.js';
import { createApp } from '../../../src/api/app.js';
import { kernelsText } from '../../../src/cli/kernels.js';
import type { KnownKernel } from '../../../src/domain/runs/kernels.js';
import { createLogger } from '../../../src/platform/logger.js';
import { Secret } from '../../../src/platform/secret.js';
import { runSandbox, tempDir } from '../../helpers/fixtures.js';
import { publish, runResult, withWorkers } from '../../helpers/stack.js';
import { useTestEnv } from '../../helpers/temporal.js';

const env = useTestEnv();
const TOKEN = 'operator-token-for-the-kernel-tests-0123456789';
const logger = createLogger('silent');

/** A kernelspec `other` (the project's Python, launched rather than forked) where the executors look. */
async function otherKernelspec(): Promise<string> {
  const dir = await tempDir('nblc-kernels-');
  const spec = path.join(dir, 'jupyter', 'kernels', 'other');
  await fs.mkdir(spec, { recursive: true });
  const python = path.join(PROJECT_ROOT, '.venv', 'bin', 'python');
  await fs.writeFile(
    path.join(spec, 'kernel.json'),
    JSON.stringify({
      argv: [python, '-m', 'ipykernel', '-f', '{connection_file}'],
      display_name: 'Other',
      language: 'python',
    }),
  );
  return path.join(dir, 'jupyter');
}

describe('kernels', () => {
  test('each kernel a run uses is measured once and compared per kernel; the registry knows them', async () => {
    // The executors' environment keeps JUPYTER_* of the worker's.
    const jupyterPath = await otherKernelspec();
    const { config, upstream } = await runSandbox('kernels', { NBLC_TEST_CONCURRENCY: '2', JUPYTER_PATH: jupyterPath });
    const sha = await upstream.commit({
      'Default.ipynb': notebook(['import sys; print(sys.version)']),
      'Default2.ipynb': notebook(['1 + 1']),
      'Other.ipynb': notebook(['import os; print(os.getpid())'], 'other'),
    });
    assert.deepEqual(await recordWorkerKernels(config), { recorded: 2 });
    await withWorkers(env, config, async () => {
      await publish(env, config, sha);
      const r1 = await runResult(env, (await startTestRun(env.client, config, { kind: 'manual' })).runId);
      assert.equal(r1.counts.passed, 3, JSON.stringify(r1.failures));
      const report1 = JSON.parse(await fs.readFile(path.join(r1.reportDir, 'report.json'), 'utf8')) as TestReport;
      assert.deepEqual(
        report1.environments?.map((e) => e.kernel),
        ['other', 'python3'],
      );
      for (const e of report1.environments ?? []) assert.match(e.fingerprint ?? '', /^[0-9a-f]{64}$/, e.error);
      assert.equal(report1.environment?.kernel, 'python3', 'the most used kernel is the primary');
      assert.equal(report1.notebooks.find((n) => n.path === 'Other.ipynb')?.kernel, 'other');
      assert.deepEqual(
        report1.kernelChanges?.map((k) => [k.kernel, k.comparedWith]),
        [
          ['other', null],
          ['python3', null],
        ],
      );
      const html = await fs.readFile(path.join(r1.reportDir, 'report.html'), 'utf8');
      assert.match(html, /Kernels[^]*other[^]*python3/);

      const r2 = await runResult(env, (await startTestRun(env.client, config, { kind: 'manual' })).runId);
      const report2 = JSON.parse(await fs.readFile(path.join(r2.reportDir, 'report.json'), 'utf8')) as TestReport;
      assert.deepEqual(
        report2.kernelChanges?.map((k) => [k.kernel, k.comparedWith, k.changes.length]),
        [
          ['other', r1.runId, 0],
          ['python3', r1.runId, 0],
        ],
      );
      assert.equal(report2.environmentComparedWith, r1.runId);

      const kernels = await (await openKernelStore(config)).kernels();
      const other = kernels.find((k) => k.name === 'other');
      assert.equal(other?.displayName, 'Other');
      assert.equal(other?.language, 'python');
      assert.deepEqual(
        other?.workers.map((w) => w.worker),
        [config.workerName],
      );
      assert.equal(other?.environment?.fingerprint, report2.environments?.[0]?.fingerprint);
      assert.ok(Object.keys(other?.environment?.packages ?? {}).length > 10);
      assert.ok(kernels.some((k) => k.name === 'python3' && k.environment?.measuredAt));

      // The same registry over HTTP (operators' token) and in `nblc kernels`' words.
      const app = createApp({ client: env.client, config: { ...config, apiToken: new Secret(TOKEN) }, logger });
      assert.equal((await app.request('/kernels')).status, 401);
      const res = await app.request('/kernels', { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { kernels: KnownKernel[] };
      assert.deepEqual(body.kernels, JSON.parse(JSON.stringify(kernels)));
      assert.match(
        kernelsText(kernels),
        /^other {2}"Other" \(python\)\n {2}workers: [^\n]+\n {2}Python [0-9.]+, \d+ packages/m,
      );
    });
  });
});
