// The sandbox against attacks: notebooks run through the real executor path (the activity's
// environment, arguments and launch: fork server or spawned executor, as root here, so kernels
// run as NBLC_KERNEL_USER), with secrets in the worker's environment and on disk beside the
// service's data, results and users' copies. Each notebook tries one way out; the test checks
// what it reported and, on the host, that nothing changed.
//   node --import tsx --test test/system/sandbox/attack.test.ts
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { executorEnv, forkServerFor, spawnExecutor } from '../../../src/activities/runs/executor-process.js';
import { executeToEnd, PYTHON } from '../../helpers/executor.js';
import { sandboxArgs } from '../../../src/activities/runs/sandbox.js';
import { reportNow } from '../../helpers/report-run.js';
import { loadConfig, PROJECT_ROOT, type Config } from '../../../src/platform/config.js';
import type { ExecutorResult } from '../../../src/domain/runs/model.js';
import { isAlive } from '../../helpers/processes.js';
import * as attack from './attacks.js';
import { pidsMarked } from './host-processes.js';

const SECRETS = {
  NBLC_WEBHOOK_SECRET: 'whsec-attack-5f1e2d3c4b5a69788796a5b4',
  NBLC_API_TOKEN: 'apitok-attack-0a1b2c3d4e5f60718293a4b5',
  NBLC_GIT_TOKEN: 'ghp_attack0123456789abcdefghijklmnopqr',
  TEMPORAL_API_KEY: 'tak-attack-99887766554433221100ffee',
};
const FILE_SECRET = 'usertok-attack-from-a-file-1a2b3c4d5e6f7a8b9c';
const MARKER = `nblcatk${process.pid}`;
const SYSTEM = ['bin', 'dev', 'etc', 'lib', 'lib32', 'lib64', 'libx32', 'proc', 'sbin', 'tmp', 'usr'];
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nblc-attack-'));
const data = path.join(root, 'data');
const snapshot = path.join(data, 'cache', 'snapshots', 'a'.repeat(40));
const results = path.join(data, 'results');
const users = path.join(data, 'users');
const secretFile = path.join(root, 'secrets', 'user_token_secret');
const prerunFile = path.join(root, 'prerun.py');
let config: Config;
let before_: Map<string, string>;
let n = 0;

function put(file: string, text: string) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

interface Run {
  result: ExecutorResult;
  text: string; // the executed notebook and the result, where no secret may appear
  report: Record<string, unknown>; // what the notebook's first cell printed
  cells: string[];
}

async function run(mode: 'fork' | 'spawn', nb: string, cells: string[], extra: string[] = []): Promise<Run> {
  const id = `${mode}-${++n}`;
  put(path.join(snapshot, 'nbs', `${id}-${nb}`), attack.notebookJson(cells));
  const runDir = path.join(results, id);
  const args = [
    ...['--notebook', path.join(snapshot, 'nbs', `${id}-${nb}`), '--root', snapshot],
    ...['--output', path.join(runDir, 'executed.ipynb'), '--result', path.join(runDir, 'result.json')],
    ...['--scratch-root', path.join(runDir, 'tmp'), '--cell-timeout', '60'],
    ...sandboxArgs(config),
    ...extra,
  ];
  const env = executorEnv(config.env, config.sandbox.kernelEnv);
  await executeToEnd(mode, args, path.join(root, `${id}.log`), env);
  assert.deepEqual(fs.readdirSync(path.join(runDir, 'tmp')), [], 'the scratch folder is removed');
  const resultText = fs.readFileSync(path.join(runDir, 'result.json'), 'utf8');
  const artifact = fs.existsSync(path.join(runDir, 'executed.ipynb'))
    ? fs.readFileSync(path.join(runDir, 'executed.ipynb'), 'utf8')
    : '{"cells": []}';
  const outputs = (JSON.parse(artifact) as { cells: Array<{ outputs?: Array<{ text?: string }> }> }).cells.map((c) =>
    (c.outputs ?? []).map((o) => o.text ?? '').join(''),
  );
  const first = outputs[0]?.trim().split('\n').at(-1) ?? '';
  return {
    result: JSON.parse(resultText) as ExecutorResult,
    text: artifact + resultText,
    report: first.startsWith('{') ? (JSON.parse(first) as Record<string, unknown>) : {},
    cells: outputs,
  };
}

