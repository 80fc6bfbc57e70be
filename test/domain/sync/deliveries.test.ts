/**
 * The sync workflow's delivery bookkeeping, without a Temporal server.
 *
 *   node --import tsx --test test/domain/sync/deliveries.test.ts
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEDUPE_WINDOW, Deliveries, RECENT_IN_QUERY } from '../../../src/domain/sync/deliveries.js';
import type { Beacon, SyncPlan } from '../../../src/domain/sync/model.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const TIP = 'f'.repeat(40);

function beacon(deliveryId: string, sha: string | null = A): Beacon {
  return { deliveryId, sha, before: null, pusher: 'curator', source: 'github', receivedAt: '2024-01-01T00:00:00Z' };
}

/** A clock that ticks once per reading, so tests can tell which step stamped what. */
function clock() {
  let t = 0;
  return () => new Date(Date.UTC(2024, 0, 1, 0, 0, t++)).toISOString();
}

const book = (window?: number) => new Deliveries(undefined, clock(), window);
const record = (d: Deliveries, id: string) => d.carry().deliveries.find((r) => r.deliveryId === id);

/** One pass that publishes `target` with the given outcomes. */
function passWith(d: Deliveries, outcomes: SyncPlan['outcomes'], target: string | null = null) {
  d.beginPass();
  const plan: SyncPlan = { tip: TIP, target, outcomes };
  const merged = target ? d.recordPublish({ sha: target, path: `/cache/snapshots/${target}` }, plan, TIP) : null;
  d.settle(plan, TIP);
  d.endPass();
  return merged;
}

