/**
 * Benchmark: beacon → published snapshot, through the whole service (signed webhook over
 * loopback HTTP → sync workflow → fetch → atomic publish), against the original method measured
 * in the same run on the same commits: `git pull --ff-only` in a live checkout after each merge.
 *
 * 1. --commits sequential merges: latency from sending the beacon to `current` pointing at the
 *    commit (p50/p99), beside the pull's own time.
 * 2. A burst: --burst beacons over 5 commits at once; pulls run, time to the final publish.
 *
 *   node --import tsx bench/sync.ts [--commits 100] [--burst 50]
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { removeTree } from '../src/activities/files.js';
import { readCurrent } from '../src/activities/sync/snapshot.js';
import { syncWorkflowId } from '../src/domain/sync/model.js';
import { createUpstream, sendPush } from '../src/demo/sample-repo.js';
import { percentile } from './stats.js';
import { benchArgs, benchConfig, startBenchStack, BENCH_WEBHOOK_SECRET } from './setup.js';

const run = promisify(execFile);
const values = benchArgs({ commits: '100', burst: '50' });
const COMMITS = Number(values.commits);
const BURST = Number(values.burst);
const SECRET = BENCH_WEBHOOK_SECRET;
const REPO = 'bench/sync';
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nblc-bench-sync-'));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

try {
  const upstream = await createUpstream(path.join(dir, 'upstream'));
  let previous = await upstream.commit({ 'README.md': '# notebooks\n', 'Intro/Hello.ipynb': '{"cells": []}' });
  // The original method's live folder.
  const live = path.join(dir, 'live');
  await run('git', ['clone', '--quiet', upstream.url, live]);

  const config = benchConfig({
    NBLC_REPO_URL: upstream.url,
    NBLC_REPO_FULL_NAME: REPO,
    NBLC_WEBHOOK_SECRET: SECRET,
    NBLC_DATA_DIR: path.join(dir, 'data'),
  });
  const stack = await startBenchStack(config, { worker: true, api: true });
  let delivery = 0;
  const beacon = async (before: string, after: string) => {
    const url = `${stack.api!.url}/webhooks/github`;
    const res = await sendPush(url, SECRET, { repo: REPO, before, after }, `bench-${++delivery}`);
    if (res.status !== 202) throw new Error(`beacon: HTTP ${res.status} ${await res.text()}`);
  };
  const publishedAt = async (sha: string) => {
    while ((await readCurrent(config.cacheDir)) !== sha) await sleep(2);
    return performance.now();
  };
  try {
    await beacon('0'.repeat(40), previous);
    await publishedAt(previous);

    // 1. One merge at a time.
    const service: number[] = [];
    const pull: number[] = [];
    for (let i = 0; i < COMMITS; i++) {
      const sha = await upstream.commit({ [`Topic ${i % 7}/Notebook ${i}.ipynb`]: `{"cells": [], "n": ${i}}` });
      const t = performance.now();
      await beacon(previous, sha);
      service.push((await publishedAt(sha)) - t);
      const p = performance.now();
      await run('git', ['-C', live, 'pull', '--ff-only', '--quiet']);
      pull.push(performance.now() - p);
      previous = sha;
    }

    // 2. A burst: BURST beacons over 5 new commits, all at once.
    const shas: string[] = [];
    for (let i = 0; i < 5; i++) shas.push(await upstream.commit({ [`Burst/${i}.ipynb`]: '{"cells": []}' }));
    const handle = stack.client.workflow.getHandle(syncWorkflowId(REPO));
    const countPulls = async () => {
      let n = 0;
      for (const e of (await handle.fetchHistory()).events ?? [])
        if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'fetchBranch') n++;
      return n;
    };
    const before = await countPulls();
    const t = performance.now();
    await Promise.all(Array.from({ length: BURST }, (_, i) => beacon(previous, shas[i % 5]!)));
    const burstMs = (await publishedAt(shas[4]!)) - t;
    await sleep(500); // let the last batch settle before counting
    const burstPulls = (await countPulls()) - before;

    const cores = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'cpu'})`;
    console.log(`\n${COMMITS} merges one at a time, on ${cores}\n`);
    console.log(`${'path'.padEnd(52)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)}`);
    for (const [name, xs] of [
      ['git pull --ff-only in the live folder (baseline)', pull],
      ['beacon → published snapshot (nblc)', service],
    ] as const) {
      console.log(`${name.padEnd(52)} ${[50, 99, 100].map((p) => percentile(xs, p).toFixed(1).padStart(8)).join(' ')}`);
    }
    console.log(
      `\nburst: ${BURST} beacons over 5 commits → ${burstPulls} pull(s), last commit published after ${burstMs.toFixed(0)} ms`,
    );
  } finally {
    await stack.stop();
  }
} finally {
  await removeTree(dir);
}
