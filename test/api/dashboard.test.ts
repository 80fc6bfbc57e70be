/**
 * The dashboard through the whole app (app.request): login and logout, redirects for browsers and
 * 401 JSON for the API, every page with a small history whose names and errors are hostile
 * HTML, environment changes, and a generated history of 500 notebooks and 1,000 runs whose
 * pages must stay bounded. The browser's view is test/api/dashboard-browser.test.ts.
 *
 *   node --import tsx --test test/api/dashboard.test.ts
 */
import type { Client } from '@temporalio/client';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { createApp } from '../../src/api/app.js';
import { dashboardRoutes, type DashboardSources } from '../../src/api/dashboard/index.js';
import { workflowIdOfRunId } from '../../src/api/dashboard/links.js';
import { runIdFromWorkflowId } from '../../src/runs/model.js';
import { closeHistoryStores, historyStore } from '../../src/runtime/history-store.js';
import { createLogger } from '../../src/runtime/logger.js';
import type { RecordedRun } from '../../src/runs/history.js';
import type { NotebookStatus } from '../../src/runs/model.js';
import { tempDir, testConfig } from '../helpers/fixtures.js';
import { generateHistory, loginCookie, T0 } from '../helpers/dashboard.js';

const TOKEN = 'operator-token-for-dashboard-tests';
const logger = createLogger('silent');
const noTemporal = {} as Client;
after(() => closeHistoryStores());

const EVIL = `x/<script>alert("nb")</script> & 'quotes'.ipynb`;
const EVIL_CAUSE = `NameError: name '<img src=x onerror=alert(1)>' is not defined`;

function run(i: number, kind: RecordedRun['kind'], statuses: Record<string, NotebookStatus>): RecordedRun {
  const finishedAt = new Date(T0 + i * 3_600_000).toISOString();
  return {
    runId: `${kind}-${i}`,
    kind,
    commit: String(i).repeat(40).slice(0, 40),
    startedAt: finishedAt,
    finishedAt,
    notebooks: Object.entries(statuses).map(([p, status]) => ({
      path: p,
      status,
      cause: status === 'passed' ? null : p === EVIL ? EVIL_CAUSE : "ModuleNotFoundError: No module named 'numpy'",
      durationMs: 1000 * i,
      peakMemoryBytes: null,
      attempts: 1,
      flaky: false,
    })),
  };
}

async function small(sources: Partial<DashboardSources> = {}, env: Record<string, string> = {}) {
  const dir = await tempDir('nblc-dashboard-');
  const config = testConfig(dir, 'file:///nonexistent/notebooks.git', { NBLC_API_TOKEN: TOKEN, ...env });
  const store = await historyStore(config);
  await store.record(
    run(1, 'scheduled', {
      'a/One.ipynb': 'passed',
      'a/Two.ipynb': 'passed',
      [EVIL]: 'passed',
      'b/C++ 100% #1?.ipynb': 'passed',
    }),
  );
  await store.record(run(2, 'scheduled', { 'a/One.ipynb': 'failed', 'a/Two.ipynb': 'failed', [EVIL]: 'failed' }));
  await store.record(run(3, 'merge', { 'a/One.ipynb': 'failed', [EVIL]: 'passed' }));
  await store.record(run(4, 'manual', { 'a/One.ipynb': 'failed', 'a/Two.ipynb': 'failed', [EVIL]: 'failed' }));
  const app = createApp({ client: noTemporal, config, logger });
  if (Object.keys(sources).length)
    app.route('/with-sources', dashboardRoutes({ client: noTemporal, config, logger }, sources));
  return { app, config, cookie: await loginCookie(app, TOKEN) };
}

const page = async (
  app: { request: (p: string, i?: RequestInit) => Response | Promise<Response> },
  p: string,
  cookie: string,
) => {
  const res = await app.request(p, { headers: { cookie } });
  return { res, text: await res.text() };
};

/** No tag, attribute or entity of the hostile strings got through unescaped. */
function assertEscaped(text: string) {
  assert.doesNotMatch(text, /<script>alert/);
  assert.doesNotMatch(text, /<img src=x/);
  assert.doesNotMatch(text, /<script/i, 'the pages have no script at all');
}

