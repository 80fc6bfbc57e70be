/**
 * Benchmark: users' copies of a realistic suite (~300 files, ~140 MB: notebooks with embedded
 * base64 PNG outputs, data files, deep folders, names with spaces), published as a snapshot.
 *
 * 1. One copy through the service's copy activity vs `cp -a` of the same snapshot to the same
 *    filesystem, alternating, median of --runs each; the first service copy of a snapshot also
 *    hashes it once (reported apart). Then the same copy end to end through Temporal (request →
 *    user workflow → activity → answer), without and with the ready copy (copy-ready.ts).
 * 2. Bulk provisioning of --users users through the bulk workflow, with throughput, next to a
 *    `cp -a` loop at the same parallelism. Then the orchestration alone, over a one-file snapshot:
 *    a bulk run, and single requests one after another.
 *
 *   node --import tsx bench/copies.ts [--users 200] [--runs 7] [--rounds 2] [--dir .nblc/bench-copies]
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { createCopyActivities } from '../src/activities/copies/index.js';
import { ReadyCopies } from '../src/activities/copies/ready.js';
import { mapLimit } from '../src/activities/files.js';
import { removeTree } from '../src/activities/files.js';
import { snapshotPath, swapCurrent } from '../src/activities/sync/snapshot.js';
import { requestCopy, startBulk } from '../src/clients/copies/client.js';
import type { Stack } from '../src/process/stack.js';
import { median, percentile } from './stats.js';
import { benchArgs, benchConfig, startBenchStack } from './setup.js';
import { generateSuite } from './suite.js';

const run = promisify(execFile);
const values = benchArgs({ users: '200', runs: '7', rounds: '2', dir: '.nblc/bench-copies' });
const USERS = Number(values.users);
const RUNS = Number(values.runs);
const ROUNDS = Number(values.rounds);
const root = path.resolve(values.dir);

/** Times `fn` after flushing dirty pages of earlier steps, so one measurement does not pay for another. */
const time = async (fn: () => Promise<unknown>) => {
  await run('sync');
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
};
const noop = () => undefined;
const quiet = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };

async function lock(dir: string): Promise<void> {
  for (const e of await fs.readdir(dir, { withFileTypes: true }))
    if (e.isDirectory()) await lock(path.join(dir, e.name));
  await fs.chmod(dir, 0o555);
}

await removeTree(root);
const config = benchConfig({
  NBLC_REPO_URL: '/nonexistent.git',
  NBLC_REPO_FULL_NAME: 'bench/notebooks',
  NBLC_DATA_DIR: root,
  NBLC_CACHE_DIR: undefined,
  NBLC_USERS_DIR: undefined,
  NBLC_TASK_QUEUE: 'bench-copies',
});
const sha = randomBytes(20).toString('hex');
const snapshot = snapshotPath(config.cacheDir, sha);
const suite = await generateSuite(snapshot);
await lock(snapshot);
await swapCurrent(config.cacheDir, sha);
const mb = suite.bytes / 1e6;
console.log(`suite: ${suite.files} files, ${mb.toFixed(0)} MB, published as ${snapshot}`);

const ada = path.join(config.usersDir, 'ada');
await fs.mkdir(ada, { recursive: true });
const acts = createCopyActivities(config);
let n = 0;
const serviceCopy = () =>
  new MockActivityEnvironment({}, { logger: quiet }).run(acts.latestCopy, {
    user: 'ada',
    request: {
      mode: 'latest' as const,
      dir: `svc-${++n}`,
      requestId: `bench-${n}`,
      requestedAt: new Date().toISOString(),
    },
  });
const cpCopy = (dest: string) => run('cp', ['-a', snapshot, dest]);

// 1. One copy. Warm the page cache the same way for both (one cp -a first).
await cpCopy(path.join(ada, 'warmup'));
const cold = await time(serviceCopy);
/** Every measurement starts from the same state: previous copies deleted, dirty pages flushed. */
const clean = async (dir: string) => {
  for (const e of await fs.readdir(dir)) await removeTree(path.join(dir, e));
};
/**
 * Pairs of measurements, in alternating order; the ratio of each pair is what counts (the VM's
 * writeback stalls make single timings vary several-fold between runs, rarely within a pair).
 */
