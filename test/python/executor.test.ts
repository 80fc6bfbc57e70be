// Tests for python/nblc_execute.py, the child process that executes one notebook.
// Every test runs the real executor with a real ipykernel against notebooks kept in a
// read-only tree (like the published cache). Run from the repository root:
//   node --import tsx --test test/python/executor.test.ts
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  forkExecutor,
  forkServerFor,
  spawnExecutor,
  type ExecutorProcess,
} from '../../src/activities/runs/executor-process.js';
import { isAlive } from '../helpers/processes.js';
import { nameKernel, pidsMarked } from '../sandbox/host-processes.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const PYTHON = path.join(REPO, '.venv/bin/python');

interface ErrorInfo {
  cell: number;
  ename: string;
  evalue: string;
  traceback: string;
}
interface Result {
  status: string;
  durationMs: number;
  kernel: string | null;
  cellsTotal: number;
  cellsRun: number;
  error: ErrorInfo | null;
  errors: Array<ErrorInfo & { expected: boolean }>;
  timedOutCell: number | null;
  message: string | null;
}
interface Cell {
  cell_type: string;
  source: string;
  metadata: { tags?: string[] };
  outputs?: Array<{ output_type: string; text?: string; ename?: string }>;
  execution_count?: number | null;
}
interface Notebook {
  cells: Cell[];
  metadata: Record<string, unknown>;
}

type CellSpec = string | { source: string; tags?: string[]; markdown?: boolean };

let root = '';
let cache = '';
/** Marks the sigterm notebook's processes, which the test finds in the host's /proc (they run in their own PID namespace). */
const MARKER = `nblcsig${process.pid}`;

/** Writes an nbformat 4.5 notebook (relative to the cache dir). kernel null: no kernelspec. */
function writeNotebook(rel: string, cells: CellSpec[], kernel: string | null = 'python3'): void {
  const file = path.join(cache, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: kernel === null ? {} : { kernelspec: { name: kernel, display_name: kernel, language: 'python' } },
    cells: cells.map((spec, i) => {
      const c = typeof spec === 'string' ? { source: spec } : spec;
      const base = { id: `cell-${i}`, source: c.source, metadata: c.tags ? { tags: c.tags } : {} };
      return 'markdown' in c && c.markdown
        ? { ...base, cell_type: 'markdown' }
        : { ...base, cell_type: 'code', execution_count: null, outputs: [] };
    }),
  };
  fs.writeFileSync(file, JSON.stringify(nb, null, 1));
}

