/**
 * A run's report files under /runs/:id/... (operator token) and /runs/:id/~<grant>/... (signed
 * link), from real files in NBLC_RESULTS_DIR: what a notebook may have planted there (symlinks,
 * FIFOs) serves nothing, what is served cannot run script in the API's origin, and every link of
 * a real report.html opens, whatever the notebooks are called. No Temporal server: these routes
 * never reach it (the client points nowhere, so a route that did would fail).
 *
 *   node --import tsx --test test/api/reports.test.ts
 */
import { Client, Connection } from '@temporalio/client';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { renderHtml } from '../../src/views/runs/report/html.js';
import { createApp } from '../../src/api/app.js';
import { countSummaries, type NotebookResult, type TestReport } from '../../src/domain/runs/model.js';
import { reportLink } from '../../src/platform/runs/report-links.js';
import { createLogger } from '../../src/platform/logger.js';
import { startApi, type RunningApi } from '../../src/process/server.js';
import { tempDir, testConfig } from '../helpers/fixtures.js';

const TOKEN = 'operator-token-for-the-report-tests-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const RUN = 'manual-20250102-030405-abcdef';
/** The run before RUN, which its report.html links to. */
const PREV = 'manual-20250101-030405-fedcba';
const SECRET_TEXT = 'the API process can read this, nobody else should';

const dir = await tempDir('nblc-api-reports-');
const config = testConfig(dir, '/nonexistent.git', { NBLC_API_TOKEN: TOKEN });
const runDir = path.join(config.resultsDir, RUN);
const outside = path.join(dir, 'outside');
const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
const app = createApp({ client, config, logger: createLogger('silent') });

/** The signed base of the run (what report.html's relative links resolve against). */
const signedBase = () => reportLink(config.apiToken!, RUN).replace(/report\.html$/, '');
const bearerBase = `/runs/${RUN}/`;

/** Executed notebooks with the names operators actually give them. */
const NAMES = [
  'C++ basics.ipynb',
  'Spectra & Photometry.ipynb',
  '100%.ipynb',
  'Été/Ünïcode 日本語 ✓.ipynb',
  "odd #?;=,'()!*~ name.ipynb",
  'Deep Dir/with space/plain.ipynb',
];

function result(nbPath: string): NotebookResult {
  return {
    path: nbPath,
    artifact: `executed/${nbPath}`,
    status: 'passed',
    durationMs: 1000,
    kernel: 'python3',
    cellsTotal: 1,
    cellsRun: 1,
    error: null,
    errors: [],
    timedOutCell: null,
    message: null,
    attempts: 1,
  };
}

before(async () => {
  await fs.mkdir(path.join(runDir, 'executed'), { recursive: true });
  const notebooks = NAMES.map(result);
  const report: TestReport = {
    runId: RUN,
    commit: 'a'.repeat(40),
    kind: 'manual',
    startedAt: '2025-01-02T03:04:05Z',
    finishedAt: '2025-01-02T03:05:05Z',
    counts: countSummaries(notebooks),
    causes: [],
    notebooks,
    newlyFailing: [],
    fixed: [],
    previousRunId: PREV,
  };
  await fs.mkdir(path.join(config.resultsDir, PREV), { recursive: true });
  await fs.writeFile(path.join(config.resultsDir, PREV, 'report.html'), '<p>the previous run</p>');
  await fs.writeFile(path.join(runDir, 'report.html'), renderHtml(report, { hasArtifact: () => true }));
  for (const name of NAMES) {
    const file = path.join(runDir, 'executed', name);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, `{"executed": ${JSON.stringify(name)}}`);
  }
  await fs.mkdir(outside, { recursive: true });
  await fs.writeFile(path.join(outside, 'secret.txt'), SECRET_TEXT);
});

