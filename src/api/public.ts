/**
 * What users may read without a login (issue 18, part 4): `GET /public/status.json`, each
 * notebook's health as the scheduled runs found it, and `GET /public/badge/<path>.svg`. Nothing
 * here is secret: the file holds no tracebacks, messages of failures or paths outside the snapshot.
 */
import { Hono } from 'hono';
import type { ApiDeps } from './deps.js';
import { readPublicStatus } from '../storage/runs/public-status.js';
import { renderBadge } from '../views/runs/badge.js';

/** Caches may keep an answer this long: the file changes once per scheduled run. */
const MAX_AGE_S = 300;

export function publicRoutes(deps: ApiDeps<'cacheDir'>): Hono {
  const app = new Hono();

  app.get('/status.json', async (c) => {
    const read = await readPublicStatus(deps.config.cacheDir);
    if (!read) return c.json({ error: 'no scheduled run has finished yet' }, 404);
    return c.body(read.text, 200, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': `public, max-age=${MAX_AGE_S}`,
    });
  });

  app.get('/badge/*', async (c) => {
    let rest: string;
    try {
      rest = decodeURIComponent(c.req.path.slice(c.req.path.indexOf('/badge/') + '/badge/'.length));
    } catch {
      rest = ''; // not percent-encoding: no such badge
    }
    if (!rest.endsWith('.svg')) return c.json({ error: 'a badge is /public/badge/<notebook path>.svg' }, 404);
    const nbPath = rest.slice(0, -'.svg'.length);
    const read = await readPublicStatus(deps.config.cacheDir);
    const health = read && Object.hasOwn(read.status.notebooks, nbPath) ? read.status.notebooks[nbPath]! : null;
    const label =
      nbPath
        .split('/')
        .pop()!
        .replace(/\.ipynb$/, '') || 'notebook';
    return c.body(renderBadge(label, health), 200, {
      'content-type': 'image/svg+xml; charset=utf-8',
      'cache-control': `public, max-age=${MAX_AGE_S}`,
      // An SVG opened directly must not run anything.
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
    });
  });
  return app;
}
