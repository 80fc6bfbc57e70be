/**
 * The dashboard over a generated history of 500 notebooks and 1,000 runs: every page stays
 * bounded in size (capped lists, pages) and is rendered in reasonable time.
 *
 *   node --import tsx --test test/api/dashboard-scale.test.ts
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { closeHistoryStores, historyStore } from '../../src/storage/runs/history-store.js';
import { tempDir } from '../helpers/fixtures.js';
import { dashboardApp, dashboardConfig, generateHistory, page } from '../helpers/dashboard.js';

after(() => closeHistoryStores());

describe('dashboard: 500 notebooks, 1,000 runs', () => {
  test('every page stays bounded in size and is rendered in reasonable time', async (t) => {
    const dir = await tempDir('nblc-dashboard-big-');
    const config = dashboardConfig(dir);
    const store = await historyStore(config);
    let started = performance.now();
    const gen = await generateHistory(store, { notebooks: 500, runs: 1000, distinct: 40 });
    t.diagnostic(
      `generated ${gen.runs} runs of ${gen.paths.length} notebooks in ${Math.round(performance.now() - started)} ms`,
    );
    const { app, cookie } = await dashboardApp(config);
    const sizes: Record<string, number> = {};
    const get = async (p: string) => {
      started = performance.now();
      const { res, text } = await page(app, p, cookie);
      assert.equal(res.status, 200, p);
      sizes[p] = text.length;
      t.diagnostic(`${p}: ${Math.round(text.length / 1024)} KiB in ${Math.round(performance.now() - started)} ms`);
      return text;
    };
    const overview = await get('/');
    assert.match(overview, /500<\/div>notebooks/);
    // 30 share numpy, 8 time out, 40 have their own cause (flaky ones may add more): capped at 25 groups.
    assert.match(
      overview,
      /<span class="badge count">30<\/span><span class="badge st-failed">failed<\/span><span class="what">ModuleNotFoundError/,
    );
    assert.equal([...overview.matchAll(/<details class="cause"/g)].length, 25);
    assert.match(overview, /more failing notebooks? with other causes →/);
    assert.match(overview, /20 more notebooks with this cause →/);
    const notebook = await get(`/ui/notebooks/${gen.paths[0]!.split('/').map(encodeURIComponent).join('/')}`);
    assert.equal([...notebook.matchAll(/<a class="m-/g)].length, 200, 'the strip shows the last 200 runs');
    const list = await get('/ui/notebooks');
    assert.match(list, /page 1 of 10/);
    const runs = await get('/ui/runs?page=20');
    assert.match(runs, /page 20 of 20/);
    await get('/ui/notebooks?status=failing&page=2');
    for (const [p, size] of Object.entries(sizes)) assert.ok(size < 400_000, `${p} is ${size} characters`);
  });
});