async function paired(label: string, measure: () => Promise<unknown>, settle: () => Promise<void> = async () => {}) {
  const mine: number[] = [];
  const base: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    let a = 0;
    let b = 0;
    for (const which of i % 2 ? ['base', 'mine'] : ['mine', 'base']) {
      await clean(ada);
      await settle();
      if (which === 'base') base.push((b = await time(() => cpCopy(path.join(ada, `cp-${i}`)))));
      else mine.push((a = await time(measure)));
    }
    ratios.push(a / b);
  }
  const spread = `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
  console.log(`  ${'cp -a'.padEnd(30)} ${median(base).toFixed(3)} s  (${(mb / median(base)).toFixed(0)} MB/s)`);
  console.log(
    `  ${label.padEnd(30)} ${median(mine).toFixed(3)} s  (${(mb / median(mine)).toFixed(0)} MB/s)  ratio ${median(ratios).toFixed(2)}× cp -a (median of pairs; ${spread})`,
  );
}

console.log(`\none copy (${RUNS} pairs)`);
await paired('service copy activity', serviceCopy);
console.log(
  `  ${'first copy of a new snapshot'.padEnd(30)} ${cold.toFixed(3)} s  (hashes the snapshot once, then copies)`,
);

// End to end through Temporal: a request to the user's workflow, answered with the report. First
// with NBLC_READY_COPY=false (the request copies the snapshot while the caller waits), then as
// configured by default: the request takes the ready copy, assembled in the background after the
// previous one. Each measurement of either pair waits until that background copy is done, so
// neither side shares the disk or CPU with it.
let e2e = 0;
const e2eRequest = (stack: Stack) => () =>
  requestCopy(stack.client, stack.config, 'ada', { mode: 'latest', dir: `e2e-${++e2e}` });
{
  const stack = await startBenchStack(
    { ...config, copies: { ...config.copies, readyCopy: false } },
    { worker: true, api: false },
  );
  try {
    await paired('end to end, no ready copy', e2eRequest(stack));
  } finally {
    await stack.stop();
  }
}
const readyPath = ReadyCopies.pathOf(path.join(config.usersDir, '.nblc-staging'), sha);
const readyCopyMade = async () => {
  const deadline = Date.now() + 60_000;
  while (!(await fs.stat(readyPath).catch(() => null))) {
    if (Date.now() > deadline) throw new Error('no ready copy was made');
    await new Promise((r) => setTimeout(r, 10));
  }
};
const stack = await startBenchStack(config, { worker: true, api: false });
try {
  await requestCopy(stack.client, stack.config, 'ada', { mode: 'latest', dir: 'first' }); // leaves a ready copy
  await paired('end to end, ready copy', e2eRequest(stack), readyCopyMade);

  // 2. Bulk provisioning.
  await removeTree(ada);
  const users = Array.from({ length: USERS }, (_, i) => `user${String(i).padStart(4, '0')}`);
  for (const u of users) await fs.mkdir(path.join(config.usersDir, u), { recursive: true });
  const removeCopies = () => mapLimit(users, 8, (u) => removeTree(path.join(config.usersDir, u, 'notebooks')));
  const cpLoop = () =>
    mapLimit(
      users,
      config.copies.concurrency,
      async (u) => void (await cpCopy(path.join(config.usersDir, u, 'notebooks'))),
    );
  const bulkRun = async () => {
    const started = await startBulk(stack.client, stack.config, 'provision');
    const summary = await started.handle.result();
    if (summary.succeeded !== USERS) throw new Error(`bulk: ${JSON.stringify(summary)}`);
  };
  // Writing GBs is bound by the disk's writeback, which drifts: ABBA order, from empty directories.
  const bulkTimes: number[] = [];
  const cpTimes: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const which of r % 2 === 0 ? ['cp', 'bulk'] : ['bulk', 'cp']) {
      await removeCopies();
      if (which === 'cp') cpTimes.push(await time(cpLoop));
      else bulkTimes.push(await time(bulkRun));
    }
  }
  const line = (label: string, times: number[]) => {
    const s = times.reduce((a, b) => a + b, 0) / times.length;
    const each = times.map((t) => t.toFixed(1)).join(', ');
    return `  ${label.padEnd(34)} ${s.toFixed(1)} s  ${(USERS / s).toFixed(1)} users/s  ${((USERS * mb) / s).toFixed(0)} MB/s  (runs: ${each} s)`;
  };
  console.log(
    `\nbulk provisioning of ${USERS} users (${config.copies.concurrency} at a time, ${((USERS * mb) / 1000).toFixed(1)} GB), mean of ${ROUNDS}`,
  );
  console.log(line('bulk workflow (children, activity)', bulkTimes));
  console.log(line(`cp -a loop, ${config.copies.concurrency} in parallel`, cpTimes));

  // What the orchestration costs per user: the same bulk run over a one-file snapshot.
  await removeCopies();
  const tiny = randomBytes(20).toString('hex');
  await fs.mkdir(snapshotPath(config.cacheDir, tiny), { recursive: true });
  await fs.writeFile(path.join(snapshotPath(config.cacheDir, tiny), 'README.md'), 'tiny');
  await swapCurrent(config.cacheDir, tiny);
  const overhead = await time(bulkRun);
  console.log(
    `  bulk workflow, 1-file snapshot    ${overhead.toFixed(1)} s  ${(USERS / overhead).toFixed(1)} users/s: ${((overhead / USERS) * config.copies.concurrency * 1000).toFixed(0)} ms of orchestration per user and slot`,
  );

  // And what one request costs beyond its copy: sequential requests for one user, each a new run.
  const solo: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t = performance.now();
    await requestCopy(stack.client, stack.config, 'user0000', { mode: 'latest', dir: `tiny-${i}` });
    solo.push(performance.now() - t);
  }
  const p90 = percentile(solo, 90);
  console.log(
    `  one request, 1-file snapshot      median ${median(solo).toFixed(0)} ms, p90 ${p90.toFixed(0)} ms (30 in a row: start, activity, answer)`,
  );
} finally {
  await stack.stop();
  await removeTree(root);
}
