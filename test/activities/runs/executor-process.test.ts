/**
 * The fork server's failure modes, with real processes: when it dies, its executors and their
 * kernels (and what a notebook started) die too, and the next notebook gets a new server.
 * What executors do once started is covered for both launch modes by test/system/python/executor.test.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { executorEnv, forkExecutor, forkServerFor } from '../../../src/activities/runs/executor-process.js';
import { prestartForkServer, serverOf } from '../../../src/activities/runs/executor.js';
import { PROJECT_ROOT } from '../../../src/platform/config.js';
import { testConfig, waitFor } from '../../helpers/fixtures.js';
import { notebookJson } from '../../helpers/notebooks.js';
import { isAlive } from '../../helpers/processes.js';
import { nameKernel, parentOf, pidsMarked } from '../../system/sandbox/host-processes.js';

const PYTHON = path.join(PROJECT_ROOT, '.venv', 'bin', 'python');
/** The long notebook's kernel and child, found from the host (they run in their own PID namespace). */
const MARKER = `nblcfs${process.pid}`;
let dir = '';

function writeNotebook(file: string, cells: string[]) {
  fs.writeFileSync(path.join(dir, file), notebookJson(cells));
}

const until = (what: string, cond: () => boolean) => waitFor(what, async () => cond(), 20_000);

async function run(socket: string, notebook: string, id: string) {
  return forkExecutor(
    socket,
    [
      '--notebook',
      path.join(dir, notebook),
      '--output',
      path.join(dir, `${id}.ipynb`),
      '--result',
      path.join(dir, `${id}.json`),
      '--scratch-root',
      dir,
    ],
    path.join(dir, `${id}.log`),
  );
}

