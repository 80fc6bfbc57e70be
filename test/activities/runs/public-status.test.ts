/**
 * `$NBLC_CACHE_DIR/status.json` (src/activities/runs/public-status.ts) as recordRun writes it:
 * real reports written by writeReport, a real SQLite history, and a reader in another process
 * that parses the file over and over while it is rewritten.
 *   node --import tsx --test test/activities/runs/public-status.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { createHistoryActivities } from '../../../src/activities/runs/history.js';
import { followPublishedSnapshot, writePublicStatus } from '../../../src/activities/runs/public-status.js';
import { snapshotPath, swapCurrent } from '../../../src/activities/sync/snapshot.js';
import { finishedRun } from '../../helpers/report-run.js';
import { openDatabase } from '../../../src/platform/database.js';
import { createHistoryStore } from '../../../src/storage/runs/history-store.js';
import type { PublicStatus } from '../../../src/domain/runs/health.js';
import type { NotebookResult, NotebookStatus, RunKind } from '../../../src/domain/runs/model.js';
import { tempDir } from '../../helpers/fixtures.js';
import { readInLoop } from '../../helpers/status-reader.js';

const GiB = 2 ** 30;
const SECRET = 'prerun-token-s3cr3t-do-not-leak';

function result(p: string, status: NotebookStatus, over: Partial<NotebookResult> = {}): NotebookResult {
  const error =
    status === 'failed'
      ? {
          cell: 1,
          ename: 'RuntimeError',
          evalue: `login with ${SECRET} failed`,
          traceback: `Traceback (most recent call last):\n  File "/srv/nblc/prerun.py", line 3\nRuntimeError: ${SECRET}`,
        }
      : null;
  return {
    status,
    durationMs: 2000,
    kernel: 'python3',
    cellsTotal: 2,
    cellsRun: 2,
    error,
    errors: error ? [error] : [],
    timedOutCell: null,
    message:
      status === 'skipped'
        ? 'skipped: the TAP service is down until 2027-03-31'
        : error
          ? `cell 1: ${error.evalue}`
          : null,
    path: p,
    attempts: 1,
    artifact: `executed/${p}`,
    ...over,
  };
}

async function setup() {
  const dir = await tempDir('nblc-public-status-');
  const resultsDir = path.join(dir, 'results');
  const cacheDir = path.join(dir, 'cache');
  const db = await openDatabase({ dataDir: dir });
  after(() => db.close());
  const store = createHistoryStore(db);
  const cfg = { resultsDir, dataDir: dir, cacheDir, tests: { userLabMemoryBytes: 2 * GiB } };
  const activities = createHistoryActivities(cfg, async () => store);
  let n = 0;
  /** A finished run with its report, recorded as the workflow records it. */
  const record = async (kind: RunKind, results: NotebookResult[]) => {
    const runId = `${kind}-${++n}`;
    const finishedAt = new Date(Date.UTC(2026, 11, n, 3)).toISOString();
    await finishedRun(resultsDir, { runId, kind, commit: String(n).padStart(40, 'c'), finishedAt }, results);
    await activities.recordRun({ runId });
    return runId;
  };
  const read = async () => JSON.parse(await fs.readFile(path.join(cacheDir, 'status.json'), 'utf8')) as PublicStatus;
  return { dir, cacheDir, resultsDir, store, record, read };
}

