/**
 * The dashboard in a real browser (Debian's chromium, driven by playwright-core) against a real
 * API on loopback, with real workers and real test runs: the login form (a wrong token, then the
 * right one), overview → notebook → run report → executed notebook (the report's download, the
 * dashboard's page), logout. A screenshot of each
 * page is kept under .nblc/test-artifacts/dashboard/ (printed as a diagnostic); with
 * NBLC_DOCS_SCREENSHOT=docs/dashboard.png it also renews the README's picture of the overview.
 *
 *   node --import tsx --test test/api/dashboard-browser.test.ts
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { chromium, type Page } from 'playwright-core';
import { importReports } from '../../src/activities/runs/history.js';
import { PROJECT_ROOT, type Config } from '../../src/platform/config.js';
import { historyStore } from '../../src/storage/runs/history-store.js';
import { createLogger } from '../../src/platform/logger.js';
import { startApi } from '../../src/process/server.js';
import { getRun, startTestRun, type StartRunInput } from '../../src/clients/runs/client.js';
import { waitFor } from '../helpers/fixtures.js';
import { BROKEN_BY_MERGE, operatorSuite } from '../helpers/operator-suite.js';
import { publish, withWorkers } from '../helpers/stack.js';
import { useTestEnv } from '../helpers/temporal.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';

const CHROMIUM = process.env.NBLC_CHROMIUM ?? '/usr/bin/chromium';
const noBrowser = existsSync(CHROMIUM)
  ? false
  : `no chromium at ${CHROMIUM}: run scripts/test-setup.sh as root (apt-get install chromium) or set NBLC_CHROMIUM`;
const ARTIFACTS = path.join(PROJECT_ROOT, '.nblc', 'test-artifacts', 'dashboard');
const TOKEN = 'operator-token-for-the-browser-0123456789';

const env = useTestEnv();

/** A test run to its end, then recorded in the history as the worker's import would. */
async function testRun(e: TestWorkflowEnvironment, config: Config, input: StartRunInput) {
  const { runId } = await startTestRun(e.client, config, input);
  await waitFor(
    `test run ${runId}`,
    async () => {
      const s = await getRun(e.client, runId);
      if (s && s.status !== 'RUNNING' && !s.result) throw new Error(`run ${runId}: ${s.status} ${s.error}`);
      return s?.result;
    },
    300_000,
  );
  // Until the workflow records its runs itself (recordRun, wiring pending): idempotent either way.
  await importReports(config.resultsDir, await historyStore(config));
  return runId;
}

