/**
 * Environment provenance end to end on a real Temporal server with real kernels from .venv: each
 * run measures its kernel environment once, records it in the history, compares it with the
 * previous run's, and says of each newly failing notebook what changed since it last passed.
 *
 *   node --import tsx --test test/workflows/runs/environment.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { startTestRun } from '../../../src/clients/runs/client.js';
import { notebook } from '../../../src/demo/sample-repo.js';
import type { TestReport } from '../../../src/domain/runs/model.js';
import { historyStore } from '../../../src/storage/runs/history-store.js';
import { summaryText } from '../../../src/domain/runs/summary.js';
import { gitOut } from '../../helpers/activities.js';
import { runSandbox } from '../../helpers/fixtures.js';
import { recordHistory, replayAll } from '../../helpers/histories.js';
import { publish, runResult, withWorkers } from '../../helpers/stack.js';
import { useTestEnv, workflowBundle } from '../../helpers/temporal.js';

const env = useTestEnv();

describe('environment provenance', () => {
  test('two runs: the environment is measured and compared; newly failing notebooks say what changed', async () => {
    // The notebook's service stands on the host's loopback, which kernels reach only with `host`.
    const { config, upstream } = await runSandbox('env', { NBLC_TEST_CONCURRENCY: '2', NBLC_KERNEL_NETWORK: 'host' });
    // A service the notebook uses: up for the first run, down for the second.
    let up = true;
    const server = http.createServer((_req, res) => res.writeHead(up ? 200 : 503).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const first = await upstream.commit({
        'Edited.ipynb': notebook(['x = 1']),
        'Service.ipynb': notebook([`import urllib.request\nurllib.request.urlopen(${JSON.stringify(url)}).read()`]),
        'Steady.ipynb': notebook(['1 + 1']),
      });
      await withWorkers(env, config, async () => {
        await publish(env, config, first);
        const r1 = await runResult(env, (await startTestRun(env.client, config, { kind: 'manual' })).runId);
        assert.equal(r1.counts.passed, 3);
        assert.equal(r1.environment?.error, undefined);
        assert.match(r1.environment?.fingerprint ?? '', /^[0-9a-f]{64}$/);
        assert.ok((r1.environment?.packages ?? 0) > 10);

        const second = await upstream.commit({ 'Edited.ipynb': notebook(['raise ValueError("edited")']) });
        await publish(env, config, second);
        up = false;
        const started = await startTestRun(env.client, config, { kind: 'manual' });
        const r2 = await runResult(env, started.runId);
        assert.deepEqual(r2.newlyFailing, ['Edited.ipynb', 'Service.ipynb']);

        const report = JSON.parse(await fs.readFile(path.join(r2.reportDir, 'report.json'), 'utf8')) as TestReport;
        assert.equal(report.environment?.fingerprint, r1.environment?.fingerprint, 'the same .venv both times');
        assert.equal(report.environment?.python, r1.environment?.python);
        assert.equal(report.environmentComparedWith, r1.runId);
        assert.deepEqual(report.environmentChanges, []);
        const lastPassed = { runId: r1.runId, commit: first };
        assert.deepEqual(report.newlyFailingChanges, [
          { path: 'Edited.ipynb', lastPassed, notebook: 'changed', environment: 'same' },
          { path: 'Service.ipynb', lastPassed, notebook: 'same', environment: 'same' },
        ]);
        // The blob is git's: what `git ls-tree` shows for the notebook at the run's commit.
        const tree = (await gitOut(upstream.workDir, ['ls-tree', second, 'Edited.ipynb'])).toString();
        assert.equal(report.notebooks.find((nb) => nb.path === 'Edited.ipynb')?.blob, tree.split(/\s/)[2]);

        const html = await fs.readFile(path.join(r2.reportDir, 'report.html'), 'utf8');
        assert.match(html, /Unchanged since run <code>/);
        assert.match(html, /the notebook changed since it last passed/);
        const text = summaryText(r2);
        assert.match(text, /Edited\.ipynb: the notebook changed since it last passed/);
        assert.match(text, /Service\.ipynb: neither the notebook nor the environment changed since/);
        assert.match(
          text,
          new RegExp(`environment: Python [0-9.]+, \\d+ packages[^\\n]*\\n  unchanged since ${r1.runId}`),
        );

        // Recorded in the history, for the next run to compare with.
        const store = await historyStore(config);
        const recorded = await store.previousEnvironment('later', new Date(Date.now() + 60_000).toISOString());
        assert.equal(recorded?.runId, started.runId);
        assert.equal(recorded?.environment.fingerprint, report.environment?.fingerprint);
        await recordHistory(env, started.workflowId, 'test-run-environment');
      });
    } finally {
      server.close();
    }
  });

  test('histories (fixtures and this run) replay against the current workflow code', async () => {
    assert.ok((await replayAll(await workflowBundle())) >= 1);
  });
});