describe('notebook fork server', { timeout: 120_000 }, () => {
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nblc-forkserver-'));
    writeNotebook('long.ipynb', [
      `${nameKernel(MARKER)}\nimport subprocess, sys\nchild = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', '${MARKER}'])`,
      'import time\ntime.sleep(300)',
    ]);
    writeNotebook('quick.ipynb', ['print(6 * 7)']);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('killed mid-notebook: executor, kernel and the notebook’s own processes end; the next notebook gets a new server', async () => {
    const server = forkServerFor(PYTHON);
    const socket = await server.socket();
    assert.ok(socket && server.pid);
    const first = server.pid;
    const proc = await run(socket, 'long.ipynb', 'long');
    let marked: number[] = [];
    await until('the notebook to start its processes', () => (marked = pidsMarked(MARKER)).length === 2);
    // the kernel and its child; above the kernel: the sandbox's supervisor, then the executor
    const kernel = marked.find((pid) => marked.includes(parentOf(pid)!) === false)!;
    const supervisor = parentOf(kernel)!;
    const pids = [...marked, supervisor, parentOf(supervisor)!];
    assert.equal(parentOf(parentOf(supervisor)!), first, 'the executor is a child of the fork server');
    assert.ok(pids.every(isAlive));

    process.kill(first, 'SIGKILL');
    await assert.rejects(proc.exited, /closed the connection/);
    await until('executor, supervisor, kernel and child to be gone', () => !pids.some(isAlive));

    await until('the dead server to be noticed', () => server.pid !== first);
    const again = await server.socket();
    assert.ok(again);
    assert.notEqual(server.pid, first);
    const next = await run(again, 'quick.ipynb', 'quick');
    assert.equal(await next.exited, 0, await next.stderr());
    const result = JSON.parse(fs.readFileSync(path.join(dir, 'quick.json'), 'utf8')) as { status: string };
    assert.equal(result.status, 'passed');
  });

  test("NBLC_SANDBOX=off: the CPU and memory of a kernel forked by its kernel server are measured (it is not the executor's child)", async () => {
    const socket = await forkServerFor(PYTHON).socket();
    assert.ok(socket);
    writeNotebook('busy.ipynb', [
      'import time\nt = time.process_time()\nwhile time.process_time() - t < 0.6:\n    pass',
      "import os\nblock = bytearray(64 << 20)\nprint(open(f'/proc/{os.getppid()}/cmdline').read().replace(chr(0), ' '))",
    ]);
    const proc = await forkExecutor(
      socket,
      ['--notebook', path.join(dir, 'busy.ipynb'), '--output', path.join(dir, 'busy-out.ipynb')].concat([
        '--result',
        path.join(dir, 'busy.json'),
        '--scratch-root',
        dir,
        '--sandbox',
        'off',
      ]),
      path.join(dir, 'busy.log'),
    );
    assert.equal(await proc.exited, 0, await proc.stderr());
    const result = JSON.parse(fs.readFileSync(path.join(dir, 'busy.json'), 'utf8'));
    assert.equal(result.status, 'passed');
    const out = fs.readFileSync(path.join(dir, 'busy-out.ipynb'), 'utf8');
    assert.match(out, /nblc_kernel_server\.py/, "the kernel's parent is its kernel server, not the executor");
    assert.ok(result.cpuSeconds >= 0.6, `cpuSeconds ${result.cpuSeconds}`);
    assert.ok(result.peakMemoryBytes >= 64 << 20, `peakMemoryBytes ${result.peakMemoryBytes}`);
    await proc.release();
  });

  test("a failing executor's stderr is there to read (its tail); release() removes the file", async () => {
    const socket = await forkServerFor(PYTHON).socket();
    assert.ok(socket);
    const proc = await forkExecutor(socket, ['--no-such-option'], path.join(dir, 'bad.log'));
    assert.notEqual(await proc.exited, 0);
    const stderr = await proc.stderr();
    assert.match(stderr, /nblc_execute.py: error: the following arguments are required/);
    assert.ok(stderr.length <= 8000);
    assert.ok(fs.existsSync(path.join(dir, 'bad.log')));
    await proc.release();
    assert.ok(!fs.existsSync(path.join(dir, 'bad.log')));
  });

  test('prestartForkServer: the worker starts the server its notebooks will use; spawn mode and a server that cannot start only log', async () => {
    const logged: string[] = [];
    const cfg = testConfig(dir, 'file:///nowhere', {
      NBLC_PYTHON: PYTHON,
      NBLC_EXECUTOR: 'fork',
      NBLC_KERNEL_ENV: 'PRESTART_TEST_FORK',
      PRESTART_TEST_FORK: '1',
    });
    const server = serverOf(cfg, executorEnv(cfg.env, cfg.sandbox.kernelEnv)); // the one startExecutor uses
    assert.equal(server.pid, undefined, 'no server for this environment yet');
    await prestartForkServer(cfg, (m) => logged.push(m));
    assert.ok(server.pid && isAlive(server.pid), 'started, and the one startExecutor finds');
    const socket = await server.socket();
    assert.ok(socket && fs.existsSync(socket));

    const spawnCfg = testConfig(dir, 'file:///nowhere', {
      NBLC_PYTHON: PYTHON,
      NBLC_EXECUTOR: 'spawn',
      NBLC_KERNEL_ENV: 'PRESTART_TEST_SPAWN',
      PRESTART_TEST_SPAWN: '1',
    });
    await prestartForkServer(spawnCfg, (m) => logged.push(m));
    assert.equal(serverOf(spawnCfg, executorEnv(spawnCfg.env, spawnCfg.sandbox.kernelEnv)).pid, undefined);

    const broken = testConfig(dir, 'file:///nowhere', {
      NBLC_PYTHON: path.join(dir, 'no-python'),
      NBLC_EXECUTOR: 'fork',
    });
    await prestartForkServer(broken, (m) => logged.push(m));
    assert.equal(logged.length, 1);
    assert.match(logged[0]!, /the notebook fork server did not start/);
    server.reset();
  });
});
