/**
 * Operator route for the kernel registry (bearer token): `GET /kernels` lists the kernelspecs the
 * workers have (name, display name, language, which workers, the newest environment measured on
 * any of them, its fingerprint and packages, when). The workers record them in nblc's database
 * (storage/runs/kernel-store.ts): on start, and with every probe of a run.
 */
import { Hono } from 'hono';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import { openKernelStore, type KernelStore } from '../storage/runs/kernel-store.js';
import { operatorAuth } from './middleware/auth.js';

export interface KernelsDeps {
  config: Config;
  logger: Logger;
}

export function kernelRoutes(
  deps: KernelsDeps,
  store: () => Promise<Pick<KernelStore, 'kernels'>> = () => openKernelStore(deps.config),
): Hono {
  const app = new Hono();
  app.use('*', operatorAuth(deps.config.apiToken));
  app.get('/', async (c) => {
    let kernels;
    try {
      kernels = await (await store()).kernels();
    } catch (err) {
      // The database may be down or not migrated yet: say so instead of a bare 500.
      deps.logger.warn({ err: (err as Error).message }, 'the kernel registry is unavailable');
      return c.json({ error: `the kernel registry (nblc's database) is unavailable: ${(err as Error).message}` }, 503);
    }
    return c.json({ kernels });
  });
  return app;
}
