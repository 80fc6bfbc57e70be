// NBLC_NOTEBOOK_DISK bounds the notebook's writable folder and its /tmp together, in every
// sandbox mode this host can run (docs/security.md, "Disk"): namespaces as root, a user namespace
// and bubblewrap for a worker that is not root. Each mode runs the real launcher and policy
// (python/nblc_kernel_sandbox.py, as a notebook's kernel runs) with a 16 MiB bound around a
// command that writes into its folder and /tmp; the executor's own annotation (nblc_containment)
// turns the error into the result's words. The non-root modes run as the kernel user with the
// system's Python, as test/system/sandbox/fallbacks.test.ts does.
//   node --import tsx --test test/system/sandbox/disk-bound.test.ts
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { PROJECT_ROOT } from '../../../src/platform/config.js';

const SYSTEM_PYTHON = '/usr/bin/python3';
const PYTHON_DIR = path.join(PROJECT_ROOT, 'python');
const canRun = process.getuid?.() === 0 && fs.existsSync(SYSTEM_PYTHON);

// Inside the sandbox (python -S): 4 MiB in the folder is fine; then 6 MiB in /tmp and 12 MiB more
// in the folder pass the bound only together; a committed file of the folder is there to read.
const INSIDE = `
import json, os
out = {"committed": open("sub/kept.txt").read(), "pid": os.getpid()}
def write(name, mib):
    try:
        with open(name, "wb") as f:
            for _ in range(mib):
                f.write(b"x" * (1 << 20))
        return "ok"
    except OSError as e:
        return f"{type(e).__name__}: [Errno {e.errno}] {e.strerror}"
out["small"] = write("small.bin", 4)
os.remove("small.bin")
out["tmp"] = write("/tmp/t.bin", 6)
out["folder"] = write("big.bin", 12)
print(json.dumps(out))
`;

// On the host: the sandbox around INSIDE, then the result as the executor annotates it.
const OUTSIDE = `
import json, os, subprocess, sys, tempfile
sys.path.insert(0, sys.argv[1])
from nblc_containment import Containment, annotate
from nblc_kernel_sandbox import KernelSandbox
tmp = tempfile.mkdtemp(prefix="nblc-disk-")
folder = os.path.join(tmp, "snapshot", "nbs")
os.makedirs(os.path.join(folder, "sub"))
open(os.path.join(folder, "sub", "kept.txt"), "w").write("committed")
notebook = os.path.join(folder, "nb.ipynb")
open(notebook, "w").close()
sandbox = KernelSandbox(os.path.join(tmp, "snapshot"), notebook, os.path.join(tmp, "scratch"), "nblc-kernel",
    None, [], masks=[], backend=sys.argv[2], cgroup=False,
    containment=Containment("none", "", disk=16 << 20, seccomp=True))
work = sandbox.prepare()
run = subprocess.run(sandbox.launcher([sys.executable, "-E", "-s", "-S", "-c", sys.argv[3]]),
    env=sandbox.env(os.environ), capture_output=True, text=True, timeout=120)
sandbox.finish(); sandbox.cleanup()
inside = json.loads(run.stdout) if run.returncode == 0 else {"error": run.stderr[-2000:]}
if "folder" in inside:
    result = annotate({"status": "failed", "message": inside["folder"]}, sandbox)
    inside["result"] = {"message": result["message"], "diskFull": result.get("diskFull", False)}
inside["host_copy_has_big"] = os.path.exists(os.path.join(work, "big.bin"))
print(json.dumps(inside))
`;

/** The bounded command in `backend`, as root or as the kernel user. */
function runBounded(backend: string, asRoot: boolean) {
  const argv = [SYSTEM_PYTHON, '-c', OUTSIDE, PYTHON_DIR, backend, INSIDE];
  const [cmd, ...args] = asRoot
    ? argv
    : ['setpriv', '--reuid', 'nblc-kernel', '--regid', 'nblc-kernel', '--clear-groups', ...argv];
  const r = spawnSync(cmd!, args, { encoding: 'utf8', cwd: '/', env: { PATH: process.env.PATH, LANG: 'C.UTF-8' } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown> & { result?: { message: string; diskFull: boolean } };
}

const MODES: Array<[string, string, boolean]> = [
  ['namespaces, as root', 'auto', true],
  ['a user namespace, not root', 'auto', false],
  ['bubblewrap, not root', 'bwrap', false],
];

describe('the disk bound covers the folder and /tmp together', { skip: !canRun, timeout: 300_000 }, () => {
  for (const [name, backend, asRoot] of MODES)
    test(name, () => {
      const out = runBounded(backend, asRoot);
      assert.ok(!out.error, String(out.error));
      // the launcher's own kernel is PID 1 of its namespace; bwrap's kernel is not
      assert.equal(out.pid === 1, backend !== 'bwrap', `the ${name} backend ran`);
      assert.equal(out.committed, 'committed', "the folder's files are there");
      assert.equal(out.small, 'ok', 'within the bound, the folder is writable');
      assert.equal(out.tmp, 'ok');
      assert.match(String(out.folder), /No space left on device/, 'past the bound: ENOSPC in the folder');
      assert.equal(out.result?.diskFull, true);
      assert.match(out.result?.message ?? '', /NBLC_NOTEBOOK_DISK, 16 MiB, is full/);
      assert.equal(out.host_copy_has_big, false, "nothing reached the host's copy of the folder");
    });
});
