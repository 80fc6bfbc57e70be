// The kernel's network, system calls, CPU and disk (docs/security.md, "The network boundary",
// "System calls", "CPU and disk"): notebooks run through the real executor (fork server, as root
// here: kernels run as NBLC_KERNEL_USER) with the settings of a real config. The service's ports
// are a real Temporal dev server and the real API on loopback; a database and a port on the
// host's own address are stood in for by listeners this test opens; the internet by a server in
// a network namespace the test creates (an address of TEST-NET-2 of its own, reached over a veth pair),
// which only the kernel's outbound path (slirp4netns) leads to.
//   node --import tsx --test test/system/sandbox/containment.test.ts
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { executorEnv, forkExecutor, forkServerFor } from '../../../src/activities/runs/executor-process.js';
import { writeReport } from '../../../src/activities/runs/report/index.js';
import { loadConfig, PROJECT_ROOT } from '../../../src/platform/config.js';
import { createLogger } from '../../../src/platform/logger.js';
import { startApi, type RunningApi } from '../../../src/process/server.js';
import type { ExecutorResult } from '../../../src/domain/runs/model.js';
import { notebookJson } from '../../helpers/notebooks.js';
import { startTestEnv } from '../../helpers/temporal.js';
import { cannotRun, hostAddress, listenGreeting, probe, startInternet } from './internet.js';
import { sandboxedArgs } from './sandboxed-run.js';

const PYTHON = path.join(PROJECT_ROOT, '.venv', 'bin', 'python');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nblc-contain-'));
const snapshot = path.join(root, 'snapshots', 'b'.repeat(40));
const listeners: net.Server[] = [];
const ports: Record<string, number> = {};
const connected: string[] = []; // what the stand-ins saw
let internet: Awaited<ReturnType<typeof startInternet>> | undefined;
let temporal: Awaited<ReturnType<typeof startTestEnv>> | undefined;
let api: RunningApi | undefined;
let n = 0;

async function listen(name: string, host: string): Promise<void> {
  ports[name] = await listenGreeting(name, host, connected, listeners);
}

async function run(cells: string[], settings: Record<string, string> = {}) {
  const id = `nb-${++n}`;
  const nb = path.join(snapshot, 'nbs', `${id}.ipynb`);
  fs.mkdirSync(path.dirname(nb), { recursive: true });
  fs.writeFileSync(nb, notebookJson(cells));
  const config = loadConfig({
    ...process.env,
    NBLC_REPO_URL: 'file:///nonexistent',
    NBLC_REPO_FULL_NAME: 'contain/suite',
    NBLC_DATA_DIR: path.join(root, 'data'),
    ...settings,
  });
  const runDir = path.join(root, 'results', id);
  const args = sandboxedArgs(config, { notebook: nb, root: snapshot, runDir, cellTimeoutS: 120 });
  const env = executorEnv(config.env, config.sandbox.kernelEnv);
  const proc = await forkExecutor((await forkServerFor(PYTHON, env).socket())!, args, path.join(root, `${id}.log`));
  assert.equal(await proc.exited, 0, await proc.stderr());
  const result = JSON.parse(fs.readFileSync(path.join(runDir, 'result.json'), 'utf8')) as ExecutorResult & {
    cpuLimit?: number;
    cpuThrottledPeriods?: number;
    cpuPeriods?: number;
    cpuPeriodSeconds?: number;
  };
  const executed = JSON.parse(fs.readFileSync(path.join(runDir, 'executed.ipynb'), 'utf8')) as {
    cells: Array<{ outputs?: Array<{ text?: string }> }>;
  };
  const out = (executed.cells[0]?.outputs ?? []).map((o) => o.text ?? '').join('');
  const last = out.trim().split('\n').at(-1) ?? '';
  return { result, runDir, report: (last.startsWith('{') ? JSON.parse(last) : {}) as Record<string, string> };
}

before(async () => {
  if (cannotRun) return;
  // the frontend of `nblc start` and the API listen on loopback, as the real ones here do
  temporal = await startTestEnv();
  ports.temporal = Number(temporal.address.split(':').at(-1));
  const config = loadConfig({ ...process.env, NBLC_REPO_URL: '/x', NBLC_REPO_FULL_NAME: 'contain/suite' });
  api = await startApi({ client: temporal.client, config, logger: createLogger('silent') }, '127.0.0.1', 0);
  ports.api = api.port;
  assert.equal((await fetch(`${api.url}/healthz`)).status, 200, 'the API answers the host');
  await listen('database', '127.0.0.1');
  if (hostAddress) await listen('host-address', hostAddress);
  internet = await startInternet(PYTHON);
});

