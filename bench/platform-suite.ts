/**
 * Benchmark: the real suite (a checkout of noaodatalab/notebooks-latest) with the platform's own
 * stack as the kernel, as the platform runs it, each figure beside its baselines in the same run:
 *
 * - nblc's whole test run (fork server, sandbox on), warm kernels with NBLC_KERNEL_PRELOAD and
 *   learned preloads, and cold (the same kernel as `-m ipykernel`, which nblc never forks: the
 *   CPU per notebook without preload);
 * - serial `jupyter nbconvert --to notebook --execute` of the same notebooks, same kernel;
 * - `pytest --nbmake -n 2` (nbmake with pytest-xdist), same kernel.
 *
 * The kernel is a venv built here from PyPI (astro-datalab, numpy, scipy, astropy, matplotlib,
 * pandas, scikit-learn, ipykernel; nbconvert, nbmake and pytest-xdist for the baselines), made
 * the `python3` kernelspec through JUPYTER_PATH. The measurements run in a network namespace of
 * their own with only loopback (re-executed under `unshare --net`), so the platform's services
 * are unreachable, as in the issue's figures. Heavy: a large PyPI install and ~15 CPU-minutes;
 * run it on an otherwise idle machine.
 *
 *   node --import tsx bench/platform-suite.ts --suite DIR [--venv .nblc/platform-venv] [--concurrency 2]
 *        [--notebooks 0 (all)] [--baselines nbconvert,nbmake]
 *
 * CPU s/nb: for the baselines, all their processes used (nbconvert or pytest and the kernels);
 * for nblc, the kernels' own (cpuSeconds of the results), warm against cold.
 *
 * DIR: e.g. `git --git-dir=<mirror of noaodatalab/notebooks-latest> archive HEAD | tar -x -C DIR`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { getRun, startTestRun } from '../src/clients/runs/client.js';
import { createUpstream } from '../src/demo/sample-repo.js';
import { querySync, signalSync } from '../src/clients/sync/client.js';
import { removeTree } from '../src/activities/files.js';
import type { TestReport } from '../src/domain/runs/model.js';
import { benchArgs, benchConfig, startBenchStack } from './setup.js';

const values = benchArgs({
  suite: undefined,
  venv: '.nblc/platform-venv',
  concurrency: '2',
  notebooks: '0',
  baselines: 'nbconvert,nbmake',
  inside: '0',
});
if (!values.suite) throw new Error('--suite DIR: a checkout of noaodatalab/notebooks-latest');
const SUITE = path.resolve(values.suite);
const VENV = path.resolve(values.venv!);
const PY = path.join(VENV, 'bin', 'python');
const STACK = ['astro-datalab', 'numpy', 'scipy', 'astropy', 'matplotlib', 'pandas', 'scikit-learn', 'ipykernel'];
const TOOLS = ['nbconvert', 'nbmake', 'pytest-xdist'];
const PRELOAD = '*=numpy,scipy,astropy.table,astropy.io.fits,matplotlib.pyplot,pandas,dl.queryClient';

// Outside: build the venv (PyPI), then run the rest again with only loopback.
if (values.inside !== '1') {
  if (!(await fs.stat(PY).catch(() => null))) {
    execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
    execFileSync(PY, ['-m', 'pip', 'install', '--quiet', ...STACK, ...TOOLS], { stdio: 'inherit' });
  }
  const args = [...process.argv.slice(1), '--inside', '1'];
  const inner = `ip link set lo up && exec ${[process.execPath, ...process.execArgv, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')}`;
  const r = spawnSync(
    'unshare',
    ['--net', ...(process.getuid?.() === 0 ? [] : ['--map-root-user']), 'sh', '-c', inner],
    {
      stdio: 'inherit',
    },
  );
  process.exit(r.status ?? 1);
}

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nblc-bench-platform-'));
/** Kernelspecs named `python3` (what the suite's notebooks name): warm (ipykernel_launcher) or cold. */
async function kernelspecs(cold: boolean): Promise<string> {
  const jp = path.join(dir, cold ? 'jupyter-cold' : 'jupyter');
  const spec = path.join(jp, 'kernels', 'python3');
  await fs.mkdir(spec, { recursive: true });
  const argv = [PY, '-m', cold ? 'ipykernel' : 'ipykernel_launcher', '-f', '{connection_file}'];
  await fs.writeFile(
    path.join(spec, 'kernel.json'),
    JSON.stringify({ argv, display_name: 'platform', language: 'python' }),
  );
  return jp;
}
const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString()) || 100;
/** CPU seconds of this process's finished children (nbconvert, pytest, their kernels): cutime + cstime. */
const childCpu = () => {
  const t = readFileSync('/proc/self/stat', 'utf8');
  const f = t.slice(t.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / TICKS;
};

try {
  const upstream = await createUpstream(path.join(dir, 'upstream'));
  await fs.cp(SUITE, upstream.workDir, { recursive: true, filter: (src) => !src.includes(`${path.sep}.git`) });
  const sha = await upstream.commit({}, 'the real suite');
  let nbs = execFileSync('git', ['-C', upstream.workDir, 'ls-files', '*.ipynb']).toString().split('\n').filter(Boolean);
  if (Number(values.notebooks) > 0) nbs = nbs.slice(0, Number(values.notebooks));
  const rows: Array<[string, number, number | null]> = [];

  const warm = await kernelspecs(false);
  const cold = await kernelspecs(true);
  const env = { ...process.env, JUPYTER_PATH: warm };
  if (values.baselines!.includes('nbconvert')) {
    const c0 = childCpu();
    const t0 = performance.now();
    for (const nb of nbs)
      spawnSync(
        PY,
        [
          '-m',
          'jupyter',
          'nbconvert',
          '--to',
          'notebook',
          '--execute',
          '--output-dir',
          path.join(dir, 'nbconvert'),
          path.join(upstream.workDir, nb),
        ],
        { env, stdio: 'ignore' },
      );
    rows.push(['serial nbconvert --execute', (performance.now() - t0) / 1000, (childCpu() - c0) / nbs.length]);
  }
  if (values.baselines!.includes('nbmake')) {
    const c0 = childCpu();
    const t0 = performance.now();
    spawnSync(PY, ['-m', 'pytest', '--nbmake', '-n', '2', '-q', ...nbs], {
      cwd: upstream.workDir,
      env,
      stdio: 'ignore',
    });
    rows.push(['pytest --nbmake -n 2', (performance.now() - t0) / 1000, (childCpu() - c0) / nbs.length]);
  }
  for (const [name, jp, preload] of [
    ['nblc, warm kernels (NBLC_KERNEL_PRELOAD + learned)', warm, PRELOAD],
    ['nblc, warm kernels (learned only)', warm, ''],
    ['nblc, cold kernels (no preload)', cold, ''],
  ] as const) {
    process.env.JUPYTER_PATH = jp;
    const config = benchConfig({
      NBLC_REPO_URL: upstream.url,
      NBLC_REPO_FULL_NAME: 'bench/platform',
      NBLC_DATA_DIR: path.join(dir, `data-${rows.length}`),
      NBLC_TEST_CONCURRENCY: values.concurrency,
      NBLC_KERNEL_PRELOAD: preload,
      NBLC_KERNEL_NETWORK: 'none',
      NBLC_CELL_TIMEOUT: '600',
    });
    const stack = await startBenchStack(config, { worker: true, api: false });
    try {
      const receivedAt = new Date().toISOString();
      await signalSync(stack.client, stack.config, {
        deliveryId: 'b',
        sha,
        before: null,
        pusher: 'bench',
        source: 'operator',
        receivedAt,
      });
      while ((await querySync(stack.client, stack.config))?.published?.sha !== sha)
        await new Promise((r) => setTimeout(r, 100));
      const t0 = performance.now();
      const started = await startTestRun(stack.client, stack.config, { kind: 'manual', paths: nbs });
      let state = await getRun(stack.client, started.runId);
      while (!state?.result) {
        await new Promise((r) => setTimeout(r, 500));
        state = await getRun(stack.client, started.runId);
      }
      const wall = (performance.now() - t0) / 1000;
      const report = JSON.parse(
        await fs.readFile(path.join(state.result.reportDir, 'report.json'), 'utf8'),
      ) as TestReport;
      const kernelCpu = report.notebooks.reduce((s, n) => s + (n.cpuSeconds ?? 0), 0) / report.notebooks.length;
      rows.push([name, wall, kernelCpu]);
    } finally {
      await stack.stop();
    }
  }
  const base = rows.find(([n]) => n.startsWith('serial'))?.[1];
  console.log(
    `\n${nbs.length} notebooks of the real suite, ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}\n`,
  );
  for (const [name, wall, c] of rows)
    console.log(
      `${name.padEnd(52)} ${wall.toFixed(1).padStart(8)} s ${base ? `${(wall / base).toFixed(2)}×` : ''} CPU s/nb ${c === null ? '–' : c.toFixed(2)}`,
    );
} finally {
  await removeTree(dir);
}
