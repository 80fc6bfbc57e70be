/**
 * Issue 18, parts 3 and 4 through the real service (Temporal server, workers, sandboxed kernels,
 * a published sample upstream, the history database, the HTTP app): a scheduled run reads each
 * notebook's header cell into the report (and the datasets its failures share), GET /notebooks
 * and the dashboard filter by them, and the run writes status.json, whose badge says failing and
 * which flags the notebook that needs more than NBLC_USER_LAB_MEMORY; then publishes that remove
 * and move notebooks rewrite it while another process reads it in a loop.
 *   node --import tsx --test test/workflows/runs/catalog-health.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { createApp } from '../../../src/api/app.js';
import { startTestRun } from '../../../src/clients/runs/client.js';
import type { PublicStatus } from '../../../src/domain/runs/health.js';
import type { TestReport } from '../../../src/domain/runs/model.js';
import { notebook } from '../../../src/demo/sample-repo.js';
import { createLogger } from '../../../src/platform/logger.js';
import { closeHistoryStores } from '../../../src/storage/runs/history-store.js';
import { runSandbox, tempDir, TEST_SECRET } from '../../helpers/fixtures.js';
import { publish, runResult, withWorkers } from '../../helpers/stack.js';
import { readInLoop } from '../../helpers/status-reader.js';
import { useTestEnv } from '../../helpers/temporal.js';

const env = useTestEnv();
after(() => closeHistoryStores());
const TOKEN = 'operator-token-for-the-catalog-tests-0123456789';
const PRERUN_TOKEN = 'prerun-s3cret-0123456789';

const header = (datasets: string[], keywords: string[]) =>
  [
    "__author__ = 'Ada Lovelace <ada@example.org>'",
    "__version__ = '20261207' # yyyymmdd",
    `__datasets__ = [${datasets.map((d) => `'${d}'`).join(', ')}]`,
    `__keywords__ = [${keywords.map((k) => `'${k}'`).join(', ')}]`,
  ].join('\n');

function skipped(reason: string): string {
  const nb = JSON.parse(notebook([header(['gaia_dr3'], ['login']), 'print(1)'])) as { metadata: object };
  nb.metadata = { ...nb.metadata, nblc: { skip: { reason, issue: '#42' } } };
  return JSON.stringify(nb);
}

test('header cells in the report, GET /notebooks and the dashboard; status.json and a failing badge after a scheduled run', async () => {
  // The prerun cell holds a secret the failing notebooks put in their error messages.
  const prerun = path.join(await tempDir('nblc-prerun-'), 'prerun.py');
  await fs.writeFile(prerun, `PRERUN_TOKEN = '${PRERUN_TOKEN}'\n`);
  const { config, upstream, dir } = await runSandbox('catalog', {
    NBLC_PRERUN_FILE: prerun,
    NBLC_API_TOKEN: TOKEN,
    NBLC_USER_LAB_MEMORY: '320M',
  });
  const sha = await upstream.commit({
    'ls/First.ipynb': notebook([
      header(['ls_dr9', 'sdss_dr17'], ['photometry']),
      'raise RuntimeError("the TAP service is down for " + PRERUN_TOKEN)',
    ]),
    'ls/Second.ipynb': notebook([
      header(['ls_dr9'], ['spectra']),
      'raise RuntimeError("the TAP service is down for " + PRERUN_TOKEN)',
    ]),
    'gaia/Fine.ipynb': notebook([
      header(['gaia_dr3'], ['tutorial', 'plot:cmd']),
      'x = bytearray(8 << 20)\nprint(len(x))',
    ]),
    'gaia/Login.ipynb': skipped('needs an interactive login'),
    // 640 MiB written byte by byte, whatever measures it (the cgroup's peak, or the process's RSS).
    'gaia/Heavy.ipynb': notebook([header(['gaia_dr3'], ['crossmatch']), "x = b'\\x01' * (640 << 20)\nprint(len(x))"]),
  });
  const app = createApp({ client: env.client, config, logger: createLogger('silent') });
  const get = (p: string, auth = true) => app.request(p, auth ? { headers: { authorization: `Bearer ${TOKEN}` } } : {});
  await withWorkers(env, config, async () => {
    await publish(env, config, sha);
    const started = await startTestRun(env.client, config, { kind: 'scheduled' });
    const r = await runResult(env, started.runId);
    const report = JSON.parse(await fs.readFile(path.join(r.reportDir, 'report.json'), 'utf8')) as TestReport;
    const first = report.notebooks.find((n) => n.path === 'ls/First.ipynb')!;
    assert.deepEqual(first.catalog, {
      author: 'Ada Lovelace <ada@example.org>',
      version: '20261207',
      datasets: ['ls_dr9', 'sdss_dr17'],
      keywords: ['photometry'],
    });
    assert.deepEqual(report.sharedDatasets, [{ dataset: 'ls_dr9', notebooks: ['ls/First.ipynb', 'ls/Second.ipynb'] }]);
    const html = await fs.readFile(path.join(r.reportDir, 'report.html'), 'utf8');
    assert.match(html, /2 of the failures read <b>ls_dr9<\/b>/);

    // GET /notebooks: the catalog entry and the contract beside the history, filtered.
    const all = (await (await get('/notebooks')).json()) as {
      notebooks: Array<{ path: string; header?: { keywords?: string[] }; contract?: { skip?: { reason: string } } }>;
    };
    assert.equal(all.notebooks.length, 5);
    assert.equal(
      all.notebooks.find((n) => n.path === 'gaia/Login.ipynb')?.contract?.skip?.reason,
      'needs an interactive login',
    );
    const ls = (await (await get('/notebooks?dataset=ls_dr9')).json()) as { notebooks: Array<{ path: string }> };
    assert.deepEqual(ls.notebooks.map((n) => n.path).sort(), ['ls/First.ipynb', 'ls/Second.ipynb']);
    const tutorial = (await (await get('/notebooks?keyword=tutorial')).json()) as {
      notebooks: Array<{ path: string }>;
    };
    assert.deepEqual(
      tutorial.notebooks.map((n) => n.path),
      ['gaia/Fine.ipynb'],
    );

    // The dashboard: the filters and the notebook page (header fields, contract, skip reason).
    const list = await (await get('/ui/notebooks?dataset=ls_dr9')).text();
    assert.match(list, /First/);
    assert.match(list, /Second/);
    assert.doesNotMatch(list, /Fine\.ipynb|Login/);
    assert.match(list, /<option value="gaia_dr3">/);
    const page = await (await get('/ui/notebooks/gaia/Login.ipynb')).text();
    assert.match(page, /<dt>Skipped<\/dt><dd>needs an interactive login \(issue #42\)<\/dd>/);
    // The skip's reason is the history's note beside the status, in the list and the runs too.
    const skippedList = await (await get('/ui/notebooks?keyword=login')).text();
    assert.match(skippedList, /needs an interactive login/);
    const history = (await (await get('/notebooks/gaia/Login.ipynb/history')).json()) as {
      runs: Array<{ status: string; cause: string | null }>;
      contract?: { skip?: { reason: string } };
    };
    assert.equal(history.contract?.skip?.reason, 'needs an interactive login', 'the catalog entry beside the runs');
    const lsHistory = (await (await get('/notebooks/ls/First.ipynb/history')).json()) as {
      header?: { datasets?: string[]; author?: string };
    };
    assert.deepEqual(lsHistory.header?.datasets, ['ls_dr9', 'sdss_dr17']);
    assert.equal(history.runs[0]?.status, 'skipped');
    assert.match(history.runs[0]?.cause ?? '', /needs an interactive login/);
    assert.match(page, /<dt>Author<\/dt><dd>Ada Lovelace &lt;ada@example.org&gt;<\/dd>/);
    assert.match(page, /<dt>Datasets<\/dt><dd>gaia_dr3<\/dd>/);

    // status.json beside `current`, from this scheduled run; the badges without a login.
    const status = JSON.parse(await fs.readFile(path.join(config.cacheDir, 'status.json'), 'utf8')) as PublicStatus;
    assert.equal(status.runId, r.runId);
    assert.equal(status.commit, sha);
    assert.equal(status.notebooks['ls/First.ipynb']!.status, 'failed');
    assert.equal(status.notebooks['gaia/Fine.ipynb']!.status, 'passed');
    assert.equal(status.notebooks['gaia/Login.ipynb']!.skipReason?.includes('needs an interactive login'), true);
    const text = JSON.stringify(status);
    assert.doesNotMatch(text, /TAP service is down|Traceback|RuntimeError/, 'no failure messages');
    assert.doesNotMatch(text, new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'no paths outside the snapshot');
    assert.ok(!text.includes(TOKEN) && !text.includes(TEST_SECRET), 'no secrets');
    assert.match(first.message ?? '', new RegExp(PRERUN_TOKEN), 'the prerun cell ran, and the report says what failed');
    assert.ok(!text.includes(PRERUN_TOKEN), 'no prerun content');
    // NBLC_USER_LAB_MEMORY (320M): the notebook that wrote 640 MiB is flagged, the small one not.
    const fine = status.notebooks['gaia/Fine.ipynb']!;
    const heavy = status.notebooks['gaia/Heavy.ipynb']!;
    assert.equal(heavy.status, 'passed');
    assert.ok((heavy.p95PeakMemoryBytes ?? 0) > 640 * 2 ** 20, `measured ${heavy.p95PeakMemoryBytes}`);
    assert.equal(heavy.exceedsUserLabMemory, true);
    assert.ok(fine.p95PeakMemoryBytes !== null && fine.p95PeakMemoryBytes > 8 * 2 ** 20, `${fine.p95PeakMemoryBytes}`);
    assert.ok(fine.p95PeakMemoryBytes < 320 * 2 ** 20, `measured ${fine.p95PeakMemoryBytes}`);
    assert.equal(fine.exceedsUserLabMemory, false);
    assert.equal(status.userLabMemoryBytes, 320 * 2 ** 20);
    const badge = await get('/public/badge/ls/First.ipynb.svg', false);
    assert.equal(badge.status, 200);
    assert.match(await badge.text(), />failing</);
    const served = await get('/public/status.json', false);
    assert.equal(((await served.json()) as PublicStatus).runId, r.runId);

    // Publishes rewrite it (no scheduled run between): upstream removes ls/Second and moves
    // gaia/Fine back and forth, while another process parses the file in a loop.
    const file = path.join(config.cacheDir, 'status.json');
    const stop = path.join(dir, 'stop-reading');
    const reader = readInLoop(file, stop);
    await reader.started;
    const read = async () => JSON.parse(await fs.readFile(file, 'utf8')) as PublicStatus;
    const FINE = notebook([header(['gaia_dr3'], ['tutorial']), 'print(1)']);
    const removed = await upstream.commit({
      'ls/Second.ipynb': null,
      'gaia/Fine.ipynb': null,
      'gaia/new/Fine.ipynb': FINE,
    });
    await publish(env, config, removed);
    let after = await read();
    assert.deepEqual(Object.keys(after.notebooks).sort(), [
      'gaia/Heavy.ipynb',
      'gaia/Login.ipynb',
      'gaia/new/Fine.ipynb',
      'ls/First.ipynb',
    ]);
    assert.equal(after.notebooks['gaia/new/Fine.ipynb']!.status, 'unknown');
    assert.equal(after.notebooks['ls/First.ipynb']!.status, 'failed', 'the scheduled run still speaks for the others');
    assert.equal(after.publishedCommit, removed);
    assert.match(await (await get('/public/badge/gaia/new/Fine.ipynb.svg', false)).text(), />unknown</);
    for (let i = 0; i < 3; i++) {
      const back = await upstream.commit(
        i % 2
          ? { 'gaia/old/Fine.ipynb': null, 'gaia/new/Fine.ipynb': FINE }
          : { 'gaia/new/Fine.ipynb': null, 'gaia/old/Fine.ipynb': FINE },
      );
      await publish(env, config, back);
      after = await read();
      assert.equal(after.publishedCommit, back);
      assert.equal(after.notebooks[i % 2 ? 'gaia/new/Fine.ipynb' : 'gaia/old/Fine.ipynb']?.status, 'unknown');
      assert.equal(Object.keys(after.notebooks).length, 4);
    }
    await fs.writeFile(stop, '');
    const seen = await reader.reads;
    assert.equal(seen.bad, 0, 'a reader never saw a partial, empty or missing file');
    assert.ok(seen.ok > 0 && seen.versions >= 2, JSON.stringify(seen));
  });
  await fs.rm(dir, { recursive: true, force: true });
});
