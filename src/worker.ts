/** The Temporal worker: registers the workflows (bundled from src/workflows) and all activities. */
import type { LogLevel, LogMetadata } from '@temporalio/common';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import path from 'node:path';
import { createSyncActivities } from './activities/sync.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

export const WORKFLOWS_PATH = path.join(import.meta.dirname, 'workflows', 'index.ts');

export function createActivities(config: Config) {
  return { ...createSyncActivities(config) };
}

export async function createWorker(
  config: Config,
  connection: NativeConnection,
  overrides: Partial<WorkerOptions> = {},
): Promise<Worker> {
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.taskQueue,
    ...(overrides.workflowBundle ? {} : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(config),
    // Long git and kernel work ends cleanly on shutdown: activities get cancelled, then the
    // grace period lets them kill their child processes.
    shutdownGraceTime: '10 seconds',
    ...overrides,
  });
}

let runtimeInstalled = false;

/**
 * Routes the SDK's own logs (worker state, activity failures) through our pino logger, once per
 * process. The SDK's bundler logs at INFO are debug-level noise for an operator.
 */
export function installRuntime(logger: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const sdk = logger.child({ component: 'temporal-sdk' });
  const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
    TRACE: 'trace',
    DEBUG: 'debug',
    INFO: 'debug',
    WARN: 'warn',
    ERROR: 'error',
  };
  const log = (level: LogLevel, message: string, meta?: LogMetadata) => sdk[levels[level]](meta ?? {}, message);
  Runtime.install({
    logger: {
      log,
      trace: (m, meta) => log('TRACE', m, meta),
      debug: (m, meta) => log('DEBUG', m, meta),
      info: (m, meta) => log('INFO', m, meta),
      warn: (m, meta) => log('WARN', m, meta),
      error: (m, meta) => log('ERROR', m, meta),
    },
    // Signals are handled by the stack, which stops the API and the embedded server too.
    shutdownSignals: [],
  });
}
