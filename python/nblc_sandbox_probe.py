#!/usr/bin/env python3
"""Can this host sandbox notebook kernels? Run once when a worker starts
(src/activities/runs/sandbox.ts), with the worker's sandbox settings:

    nblc_sandbox_probe.py '{"kernelUser": "nblc-kernel", "memory": "4G", "kernelEnv": [], "cgroupRoot": null}'

It prepares cgroup v2 delegation when needed (nblc_cgroup_setup.delegate), then runs a tiny command
through the real launcher and policy, as a notebook's kernel would run, and checks from inside
that the sandbox holds. Prints one JSON line: {"ok": true, "backend", "uid", "limits", ...} or
{"ok": false, "error": "..."}; exit code 0 either way (1 only if this script itself broke).
"""

import json
import os
import subprocess
import sys
import tempfile
from typing import Any

from nblc_cgroup_setup import delegate, sweep
from nblc_containment import Containment
from nblc_files import remove_tree
from nblc_kernel_sandbox import KernelSandbox, parse_size
from nblc_policy import SandboxError

# What to do when this worker may not create namespaces (the usual failure in containers).
NAMESPACES_REFUSED = (
    " (user namespaces are refused to this worker. On a host: allow them (sysctls"
    " kernel.unprivileged_userns_clone, user.max_user_namespaces; AppArmor's"
    " kernel.apparmor_restrict_unprivileged_userns) or run the worker as root. In Docker: give the"
    " worker service the security_opt of docker-compose.yml; docs/deployment.md, 'The notebook"
    " sandbox in containers')"
)

# What to do when this host cannot give kernels their own outbound network.
NETWORK_REFUSED = (
    " (install slirp4netns (Debian package slirp4netns; scripts/setup.sh does) and, for a worker that is"
    " not root, make /dev/net/tun usable (mode 0666; in Docker: the worker's `devices: [/dev/net/tun]`);"
    " or choose NBLC_KERNEL_NETWORK=none (kernels reach nothing but their own loopback) or"
    " NBLC_KERNEL_NETWORK=host (the host's network, not isolated: every report says so); docs/security.md,"
    " 'The network boundary')"
)

# Runs inside the sandbox (python -S: nothing but the standard library).
INSIDE = r"""
import json, os, sys
host_marker = sys.argv[1]
out = {"uid": os.getuid(), "pid": os.getpid(), "cwd": os.getcwd(), "root": sorted(os.listdir("/"))}
out["sees_host_tmp"] = os.path.exists(host_marker)
out["snapshot_read"] = open("../data.txt").read()
open("written.txt", "w").write("ok")
try:
    open("../data.txt", "a")
    out["snapshot_writable"] = True
except OSError:
    out["snapshot_writable"] = False
out["environ_names"] = sorted(os.environ)
print(json.dumps(out))
"""


def probe(settings: dict[str, Any]) -> dict[str, Any]:
    cgroup_root = settings.get("cgroupRoot") or None
    cgroup_note = delegate(cgroup_root)
    swept = sweep(root=cgroup_root)
    tmp = tempfile.mkdtemp(prefix="nblc-sandbox-probe-")
    try:
        snapshot = os.path.join(tmp, "snapshot")
        os.makedirs(os.path.join(snapshot, "folder"))
        with open(os.path.join(snapshot, "data.txt"), "w") as f:
            f.write("snapshot")
        notebook = os.path.join(snapshot, "folder", "probe.ipynb")
        open(notebook, "w").close()
        sandbox = KernelSandbox(
            snapshot,
            notebook,
            os.path.join(tmp, "scratch"),
            settings.get("kernelUser", "nblc-kernel"),
            parse_size(str(settings.get("memory", "4G"))) or None,
            settings.get("kernelEnv", []),
            masks=[],
            backend=settings.get("backend", "auto"),
            cgroup_root=cgroup_root,
            containment=Containment(
                settings.get("network", "outbound"), ",".join(settings.get("networkAllow", [])), seccomp=True
            ),
        )
        try:
            work = sandbox.prepare()
            cmd = [sys.executable, "-E", "-s", "-S", "-c", INSIDE, tmp]
            run = subprocess.run(
                sandbox.launcher(cmd), env=sandbox.env(os.environ), capture_output=True, text=True, timeout=60
            )
            written = os.path.exists(os.path.join(work, "written.txt"))
        finally:
            failure = sandbox.failure()
            usage = sandbox.finish()
            sandbox.cleanup()
    finally:
        remove_tree(tmp)
    if run.returncode != 0:
        error = failure or f"exit {run.returncode}: {run.stderr.strip()[-1000:]}"
        if "NBLC_KERNEL_NETWORK" in error:
            error += NETWORK_REFUSED
        elif "namespace" in error:
            error += NAMESPACES_REFUSED
        return {"ok": False, "error": error}
    inside = json.loads(run.stdout)
    problems = [
        why
        for bad, why in (
            (inside["uid"] == 0, "the kernel ran as root"),
            (inside["sees_host_tmp"], "the host's /tmp was visible"),
            (inside["snapshot_writable"], "the snapshot was writable"),
            (inside["snapshot_read"] != "snapshot", "the snapshot was not readable"),
            (not written, "the notebook's folder was not writable"),
        )
        if bad
    ]
    if problems:
        return {"ok": False, "error": "the sandbox did not hold: " + "; ".join(problems)}
    return {
        "ok": True,
        "backend": "namespaces" if inside["pid"] == 1 else "bubblewrap",
        "uid": inside["uid"],
        "limits": sandbox.limits.mode,
        "cgroup": cgroup_note + (f"; {swept} stale notebook cgroups removed" if swept else ""),
        "cpuSeconds": usage["cpu"],
    }


def main(argv: list[str]) -> int:
    try:
        result = probe(json.loads(argv[0]) if argv else {})
    except SandboxError as e:
        result = {"ok": False, "error": str(e)}
    except Exception as e:  # the answer is for an operator: what failed, not a traceback
        result = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
