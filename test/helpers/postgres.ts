/**
 * A throwaway PostgreSQL cluster for tests: initdb in a temporary directory, a server on a free
 * loopback port (socket in the same directory), a fresh database per test, everything removed
 * when the test file ends. Uses the machine's PostgreSQL binaries (NBLC_TEST_PG_BIN, else the
 * newest /usr/lib/postgresql/<version>/bin, else pg_config's); as root the server runs as the
 * `postgres` user, since PostgreSQL refuses to run as root.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../../src/process/embedded.js';

const run = promisify(execFile);

export interface TestPostgres {
  /** A new, empty database; its URL. */
  createDatabase(): Promise<string>;
}

function binDir(): string | null {
  const candidates = [process.env.NBLC_TEST_PG_BIN].filter((d): d is string => !!d);
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => path.join(root, v, 'bin')));
  }
  return candidates.find((d) => existsSync(path.join(d, 'initdb')) && existsSync(path.join(d, 'pg_ctl'))) ?? null;
}

/** Why the PostgreSQL tests cannot run here, or null when they can. */
export function postgresUnavailable(): string | null {
  return binDir()
    ? null
    : 'no PostgreSQL binaries (initdb, pg_ctl): apt-get install postgresql, or set NBLC_TEST_PG_BIN';
}

/**
 * The test file's cluster, started on first use and stopped after the file's tests. Call it at
 * the top level of the file: `after` inside a test would stop the cluster when that test ends.
 */
export function usePostgres(): () => Promise<TestPostgres> {
  const cleanups: Array<() => Promise<unknown>> = [];
  let started: Promise<TestPostgres> | undefined;
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });
  return () => (started ??= start(cleanups));
}

async function start(cleanups: Array<() => Promise<unknown>>): Promise<TestPostgres> {
  const bin = binDir();
  if (!bin) throw new Error(postgresUnavailable()!);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nblc-pg-'));
  const asRoot = process.getuid?.() === 0;
  const exec = (cmd: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args]) : run(path.join(bin, cmd), args);
  if (asRoot) await run('chown', ['postgres:', dir]);
  const data = path.join(dir, 'data');
  const port = await freePort();
  cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
  await exec('initdb', ['-D', data, '-U', 'nblc', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  await exec('pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-o', options, '-w', 'start']);
  cleanups.push(() => exec('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined));
  let n = 0;
  return {
    async createDatabase() {
      const name = `nblc_test_${++n}`;
      const admin = new pg.Client({ connectionString: `postgresql://nblc@127.0.0.1:${port}/postgres` });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return `postgresql://nblc@127.0.0.1:${port}/${name}`;
    },
  };
}
