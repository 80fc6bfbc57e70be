// cgroup v2, on a host whose memory controller is bound to cgroup v1 (this project's CI): a real
// cgroup2 file system is mounted at a private path and a folder of it is NBLC_CGROUP_ROOT. The
// tests exercise what v2 gives there (detection, a cgroup per notebook, processes moved in,
// cgroup.kill and cpu.stat) and the fallbacks for memory: through v1 when it is mounted, per
// process (RLIMIT_DATA) when not. memory.max, memory.peak and memory.events' oom_kill need the
// memory controller on v2 and cannot be exercised here (docs/security.md). Root only.
//   node --import tsx --test test/system/sandbox/cgroup-v2.test.ts
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { spawnExecutor } from '../../../src/activities/runs/executor-process.js';
import { probeSandbox, sandboxArgs } from '../../../src/activities/runs/sandbox.js';
import { loadConfig, PROJECT_ROOT } from '../../../src/platform/config.js';
import type { ExecutorResult } from '../../../src/domain/runs/model.js';
import { waitFor } from '../../helpers/fixtures.js';
import { notebookJson } from '../../helpers/notebooks.js';
import { pidsMarked } from './host-processes.js';

const PYTHON = path.join(PROJECT_ROOT, '.venv', 'bin', 'python');
const PROBE = path.join(PROJECT_ROOT, 'python', 'nblc_sandbox_probe.py');
const MARKER = `nblccg${process.pid}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nblc-cgroup2-'));
const mountPoint = path.join(dir, 'cgroup2');
/** NBLC_CGROUP_ROOT: a folder of our own in the (one) v2 hierarchy, as a delegation would give. */
const root = path.join(mountPoint, `nblc-test-${process.pid}`);

const mounted = (() => {
  if (process.getuid?.() !== 0) return false;
  fs.mkdirSync(mountPoint);
  return spawnSync('mount', ['-t', 'cgroup2', 'none', mountPoint]).status === 0;
})();

const config = () =>
  loadConfig({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NBLC_REPO_URL: '/x',
    NBLC_REPO_FULL_NAME: 'a/b',
    NBLC_NOTEBOOK_MEMORY: '512M',
    NBLC_CGROUP_ROOT: root,
  });

/** Python with nblc's modules, run as the executor would; prints one JSON line. */
function python(code: string, wrap: string[] = []) {
  const r = spawnSync(wrap[0] ?? PYTHON, [...wrap.slice(1), ...(wrap.length ? [PYTHON] : []), '-c', code], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, PYTHONPATH: path.join(PROJECT_ROOT, 'python') },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

/** A host with cgroup v2 only: a mount namespace without the v1 hierarchies. */
const withoutV1 = [
  'unshare',
  '--mount',
  '--propagation',
  'private',
  'sh',
  '-c',
  'for m in /sys/fs/cgroup/*; do grep -q " $m cgroup " /proc/mounts && umount "$m"; done; exec "$@"',
  'sh',
];

/** Leftovers of a failed test: processes killed, cgroups removed, the file system unmounted. */
function removeCgroups(folder: string) {
  if (!fs.existsSync(folder)) return;
  for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
    if (entry.isDirectory()) removeCgroups(path.join(folder, entry.name));
  }
  if (fs.existsSync(path.join(folder, 'cgroup.kill'))) fs.writeFileSync(path.join(folder, 'cgroup.kill'), '1');
  for (let i = 0; i < 100; i++) {
    try {
      fs.rmdirSync(folder);
      return;
    } catch {
      spawnSync('sleep', ['0.05']);
    }
  }
}

describe('cgroup v2 (a private cgroup2 mount as NBLC_CGROUP_ROOT)', { skip: !mounted, timeout: 180_000 }, () => {
  before(() => fs.mkdirSync(root));
  after(() => {
    removeCgroups(root);
    spawnSync('umount', [mountPoint]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the worker detects v2 and says how memory is bounded without its memory controller', async () => {
    assert.doesNotMatch(fs.readFileSync(path.join(root, 'cgroup.controllers'), 'utf8'), /memory/);
    const probe = await probeSandbox(config());
    assert.equal(probe.ok, true, probe.error);
    assert.equal(probe.limits, 'cgroup1', 'the memory limit went to v1, mounted beside v2 here');
    assert.match(probe.cgroup ?? '', new RegExp(`cgroup v2: notebook cgroups below ${root}`));
    assert.match(probe.cgroup ?? '', /no memory controller on v2 there: memory limited through cgroup v1/);
    assert.deepEqual(
      fs.readdirSync(root).filter((n) => n.startsWith('nblc-nb-')),
      [],
      'removed after use',
    );
  });

  test('without v1 either: memory per process (RLIMIT_DATA), said so', () => {
    const settings = JSON.stringify({ memory: '512M', cgroupRoot: root });
    const probe = python(
      `import runpy, sys; sys.argv = ['p', ${JSON.stringify(settings)}]; runpy.run_path(${JSON.stringify(PROBE)}, run_name='__main__')`,
      withoutV1,
    );
    assert.equal(probe.ok, true, String(probe.error));
    assert.equal(probe.limits, 'rlimit');
    assert.match(String(probe.cgroup), /no memory controller on v2 there: memory limited per process \(RLIMIT_DATA\)/);
  });

  test(
    'a worker that is not root, in a cgroup delegated to it (systemd Delegate=yes), moves to its leaf',
    {
      skip: spawnSync('id', ['nblc-kernel']).status !== 0,
    },
    () => {
      // What systemd does for Delegate=yes: the cgroup and its cgroup.procs, cgroup.threads and
      // cgroup.subtree_control belong to the service's user, and user.delegate is set.
      const delegated = path.join(mountPoint, `nblc-test-${process.pid}-delegated`);
      fs.mkdirSync(delegated);
      const [uid, gid] = ['-u', '-g'].map((f) =>
        Number(spawnSync('id', [f, 'nblc-kernel'], { encoding: 'utf8' }).stdout),
      );
      for (const f of ['', 'cgroup.procs', 'cgroup.threads', 'cgroup.subtree_control'])
        fs.chownSync(path.join(delegated, f), uid!, gid!);
      try {
        python(`import os; os.setxattr(${JSON.stringify(delegated)}, "user.delegate", b"1"); print("{}")`);
        // the probe as that user, started in the delegated cgroup (as the service's processes are)
        const settings = JSON.stringify({ memory: '512M', network: 'none' }); // cgroups here, not the network
        const asWorker = `echo $$ > ${delegated}/cgroup.procs && exec setpriv --reuid nblc-kernel --regid nblc-kernel --clear-groups /usr/bin/python3 ${PROBE} '${settings}'`;
        const r = spawnSync('sh', ['-c', asWorker], { encoding: 'utf8', cwd: '/', env: { PATH: process.env.PATH } });
        assert.equal(r.status, 0, r.stderr);
        const probe = JSON.parse(r.stdout) as { ok: boolean; limits?: string; cgroup?: string; error?: string };
        assert.equal(probe.ok, true, probe.error);
        assert.match(
          probe.cgroup ?? '',
          // seen through the first cgroup2 mount of the host's (the same hierarchy as ours)
          new RegExp(
            `worker moved to \\S*/${path.basename(delegated)}/nblc-worker; cgroup v2: notebook cgroups below \\S*/${path.basename(delegated)} \\(no controllers\\)`,
          ),
        );
        assert.match(probe.cgroup ?? '', /memory limited per process \(RLIMIT_DATA\)/, 'v1 is not this user’s');
        assert.equal(probe.limits, 'rlimit');
        assert.deepEqual(
          fs.readdirSync(delegated).filter((n) => n.startsWith('nblc-')),
          ['nblc-worker'],
        );
      } finally {
        removeCgroups(delegated);
      }
    },
  );

  test('a notebook cgroup holds every process it is given; cgroup.kill and then the listed pids end them all', () => {
    const out = python(`
