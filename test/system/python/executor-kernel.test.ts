// python/nblc_execute.py and the kernel it starts: the notebook's files and a scratch working
// directory, cell tags, kernelspecs, odd paths, a fresh kernel each time, prerun code, SIGTERM.
// Real executor, real ipykernel, a read-only tree like the published cache, spawned and forked:
//   node --import tsx --test test/system/python/executor-kernel.test.ts
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  cache,
  execute,
  executeOk,
  MARKER,
  mode,
  processGone,
  REPO,
  root,
  streamText,
  useExecutorNotebooks,
  waitFor,
} from '../../helpers/executor.js';
import { pidsMarked } from '../sandbox/host-processes.js';

/** sys.path of a spawned kernel, which a forked one must have too (spawn runs first). */
let spawnedSysPath: string[] | undefined;

for (const launch of ['spawn', 'fork'] as const)
  describe(`nblc_execute.py (${launch})`, { concurrency: 2, timeout: 120_000 }, () => {
    useExecutorNotebooks(launch);

    test('reads a data file and a subdirectory next to the notebook', async () => {
      const { result, artifact } = await executeOk('io/read.ipynb');
      assert.equal(result.status, 'passed', result.message ?? '');
      assert.equal(streamText(artifact?.cells[0]), '1,2\n');
      assert.equal(streamText(artifact?.cells[1]), 'from a subdirectory\n');
    });

    test('writes in its working directory, a scratch copy: the read-only source stays untouched', async () => {
      const { result, artifact } = await executeOk('io/write.ipynb');
      assert.equal(result.status, 'passed', JSON.stringify(result.errors));
      // the sandbox shows the notebook's folder where it is in the snapshot (a private copy)
      assert.equal(streamText(artifact?.cells[0]).trim(), '/nblc/notebooks/io');
      assert.equal(streamText(artifact?.cells[1]), 'overwritten\n');
      assert.equal(streamText(artifact?.cells[2]), 'hello\n');
      assert.equal(fs.readFileSync(path.join(cache, 'io/data.csv'), 'utf8'), 'a,b\n1,2\n');
      assert.ok(!fs.existsSync(path.join(cache, 'io/new-file.txt')));
    });

    test('raises-exception: an expected error does not fail the notebook', async () => {
      const { result, artifact } = await executeOk('raises-exception.ipynb');
      assert.equal(result.status, 'passed');
      assert.equal(result.error, null);
      assert.deepEqual(
        result.errors.map((e) => [e.cell, e.ename, e.expected]),
        [[0, 'KeyError', true]],
      );
      assert.equal(streamText(artifact?.cells[1]), 'ok\n');
    });

    test('skip-execution: the tagged cell is not run', async () => {
      const { result, artifact } = await executeOk('skip-execution.ipynb');
      assert.equal(result.status, 'passed');
      assert.equal(result.cellsTotal, 2);
      assert.equal(result.cellsRun, 1);
      assert.deepEqual(artifact?.cells[0]?.outputs, []);
      assert.equal(streamText(artifact?.cells[1]), 'ran\n');
    });

    test('no kernelspec: runs with the default kernel', async () => {
      const { result, artifact } = await executeOk('no-kernelspec.ipynb', { args: ['--default-kernel', 'python3'] });
      assert.equal(result.status, 'passed');
      assert.equal(result.kernel, 'python3');
      assert.equal(streamText(artifact?.cells[0]), '3\n');
    });

    test('path with spaces and unicode', async () => {
      const { result, artifact } = await executeOk('deep/dir/Données été.ipynb');
      assert.equal(result.status, 'passed', result.message ?? '');
      assert.equal(streamText(artifact?.cells[0]), 'bonjour été\n');
    });

    test('every kernel is fresh and started like `python -m ipykernel_launcher` in its scratch directory', async () => {
      const runs = [await executeOk('fresh.ipynb'), await executeOk('fresh.ipynb')];
      const seen = runs.map((run) => {
        assert.equal(run.result.status, 'passed', run.result.message ?? '');
        return JSON.parse(streamText(run.artifact?.cells[1])) as Record<string, unknown>;
      });
      for (const s of seen) {
        assert.equal(s.leader, true, 'the kernel leads its own process group');
        assert.equal(s.cwd, '/nblc/notebooks', 'the notebook’s folder as the sandbox shows it');
        const sysPath = (s.path as string[]).map((p) => (p === s.cwd ? '<cwd>' : p));
        assert.ok(!sysPath.includes(path.join(REPO, 'python')), 'the executor folder is not importable');
        if (mode === 'spawn') spawnedSysPath = sysPath;
        else assert.deepEqual(sysPath, spawnedSysPath, 'sys.path is the one of a spawned kernel');
        assert.deepEqual(s.ours, [], 'no executor module in the kernel');
        assert.equal(s.main, '__main__');
      }
      for (const s of seen) assert.equal(s.pid, 1, 'each kernel is PID 1 of its own PID namespace');
      assert.notEqual(seen[0]!.random, seen[1]!.random, 'each kernel has its own random state');
    });

    test('prerun: injected first, hidden from the artifact, original cell indexes', async () => {
      const { result, artifact, artifactText, events } = await executeOk('prerun.ipynb', {
        args: ['--prerun', path.join(root, 'prerun-ok.py')],
      });
      assert.equal(result.status, 'failed');
      assert.equal(result.cellsTotal, 2);
      assert.equal(result.cellsRun, 2);
      assert.equal(result.error?.cell, 2);
      assert.equal(result.error?.evalue, 'after login');
      assert.equal(artifact?.cells.length, 3);
      assert.equal(artifact?.cells[0]?.cell_type, 'markdown');
      assert.equal(streamText(artifact?.cells[1]), '7\n');
      assert.equal(artifact?.cells[1]?.execution_count, 1);
      assert.doesNotMatch(artifactText ?? '', /tok-123|logged in/);
      assert.deepEqual(
        events.filter((e) => e.event === 'cell').map((e) => e.index),
        [-1, 1, 2],
      );
    });

    test('prerun failure: failed with error cell -1, the notebook does not run', async () => {
      const { result, artifact } = await executeOk('prerun.ipynb', {
        args: ['--prerun', path.join(root, 'prerun-fail.py')],
      });
      assert.equal(result.status, 'failed');
      assert.equal(result.error?.cell, -1);
      // a prerun's exception message may quote a credential: only its name is reported
      assert.equal(result.error?.ename, 'RuntimeError');
      assert.equal(result.error?.evalue, '');
      assert.equal(result.error?.traceback, 'RuntimeError', 'prerun source not quoted');
      assert.equal(result.message, 'prerun cell: RuntimeError');
      assert.doesNotMatch(JSON.stringify(result), /login failed/);
      assert.equal(result.cellsRun, 0);
      assert.equal(artifact?.cells.length, 3);
      assert.doesNotMatch(JSON.stringify(artifact), /login failed/);
    });

    test('SIGTERM during a long cell: prompt exit, no kernel left, scratch removed, no result', async () => {
      let signalled = false;
      let pids: number[] = [];
      const run = await execute('sigterm.ipynb', {
        onEvent: (event, kill) => {
          // cell 0 named the kernel and started its child, so both exist once cell 1 starts
          if (event.event === 'cell' && event.index === 1) {
            void waitFor(() => (pids = pidsMarked(MARKER)).length === 2, 10_000).then(() => {
              signalled = true;
              kill('SIGTERM');
            });
          }
        },
      });
      assert.ok(signalled, `SIGTERM was sent (stderr: ${run.stderr})`);
      assert.equal(run.code, 143);
      assert.equal(run.result, null, 'no result written');
      assert.deepEqual(run.events.at(-1), { event: 'done', status: 'cancelled' });
      assert.deepEqual(run.scratchLeft, [], 'scratch directory removed');
      assert.equal(pids.length, 2, 'the kernel and its child were found');
      for (const pid of pids) {
        assert.ok(await waitFor(() => processGone(pid), 5000), `process ${pid} is gone`);
      }
    });
  });
