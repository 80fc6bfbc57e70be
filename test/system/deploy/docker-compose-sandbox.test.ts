/**
 * The compose worker's notebook sandbox, checked statically (Docker does not run here): the
 * worker, and only the worker, gets what a non-root process needs to create the sandbox's
 * namespaces under Docker (a seccomp profile allowing them, no AppArmor mount ban, an unmasked
 * /proc) and nothing more (no privileged mode, no capability, no root); the profile still
 * refuses the dangerous system calls and none the sandbox makes; the image has bubblewrap.
 *
 *   node --import tsx --test test/system/deploy/docker-compose-sandbox.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { read, services } from '../../helpers/compose.js';

const worker = services.worker!;

/** `seccomp=<file>` of the worker, as a path in the repository (compose reads it relative to the project). */
const seccompFile = () => {
  const opt = (worker.security_opt ?? []).find((o) => /^seccomp[=:]/.test(o));
  assert.ok(opt, 'the worker has no seccomp profile of its own (Docker’s default refuses new namespaces)');
  return opt.slice('seccomp='.length);
};

interface SeccompRule {
  names: string[];
  action: string;
  errnoRet?: number;
  comment?: string;
  args?: unknown[];
  includes?: Record<string, unknown>;
}
interface SeccompProfile {
  defaultAction: string;
  syscalls: SeccompRule[];
}
const profile = () => JSON.parse(read(seccompFile())) as SeccompProfile;
/** System calls allowed whatever their arguments, architecture or kernel. */
const allowed = () =>
  new Set(
    profile()
      .syscalls.filter((s) => s.action === 'SCMP_ACT_ALLOW' && !s.args && !s.includes)
      .flatMap((s) => s.names),
  );

test('the worker may create the sandbox: its seccomp profile, no AppArmor mount ban, an unmasked /proc', () => {
  const opts = worker.security_opt ?? [];
  assert.equal(seccompFile(), './docker/worker-seccomp.json');
  assert.ok(opts.includes('apparmor=unconfined'), 'docker-default AppArmor denies mount, also in a user namespace');
  assert.ok(opts.includes('systempaths=unconfined'), 'masked /proc paths forbid a new /proc in the PID namespace');
  assert.equal(opts.length, 3, `nothing else: ${opts.join(', ')}`);
});

test('and nothing more: not privileged, no capabilities, not root; the other services keep Docker’s defaults', () => {
  assert.notEqual(worker.privileged, true);
  assert.deepEqual(worker.cap_add ?? [], []);
  assert.ok(!worker.user || !/^(root|0)(:|$)/.test(worker.user), 'the worker runs as the image’s user (10001)');
  for (const [name, s] of Object.entries(services)) {
    if (name === 'worker') continue;
    assert.equal(s.security_opt, undefined, `${name} relaxes its confinement`);
    assert.notEqual(s.privileged, true, `${name} is privileged`);
  }
});

test('the seccomp profile is an allow-list: Docker’s default plus exactly the sandbox’s calls', () => {
  const p = profile();
  assert.equal(
    p.defaultAction,
    'SCMP_ACT_ERRNO',
    'an allow-list, as Docker’s default: a new system call stays refused',
  );
  const ok = allowed();
  for (const name of ['init_module', 'finit_module', 'kexec_load', 'keyctl', 'add_key', 'bpf', 'perf_event_open'])
    assert.ok(!ok.has(name), `${name} is allowed`);
  for (const name of ['userfaultfd', 'io_uring_setup', 'open_by_handle_at', 'clock_settime', 'swapon', 'reboot'])
    assert.ok(!ok.has(name), `${name} is allowed`);
  // What the sandbox calls (python/nblc_linux.py, nblc_sandbox.py) and bubblewrap needs, beyond
  // Docker's default: nothing else is added (the rules marked as the sandbox's).
  const added = p.syscalls.filter((s) => /^The sandbox/.test(s.comment ?? '')).flatMap((s) => s.names);
  assert.deepEqual(added.sort(), [
    'chroot',
    'clone',
    'mount',
    'pivot_root',
    'sethostname',
    'setns',
    'umount2',
    'unshare',
  ]);
  for (const name of [...added, 'prctl', 'capset', 'setresuid', 'setgroups', 'execve', 'wait4'])
    assert.ok(ok.has(name), `${name} is refused: the sandbox cannot be built`);
  const linux = read('python/nblc_linux.py');
  for (const call of linux.match(/_libc\.(\w+)\(/g) ?? []) {
    const name = call.slice('_libc.'.length, -1);
    if (name === 'syscall') continue; // pivot_root's way in, checked by its own name above
    assert.ok(ok.has(name), `python/nblc_linux.py calls ${name}, which the profile refuses`);
  }
  // clone3 says ENOSYS, as in Docker's default, so that glibc falls back to clone.
  assert.deepEqual(
    p.syscalls.filter((s) => s.names.includes('clone3')).map((s) => [s.action, s.errnoRet]),
    [['SCMP_ACT_ERRNO', 38]],
  );
});

test('the image has bubblewrap (the fallback where the worker may not create namespaces itself)', () => {
  assert.match(read('Dockerfile'), /apt-get install[^\n]*\bbubblewrap\b/);
});

test('the image has slirp4netns and libseccomp2, and the worker gets /dev/net/tun (the kernels’ outbound network)', () => {
  assert.match(read('Dockerfile'), /apt-get install[^&]*\bslirp4netns\b[^&]*\blibseccomp2\b/);
  assert.match(
    read('docker-compose.yml'),
    /worker:[\s\S]*?devices:\s*\n\s*- \/dev\/net\/tun:\/dev\/net\/tun[\s\S]*?\n {2}api:/,
  );
});

test('the profile is not sent with the image, and the docs say what the worker gets and why', () => {
  const ignored = read('.dockerignore').split('\n');
  assert.ok(ignored.includes('docker'), '.dockerignore: docker/ is not needed in the image');
  const docs = read('docs/deployment.md');
  assert.match(docs, /The notebook sandbox in containers/);
  for (const opt of worker.security_opt ?? [])
    assert.ok(docs.includes(opt), `docs/deployment.md does not explain ${opt}`);
});