import json, os, subprocess, time
from nblc_cgroup import Limits
lim = Limits(256 << 20, root=${JSON.stringify(root)})
d = lim.dirs["unified"]
assert os.path.exists(d + "/cgroup.kill")
# a process that starts two daemons in new sessions (they leave its process group and parentage)
sh = subprocess.Popen(["sh", "-c", "setsid sleep 300 & setsid sleep 300 & exec sleep 300"], preexec_fn=lambda: lim.add(os.getpid()))
for _ in range(250):
    pids = open(d + "/cgroup.procs").read().split()
    if len(pids) >= 3:
        break
    time.sleep(0.02)
lim.kill_all()
sh.wait()
alive = [p for p in pids if os.path.exists(f"/proc/{p}") and open(f"/proc/{p}/stat").read().split(") ")[1][0] != "Z"]
usage = lim.usage()
lim.remove()
print(json.dumps({"mode": lim.mode, "v2": d, "pids": pids, "alive": alive, "left": os.path.exists(d), "cpu": usage["cpu"]}))
`);
    assert.equal(out.mode, 'cgroup1');
    assert.ok(String(out.v2).startsWith(`${root}/nblc-nb-`));
    assert.equal((out.pids as string[]).length, 3, 'the process and both daemons');
    assert.deepEqual(out.alive, []);
    assert.equal(out.left, false);
    assert.equal(typeof out.cpu, 'number');
  });

  test('without cgroup.kill (Linux < 5.14): each listed pid is killed until none is left', () => {
    const out = python(`
