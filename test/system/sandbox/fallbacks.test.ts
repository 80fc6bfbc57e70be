// The sandbox's start-up check and its fallbacks: a worker that cannot sandbox refuses to start
// (naming NBLC_SANDBOX=off); NBLC_SANDBOX=off runs unconfined and says so; a non-root worker
// sandboxes in a user namespace, or through bubblewrap. The non-root cases run the probe
// (python/nblc_sandbox_probe.py: the real launcher and policy) as the kernel user with the system's
// Python, since this project's .venv may live where that user cannot read.
//   node --import tsx --test test/system/sandbox/fallbacks.test.ts
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { spawnExecutor } from '../../../src/activities/runs/executor-process.js';
import {
  checkSandbox,
  probeSandbox,
  sandboxArgs,
  SandboxUnavailableError,
} from '../../../src/activities/runs/sandbox.js';
import { ConfigError, loadConfig, PROJECT_ROOT } from '../../../src/platform/config.js';
import type { ExecutorResult } from '../../../src/domain/runs/model.js';
import type { Logger } from '../../../src/platform/logger.js';
import { NBLC_BIN, runNblc } from '../../helpers/processes.js';
import { notebookJson } from '../../helpers/notebooks.js';

const PYTHON = path.join(PROJECT_ROOT, '.venv', 'bin', 'python');
const PROBE = path.join(PROJECT_ROOT, 'python', 'nblc_sandbox_probe.py');
const SYSTEM_PYTHON = '/usr/bin/python3';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nblc-fallbacks-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const config = (env: Record<string, string> = {}) =>
  loadConfig({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NBLC_REPO_URL: '/x',
    NBLC_REPO_FULL_NAME: 'a/b',
    ...env,
  });

/** A logger that keeps what it was told (pino's shape: (object, message) or (message)). */
function recorder() {
  const lines: Array<[string, string]> = [];
  const at =
    (level: string) =>
    (...args: unknown[]) =>
      void lines.push([level, String(args.find((a) => typeof a === 'string'))]);
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } as unknown as Logger };
}

