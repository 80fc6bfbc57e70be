// Warm kernels (python/nblc_kernel_server.py): a kernel forked from its kernelspec's kernel fork
// server, with numpy and matplotlib imported before the notebook started, is indistinguishable
// for the notebook from a kernel started fresh (spawn mode): random state, matplotlib's backend,
// figures and rcParams (a matplotlibrc beside the notebook), warnings filters, sys.path, working
// folder and environment. A second kernelspec whose argv names another Python (a venv made here)
// gets its own kernel server, running in that Python. Both sandboxed, as in production.
//   node --import tsx --test test/system/sandbox/warm-kernels.test.ts
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  executorEnv,
  forkExecutor,
  forkServerFor,
  spawnExecutor,
  type ExecutorProcess,
} from '../../../src/activities/runs/executor-process.js';
import { PROJECT_ROOT } from '../../../src/platform/config.js';
import { notebookJson } from '../../helpers/notebooks.js';
import { parentOf } from './host-processes.js';

const PYTHON = path.join(PROJECT_ROOT, '.venv', 'bin', 'python');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nblc-warm-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const VENV2 = path.join(dir, 'venv2');
const kernels = path.join(dir, 'jupyter', 'kernels');
const env = { ...executorEnv(process.env), JUPYTER_PATH: path.join(dir, 'jupyter') };
// Numpy and matplotlib for every kernelspec from the start (later notebooks would get them anyway)
const PRELOAD = '*=numpy,matplotlib.pyplot';
const PURELIB = 'import sysconfig; print(sysconfig.get_paths()["purelib"])';

// What the notebook reports about its kernel: before its own imports, then after them.
const PROBE = [
  'import sys\nwarm = sorted(m for m in ("numpy", "matplotlib", "matplotlib.pyplot") if m in sys.modules)',
  `import json, os, random, warnings
import numpy as np
import matplotlib
import matplotlib.pyplot as plt
draws = [random.random(), float(np.random.rand())]
random.seed(7); np.random.seed(7)
seeded = [random.random(), float(np.random.rand())]
backend_chosen = dict.__getitem__(matplotlib.rcParams, "backend")
report = {
  "warm": warm,
  "draws": draws,
  "seeded": seeded,
  "backend_before": str(backend_chosen),
  "backend": matplotlib.get_backend(),
  "figures": plt.get_fignums(),
  "linewidth": matplotlib.rcParams["lines.linewidth"],
  "configdir": matplotlib.get_configdir(),
  "filters": [[f[0], getattr(f[1], "pattern", f[1]), f[2].__name__, getattr(f[3], "pattern", f[3]), f[4]] for f in warnings.filters],
  "path": sys.path,
  "cwd": os.getcwd(),
  "env": {k: v for k, v in os.environ.items() if k != "JPY_PARENT_PID"},
  "executable": sys.executable,
  "mods": sorted(m for m in ("numpy.random", "matplotlib.pyplot", "matplotlib.backends") if m in sys.modules),
}
print("REPORT" + json.dumps(report))`,
];

function kernelspec(name: string, python: string) {
  fs.mkdirSync(path.join(kernels, name), { recursive: true });
  const argv = [python, '-m', 'ipykernel_launcher', '-f', '{connection_file}'];
  fs.writeFileSync(
    path.join(kernels, name, 'kernel.json'),
    JSON.stringify({ argv, display_name: name, language: 'python' }),
  );
}

before(() => {
  // Another Python: a venv of the base interpreter, which sees .venv's packages through a .pth
  execFileSync(PYTHON, ['-m', 'venv', '--without-pip', '--system-site-packages', VENV2]);
  const site = execFileSync(PYTHON, ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'])
    .toString()
    .trim();
  const site2 = execFileSync(path.join(VENV2, 'bin', 'python'), [
    '-c',
    'import sysconfig; print(sysconfig.get_paths()["purelib"])',
  ])
    .toString()
    .trim();
  fs.writeFileSync(path.join(site2, 'nblc-test.pth'), site + '\n');
  kernelspec('python3', PYTHON);
  kernelspec('venv2', path.join(VENV2, 'bin', 'python'));
  for (const name of ['python3', 'venv2']) {
    const folder = path.join(dir, 'snapshot', name);
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, 'probe.ipynb'), notebookJson(PROBE).replace('"python3"', JSON.stringify(name)));
    fs.writeFileSync(path.join(folder, 'matplotlibrc'), 'lines.linewidth: 7\n'); // read from the notebook's folder
  }
});

