/**
 * What the routes are built from, apart from the app that mounts them: the routes import this
 * and app.ts imports the routes, so neither imports the other back.
 */
import type { Client } from '@temporalio/client';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';

/**
 * A route names the settings it reads (`ApiDeps<'repo' | ...>`), so a test can build it from a
 * partial config and a reader sees what it depends on.
 */
export interface ApiDeps<K extends keyof Config = keyof Config> {
  client: Client;
  config: Pick<Config, K>;
  logger: Logger;
}
