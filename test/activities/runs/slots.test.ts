/**
 * A notebook worker's kernel slots (src/activities/runs/slots.ts): pull requests never hold every
 * kernel, and a merge or scheduled run's notebook waiting for a kernel goes ahead of waiting
 * pull-request notebooks. The order is observed from what the slots start, not from timing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KernelSlots, prCap } from '../../../src/activities/runs/slots.js';

/** A job that records its start and ends when `release` is called. */
function jobs() {
  const started: string[] = [];
  const releases = new Map<string, () => void>();
  const job = (name: string) => () =>
    new Promise<string>((resolve) => {
      started.push(name);
      releases.set(name, () => resolve(name));
    });
  const release = (name: string) => releases.get(name)!();
  return { started, job, release };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('kernel slots', () => {
  test('the pull requests’ cap leaves one kernel for trusted runs when there are two or more', () => {
    assert.equal(prCap(4, 2), 2);
    assert.equal(prCap(2, 2), 1);
    assert.equal(prCap(3, 8), 2);
    assert.equal(prCap(1, 2), 1, 'one kernel: PR notebooks still run, one at a time');
  });

  test('a waiting merge notebook takes the next kernel before a PR notebook that waited longer', async () => {
    const slots = new KernelSlots(2, 1);
    const { started, job, release } = jobs();
    const noop = () => undefined;
    const runs = [slots.run(false, job('merge-1'), noop), slots.run(false, job('merge-2'), noop)];
    runs.push(slots.run(true, job('pr'), noop)); // holds the PR slot, waits for a kernel
    await tick();
    runs.push(slots.run(false, job('merge-3'), noop));
    await tick();
    assert.deepEqual(started, ['merge-1', 'merge-2'], 'both kernels taken');
    release('merge-1');
    await tick();
    assert.deepEqual(started, ['merge-1', 'merge-2', 'merge-3'], 'merge-3 went ahead of the PR notebook');
    release('merge-2');
    await tick();
    assert.deepEqual(started.at(-1), 'pr');
    release('merge-3');
    release('pr');
    assert.deepEqual(await Promise.all(runs), ['merge-1', 'merge-2', 'pr', 'merge-3']);
  });

  test('no more pull-request notebooks at once than the cap, with kernels free', async () => {
    const slots = new KernelSlots(4, 2);
    const { started, job, release } = jobs();
    const noop = () => undefined;
    const runs = ['a', 'b', 'c'].map((n) => slots.run(true, job(`pr-${n}`), noop));
    const trusted = slots.run(false, job('scheduled'), noop);
    await tick();
    assert.deepEqual(started.sort(), ['pr-a', 'pr-b', 'scheduled']);
    release('pr-a');
    await tick();
    assert.ok(started.includes('pr-c'));
    for (const n of ['pr-b', 'pr-c', 'scheduled']) release(n);
    await Promise.all([...runs, trusted]);
  });
});
