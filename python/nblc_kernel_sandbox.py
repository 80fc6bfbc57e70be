"""The executor's side of the sandbox, for one notebook: the private folders, the cgroup, the
policy of its kernel (nblc_policy), how the kernel is launched into it (nblc_sandbox) and what
is measured. The executor itself stays outside: it reads the notebook and writes the results.

On the host, per notebook:

    <scratch root>/nblc-run-XXXX/          0700, the executor's
        work/                              the notebook's folder, copied; the kernel user's
    $TMPDIR/nblc-k-XXXX/                   0700, the kernel user's: connection file and the
                                           kernel's sockets (ZeroMQ over ipc, not TCP: other
                                           kernels on this host cannot connect to them)

Inside the sandbox, `work/` is the notebook's folder in the snapshot at NOTEBOOKS; the
subfolders of that folder are bound back read-only inside it (as the unsandboxed scratch links
them), and the rest of the snapshot is read-only around it.
"""

import argparse
import json
import logging
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterable, Mapping
from typing import Any

import nblc_containment
import nblc_sandbox
from nblc_cgroup import Limits
from nblc_files import remove_tree
from nblc_policy import DEFAULT_USER, NOTEBOOKS, Policy, SandboxError, kernel_env, kernel_ids, plan, python_dirs

log = logging.getLogger("nblc_execute")
LAUNCHER = [sys.executable, "-E", "-s", "-S", nblc_sandbox.__file__]


def parse_size(text: str) -> int:
    """`4G`, `512M`, `1.5g`, `1073741824` -> bytes (binary units, as NBLC_NOTEBOOK_MEMORY)."""
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    t = text.strip().lower().removesuffix("b").removesuffix("i")
    if t and t[-1] in units:
        return int(float(t[:-1]) * units[t[-1]])
    return int(t)


class KernelSandbox:
    def __init__(
        self,
        root: str,
        notebook: str,
        scratch_root: str,
        user: str,
        memory: int | None,
        env_names: Iterable[str],
        masks: Iterable[str],
        backend: str = "auto",
        cgroup: bool = True,
        cgroup_root: str | None = None,
        containment: nblc_containment.Containment | None = None,
    ) -> None:
        self.uid, self.gid = kernel_ids(user)  # SandboxError: reported as the notebook's result
        nb_dir = os.path.dirname(os.path.abspath(notebook))
        self.root = os.path.abspath(root)
        self.rel_dir = os.path.relpath(nb_dir, self.root)
        if self.rel_dir == ".." or self.rel_dir.startswith("../"):
            self.root, self.rel_dir = nb_dir, "."  # not inside the given root: its folder is the root
        self.scratch_root = scratch_root
        self.env_names = list(env_names)
        self.masks = list(masks)
        self.backend = backend
        self.limits = Limits(memory, use_cgroup=cgroup, root=cgroup_root)
        self.containment = containment or nblc_containment.Containment()
        self.cpu_quota = self.containment.apply_to_cgroup(self.limits.dirs)  # where it is set
        self.cpu_usage: dict[str, Any] = {}
        self.private: str | None = None
        self.runtime: str | None = None
        self.subdirs: list[str] = []

    def _own(self, path: str) -> None:
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid, follow_symlinks=False)

    def prepare(self) -> str:
        """The private copy of the notebook's folder (its host path) and the runtime folder."""
        os.makedirs(self.scratch_root, exist_ok=True)
        self.private = tempfile.mkdtemp(prefix="nblc-run-", dir=self.scratch_root)
        work = os.path.join(self.private, "work")
        os.mkdir(work)
        self._own(work)
        for entry in os.scandir(os.path.join(self.root, self.rel_dir)):
            dst = os.path.join(work, entry.name)
            if entry.is_symlink():
                os.symlink(os.readlink(entry.path), dst)  # resolves in the sandbox as in the snapshot
            elif entry.is_dir():
                os.mkdir(dst)  # mount point of the read-only subfolder
                self.subdirs.append(entry.name)
            elif entry.is_file():
                shutil.copyfile(entry.path, dst)
                os.chmod(dst, stat.S_IMODE(entry.stat().st_mode) | stat.S_IRUSR | stat.S_IWUSR)
            else:
                continue  # sockets, fifos and devices are not mirrored
            self._own(dst)
        self.runtime = tempfile.mkdtemp(prefix="nblc-k-")
        self._own(self.runtime)
        return work

    @property
    def cwd(self) -> str:
        return os.path.normpath(os.path.join(NOTEBOOKS, self.rel_dir))

    @property
    def error_file(self) -> str:
        return os.path.join(self.runtime or "/nonexistent", "sandbox-error")

    def configure(self, km: Any) -> None:
        """ZeroMQ over Unix sockets in the runtime folder, which only this kernel can see."""
        assert self.runtime is not None, "prepare() first"
        km.transport = "ipc"
        km.connection_file = os.path.join(self.runtime, "kernel.json")
        km.ip = os.path.join(self.runtime, "ipc")

    def env(self, env: Mapping[str, str], kernel_spec: Any = None) -> dict[str, str]:
        """The kernel's environment: the allow-list, and what its kernelspec sets (installed
        by the operator, merged in by jupyter_client: e.g. a conda kernel's PATH)."""
        spec_env = getattr(kernel_spec, "env", None) or {}
        return kernel_env(env, [*self.env_names, *spec_env])

    def policy(self, cmd: list[str], kernel_spec: Any = None) -> Policy:
        """The policy of a kernel command: this Python, or another environment's interpreter
        (its prefix) and the kernelspec's folder (its argv may name files there)."""
        assert self.runtime is not None and self.private is not None, "prepare() first"
        extra = [] if cmd[0] == sys.executable else python_dirs(cmd[0])
        resource_dir = getattr(kernel_spec, "resource_dir", None)
        if resource_dir:
            extra.append(resource_dir)
        for name in os.listdir(self.runtime):  # the connection file: read by the kernel
            self._own(os.path.join(self.runtime, name))
        policy = plan(
            snapshot=self.root,
            rel_dir=self.rel_dir,
            scratch=os.path.join(self.private, "work"),
            runtime_dir=self.runtime,
            subdirs=self.subdirs,
            extra_dirs=extra,
            masks=self.masks,
            uid=self.uid,
            gid=self.gid,
            data_limit=self.limits.data_limit,
            cgroups=self.limits.procs_files,
            backend=self.backend,
        )
        policy["error_file"] = self.error_file
        self.containment.apply_to_policy(policy)
        return policy

    def launcher(self, cmd: list[str], kernel_spec: Any = None) -> list[str]:
        """`cmd` wrapped in the sandbox launcher (spawned kernels)."""
        if os.path.isabs(cmd[0]):
            cmd = [os.path.normpath(cmd[0]), *cmd[1:]]  # `..` must not pass through an absent folder
        return [*LAUNCHER, json.dumps(self.policy(cmd, kernel_spec)), "--", *cmd]

    def failure(self) -> str | None:
        """Why the sandbox could not be set up, if that is why the kernel did not start."""
        try:
            with open(self.error_file, encoding="utf-8") as f:
                return f.read().strip() or None
        except OSError:
            return None

    def finish(self) -> dict[str, Any]:
        """Once the kernel has been stopped: kill what is left, measure, remove the cgroup."""
        self.limits.kill_all()
        usage = self.limits.usage()
        self.cpu_usage = nblc_containment.cpu_usage(self.limits.dirs)
        self.limits.remove()
        return usage

    def cleanup(self) -> None:
        for path in (self.private, self.runtime):
            if path:
                remove_tree(path)
        self.private = self.runtime = None

    def close(self) -> None:
        """Whatever happened before: nothing of the notebook is left (idempotent)."""
        self.limits.kill_all()
        self.limits.remove()
        self.cleanup()


