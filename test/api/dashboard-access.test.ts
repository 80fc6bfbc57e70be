/**
 * Who sees the dashboard, through the whole app (app.request): login and logout, redirects for
 * browsers and 401 JSON for the API, report files with the session, off without a token; and the
 * Temporal UI links' workflow IDs.
 *
 *   node --import tsx --test test/api/dashboard-access.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { runIdFromWorkflowId, workflowIdOfRun } from '../../src/domain/runs/model.js';
import { closeHistoryStores } from '../../src/storage/runs/history-store.js';
import { tempDir, testConfig } from '../helpers/fixtures.js';
import { TOKEN, small, dashboardApp } from '../helpers/dashboard.js';

after(() => closeHistoryStores());

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
    const { app } = await dashboardApp(testConfig(dir, 'file:///x.git'));
    assert.equal((await app.request('/')).status, 503);
    assert.match(await (await app.request('/login')).text(), /dashboard is off/);
  });
});

test("a run's workflow ID from its directory name, for the Temporal UI links", () => {
  for (const id of [
    'test-run:manual-20261130-101500-ab12cd',
    'test-run:merge-0123456789ab',
    'test-run:scheduled-2026-11-30T03:00:00Z',
  ]) {
    assert.equal(workflowIdOfRun(runIdFromWorkflowId(id)), id);
  }
});
