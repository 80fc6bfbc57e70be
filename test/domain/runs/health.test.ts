/**
 * What users are told of each notebook (src/domain/runs/health.ts): streaks, last pass, the
 * median duration, the p95 memory and its flag, skip reasons.
 *   node --import tsx --test test/domain/runs/health.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  failingUpstream,
  followPublished,
  median,
  notebookHealth,
  percentile,
  UNKNOWN,
  type HealthRun,
  type PublicStatus,
} from '../../../src/domain/runs/health.js';
import { badgeMessage } from '../../../src/views/runs/badge.js';

const GiB = 2 ** 30;
const run = (
  status: HealthRun['status'],
  day: number,
  durationMs = 1000,
  peakMemoryBytes: number | null = null,
): HealthRun => ({
  status,
  finishedAt: `2026-12-${String(day).padStart(2, '0')}T03:00:00.000Z`,
  commit: `${day}`.padStart(40, 'a'),
  durationMs,
  peakMemoryBytes,
});

test('since is the start of the current streak; the last pass is the newest passed run', () => {
  const h = notebookHealth(
    [run('failed', 5), run('failed', 4), run('passed', 3, 3000), run('passed', 2, 1000), run('failed', 1)],
    null,
  )!;
  assert.equal(h.status, 'failed');
  assert.equal(h.since, '2026-12-04T03:00:00.000Z');
  assert.deepEqual(h.lastPass, { at: '2026-12-03T03:00:00.000Z', commit: run('passed', 3).commit });
  assert.equal(h.medianDurationMs, 2000);
  assert.equal(notebookHealth([], null), null);
  assert.equal(notebookHealth([run('failed', 1)], null)!.lastPass, null);
});

test('the p95 of peak memory is flagged over NBLC_USER_LAB_MEMORY, not at or under it', () => {
  const runs = Array.from({ length: 20 }, (_, i) => run('passed', 20 - i, 1000, (i === 0 ? 5 : 1) * GiB));
  // One run of 20 at 5 GiB: the nearest-rank p95 is the 19th smallest, 1 GiB.
  assert.equal(notebookHealth(runs, 2 * GiB)!.p95PeakMemoryBytes, GiB);
  assert.equal(notebookHealth(runs, 2 * GiB)!.exceedsUserLabMemory, false);
  const heavy = runs.map((r, i) => ({ ...r, peakMemoryBytes: (i < 2 ? 5 : 1) * GiB }));
  assert.equal(notebookHealth(heavy, 2 * GiB)!.exceedsUserLabMemory, true);
  assert.equal(notebookHealth(heavy, null)!.exceedsUserLabMemory, false, 'no setting, no flag');
});

test('a skipped notebook carries its reason on one line; others none', () => {
  assert.equal(
    notebookHealth([run('skipped', 1)], null, 'skipped: the TAP\nservice is down')!.skipReason,
    'skipped: the TAP service is down',
  );
  assert.equal(notebookHealth([run('failed', 1)], null, 'boom')!.skipReason, undefined);
});

test('failingUpstream lists the copied notebooks that neither pass nor are skipped', () => {
  const h = (status: HealthRun['status']) => notebookHealth([run(status, 1)], null)!;
  const status = {
    notebooks: { 'a.ipynb': h('failed'), 'b.ipynb': h('passed'), 'c.ipynb': h('skipped'), 'd.ipynb': h('timed_out') },
  };
  assert.deepEqual(failingUpstream(status, ['d.ipynb', 'a.ipynb', 'b.ipynb', 'c.ipynb']), ['a.ipynb', 'd.ipynb']);
  assert.deepEqual(failingUpstream(status, ['b.ipynb']), []);
});

test('property: median and percentile lie within the values; p95 is one of them', () => {
  fc.assert(
    fc.property(fc.array(fc.nat(), { minLength: 1, maxLength: 50 }), (xs) => {
      const m = median(xs)!;
      const p = percentile(xs, 95)!;
      assert.ok(m >= Math.min(...xs) && m <= Math.max(...xs));
      assert.ok(xs.includes(p));
      assert.ok(p >= m || xs.length <= 2);
    }),
  );
});

test('followPublished: removed notebooks leave, new and moved ones come in as unknown (not failing), and again is a no-op', () => {
  const h = (status: HealthRun['status']) => notebookHealth([run(status, 1)], null)!;
  const before: PublicStatus = {
    version: 1,
    generatedAt: '2026-12-01T03:00:00.000Z',
    runId: 'scheduled-1',
    commit: 'c'.repeat(40),
    environmentFingerprint: null,
    userLabMemoryBytes: null,
    notebooks: { 'a/Kept.ipynb': h('failed'), 'a/Gone.ipynb': h('passed'), 'a/Old.ipynb': h('passed') },
  };
  const now = '2026-12-02T10:00:00.000Z';
  const sha = 'd'.repeat(40);
  const after = followPublished(before, sha, ['a/Kept.ipynb', 'b/Moved.ipynb', 'a/New.ipynb'], now)!;
  assert.deepEqual(Object.keys(after.notebooks), ['a/Kept.ipynb', 'b/Moved.ipynb', 'a/New.ipynb']);
  assert.deepEqual(after.notebooks['a/Kept.ipynb'], before.notebooks['a/Kept.ipynb']);
  assert.equal(after.notebooks['b/Moved.ipynb']!.status, UNKNOWN);
  assert.equal(after.notebooks['b/Moved.ipynb']!.since, now);
  assert.equal(after.publishedCommit, sha);
  assert.equal(after.runId, 'scheduled-1', 'still the scheduled run it reflects');
  assert.equal(followPublished(after, sha, ['a/New.ipynb', 'a/Kept.ipynb', 'b/Moved.ipynb'], 'later'), null);
  assert.deepEqual(failingUpstream(after, ['a/Kept.ipynb', 'b/Moved.ipynb', 'a/New.ipynb']), ['a/Kept.ipynb']);
  assert.equal(badgeMessage(after.notebooks['b/Moved.ipynb']!), 'unknown');
  assert.equal(badgeMessage(after.notebooks['a/Kept.ipynb']!), 'failing');
});