describe('report files', () => {
  test('a symlink, a FIFO or a directory planted in a run serves nothing, whatever it points at', async () => {
    const executed = path.join(runDir, 'executed');
    await fs.symlink(path.join(outside, 'secret.txt'), path.join(executed, 'leak.ipynb'));
    await fs.symlink('/etc/passwd', path.join(executed, 'passwd.ipynb'));
    await fs.symlink('../report.html', path.join(executed, 'inside.html')); // inside the run: still a link
    await fs.symlink(outside, path.join(executed, 'linked-dir'));
    await fs.symlink(outside, path.join(config.resultsDir, 'linked-run'));
    await fs.mkdir(path.join(executed, 'a-directory'));
    execFileSync('mkfifo', [path.join(executed, 'fifo.ipynb')]);

    for (const base of [bearerBase, signedBase()]) {
      for (const rel of [
        'executed/leak.ipynb',
        'executed/passwd.ipynb',
        'executed/inside.html',
        'executed/linked-dir/secret.txt',
        'executed/a-directory',
        'executed/fifo.ipynb', // opening a FIFO blocks until a writer comes: it must not even be opened
      ]) {
        const res = await app.request(`${base}${rel}`, { headers: auth, signal: AbortSignal.timeout(5000) });
        const text = await res.text();
        assert.equal(res.status, 404, `${base}${rel}: ${res.status} ${text.slice(0, 200)}`);
        assert.doesNotMatch(text, /nobody else should|root:/);
      }
    }
    const linkedRun = await app.request('/runs/linked-run/secret.txt', { headers: auth });
    assert.equal(linkedRun.status, 404, 'a symlinked run directory is not a run');
    assert.doesNotMatch(await linkedRun.text(), /nobody else should/);
  });

  test('served files cannot run script in the API origin: CSP sandbox and nosniff, also on HEAD', async () => {
    for (const base of [bearerBase, signedBase()]) {
      for (const rel of ['report.html', 'executed/C%2B%2B%20basics.ipynb']) {
        for (const method of ['GET', 'HEAD']) {
          const res = await app.request(`${base}${rel}`, { method, headers: auth });
          assert.equal(res.status, 200, `${method} ${base}${rel}`);
          assert.equal(res.headers.get('content-security-policy'), 'sandbox allow-downloads');
          assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
          assert.equal(res.headers.get('referrer-policy'), 'no-referrer', 'a signed link is not sent on');
          await res.arrayBuffer();
        }
      }
    }
    const page = await app.request(`${bearerBase}report.html`, { headers: auth });
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await page.text(), /C\+\+ basics\.ipynb/);
  });

  describe('every link of report.html opens, whatever the notebook is called', () => {
    let server: RunningApi;
    before(async () => {
      server = await startApi({ client, config, logger: createLogger('silent') }, '127.0.0.1', 0);
    });
    after(() => server.close());

    type Get = (url: URL) => Response | Promise<Response>;

    /** The executed notebooks report.html links to, as a browser resolves them against the page. */
    async function linksOf(page: URL, get: Get): Promise<URL[]> {
      const res = await get(page);
      assert.equal(res.status, 200, `${page.pathname}: ${res.status}`);
      const hrefs = [...(await res.text()).matchAll(/href="(executed\/[^"]*)"/g)].map((m) =>
        m[1]!
          .replace(/&#39;/g, "'")
          .replace(/&quot;/g, '"')
          .replace(/&amp;/g, '&'),
      );
      assert.equal(hrefs.length, NAMES.length, 'one link per notebook');
      return hrefs.map((href) => new URL(href, page));
    }

    async function expectAllOpen(page: URL, get: Get): Promise<void> {
      const links = await linksOf(page, get);
      for (const [i, link] of links.entries()) {
        const res = await get(link);
        const body = await res.text();
        assert.equal(res.status, 200, `${NAMES[i]} at ${link.pathname}: ${res.status} ${body.slice(0, 200)}`);
        assert.equal(body, `{"executed": ${JSON.stringify(NAMES[i])}}`, NAMES[i]);
      }
    }

    test('through app.request, with the bearer token and with a signed link', async () => {
      const get = (url: URL) => app.request(url.pathname + url.search, { headers: auth });
      const anonymous = (url: URL) => app.request(url.pathname + url.search);
      await expectAllOpen(new URL(`http://localhost${bearerBase}report.html`), get);
      await expectAllOpen(new URL(`http://localhost${signedBase()}report.html`), anonymous);
    });

    test('over real HTTP, as a browser follows them', async () => {
      await expectAllOpen(new URL(`${server.url}${bearerBase}report.html`), (url) => fetch(url, { headers: auth }));
      await expectAllOpen(new URL(`${server.url}${signedBase()}report.html`), (url) => fetch(url));
    });
  });

  test("the previous run's link opens that run's report, also from a signed link (to the operator's login)", async () => {
    for (const [base, headers] of [
      [bearerBase, auth],
      [signedBase(), {}],
    ] as const) {
      const page = new URL(`http://localhost${base}report.html`);
      const html = await (await app.request(page.pathname, { headers })).text();
      const href = /<a href="(\.\.\/[^"]+\/report\.html)">/.exec(html)?.[1];
      assert.ok(href, `${base}: report.html links to the previous run`);
      let target = new URL(href, page);
      if (base !== bearerBase) {
        // One level short under the signed path: nothing of this run is there, so nothing needs
        // a login to learn it is a redirect to the previous run's own report.
        const hop = await app.request(target.pathname);
        assert.equal(hop.status, 302, target.pathname);
        target = new URL(hop.headers.get('location')!, target);
        assert.equal((await app.request(target.pathname)).status, 401, 'a signed link opens its run only');
      }
      assert.equal(target.pathname, `/runs/${PREV}/report.html`);
      const res = await app.request(target.pathname, { headers: auth });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), '<p>the previous run</p>');
    }
  });

  test('only report.*, junit.xml, environment.json and executed/** are served: never results, logs or scratch', async () => {
    for (const [rel, text] of <Array<[string, string]>>[
      ['results/a.ipynb.json', '{"status":"passed"}'],
      ['results/a.ipynb.json.executor-1.log', 'executor log'],
      ['run.json', '{"commit":"x"}'],
      ['tmp/nblc-run-x/scratch.txt', 'scratch'],
      ['notes.txt', 'beside the report'],
    ]) {
      await fs.mkdir(path.dirname(path.join(runDir, rel)), { recursive: true });
      await fs.writeFile(path.join(runDir, rel), text);
    }
    await fs.writeFile(path.join(runDir, 'environment.json'), '{"kernel":"python3"}');
    for (const base of [bearerBase, signedBase()]) {
      for (const rel of [
        'results/a.ipynb.json',
        'results/a.ipynb.json.executor-1.log',
        'run.json',
        'tmp/nblc-run-x/scratch.txt',
        'notes.txt',
      ]) {
        const res = await app.request(`${base}${rel}`, { headers: auth });
        assert.equal(res.status, 404, `${base}${rel}`);
      }
      for (const rel of ['report.html', 'environment.json', 'executed/C%2B%2B%20basics.ipynb']) {
        const res = await app.request(`${base}${rel}`, { headers: auth });
        assert.equal(res.status, 200, `${base}${rel}`);
        await res.arrayBuffer();
      }
    }
  });

  test('paths that leave the run, or cannot be decoded, open nothing', async () => {
    await fs.writeFile(path.join(config.resultsDir, 'outside.txt'), SECRET_TEXT);
    for (const rel of ['..%2Foutside.txt', '%2e%2e/outside.txt', '..%5Coutside.txt', 'executed/%E0%A4%A', '%00']) {
      const res = await app.request(`${signedBase()}${rel}`);
      assert.notEqual(res.status, 200, rel);
      assert.doesNotMatch(await res.text(), /nobody else should/, rel);
    }
  });
});