function assertNoSecret(text: string, where: string) {
  for (const secret of [...Object.values(SECRETS), FILE_SECRET]) {
    assert.ok(!text.includes(secret), `${where} holds a secret (${secret.slice(0, 12)}…)`);
  }
}

before(() => {
  put(path.join(data, 'repo.git', 'config'), '[core]\n\tbare = true\n');
  put(path.join(users, 'bob', 'notebooks', 'mine.ipynb'), attack.notebookJson(['print("bob")']));
  put(path.join(snapshot, 'data', 'stars.csv'), 'ra,dec\n1,2\n');
  put(path.join(snapshot, 'helpers.py'), 'def answer():\n    return 42\n');
  put(secretFile, FILE_SECRET);
  put(prerunFile, `raise RuntimeError("login failed: token ${SECRETS.NBLC_API_TOKEN} was rejected")\n`);
  const env = {
    ...process.env,
    ...SECRETS,
    NBLC_USER_TOKEN_SECRET_FILE: secretFile,
    NBLC_REPO_URL: 'file:///nonexistent',
    NBLC_REPO_FULL_NAME: 'attack/suite',
    NBLC_DATA_DIR: data,
    NBLC_KERNEL_ENV: 'PLATFORM_URL',
    PLATFORM_URL: 'http://platform.example',
  };
  Object.assign(process.env, SECRETS); // the test process holds them too, as the worker does
  config = loadConfig(env);
  before_ = attack.snapshotFiles(data);
});

after(() => {
  for (const name of Object.keys(SECRETS)) delete process.env[name];
  fs.rmSync(root, { recursive: true, force: true });
});

