/**
 * Operator routes for the notebook history (bearer token):
 *
 *   GET /notebooks[?dataset=&keyword=]  every notebook: latest status, since when, last pass,
 *                                        pass rate and flakiness over its recent runs, and its
 *                                        catalog entry (`header`: the header cell's fields;
 *                                        `contract`: the settings it ran with and their sources)
 *   GET /notebooks/<path>/history?limit  one notebook's runs, newest first, and its catalog entry
 *                                        (404: never recorded)
 *
 * A notebook path has slashes: it is the rest of the URL before `/history`, each segment
 * percent-encoded, or the whole path encoded (`%2F`); both decode to the same path.
 */
import { Hono } from 'hono';
import type { Config } from '../platform/config.js';
import { historyStore } from '../storage/runs/history-store.js';
import type { Logger } from '../platform/logger.js';
import type { HistoryStore } from '../domain/runs/history.js';
import { operatorAuth } from './middleware/auth.js';
import { catalogOf } from '../storage/runs/catalog.js';
import { matchesCatalog } from './dashboard/catalog.js';

export interface NotebooksDeps {
  config: Config;
  logger: Logger;
}

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;

export function notebookRoutes(
  deps: NotebooksDeps,
  store: () => Promise<HistoryStore> = () => historyStore(deps.config),
): Hono {
  const app = new Hono();
  app.use('*', operatorAuth(deps.config.apiToken));

  // The database may be down or not migrated yet: say so instead of a bare 500.
  const open = async (): Promise<HistoryStore | Response> => {
    try {
      return await store();
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message }, 'the history database is unavailable');
      return Response.json(
        { error: `the history database is unavailable: ${(err as Error).message}` },
        { status: 503 },
      );
    }
  };

  app.get('/', async (c) => {
    const s = await open();
    if (s instanceof Response) return s;
    // Each with its catalog entry: header cell fields and contract (storage/runs/catalog.ts).
    const catalog = await catalogOf(deps.config.resultsDir, s);
    const dataset = c.req.query('dataset');
    const keyword = c.req.query('keyword');
    const notebooks = (await s.notebooks())
      .map((nb) => ({ ...nb, ...(Object.hasOwn(catalog, nb.path) ? catalog[nb.path] : {}) }))
      .filter((nb) => matchesCatalog(nb, dataset, keyword));
    return c.json({ notebooks });
  });

  app.get('/:path{.+}/history', async (c) => {
    const nbPath = c.req.param('path');
    const raw = c.req.query('limit');
    const limit = raw === undefined ? DEFAULT_LIMIT : Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      return c.json({ error: `limit must be a whole number from 1 to ${MAX_LIMIT}` }, 400);
    }
    const s = await open();
    if (s instanceof Response) return s;
    const runs = await s.history(nbPath, limit);
    if (!runs) return c.json({ error: `no recorded runs of ${nbPath}` }, 404);
    // What the list gives for it too: who wrote it, which datasets, the settings it ran with.
    const catalog = await catalogOf(deps.config.resultsDir, s);
    return c.json({ path: nbPath, ...(Object.hasOwn(catalog, nbPath) ? catalog[nbPath] : {}), runs });
  });
  return app;
}