let runs = 0;
/** The executor's arguments for one notebook of the test's snapshot, its files under `out`. */
function executorArgs(notebook: string, out: string): string[] {
  const root = path.join(dir, 'snapshot');
  return ['--notebook', notebook, '--root', root, '--output', path.join(out, 'out.ipynb')].concat([
    '--result',
    path.join(out, 'r.json'),
    '--scratch-root',
    path.join(out, 'tmp'),
  ]);
}
async function run(kernel: string, mode: 'fork' | 'spawn'): Promise<Record<string, unknown>> {
  const out = path.join(dir, `out-${runs++}`);
  const args = executorArgs(path.join(dir, 'snapshot', kernel, 'probe.ipynb'), out);
  const proc: ExecutorProcess =
    mode === 'spawn'
      ? spawnExecutor(PYTHON, args, env)
      : await forkExecutor((await forkServerFor(PYTHON, env, PRELOAD).socket())!, args, path.join(dir, `${runs}.log`));
  assert.equal(await proc.exited, 0, await proc.stderr());
  const nb = JSON.parse(fs.readFileSync(path.join(out, 'out.ipynb'), 'utf8')) as {
    cells: Array<{ outputs: Array<{ text?: string; evalue?: string }> }>;
  };
  const text = nb.cells.flatMap((c) => c.outputs.map((o) => o.text ?? `error: ${o.evalue}`)).join('');
  const line = text.split('\n').find((l) => l.startsWith('REPORT'));
  assert.ok(line, `no report in the output: ${text}\n${await proc.stderr()}`);
  return JSON.parse(line.slice('REPORT'.length)) as Record<string, unknown>;
}

/** What must be equal between two kernels of the same kernelspec (all but the fresh draws). */
function comparable(report: Record<string, unknown>) {
  const { warm: _warm, draws: _draws, ...rest } = report;
  return rest;
}

describe('a forked warm kernel is a fresh kernel to its notebook', { timeout: 300_000, concurrency: 1 }, () => {
  for (const kernel of ['python3', 'venv2'])
    test(kernel, async () => {
      const fresh = await run(kernel, 'spawn');
      const forked = [await run(kernel, 'fork'), await run(kernel, 'fork')];
      assert.deepEqual(fresh.warm, [], 'a fresh kernel has not imported numpy');
      for (const f of forked) {
        assert.deepEqual(f.warm, ['matplotlib', 'matplotlib.pyplot', 'numpy'], 'preloaded in the kernel server');
        assert.deepEqual(comparable(f), comparable(fresh));
      }
      assert.equal(fresh.backend, 'module://matplotlib_inline.backend_inline');
      assert.equal(fresh.linewidth, 7);
      // Reseeded in each kernel: two forked kernels do not draw the same numbers
      const [a, b] = forked.map((f) => f.draws as number[]);
      assert.notEqual(a![0], b![0]);
      assert.notEqual(a![1], b![1]);
    });

  test('each kernelspec has its own kernel server, in its own Python', async () => {
    const forkServer = forkServerFor(PYTHON, env, PRELOAD).pid;
    const pythons: string[] = [];
    for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
      const argv = (() => {
        try {
          return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        } catch {
          return [];
        }
      })();
      if (argv[1]?.endsWith('nblc_kernel_server.py') && parentOf(Number(pid)) === forkServer) pythons.push(argv[0]!);
    }
    assert.deepEqual(pythons.sort(), [PYTHON, path.join(VENV2, 'bin', 'python')].sort());
  });
});

/**
 * Runs `notebook` (which prints its WARM line, then imports statistics last) through the fork
 * server of `serverEnv` until statistics showed as preloaded twice: the modules imported before
 * it were judged by then. Returns each run's WARM list.
 */
async function runsUntilLearned(notebook: string, name: string, serverEnv: NodeJS.ProcessEnv, preload: string) {
  const seen: string[] = [];
  for (let i = 0; i < 8 && seen.filter((w) => w.includes('statistics')).length < 2; i++) {
    const out = path.join(dir, `${name}-${i}`);
    const server = forkServerFor(PYTHON, serverEnv, preload);
    const proc = await forkExecutor(
      (await server.socket())!,
      executorArgs(notebook, out),
      path.join(dir, `${name}-${i}.log`),
    );
    assert.equal(await proc.exited, 0, await proc.stderr());
    const result = JSON.parse(fs.readFileSync(path.join(out, 'r.json'), 'utf8')) as { status: string };
    assert.equal(result.status, 'passed', JSON.stringify(result));
    seen.push(/WARM (\[[^\]]*\])/.exec(fs.readFileSync(path.join(out, 'out.ipynb'), 'utf8'))![1]!);
  }
  return seen;
}

