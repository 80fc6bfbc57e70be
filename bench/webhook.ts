/**
 * Benchmark: latency of an accepted push beacon (signature check, validation, signalWithStart
 * to a real Temporal server) over loopback HTTP, against a baseline measured in the same run: a
 * signed `ping` through the same server, which does everything but talk to Temporal.
 * GitHub gives up after 10 s; the aim is p99 < 50 ms.
 *
 *   node --import tsx bench/webhook.ts [--requests 500]
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { removeTree } from '../src/activities/files.js';
import { deliveryHeaders, pushEvent } from '../src/demo/sample-repo.js';
import { percentile } from './stats.js';
import { benchArgs, benchConfig, startBenchStack, BENCH_WEBHOOK_SECRET } from './setup.js';

const values = benchArgs({ requests: '500' });
const N = Number(values.requests);
const SECRET = BENCH_WEBHOOK_SECRET;
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nblc-bench-webhook-'));

async function measure(url: string, event: string, body: (i: number) => string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < N; i++) {
    const text = body(i);
    const headers = await deliveryHeaders(SECRET, event, text, `bench-${event}-${i}`);
    const t = performance.now();
    const res = await fetch(url, { method: 'POST', headers, body: text });
    await res.arrayBuffer();
    times.push(performance.now() - t);
    if (res.status >= 300 && res.status !== 202) throw new Error(`${event}: HTTP ${res.status}`);
  }
  return times.sort((a, b) => a - b);
}

try {
  const config = benchConfig({
    NBLC_REPO_URL: '/nonexistent',
    NBLC_REPO_FULL_NAME: 'bench/webhook',
    NBLC_WEBHOOK_SECRET: SECRET,
    NBLC_DATA_DIR: dir,
  });
  // No worker: the webhook's job ends when the signal is durably recorded.
  const stack = await startBenchStack(config, { worker: false, api: true });
  try {
    const url = `${stack.api!.url}/webhooks/github`;
    const sha = (i: number) => i.toString(16).padStart(40, '0');
    await measure(url, 'ping', () => '{"zen":"warm up"}');
    const ping = await measure(url, 'ping', (i) => JSON.stringify({ zen: `ping ${i}`, hook_id: i }));
    const push = await measure(url, 'push', (i) =>
      JSON.stringify(pushEvent({ repo: 'bench/webhook', before: sha(i), after: sha(i + 1) })),
    );
    console.log(`\n${N} sequential requests over loopback, ${os.cpus().length} cores\n`);
    console.log(
      `${'request'.padEnd(44)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)}`,
    );
    for (const [name, t] of [
      ['signed ping (baseline: no Temporal call)', ping],
      ['signed push → signalWithStart', push],
    ] as const) {
      const cols = [50, 95, 99, 100].map((p) => percentile(t, p).toFixed(1).padStart(8));
      console.log(`${name.padEnd(44)} ${cols.join(' ')}`);
    }
  } finally {
    await stack.stop();
  }
} finally {
  await removeTree(dir);
}
