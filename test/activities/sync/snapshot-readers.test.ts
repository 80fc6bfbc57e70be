/**
 * Readers of `<cache>/current`, in a worker thread racing the publisher, never see a partial or
 * mixed tree while commits are published back and forth.
 *
 *   node --import tsx --test test/activities/sync/snapshot-readers.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { readCurrent } from '../../../src/activities/sync/snapshot.js';
import { waitFor } from '../../helpers/fixtures.js';
import { committedPaths, runActivity } from '../../helpers/activities.js';
import { bulkFiles, publisher } from '../../helpers/publisher.js';

/**
 * Runs in a worker thread, truly concurrently with the publisher: resolves `current` once per
 * observation (as a reader must) and checks that the tree it reaches is one whole commit.
 * Also checks that any `snapshots/<sha>` that exists at all is complete.
 */
const READER = `
const fs = require('node:fs');
const path = require('node:path');
const { workerData, parentPort } = require('node:worker_threads');
const { cacheDir, expected, shared } = workerData;
const flags = new Int32Array(shared); // [stop, observations of sha 0, of sha 1]
const shas = Object.keys(expected);
const failures = [];
let observations = 0, nothingYet = 0, snapshotChecks = 0;
const fail = (m) => { if (failures.length < 20) failures.push(m); };

function leaves(dir, prefix = '') {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? prefix + '/' + e.name : e.name;
    if (e.isDirectory()) out.push(...leaves(path.join(dir, e.name), rel));
    else out.push(rel);
  }
  return out;
}
function check(dir, sha, what) {
  const files = expected[sha];
  const names = leaves(dir).sort();
  const want = Object.keys(files).sort();
  if (names.join('\\n') !== want.join('\\n')) {
    fail(what + ': ' + names.length + ' files instead of ' + want.length);
    return;
  }
  for (const n of names) {
    const got = fs.readFileSync(path.join(dir, n), 'utf8');
    if (got !== files[n]) return fail(what + ': ' + n + ' has ' + JSON.stringify(got) + ', not ' + JSON.stringify(files[n]));
  }
}
while (Atomics.load(flags, 0) === 0) {
  let real;
  try {
    real = fs.realpathSync(path.join(cacheDir, 'current'));
  } catch (err) {
    // Before the first publish there is no current; once there is one, it never goes away.
    if (err.code === 'ENOENT' && observations === 0) nothingYet++;
    else fail('resolving current: ' + err.message);
  }
  if (real) {
    const sha = path.basename(real);
    const i = shas.indexOf(sha);
    if (i < 0 || path.basename(path.dirname(real)) !== 'snapshots') fail('current resolves to ' + real);
    else {
      try { check(real, sha, 'current -> ' + sha.slice(0, 12)); } catch (err) { fail('reading current: ' + err.message); }
      observations++;
      Atomics.add(flags, 1 + i, 1);
    }
  }
  for (const sha of shas) {
    const dir = path.join(cacheDir, 'snapshots', sha);
    if (!fs.existsSync(dir)) continue;
    snapshotChecks++;
    try { check(dir, sha, 'snapshots/' + sha.slice(0, 12)); } catch (err) { fail('reading snapshot: ' + err.message); }
  }
}
parentPort.postMessage({ failures, observations, nothingYet, snapshotChecks });
`;

describe('readers', () => {
  test(
    'never see a partial or mixed tree while commits are published back and forth',
    { timeout: 60_000 },
    async () => {
      const { upstream, cache, acts } = await publisher();
      const a = await upstream.commit(bulkFiles('A'), 'Merge A');
      const b = await upstream.commit({ ...bulkFiles('B'), 'only-A.txt': null }, 'Merge B');
      await runActivity(acts.fetchBranch);
      const expected: Record<string, Record<string, string>> = {};
      for (const [sha, label] of [
        [a, 'A'],
        [b, 'B'],
      ] as const) {
        const files = Object.entries(bulkFiles(label)).map(([k, v]) => [k, String(v)]);
        const tree: Record<string, string> = Object.fromEntries(files.concat([['README.md', '# notebooks\n']]));
        assert.deepEqual(Object.keys(tree).sort(), await committedPaths(upstream.url, sha));
        expected[sha] = tree;
      }

      const shared = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT);
      const flags = new Int32Array(shared);
      const reader = new Worker(READER, { eval: true, workerData: { cacheDir: cache, expected, shared } });
      const report = new Promise<{
        failures: string[];
        observations: number;
        nothingYet: number;
        snapshotChecks: number;
      }>((resolve, reject) => {
        reader.once('message', resolve);
        reader.once('error', reject);
      });
      try {
        // Wait until the reader runs (it sees nothing published yet), so the first builds race it.
        await fs.mkdir(cache, { recursive: true });
        await new Promise((r) => setTimeout(r, 200));
        const rounds = 12;
        for (let round = 0; round < rounds; round++) {
          const i = round % 2;
          const sha = i === 0 ? a : b;
          const seen = Atomics.load(flags, 1 + i);
          const res = await runActivity(acts.publishSnapshot, { sha });
          assert.equal(res.reused, round >= 2);
          // Let the reader observe the new `current` at least once before swapping again.
          await waitFor(`the reader to observe round ${round}`, async () => Atomics.load(flags, 1 + i) > seen, 10_000);
        }
      } finally {
        Atomics.store(flags, 0, 1);
      }
      const r = await report;
      await reader.terminate();
      assert.deepEqual(r.failures, []);
      assert.ok(r.observations >= 12, `observations: ${r.observations}`);
      assert.ok(Atomics.load(flags, 1) > 0 && Atomics.load(flags, 2) > 0, 'both commits were observed');
      assert.ok(r.snapshotChecks > 0);
      assert.equal(await readCurrent(cache), b);
    },
  );
});