describe('what cannot be preloaded safely is left out, never failing a notebook', { timeout: 300_000 }, () => {
  const marker = path.join(dir, 'imported-outside-the-sandbox');
  const learnEnv = { ...env, NBLC_TEST_MARK: 'learn' }; // another fork server: nothing preloaded yet
  const bad = '*=nosuch_module_nblc,this,sys.nope';
  test('a module beside the notebook, missing ones, one that prints', async () => {
    const folder = path.join(dir, 'snapshot', 'learn');
    fs.mkdirSync(folder, { recursive: true });
    // A notebook's own module: importing it in the kernel server would run it outside the sandbox
    fs.writeFileSync(
      path.join(folder, 'evil.py'),
      `try:\n    open(${JSON.stringify(marker)}, "w").write("escaped")\nexcept OSError:\n    pass  # in the sandbox\n`,
    );
    const cells = [
      'import sys\nprint("WARM", sorted(m for m in ("statistics", "evil") if m in sys.modules))',
      'import statistics, evil\nprint(statistics.mean([1, 2, 3]))',
    ];
    fs.writeFileSync(path.join(folder, 'learn.ipynb'), notebookJson(cells));
    const seen: string[] = [];
    for (let i = 0; i < 6 && !seen.includes('["statistics"]'); i++) {
      const out = path.join(dir, `learn-${i}`);
      const args = executorArgs(path.join(folder, 'learn.ipynb'), out);
      const server = forkServerFor(PYTHON, learnEnv, bad);
      const proc = await forkExecutor((await server.socket())!, args, path.join(dir, `learn-${i}.log`));
      assert.equal(await proc.exited, 0, await proc.stderr());
      const result = JSON.parse(fs.readFileSync(path.join(out, 'r.json'), 'utf8')) as { status: string };
      assert.equal(result.status, 'passed', JSON.stringify(result));
      const text = fs.readFileSync(path.join(out, 'out.ipynb'), 'utf8');
      seen.push(/WARM (\[[^\]]*\])/.exec(text)![1]!.replaceAll("'", '"').replaceAll(' ', ''));
    }
    assert.equal(seen[0], '[]', 'nothing preloaded before the first notebook');
    assert.deepEqual(seen.at(-1), '["statistics"]', `learned from the first notebook's imports: ${seen.join(' ')}`);
    assert.ok(!fs.existsSync(marker), "the notebook folder's module never ran outside the sandbox");
  });

  test('installed modules that open a network socket or run a program when imported are never preloaded', async () => {
    // Outside the sandbox such an import would reach the host's network: a listener here counts it
    let connections = 0;
    const listener = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const { port } = listener.address() as AddressInfo;
    try {
      const site2 = execFileSync(path.join(VENV2, 'bin', 'python'), ['-c', PURELIB])
        .toString()
        .trim();
      fs.writeFileSync(
        path.join(site2, 'warmtest_net.py'),
        `import socket\ntry:\n    socket.create_connection(("127.0.0.1", ${port}), timeout=2).close()\nexcept OSError:\n    pass\n`,
      );
      fs.writeFileSync(
        path.join(site2, 'warmtest_exec.py'),
        'import subprocess\ntry:\n    subprocess.run(["true"])\nexcept OSError:\n    pass\n',
      );
      const folder = path.join(dir, 'snapshot', 'netlearn');
      fs.mkdirSync(folder, { recursive: true });
      const cells = [
        'import sys\nprint("WARM", sorted(m for m in ("statistics", "warmtest_net", "warmtest_exec") if m in sys.modules))',
        'import statistics, warmtest_net, warmtest_exec',
      ];
      fs.writeFileSync(path.join(folder, 'n.ipynb'), notebookJson(cells).replace('"python3"', '"venv2"'));
      const seen = await runsUntilLearned(path.join(folder, 'n.ipynb'), 'netlearn', learnEnv, bad);
      // statistics (tried after the two) was preloaded: the two were tried, and left out
      assert.ok(seen.at(-1)!.includes('statistics'), `learned: ${seen.join(' ')}`);
      assert.ok(!seen.some((w) => w.includes('warmtest')), `never preloaded: ${seen.join(' ')}`);
      assert.equal(connections, 0, 'no import reached the host network from outside the sandbox');
    } finally {
      listener.close();
    }
  });
  test('a module that prints only the first time it is imported (a cache built) is preloaded; one that always prints is not', async () => {
    // matplotlib in a new HOME prints "building the font cache" once: a second trial must be quiet
    const site2 = execFileSync(path.join(VENV2, 'bin', 'python'), ['-c', PURELIB])
      .toString()
      .trim();
    const cache = path.join(dir, 'warmtest-once-cache');
    fs.writeFileSync(
      path.join(site2, 'warmtest_once.py'),
      `import os\nif not os.path.exists(${JSON.stringify(cache)}):\n    print("building a cache")\n    try:\n        open(${JSON.stringify(cache)}, "w").close()\n    except OSError:\n        pass  # in the sandbox\n`,
    );
    fs.writeFileSync(path.join(site2, 'warmtest_chatty.py'), 'print("hello from an import")\n');
    const folder = path.join(dir, 'snapshot', 'prints');
    fs.mkdirSync(folder, { recursive: true });
    const cells = [
      'import sys\nprint("WARM", sorted(m for m in ("statistics", "warmtest_once", "warmtest_chatty") if m in sys.modules))',
      'import warmtest_once, warmtest_chatty, statistics',
    ];
    fs.writeFileSync(path.join(folder, 'p.ipynb'), notebookJson(cells).replace('"python3"', '"venv2"'));
    const seen = await runsUntilLearned(
      path.join(folder, 'p.ipynb'),
      'prints',
      { ...env, NBLC_TEST_MARK: 'prints' },
      '',
    );
    // statistics, tried last, was preloaded: the two before it were judged by then
    assert.ok(seen.at(-1)!.includes('statistics'), `learned: ${seen.join(' ')}`);
    assert.ok(seen.at(-1)!.includes('warmtest_once'), `quiet the second time: preloaded (${seen.join(' ')})`);
    assert.ok(!seen.some((w) => w.includes('warmtest_chatty')), `always prints: never preloaded (${seen.join(' ')})`);
  });
});

