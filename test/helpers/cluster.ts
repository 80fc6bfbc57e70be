/**
 * A real Temporal cluster for a test file: PostgreSQL and the Temporal server (the release
 * docker-compose.yml pins), started by scripts/temporal-cluster.sh in `before` and stopped in
 * `after`; and nblc "hosts" on it: one `nblc api` and `nblc worker` processes, each with its
 * own data directory (its private clone) and the directories hosts share (cache, results, users);
 * and the steps the cluster tests share on them (publish a commit, wait for a run's report).
 */
import { Client, Connection } from '@temporalio/client';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { promisify } from 'node:util';
import { removeTree } from '../../src/activities/files.js';
import { readCurrent } from '../../src/activities/sync/snapshot.js';
import { createUpstream, sendPush, type FileContent, type Upstream } from '../../src/demo/sample-repo.js';
import { getRun } from '../../src/clients/runs/client.js';
import type { TestReport } from '../../src/domain/runs/model.js';
import type { Config, Env } from '../../src/platform/config.js';
import { TEST_REPO, TEST_SECRET, testConfig, waitFor } from './fixtures.js';
import { startNblc, type NblcProcess } from './processes.js';

const run = promisify(execFile);
export const CLUSTER_SCRIPT = path.resolve(import.meta.dirname, '../../scripts/temporal-cluster.sh');

/** Why cluster tests cannot run here (no Go to build the server and no build cached, no PostgreSQL), or null. */
export function clusterUnavailable(): string | null {
  const cache =
    process.env.NBLC_TEMPORAL_CACHE ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'nblc');
  const built = existsSync(cache) && spawnSync('bash', ['-c', `ls "${cache}"/temporal-*/temporal-server`]).status === 0;
  if (!built && spawnSync('go', ['version']).status !== 0)
    return 'no go command to build the Temporal server (scripts/temporal-cluster.sh build)';
  const pg =
    process.env.NBLC_PG_BIN ??
    spawnSync('bash', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1']).stdout?.toString().trim();
  if (!pg || !existsSync(path.join(pg, 'initdb'))) return 'no PostgreSQL server binaries (apt-get install postgresql)';
  return null;
}

export interface Cluster {
  dir: string;
  address: string;
  client: Client;
  /** Stops the Temporal server or PostgreSQL (`kill`: SIGKILL / immediate shutdown). */
  stop(part: 'server' | 'postgres', opts?: { kill?: boolean }): Promise<void>;
  /** Starts whatever is not running and waits until the cluster answers (`up` again). */
  up(): Promise<void>;
}