describe('Deliveries', () => {
  test('a beacon is pending until a pass takes it; the pass runs it and records its outcome', () => {
    const d = book();
    d.receive(beacon('d-1', A));
    assert.deepEqual(
      d.pending().map((r) => r.deliveryId),
      ['d-1'],
    );
    d.beginPass();
    assert.equal(d.pending().length, 0);
    assert.equal(record(d, 'd-1')?.outcome, 'running');
    assert.deepEqual(d.running?.deliveryIds, ['d-1']);
    assert.equal(d.running?.step, 'fetch');
    d.step('plan');
    assert.equal(d.status('o/r', 'main').running?.step, 'plan');
    const plan: SyncPlan = { tip: TIP, target: A, outcomes: { [A]: { outcome: 'publish', sha: A } } };
    assert.deepEqual(d.recordPublish({ sha: A, path: '/p' }, plan, TIP), { previous: null, sha: A });
    d.settle(plan, TIP);
    d.endPass();
    assert.equal(d.running, null);
    const r = record(d, 'd-1')!;
    assert.equal(r.outcome, 'synced');
    assert.equal(r.publishedSha, A);
    assert.ok(r.finishedAt);
    assert.equal(r.error, undefined);
    assert.equal(d.published?.deliveryId, 'd-1');
    assert.equal(d.lastError, null);
  });

  test('a beacon arriving during a pass waits for the next one', () => {
    const d = book();
    d.receive(beacon('first', A));
    d.beginPass();
    d.receive(beacon('second', B));
    assert.deepEqual(d.candidates(TIP), [A]);
    d.settle({ tip: TIP, target: null, outcomes: { [A]: { outcome: 'stale', sha: A } } }, TIP);
    d.endPass();
    assert.equal(record(d, 'first')?.outcome, 'stale');
    assert.equal(record(d, 'second')?.outcome, 'pending');
  });

  test('candidates: each commit once, a beacon without a commit asks for the tip', () => {
    const d = book();
    for (const [id, sha] of [
      ['1', A],
      ['2', null],
      ['3', A],
      ['4', B],
      ['5', null],
    ] as const)
      d.receive(beacon(id, sha));
    d.beginPass();
    assert.deepEqual(d.candidates(TIP), [A, TIP, B]);
  });

  test('a duplicate of a finished delivery only counts', () => {
    const d = book();
    d.receive(beacon('d-1', A));
    passWith(d, { [A]: { outcome: 'publish', sha: A } }, A);
    const finished = { ...record(d, 'd-1')! };
    d.receive(beacon('d-1', A));
    d.receive(beacon('d-1', A));
    assert.equal(d.pending().length, 0);
    assert.equal(d.carry().deliveries.length, 1);
    assert.deepEqual(record(d, 'd-1'), { ...finished, duplicates: 2 });
  });

  test('a duplicate of a pending or running delivery only counts too', () => {
    const d = book();
    d.receive(beacon('d-1', A));
    d.receive(beacon('d-1', A));
    assert.equal(d.pending().length, 1);
    d.beginPass();
    d.receive(beacon('d-1', A));
    assert.equal(d.pending().length, 0);
    assert.equal(record(d, 'd-1')?.duplicates, 2);
  });

  test('a failed delivery is replaced (GitHub "Redeliver"): pending again, at the end, its count carried', () => {
    const d = book();
    d.receive(beacon('d-1', A));
    d.receive(beacon('other', B));
    d.beginPass();
    d.failPass('fetchBranch: unreachable [GitError]');
    d.endPass();
    assert.equal(record(d, 'd-1')?.outcome, 'failed');
    d.receive(beacon('d-1', A));
    const deliveries = d.carry().deliveries;
    assert.deepEqual(
      deliveries.map((r) => r.deliveryId),
      ['other', 'd-1'],
    );
    const again = record(d, 'd-1')!;
    assert.equal(again.outcome, 'pending');
    assert.equal(again.duplicates, 1);
    assert.equal(again.error, undefined);
    assert.equal(again.finishedAt, undefined);
    d.receive(beacon('d-1', A));
    assert.equal(record(d, 'd-1')?.duplicates, 2, 'a pending redelivery counts further duplicates');
  });

  test('the window trims the oldest finished records, never pending or running ones', () => {
    const d = book(3);
    d.receive(beacon('old-1', A));
    d.receive(beacon('old-2', A));
    passWith(d, { [A]: { outcome: 'stale', sha: A } });
    d.receive(beacon('run-1', B));
    d.beginPass(); // run-1 running
    d.receive(beacon('p-1', C));
    assert.deepEqual(
      d.carry().deliveries.map((r) => r.deliveryId),
      ['old-2', 'run-1', 'p-1'],
    );
    d.receive(beacon('p-2', C));
    d.receive(beacon('p-3', C));
    // Nothing finished is left to drop: the window grows rather than forget work.
    assert.deepEqual(
      d.carry().deliveries.map((r) => r.deliveryId),
      ['run-1', 'p-1', 'p-2', 'p-3'],
    );
    assert.equal(DEDUPE_WINDOW, 500);
  });

  test('outcomes from a plan: publish → synced, superseded, stale; unreachable and unplanned → failed with reason', () => {
    const d = book();
    d.receive(beacon('new', A));
    d.receive(beacon('older', B));
    d.receive(beacon('tip', null));
    d.receive(beacon('gone', C));
    d.receive(beacon('unplanned', 'e'.repeat(40)));
    d.beginPass();
    const plan: SyncPlan = {
      tip: TIP,
      target: A,
      outcomes: {
        [A]: { outcome: 'publish', sha: A },
        [B]: { outcome: 'superseded', sha: B },
        [TIP]: { outcome: 'stale', sha: TIP },
        [C]: { outcome: 'unreachable', reason: `commit ${C} does not exist` },
      },
    };
    d.recordPublish({ sha: A, path: '/p' }, plan, TIP);
    d.settle(plan, TIP);
    d.endPass();
    const outcomes = Object.fromEntries(d.carry().deliveries.map((r) => [r.deliveryId, [r.outcome, r.error]]));
    assert.deepEqual(outcomes, {
      new: ['synced', undefined],
      older: ['superseded', undefined],
      tip: ['stale', undefined],
      gone: ['failed', `commit ${C} does not exist`],
      unplanned: ['failed', 'no plan for this commit'],
    });
    for (const r of d.carry().deliveries) assert.equal(r.publishedSha, A);
    assert.equal(d.lastError?.message, `commit ${C} does not exist; unplanned`);
    assert.deepEqual(d.lastError?.deliveryIds, ['new', 'older', 'tip', 'gone', 'unplanned']);
  });

  test('lastError: set by a failed pass, by a step after a publish, cleared by a clean pass', () => {
    const d = book();
    d.receive(beacon('d-1', A));
    d.beginPass();
    d.failPass('fetchBranch: boom [GitError]');
    d.endPass();
    assert.equal(d.lastError?.message, 'fetchBranch: boom [GitError]');
    assert.deepEqual(d.lastError?.deliveryIds, ['d-1']);
    assert.equal(record(d, 'd-1')?.error, 'fetchBranch: boom [GitError]');

    d.receive(beacon('d-1', A)); // redelivered
    d.beginPass();
    const plan: SyncPlan = { tip: TIP, target: A, outcomes: { [A]: { outcome: 'publish', sha: A } } };
    d.recordPublish({ sha: A, path: '/p' }, plan, TIP);
    d.settle(plan, TIP);
    assert.equal(d.status('o/r', 'main').lastError, null, 'a clean pass clears it');
    assert.equal(record(d, 'd-1')?.error, undefined, 'the redelivery succeeded');
    d.afterPublishFailed('the merge test run', 'mergeRunSettings: down');
    d.endPass();
    assert.equal(d.lastError?.message, 'published, but the merge test run did not start: mergeRunSettings: down');
    assert.equal(record(d, 'd-1')?.outcome, 'synced', 'the publish stands');
  });

  test('a publish names the delivery that asked for it (else the first of the batch) and the previous commit', () => {
    const d = book();
    d.foundOnDisk(B);
    assert.equal(d.published?.deliveryId, '(found on disk)');
    d.receive(beacon('tip-1', null));
    d.receive(beacon('by-sha', A));
    assert.deepEqual(passWith(d, { [A]: { outcome: 'publish', sha: A }, [TIP]: { outcome: 'superseded' } }, A), {
      previous: B,
      sha: A,
    });
    assert.equal(d.published?.deliveryId, 'by-sha');
    d.receive(beacon('other', C));
    passWith(d, { [C]: { outcome: 'stale', sha: C } }, TIP);
    assert.equal(d.published?.deliveryId, 'other');
    assert.equal(d.published?.sha, TIP);
  });

  test('status: pending, newest deliveries first (at most RECENT_IN_QUERY); details say the same', () => {
    const d = book();
    for (let i = 0; i < RECENT_IN_QUERY + 5; i++) d.receive(beacon(`d-${i}`, i % 2 ? A : null));
    const s = d.status('o/r', 'main');
    assert.equal(s.repo, 'o/r');
    assert.equal(s.branch, 'main');
    assert.equal(s.pending.length, RECENT_IN_QUERY + 5);
    assert.deepEqual(s.pending[0], { sha: null, deliveryId: 'd-0' });
    assert.equal(s.recentDeliveries.length, RECENT_IN_QUERY);
    assert.equal(s.recentDeliveries[0]?.deliveryId, `d-${RECENT_IN_QUERY + 4}`);
    assert.equal(d.details('o/r', 'main'), `**o/r@main**\n\nnothing published yet\n\npending: ${RECENT_IN_QUERY + 5}`);
    d.beginPass();
    d.step('publish abc');
    d.failPass('x');
    assert.match(d.details('o/r', 'main'), /running: publish abc\n\nlast error \(.*\): x$/);
  });

  test('carry: the records, published commit and last error go to the next run as they are', () => {
    const d = book();
    d.receive(beacon('d-1', A));
    passWith(d, { [A]: { outcome: 'publish', sha: A } }, A);
    d.receive(beacon('d-2', B));
    const next = new Deliveries(structuredClone(d.carry()), clock());
    assert.deepEqual(next.carry(), d.carry());
    next.receive(beacon('d-1', A));
    assert.equal(record(next, 'd-1')?.duplicates, 1, 'dedupe survives continue-as-new');
    assert.deepEqual(
      next.pending().map((r) => r.deliveryId),
      ['d-2'],
    );
  });
});
