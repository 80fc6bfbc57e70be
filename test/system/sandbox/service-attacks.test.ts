/**
 * The attacks of issue 21 through the real service: a test run on a real Temporal server and
 * workers (the activity's own executor start-up, NBLC_KERNEL_NETWORK=outbound by default).
 * One notebook tries the Temporal frontend, the API, a database port, a port on the host's own
 * address and the metadata address, and reaches a server standing in for the internet (in a
 * network namespace this test creates); one writes past its disk bound; one spins every core.
 * The other notebooks of the run finish, and the worker answers while the spinner runs. Beside
 * one notebook, a committed `ipykernel_launcher.py` and `pathlib.py` plant links to a root-only
 * file (the launcher-shadowing trick): the real kernel runs, and the file's content appears
 * nowhere (report files, executed notebooks, the workflow's history). The repository's
 * `.nblcignore` is a link to /dev/zero: discovery answers, ignores it, and the report says so.
 *   node --import tsx --test test/system/sandbox/service-attacks.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { getRun, startTestRun } from '../../../src/clients/runs/client.js';
import type { NotebookResult, TestRunResult } from '../../../src/domain/runs/model.js';
import { notebook } from '../../../src/demo/sample-repo.js';
import { PROJECT_ROOT } from '../../../src/platform/config.js';
import { createLogger } from '../../../src/platform/logger.js';
import { startApi, type RunningApi } from '../../../src/process/server.js';
import { runSandbox, waitFor } from '../../helpers/fixtures.js';
import { pathStatuses, publish, withWorkers } from '../../helpers/stack.js';
import { useTestEnv } from '../../helpers/temporal.js';
import { shadowLauncher } from './attacks.js';
import { cannotRun, hostAddress, listenGreeting, probe, startInternet } from './internet.js';

const PYTHON = path.join(PROJECT_ROOT, '.venv', 'bin', 'python');

const env = useTestEnv();
const listeners: net.Server[] = [];
const connected: string[] = []; // what the stand-ins of the service saw
let internet: Awaited<ReturnType<typeof startInternet>> | undefined;
let api: RunningApi | undefined;

const TOKEN = `root-only-token-${process.pid}-5d20b7`;
const tokenDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nblc-svc-token-'));
const tokenFile = path.join(tokenDir, 'root-only-token');
fs.writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 }); // the executor's (root's), not the kernel's

/** Every file under `dir` whose content holds `needle`. */
function filesWith(dir: string, needle: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .filter((f) => fs.readFileSync(f).includes(needle));
}

const listen = (name: string, host: string) => listenGreeting(name, host, connected, listeners);

before(async () => {
  if (cannotRun) return;
  internet = await startInternet(PYTHON);
});

after(async () => {
  await api?.close();
  for (const l of listeners) l.close();
  internet?.stop();
  fs.rmSync(tokenDir, { recursive: true, force: true });
});

const SPIN = `import multiprocessing, os, time
def burn(_):
    t = time.process_time()
    while time.process_time() - t < 1: pass
n = 4 * os.cpu_count()
with multiprocessing.Pool(n) as p:
    p.map(burn, range(n))`;
const FILL = `with open('big.bin', 'wb') as f:\n    for _ in range(64):\n        f.write(b'x' * (1 << 20))`;

