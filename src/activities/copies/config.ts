/** The settings the copy activities read; its own module so after-publish.ts and index.ts share it without importing each other. */
import type { Config } from '../../platform/config.js';

export type CopyConfig = Pick<Config, 'cacheDir' | 'dataDir' | 'usersDir' | 'userCachePath'>;
