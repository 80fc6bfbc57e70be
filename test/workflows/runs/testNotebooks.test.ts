/**
 * Test runs end to end on a real Temporal server: real snapshots, real kernels from .venv.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { applySchedule, getRun, SCHEDULE_ID, startTestRun } from '../../../src/clients/runs/client.js';
import { syncWorkflowId } from '../../../src/domain/sync/model.js';
import { RUN_SA, type TestReport } from '../../../src/domain/runs/model.js';
import { notebook } from '../../../src/demo/sample-repo.js';
import { historyStore } from '../../../src/storage/runs/history-store.js';
import { sandbox, waitFor } from '../../helpers/fixtures.js';
import { processesMatching } from '../../helpers/processes.js';
import { publish, runResult, withWorkers, pathStatuses } from '../../helpers/stack.js';
import { recordHistory, replayAll } from '../../helpers/histories.js';
import { useTestEnv, workflowBundle } from '../../helpers/temporal.js';
import { nameKernel, pidsMarked } from '../../system/sandbox/host-processes.js';

const env = useTestEnv();

let n = 0;
async function setup(extra: Record<string, string> = {}) {
  const id = `${++n}-${randomUUID().slice(0, 8)}`;
  return sandbox({
    NBLC_REPO_FULL_NAME: `test/runs-${id}`,
    NBLC_TASK_QUEUE: `runs-${id}`,
    NBLC_NOTEBOOK_TASK_QUEUE: `notebooks-${id}`,
    NBLC_TEST_CONCURRENCY: '2',
    NBLC_TEST_ON_MERGE: 'false',
    ...extra,
  });
}

const result = (runId: string) => runResult(env, runId);

const SUITE = {
  '.nblcignore': 'Login/\n',
  '01 Intro/Hello World.ipynb': notebook(['print("hello")']),
  '01 Intro/Broken.ipynb': notebook(['x = 1', 'raise ValueError("boom <&>")']),
  '02 Data/Stars.ipynb': notebook(['rows = open("stars.csv").read().splitlines()\nassert len(rows) == 3']),
  '02 Data/stars.csv': 'ra,dec\n1,2\n3,4\n',
  'Login/Needs Login.ipynb': notebook(['input("user: ")']),
  'Template.ipynb': notebook(['raise SystemExit("templates are not run")']),
};

describe('testNotebooks', () => {
  test('a manual run executes the discovered notebooks and writes report.json, junit.xml and report.html', async () => {
    const { config, upstream } = await setup();
    const sha = await upstream.commit(SUITE);
    await withWorkers(env, config, async () => {
      await publish(env, config, sha);
      const started = await startTestRun(env.client, config, { kind: 'manual' });
      const r = await result(started.runId);
      assert.equal(r.commit, sha);
      assert.deepEqual(pathStatuses(r), [
        ['01 Intro/Broken.ipynb', 'failed'],
        ['01 Intro/Hello World.ipynb', 'passed'],
        ['02 Data/Stars.ipynb', 'passed'],
      ]);
      assert.equal(r.counts.total, 3);
      assert.equal(r.counts.failed, 1);

      const report = JSON.parse(await fs.readFile(path.join(r.reportDir, 'report.json'), 'utf8')) as TestReport;
      const broken = report.notebooks.find((x) => x.path === '01 Intro/Broken.ipynb')!;
      assert.equal(broken.error?.cell, 1);
      assert.equal(broken.error?.ename, 'ValueError');
      assert.match(broken.error?.traceback ?? '', /boom <&>/);
      await fs.access(path.join(r.reportDir, 'executed', '01 Intro', 'Broken.ipynb'));
      assert.match(await fs.readFile(path.join(r.reportDir, 'junit.xml'), 'utf8'), /<testsuite[^>]*tests="3"/);
      assert.match(await fs.readFile(path.join(r.reportDir, 'report.html'), 'utf8'), /boom &lt;&amp;&gt;/);

      const desc = await env.client.workflow.getHandle(started.workflowId).describe();
      assert.equal(desc.typedSearchAttributes.get(RUN_SA.kind), 'manual');
      assert.equal(desc.typedSearchAttributes.get(RUN_SA.commit), sha);
      assert.equal(desc.typedSearchAttributes.get(RUN_SA.status), 'failed');
      assert.equal(desc.typedSearchAttributes.get(RUN_SA.failed), 1);

      // The run is in the notebook history once the workflow has finished.
      const store = await historyStore(config);
      const broke = await store.history('01 Intro/Broken.ipynb', 10);
      assert.deepEqual(
        broke?.map((x) => [x.runId, x.status, x.commit]),
        [[started.runId, 'failed', sha]],
      );
      assert.equal((await store.notebooks()).find((x) => x.path === '02 Data/Stars.ipynb')?.status, 'passed');
      await recordHistory(env, started.workflowId, 'test-run-manual');
    });
  });

  test('include/exclude globs and retries: a notebook that fails once then passes is reported passed and flaky', async () => {
    // Each attempt runs sandboxed, in a fresh copy with a private /tmp: nothing it writes lasts
    // to the next. What differs between attempts is a service on the host's loopback, which
    // kernels reach only with NBLC_KERNEL_NETWORK=host.
    const { config, upstream } = await setup({ NBLC_KERNEL_NETWORK: 'host' });
    let calls = 0;
    const server = http.createServer((_req, res) => res.writeHead(++calls === 1 ? 500 : 200).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const sha = await upstream.commit({
      'a/Flaky.ipynb': notebook([`import urllib.request\nurllib.request.urlopen(${JSON.stringify(url)}).read()`]),
      'a/Other.ipynb': notebook(['1']),
      'b/Skipped.ipynb': notebook(['1']),
    });
    // Closed however the test ends: an open server would keep the test file's process alive.
    try {
      await withWorkers(env, config, async () => {
        await publish(env, config, sha);
        const started = await startTestRun(env.client, config, {
          kind: 'manual',
          include: ['a/**'],
          exclude: ['**/Other*'],
          retries: 2,
        });
        const r = await result(started.runId);
        assert.deepEqual(r.notebooks, [
          { path: 'a/Flaky.ipynb', status: 'passed', durationMs: r.notebooks[0]!.durationMs, attempts: 2, flaky: true },
        ]);
        assert.equal(r.counts.flaky, 1);
      });
    } finally {
      server.close();
    }
  });

  test('progress is queryable while a run executes; continue-as-new keeps each notebook reported once', async () => {
    const { config, upstream } = await setup();
    const files: Record<string, string> = {};
    for (let i = 0; i < 12; i++) files[`many/nb-${String(i).padStart(2, '0')}.ipynb`] = notebook([`print(${i})`]);
    const sha = await upstream.commit(files);
    await withWorkers(env, config, async () => {
      await publish(env, config, sha);
      // A small history limit forces several continue-as-new in a small suite.
      const started = await startTestRun(env.client, config, { kind: 'manual', maxHistoryEvents: 60 });
      const seen = await waitFor('progress while running', async () => {
        const s = await getRun(env.client, started.runId);
        return s?.progress && s.progress.total === 12 && s.progress.phase === 'running' ? s.progress : null;
      });
      assert.ok(seen.done < 12);
      const r = await result(started.runId);
      assert.equal(r.counts.total, 12);
      assert.equal(r.counts.passed, 12);
      assert.equal(new Set(r.notebooks.map((x) => x.path)).size, 12);
      const desc = await env.client.workflow.getHandle(started.workflowId).describe();
      assert.notEqual(desc.runId, started.firstRunId, 'expected continue-as-new');
    });
  });

  test('cancelling a run kills its kernels', async () => {
    const { config, upstream } = await setup();
    // The kernel runs in its own PID namespace: it names itself, the test finds it in /proc.
    const marker = `nblcslp${randomUUID().slice(0, 8)}`;
    const sha = await upstream.commit({
      'slow/Sleeper.ipynb': notebook([`${nameKernel(marker)}\nimport time\ntime.sleep(120)`]),
    });
    await withWorkers(env, config, async () => {
      await publish(env, config, sha);
      const started = await startTestRun(env.client, config, { kind: 'manual' });
      const pid = await waitFor('kernel pid', async () => pidsMarked(marker)[0] ?? null);
      assert.ok(pid > 0);
      const handle = env.client.workflow.getHandle(started.workflowId);
      await handle.cancel();
      await assert.rejects(handle.result());
      await waitFor('kernel gone', async () => !isAlive(pid), 20_000);
      await waitFor('executor gone', async () => processesMatching(started.runId).length === 0, 20_000);
      const desc = await handle.describe();
      assert.equal(desc.typedSearchAttributes.get(RUN_SA.status), 'cancelled');
    });
  });

  test('after a merge, the notebooks it changed are tested in a merge run', async () => {
    const { config, upstream } = await setup({ NBLC_TEST_ON_MERGE: 'true' });
    const first = await upstream.commit({ 'x/One.ipynb': notebook(['1']), 'x/Two.ipynb': notebook(['2']) });
    await withWorkers(env, config, async () => {
      await publish(env, config, first);
      const full = await result(`merge-${first.slice(0, 12)}`);
      assert.equal(full.counts.total, 2, 'the first publish tests the whole suite');
      const second = await upstream.commit({
        'x/Two.ipynb': notebook(['raise KeyError("changed")']),
        'README.md': 'changed',
      });
      await publish(env, config, second);
      const merge = await result(`merge-${second.slice(0, 12)}`);
      assert.equal(merge.kind, 'merge');
      assert.deepEqual(pathStatuses(merge), [['x/Two.ipynb', 'failed']]);
      const third = await upstream.commit({ 'README.md': 'only docs' });
      await publish(env, config, third);
      // A merge that touches no notebook still gets its run, which selects nothing (issue 18: the
      // commit status says "no notebooks affected"; test/workflows/runs/change-impact.test.ts).
      const docsOnly = await result(`merge-${third.slice(0, 12)}`);
      assert.equal(docsOnly.counts.total, 0, 'a docs-only merge tests no notebook');
      await recordHistory(env, syncWorkflowId(config.repo.fullName), 'sync-with-merge-runs');
    });
  });

  test('the schedule applies idempotently and can be triggered', async () => {
    const { config, upstream } = await setup({ NBLC_TEST_CRON: '0 3 * * *' });
    const sha = await upstream.commit({ 'Scheduled.ipynb': notebook(['print("nightly")']) });
    await withWorkers(env, config, async () => {
      await publish(env, config, sha);
      assert.equal(await applySchedule(env.client, config), 'created');
      assert.equal(
        await applySchedule(env.client, { ...config, tests: { ...config.tests, cron: '30 2 * * *' } }),
        'updated',
      );
      const handle = env.client.schedule.getHandle(SCHEDULE_ID);
      const desc = await handle.describe();
      assert.equal(desc.policies.overlap, 'SKIP');
      assert.equal(desc.spec.calendars?.[0]?.hour?.[0]?.start, 2);
      await handle.trigger();
      const runWorkflowId = await waitFor(
        'scheduled run started',
        async () => (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId,
      );
      const r = await result(runWorkflowId.replace(/^test-run:/, ''));
      assert.equal(r.kind, 'scheduled');
      assert.equal(r.counts.passed, 1);
      await handle.delete();
    });
  });
});

/** Alive and not a zombie waiting to be reaped. */
function isAlive(pid: number): boolean {
  const stat = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim();
  return stat !== '' && !stat.startsWith('Z');
}

describe('determinism', () => {
  test('test-run and sync histories (fixtures and this run) replay against the current workflow code', async () => {
    assert.ok((await replayAll(await workflowBundle())) >= 1);
  });
});
