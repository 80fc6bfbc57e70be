/**
 * Benchmark on the real-suite-shaped repository (bench/suite.ts: ~300 files, ~140 MB), each figure
 * beside its baseline measured in the same run on the same commits:
 *
 * 1. One-file merges: signed beacon → `current` points at the commit (webhook → sync workflow →
 *    fetch → plan → publish), against `git pull --ff-only` in a live checkout.
 * 2. The first `provision` right after each of those publishes (end to end through Temporal),
 *    against `cp -a` of the published snapshot; then a later one (once the ready copy of the commit
 *    is made again), the common case. Before them, the very first `provision` on this host, right
 *    after the first publish (the ready copy the publish makes, NBLC_READY_COPY), against `cp -a`.
 * 3. Notebook start-up: N trivial notebooks through a whole test run (bench/test-runs.ts, the fork
 *    server, the sandbox on), against serial `jupyter nbconvert --execute`; after 1 and 2, with
 *    their stack stopped, so neither's figures share the machine with the other's.
 *
 * Every timing starts after a `sync`, so that none pays for another's writeback.
 *
 * With --busy 1, a second process keeps one core busy throughout (a busy machine).
 *
 * With --suite DIR, the upstream is a copy of DIR (e.g. a checkout of noaodatalab/notebooks-latest,
 * without its .git) instead of the generated suite.
 *
 *   node --import tsx bench/real-suite.ts [--merges 15] [--notebooks 60 (0: skip 3)] [--busy 1] [--dir /tmp/...] [--suite DIR]
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { STAGING_AREA } from '../src/activities/copies/fs.js';
import { ReadyCopies } from '../src/activities/copies/ready.js';
import { removeTree } from '../src/activities/files.js';
import { readCurrent, snapshotPath } from '../src/activities/sync/snapshot.js';
import { requestCopy } from '../src/clients/copies/client.js';
import { createUpstream, sendPush } from '../src/demo/sample-repo.js';
import { syncWorkflowId } from '../src/domain/sync/model.js';
import { benchArgs, benchConfig, startBenchStack, BENCH_WEBHOOK_SECRET } from './setup.js';
import { median, percentile } from './stats.js';
import { generateSuite } from './suite.js';

const run = promisify(execFile);
const values = benchArgs({ merges: '15', notebooks: '60', busy: '0', dir: undefined, suite: undefined });
const busy = values.busy === '1';
// A second process using one core for the whole bench (its children inherit nothing of it)
const burner = busy ? spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }) : null;
process.on('exit', () => burner?.kill('SIGKILL'));
const MERGES = Number(values.merges);
const SECRET = BENCH_WEBHOOK_SECRET;
const REPO = 'bench/real-suite';
const dir = values.dir ? path.resolve(values.dir) : await fs.mkdtemp(path.join(os.tmpdir(), 'nblc-bench-suite-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** ms that `fn` takes, after flushing what earlier steps left dirty. */
const timed = async (fn: () => Promise<unknown>) => {
  await run('sync');
  const t = performance.now();
  await fn();
  return performance.now() - t;
};

/** Copies a checkout's files (not its .git) into `dest`; returns their count and size. */
async function copySuite(src: string, dest: string): Promise<{ files: number; bytes: number }> {
  await run('sh', ['-c', 'tar -C "$1" --exclude=.git -cf - . | tar -C "$2" -xf -', 'sh', src, dest]);
  const listed = (
    await run('find', [dest, '-path', path.join(dest, '.git'), '-prune', '-o', '-type', 'f', '-printf', '%s\\n'])
  ).stdout;
  const sizes = listed.split('\n').filter(Boolean).map(Number);
  return { files: sizes.length, bytes: sizes.reduce((a, b) => a + b, 0) };
}