async function shot(page: Page, name: string): Promise<string> {
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

describe('the dashboard in a browser', { skip: noBrowser }, () => {
  test('login, overview → notebook → report → executed notebook, logout', async (t) => {
    const { config, good, broken } = await operatorSuite('dashboard', TOKEN);
    await fs.mkdir(ARTIFACTS, { recursive: true });
    const api = await startApi({ client: env.client, config, logger: createLogger('silent') }, '127.0.0.1', 0);
    const browser = await chromium.launch({ executablePath: CHROMIUM });
    try {
      await withWorkers(env, config, async () => {
        await publish(env, config, good);
        await testRun(env, config, { kind: 'scheduled' });
        await publish(env, config, broken);
        await testRun(env, config, {
          kind: 'merge',
          commit: broken,
          paths: BROKEN_BY_MERGE,
        });
        await testRun(env, config, { kind: 'scheduled' });
      });

      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const shots: string[] = [];

      // Not logged in: the login form, which comes back to the page asked for.
      await page.goto(`${api.url}/`);
      assert.match(page.url(), /\/login$/);
      shots.push(await shot(page, '1-login'));
      await page.fill('#token', 'not-the-token');
      await page.click('button[type=submit]');
      assert.match((await page.textContent('.error')) ?? '', /not the operator token/);
      shots.push(await shot(page, '2-login-wrong-token'));
      await page.fill('#token', TOKEN);
      await page.click('button[type=submit]');
      await page.waitForURL(`${api.url}/`);
      const cookie = (await context.cookies()).find((c) => c.name === 'nblc_session');
      assert.equal(cookie?.httpOnly, true);
      assert.equal(cookie?.sameSite, 'Strict');

      // The overview: two notebooks with one cause, since the merge run; the retired service.
      const overview = (await page.textContent('main')) ?? '';
      assert.match(overview, /Failing now: 3 notebooks, 2 causes/);
      assert.match(overview, /ModuleNotFoundError: No module named 'astro_datalab_client'/);
      assert.match(overview, /ConnectionError: the old query service was retired/);
      shots.push(await shot(page, '3-overview'));
      // README's picture: NBLC_DOCS_SCREENSHOT=docs/dashboard.png node --import tsx --test <this file>
      if (process.env.NBLC_DOCS_SCREENSHOT) {
        await page.setViewportSize({ width: 1100, height: 900 });
        await page.screenshot({ path: path.resolve(PROJECT_ROOT, process.env.NBLC_DOCS_SCREENSHOT), fullPage: true });
        await page.setViewportSize({ width: 1280, height: 900 });
      }

      // → the notebook.
      await page.click('a:has-text("Query Stars.ipynb")');
      await page.waitForURL(/\/ui\/notebooks\/02_Data\/Query%20Stars\.ipynb$/);
      assert.equal(await page.locator('.strip a').count(), 3, 'one mark per run');
      assert.equal(await page.locator('.strip a.m-failed').count(), 2);
      assert.match((await page.textContent('dl.facts')) ?? '', new RegExp(`Last passed\\s*commit ${good.slice(0, 7)}`));
      shots.push(await shot(page, '4-notebook'));

      // → the run's report (the newest run, first row), under a signed path.
      await page.locator('table.list tbody tr').first().locator('a:has-text("report")').click();
      await page.waitForURL(/\/runs\/scheduled-[^/]+\/~[^/]+\/report\.html$/);
      assert.match(await page.title(), /not passing · nblc scheduled run/);
      shots.push(await shot(page, '5-report'));

      // The report's link to the executed notebook is the file itself (a download), with its outputs.
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.click('a[title="the executed notebook"]:has-text("Query Stars.ipynb")'),
      ]);
      const executed = JSON.parse(await fs.readFile(await download.path(), 'utf8')) as {
        cells: Array<{ outputs?: Array<{ ename?: string }> }>;
      };
      assert.equal(executed.cells[0]!.outputs?.[0]?.ename, 'ModuleNotFoundError');

      // The dashboard's link shows it as a page: back to the notebook → the executed notebook.
      await page.goBack();
      await page.waitForURL(/\/ui\/notebooks\//);
      await page.locator('table.list tbody tr').first().locator('a:has-text("executed notebook")').click();
      await page.waitForURL(/\/ui\/runs\/scheduled-[^/]+\/executed\/02_Data\/Query%20Stars\.ipynb$/);
      assert.match((await page.textContent('pre.src')) ?? '', /import astro_datalab_client/);
      assert.match(
        (await page.textContent('pre.tb')) ?? '',
        /ModuleNotFoundError: No module named 'astro_datalab_client'/,
      );
      shots.push(await shot(page, '6-executed-notebook'));

      // Logout: back to the login form, and the dashboard asks for it again.
      await page.goto(`${api.url}/ui/runs`);
      assert.match((await page.textContent('main')) ?? '', /3 recorded runs/);
      shots.push(await shot(page, '7-runs'));
      await page.click('nav.top button:has-text("Log out")');
      await page.waitForURL(`${api.url}/login`);
      assert.equal(
        (await context.cookies()).find((c) => c.name === 'nblc_session'),
        undefined,
      );
      await page.goto(`${api.url}/ui/runs`);
      assert.match(page.url(), /\/login\?next=%2Fui%2Fruns$/);
      for (const file of shots) t.diagnostic(`screenshot: ${file}`);
    } finally {
      await browser.close();
      await api.close();
    }
  });
});
