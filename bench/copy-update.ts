/**
 * Benchmark: the cost of running an `update` as the copy's owner (as-owner.ts) when the worker
 * runs as root. Two users with the same copy of a suite: one whose directory root owns (the
 * update runs in the worker's process), one whose directory another uid owns (it runs in a child
 * process with that uid). Each round publishes a snapshot where a tenth of the files changed (and
 * the previous round's tenth changed back) and updates both, alternating which goes first; medians of --rounds. Needs root.
 *
 *   node --import tsx bench/copy-update.ts [--files 300] [--kb 450] [--rounds 9] [--dir .nblc/bench-copy-update]
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createCopyActivities, type CopyInput } from '../src/activities/copies/index.js';
import { removeTree } from '../src/activities/files.js';
import { snapshotPath, swapCurrent } from '../src/activities/sync/snapshot.js';
import type { CopyResult } from '../src/domain/copies/model.js';
import { loadConfig } from '../src/platform/config.js';
import { median } from './stats.js';
import { benchArgs } from './setup.js';

const values = benchArgs({ files: '300', kb: '450', rounds: '9', dir: '.nblc/bench-copy-update' });
if (process.getuid?.() !== 0) throw new Error('run as root: the child process only exists for a root worker');
const FILES = Number(values.files);
const KB = Number(values.kb);
const root = path.resolve(values.dir);

const noop = () => undefined;
const quiet = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };
const run = (fn: (i: CopyInput) => Promise<CopyResult>, input: CopyInput): Promise<CopyResult> =>
  new MockActivityEnvironment({ heartbeatTimeoutMs: 60_000 }, { logger: quiet }).run(fn, input);

await removeTree(root);
await fs.mkdir(root, { recursive: true, mode: 0o755 });
const config = loadConfig({
  PATH: process.env.PATH,
  NBLC_REPO_URL: '/nonexistent.git',
  NBLC_REPO_FULL_NAME: 'bench/notebooks',
  NBLC_DATA_DIR: root,
  NBLC_LOG_LEVEL: 'warn',
});
const acts = createCopyActivities(config);
const blobs = Array.from({ length: FILES }, () => randomBytes((KB * 1024 * 3) / 4).toString('base64'));

/** Publishes the suite with files `i % 10 === round % 10` changed (round 0: as first delivered). */
async function publish(round: number): Promise<void> {
  const sha = randomBytes(20).toString('hex');
  const dir = snapshotPath(config.cacheDir, sha);
  for (let i = 0; i < FILES; i++) {
    const p = path.join(dir, `Topic ${i % 12}`, `Notebook ${i}.ipynb`);
    await fs.mkdir(path.dirname(p), { recursive: true });
    const version = round > 0 && i % 10 === round % 10 ? round : 0;
    await fs.writeFile(p, JSON.stringify({ version, png: blobs[i] }), { mode: 0o444 });
  }
  await swapCurrent(config.cacheDir, sha);
}

const users = { 'in-process': 0, 'as owner': 4242 } as const;
for (const [user, uid] of Object.entries(users)) {
  const dir = path.join(config.usersDir, user.replace(' ', '-'));
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  await fs.chown(dir, uid, uid);
}
await publish(0);
let n = 0;
const request = (mode: 'provision' | 'update') => ({
  mode,
  requestId: `bench-${++n}`,
  requestedAt: new Date().toISOString(),
});
for (const user of Object.keys(users))
  await run(acts.provisionCopy, { user: user.replace(' ', '-'), request: request('provision') });

const times: Record<string, number[]> = { 'in-process': [], 'as owner': [] };
const rounds = Number(values.rounds);
for (let round = 1; round <= rounds; round++) {
  await publish(round);
  const order = round % 2 ? Object.keys(users) : Object.keys(users).reverse();
  for (const user of order) {
    const t = performance.now();
    const res = await run(acts.updateCopy, { user: user.replace(' ', '-'), request: request('update') });
    times[user]!.push((performance.now() - t) / 1000);
    if (!res.counts.updated || res.counts.conflict) throw new Error(`${user}: ${res.message}`);
  }
}
const mb = (FILES * KB) / 1024;
console.log(`suite: ${FILES} files, ${mb.toFixed(0)} MB; ${rounds} updates each`);
for (const [user, xs] of Object.entries(times)) {
  console.log(`${user.padEnd(10)} median ${median(xs).toFixed(3)} s  (min ${Math.min(...xs).toFixed(3)} s)`);
}
console.log(`as owner − in-process: ${(median(times['as owner']!) - median(times['in-process']!)).toFixed(3)} s`);
await removeTree(root);