describe('dashboard: access', () => {
  test('browsers without a session go to /login; the JSON API still answers 401 JSON', async () => {
    const { app } = await small();
    for (const p of ['/', '/ui/runs', '/ui/notebooks', '/ui/notebooks/a/One.ipynb']) {
      const res = await app.request(p);
      assert.equal(res.status, 302, p);
      assert.equal(res.headers.get('location'), p === '/' ? '/login' : `/login?next=${encodeURIComponent(p)}`);
    }
    const api = await app.request('/notebooks');
    assert.equal(api.status, 401);
    assert.match(api.headers.get('content-type') ?? '', /json/);
    assert.equal((await app.request('/', { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
  });

  test('login: a wrong token is shown an error; the right one sets the cookie and goes to `next`', async () => {
    const { app } = await small();
    const form = (token: string, next: string, origin = 'http://localhost') =>
      app.request('http://localhost/login', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
        body: new URLSearchParams({ token, next }).toString(),
      });
    const wrong = await form('nope', '/ui/runs');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('set-cookie'), null);
    assert.match(await wrong.text(), /That is not the operator token/);
    const right = await form(TOKEN, '/ui/runs?page=1');
    assert.equal(right.status, 303);
    assert.equal(right.headers.get('location'), '/ui/runs?page=1');
    assert.match(right.headers.get('set-cookie') ?? '', /HttpOnly; SameSite=Strict/);
    for (const evil of ['//evil.example/', 'https://evil.example/', '/\\evil.example']) {
      assert.equal((await form(TOKEN, evil)).headers.get('location'), '/', evil);
    }
    assert.equal((await form(TOKEN, '/', 'https://evil.example')).status, 403, 'a cross-site form');
    const login = await app.request('/login?next=/ui/runs');
    assert.match(await login.text(), /name="next" value="\/ui\/runs"/);
    assert.match(login.headers.get('content-security-policy') ?? '', /default-src 'none'.*frame-ancestors 'none'/);
  });

  test('logout ends the session; the login page sends a logged-in browser on', async () => {
    const { app, cookie } = await small();
    const here = await app.request('/login?next=/ui/runs', { headers: { cookie } });
    assert.equal(here.headers.get('location'), '/ui/runs');
    const out = await app.request('http://localhost/logout', {
      method: 'POST',
      headers: { cookie, origin: 'http://localhost', 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(out.status, 303);
    assert.equal(out.headers.get('location'), '/login');
    assert.match(out.headers.get('set-cookie') ?? '', /nblc_session=; Max-Age=0/);
  });

  test('report files open with the session cookie; other run routes keep the bearer token', async () => {
    const { app, config, cookie } = await small();
    await fs.mkdir(path.join(config.resultsDir, 'manual-4'), { recursive: true });
    await fs.writeFile(path.join(config.resultsDir, 'manual-4', 'report.html'), '<p>report</p>');
    const file = await app.request('/runs/manual-4/report.html', { headers: { cookie } });
    assert.equal(file.status, 200);
    assert.equal(await file.text(), '<p>report</p>');
    assert.equal((await app.request('/runs/manual-4/report.html')).status, 401);
    assert.equal((await app.request('/runs', { headers: { cookie } })).status, 401, 'the JSON API is not opened');
  });

  test('off without NBLC_API_TOKEN', async () => {
    const dir = await tempDir('nblc-dashboard-');
    const app = createApp({ client: noTemporal, config: testConfig(dir, 'file:///x.git'), logger });
    assert.equal((await app.request('/')).status, 503);
    assert.match(await (await app.request('/login')).text(), /dashboard is off/);
  });
});

describe('dashboard: pages', () => {
  test('the overview: latest run of each kind, failing now by cause and since when, all escaped', async () => {
    const { app, cookie } = await small();
    const { res, text } = await page(app, '/', cookie);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assertEscaped(text);
    assert.match(text, /Failing now: 3 notebooks, 2 causes/);
    assert.match(text, /1 notebook not in the latest scheduled run \(removed or renamed\?\), not counted/);
    assert.match(text, /<div class="n">3<\/div>notebooks/);
    assert.match(
      text,
      /<span class="badge count">2<\/span><span class="badge st-failed">failed<\/span><span class="what">ModuleNotFoundError: No module named &#39;numpy&#39;<\/span>/,
    );
    assert.match(text, /NameError: name &#39;&lt;img src=x onerror=alert\(1\)&gt;&#39; is not defined/);
    assert.match(
      text,
      /<span class="dir">x\/&lt;script&gt;alert\(&quot;nb&quot;\)&lt;\/<\/span><span class="nb">script&gt; &amp; &#39;quotes&#39;\.ipynb/,
    );
    assert.match(text, /Flaky: 1 notebook/, 'the hostile one went back and forth');
    for (const kind of ['scheduled', 'merge', 'manual']) assert.match(text, new RegExp(`<h3>${kind}</h3>`));
    assert.match(text, /✗ 3 of 3 not passing/);
    assert.match(text, /href="\/runs\/manual-4\/~\d+\.[\w-]{43}\/report\.html"/, 'a signed report link');
    assert.match(text, /Runs in progress: Temporal did not answer/);
  });

  test("a notebook's page: strip, sparkline, since, last pass, executed notebooks and Temporal links", async () => {
    const { app, cookie } = await small();
    const { res, text } = await page(app, `/ui/notebooks/${EVIL.split('/').map(encodeURIComponent).join('/')}`, cookie);
    assert.equal(res.status, 200);
    assertEscaped(text);
    assert.equal([...text.matchAll(/<a class="m-(\w+)/g)].map((m) => m[1]).join(','), 'passed,failed,passed,failed');
    assert.match(text, /<svg class="spark"[^>]*>\s*<polyline points="[\d., ]+"/);
    assert.match(text, /Last passed<\/dt><dd>commit <code title="3{40}">3333333<\/code>/);
    assert.match(
      text,
      /href="\/ui\/runs\/manual-4\/executed\/x\/%3Cscript%3Ealert\(%22nb%22\)%3C\/script%3E%20%26%20&#39;quotes&#39;\.ipynb"/,
    );
    assert.match(text, /href="http:\/\/localhost:8233\/namespaces\/default\/workflows\/test-run%3Amanual-4"/);
    const odd = 'b/C++ 100% #1?.ipynb';
    const oddPage = await page(app, `/ui/notebooks/${odd.split('/').map(encodeURIComponent).join('/')}`, cookie);
    assert.equal(oddPage.res.status, 200, 'a name with +, %, # and ? opens');
    assert.match(oddPage.text, /<span class="nb">C\+\+ 100% #1\?\.ipynb<\/span>/);
    const missing = await page(app, '/ui/notebooks/no/such.ipynb', cookie);
    assert.equal(missing.res.status, 404);
  });

  test('an executed notebook as a page: sources, text outputs, tracebacks, images; its HTML never rendered', async () => {
    const { app, config, cookie } = await small();
    const executed = path.join(config.resultsDir, 'manual-4', 'executed', 'a');
    await fs.mkdir(executed, { recursive: true });
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
    const nb = {
      cells: [
        { cell_type: 'markdown', source: ['# Title <img src=x onerror=alert(1)>'] },
        {
          cell_type: 'code',
          execution_count: 1,
          source: 'print("hi")',
          outputs: [
            { output_type: 'stream', name: 'stdout', text: ['hi\n'] },
            {
              output_type: 'display_data',
              data: { 'text/html': '<script>alert(1)</script>', 'text/plain': '<Figure>' },
            },
            { output_type: 'display_data', data: { 'image/png': png } },
            { output_type: 'display_data', data: { 'image/png': 'not base64 "><script>' } },
          ],
        },
        {
          cell_type: 'code',
          execution_count: 2,
          source: 'import numpy',
          outputs: [
            {
              output_type: 'error',
              ename: 'ModuleNotFoundError',
              evalue: 'x',
              traceback: ['\u001b[31mModuleNotFoundError\u001b[0m: x'],
            },
          ],
        },
      ],
    };
    await fs.writeFile(path.join(executed, 'One.ipynb'), JSON.stringify(nb));
    await fs.symlink('/etc/passwd', path.join(executed, 'Escape.ipynb'));
    const { res, text } = await page(app, '/ui/runs/manual-4/executed/a/One.ipynb', cookie);
    assert.equal(res.status, 200);
    assertEscaped(text);
    assert.match(text, /<pre class="out">hi\n<\/pre>/);
    assert.match(text, /<pre class="out">&lt;Figure&gt;<\/pre>/, 'text/plain instead of the HTML');
    assert.match(
      text,
      new RegExp(
        `<img class="out" alt="image/png output" src="data:image/png;base64,${png.replace(/[+/]/g, '\\$&')}" />`,
      ),
    );
    assert.equal([...text.matchAll(/<img class="out"/g)].length, 1, 'not an image that is not base64');
    assert.match(text, /<pre class="tb">ModuleNotFoundError: x<\/pre>/, 'colors stripped');
    assert.match(text, /href="\/runs\/manual-4\/~[^"]+\/executed\/a\/One\.ipynb" download/);
    for (const p of [
      '/ui/runs/manual-4/executed/a/Escape.ipynb',
      '/ui/runs/manual-4/executed/a/../../report.html',
      '/ui/runs/nope/executed/a/One.ipynb',
    ]) {
      assert.equal((await page(app, p, cookie)).res.status, 404, p);
    }
  });

  test('the notebooks and runs lists filter and page', async () => {
    const { app, cookie } = await small();
    const failing = await page(app, `/ui/notebooks?status=failing&cause=${encodeURIComponent(EVIL_CAUSE)}`, cookie);
    assertEscaped(failing.text);
    assert.match(failing.text, /1 notebook of 4/);
    const runs = await page(app, '/ui/runs?kind=scheduled', cookie);
    assert.match(runs.text, /2 recorded runs/);
    assert.match(runs.text, /scheduled-2/);
    assert.doesNotMatch(runs.text, /manual-4/);
  });

  test('environment changes of the latest report are shown, escaped, when it has them', async () => {
    const changes = [
      { package: 'numpy', before: '1.26.4', after: '2.0.0' },
      { package: '<b>evil</b>', before: null, after: '1.0' },
    ];
    const { app, cookie } = await small({
      reportExtras: async (runId) => (runId === 'manual-4' ? { environmentChanges: changes } : null),
    });
    const { text } = await page(app, '/with-sources', cookie);
    assert.match(text, /<h2>Environment changes<\/h2>/);
    assert.match(text, /<td class="mono">numpy<\/td><td class="mono">1\.26\.4<\/td><td class="mono">2\.0\.0<\/td>/);
    assert.match(text, /&lt;b&gt;evil&lt;\/b&gt;/);
    const { app: plain, cookie: c2 } = await small({ reportExtras: async () => ({}) });
    assert.doesNotMatch((await page(plain, '/with-sources', c2)).text, /Environment changes/);
  });
});

describe('dashboard: 500 notebooks, 1,000 runs', () => {
  test('every page stays bounded in size and is rendered in reasonable time', async (t) => {
    const dir = await tempDir('nblc-dashboard-big-');
    const config = testConfig(dir, 'file:///nonexistent/notebooks.git', { NBLC_API_TOKEN: TOKEN });
    const store = await historyStore(config);
    let started = performance.now();
    const gen = await generateHistory(store, { notebooks: 500, runs: 1000, distinct: 40 });
    t.diagnostic(
      `generated ${gen.runs} runs of ${gen.paths.length} notebooks in ${Math.round(performance.now() - started)} ms`,
    );
    const app = createApp({ client: noTemporal, config, logger });
    const cookie = await loginCookie(app, TOKEN);
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

test("a run's workflow ID from its directory name, for the Temporal UI links", () => {
  for (const id of [
    'test-run:manual-20261130-101500-ab12cd',
    'test-run:merge-0123456789ab',
    'test-run:scheduled-2026-11-30T03:00:00Z',
  ]) {
    assert.equal(workflowIdOfRunId(runIdFromWorkflowId(id)), id);
  }
});
