/**
 * The dashboard's session cookie on a bare Hono app: its attributes, signature, expiry and key
 * rotation; the page guard (login redirect, bearer, 503 when off); report files that also take a
 * session; `next` paths that must stay on this site; and the origin check of form posts.
 *
 *   node --import tsx --test test/api/middleware/session.test.ts
 */
import { Hono } from 'hono';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { operatorAuth } from '../../../src/api/middleware/auth.js';
import {
  endSession,
  hasSession,
  orSession,
  requireSession,
  safeNext,
  sameOriginPosts,
  SESSION_COOKIE,
  startSession,
  type SessionOptions,
} from '../../../src/api/middleware/session.js';
import { Secret } from '../../../src/platform/secret.js';

const TOKEN = new Secret('operator-token-for-session-tests');
const T0 = Date.UTC(2024, 4, 1, 12);

function appWith(opts: SessionOptions) {
  const app = new Hono();
  app.post('/login', async (c) => {
    await startSession(c, opts);
    return c.text('in');
  });
  app.post('/logout', async (c) => {
    await endSession(c, opts);
    return c.text('out');
  });
  app.get('/check', async (c) => c.json({ session: await hasSession(c, opts) }));
  app.get('/page', requireSession(opts), (c) => c.text('page'));
  const files = orSession(operatorAuth(opts.token), opts, (c) => c.req.path.startsWith('/runs/x/'));
  app.get('/runs/*', files, (c) => c.text('file'));
  return app;
}

/** The cookie a login sets, as a browser would send it back. */
async function login(app: Hono, url = 'http://localhost/login', headers: Record<string, string> = {}) {
  const res = await app.request(url, { method: 'POST', headers });
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { setCookie, cookie: setCookie.split(';', 1)[0]! };
}

const check = async (app: Hono, cookie: string) =>
  ((await (await app.request('/check', { headers: { cookie } })).json()) as { session: boolean }).session;

