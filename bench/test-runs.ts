/**
 * Benchmark: N trivial notebooks through the whole test-run path (start run → report written),
 * against the original method (a serial loop of `jupyter nbconvert --to notebook --execute`),
 * side by side in one run on this machine.
 *
 * Each concurrency is measured with the fork server (NBLC_EXECUTOR=fork, the default) and with
 * --executors also naming `spawn`, a new Python per notebook; each with the sandbox on (the
 * default) and, with --sandbox naming `off`, unsandboxed, so its cost shows in the same run.
 * The CPU column is the notebooks' own (kernel and what it started: cpuSeconds in the results).
 *
 *   node --import tsx bench/test-runs.ts [--notebooks 60] [--concurrency 2,4,8] [--executors fork,spawn]
 *                                        [--sandbox on,off]
 */
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/runtime/config.js';
import { createLogger } from '../src/runtime/logger.js';
import { getRun, startTestRun } from '../src/runs/client.js';
import { createUpstream, notebook } from '../src/demo/sample-repo.js';
import { startStack } from '../src/runtime/stack.js';
import { querySync, signalSync } from '../src/sync/client.js';
import { removeTree } from '../src/activities/files.js';
import type { TestReport } from '../src/runs/model.js';

const { values } = parseArgs({
  options: {
    notebooks: { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '2,4,8' },
    executors: { type: 'string', default: 'fork,spawn' },
    sandbox: { type: 'string', default: 'on,off' },
  },
});
const sandboxes = values.sandbox.split(',') as Array<'on' | 'off'>;
const executors = values.executors.split(',') as Array<'fork' | 'spawn'>;
const N = Number(values.notebooks);
const concurrencies = values.concurrency.split(',').map(Number);
const root = path.resolve(import.meta.dirname, '..');
const jupyter = path.join(root, '.venv', 'bin', 'jupyter');

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
  for (const f of (await fs.readdir(baseDir)).sort()) {
    execFileSync(
      jupyter,
      ['nbconvert', '--to', 'notebook', '--execute', '--output', f.replace('.ipynb', '_tested'), path.join(baseDir, f)],
      { stdio: 'ignore' },
    );
  }
  const baseline = (performance.now() - t0) / 1000;

  const rows: Array<[string, number, number | null]> = [['serial nbconvert --execute (baseline)', baseline, null]];
  for (const executor of executors)
    for (const concurrency of concurrencies)
      for (const sandbox of sandboxes) {
        const config = loadConfig({
          ...process.env,
          NBLC_REPO_URL: upstream.url,
          NBLC_REPO_FULL_NAME: 'bench/runs',
          NBLC_DATA_DIR: path.join(dir, `data-${executor}-${concurrency}-${sandbox}`),
          NBLC_EXECUTOR: executor,
          NBLC_SANDBOX: sandbox,
          NBLC_TEMPORAL_PORT: '0', // the embedded server picks free ports
          NBLC_TEMPORAL_UI_PORT: '0',
          NBLC_TEST_CONCURRENCY: String(concurrency),
          NBLC_TEST_ON_MERGE: 'false',
          NBLC_TEST_CRON: 'off',
          NBLC_LOG_LEVEL: 'warn',
          TEMPORAL_ADDRESS: undefined,
        });
        const stack = await startStack(config, { worker: true, api: false, embed: true, logger: createLogger('warn') });
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
          const started = await startTestRun(stack.client, stack.config, { kind: 'manual' });
          let state = await getRun(stack.client, started.runId);
          while (!state?.result) {
            if (state && state.status !== 'RUNNING') throw new Error(`run ${state.status}: ${state.error}`);
            await sleep(100);
            state = await getRun(stack.client, started.runId);
          }
          const took = (performance.now() - t1) / 1000;
          if (state.result.counts.passed !== N)
            throw new Error(`expected ${N} passed, got ${JSON.stringify(state.result.counts)}`);
          await fs.access(path.join(state.result.reportDir, 'report.html'));
          const report = JSON.parse(
            await fs.readFile(path.join(state.result.reportDir, 'report.json'), 'utf8'),
          ) as TestReport;
          const cpu = report.notebooks.reduce((sum, nb) => sum + (nb.cpuSeconds ?? 0), 0) / N;
          rows.push([`nblc, ${executor}, concurrency ${concurrency}, sandbox ${sandbox}`, took, cpu]);
        } finally {
          await stack.stop();
        }
      }

  console.log(`\n${N} trivial notebooks on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'cpu'})\n`);
  console.log(
    `${'method'.padEnd(44)} ${'wall s'.padStart(8)} ${'nb/s'.padStart(7)} ${'vs baseline'.padStart(12)} ${'CPU s/nb'.padStart(9)}`,
  );
  for (const [name, s, cpu] of rows) {
    console.log(
      `${name.padEnd(44)} ${s.toFixed(1).padStart(8)} ${(N / s).toFixed(2).padStart(7)} ${(s / baseline).toFixed(2).padStart(11)}x ${(cpu === null ? '–' : cpu.toFixed(2)).padStart(9)}`,
    );
  }
} finally {
  await removeTree(dir);
}