test('scheduled runs write status.json (world-readable): status, since, last pass, memory flag, skip reason; nothing secret', async () => {
  const { cacheDir, record, read } = await setup();
  const suite = (heavy: NotebookStatus) => [
    result('a/Heavy.ipynb', heavy, { peakMemoryBytes: 3 * GiB }),
    result('a/Light.ipynb', 'passed', { peakMemoryBytes: GiB / 4, durationMs: 1000 }),
    result('b/Tap.ipynb', 'skipped'),
  ];
  await record('scheduled', suite('passed'));
  const brokenRun = await record('scheduled', suite('failed'));
  const s = await read();
  assert.equal(s.runId, brokenRun);
  assert.equal(s.notebooks['a/Heavy.ipynb']!.status, 'failed');
  assert.equal(s.notebooks['a/Heavy.ipynb']!.since, '2026-12-02T03:00:00.000Z');
  assert.deepEqual(s.notebooks['a/Heavy.ipynb']!.lastPass, {
    at: '2026-12-01T03:00:00.000Z',
    commit: '1'.padStart(40, 'c'),
  });
  assert.equal(s.notebooks['a/Heavy.ipynb']!.exceedsUserLabMemory, true, '3 GiB > NBLC_USER_LAB_MEMORY 2 GiB');
  assert.equal(s.notebooks['a/Light.ipynb']!.exceedsUserLabMemory, false);
  assert.equal(s.notebooks['a/Light.ipynb']!.medianDurationMs, 1000);
  assert.equal(s.notebooks['a/Light.ipynb']!.since, '2026-12-01T03:00:00.000Z');
  assert.equal(s.notebooks['b/Tap.ipynb']!.skipReason, 'skipped: the TAP service is down until 2027-03-31');
  const text = await fs.readFile(path.join(cacheDir, 'status.json'), 'utf8');
  assert.ok(!text.includes(SECRET), 'no error values');
  assert.ok(!/Traceback|prerun|\/srv\//.test(text), 'no tracebacks, no paths outside the snapshot');
  assert.equal((await fs.stat(path.join(cacheDir, 'status.json'))).mode & 0o777, 0o644);

  // A manual or merge run (and any kind but scheduled) leaves it as it was.
  await record('manual', suite('passed'));
  await record('merge', suite('passed'));
  assert.equal(await fs.readFile(path.join(cacheDir, 'status.json'), 'utf8'), text);
});

test('status.json is valid JSON every time another process reads it while it is rewritten in a loop', async () => {
  const { cacheDir, resultsDir, store, record } = await setup();
  const many = Array.from({ length: 300 }, (_, i) => result(`nb/N${i}.ipynb`, i % 3 ? 'passed' : 'failed'));
  const runId = await record('scheduled', many);
  const file = path.join(cacheDir, 'status.json');
  const stop = path.join(cacheDir, 'stop-reading');
  const reader = readInLoop(file, stop, 300);
  await reader.started;
  for (let writes = 0; writes < 40; writes++) {
    await writePublicStatus({ resultsDir, cacheDir, userLabMemoryBytes: null }, runId, store);
  }
  await fs.writeFile(stop, '');
  const { ok, bad } = await reader.reads;
  assert.ok(ok > 0);
  assert.equal(bad, 0, 'a reader never saw a partial or empty file');
});

/** A published snapshot of `notebooks` (empty files: only their paths count), made `current`. */
async function publishSnapshot(cacheDir: string, sha: string, notebooks: string[]): Promise<void> {
  for (const p of notebooks) {
    const file = path.join(snapshotPath(cacheDir, sha), p);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, '{}');
  }
  await swapCurrent(cacheDir, sha);
}

test('status.json follows each publish and each run: a removed notebook leaves, a moved one is unknown, again writes nothing', async () => {
  const { cacheDir, record, read } = await setup();
  const [one, two, three] = ['1', '2', '3'].map((d) => d.repeat(40));
  await publishSnapshot(cacheDir, one!, ['a/Heavy.ipynb', 'a/Light.ipynb', 'b/Tap.ipynb']);
  assert.equal(await followPublishedSnapshot({ cacheDir }), false, 'no scheduled run yet: nothing to follow');
  const runId = await record('scheduled', [
    result('a/Heavy.ipynb', 'failed'),
    result('a/Light.ipynb', 'passed'),
    result('b/Tap.ipynb', 'passed'),
  ]);
  assert.equal((await read()).publishedCommit, one);

  // Upstream removes b/Tap and moves a/Light to c/Light: the publish's hook rewrites the file.
  await publishSnapshot(cacheDir, two!, ['a/Heavy.ipynb', 'c/Light.ipynb']);
  assert.equal(await followPublishedSnapshot({ cacheDir }), true);
  const s = await read();
  assert.deepEqual(Object.keys(s.notebooks).sort(), ['a/Heavy.ipynb', 'c/Light.ipynb']);
  assert.equal(s.notebooks['c/Light.ipynb']!.status, 'unknown');
  assert.equal(s.notebooks['a/Heavy.ipynb']!.status, 'failed', 'what the scheduled run found stays');
  assert.equal(s.runId, runId);
  assert.equal(s.publishedCommit, two);
  const text = await fs.readFile(path.join(cacheDir, 'status.json'), 'utf8');
  assert.equal(await followPublishedSnapshot({ cacheDir }), false);
  assert.equal(await fs.readFile(path.join(cacheDir, 'status.json'), 'utf8'), text, 'idempotent');
  assert.equal((await fs.stat(path.join(cacheDir, 'status.json'))).mode & 0o777, 0o644);

  // A publish whose hook did not run: the next run of any kind makes the list follow it.
  await publishSnapshot(cacheDir, three!, ['a/Heavy.ipynb']);
  await record('merge', [result('a/Heavy.ipynb', 'passed')]);
  const merged = await read();
  assert.deepEqual(Object.keys(merged.notebooks), ['a/Heavy.ipynb']);
  assert.equal(merged.notebooks['a/Heavy.ipynb']!.status, 'failed', 'a merge run never changes a status');
  assert.equal(merged.publishedCommit, three);
});