after(async () => {
  await api?.close();
  await temporal?.teardown();
  for (const l of listeners) l.close();
  internet?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

const services = () => ({
  temporal: ['127.0.0.1', ports.temporal!] as [string, number],
  api: ['127.0.0.1', ports.api!] as [string, number],
  database: ['127.0.0.1', ports.database!] as [string, number],
  ...(hostAddress ? { 'host-address': [hostAddress, ports['host-address']!] as [string, number] } : {}),
  metadata: ['169.254.169.254', 80] as [string, number],
  internet: [internet!.internet, 8080] as [string, number],
});

describe('the kernel’s network', { concurrency: 1, timeout: 600_000, skip: cannotRun }, () => {
  test('outbound (the default): the internet is reachable, the service’s ports and the host are not', async () => {
    connected.length = 0;
    const { result, report } = await run([probe(services())]);
    assert.equal(result.status, 'passed', result.message ?? '');
    assert.equal(result.network, 'outbound');
    assert.equal(report.internet, 'connected: hello from the internet');
    assert.equal(report['resolv.conf'], 'nameserver 10.0.2.3\n', "names resolve through slirp4netns' forwarder");
    for (const name of ['temporal', 'api', 'database', 'host-address', 'metadata']) {
      if (name in report) assert.doesNotMatch(report[name]!, /^connected/, `${name}: ${report[name]}`);
    }
    assert.deepEqual(connected, [], 'no stand-in of the service saw a connection');
    const host = new net.Socket(); // while from the host, Temporal's frontend is there
    await new Promise<void>((res, rej) => host.connect(ports.temporal!, '127.0.0.1', res).once('error', rej));
    host.destroy();
  });

  test('NBLC_KERNEL_NETWORK_ALLOW opens one blocked address', { skip: !hostAddress }, async () => {
    connected.length = 0;
    const allow = `${hostAddress}:${ports['host-address']}`;
    const { result, report } = await run([probe(services())], { NBLC_KERNEL_NETWORK_ALLOW: allow });
    assert.equal(result.status, 'passed', result.message ?? '');
    assert.equal(report['host-address'], 'connected: hello from host-address');
    assert.doesNotMatch(report.database!, /^connected/);
    assert.deepEqual(connected, ['host-address']);
  });

  test('NBLC_KERNEL_NETWORK_ALLOW address:port opens that port of the address, not its others', async () => {
    const internal = {
      listed: [internet!.internal, 5432] as [string, number],
      unlisted: [internet!.internal, 6432] as [string, number],
      internet: [internet!.internet, 8080] as [string, number],
    };
    const closed = await run([probe(internal)]);
    assert.doesNotMatch(closed.report.listed!, /^connected/, 'a private address is closed by default');
    const { result, report } = await run([probe(internal)], {
      NBLC_KERNEL_NETWORK_ALLOW: `${internet!.internal}:5432`,
    });
    assert.equal(result.status, 'passed', result.message ?? '');
    assert.equal(report.listed, 'connected: hello from internal 5432');
    assert.doesNotMatch(report.unlisted!, /^connected/, `the other port: ${report.unlisted}`);
    assert.equal(report.internet, 'connected: hello from the internet');
    const whole = await run([probe(internal)], { NBLC_KERNEL_NETWORK_ALLOW: `${internet!.internal}/32` });
    assert.equal(whole.report.unlisted, 'connected: hello from internal 6432', 'a CIDR entry opens every port');
  });

  test('none: nothing but the kernel’s own loopback', async () => {
    const own = `import socket\nsrv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(1)
c = socket.create_connection(srv.getsockname()); print('own loopback ok')`;
    const out = `import socket\nsocket.create_connection(('${internet!.internet}', 8080), timeout=5)`;
    const { result, report } = await run([probe(services()), own, out], { NBLC_KERNEL_NETWORK: 'none' });
    assert.equal(result.network, 'none');
    for (const [name, value] of Object.entries(report)) assert.doesNotMatch(value, /^connected/, name);
    // cells 0 and 1 passed; cell 2 failed, and the result says why in words
    assert.equal(result.status, 'failed');
    assert.match(
      result.message ?? '',
      /^cell 2: .*Network is unreachable.*NBLC_KERNEL_NETWORK=none: nothing but its own loopback/,
    );
  });

  test('host: the result and the report say the kernel was not network-isolated', async () => {
    const { result, runDir } = await run(['print(1)'], { NBLC_KERNEL_NETWORK: 'host' });
    assert.equal(result.network, 'host');
    fs.mkdirSync(path.join(runDir, 'results'), { recursive: true });
    fs.copyFileSync(path.join(runDir, 'result.json'), path.join(runDir, 'results', 'nb.ipynb.json'));
    const now = new Date().toISOString();
    const report = await writeReport({
      resultsDir: path.dirname(runDir),
      runId: path.basename(runDir),
      commit: 'b'.repeat(40),
      kind: 'manual',
      startedAt: now,
      finishedAt: now,
      paths: ['nb.ipynb'],
    });
    assert.equal(report.networkNotIsolated, 1);
    const json = JSON.parse(fs.readFileSync(path.join(runDir, 'report.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(json.networkNotIsolated, 1);
    assert.equal((json.notebooks as Array<{ network?: string }>)[0]?.network, 'host');
    const page = fs.readFileSync(path.join(runDir, 'report.html'), 'utf8');
    assert.match(page, /id="network-not-isolated">[^<]*not network-isolated \(NBLC_KERNEL_NETWORK=host\)/);
  });
});

describe('system calls, CPU and disk', { concurrency: 1, timeout: 600_000, skip: cannotRun }, () => {
  test('unshare -U and mount are refused inside the kernel (seccomp)', async () => {
    const cell = `import json, subprocess
r = {}
for name, cmd in {'unshare': ['unshare', '-U', 'true'], 'mount': ['mount', '-t', 'tmpfs', 'none', '/tmp']}.items():
    p = subprocess.run(cmd, capture_output=True, text=True)
    r[name] = [p.returncode, p.stderr.strip()]
print(json.dumps(r))`;
    const { result, report } = await run([cell]);
    assert.equal(result.status, 'passed', result.message ?? '');
    const [unshare, mount] = [
      report.unshare as unknown as [number, string],
      report.mount as unknown as [number, string],
    ];
    assert.notEqual(unshare[0], 0);
    assert.match(unshare[1], /Operation not permitted/);
    assert.notEqual(mount[0], 0);
  });

  test('a notebook past its disk bound gets ENOSPC and says so; another notebook finishes', async () => {
    const fill = `with open('big.bin', 'wb') as f:\n    for _ in range(64):\n        f.write(b'x' * (1 << 20))`;
    const [full, other] = await Promise.all([
      run([fill], { NBLC_NOTEBOOK_DISK: '16M' }),
      run(['print(sum(range(1000)))'], { NBLC_NOTEBOOK_DISK: '16M' }),
    ]);
    assert.equal(full.result.status, 'failed');
    assert.match(full.result.message ?? '', /No space left on device.*NBLC_NOTEBOOK_DISK/);
    assert.equal(full.result.diskFull, true);
    assert.equal(other.result.status, 'passed', other.result.message ?? '');
  });

  test('a notebook spinning every core is held to NBLC_NOTEBOOK_CPUS; another notebook finishes', async () => {
    const spin = `import multiprocessing, os, time
def burn(_):
    t = time.process_time()
    while time.process_time() - t < 1: pass
n = 4 * os.cpu_count()  # more runnable tasks than cores: the quota, not the scheduler, holds them
with multiprocessing.Pool(n) as p:
    p.map(burn, range(n))`;
    const [spinner, other] = await Promise.all([
      run([spin], { NBLC_NOTEBOOK_CPUS: '0.5' }),
      run(['print(1 + 1)'], { NBLC_NOTEBOOK_CPUS: '0.5' }),
    ]);
    assert.equal(spinner.result.status, 'passed', spinner.result.message ?? '');
    assert.equal(spinner.result.cpuLimit, 0.5, 'the cgroup quota is 0.5 CPU');
    const r = spinner.result;
    // CPU time over the enforcement periods it ran in: at most the quota (slack for the last
    // period). Unbounded, 4 spinners per core would use every core of an idle machine; on a busy
    // one the quota may never be reached (cpuThrottledPeriods 0), and this still holds.
    const rate = (r.cpuSeconds ?? 0) / ((r.cpuPeriods ?? 0) * (r.cpuPeriodSeconds ?? 0));
    assert.ok(rate <= 0.55, `the notebook used ${rate.toFixed(2)} CPUs on average`);
    assert.equal(other.result.status, 'passed', other.result.message ?? '');
  });
});