describe('attacks through the real service', { skip: cannotRun, timeout: 600_000 }, () => {
  test('a run: the service unreachable, the internet reached, the disk bound and the spinner held; the rest finishes', async () => {
    const { config, upstream } = await runSandbox('svc-attack', {
      NBLC_TEST_CONCURRENCY: '3',
      NBLC_NOTEBOOK_DISK: '16M',
      NBLC_NOTEBOOK_CPUS: '0.5',
    });
    api = await startApi({ client: env.client, config, logger: createLogger('silent') }, '127.0.0.1', 0);
    const targets: Record<string, [string, number]> = {
      temporal: ['127.0.0.1', Number(env.address.split(':').at(-1))],
      api: ['127.0.0.1', api.port],
      database: ['127.0.0.1', await listen('database', '127.0.0.1')],
      ...(hostAddress ? { 'host-address': [hostAddress, await listen('host-address', hostAddress)] } : {}),
      metadata: ['169.254.169.254', 80],
      internet: [internet!.internet, 8080],
    };
    await upstream.commit({
      'attack/Net.ipynb': notebook([probe(targets)]),
      'attack/Disk.ipynb': notebook([FILL]),
      'attack/Spin.ipynb': notebook([SPIN]),
      'plain/Plain.ipynb': notebook(['print(sum(range(1000)))']),
      'shadow/ipykernel_launcher.py': shadowLauncher('ipykernel_launcher.py', tokenFile),
      'shadow/pathlib.py': shadowLauncher('pathlib.py', tokenFile),
      'shadow/Shadow.ipynb': notebook(["print('the real kernel')"]),
    });
    // A second commit: .nblcignore as a link to /dev/zero (read by the worker, outside any sandbox)
    fs.symlinkSync('/dev/zero', path.join(upstream.workDir, '.nblcignore'));
    const head = await upstream.commit({});
    let workflowId = '';
    const r: TestRunResult = await withWorkers(env, config, async () => {
      await publish(env, config, head);
      const started = await startTestRun(env.client, config, { kind: 'manual' });
      workflowId = started.workflowId;
      // The worker answers (the run's progress query) while the spinner holds its CPUs.
      await waitFor(
        'the spinner running, the worker answering',
        async () => (await getRun(env.client, started.runId))?.progress?.running.includes('attack/Spin.ipynb'),
        180_000,
      );
      assert.equal((await fetch(`${api!.url}/healthz`)).status, 200);
      return waitFor(
        'the run',
        async () => {
          const s = await getRun(env.client, started.runId);
          if (s && s.status !== 'RUNNING' && !s.result) throw new Error(`run ${s.status}: ${s.error}`);
          return s?.result;
        },
        300_000,
      );
    });
    assert.deepEqual(pathStatuses(r), [
      ['attack/Disk.ipynb', 'failed'],
      ['attack/Net.ipynb', 'passed'],
      ['attack/Spin.ipynb', 'passed'],
      ['plain/Plain.ipynb', 'passed'],
      ['shadow/Shadow.ipynb', 'passed'],
    ]);
    const result = (nb: string) =>
      JSON.parse(fs.readFileSync(path.join(r.reportDir, 'results', `${nb}.json`), 'utf8')) as NotebookResult & {
        diskFull?: boolean;
        cpuThrottledPeriods?: number;
      };
    const executed = fs.readFileSync(path.join(r.reportDir, 'executed', 'attack', 'Net.ipynb'), 'utf8');
    const line = (
      JSON.parse(executed) as { cells: Array<{ outputs: Array<{ text?: string }> }> }
    ).cells[0]!.outputs.map((o) => o.text ?? '')
      .join('')
      .trim();
    const report = JSON.parse(line) as Record<string, string>;
    assert.equal(report.internet, 'connected: hello from the internet');
    for (const name of ['temporal', 'api', 'database', 'host-address', 'metadata']) {
      if (name in report) assert.doesNotMatch(report[name]!, /^connected/, `${name}: ${report[name]}`);
    }
    assert.deepEqual(connected, [], 'no stand-in of the service saw a connection');
    assert.equal(result('attack/Net.ipynb').network, 'outbound');
    const disk = result('attack/Disk.ipynb');
    assert.equal(disk.diskFull, true);
    assert.match(disk.message ?? '', /No space left on device.*NBLC_NOTEBOOK_DISK/);
    assert.ok((result('attack/Spin.ipynb').cpuThrottledPeriods ?? 0) > 0, 'the spinner was held to its quota');

    // The launcher-shadowing trick: the real kernel ran, the root-only file reached nothing
    const shadowed = fs.readFileSync(path.join(r.reportDir, 'executed', 'shadow', 'Shadow.ipynb'), 'utf8');
    assert.match(shadowed, /the real kernel/);
    assert.doesNotMatch(shadowed, /ran instead of the real launcher/);
    assert.deepEqual(filesWith(r.reportDir, TOKEN), [], 'the token is in no file of the run');
    const history = JSON.stringify(await env.client.workflow.getHandle(workflowId).fetchHistory());
    assert.ok(!history.includes(TOKEN), "the token is not in the run's history");
    // .nblcignore linked to /dev/zero: not read (the run above answered), and the report says why
    const reportJson = JSON.parse(fs.readFileSync(path.join(r.reportDir, 'report.json'), 'utf8')) as {
      warnings?: string[];
    };
    assert.match(reportJson.warnings?.join() ?? '', /\.nblcignore was ignored \(it is a symbolic link\)/);
  });
});
