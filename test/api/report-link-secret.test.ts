/**
 * NBLC_LINK_SECRET: report links signed by a worker that holds only the link secret open at the
 * API, which holds it too; a link signed with the operator token does not, once a link secret is
 * set (one key signs links, so rotating it ends them all). Without it the operator token signs.
 *
 *   node --import tsx --test test/api/report-link-secret.test.ts
 */
import { Client, Connection } from '@temporalio/client';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { createApp } from '../../src/api/app.js';
import { reportLink } from '../../src/platform/runs/report-links.js';
import { ConfigError, loadConfig } from '../../src/platform/config.js';
import { createLogger } from '../../src/platform/logger.js';
import { tempDir, testConfig } from '../helpers/fixtures.js';

const TOKEN = 'operator-token-for-the-link-secret-tests-0123';
const LINK_SECRET = 'link-secret-for-the-link-secret-tests-456789';
const RUN = 'manual-20250102-030405-abcdef';
const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });

async function withReport(env: Record<string, string>) {
  const dir = await tempDir('nblc-link-secret-');
  const config = testConfig(dir, '/nonexistent.git', env);
  await fs.mkdir(path.join(config.resultsDir, RUN), { recursive: true });
  await fs.writeFile(path.join(config.resultsDir, RUN, 'report.html'), '<p>the report</p>');
  return { dir, config, app: createApp({ client, config, logger: createLogger('silent') }) };
}

test("a worker's link, signed with the link secret alone, opens at the API; one signed with the operator token does not", async () => {
  const api = await withReport({ NBLC_API_TOKEN: TOKEN, NBLC_LINK_SECRET: LINK_SECRET });
  const worker = testConfig(api.dir, '/nonexistent.git', { NBLC_LINK_SECRET: LINK_SECRET });
  assert.equal(worker.apiToken, undefined, 'the worker holds no operator token');
  const fromWorker = await api.app.request(reportLink(worker.linkSecret!, RUN));
  assert.equal(fromWorker.status, 200);
  assert.equal(await fromWorker.text(), '<p>the report</p>');
  const withToken = await api.app.request(reportLink(api.config.apiToken!, RUN));
  assert.equal(withToken.status, 401);
  assert.match(((await withToken.json()) as { error: string }).error, /invalid report link/);
});

test('without a link secret the operator token signs links, as before', async () => {
  const api = await withReport({ NBLC_API_TOKEN: TOKEN });
  assert.equal(api.config.linkSecret?.reveal(), TOKEN);
  assert.equal((await api.app.request(reportLink(api.config.apiToken!, RUN))).status, 200);
  const off = await withReport({});
  const res = await off.app.request(reportLink(api.config.apiToken!, RUN));
  assert.equal(res.status, 503);
  assert.match(((await res.json()) as { error: string }).error, /set NBLC_LINK_SECRET or NBLC_API_TOKEN/);
});

test('a link secret shorter than 32 characters is refused at start, by name', () => {
  assert.throws(
    () => loadConfig({ NBLC_REPO_URL: '/x.git', NBLC_REPO_FULL_NAME: 'a/b', NBLC_LINK_SECRET: 'short' }),
    (err: unknown) => err instanceof ConfigError && /NBLC_LINK_SECRET: use at least 32 characters/.test(err.message),
  );
});
