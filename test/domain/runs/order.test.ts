// Longest first and the default concurrency (src/domain/runs/order.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultConcurrency, longestFirst, median, type RecentRuns } from '../../../src/domain/runs/order.js';

const runs = (durationsMs: number[], peakMemoryBytes: number[] = []): RecentRuns => ({ durationsMs, peakMemoryBytes });
const GiB = 2 ** 30;

test('median of recent runs: one slow outlier does not make a notebook slow', () => {
  assert.equal(median([]), undefined);
  assert.equal(median([5]), 5);
  assert.equal(median([1, 100, 2]), 2);
  assert.equal(median([1, 2, 3, 10]), 2.5);
});

test('longest expected first, unknown ones before all, ties in the given order', () => {
  const recent = new Map([
    ['a', runs([10, 12, 11])],
    ['b', runs([500, 90_000, 400])], // median 500: its one slow run is not its usual
    ['c', runs([60_000])],
    ['d', runs([10, 12, 11])],
  ]);
  assert.deepEqual(longestFirst(['a', 'b', 'c', 'd', 'x', 'y'], recent), ['x', 'y', 'c', 'b', 'a', 'd']);
  assert.deepEqual(longestFirst([], recent), []);
});

test('concurrency: the cores, fewer when free memory cannot hold the heaviest notebooks, within the ceiling', () => {
  const recent = new Map([
    ['small', runs([1], [100 << 20])],
    ['big', runs([1], [3 * GiB, 3 * GiB, 1 * GiB])],
  ]);
  assert.equal(defaultConcurrency({ cores: 8, freeMemoryBytes: 64 * GiB }, recent, 4), 4, 'the ceiling');
  assert.equal(defaultConcurrency({ cores: 2, freeMemoryBytes: 64 * GiB }, recent, 4), 2, 'the cores');
  assert.equal(defaultConcurrency({ cores: 8, freeMemoryBytes: 7 * GiB }, recent, 8), 2, 'memory: 7 GiB / 3 GiB');
  assert.equal(defaultConcurrency({ cores: 8, freeMemoryBytes: 1 * GiB }, recent, 8), 1, 'never fewer than one');
  assert.equal(defaultConcurrency({ cores: 3, freeMemoryBytes: 0 }, new Map(), 8), 3, 'no recorded peak: the cores');
});
