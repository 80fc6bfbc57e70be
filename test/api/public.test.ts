/**
 * The public routes (src/api/public.ts): `GET /public/status.json` and the badges, without a
 * login, from a real status.json in the cache directory.
 *   node --import tsx --test test/api/public.test.ts
 */
import { Client, Connection } from '@temporalio/client';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { createApp } from '../../src/api/app.js';
import { publicRoutes } from '../../src/api/public.js';
import { notebookHealth, type HealthRun, type PublicStatus } from '../../src/domain/runs/health.js';
import { createLogger } from '../../src/platform/logger.js';
import { tempDir, testConfig } from '../helpers/fixtures.js';

const logger = createLogger('silent');
const at = (status: HealthRun['status']): HealthRun => ({
  status,
  finishedAt: '2026-12-07T03:00:00.000Z',
  commit: 'c'.repeat(40),
  durationMs: 1000,
  peakMemoryBytes: null,
});

async function cacheWithStatus(): Promise<string> {
  const cacheDir = path.join(await tempDir('nblc-public-'), 'cache');
  await fs.mkdir(cacheDir, { recursive: true });
  const status: PublicStatus = {
    version: 1,
    generatedAt: '2026-12-07T03:10:00.000Z',
    runId: 'scheduled-1',
    commit: 'c'.repeat(40),
    environmentFingerprint: 'f'.repeat(64),
    userLabMemoryBytes: null,
    notebooks: {
      'x/Broken.ipynb': notebookHealth([at('failed')], null)!,
      'x/Fine.ipynb': notebookHealth([at('passed')], null)!,
      'y/Tap <svc>.ipynb': notebookHealth([at('skipped')], null, 'skipped: the "TAP" service is down')!,
    },
  };
  await fs.writeFile(path.join(cacheDir, 'status.json'), JSON.stringify(status));
  return cacheDir;
}

const routes = (cacheDir: string) => publicRoutes({ client: {} as Client, config: { cacheDir }, logger });

test('GET /status.json serves the file as it is; 404 before any scheduled run', async () => {
  const cacheDir = await cacheWithStatus();
  const res = await routes(cacheDir).request('/status.json');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /application\/json/);
  const body = (await res.json()) as PublicStatus;
  assert.equal(body.notebooks['x/Broken.ipynb']!.status, 'failed');
  const empty = path.join(await tempDir('nblc-public-empty-'), 'cache');
  assert.equal((await routes(empty).request('/status.json')).status, 404);
});

test('a badge says failing, passing, skipped (with the reason as its title) or unknown; text is escaped', async () => {
  const app = routes(await cacheWithStatus());
  const svg = async (p: string) => {
    const res = await app.request(p);
    assert.equal(res.status, 200, p);
    assert.match(res.headers.get('content-type')!, /^image\/svg\+xml/);
    return res.text();
  };
  const broken = await svg('/badge/x/Broken.ipynb.svg');
  assert.match(broken, /<text [^>]*>failing<\/text>/);
  assert.match(broken, /#c62828/);
  assert.match(broken, /<text [^>]*>Broken<\/text>/);
  assert.match(await svg('/badge/x/Fine.ipynb.svg'), />passing</);
  const skipped = await svg(`/badge/${encodeURIComponent('y/Tap <svc>.ipynb').replace(/%2F/g, '/')}.svg`);
  assert.match(skipped, />skipped</);
  assert.match(skipped, /Tap &lt;svc&gt;/);
  assert.match(skipped, /the &quot;TAP&quot; service is down/);
  assert.ok(!skipped.includes('<svc>'));
  assert.match(await svg('/badge/nowhere/New.ipynb.svg'), />unknown</);
  assert.equal((await app.request('/badge/x/Fine.ipynb')).status, 404);
});

test('the public routes need no login where every other route does', async () => {
  const cacheDir = await cacheWithStatus();
  const dir = path.dirname(cacheDir);
  const config = testConfig(dir, 'file:///nonexistent/notebooks.git', {
    NBLC_CACHE_DIR: cacheDir,
    NBLC_API_TOKEN: 'operator-token-for-the-public-tests-0123456789',
  });
  const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:9' }) });
  const app = createApp({ client, config, logger });
  assert.equal((await app.request('/public/status.json')).status, 200);
  assert.equal((await app.request('/public/badge/x/Broken.ipynb.svg')).status, 200);
  assert.equal((await app.request('/notebooks')).status, 401, 'the history stays behind the token');
});