/** The probe as the kernel user, i.e. as a worker that does not run as root. */
function probeAsUser(settings: object) {
  const r = spawnSync(
    'setpriv',
    [
      '--reuid',
      'nblc-kernel',
      '--regid',
      'nblc-kernel',
      '--clear-groups',
      SYSTEM_PYTHON,
      PROBE,
      JSON.stringify(settings),
    ],
    { encoding: 'utf8', env: { PATH: process.env.PATH, LANG: 'C.UTF-8' }, cwd: '/' },
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { ok: boolean; backend?: string; uid?: number; limits?: string; error?: string };
}

/** Runs argv[1:] as nblc-kernel in a new user namespace that may not create any other. */
const NO_USER_NAMESPACES = `
import ctypes, os, sys
ready, mapped = os.pipe(), os.pipe()
pid = os.fork()
if pid == 0:
    assert ctypes.CDLL(None, use_errno=True).unshare(0x10000000) == 0  # CLONE_NEWUSER
    os.write(ready[1], b"u")
    os.read(mapped[0], 1)
    open("/proc/sys/user/max_user_namespaces", "w").write("0")
    os.execvp("setpriv", ["setpriv", "--reuid", "nblc-kernel", "--regid", "nblc-kernel", "--clear-groups", *sys.argv[1:]])
os.read(ready[0], 1)
for f in ("uid_map", "gid_map"):
    open(f"/proc/{pid}/{f}", "w").write("0 0 65536")
os.write(mapped[1], b"m")
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
`;

const rootWithSystemPython = process.getuid?.() === 0 && fs.existsSync(SYSTEM_PYTHON);

describe('sandbox start-up check and fallbacks', { timeout: 180_000 }, () => {
  test('the probe passes on this host: namespaces, an unprivileged kernel, a cgroup', async () => {
    const probe = await probeSandbox(config());
    assert.equal(probe.ok, true, probe.error);
    assert.equal(probe.backend, 'namespaces');
    assert.notEqual(probe.uid, 0);
    assert.match(probe.limits ?? '', /^cgroup[12]$/);
    const { lines, logger } = recorder();
    await checkSandbox(config(), logger);
    assert.deepEqual(lines, [['info', 'notebook sandbox ready']]);
  });

  test('a worker refuses to start when the sandbox cannot work, and names NBLC_SANDBOX=off', async () => {
    const cfg = config({ NBLC_KERNEL_USER: 'nblc-no-such-user' });
    await assert.rejects(checkSandbox(cfg, recorder().logger), (err: Error) => {
      assert.ok(err instanceof SandboxUnavailableError && err instanceof ConfigError);
      assert.match(err.message, /NBLC_KERNEL_USER 'nblc-no-such-user' does not exist/);
      assert.match(err.message, /NBLC_SANDBOX=off/);
      return true;
    });
    // through the CLI: before anything else starts, a configuration error (exit 2), no stack trace
    const cli = runNblc(['worker'], {
      NBLC_REPO_URL: '/x',
      NBLC_REPO_FULL_NAME: 'a/b',
      NBLC_KERNEL_USER: 'nblc-no-such-user',
    });
    assert.equal(cli.code, 2, cli.stderr);
    assert.match(cli.stderr, /notebook sandbox does not work on this host.*NBLC_SANDBOX=off/s);
    assert.doesNotMatch(cli.stderr, /\n\s+at /);
  });

  test('NBLC_KERNEL_ENV refuses nblc’s and Temporal’s own variables', () => {
    assert.throws(() => config({ NBLC_KERNEL_ENV: 'PLATFORM_URL,NBLC_API_TOKEN' }), /NBLC_API_TOKEN is nblc's/);
    assert.throws(() => config({ NBLC_KERNEL_ENV: 'TEMPORAL_API_KEY' }), /TEMPORAL_API_KEY/);
    assert.deepEqual(config({ NBLC_KERNEL_ENV: ' A_URL , B ' }).sandbox.kernelEnv, ['A_URL', 'B']);
  });

  test('NBLC_CGROUP_ROOT is an absolute path, passed to the executor', () => {
    assert.throws(() => config({ NBLC_CGROUP_ROOT: 'sys/fs/cgroup/nblc' }), /NBLC_CGROUP_ROOT/);
    const args = sandboxArgs(config({ NBLC_CGROUP_ROOT: '/sys/fs/cgroup/nblc' }));
    assert.equal(args[args.indexOf('--cgroup-root') + 1], '/sys/fs/cgroup/nblc');
    assert.ok(!sandboxArgs(config()).includes('--cgroup-root'), 'unset: detected by the executor');
  });

  test('NBLC_SANDBOX=off: the worker warns, the kernel runs unconfined and the result says so', async () => {
    const { lines, logger } = recorder();
    await checkSandbox(config({ NBLC_SANDBOX: 'off' }), logger);
    assert.equal(lines[0]?.[0], 'warn');
    assert.match(lines[0]![1], /NBLC_SANDBOX=off/);
    fs.writeFileSync(path.join(dir, 'nb.ipynb'), notebookJson(['import os\nprint(os.getuid(), os.getcwd())']));
    const args = ['--notebook', path.join(dir, 'nb.ipynb'), '--output', path.join(dir, 'out.ipynb')];
    args.push('--result', path.join(dir, 'r.json'), '--scratch-root', path.join(dir, 'tmp'), '--sandbox', 'off');
    const proc = spawnExecutor(PYTHON, args);
    assert.equal(await proc.exited, 0, await proc.stderr());
    const result = JSON.parse(fs.readFileSync(path.join(dir, 'r.json'), 'utf8')) as ExecutorResult;
    assert.equal(result.status, 'passed');
    assert.equal(result.sandbox, 'off');
    assert.equal(result.limits, 'none');
    assert.ok(result.peakMemoryBytes! > 0 && result.cpuSeconds! > 0, 'still measured (getrusage)');
    assert.match(fs.readFileSync(path.join(dir, 'out.ipynb'), 'utf8'), new RegExp(`${process.getuid?.()} ${dir}`));
  });

  test('a non-root worker: the kernel is sandboxed in a user namespace', { skip: !rootWithSystemPython }, () => {
    const probe = probeAsUser({ network: 'none' });
    assert.equal(probe.ok, true, probe.error);
    assert.equal(probe.backend, 'namespaces');
    assert.equal(probe.limits, 'rlimit', 'no cgroup of its own: the per-process limit');
  });

  test('a non-root worker: bubblewrap applies the same policy', { skip: !rootWithSystemPython }, () => {
    const probe = probeAsUser({ backend: 'bwrap', network: 'none' });
    assert.equal(probe.ok, true, probe.error);
    assert.equal(probe.backend, 'bubblewrap');
  });

  // slirp4netns opens /dev/net/tun inside the kernel's namespaces as the worker's user: where the
  // host leaves it to root (mode 0600, some containers), outbound cannot work and the worker must
  // refuse to start naming the alternatives; elsewhere both backends get the outbound network.
  const tunForAll = (() => {
    try {
      return (fs.statSync('/dev/net/tun').mode & 0o006) === 0o006;
    } catch {
      return false;
    }
  })();
  for (const backend of ['auto', 'bwrap'])
    test(`a non-root worker with NBLC_KERNEL_NETWORK=outbound (${backend})`, { skip: !rootWithSystemPython }, () => {
      const probe = probeAsUser({ backend, network: 'outbound' });
      if (tunForAll) {
        assert.equal(probe.ok, true, probe.error);
      } else {
        assert.equal(probe.ok, false);
        assert.match(probe.error ?? '', /NBLC_KERNEL_NETWORK=outbound/);
        assert.match(probe.error ?? '', /NBLC_KERNEL_NETWORK=none .*NBLC_KERNEL_NETWORK=host/s);
      }
    });

  test(
    'a non-root worker whose host refuses user namespaces (bubblewrap too) refuses to start',
    {
      skip: !rootWithSystemPython,
    },
    () => {
      // `nblc worker` as the kernel user inside a user namespace where user.max_user_namespaces is
      // 0: no further namespace can be made, as under Docker's default seccomp profile.
      const r = spawnSync(PYTHON, ['-c', NO_USER_NAMESPACES, process.execPath, NBLC_BIN, 'worker'], {
        encoding: 'utf8',
        cwd: '/',
        env: {
          PATH: process.env.PATH,
          HOME: '/tmp',
          NBLC_REPO_URL: '/x',
          NBLC_REPO_FULL_NAME: 'a/b',
          NBLC_PYTHON: SYSTEM_PYTHON,
        },
      });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /notebook sandbox does not work on this host: .*namespace/s);
      assert.match(r.stderr, /user namespaces are refused to this worker/);
      assert.match(r.stderr, /In Docker: give the worker service the security_opt of docker-compose\.yml/);
      assert.match(r.stderr, /NBLC_SANDBOX=off/);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    },
  );

  test('as root, bubblewrap is refused: it would run the kernel as root or fail on private folders', async () => {
    const r = spawnSync(PYTHON, [PROBE, JSON.stringify({ backend: 'bwrap' })], { encoding: 'utf8' });
    const probe = JSON.parse(r.stdout) as { ok: boolean; error?: string };
    assert.equal(probe.ok, process.getuid?.() !== 0);
    if (!probe.ok) assert.match(probe.error ?? '', /bubblewrap fallback is for a worker that does not run as root/);
  });
});