describe('session cookie', () => {
  test('is signed, HttpOnly, SameSite=Strict, for the whole site, and expires after 12 hours', async () => {
    const { setCookie, cookie } = await login(appWith({ token: TOKEN }));
    assert.match(cookie, new RegExp(`^${SESSION_COOKIE}=v2\\.\\d+\\.`));
    assert.match(setCookie, /; HttpOnly/);
    assert.match(setCookie, /; SameSite=Strict/);
    assert.match(setCookie, /; Path=\//);
    assert.match(setCookie, /; Max-Age=43200/);
    assert.doesNotMatch(setCookie, /Secure/, 'plain http on loopback: a Secure cookie would never come back');
  });

  test('is Secure over https, behind a TLS proxy, or when NBLC_PUBLIC_URL is https', async () => {
    const app = appWith({ token: TOKEN });
    assert.match((await login(app, 'https://nblc.example.org/login')).setCookie, /; Secure/);
    assert.match((await login(app, undefined, { 'x-forwarded-proto': 'https' })).setCookie, /; Secure/);
    const proxied = appWith({ token: TOKEN, publicUrl: 'https://nblc.example.org' });
    assert.match((await login(proxied)).setCookie, /; Secure/);
  });

  test('opens until it expires; a changed value, another token or a plain value does not', async () => {
    let now = T0;
    const app = appWith({ token: TOKEN, now: () => now });
    const { cookie } = await login(app);
    assert.equal(await check(app, cookie), true);
    now = T0 + 12 * 3600_000 - 1000;
    assert.equal(await check(app, cookie), true);
    now = T0 + 12 * 3600_000 + 1000;
    assert.equal(await check(app, cookie), false, 'expired');
    now = T0;

    const value = decodeURIComponent(cookie.slice(SESSION_COOKIE.length + 1));
    const [, expires, id, mac] = /^v2\.(\d+)\.([\w-]{32})\.(.+)$/.exec(value)!;
    const later = `v2.${Number(expires) + 86_400}.${id}.${mac}`;
    assert.equal(await check(app, `${SESSION_COOKIE}=${encodeURIComponent(later)}`), false, 'expiry moved');
    assert.equal(await check(app, `${SESSION_COOKIE}=v2.${Number(expires) + 86_400}.${id}`), false, 'unsigned');
    assert.equal(await check(app, ''), false);

    const rotated = appWith({ token: new Secret('a-new-operator-token'), now: () => now });
    assert.equal(await check(rotated, cookie), false, 'a new NBLC_API_TOKEN logs everyone out');
    assert.equal(await check(appWith({ token: undefined }), cookie), false);
  });

  test('logout clears it', async () => {
    const res = await appWith({ token: TOKEN }).request('/logout', { method: 'POST' });
    assert.match(res.headers.get('set-cookie') ?? '', new RegExp(`^${SESSION_COOKIE}=; Max-Age=0; .*HttpOnly`));
  });

  test('logout revokes it server-side: a copy of the cookie kept from before opens nothing', async () => {
    const app = appWith({ token: TOKEN });
    const { cookie } = await login(app);
    const { cookie: other } = await login(app); // another browser's session
    assert.equal(await check(app, cookie), true);
    await app.request('/logout', { method: 'POST', headers: { cookie } });
    assert.equal(await check(app, cookie), false, 'the same, still signed and unexpired cookie');
    assert.equal((await app.request('/page', { headers: { cookie } })).status, 302);
    assert.equal(await check(app, other), true, 'other sessions stay open');
  });
});

describe('requireSession', () => {
  test('a session or the bearer token opens the page; nothing sends the browser to /login', async () => {
    const app = appWith({ token: TOKEN });
    const { cookie } = await login(app);
    assert.equal((await app.request('/page', { headers: { cookie } })).status, 200);
    const bearer = await app.request('/page', { headers: { authorization: `Bearer ${TOKEN.reveal()}` } });
    assert.equal(bearer.status, 200);
    const wrong = await app.request('/page', { headers: { authorization: 'Bearer nope', cookie } });
    assert.equal(wrong.status, 401, 'a wrong token is refused, even with a session');
    const anon = await app.request('/page?x=1&y=%2F');
    assert.equal(anon.status, 302);
    assert.equal(anon.headers.get('location'), `/login?next=${encodeURIComponent('/page?x=1&y=%2F')}`);
  });

  test('is off (503) without NBLC_API_TOKEN, never open', async () => {
    assert.equal((await appWith({ token: undefined }).request('/page')).status, 503);
  });
});

describe('orSession (report files)', () => {
  test('takes a session for the routes it covers, and answers JSON 401 or a login redirect without', async () => {
    const app = appWith({ token: TOKEN });
    const { cookie } = await login(app);
    assert.equal((await app.request('/runs/x/report.html', { headers: { cookie } })).status, 200);
    assert.equal((await app.request('/runs/y/report.html', { headers: { cookie } })).status, 401, 'not covered');
    const json = await app.request('/runs/x/report.json');
    assert.equal(json.status, 401);
    assert.match(json.headers.get('content-type') ?? '', /json/);
    const browser = await app.request('/runs/x/report.html', { headers: { accept: 'text/html,*/*' } });
    assert.equal(browser.status, 302);
    assert.equal(browser.headers.get('location'), `/login?next=${encodeURIComponent('/runs/x/report.html')}`);
    const bearer = { authorization: `Bearer ${TOKEN.reveal()}` };
    assert.equal((await app.request('/runs/x/report.html', { headers: bearer })).status, 200);
  });
});

test('safeNext keeps only paths on this site', () => {
  const fine = ['/', '/ui/runs?page=2', '/ui/notebooks/a%20b/C%2B%2B.ipynb', '/runs/r/~1.x/report.html', '/%0a'];
  for (const ok of fine) {
    assert.equal(safeNext(ok), ok);
  }
  const evil = [
    undefined,
    '',
    'https://evil.example',
    '//evil.example',
    '/\\evil.example',
    '/\t/evil.example',
    ' /x',
    'javascript:alert(1)',
    '/a\nb',
    '/a\\b',
    '/é',
    '/login?next=//evil.example',
  ];
  for (const bad of evil) assert.equal(safeNext(bad), '/', String(bad));
});

describe('sameOriginPosts', () => {
  const app = new Hono();
  app.post('/form', sameOriginPosts({ publicUrl: 'https://nblc.example.org' }), (c) => c.text('ok'));
  const post = (headers: Record<string, string>) =>
    app.request('http://127.0.0.1:8080/form', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: 'a=1',
    });

  test('accepts forms from this origin, its public URL, or a same-origin fetch', async () => {
    assert.equal((await post({ origin: 'http://127.0.0.1:8080' })).status, 200);
    assert.equal((await post({ origin: 'https://nblc.example.org' })).status, 200);
    assert.equal((await post({ 'sec-fetch-site': 'same-origin' })).status, 200);
  });

  test('refuses cross-site forms and forms that say nothing', async () => {
    assert.equal((await post({ origin: 'https://evil.example' })).status, 403);
    assert.equal((await post({ 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' })).status, 403);
    assert.equal((await post({})).status, 403);
  });
});
