/**
 * The dashboard's pages through the whole app (app.request), with a small history whose names and
 * errors are hostile HTML, and environment changes. Who may see them: dashboard-access.test.ts;
 * at scale: dashboard-scale.test.ts; the browser's view: test/api/dashboard-browser.test.ts.
 *
 *   node --import tsx --test test/api/dashboard.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { closeHistoryStores } from '../../src/storage/runs/history-store.js';
import { assertEscaped, EVIL, EVIL_CAUSE, page, small } from '../helpers/dashboard.js';

after(() => closeHistoryStores());

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
