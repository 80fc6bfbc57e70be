/** What the benchmarks set up alike: their string options, and a quiet stack on free ports. */
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../src/platform/config.js';
import { createLogger } from '../src/platform/logger.js';
import { startStack, type Stack } from '../src/process/stack.js';

/** `--name value` options, each with its default (`undefined`: none); unknown options are an error. */
/** The webhook secret of the benches' stacks (nblc refuses one under 32 characters). */
export const BENCH_WEBHOOK_SECRET = 'bench-webhook-secret-0123456789abcdef';

export function benchArgs<T extends Record<string, string | undefined>>(defaults: T): T {
  const options = Object.fromEntries(
    Object.entries(defaults).map(([name, d]) => [
      name,
      { type: 'string' as const, ...(d === undefined ? {} : { default: d }) },
    ]),
  );
  return parseArgs({ options }).values as T;
}

/**
 * The config of a benchmark's stack: this process's environment, the embedded server (unless `env`
 * names TEMPORAL_ADDRESS) and the API on free ports, no scheduled or on-merge test runs, warnings
 * only; then `env`.
 */
export function benchConfig(env: NodeJS.ProcessEnv): Config {
  return loadConfig({
    ...process.env,
    NBLC_PORT: '0',
    NBLC_TEMPORAL_PORT: '0', // the embedded server picks free ports
    NBLC_TEMPORAL_UI_PORT: '0',
    NBLC_TEST_ON_MERGE: 'false',
    NBLC_TEST_CRON: 'off',
    NBLC_LOG_LEVEL: 'warn',
    TEMPORAL_ADDRESS: undefined,
    ...env,
  });
}

/** The worker and/or the API of `config`, on the embedded server when it has no address, logging warnings only. */
export function startBenchStack(config: Config, parts: { worker: boolean; api: boolean }): Promise<Stack> {
  return startStack(config, { ...parts, embed: true, logger: createLogger('warn') });
}