async function script(args: string[], timeoutMs = 20 * 60_000): Promise<string> {
  try {
    const { stdout } = await run('bash', [CLUSTER_SCRIPT, ...args], { timeout: timeoutMs, maxBuffer: 1 << 24 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`temporal-cluster.sh ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`);
  }
}

/** One cluster for the whole file; the returned object works inside tests and hooks. */
export function useCluster(): Cluster {
  let state: { dir: string; address: string; client: Client; reaper: ChildProcess } | undefined;
  before(
    async () => {
      // Under /tmp (world-traversable), and itself traversable: PostgreSQL runs as `postgres`.
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nblc-cluster-'));
      await fs.chmod(dir, 0o755);
      // The cluster runs in sessions of its own, so a test process killed before `after` (a
      // timeout, Ctrl-C) would leave it running: a detached watcher stops it when we are gone.
      const reaper = spawn(
        'bash',
        [
          '-c',
          `while kill -0 ${process.pid} 2>/dev/null; do sleep 2; done; bash "$0" down "$1"; rm -rf "$1"`,
          CLUSTER_SCRIPT,
          dir,
        ],
        { detached: true, stdio: 'ignore' },
      );
      reaper.unref();
      const out = await script(['up', dir]);
      const address = /TEMPORAL_ADDRESS=(\S+)\s*$/.exec(out)?.[1];
      if (!address) throw new Error(`temporal-cluster.sh up printed no TEMPORAL_ADDRESS:\n${out}`);
      const connection = await Connection.connect({ address });
      state = { dir, address, client: new Client({ connection }), reaper };
    },
    { timeout: 25 * 60_000 },
  );
  after(async () => {
    if (!state) return;
    await state.client.connection.close().catch(() => undefined);
    await script(['down', state.dir]).catch((err: Error) => console.error(err.message));
    await removeTree(state.dir);
    state.reaper.kill();
  });
  const get = () => {
    if (!state) throw new Error('the cluster starts in before(): use it inside tests or hooks');
    return state;
  };
  return {
    get dir() {
      return get().dir;
    },
    get address() {
      return get().address;
    },
    get client() {
      return get().client;
    },
    async stop(part, opts = {}) {
      await script(['stop', get().dir, part, ...(opts.kill ? ['--kill'] : [])]);
    },
    async up() {
      await script(['up', get().dir], 5 * 60_000);
    },
  };
}

export interface Hosts {
  dir: string;
  upstream: Upstream;
  /** The settings every process shares (a test's own client calls use `config`). */
  env: Env;
  config: Config;
  api: NblcProcess;
  apiUrl: string;
  workers: NblcProcess[];
  /** Starts worker `i` again (after it was killed), with its own data directory. */
  restartWorker(i: number): Promise<NblcProcess>;
  stop(): Promise<void>;
}

/**
 * `nblc api` and `workers` × `nblc worker` on the cluster, each worker a stand-in for a host:
 * its own NBLC_DATA_DIR (private clone, fork server) and NBLC_WORKER_NAME `host-<i>`; the cache,
 * the results and the users' homes are shared, as docs/deployment.md says they must be. `name`
 * keeps tests apart: their own repository name and task queues.
 */
export async function startHosts(cluster: Cluster, name: string, extra: Env = {}, workers = 2): Promise<Hosts> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `nblc-hosts-${name}-`));
  const upstream = await createUpstream(path.join(dir, 'upstream'));
  await upstream.commit({ 'README.md': '# notebooks\n' }, 'Initial commit');
  const shared = path.join(dir, 'shared');
  const env: Env = {
    TEMPORAL_ADDRESS: cluster.address,
    NBLC_REPO_URL: upstream.url,
    NBLC_REPO_FULL_NAME: `${TEST_REPO.split('/')[0]}/${name}`,
    NBLC_WEBHOOK_SECRET: TEST_SECRET,
    NBLC_API_TOKEN: 'cluster-test-operator-token-0123456789abcdef',
    NBLC_TASK_QUEUE: `${name}`,
    NBLC_NOTEBOOK_TASK_QUEUE: `${name}-notebooks`,
    NBLC_CACHE_DIR: path.join(shared, 'cache'),
    NBLC_RESULTS_DIR: path.join(shared, 'results'),
    NBLC_USERS_DIR: path.join(shared, 'users'),
    NBLC_TEST_ON_MERGE: 'false',
    NBLC_TEST_CRON: 'off',
    ...extra,
  };
  await fs.mkdir(env.NBLC_USERS_DIR!, { recursive: true });
  const config = testConfig(dir, upstream.url, { ...env, NBLC_DATA_DIR: path.join(dir, 'client') });
  const startWorker = async (i: number) => {
    const w = startNblc(['worker'], {
      ...env,
      NBLC_DATA_DIR: path.join(dir, `host-${i}`),
      NBLC_WORKER_NAME: `host-${i}`,
    });
    await w.waitFor(/nblc is running/);
    return w;
  };
  const procs = await Promise.all(Array.from({ length: workers }, (_, i) => startWorker(i)));
  const api = startNblc(['api'], { ...env, NBLC_DATA_DIR: path.join(dir, 'api'), NBLC_PORT: '0' });
  const apiUrl = (await api.waitFor(/Webhook:\s+POST (\S+)\/webhooks\/github/))[1]!;
  const hosts: Hosts = {
    dir,
    upstream,
    env,
    config,
    api,
    apiUrl,
    workers: procs,
    async restartWorker(i) {
      hosts.workers[i] = await startWorker(i);
      return hosts.workers[i]!;
    },
    async stop() {
      for (const p of [api, ...hosts.workers]) {
        if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
        await p.exited;
      }
      await removeTree(dir);
    },
  };
  return hosts;
}

/** SIGKILL to the process group of a worker: node and the git, fork server and kernels it started. */
export async function kill9(p: NblcProcess): Promise<void> {
  process.kill(-p.child.pid!, 'SIGKILL');
  await p.exited;
}

/** Runs `fn` on hosts `name` (startHosts), stopping them however it ends. */
export async function withHosts(cluster: Cluster, name: string, env: Env, fn: (h: Hosts) => Promise<void>) {
  const hosts = await startHosts(cluster, name, env);
  try {
    await fn(hosts);
  } finally {
    await hosts.stop();
  }
}

/** Commits `files` upstream, sends its push to the hosts' API and waits until it is published; its commit. */
export async function publishFiles(h: Hosts, files: Record<string, FileContent>): Promise<string> {
  const sha = await h.upstream.commit(files);
  await sendPush(`${h.apiUrl}/webhooks/github`, TEST_SECRET, {
    repo: h.env.NBLC_REPO_FULL_NAME!,
    before: sha,
    after: sha,
  });
  await waitFor('published', async () => (await readCurrent(h.config.cacheDir)) === sha, 120_000);
  return sha;
}

/** The result of test run `runId` once it finished (within `timeoutMs`), and its report.json. */
export async function finishedRun(cluster: Cluster, runId: string, timeoutMs: number) {
  const result = await waitFor('run finished', async () => (await getRun(cluster.client, runId))?.result, timeoutMs);
  const report = JSON.parse(await fs.readFile(path.join(result.reportDir, 'report.json'), 'utf8')) as TestReport;
  return { result, report };
}

/** Every notebook of `files` passed, and the report lists each of them once. */
export function assertEachPassedOnce(run: Awaited<ReturnType<typeof finishedRun>>, files: Record<string, unknown>) {
  const n = Object.keys(files).length;
  assert.equal(run.result.counts.total, n);
  assert.equal(run.result.counts.passed, n, JSON.stringify(run.result.counts));
  assert.deepEqual(
    run.report.notebooks.map((nb) => nb.path),
    Object.keys(files).sort(),
    'each notebook once',
  );
}
