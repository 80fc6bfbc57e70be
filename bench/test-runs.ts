/**
 * Benchmark: N trivial notebooks through the whole test-run path (start run → report written),
 * against the original method (a serial loop of `jupyter nbconvert --to notebook --execute`),
 * side by side in one run on this machine.
 *
 * Each concurrency is measured with the fork server (NBLC_EXECUTOR=fork, the default) and with
 * --executors also naming `spawn`, a new Python per notebook; each with the sandbox on (the
 * default) and, with --sandbox naming `off`, unsandboxed, so its cost shows in the same run.
 * CPU per notebook: `all` is everything this process and its children used (worker, embedded
 * Temporal, fork server, executors, kernels), measured in a cgroup of its own when it can make
 * one (root); `kernel` is the notebooks' own (cpuSeconds in their results).
 *
 *   node --import tsx bench/test-runs.ts [--notebooks 60] [--concurrency 2,4,8] [--executors fork,spawn]
 *                                        [--sandbox on,off]
 */
import { execFileSync } from 'node:child_process';
import { rmdirSync, writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { getRun, startTestRun } from '../src/clients/runs/client.js';
import { createUpstream, notebook } from '../src/demo/sample-repo.js';
import { querySync, signalSync } from '../src/clients/sync/client.js';
import { removeTree } from '../src/activities/files.js';
import type { TestReport } from '../src/domain/runs/model.js';
import { benchArgs, benchConfig, startBenchStack } from './setup.js';

const values = benchArgs({
  notebooks: '60',
  concurrency: '2,4,8',
  executors: 'fork,spawn',
  sandbox: 'on,off',
  // NBLC_KERNEL_NETWORK of the runs: `outbound` (the default) or `none`, or both.
  network: 'outbound',
  // `off`: nblc only (comparing nblc's variants quickly; no ratio then).
  baseline: 'on',
});
const networks = values.network.split(',');
const sandboxes = values.sandbox.split(',') as Array<'on' | 'off'>;
const executors = values.executors.split(',') as Array<'fork' | 'spawn'>;
const N = Number(values.notebooks);
const concurrencies = values.concurrency.split(',').map(Number);
const root = path.resolve(import.meta.dirname, '..');
const jupyter = path.join(root, '.venv', 'bin', 'jupyter');

/**
 * CPU seconds used so far by this process and all its descendants (notebook cgroups nest below
 * its own): a cgroup made for the bench (v1 cpuacct, or v2 when delegated); null without one.
 */
async function benchCpu(): Promise<() => Promise<number | null>> {
  const own = await fs.readFile('/proc/self/cgroup', 'utf8').catch(() => '');
  const v1 = /^\d+:[^:]*\bcpuacct\b[^:]*:(.*)$/m.exec(own)?.[1];
  const v2 = /^0::(.*)$/m.exec(own)?.[1];
  const candidates = [
    ...(v1 !== undefined ? [{ dir: path.join('/sys/fs/cgroup/cpuacct', v1), file: 'cpuacct.usage', scale: 1e-9 }] : []),
    ...(v2 !== undefined ? [{ dir: path.join('/sys/fs/cgroup', v2), file: 'cpu.stat', scale: 1e-6 }] : []),
  ];
  for (const c of candidates) {
    const mine = path.join(c.dir, `nblc-bench-${process.pid}`);
    try {
      await fs.mkdir(mine);
      await fs.writeFile(path.join(mine, 'cgroup.procs'), String(process.pid));
      process.on('exit', () => {
        try {
          writeFileSync(path.join(c.dir, 'cgroup.procs'), String(process.pid)); // out, then remove it
          rmdirSync(mine);
        } catch {
          // a leftover empty cgroup; harmless
        }
      });
      return async () => {
        const text = await fs.readFile(path.join(mine, c.file), 'utf8');
        return Number(/usage_usec (\d+)/.exec(text)?.[1] ?? text) * c.scale;
      };
    } catch {
      await fs.rmdir(mine).catch(() => undefined);
    }
  }
  return async () => null;
}
const cpuNow = await benchCpu();
const perNotebook = (a: number | null, b: number | null) => (a === null || b === null ? null : (b - a) / N);

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nblc-bench-runs-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
try {
  const upstream = await createUpstream(path.join(dir, 'upstream'));
  const files: Record<string, string> = {};
  for (let i = 0; i < N; i++)
    files[`suite/Notebook ${String(i).padStart(3, '0')}.ipynb`] = notebook([`x = ${i}`, 'print(x * 2)']);
  const sha = await upstream.commit(files);

  // Baseline: the original script's method, one nbconvert process per notebook, serially.
  const baseDir = path.join(dir, 'baseline');
  await fs.cp(path.join(upstream.workDir, 'suite'), baseDir, { recursive: true });
  const t0 = performance.now();
  const c0 = await cpuNow();
  for (const f of values.baseline === 'off' ? [] : (await fs.readdir(baseDir)).sort()) {
    execFileSync(
      jupyter,
      ['nbconvert', '--to', 'notebook', '--execute', '--output', f.replace('.ipynb', '_tested'), path.join(baseDir, f)],
      { stdio: 'ignore' },
    );
  }
  const baseline = (performance.now() - t0) / 1000;

  type Row = [name: string, wall: number, cpu: number | null, kernelCpu: number | null];
  const rows: Row[] =
    values.baseline === 'off'
      ? []
      : [['serial nbconvert --execute (baseline)', baseline, perNotebook(c0, await cpuNow()), null]];
  for (const executor of executors)
    for (const concurrency of concurrencies)
      for (const sandbox of sandboxes)
        for (const network of networks) {
          const config = benchConfig({
            NBLC_KERNEL_NETWORK: network,
            NBLC_REPO_URL: upstream.url,
            NBLC_REPO_FULL_NAME: 'bench/runs',
            NBLC_DATA_DIR: path.join(dir, `data-${executor}-${concurrency}-${sandbox}-${network}`),
            NBLC_EXECUTOR: executor,
            NBLC_SANDBOX: sandbox,
            NBLC_TEST_CONCURRENCY: String(concurrency),
          });
          const stack = await startBenchStack(config, { worker: true, api: false });
          try {
            await signalSync(stack.client, stack.config, {
              deliveryId: 'bench',
              sha,
              before: null,
              pusher: 'bench',
              source: 'operator',
              receivedAt: new Date().toISOString(),
            });
            while ((await querySync(stack.client, stack.config))?.published?.sha !== sha) await sleep(100);
            const t1 = performance.now();
            const c1 = await cpuNow();
            const started = await startTestRun(stack.client, stack.config, { kind: 'manual' });
            let state = await getRun(stack.client, started.runId);
            while (!state?.result) {
              if (state && state.status !== 'RUNNING') throw new Error(`run ${state.status}: ${state.error}`);
              await sleep(100);
              state = await getRun(stack.client, started.runId);
            }
            const took = (performance.now() - t1) / 1000;
            const cpuAll = perNotebook(c1, await cpuNow());
            if (state.result.counts.passed !== N)
              throw new Error(`expected ${N} passed, got ${JSON.stringify(state.result.counts)}`);
            await fs.access(path.join(state.result.reportDir, 'report.html'));
            const report = JSON.parse(
              await fs.readFile(path.join(state.result.reportDir, 'report.json'), 'utf8'),
            ) as TestReport;
            const kernelCpu = report.notebooks.reduce((sum, nb) => sum + (nb.cpuSeconds ?? 0), 0) / N;
            const net = networks.length > 1 ? `, network ${network}` : '';
            rows.push([
              `nblc, ${executor}, concurrency ${concurrency}, sandbox ${sandbox}${net}`,
              took,
              cpuAll,
              kernelCpu,
            ]);
          } finally {
            await stack.stop();
          }
        }

  console.log(`\n${N} trivial notebooks on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'cpu'})\n`);
  const num = (v: number | null, width: number) => (v === null ? '–' : v.toFixed(2)).padStart(width);
  console.log(
    `${'method'.padEnd(44)} ${'wall s'.padStart(8)} ${'nb/s'.padStart(7)} ${'vs baseline'.padStart(12)} ${'CPU s/nb all'.padStart(13)} ${'kernel'.padStart(7)}`,
  );
  for (const [name, s, cpu, kernelCpu] of rows) {
    console.log(
      `${name.padEnd(44)} ${s.toFixed(1).padStart(8)} ${(N / s).toFixed(2).padStart(7)} ${rows[0]![0].startsWith('serial') ? `${(s / baseline).toFixed(2).padStart(11)}x` : '–'.padStart(12)} ${num(cpu, 13)} ${num(kernelCpu, 7)}`,
    );
  }
} finally {
  await removeTree(dir);
}
