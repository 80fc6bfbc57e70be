/**
 * Benchmark: the same work on the embedded dev server (SQLite) and on a real Temporal cluster
 * (PostgreSQL, scripts/temporal-cluster.sh), in one run on this machine, each with the worker and
 * the HTTP API in this process:
 *
 * 1. beacon → published snapshot: --merges signed webhooks, one merge at a time (p50/p99);
 * 2. copy request latency: --copies `latest` requests of one user through POST /users/:user/copies;
 * 3. a test run of --notebooks trivial notebooks (start → report written);
 * 4. bulk provision of --users users (a small suite: orchestration, not the disk, is compared).
 *
 *   node --import tsx bench/cluster.ts [--merges 30] [--copies 30] [--notebooks 60] [--users 200] [--cluster-dir DIR]
 *
 * Without --cluster-dir a cluster is started in a temporary directory and stopped at the end.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { removeTree } from '../src/activities/files.js';
import { readCurrent } from '../src/activities/sync/snapshot.js';
import { startBulk } from '../src/clients/copies/client.js';
import type { BulkSummary } from '../src/domain/copies/model.js';
import { createUpstream, notebook, sendPush, type Upstream } from '../src/demo/sample-repo.js';
import { getRun, startTestRun } from '../src/clients/runs/client.js';
import type { Stack } from '../src/process/stack.js';
import { percentile } from './stats.js';
import { benchArgs, benchConfig, startBenchStack, BENCH_WEBHOOK_SECRET } from './setup.js';

const run = promisify(execFile);
const values = benchArgs({ merges: '30', copies: '30', notebooks: '60', users: '200', 'cluster-dir': undefined });
const MERGES = Number(values.merges);
const COPIES = Number(values.copies);
const NOTEBOOKS = Number(values.notebooks);
const USERS = Number(values.users);
const SECRET = BENCH_WEBHOOK_SECRET;
const TOKEN = 'bench-operator-token-0123456789abcdef0123';
const SCRIPT = path.resolve(import.meta.dirname, '..', 'scripts', 'temporal-cluster.sh');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tag = Date.now().toString(36); // a reused cluster keeps earlier runs' workflows

interface Figures {
  publish: number[];
  copy: number[];
  runS: number;
  bulkS: number;
}

async function measure(name: string, stack: Stack, upstream: Upstream): Promise<Figures> {
  const { config } = stack;
  const api = stack.api!.url;
  let previous = (await upstream.git.revparse(['HEAD'])).trim();
  let delivery = 0;
  const beacon = async (after: string) => {
    const repo = config.repo.fullName;
    const res = await sendPush(
      `${api}/webhooks/github`,
      SECRET,
      { repo, before: previous, after },
      `${name}-${++delivery}`,
    );
    if (res.status !== 202) throw new Error(`beacon: HTTP ${res.status} ${await res.text()}`);
  };
  const published = async (sha: string) => {
    while ((await readCurrent(config.cacheDir)) !== sha) await sleep(2);
    return performance.now();
  };
  await beacon(previous);
  await published(previous);

  // 1. One merge at a time.
  const publish: number[] = [];
  for (let i = 0; i < MERGES; i++) {
    const sha = await upstream.commit({ [`Topic ${i % 7}/Merge ${i}.ipynb`]: notebook([`print(${i})`]) });
    const t = performance.now();
    await beacon(sha);
    publish.push((await published(sha)) - t);
    previous = sha;
  }

  // 2. A user's `latest` copies, one after another (the ready copy on, as by default).
  const user = `bench-${name}-${tag}`;
  await fs.mkdir(path.join(config.usersDir, user), { recursive: true });
  const copy: number[] = [];
  for (let i = 0; i < COPIES; i++) {
    const t = performance.now();
    const res = await fetch(`${api}/users/${user}/copies`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'latest' }),
    });
    if (res.status !== 201) throw new Error(`copy: HTTP ${res.status} ${await res.text()}`);
    copy.push(performance.now() - t);
    await sleep(300); // the next ready copy is assembled after the answer; do not measure that
  }

  // 3. A test run of trivial notebooks.
  const files: Record<string, string> = {};
  for (let i = 0; i < NOTEBOOKS; i++) files[`suite/nb-${String(i).padStart(3, '0')}.ipynb`] = notebook([`print(${i})`]);
  const suite = await upstream.commit(files);
  await beacon(suite);
  await published(suite);
  previous = suite;
  let t = performance.now();
  const started = await startTestRun(stack.client, config, { kind: 'manual', include: ['suite/**'] });
  let state = await getRun(stack.client, started.runId);
  while (!state?.result) {
    await sleep(100);
    state = await getRun(stack.client, started.runId);
  }
  if (state.result.counts.passed !== NOTEBOOKS) throw new Error(`run: ${JSON.stringify(state.result.counts)}`);
  const runS = (performance.now() - t) / 1000;

  // 4. Bulk provision (of the users below and the one above, whose notebooks/ does not exist yet).
  for (let i = 0; i < USERS - 1; i++) await fs.mkdir(path.join(config.usersDir, `u${i}`));
  t = performance.now();
  const bulk = await startBulk(stack.client, config, 'provision');
  const summary = (await bulk.handle.result()) as BulkSummary;
  if (summary.created !== USERS) throw new Error(`bulk: ${JSON.stringify(summary)}`);
  return { publish, copy, runS, bulkS: (performance.now() - t) / 1000 };
}

async function backend(name: 'embedded' | 'cluster', address: string | undefined, dir: string): Promise<Figures> {
  const upstream = await createUpstream(path.join(dir, `upstream-${name}`));
  await upstream.commit({ 'README.md': '# notebooks\n', 'Intro/Hello.ipynb': notebook(['print(1)']) });
  const usersDir = path.join(dir, `users-${name}`);
  const config = benchConfig({
    NBLC_REPO_URL: upstream.url,
    NBLC_REPO_FULL_NAME: `bench/${name}-${tag}`,
    NBLC_TASK_QUEUE: `bench-${name}-${tag}`,
    NBLC_NOTEBOOK_TASK_QUEUE: `bench-${name}-${tag}-notebooks`,
    NBLC_WEBHOOK_SECRET: SECRET,
    NBLC_API_TOKEN: TOKEN,
    NBLC_DATA_DIR: path.join(dir, `data-${name}`),
    NBLC_USERS_DIR: usersDir,
    TEMPORAL_ADDRESS: address,
  });
  const stack = await startBenchStack(config, { worker: true, api: true });
  try {
    return await measure(name, stack, upstream);
  } finally {
    await stack.stop();
  }
}

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nblc-bench-cluster-'));
const clusterDir = values['cluster-dir'] ? path.resolve(values['cluster-dir']) : path.join(dir, 'cluster');
try {
  await fs.chmod(dir, 0o755); // PostgreSQL runs as `postgres` when this runs as root
  const { stdout } = await run('bash', [SCRIPT, 'up', clusterDir], { maxBuffer: 1 << 24 });
  const address = /TEMPORAL_ADDRESS=(\S+)\s*$/.exec(stdout)![1]!;
  const results = {
    embedded: await backend('embedded', undefined, dir),
    cluster: await backend('cluster', address, dir),
  };
  const cpu = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'cpu'})`;
  console.log(`\nembedded dev server (SQLite) vs Temporal cluster (PostgreSQL) at ${address}, on ${cpu}\n`);
  const row = (label: string, e: string, c: string) =>
    console.log(`${label.padEnd(44)} ${e.padStart(14)} ${c.padStart(14)}`);
  row('', 'embedded', 'cluster');
  const pct = (xs: number[], p: number) => percentile(xs, p).toFixed(0);
  const { embedded: e, cluster: c } = results;
  row(
    `beacon → published, p50 / p99 ms (${MERGES})`,
    `${pct(e.publish, 50)} / ${pct(e.publish, 99)}`,
    `${pct(c.publish, 50)} / ${pct(c.publish, 99)}`,
  );
  row(
    `copy request (latest), p50 / p90 ms (${COPIES})`,
    `${pct(e.copy, 50)} / ${pct(e.copy, 90)}`,
    `${pct(c.copy, 50)} / ${pct(c.copy, 90)}`,
  );
  row(`test run, ${NOTEBOOKS} notebooks, s`, e.runS.toFixed(1), c.runS.toFixed(1));
  row(
    `bulk provision, ${USERS} users, s (users/s)`,
    `${e.bulkS.toFixed(1)} (${(USERS / e.bulkS).toFixed(1)})`,
    `${c.bulkS.toFixed(1)} (${(USERS / c.bulkS).toFixed(1)})`,
  );
} finally {
  if (!values['cluster-dir']) await run('bash', [SCRIPT, 'down', clusterDir]).catch(() => undefined);
  await removeTree(dir);
}
