/**
 * Browser sessions for the dashboard: an operator types NBLC_API_TOKEN once into /login and gets
 * a signed, HttpOnly, SameSite=Strict cookie that expires (12 h). The cookie holds a random
 * session ID and its expiry, signed (HMAC-SHA256, hono's signed cookies) under a key derived from
 * the token, so rotating NBLC_API_TOKEN logs every browser out. The IDs of open sessions are kept
 * in the API process (per operator token): logout removes its ID, so a copied cookie is worthless
 * after it, and a restart of the API logs every browser out (sessions are not shared between API
 * processes: run one, or pin browsers to one).
 *
 * CSRF: SameSite=Strict keeps the cookie off every cross-site request, and everything that
 * changes state (login, logout, starting runs) is a POST; login and logout also check the origin
 * (`sameOriginPosts`). The session opens reading routes only (dashboard pages, report files):
 * the JSON API keeps its bearer token.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie';
import { csrf } from 'hono/csrf';
import { randomBytes } from 'node:crypto';
import { macOf, sameToken, type Secret } from '../../platform/secret.js';

export const SESSION_COOKIE = 'nblc_session';
export const SESSION_TTL_S = 12 * 3600;
const VALUE = /^v2\.(\d{1,12})\.([A-Za-z0-9_-]{32})$/;
/** Beyond this many open sessions the ones closest to expiry are dropped (logged out). */
const MAX_SESSIONS = 10_000;

/** Open session IDs and their expiry (ms), per operator token: shared by every route of the process. */
const registries = new WeakMap<Secret, Map<string, number>>();
function registryOf(token: Secret): Map<string, number> {
  let r = registries.get(token);
  if (!r) registries.set(token, (r = new Map()));
  return r;
}

export interface SessionOptions {
  /** NBLC_API_TOKEN; without it there are no sessions (the operator routes are off). */
  token: Secret | undefined;
  /** NBLC_PUBLIC_URL: when https, cookies are Secure even if a proxy speaks http to us. */
  publicUrl?: string;
  ttlS?: number;
  now?: () => number;
}

/** The cookie's signing key: derived, so the token itself never signs anything a browser holds. */
const keyOf = (token: Secret) => macOf(token, 'nblc dashboard session v1');

function secure(c: Context, opts: SessionOptions): boolean {
  return (
    new URL(c.req.url).protocol === 'https:' ||
    c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https' ||
    !!opts.publicUrl?.startsWith('https://')
  );
}

/** Whether `presented` is the operator token (constant time). */
export function isOperatorToken(opts: Pick<SessionOptions, 'token'>, presented: string): boolean {
  return !!opts.token && sameToken(presented, opts.token.reveal());
}

/** Sets the session cookie (after the token was checked). */
export async function startSession(c: Context, opts: SessionOptions): Promise<void> {
  if (!opts.token) throw new Error('no sessions without NBLC_API_TOKEN');
  const ttlS = opts.ttlS ?? SESSION_TTL_S;
  const now = opts.now?.() ?? Date.now();
  const expires = Math.floor(now / 1000) + ttlS;
  const id = randomBytes(24).toString('base64url');
  const open = registryOf(opts.token);
  for (const [k, until] of open) if (until <= now) open.delete(k);
  if (open.size >= MAX_SESSIONS) open.delete(open.keys().next().value!);
  open.set(id, expires * 1000);
  await setSignedCookie(c, SESSION_COOKIE, `v2.${expires}.${id}`, keyOf(opts.token), {
    path: '/',
    httpOnly: true,
    sameSite: 'Strict',
    secure: secure(c, opts),
    maxAge: ttlS,
  });
}

/** Ends the session server-side (its ID is forgotten: the cookie opens nothing any more) and in the browser. */
export async function endSession(c: Context, opts: SessionOptions): Promise<void> {
  const id = opts.token ? await sessionId(c, opts.token) : null;
  if (id && opts.token) registryOf(opts.token).delete(id);
  deleteCookie(c, SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'Strict', secure: secure(c, opts) });
}

/** The session ID of a validly signed cookie, or null. */
async function sessionId(c: Context, token: Secret): Promise<string | null> {
  const value = await getSignedCookie(c, keyOf(token), SESSION_COOKIE);
  return (typeof value === 'string' ? VALUE.exec(value)?.[2] : null) ?? null;
}

/** Whether the request carries a valid, unexpired session cookie of a session that is still open. */
export async function hasSession(c: Context, opts: SessionOptions): Promise<boolean> {
  if (!opts.token) return false;
  const id = await sessionId(c, opts.token);
  const until = id ? registryOf(opts.token).get(id) : undefined;
  return until !== undefined && until > (opts.now?.() ?? Date.now());
}

const bearerOf = (c: Context) => /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];

/** `next` for /login: a path on this site only (no `//host`, `/\host`, schemes or whitespace). */
export function safeNext(next: string | undefined): string {
  if (!next || !/^\/(?![/\\])[\x21-\x7e]*$/.test(next) || next.includes('\\')) return '/';
  return next.startsWith('/login') ? '/' : next;
}

/** Where a page sends a browser without a session: the login form, coming back here after. */
export function loginRedirect(c: Context): Response {
  const url = new URL(c.req.url);
  const next = safeNext(url.pathname + url.search);
  return c.redirect(next === '/' ? '/login' : `/login?next=${encodeURIComponent(next)}`, 302);
}

/**
 * For dashboard pages: a session cookie or the bearer token; otherwise browsers go to /login.
 * Without NBLC_API_TOKEN the pages are off (503), never open.
 */
export function requireSession(opts: SessionOptions): MiddlewareHandler {
  return async (c, next) => {
    if (!opts.token) return c.text('The dashboard is off: set NBLC_API_TOKEN (or NBLC_API_TOKEN_FILE).', 503);
    const bearer = bearerOf(c);
    if (bearer !== undefined) {
      return isOperatorToken(opts, bearer) ? next() : c.json({ error: 'wrong bearer token' }, 401);
    }
    if (await hasSession(c, opts)) return next();
    return loginRedirect(c);
  };
}

/**
 * Lets `when` requests (e.g. GETs of report files) in on a session cookie too; everything else,
 * and requests without a session, go to `bearer` (which answers 401 JSON). A browser that asked
 * for a page (Accept: text/html) and has neither is sent to the login form instead.
 */
export function orSession(
  bearer: MiddlewareHandler,
  opts: SessionOptions,
  when: (c: Context) => boolean,
): MiddlewareHandler {
  return async (c, next) => {
    if (!opts.token || !when(c) || bearerOf(c) !== undefined) return bearer(c, next);
    if (await hasSession(c, opts)) return next();
    if (c.req.method === 'GET' && /\btext\/html\b/.test(c.req.header('accept') ?? '')) return loginRedirect(c);
    return bearer(c, next);
  };
}

/**
 * POSTs of forms only from this site: the browser's Sec-Fetch-Site, or else the Origin header
 * (this request's origin, or NBLC_PUBLIC_URL's behind a proxy). Defence in depth under
 * SameSite=Strict; a login CSRF would need the token anyway.
 */
export function sameOriginPosts(opts: Pick<SessionOptions, 'publicUrl'>): MiddlewareHandler {
  const publicOrigin = opts.publicUrl ? new URL(opts.publicUrl).origin : undefined;
  return csrf({ origin: (origin, c) => origin === new URL(c.req.url).origin || origin === publicOrigin });
}
