/**
 * RUN_LIMITS, the one place a run's options are bounded: runOptionsProblems (the CLI's check, the
 * API's schema has the same bounds) and clampRunOptions (for the workflow, which cannot refuse its
 * input: it makes any input a runnable one, and leaves an acceptable one exactly as it was).
 *
 *   node --import tsx --test test/domain/runs/limits.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  RUN_LIMITS,
  clampRunOptions,
  runOptionsProblems,
  type TestRunOptions,
} from '../../../src/domain/runs/model.js';

test('the limits: durations of at most a day, counts a worker can hold, every lower bound usable', () => {
  // What the bounds promise, not their exact values: a run always finishes within a day per
  // notebook, and each minimum is a value a run can actually use.
  for (const key of ['cellTimeoutS', 'notebookTimeoutS'] as const) {
    assert.ok(RUN_LIMITS[key].min >= 1 && RUN_LIMITS[key].max <= 86_400, key);
  }
  assert.ok(RUN_LIMITS.concurrency.min >= 1 && RUN_LIMITS.concurrency.max <= 256);
  assert.ok(RUN_LIMITS.retries.min === 0 && RUN_LIMITS.retries.max <= 10);
  assert.ok(RUN_LIMITS.globs >= 1 && RUN_LIMITS.globLength >= 100, 'room for a real include list');
});

test('runOptionsProblems names each option out of bounds, and accepts the bounds themselves', () => {
  const atBounds: TestRunOptions = {
    include: Array.from({ length: 100 }, () => 'x'.repeat(500)),
    exclude: ['a'],
    concurrency: 256,
    retries: 0,
    cellTimeoutS: 86_400,
    notebookTimeoutS: 1,
  };
  assert.deepEqual(runOptionsProblems(atBounds), []);
  assert.deepEqual(runOptionsProblems({}), []);
  const problems = runOptionsProblems({
    include: Array.from({ length: 101 }, () => 'a'),
    exclude: ['', 'x'.repeat(501)],
    concurrency: 0,
    retries: 1.5,
    cellTimeoutS: 1e21,
    notebookTimeoutS: Number.NaN,
  });
  for (const name of ['include', 'exclude', 'concurrency', 'retries', 'cellTimeoutS', 'notebookTimeoutS']) {
    assert.ok(
      problems.some((p) => p.startsWith(`${name}:`)),
      `${name} not named in ${JSON.stringify(problems)}`,
    );
  }
  assert.ok(problems.some((p) => /notebookTimeoutS: .*from 1 to 86400/.test(p)));
});

test('clampRunOptions makes any input runnable, and leaves acceptable input as it was', () => {
  const fine: TestRunOptions = {
    include: ['a/**'],
    concurrency: 8,
    retries: 2,
    cellTimeoutS: 0.5 + 1,
    notebookTimeoutS: 3600,
  };
  assert.deepEqual(clampRunOptions(fine), fine);
  assert.deepEqual(clampRunOptions({}), {});
  const input = {
    kind: 'manual' as const,
    commit: 'c'.repeat(40),
    include: [...Array.from({ length: 150 }, (_, i) => `g${i}`), 'x'.repeat(501), ''],
    exclude: 'not-a-list' as unknown as string[],
    concurrency: 1e9,
    retries: -3,
    cellTimeoutS: Number.POSITIVE_INFINITY,
    notebookTimeoutS: 1e21,
  };
  const clamped = clampRunOptions(input);
  assert.equal(clamped.kind, 'manual', 'other fields are kept');
  assert.equal(clamped.commit, input.commit);
  assert.equal(clamped.include?.length, 100);
  assert.ok(clamped.include?.every((g) => g.length >= 1 && g.length <= 500));
  assert.equal(clamped.exclude, undefined, 'not a list of globs: dropped');
  assert.equal(clamped.concurrency, 256);
  assert.equal(clamped.retries, 0);
  assert.equal(clamped.cellTimeoutS, undefined, 'not a finite number: the default');
  assert.equal(clamped.notebookTimeoutS, 86_400);
  assert.deepEqual(runOptionsProblems(clamped), [], 'what the clamp gives is acceptable');
  assert.equal(clampRunOptions({ concurrency: 3.7 }).concurrency, 3, 'counts are whole');
});

test('runOptionsProblems refuses a glob too complex to match quickly (the CLI checks before it connects)', () => {
  const [problem] = runOptionsProblems({ exclude: ['**/*x*y*z*w*/**/*.ipynb'] });
  assert.match(problem ?? '', /exclude glob .* too complex to match quickly/);
  assert.deepEqual(runOptionsProblems({ include: ['03_*/**', '**/*Galaxy*.ipynb'] }), []);
});