try {
  const upstream = await createUpstream(path.join(dir, 'upstream'));
  // --suite DIR: a checkout of the real suite (noaodatalab/notebooks-latest) instead of the generated one
  const suite = values.suite
    ? await copySuite(path.resolve(values.suite), upstream.workDir)
    : await generateSuite(upstream.workDir);
  await run('chmod', ['-R', 'u+w', upstream.workDir]); // the generator writes read-only files, as in a snapshot
  let previous = await upstream.commit({}, 'The suite');
  const live = path.join(dir, 'live');
  await run('git', ['clone', '--quiet', upstream.url, live]);
  const notebooks = (await run('git', ['-C', live, 'ls-files', '*.ipynb'])).stdout.split('\n').filter(Boolean);
  console.log(`suite: ${suite.files} files, ${(suite.bytes / 1e6).toFixed(0)} MB`);

  const config = benchConfig({
    NBLC_REPO_URL: upstream.url,
    NBLC_REPO_FULL_NAME: REPO,
    NBLC_WEBHOOK_SECRET: SECRET,
    NBLC_DATA_DIR: path.join(dir, 'data'),
    NBLC_CACHE_DIR: undefined,
    NBLC_USERS_DIR: undefined,
  });
  const stack = await startBenchStack(config, { worker: true, api: true });
  let delivery = 0;
  const publish = async (before: string, after: string) => {
    const res = await sendPush(
      `${stack.api!.url}/webhooks/github`,
      SECRET,
      { repo: REPO, before, after },
      `b-${++delivery}`,
    );
    if (res.status !== 202) throw new Error(`beacon: HTTP ${res.status} ${await res.text()}`);
    while ((await readCurrent(config.cacheDir)) !== after) await sleep(2);
  };
  let user = 0;
  const provision = async () => {
    const name = `user${String(++user).padStart(3, '0')}`;
    await fs.mkdir(path.join(config.usersDir, name), { recursive: true });
    const answer = await requestCopy(stack.client, stack.config, name, { mode: 'provision' });
    if (!answer.created) throw new Error(`provision: ${answer.message}`);
  };
  const area = path.join(config.usersDir, STAGING_AREA);
  const cps = path.join(dir, 'cp');
  const readyCopyOf = async (sha: string) => {
    const deadline = Date.now() + 60_000;
    while (!(await fs.stat(ReadyCopies.pathOf(area, sha)).catch(() => null))) {
      if (Date.now() > deadline) throw new Error('no ready copy was made');
      await sleep(10);
    }
  };
  /** Median time of each sync activity over the run's history (publishSnapshot includes the copies' work after the swap). */
  const passBreakdown = async () => {
    const events = (await stack.client.workflow.getHandle(syncWorkflowId(REPO)).fetchHistory()).events ?? [];
    const at = (t: (typeof events)[number]['eventTime']) => Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
    const scheduled = new Map(events.map((e) => [String(e.eventId), e]));
    const took = new Map<string, number[]>();
    for (const e of events) {
      const done = e.activityTaskCompletedEventAttributes;
      const s = done && scheduled.get(String(done.scheduledEventId));
      const type = s?.activityTaskScheduledEventAttributes?.activityType?.name;
      if (type) took.set(type, [...(took.get(type) ?? []), at(e.eventTime) - at(s.eventTime)]);
    }
    return [...took].map(([type, xs]) => `${type} ${median(xs).toFixed(0)} ms`).join(', ');
  };
  try {
    // The users' folder exists before anything is published, as on the platform (/home)
    await fs.mkdir(config.usersDir, { recursive: true });
    const first = await timed(() => publish('0'.repeat(40), previous));
    // The first copy on this host, at once: the ready copy the publish is making, waited for and taken
    const firstEver = await timed(provision);
    await fs.mkdir(cps, { recursive: true });
    const firstCp = await timed(() =>
      run('cp', ['-a', snapshotPath(config.cacheDir, previous), path.join(cps, 'first')]),
    );
    await removeTree(cps);
    await readyCopyOf(previous);
    console.log(`first publish of the suite: ${first.toFixed(0)} ms`);
    console.log(
      `first provision ever on this host, right after it: ${firstEver.toFixed(1)} ms; cp -a ${firstCp.toFixed(1)} ms (${(firstEver / firstCp).toFixed(2)}×)`,
    );

    const rows = { publish: [] as number[], pull: [] as number[], firstCopy: [] as number[] };
    const cp: number[] = [];
    const laterCopy: number[] = [];
    for (let i = 0; i < MERGES; i++) {
      // One notebook changes (a new output line), as in a typical merge.
      const nb = notebooks[(i * 37) % notebooks.length]!;
      const text = await fs.readFile(path.join(upstream.workDir, nb), 'utf8');
      const sha = await upstream.commit({
        [nb]: text.replace(
          '"cells": [',
          `"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["merge ${i}"]},`,
        ),
      });
      rows.publish.push(await timed(() => publish(previous, sha)));
      rows.pull.push(await timed(() => run('git', ['-C', live, 'pull', '--ff-only', '--quiet'])));
      rows.firstCopy.push(await timed(provision));
      await removeTree(cps);
      await fs.mkdir(cps, { recursive: true });
      cp.push(await timed(() => run('cp', ['-a', snapshotPath(config.cacheDir, sha), path.join(cps, 'copy')])));
      await readyCopyOf(sha);
      laterCopy.push(await timed(provision));
      await readyCopyOf(sha);
      previous = sha;
    }

    const ratio = (a: number[], b: number[]) => median(a.map((x, i) => x / b[i]!));
    const line = (name: string, xs: number[], base?: number[]) =>
      `${name.padEnd(58)} ${[50, 90, 100].map((p) => percentile(xs, p).toFixed(1).padStart(8)).join(' ')}${base ? `  ${(median(xs) / median(base)).toFixed(2).padStart(6)}× (pairs: ${ratio(xs, base).toFixed(2)}×)` : ''}`;
    console.log(
      `\n${MERGES} one-file merges, ${os.cpus().length} cores (load ${os.loadavg()[0]!.toFixed(1)}${busy ? ', one core kept busy' : ''})\n`,
    );
    console.log(
      `${'path'.padEnd(58)} ${['p50 ms', 'p90 ms', 'max ms'].map((h) => h.padStart(8)).join(' ')}  vs baseline (p50; median of pairs)`,
    );
    console.log(line('git pull --ff-only in the live folder (baseline)', rows.pull));
    console.log(line('beacon → published snapshot (nblc)', rows.publish, rows.pull));
    console.log(
      `${'  where a pass goes (activities, scheduled → completed, p50)'.padEnd(58)} ${await passBreakdown()}`,
    );
    console.log(line('cp -a of the snapshot (baseline)', cp));
    console.log(line('first provision right after the publish (end to end)', rows.firstCopy, cp));
    console.log(line('a later provision (end to end)', laterCopy, cp));
  } finally {
    await stack.stop();
  }
} finally {
  if (!values.dir) await removeTree(dir);
}

if (Number(values.notebooks) > 0) {
  const testRuns = path.join(import.meta.dirname, 'test-runs.ts');
  const args = ['--notebooks', values.notebooks!, '--concurrency', '4', '--executors', 'fork', '--sandbox', 'on'];
  console.log(`\n3. notebook start-up: bench/test-runs.ts ${args.join(' ')}`);
  await new Promise<void>((resolve, reject) =>
    spawn(process.execPath, ['--import', 'tsx', testRuns, ...args], { stdio: 'inherit' })
      .on('error', reject)
      .on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bench/test-runs.ts exited ${code}`)))),
  );
}
