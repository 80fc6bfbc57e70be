// python/nblc_execute.py, the child process that executes one notebook: how a notebook's outcome
// is classified (passed, failed, timed out, kernel died, needs input, no such kernel, invalid).
// Every test runs the real executor with a real ipykernel against notebooks kept in a
// read-only tree (like the published cache), spawned and forked. Run from the repository root:
//   node --import tsx --test test/system/python/executor.test.ts
// What the kernel gets (files, scratch directory, tags, prerun, SIGTERM): executor-kernel.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { executeOk, streamText, useExecutorNotebooks } from '../../helpers/executor.js';

for (const launch of ['spawn', 'fork'] as const)
  describe(`nblc_execute.py (${launch})`, { concurrency: 2, timeout: 120_000 }, () => {
    useExecutorNotebooks(launch);

    test('passed: all cells run, artifact has the outputs, progress events', async () => {
      const { result, artifact, events } = await executeOk('passed.ipynb');
      assert.equal(result.status, 'passed');
      assert.equal(result.kernel, 'python3');
      assert.equal(result.cellsTotal, 3);
      assert.equal(result.cellsRun, 2); // the empty cell is not run
      assert.equal(result.error, null);
      assert.deepEqual(result.errors, []);
      assert.equal(result.timedOutCell, null);
      assert.equal(result.message, null);
      assert.ok(Number.isInteger(result.durationMs));
      assert.equal(streamText(artifact?.cells[2]), '42\n');
      assert.equal(artifact?.cells[2]?.execution_count, 2);
      assert.deepEqual(events, [
        { event: 'start', kernel: 'python3', cells: 4, codeCells: 3 },
        { event: 'cell', index: 1, of: 4 },
        { event: 'cell', index: 2, of: 4 },
        { event: 'done', status: 'passed' },
      ]);
    });

    test('failed: the first unexpected error classifies and stops the notebook, later cells do not run', async () => {
      // code cells 1–4 are cells 0, 2, 3, 4: the second raises, the third and fourth must not run
      const { result, artifact, events } = await executeOk('failed.ipynb');
      assert.equal(result.status, 'failed');
      assert.equal(result.cellsTotal, 4);
      assert.equal(result.cellsRun, 2);
      assert.equal(result.error?.cell, 2);
      assert.equal(result.error?.ename, 'ValueError');
      assert.equal(result.error?.evalue, 'first red problem');
      assert.match(result.error?.traceback ?? '', /ValueError: first red problem/);
      assert.doesNotMatch(result.error?.traceback ?? '', new RegExp(String.fromCharCode(27)), 'no ANSI escapes');
      // nothing spurious: no NameError of a cell that would have run after it
      assert.deepEqual(
        result.errors.map((e) => [e.cell, e.ename, e.expected]),
        [[2, 'ValueError', false]],
      );
      assert.match(result.message ?? '', /^cell 2: ValueError: first red problem$/);
      for (const i of [3, 4]) {
        assert.equal(artifact?.cells[i]?.execution_count, null, `cell ${i} not executed`);
        assert.deepEqual(artifact?.cells[i]?.outputs, [], `cell ${i} has no outputs`);
      }
      assert.deepEqual(
        events.filter((e) => e.event === 'cell').map((e) => e.index),
        [0, 2],
      );
    });

    test('failed: an expected error (raises-exception) does not stop, the next unexpected one does', async () => {
      const { result, artifact } = await executeOk('expected-then-failed.ipynb');
      assert.equal(result.status, 'failed');
      assert.equal(result.cellsRun, 3);
      assert.deepEqual(
        result.errors.map((e) => [e.cell, e.ename, e.expected]),
        [
          [0, 'KeyError', true],
          [2, 'ZeroDivisionError', false],
        ],
      );
      assert.equal(streamText(artifact?.cells[1]), 'after the expected error\n');
      assert.equal(artifact?.cells[3]?.execution_count, null, 'the cell after the unexpected error does not run');
    });

    test('timed_out: per-cell timeout stops execution', async () => {
      const { result, artifact } = await executeOk('cell-timeout.ipynb', { args: ['--cell-timeout', '2'] });
      assert.equal(result.status, 'timed_out');
      assert.equal(result.timedOutCell, 1);
      assert.equal(result.cellsRun, 2);
      assert.equal(result.error, null);
      assert.match(result.message ?? '', /cell 1 exceeded the cell timeout of 2s/);
      assert.equal(artifact?.cells[2]?.execution_count, null, 'cells after the timeout do not run');
    });

    test('timed_out: whole-notebook timeout bounds the remaining cells', async () => {
      const { result } = await executeOk('total-timeout.ipynb', { args: ['--timeout', '3', '--cell-timeout', '60'] });
      assert.equal(result.status, 'timed_out');
      assert.equal(result.timedOutCell, 2);
      assert.equal(result.cellsRun, 3);
      assert.match(result.message ?? '', /notebook timeout of 3s/);
    });

    test('kernel_died: the notebook kills its kernel', async () => {
      const { result, artifact } = await executeOk('kernel-died.ipynb');
      assert.equal(result.status, 'kernel_died');
      assert.equal(result.cellsRun, 2, 'died in the second cell, not at start-up');
      assert.match(result.message ?? '', /cell 1/);
      assert.equal(streamText(artifact?.cells[0]), 'before\n');
    });

    test('needs_input: input() fails at once with stdin disabled', async () => {
      const { result } = await executeOk('needs-input.ipynb');
      assert.equal(result.status, 'needs_input');
      assert.equal(result.error?.cell, 0);
      assert.equal(result.error?.ename, 'StdinNotImplementedError');
      assert.equal(result.cellsRun, 1, 'stops there: print(name) would only fail with a NameError');
    });

    test('no_such_kernel: unknown kernelspec name', async () => {
      const { result } = await executeOk('no-kernel.ipynb');
      assert.equal(result.status, 'no_such_kernel');
      assert.equal(result.kernel, 'no-such-kernel-xyz');
      assert.equal(result.cellsRun, 0);
      assert.match(result.message ?? '', /no-such-kernel-xyz/);
    });

    test('invalid_notebook: garbage JSON and schema violations, no kernel, no artifact', async () => {
      for (const rel of ['garbage.ipynb', 'schema-invalid.ipynb']) {
        const run = await executeOk(rel);
        assert.equal(run.result.status, 'invalid_notebook', rel);
        assert.equal(run.result.kernel, null);
        assert.equal(run.result.cellsRun, 0);
        assert.match(run.result.message ?? '', /invalid notebook/);
        assert.equal(run.artifact, null, 'no artifact');
        assert.ok(!run.events.some((e) => e.event === 'start'), 'no kernel started');
      }
    });
  });
