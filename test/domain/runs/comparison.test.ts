/**
 * The candidate run's comparison (pure): verdicts, grouping by root cause, the package diff with
 * the packages the failures name first, the gate, the text.
 *
 *   node --import tsx --test test/domain/runs/comparison.test.ts
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  compareRuns,
  comparisonText,
  gatePasses,
  packageDiff,
  verdictOf,
  type ComparedNotebook,
  type ComparedRun,
} from '../../../src/domain/runs/comparison.js';
import type { RunEnvironment } from '../../../src/domain/runs/environment.js';

const pass = (path: string): ComparedNotebook => ({ path, status: 'passed', error: null, message: null });
const fail = (path: string, ename: string, evalue: string, traceback = ''): ComparedNotebook => ({
  path,
  status: 'failed',
  error: { ename, evalue, traceback },
  message: null,
});
const env = (kernel: string, python: string, packages: Record<string, string>): RunEnvironment => ({
  kernel,
  python,
  packages,
  fingerprint: kernel.padEnd(64, '0').replace(/[^0-9a-f]/g, 'a'),
  measuredAt: '2026-12-07T08:00:00.000Z',
});

describe('verdictOf', () => {
  test('each verdict', () => {
    assert.equal(verdictOf(pass('a'), undefined), 'only here');
    assert.equal(verdictOf(pass('a'), pass('a')), 'same');
    assert.equal(verdictOf(fail('a', 'E', 'x'), pass('a')), 'newly failing');
    assert.equal(verdictOf(pass('a'), fail('a', 'E', 'x')), 'fixed');
    assert.equal(verdictOf(fail('a', 'E', 'x'), fail('a', 'E', 'x')), 'same');
    assert.equal(verdictOf(fail('a', 'E', 'x'), fail('a', 'F', 'y')), 'still failing (other cause)');
    // Skipped is neither: skipped then failing is newly failing.
    assert.equal(
      verdictOf(fail('a', 'E', 'x'), { path: 'a', status: 'skipped', error: null, message: 'skip' }),
      'newly failing',
    );
  });
});

describe('packageDiff', () => {
  test('named packages first (most named first), then Python, then by name; module names count', () => {
    const before = { python: '3.11.4', packages: { 'dl-stub': '1.0', numpy: '1.26.0', aaa: '1', zzz: '2' } };
    const after = { python: '3.12.1', packages: { 'dl-stub': '2.0', numpy: '2.0.0', aaa: '2', zzz: '2' } };
    const diff = packageDiff(before, after, [
      "AttributeError: module 'dl_stub' has no attribute 'load'",
      'File ".../site-packages/dl_stub/__init__.py", line 3',
      'numpy.core is gone',
    ]);
    assert.deepEqual(
      diff.map((d) => [d.package, d.from, d.to, d.named]),
      [
        ['dl-stub', '1.0', '2.0', 2],
        ['numpy', '1.26.0', '2.0.0', 1],
        ['python', '3.11.4', '3.12.1', 0],
        ['aaa', '1', '2', 0],
      ],
    );
  });
  test('a name inside another word is not named', () => {
    const diff = packageDiff({ python: '3', packages: { six: '1' } }, { python: '3', packages: { six: '2' } }, [
      'sixteen failures; mysix',
    ]);
    assert.equal(diff[0]!.named, 0);
  });
});

describe('compareRuns', () => {
  const baseline: ComparedRun = {
    runId: 'scheduled-1',
    kind: 'scheduled',
    commit: 'a'.repeat(40),
    notebooks: [pass('A'), pass('B'), pass('C'), fail('D', 'E', 'x'), fail('E', 'KeyError', "'k'"), pass('gone')],
    environment: env('dl1', '3.11.4', { dlstub: '1.0', other: '1' }),
  };
  const tb = (n: string) =>
    `Traceback\n----> 1 dlstub.load_data()\nAttributeError: module 'dlstub' has no attribute 'load_data' (${n})`;
  const candidate: ComparedRun = {
    runId: 'candidate-1',
    kind: 'candidate',
    commit: 'a'.repeat(40),
    notebooks: [
      fail('A', 'AttributeError', "module 'dlstub' has no attribute 'load_data'", tb('A')),
      fail('B', 'AttributeError', "module 'dlstub' has no attribute 'load_data'", tb('B')),
      fail('C', 'ValueError', 'bad', ''),
      pass('D'),
      fail('E', 'TypeError', 'other'),
      pass('new'),
    ],
    environment: env('dl2', '3.11.4', { dlstub: '2.0', other: '1' }),
  };
  const c = compareRuns(baseline, candidate);

  test('verdicts, counts, groups by cause, what the candidate did not run', () => {
    assert.deepEqual(
      c.notebooks.map((n) => [n.path, n.verdict]),
      [
        ['A', 'newly failing'],
        ['B', 'newly failing'],
        ['C', 'newly failing'],
        ['D', 'fixed'],
        ['E', 'still failing (other cause)'],
        ['new', 'only here'],
      ],
    );
    assert.deepEqual(c.counts, {
      'newly failing': 3,
      fixed: 1,
      'still failing (other cause)': 1,
      'only here': 1,
      same: 0,
    });
    assert.deepEqual(c.newlyFailing, [
      { cause: "AttributeError: module 'dlstub' has no attribute 'load_data'", notebooks: ['A', 'B'] },
      { cause: 'ValueError: bad', notebooks: ['C'] },
    ]);
    assert.deepEqual(c.notRun, ['gone']);
    assert.deepEqual(c.baseline, { runId: 'scheduled-1', kind: 'scheduled', commit: 'a'.repeat(40), kernel: 'dl1' });
    assert.equal(c.kernel, 'dl2');
    assert.deepEqual(c.packages, [{ package: 'dlstub', from: '1.0', to: '2.0', named: 2 }]);
  });

  test('the gate and the text', () => {
    assert.equal(gatePasses(c), false);
    assert.equal(gatePasses(c, 2), false);
    assert.equal(gatePasses(c, 3), true);
    const text = comparisonText(c);
    assert.match(
      text,
      /^compared with scheduled run scheduled-1 \(dl1 → dl2\)\npackages:\n {2}dlstub 1\.0 → 2\.0 {2}\(named by 2 failures\)\n/,
    );
    assert.match(text, /verdicts: 3 newly failing, 1 fixed, 1 still failing \(other cause\), 1 only here/);
    assert.match(text, /fixed: D/);
  });

  test('against itself: nothing but same, no package change', () => {
    const self = compareRuns(baseline, { ...baseline, runId: 'candidate-2', kind: 'candidate' });
    assert.equal(self.counts.same, baseline.notebooks.length);
    assert.deepEqual(self.newlyFailing, []);
    assert.deepEqual(self.packages, []);
    assert.equal(self.packagesMissing, undefined);
    assert.ok(gatePasses(self));
  });

  test('an unmeasured environment: no diff, and why', () => {
    const { environment: _, ...unmeasured } = candidate;
    const u = compareRuns(baseline, unmeasured);
    assert.deepEqual(u.packages, []);
    assert.equal(u.packagesMissing, "the candidate's environment was not measured");
  });
});
