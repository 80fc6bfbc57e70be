/**
 * Running python/nblc_execute.py as the activity does (spawned, or forked by the fork server) on
 * notebooks of a read-only tree like the published cache, and collecting all it produced.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import {
  forkExecutor,
  forkServerFor,
  spawnExecutor,
  type ExecutorProcess,
} from '../../src/activities/runs/executor-process.js';
import type { ExecutorResult } from '../../src/domain/runs/model.js';
import { isAlive } from './processes.js';
import { nameKernel } from '../system/sandbox/host-processes.js';

export const REPO = path.resolve(import.meta.dirname, '../..');
/** The interpreter of the project's environment, which workers run the executor with. */
export const PYTHON = path.join(REPO, '.venv/bin/python');

/** What the executor writes as its result (the activity reads the same type). */
export type Result = ExecutorResult;
export interface Cell {
  cell_type: string;
  source: string;
  metadata: { tags?: string[] };
  outputs?: Array<{ output_type: string; text?: string; ename?: string }>;
  execution_count?: number | null;
}
export interface Notebook {
  cells: Cell[];
  metadata: Record<string, unknown>;
}

type CellSpec = string | { source: string; tags?: string[]; markdown?: boolean };

export let root = '';
export let cache = '';
/** Marks the sigterm notebook's processes, which the test finds in the host's /proc (they run in their own PID namespace). */
export const MARKER = `nblcsig${process.pid}`;

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

export interface Run {
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
export let mode: 'spawn' | 'fork' = 'spawn';

/**
 * Starts the executor the way the activity does: spawned, or forked by the fork server (one per
 * environment, as on a worker). `env`: the executor's environment (the activity's by default).
 */
export async function launchExecutor(
  launch: 'spawn' | 'fork',
  args: string[],
  stderrFile: string,
  env?: NodeJS.ProcessEnv,
): Promise<ExecutorProcess> {
  if (launch === 'spawn') return spawnExecutor(PYTHON, args, env);
  const socket = await forkServerFor(PYTHON, env).socket();
  assert.ok(socket, 'the fork server started');
  return forkExecutor(socket, args, stderrFile);
}

/** Runs the executor to its end, which must be exit 0 (a notebook's own failure is a result). */
export async function executeToEnd(
  launch: 'spawn' | 'fork',
  args: string[],
  stderrFile: string,
  env?: NodeJS.ProcessEnv,
): Promise<ExecutorProcess> {
  const proc = await launchExecutor(launch, args, stderrFile, env);
  assert.equal(await proc.exited, 0, await proc.stderr());
  return proc;
}

/** Runs the executor on a notebook of the cache and collects everything it produced. */
export async function execute(rel: string, opts: RunOptions = {}): Promise<Run> {
  const id = `run${++runCounter}`;
  const output = path.join(root, 'out', id, 'executed.ipynb');
  const result = path.join(root, 'out', id, 'result.json');
  const scratchRoot = path.join(root, 'scratch', id);
  fs.mkdirSync(scratchRoot, { recursive: true });
  fs.mkdirSync(path.join(root, 'out'), { recursive: true });
  const args = [
    ...['--notebook', path.join(cache, rel), '--output', output, '--result', result],
    ...['--scratch-root', scratchRoot, '--root', cache, ...(opts.args ?? [])],
  ];
  const proc = await launchExecutor(mode, args, path.join(root, 'out', `${id}.stderr`));
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
export async function executeOk(rel: string, opts: RunOptions = {}): Promise<Run & { result: Result }> {
  const run = await execute(rel, opts);
  assert.equal(run.code, 0, `executor exit code (stderr: ${run.stderr})`);
  assert.ok(run.result, 'result written');
  assert.deepEqual(run.scratchLeft, [], 'scratch directory removed');
  assert.equal(run.events.at(-1)?.event, 'done');
  assert.equal(run.events.at(-1)?.status, run.result.status);
  return run as Run & { result: Result };
}

export function streamText(cell: Cell | undefined): string {
  return (cell?.outputs ?? [])
    .filter((o) => o.output_type === 'stream')
    .map((o) => o.text ?? '')
    .join('');
}

export const processGone = (pid: number) => !isAlive(pid);

export async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

/**
 * Before the enclosing describe's tests: the notebooks of the executor tests in a read-only tree,
 * run with `launch`; after them, the tree removed.
 */
export function useExecutorNotebooks(launch: 'spawn' | 'fork'): void {
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
}
