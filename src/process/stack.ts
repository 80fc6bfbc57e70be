/**
 * Starts the parts of nblc a process runs: the embedded Temporal server (only without
 * TEMPORAL_ADDRESS), the worker, the HTTP API; and stops them in reverse order.
 */
import type { Client } from '@temporalio/client';
import { ConfigError, type Config } from '../platform/config.js';
import { Runtime } from '@temporalio/worker';
import { ReadyCopies } from '../activities/copies/ready.js';
import { readyCopyAtStart } from '../activities/copies/after-publish.js';
import { importReports } from '../activities/runs/history.js';
import { recordWorkerKernels } from '../activities/runs/kernels.js';
import { checkSandbox } from '../activities/runs/sandbox.js';
import { prestartForkServer } from '../activities/runs/executor.js';
import { startEmbeddedTemporal, type EmbeddedTemporal } from './embedded.js';
import { closeHistoryStores, historyStore } from '../storage/runs/history-store.js';
import type { Logger } from '../platform/logger.js';
import { startApi, type RunningApi } from './server.js';
import { connectClient, connectWorker } from '../platform/temporal.js';
import { checkTemporalSetup } from './temporal-setup.js';
import { createNotebookWorkers, createWorker, installRuntime } from './worker.js';

export interface StackOptions {
  worker: boolean;
  api: boolean;
  /** Start the embedded server when TEMPORAL_ADDRESS is unset (`nblc start`, the demo). */
  embed: boolean;
  logger: Logger;
}

export interface Stack {
  /** The config with the embedded server's actual address and UI URL filled in. */
  config: Config;
  client: Client;
  api?: RunningApi;
  embedded?: EmbeddedTemporal;
  /** Settles when the worker stops; rejects if it fails. */
  workerDone: Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(base: Config, opts: StackOptions): Promise<Stack> {
  if (opts.api && base.webhookSecrets.length === 0) {
    throw new ConfigError([
      'NBLC_WEBHOOK_SECRET: required to run the HTTP API (the secret set on the GitHub webhook), or NBLC_WEBHOOK_SECRET_FILE',
    ]);
  }
  const cleanups: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      await fn().catch((err) => opts.logger.warn({ err: (err as Error).message }, 'error while stopping'));
    }
  };
  try {
    // Registered first, so it runs last: the worker and the API use the history until they stop.
    cleanups.push(() => closeHistoryStores());
    // Notebooks are untrusted: no worker takes them unless their sandbox works here (checked
    // first, so that an operator sees why at once).
    if (opts.worker) await checkSandbox(base, opts.logger);
    let config = base;
    let embedded: EmbeddedTemporal | undefined;
    if (!base.temporal.address && opts.embed) {
      embedded = await startEmbeddedTemporal({
        ...base.temporal.embedded,
        namespace: base.temporal.namespace,
        logger: opts.logger,
      });
      cleanups.push(() => embedded!.stop());
      const uiUrl = base.env.NBLC_TEMPORAL_UI_URL ? base.temporal.uiUrl : embedded.uiUrl;
      config = { ...base, temporal: { ...base.temporal, address: embedded.address, uiUrl } };
    }
    const client = await connectClient(config);
    cleanups.push(() => client.connection.close());

    // Without a worker, there is nothing to settle: the process runs until a signal.
    let workerDone: Promise<void> = new Promise(() => undefined);
    if (opts.worker) {
      // Before polling: a workflow that sets a missing search attribute fails its task over and
      // over, deep in the UI; an operator should read what to do at start-up instead.
      await checkTemporalSetup(client.connection, config.temporal.namespace, config.temporal.address!);
      installRuntime(opts.logger);
      const connection = await connectWorker(config);
      cleanups.push(() => connection.close());
      const ready = new ReadyCopies(config.copies.readyCopy);
      cleanups.push(() => ready.close()); // after the workers stopped (cleanups run in reverse)
      const workers = [
        await createWorker(config, connection, {}, ready),
        ...(await createNotebookWorkers(config, connection)),
      ];
      // In the background: the first copy request finds the published commit's ready copy made.
      void readyCopyAtStart(config, ready, Runtime.instance().logger).catch((err: Error) =>
        opts.logger.warn({ err }, 'ready copy: not made at start; the first request copies the suite itself'),
      );
      // In the background: the first notebook finds the fork server ready instead of starting it.
      void prestartForkServer(config, (message) => opts.logger.warn(message));
      // In the background: the kernel registry learns which kernelspecs this worker has.
      void recordWorkerKernels(config).then((r) =>
        'error' in r
          ? opts.logger.warn({ err: r.error }, 'kernel registry: kernelspecs not recorded; the next start tries again')
          : opts.logger.info(r, 'kernel registry: kernelspecs recorded'),
      );
      workerDone = Promise.all(workers.map((w) => w.run())).then(() => undefined);
      cleanups.push(async () => {
        for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
        await workerDone.catch(() => undefined);
      });
      opts.logger.info(
        { taskQueues: workers.map((w) => w.options.taskQueue), namespace: config.temporal.namespace },
        'worker running',
      );
      // In the background: thousands of earlier reports must not delay the worker.
      const importing = new AbortController();
      const imported = importHistory(config, opts.logger, importing.signal);
      cleanups.push(async () => {
        importing.abort();
        await imported;
      });
    }

    let api: RunningApi | undefined;
    if (opts.api) {
      api = await startApi({ client, config, logger: opts.logger }, config.http.host, config.http.port);
      cleanups.push(() => api!.close());
      opts.logger.info({ url: api.url }, 'HTTP API listening');
    }
    return { config, client, api, embedded, workerDone, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Records the runs under NBLC_RESULTS_DIR the notebook history does not have (from before it
 * existed, or whose recording failed). Idempotent; a failure is logged and retried at the next start.
 */
async function importHistory(config: Config, logger: Logger, signal: AbortSignal): Promise<void> {
  try {
    const store = await historyStore(config);
    const { imported, unchanged, withoutReport, failed } = await importReports(config.resultsDir, store, signal);
    for (const f of failed) logger.warn({ runId: f.runId, err: f.error }, 'notebook history: report not imported');
    logger.info(
      { imported: imported.length, unchanged, withoutReport, failed: failed.length },
      'notebook history: earlier reports imported',
    );
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'notebook history: import failed; the next start tries again');
  }
}

/** Runs until SIGINT/SIGTERM (or the worker fails), then stops everything; resolves the exit code. */
export async function runUntilSignal(stack: Stack, logger: Logger): Promise<number> {
  const signalled = new Promise<string>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve(sig));
  });
  const outcome = await Promise.race([
    signalled.then((sig) => ({ sig })),
    stack.workerDone.then(
      () => ({ err: undefined as unknown }),
      (err: unknown) => ({ err }),
    ),
  ]);
  if ('sig' in outcome) logger.info({ signal: outcome.sig }, 'stopping');
  else if (outcome.err) logger.error({ err: (outcome.err as Error).message }, 'worker failed; stopping');
  await stack.stop();
  return 'err' in outcome && outcome.err ? 1 : 0;
}
