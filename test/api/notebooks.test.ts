/**
 * Operator routes of the notebook history: token, the overview, one notebook's runs by its
 * URL-encoded path, limits and unknown paths, an unreachable database. The routes need no
 * Temporal: the history is in nblc's own database (SQLite under NBLC_DATA_DIR here).
 *
 *   node --import tsx --test test/api/notebooks.test.ts
 */
import type { Client } from '@temporalio/client';
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createApp } from '../../src/api/app.js';
import { closeHistoryStores, historyStore } from '../../src/storage/runs/history-store.js';
import { createLogger } from '../../src/platform/logger.js';
import type { NotebookOverview, NotebookRun, RecordedRun } from '../../src/domain/runs/history.js';
import type { NotebookStatus } from '../../src/domain/runs/model.js';
import { tempDir, testConfig } from '../helpers/fixtures.js';

const TOKEN = 'operator-token-for-the-notebook-tests-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const logger = createLogger('silent');
/** The history routes never reach Temporal. */
const noTemporal = {} as Client;

after(() => closeHistoryStores());

const DEEP = 'Deep Dir/Été #1.ipynb';
const NESTED = 'history/history.ipynb';

function run(i: number, statuses: Record<string, NotebookStatus>): RecordedRun {
  const finishedAt = new Date(Date.UTC(2024, 4, i, 3)).toISOString();
  return {
    runId: `scheduled-${i}`,
    kind: i === 3 ? 'merge' : 'scheduled',
    commit: String(i).repeat(40),
    startedAt: finishedAt,
    finishedAt,
    notebooks: Object.entries(statuses).map(([path, status]) => ({
      path,
      status,
      cause: status === 'passed' ? null : 'KeyError: <n>',
      durationMs: 1000 * i,
      peakMemoryBytes: null,
      attempts: 1,
      flaky: false,
    })),
  };
}

async function appWithHistory() {
  const config = testConfig(await tempDir('nblc-api-notebooks-'), 'file:///nonexistent/notebooks.git', {
    NBLC_API_TOKEN: TOKEN,
  });
  const store = await historyStore(config);
  await store.record(run(1, { [DEEP]: 'passed', [NESTED]: 'failed' }));
  await store.record(run(2, { [DEEP]: 'failed', [NESTED]: 'failed' }));
  await store.record(run(3, { [DEEP]: 'failed' }));
  return { app: createApp({ client: noTemporal, config, logger }), config };
}

const get = async <T>(app: { request: (p: string, i?: RequestInit) => Response | Promise<Response> }, p: string) => {
  const res = await app.request(p, { headers: auth });
  return { status: res.status, body: (await res.json()) as T };
};

describe('/notebooks', () => {
  test('needs the operator token, and is off without one', async () => {
    const { app, config } = await appWithHistory();
    assert.equal((await app.request('/notebooks')).status, 401);
    assert.equal(
      (await app.request('/notebooks/a.ipynb/history', { headers: { authorization: 'Bearer no' } })).status,
      401,
    );
    const off = createApp({ client: noTemporal, config: { ...config, apiToken: undefined }, logger });
    assert.equal((await off.request('/notebooks', { headers: auth })).status, 503);
  });

  test('GET /notebooks: every notebook with its latest status, since, last pass, pass rate', async () => {
    const { app } = await appWithHistory();
    const { status, body } = await get<{ notebooks: NotebookOverview[] }>(app, '/notebooks');
    assert.equal(status, 200);
    assert.deepEqual(body.notebooks, [
      {
        path: DEEP,
        status: 'failed',
        cause: 'KeyError: <n>',
        since: { runId: 'scheduled-2', commit: '2'.repeat(40), finishedAt: '2024-05-02T03:00:00.000Z' },
        lastRun: { runId: 'scheduled-3', commit: '3'.repeat(40), finishedAt: '2024-05-03T03:00:00.000Z' },
        lastPassed: { runId: 'scheduled-1', commit: '1'.repeat(40) },
        passRate: 0.3333,
        flaky: false,
        runs: 3,
      },
      {
        path: NESTED,
        status: 'failed',
        cause: 'KeyError: <n>',
        since: { runId: 'scheduled-1', commit: '1'.repeat(40), finishedAt: '2024-05-01T03:00:00.000Z' },
        lastRun: { runId: 'scheduled-2', commit: '2'.repeat(40), finishedAt: '2024-05-02T03:00:00.000Z' },
        lastPassed: null,
        passRate: 0,
        flaky: false,
        runs: 2,
      },
    ]);
  });

  test('GET /notebooks/<path>/history: newest first, the path encoded per segment or whole', async () => {
    const { app } = await appWithHistory();
    const perSegment = `/notebooks/${DEEP.split('/').map(encodeURIComponent).join('/')}/history`;
    const whole = `/notebooks/${encodeURIComponent(DEEP)}/history`;
    assert.match(whole, /%2F/);
    for (const url of [perSegment, whole]) {
      const { status, body } = await get<{ path: string; runs: NotebookRun[] }>(app, url);
      assert.equal(status, 200, url);
      assert.equal(body.path, DEEP);
      assert.deepEqual(
        body.runs.map((r) => [r.runId, r.kind, r.status, r.durationMs, r.cause]),
        [
          ['scheduled-3', 'merge', 'failed', 3000, 'KeyError: <n>'],
          ['scheduled-2', 'scheduled', 'failed', 2000, 'KeyError: <n>'],
          ['scheduled-1', 'scheduled', 'passed', 1000, null],
        ],
      );
      assert.deepEqual(Object.keys(body.runs[0]!).slice(0, 7), [
        'runId',
        'kind',
        'commit',
        'status',
        'durationMs',
        'finishedAt',
        'cause',
      ]);
    }
    const limited = await get<{ runs: NotebookRun[] }>(app, `${perSegment}?limit=1`);
    assert.deepEqual(
      limited.body.runs.map((r) => r.runId),
      ['scheduled-3'],
    );
    const nested = await get<{ path: string; runs: NotebookRun[] }>(app, `/notebooks/${NESTED}/history`);
    assert.equal(nested.body.path, NESTED, 'a folder named history is part of the path');
    assert.equal(nested.body.runs.length, 2);
  });

  test('unknown paths are 404, bad limits 400', async () => {
    const { app } = await appWithHistory();
    const unknown = await get<{ error: string }>(app, '/notebooks/nope/none.ipynb/history');
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error, /nope\/none\.ipynb/);
    assert.equal((await get(app, '/notebooks/Deep%20Dir/history')).status, 404, 'a folder is not a notebook');
    for (const limit of ['0', '-1', '1.5', 'x', '100000']) {
      assert.equal((await get(app, `/notebooks/${NESTED}/history?limit=${limit}`)).status, 400, limit);
    }
  });

  test('an unreachable database answers 503 with the reason', async () => {
    const config = testConfig(await tempDir('nblc-api-notebooks-'), 'file:///nonexistent/notebooks.git', {
      NBLC_API_TOKEN: TOKEN,
      // nothing listens on port 1
      NBLC_DATABASE_URL: 'postgresql://nblc@127.0.0.1:1/nblc',
    });
    const app = createApp({ client: noTemporal, config, logger });
    const { status, body } = await get<{ error: string }>(app, '/notebooks');
    assert.equal(status, 503);
    assert.match(body.error, /history database is unavailable/);
  });
});