for (const mode of ['fork', 'spawn'] as const)
  describe(`sandbox attacks (${mode})`, { concurrency: 1, timeout: 300_000 }, () => {
    test('secrets reach neither the kernel nor any output', async () => {
      const r = await run(mode, 'env.ipynb', [attack.environment(secretFile)]);
      assert.equal(r.result.status, 'passed', r.result.message ?? '');
      assertNoSecret(r.text, 'the executed notebook or result');
      const environ = r.report.environ as Record<string, string>;
      assert.deepEqual(
        Object.keys(environ).filter((k) => /^(NBLC|TEMPORAL)_/.test(k)),
        [],
      );
      assert.equal(environ.PLATFORM_URL, 'http://platform.example', 'NBLC_KERNEL_ENV reaches the kernel');
      assert.equal(environ.HOME, '/tmp');
      assert.doesNotMatch(String(r.report.proc_environ), /NBLC_|TEMPORAL_/);
      assert.equal(r.report.secret_file, 'No such file or directory');
      assert.deepEqual(r.report.pids, [1], 'only itself in its PID namespace');
      assert.deepEqual(r.report.dir_fds, [], 'no descriptor of a folder inherited');
      assert.doesNotMatch(String(r.report.cgroup), /nblc-nb-/, 'its cgroup is the root of its cgroup namespace');
      if (mode === 'fork') {
        const server = forkServerFor(PYTHON, executorEnv(config.env, config.sandbox.kernelEnv)).pid!;
        assertNoSecret(fs.readFileSync(`/proc/${server}/environ`, 'utf8'), 'the fork server’s environment');
      }
    });

    test('the kernel is unprivileged: not root, no capabilities, no_new_privs', async () => {
      const r = await run(mode, 'privs.ipynb', [attack.environment(secretFile)]);
      assert.notEqual(r.report.uid, 0);
      assert.notEqual(r.report.euid, 0);
      assert.deepEqual(r.report.groups, []);
      assert.equal(r.report.cap_eff, '0000000000000000');
      assert.equal(r.report.no_new_privs, '1');
      // besides the system: the sandbox's /nblc and the folders holding the Python environment
      const python = [PROJECT_ROOT, fs.realpathSync(PYTHON), fs.realpathSync(path.join(PROJECT_ROOT, '.venv'))];
      const allowed = [...SYSTEM, 'nblc', ...python.map((p) => p.split('/')[1]!)];
      for (const entry of r.report.root as string[]) assert.ok(allowed.includes(entry), `/${entry} is visible`);
    });

    test('the snapshot, the data dir (repo.git/config), results and other users’ copies stay unchanged', async () => {
      const targets = {
        'snapshot by path': path.join(snapshot, 'data', 'stars.csv'),
        'snapshot via ..': '../data/stars.csv',
        'host path via ..': `../../..${snapshot}/data/stars.csv`,
        'new file in the snapshot': '../data/new.txt',
        'repo.git/config': path.join(data, 'repo.git', 'config'),
        'results root': path.join(results, 'pwned.txt'),
        'another user’s copy': path.join(users, 'bob', 'notebooks', 'mine.ipynb'),
        'secret file': secretFile,
        '/etc/passwd': '/etc/passwd',
        'the Python environment': path.join(PROJECT_ROOT, '.venv', 'pyvenv.cfg'),
      };
      const r = await run(mode, 'writes.ipynb', [attack.writes(targets, targets['repo.git/config'])]);
      assert.equal(r.result.status, 'passed', r.result.message ?? '');
      for (const name of Object.keys(targets)) assert.notEqual(r.report[name], 'written', name);
      assert.notEqual(r.report.git_config, 0, 'git config --file repo.git/config failed');
      const now = attack.snapshotFiles(data);
      for (const [file, text] of before_) assert.equal(now.get(file), text, `${file} unchanged`);
      assert.ok(!fs.existsSync(path.join(results, 'pwned.txt')));
      assert.doesNotMatch(fs.readFileSync(path.join(data, 'repo.git', 'config'), 'utf8'), /fsmonitor/);
      assert.ok(!fs.existsSync('/tmp/nblc-pwned'));
    });

    test('nothing the notebook started outlives it (new sessions, double forks, setsid)', async () => {
      const marker = `${MARKER}${mode}`;
      const r = await run(mode, 'daemons.ipynb', [attack.daemons(marker)]);
      assert.equal(r.result.status, 'passed', r.result.message ?? '');
      assert.equal(r.report.running, 3, 'the three daemons were running');
      const deadline = Date.now() + 5000;
      while (pidsMarked(marker).length && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
      assert.deepEqual(pidsMarked(marker), [], 'no daemon left on the host');
    });

    test('a process bomb stops at the notebook’s pids limit', { skip: mode === 'spawn' }, async () => {
      const r = await run(mode, 'bomb.ipynb', [attack.forkBomb]);
      assert.equal(r.result.status, 'passed', r.result.message ?? '');
      assert.equal(r.report.stopped, 'Resource temporarily unavailable');
      assert.ok((r.report.started as number) < 1024, String(r.report.started));
    });

    test('the service’s processes cannot be signalled', async () => {
      const server = forkServerFor(PYTHON, executorEnv(config.env, config.sandbox.kernelEnv));
      const pids = { test: process.pid, ...(mode === 'fork' ? { forkServer: server.pid! } : {}) };
      const r = await run(mode, 'signals.ipynb', [attack.signals(pids)]);
      assert.equal(r.result.status, 'passed', r.result.message ?? '');
      for (const [name, pid] of Object.entries(pids)) {
        assert.equal(r.report[`${name} SIGKILL`], 'No such process', name);
        assert.ok(isAlive(pid), `${name} alive`);
      }
      const next = await run(mode, 'after-signals.ipynb', ['print(1)']);
      assert.equal(next.result.status, 'passed', 'the service still runs notebooks');
    });

    test('a notebook relying on the repository layout passes: ../data, a module above, its own folder', async () => {
      const r = await run(mode, 'repo.ipynb', [attack.repository]);
      assert.equal(r.result.status, 'passed', r.result.message ?? '');
      assert.deepEqual(r.report, {
        stars: 'ra,dec\n1,2\n',
        helper: 42,
        own: 'written in its own folder',
        cwd: '/nblc/notebooks/nbs',
      });
      assert.ok(!fs.existsSync(path.join(snapshot, 'nbs', 'output.csv')), 'the snapshot itself is untouched');
      assert.equal(r.result.sandbox, 'on');
      assert.ok(typeof r.result.peakMemoryBytes === 'number' && r.result.peakMemoryBytes > 10 << 20);
      assert.ok(typeof r.result.cpuSeconds === 'number' && r.result.cpuSeconds > 0);
      assert.match(r.result.limits ?? '', /^cgroup[12]$/);
    });

    test('a memory hog ends out_of_memory with its peak; the next notebook passes', async () => {
      const r = await run(mode, 'hog.ipynb', ['print("start")', attack.memoryHog(1 << 30)], ['--memory', '256M']);
      assert.equal(r.result.status, 'out_of_memory', r.result.message ?? '');
      assert.match(r.result.message ?? '', /NBLC_NOTEBOOK_MEMORY \(256 MiB\)/);
      assert.ok(r.result.peakMemoryBytes! > 200 << 20 && r.result.peakMemoryBytes! <= 256 << 20);
      const next = await run(mode, 'after-hog.ipynb', ['print(2)']);
      assert.equal(next.result.status, 'passed');
    });

    test('without a writable cgroup: a per-process limit, the MemoryError is out_of_memory', async () => {
      const extra = ['--memory', '512M', '--no-cgroup'];
      const r = await run(mode, 'hog-rlimit.ipynb', ['print("start")', attack.memoryHog(1 << 30)], extra);
      assert.equal(r.result.status, 'out_of_memory', r.result.message ?? '');
      assert.equal(r.result.limits, 'rlimit');
      assert.ok(r.result.peakMemoryBytes! > 10 << 20);
    });

    test('a notebook that is a link out of the snapshot is not read (the executor runs outside the sandbox)', async () => {
      const link = path.join(snapshot, 'nbs', `${mode}-shadow.ipynb`);
      fs.symlinkSync(secretFile, link);
      const runDir = path.join(results, `${mode}-link`);
      const args = ['--notebook', link, '--root', snapshot, '--output', path.join(runDir, 'out.ipynb')];
      args.push('--result', path.join(runDir, 'r.json'), '--scratch-root', path.join(runDir, 'tmp'));
      const proc = spawnExecutor(PYTHON, [...args, ...sandboxArgs(config)]);
      assert.equal(await proc.exited, 0, await proc.stderr());
      const text = fs.readFileSync(path.join(runDir, 'r.json'), 'utf8');
      assert.equal((JSON.parse(text) as ExecutorResult).status, 'invalid_notebook');
      assert.match(text, /symbolic link leading out of the snapshot/);
      assertNoSecret(text, 'the result');
    });

    test('a prerun failure quoting a credential leaks it into no report (result, report.json, html, junit)', async () => {
      const r = await run(mode, 'prerun.ipynb', ['print(1)'], ['--prerun', prerunFile]);
      assert.equal(r.result.status, 'failed');
      assert.equal(r.result.message, 'prerun cell: RuntimeError');
      assertNoSecret(r.text, 'the result');
      const runId = `${mode}-${n}`;
      fs.mkdirSync(path.join(results, runId, 'results'), { recursive: true });
      fs.copyFileSync(path.join(results, runId, 'result.json'), path.join(results, runId, 'results', 'nb.ipynb.json'));
      await reportNow(results, runId, ['nb.ipynb']);
      for (const file of ['report.json', 'report.html', 'junit.xml'])
        assertNoSecret(fs.readFileSync(path.join(results, runId, file), 'utf8'), file);
    });

    test('the prerun file runs first but the notebook cannot read it, nor its folder', async () => {
      const ok = path.join(root, 'prerun-ok.py');
      put(ok, `LOGGED_IN = True  # a login with ${FILE_SECRET} would be here\n`);
      const cell = `import os\nprint(LOGGED_IN, os.path.exists(${JSON.stringify(ok)}), os.path.exists(${JSON.stringify(root)}))`;
      const r = await run(mode, 'prerun-ok.ipynb', [cell], ['--prerun', ok]);
      assert.equal(r.result.status, 'passed', r.result.message ?? undefined);
      assert.equal(r.cells[0]?.trim(), 'True False False');
      assertNoSecret(r.text, 'the result');
    });
  });