def add_sandbox_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", help="the snapshot the notebook is in, read-only in the sandbox (default: its folder)")
    p.add_argument("--sandbox", choices=["on", "off"], default="on", help="run the kernel in the sandbox")
    p.add_argument("--kernel-user", default=DEFAULT_USER, help="the kernel's user when running as root")
    p.add_argument("--memory", default="4G", help="memory of the notebook's processes together (0: no limit)")
    p.add_argument("--kernel-env", default="", help="comma-separated variables passed on to the kernel")
    p.add_argument("--mask", action="append", default=[], help="a path hidden in the sandbox if it were visible")
    p.add_argument("--sandbox-backend", choices=["auto", "namespaces", "bwrap"], default="auto", help=argparse.SUPPRESS)
    p.add_argument("--cgroup-root", help="a cgroup v2 folder for the notebooks' cgroups (NBLC_CGROUP_ROOT)")
    p.add_argument("--no-cgroup", action="store_true", help=argparse.SUPPRESS)  # tests of the fallback
    nblc_containment.add_arguments(p)


def make_sandbox(args: argparse.Namespace) -> KernelSandbox | str | None:
    """The notebook's sandbox; a string: why there can be none (reported as the notebook's
    result, an infrastructure failure); None: NBLC_SANDBOX=off."""
    if args.sandbox == "off":
        log.warning("NBLC_SANDBOX=off: the kernel runs unsandboxed, as this service's user")
        return None
    try:
        return KernelSandbox(
            args.root or os.path.dirname(os.path.abspath(args.notebook)),
            args.notebook,
            args.scratch_root,
            args.kernel_user,
            parse_size(args.memory) or None,
            [n.strip() for n in args.kernel_env.split(",") if n.strip()],
            args.mask,
            backend=args.sandbox_backend,
            cgroup=not args.no_cgroup,
            cgroup_root=args.cgroup_root,
            containment=nblc_containment.Containment.from_args(args, parse_size),
        )
    except (SandboxError, ValueError) as e:
        return str(e)
