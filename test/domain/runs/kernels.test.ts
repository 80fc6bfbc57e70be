/**
 * Kernels (pure): which kernelspec a notebook runs with under a candidate run's choice, a run's
 * kernels in order, the checks on a stranger's choice, and the registry grouped per kernelspec.
 *
 *   node --import tsx --test test/domain/runs/kernels.test.ts
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkedChoice,
  kernelFor,
  knownKernels,
  parseKernelMapping,
  runKernels,
  type WorkerKernel,
} from '../../../src/domain/runs/kernels.js';

describe('kernelFor', () => {
  test('the map first, then the run kernel, then the notebook own', () => {
    assert.equal(kernelFor('python3'), 'python3');
    assert.equal(kernelFor('python3', { kernel: 'next' }), 'next');
    assert.equal(kernelFor('antares', { kernel: 'next', kernelMap: { antares: 'antares-next' } }), 'antares-next');
    assert.equal(kernelFor('python3', { kernel: 'next', kernelMap: { antares: 'antares-next' } }), 'next');
  });
});

describe('runKernels', () => {
  test('most used first, the default first among equals, then by name', () => {
    const uses = new Map([
      ['zeta', 2],
      ['python3', 2],
      ['alpha', 2],
      ['big', 5],
    ]);
    assert.deepEqual(runKernels(uses, 'python3'), ['big', 'python3', 'alpha', 'zeta']);
  });
});

describe('checkedChoice', () => {
  test('only kernelspec names survive', () => {
    assert.deepEqual(checkedChoice({ kernel: '../x', kernelMap: { a: 'b', '../c': 'd', e: 'f g' } }), {
      kernelMap: { a: 'b' },
    });
    assert.deepEqual(checkedChoice({ kernel: 'dl-next' }), { kernel: 'dl-next' });
    assert.deepEqual(checkedChoice(null), {});
  });
  test('parseKernelMapping', () => {
    assert.deepEqual(parseKernelMapping('a=b'), { from: 'a', to: 'b' });
    assert.match((parseKernelMapping('a=b=c') as { error: string }).error, /FROM=TO/);
    assert.match((parseKernelMapping('a') as { error: string }).error, /FROM=TO/);
  });
});

describe('knownKernels', () => {
  const row = (worker: string, over: Partial<WorkerKernel> = {}): WorkerKernel => ({
    worker,
    name: 'python3',
    displayName: 'Python 3',
    language: 'python',
    seenAt: '2026-12-07T08:00:00.000Z',
    python: null,
    fingerprint: null,
    packages: {},
    measuredAt: null,
    ...over,
  });
  test('one entry per name; the newest measurement; whether workers differ', () => {
    const kernels = knownKernels([
      row('w2', { fingerprint: 'b', measuredAt: '2026-12-07T09:00:00.000Z', packages: { numpy: '2' } }),
      row('w1', { fingerprint: 'a', measuredAt: '2026-12-07T08:30:00.000Z', packages: { numpy: '1' } }),
      row('w1', { name: 'other', displayName: 'Other' }),
    ]);
    assert.deepEqual(
      kernels.map((k) => [k.name, k.workers.map((w) => w.worker), k.environment?.worker ?? null, k.differs]),
      [
        ['other', ['w1'], null, false],
        ['python3', ['w1', 'w2'], 'w2', true],
      ],
    );
    assert.deepEqual(kernels[1]!.environment?.packages, { numpy: '2' });
  });
});