function writeFile(rel: string, text: string): void {
  const file = path.join(cache, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

interface Run {
  code: number | null;
  events: Array<Record<string, unknown>>;
  stderr: string;
  result: Result | null;
  artifact: Notebook | null;
  artifactText: string | null;
  scratchLeft: string[];
}

interface RunOptions {
  args?: string[];
  /** called with each parsed stdout event as it arrives, and a way to signal the executor */
  onEvent?: (event: Record<string, unknown>, kill: (signal: NodeJS.Signals) => void) => void;
}

let runCounter = 0;
let spawnedSysPath: string[] | undefined;
let mode: 'spawn' | 'fork' = 'spawn';

/** Starts the executor the way the activity does: spawned, or forked by the fork server. */
async function start(args: string[], stderrFile: string): Promise<ExecutorProcess> {
  if (mode === 'spawn') return spawnExecutor(PYTHON, args);
  const socket = await forkServerFor(PYTHON).socket();
  assert.ok(socket, 'the fork server started');
  return forkExecutor(socket, args, stderrFile);
}

/** Runs the executor on a notebook of the cache and collects everything it produced. */
async function execute(rel: string, opts: RunOptions = {}): Promise<Run> {
  const id = `run${++runCounter}`;
  const output = path.join(root, 'out', id, 'executed.ipynb');
  const result = path.join(root, 'out', id, 'result.json');
  const scratchRoot = path.join(root, 'scratch', id);
  fs.mkdirSync(scratchRoot, { recursive: true });
  fs.mkdirSync(path.join(root, 'out'), { recursive: true });
  const proc = await start(
    [
      '--notebook',
      path.join(cache, rel),
      '--output',
      output,
      '--result',
      result,
      '--scratch-root',
      scratchRoot,
      '--root',
      cache,
      ...(opts.args ?? []),
    ],
    path.join(root, 'out', `${id}.stderr`),
  );
  const events: Array<Record<string, unknown>> = [];
  proc.onLine((line) => {
    // the stdout contract: nothing but JSON event lines
    const event = JSON.parse(line) as Record<string, unknown>;
    events.push(event);
    opts.onEvent?.(event, (signal) => proc.kill(signal));
  });
  const code = await proc.exited;
  const artifactText = fs.existsSync(output) ? fs.readFileSync(output, 'utf8') : null;
  return {
    code,
    events,
    stderr: await proc.stderr(),
    result: fs.existsSync(result) ? (JSON.parse(fs.readFileSync(result, 'utf8')) as Result) : null,
    artifact: artifactText === null ? null : (JSON.parse(artifactText) as Notebook),
    artifactText,
    scratchLeft: fs.readdirSync(scratchRoot),
  };
}

/** Runs and checks what holds for every run that writes a result. */
async function executeOk(rel: string, opts: RunOptions = {}): Promise<Run & { result: Result }> {
  const run = await execute(rel, opts);
  assert.equal(run.code, 0, `executor exit code (stderr: ${run.stderr})`);
  assert.ok(run.result, 'result written');
  assert.deepEqual(run.scratchLeft, [], 'scratch directory removed');
  assert.equal(run.events.at(-1)?.event, 'done');
  assert.equal(run.events.at(-1)?.status, run.result.status);
  return run as Run & { result: Result };
}

function streamText(cell: Cell | undefined): string {
  return (cell?.outputs ?? [])
    .filter((o) => o.output_type === 'stream')
    .map((o) => o.text ?? '')
    .join('');
}

const processGone = (pid: number) => !isAlive(pid);

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

for (const launch of ['spawn', 'fork'] as const)
  describe(`nblc_execute.py (${launch})`, { concurrency: 2, timeout: 120_000 }, () => {
    before(() => {
      mode = launch;
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'nblc-executor-test-'));
      cache = path.join(root, 'cache');
      fs.mkdirSync(cache);

      writeNotebook('passed.ipynb', [
        { source: '# Title', markdown: true },
        'x = 21',
        'print(x * 2)',
        { source: '', tags: [] }, // empty code cell: not run
      ]);
      writeNotebook('failed.ipynb', [
        'a = 1',
        { source: 'Some text', markdown: true },
        "raise ValueError('first \\x1b[31mred\\x1b[0m problem')",
        "print('still running')",
        'undefined_name',
      ]);
      writeNotebook('cell-timeout.ipynb', ['x = 1', 'import time\ntime.sleep(30)', "print('never')"]);
      writeNotebook('total-timeout.ipynb', [
        'import time\ntime.sleep(1)',
        'time.sleep(1)',
        'time.sleep(30)',
        "print('never')",
      ]);
      writeNotebook('kernel-died.ipynb', ["print('before')", 'import os\nos._exit(1)', "print('after')"]);
      writeNotebook('needs-input.ipynb', ["name = input('Your name? ')", 'print(name)']);
      writeNotebook('no-kernel.ipynb', ['1 + 1'], 'no-such-kernel-xyz');
      writeFile('garbage.ipynb', '{"cells": [ this is not json');
      writeFile(
        'schema-invalid.ipynb',
        JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [{ cell_type: 'code' }] }),
      );

      writeFile('io/data.csv', 'a,b\n1,2\n');
      writeFile('io/sub/info.txt', 'from a subdirectory\n');
      writeNotebook('io/read.ipynb', [
        "print(open('data.csv').read().splitlines()[1])",
        "print(open('sub/info.txt').read().strip())",
      ]);
      writeNotebook('io/write.ipynb', [
        'import os\nprint(os.getcwd())',
        "open('data.csv', 'w').write('overwritten\\n')\nprint(open('data.csv').read().strip())",
        "open('new-file.txt', 'w').write('hello')\nprint(open('new-file.txt').read())",
      ]);

      writeNotebook('raises-exception.ipynb', [
        { source: "raise KeyError('expected')", tags: ['raises-exception'] },
        "print('ok')",
      ]);
      writeNotebook('expected-then-failed.ipynb', [
        { source: "raise KeyError('expected')", tags: ['raises-exception'] },
        "print('after the expected error')",
        '1 / 0',
        "print('never')",
      ]);
      writeNotebook('skip-execution.ipynb', [
        { source: "raise SystemExit('must not run')", tags: ['skip-execution'] },
        "print('ran')",
      ]);
      writeNotebook('no-kernelspec.ipynb', ['import sys\nprint(sys.version_info[0])'], null);
      writeNotebook('deep/dir/Données été.ipynb', ["print(open('été.txt', encoding='utf-8').read())"]);
      writeFile('deep/dir/été.txt', 'bonjour été');

      writeNotebook('prerun.ipynb', [
        { source: 'Uses the login', markdown: true },
        'print(len(SECRET_TOKEN))',
        "raise ValueError('after login')",
      ]);
      writeFile('../prerun-ok.py', "SECRET_TOKEN = 'tok-123'\nprint('logged in as tok-123')\n");
      writeFile('../prerun-fail.py', "raise RuntimeError('login failed')\n");

      writeNotebook('fresh.ipynb', [
        "import builtins, json, os, random, sys\nassert not hasattr(builtins, 'nblc_leak'), 'state from another kernel'\nbuiltins.nblc_leak = 1",
        "print(json.dumps({'random': random.random(), 'pid': os.getpid(), 'leader': os.getpgid(0) == os.getpid(), 'cwd': os.getcwd(), 'path': sys.path, 'ours': [m for m in sys.modules if m.startswith('nblc')], 'main': __name__}))",
      ]);
      writeNotebook('sigterm.ipynb', [
        [
          nameKernel(MARKER),
          'import subprocess, sys',
          `child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', '${MARKER}'])`,
        ].join('\n'),
        'import time\ntime.sleep(120)',
      ]);

      // mimic the published cache: read-only directories and files
      const makeReadOnly = (p: string): void => {
        const st = fs.lstatSync(p);
        if (st.isDirectory()) {
          for (const name of fs.readdirSync(p)) makeReadOnly(path.join(p, name));
          fs.chmodSync(p, 0o555);
        } else if (st.isFile()) fs.chmodSync(p, 0o444);
      };
      makeReadOnly(cache);
    });

    after(() => {
      fs.chmodSync(cache, 0o755); // rm -r needs writable directories when not root
      const makeWritable = (p: string): void => {
        if (!fs.lstatSync(p).isDirectory()) return;
        fs.chmodSync(p, 0o755);
        for (const name of fs.readdirSync(p)) makeWritable(path.join(p, name));
      };
      makeWritable(cache);
      fs.rmSync(root, { recursive: true, force: true });
    });

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