describe('learned preloads survive a restart of the worker', { timeout: 300_000 }, () => {
  test('a new fork server (a restarted worker) preloads what the last one learned, before its first notebook', async () => {
    const learned = path.join(dir, 'data', 'kernel-preloads');
    const folder = path.join(dir, 'snapshot', 'restart');
    fs.mkdirSync(folder, { recursive: true });
    const cells = ['import sys\nprint("WARM", sorted(m for m in ("colorsys", "statistics") if m in sys.modules))'];
    cells.push('import statistics, colorsys\nprint(statistics.mean([1, 2]))');
    fs.writeFileSync(path.join(folder, 'r.ipynb'), notebookJson(cells));
    let runsHere = 0;
    const warmIn = async (mark: string) => {
      const out = path.join(dir, `restart-${runsHere++}`);
      const server = forkServerFor(PYTHON, { ...env, NBLC_TEST_MARK: mark }, '', learned);
      const args = executorArgs(path.join(folder, 'r.ipynb'), out);
      const proc = await forkExecutor((await server.socket())!, args, path.join(dir, `restart-${runsHere}.log`));
      assert.equal(await proc.exited, 0, await proc.stderr());
      const text = fs.readFileSync(path.join(out, 'out.ipynb'), 'utf8');
      return { server, warm: /WARM (\[[^\]]*\])/.exec(text)![1]!.replaceAll("'", '"').replaceAll(' ', '') };
    };
    // The first worker learns both from its notebooks (tried and imported after the first one).
    const first = await warmIn('before-restart');
    assert.equal(first.warm, '[]', 'nothing preloaded before the first notebook ever');
    let last = first.warm;
    for (let i = 0; i < 6 && last !== '["colorsys","statistics"]'; i++) last = (await warmIn('before-restart')).warm;
    assert.equal(last, '["colorsys","statistics"]', 'learned from the notebook');
    const files = fs.readdirSync(learned).filter((n) => n.endsWith('.json'));
    assert.equal(files.length, 1, `one file for the python3 kernelspec: ${files.join(' ')}`);
    const kept = JSON.parse(fs.readFileSync(path.join(learned, files[0]!), 'utf8')) as string[];
    assert.ok(kept.includes('statistics') && kept.includes('colorsys'), `kept: ${kept.join(' ')}`);
    first.server.reset(); // the worker stops: its fork server and kernel servers end

    // Another fork server (the restarted worker's): warm from its very first notebook.
    const after = await warmIn('after-restart');
    assert.equal(after.warm, '["colorsys","statistics"]', 'preloaded before the first notebook after the restart');
    after.server.reset();
  });
});