import json, os, subprocess, time
from nblc_cgroup import Limits
lim = Limits(None, root=${JSON.stringify(root)})
procs = lim.dirs["unified"] + "/cgroup.procs"
sh = subprocess.Popen(["sh", "-c", "setsid sleep 300 & exec sleep 300"], preexec_fn=lambda: lim.add(os.getpid()))
while len(open(procs).read().split()) < 2:
    time.sleep(0.02)
Limits._kill_listed(procs)
sh.wait()
left = open(procs).read().split()
lim.remove()
print(json.dumps({"left": left}))
`);
    assert.deepEqual(out.left, []);
  });

  test('a notebook run: its processes are in the v2 cgroup, its daemon dies with it', async () => {
    const nb = path.join(dir, 'nb.ipynb');
    // a daemon in a new session that should not outlive the notebook, and a process the cell
    // waits for, ended by the test once it has found both in the notebook's v2 cgroup
    const cell = [
      'import subprocess, sys',
      'sleep = [sys.executable, "-c", "import time; time.sleep(300)"]',
      `subprocess.Popen([*sleep, "${MARKER}d"], start_new_session=True)`,
      `subprocess.Popen([*sleep, "${MARKER}w"]).wait()`,
    ].join('\n');
    fs.writeFileSync(nb, notebookJson([cell]));
    const args = ['--notebook', nb, '--output', path.join(dir, 'out.ipynb'), '--result', path.join(dir, 'r.json')];
    args.push('--scratch-root', path.join(dir, 'tmp'), ...sandboxArgs(config()));
    assert.ok(args.includes('--cgroup-root'));
    const proc = spawnExecutor(PYTHON, args);
    await waitFor('both processes', async () => pidsMarked(MARKER).length === 2, 60_000).catch(async (err: Error) => {
      proc.kill('SIGKILL');
      throw new Error(`${err.message}; executor: ${await proc.stderr()}`);
    });
    const [cgroup, ...others] = fs.readdirSync(root).filter((n) => n.startsWith('nblc-nb-'));
    assert.ok(cgroup && others.length === 0);
    const members = fs.readFileSync(path.join(root, cgroup, 'cgroup.procs'), 'utf8').split('\n');
    for (const pid of pidsMarked(MARKER)) assert.ok(members.includes(String(pid)), `${pid} in ${cgroup}`);
    for (const pid of pidsMarked(`${MARKER}w`)) process.kill(pid, 'SIGKILL');
    assert.equal(await proc.exited, 0, await proc.stderr());
    const result = JSON.parse(fs.readFileSync(path.join(dir, 'r.json'), 'utf8')) as ExecutorResult;
    assert.equal(result.status, 'passed', JSON.stringify(result));
    assert.equal(result.limits, 'cgroup1');
    assert.ok(result.cpuSeconds! > 0, 'cpu.stat of the v2 cgroup');
    assert.deepEqual(pidsMarked(MARKER), []);
    assert.deepEqual(
      fs.readdirSync(root).filter((n) => n.startsWith('nblc-nb-')),
      [],
    );
  });
});
