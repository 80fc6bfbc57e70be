"""One cgroup per notebook: its memory limit (all its processes together), peak memory, CPU
time, whether the OOM killer struck, and a way to kill whatever is left. Created by the
executor (outside the sandbox) under the worker's own cgroup, so the worker's limits still
bound it, or under NBLC_CGROUP_ROOT (a cgroup v2 folder delegated to nblc); cgroup v2 (unified)
or v1 (memory, cpuacct, pids hierarchies). On v2 without the memory controller (a hybrid host
binds it to v1; a delegation may leave it out) the notebook still gets a v2 cgroup, which holds
and kills its processes and counts its CPU, and its memory is bounded through v1 if mounted,
else per process.

Without a writable cgroup (Limits.mode "rlimit") the sandbox bounds each process's data with
RLIMIT_DATA instead, and the executor measures with getrusage: CPU of the kernel's processes it
reaped, and the peak of the largest single process, not of all together.
"""

import contextlib
import os
import resource
import signal
import time
import uuid

ROOT = "/sys/fs/cgroup"
PIDS_MAX = 1024  # tasks (processes and threads) per notebook: a fork bomb stops here
WORKER_LEAF = "nblc-worker"  # v2: where the worker's own processes move (nblc_sandbox_probe)


def _read(path: str) -> str:
    with open(path, encoding="ascii") as f:
        return f.read()


def _write(path: str, value: str) -> None:
    with open(path, "w", encoding="ascii") as f:
        f.write(value)


def _flat(path: str) -> dict[str, int]:
    """`key value` lines (memory.events, cpu.stat, memory.oom_control)."""
    out = {}
    with contextlib.suppress(OSError):
        for line in _read(path).splitlines():
            key, _, value = line.partition(" ")
            with contextlib.suppress(ValueError):
                out[key] = int(value)
    return out


def _mounts() -> dict[str, tuple[str, str]]:
    """controller (or "unified") -> (mount point, mount root) of the cgroup file systems."""
    found: dict[str, tuple[str, str]] = {}
    for line in _read("/proc/self/mountinfo").splitlines():
        fields = line.split()
        sep = fields.index("-")
        fstype, opts = fields[sep + 1], fields[sep + 3].split(",")
        if fstype == "cgroup2":
            found.setdefault("unified", (fields[4], fields[3]))
        elif fstype == "cgroup":
            for opt in opts:
                found.setdefault(opt, (fields[4], fields[3]))
    return found


def own_dirs() -> dict[str, str]:
    """controller (or "unified") -> the directory of this process's cgroup."""
    mounts, dirs = _mounts(), {}
    for line in _read("/proc/self/cgroup").splitlines():
        _, names, path = line.split(":", 2)
        for name in names.split(",") if names else ["unified"]:
            if name in mounts:
                point, root = mounts[name]
                rel = path[len(root) :] if path.startswith(root) and root != "/" else path
                dirs[name] = os.path.normpath(point + "/" + rel)
    return dirs


def v2_parent(own: str) -> str:
    """Notebook cgroups go beside the worker's leaf when nblc_sandbox_probe made one, else below ours."""
    return os.path.dirname(own) if os.path.basename(own) == WORKER_LEAF else own


def is_v2(path: str) -> bool:
    return os.path.exists(f"{path}/cgroup.controllers")


def v2_base(root: str | None = None) -> str | None:
    """Where notebook cgroups go on v2: the configured root, or the worker's own cgroup once
    delegate() made it nblc's (moved to its leaf, or memory enabled for the children)."""
    if root:
        return root if is_v2(root) else None
    unified = own_dirs().get("unified")
    if not unified:
        return None
    parent = v2_parent(unified)
    with contextlib.suppress(OSError):
        if parent != unified or "memory" in _read(f"{parent}/cgroup.subtree_control").split():
            return parent
    return None


class Limits:
    def __init__(self, memory: int | None, use_cgroup: bool = True, root: str | None = None) -> None:
        self.memory = memory
        self.mode = "rlimit"  # how memory is bounded: "cgroup2" | "cgroup1" | "rlimit"
        self.dirs: dict[str, str] = {}  # controller (or "unified") -> the notebook's cgroup
        if not use_cgroup:
            return
        name = f"nblc-nb-{uuid.uuid4().hex[:12]}"
        try:
            self._create(name, root)
        except OSError:
            self.remove()  # half made: not used
            self.mode = "rlimit"

    def _create(self, name: str, root: str | None) -> None:
        own = own_dirs()
        base = v2_base(root)
        if base:
            d = self._mkdir("unified", f"{base}/{name}")
            enabled = _read(f"{d}/cgroup.controllers").split()
            if "memory" in enabled:
                if self.memory:
                    _write(f"{d}/memory.max", str(self.memory))
                    with contextlib.suppress(OSError):
                        _write(f"{d}/memory.swap.max", "0")  # swapping is not a way past the limit
                _write(f"{d}/memory.oom.group", "1")  # the OOM killer takes the whole notebook
                self.mode = "cgroup2"
            if "pids" in enabled:
                _write(f"{d}/pids.max", str(PIDS_MAX))
            if self.mode == "cgroup2":
                return
        # cgroup v1: the memory hierarchy (alone, or beside a v2 cgroup without memory)
        if "memory" not in own:
            return
        if "unified" in self.dirs and not os.access(own["memory"], os.W_OK):
            return  # v1 is not ours (a worker that is not root): v2 alone, memory per process
        d = self._mkdir("memory", f"{own['memory']}/{name}")
        if self.memory:
            _write(f"{d}/memory.limit_in_bytes", str(self.memory))
            with contextlib.suppress(OSError):  # only with swap accounting
                _write(f"{d}/memory.memsw.limit_in_bytes", str(self.memory))
        for ctl in ("cpuacct", "pids"):
            if ctl in own:
                self._mkdir(ctl, f"{own[ctl]}/{name}")
        if "pids" in self.dirs:
            _write(f"{self.dirs['pids']}/pids.max", str(PIDS_MAX))
        self.mode = "cgroup1"

    def _mkdir(self, ctl: str, path: str) -> str:
        os.mkdir(path)
        self.dirs[ctl] = path
        return path

    @property
    def procs_files(self) -> list[str]:
        return [f"{d}/cgroup.procs" for d in self.dirs.values()]

    @property
    def data_limit(self) -> int | None:
        """The per-process fallback limit, when no cgroup bounds the notebook."""
        return self.memory if self.mode == "rlimit" else None

    def add(self, pid: int) -> None:
        for procs in self.procs_files:
            _write(procs, str(pid))

    def usage(self) -> dict[str, int | float | None]:
        """peak (bytes), cpu (seconds), oom_kills; read once the kernel has ended."""
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)  # the kernel's processes we reaped
        peak: int | None = ru.ru_maxrss * 1024
        cpu: float = ru.ru_utime + ru.ru_stime
        oom = 0
        d = self.dirs
        if self.mode == "cgroup2":
            with contextlib.suppress(OSError, ValueError):  # memory.peak: Linux 5.19 and later
                peak = int(_read(f"{d['unified']}/memory.peak"))
            oom = _flat(f"{d['unified']}/memory.events").get("oom_kill", 0)
        elif self.mode == "cgroup1":
            with contextlib.suppress(OSError, ValueError):
                peak = int(_read(f"{d['memory']}/memory.max_usage_in_bytes"))
            oom = _flat(f"{d['memory']}/memory.oom_control").get("oom_kill", 0)
        if "unified" in d:  # cpu.stat's usage_usec is there with or without the cpu controller
            cpu = _flat(f"{d['unified']}/cpu.stat").get("usage_usec", cpu * 1e6) / 1e6
        elif "cpuacct" in d:
            with contextlib.suppress(OSError, ValueError):
                cpu = int(_read(f"{d['cpuacct']}/cpuacct.usage")) / 1e9
        return {"peak": peak, "cpu": round(cpu, 3), "oom_kills": oom}

    def kill_all(self) -> None:
        """Nothing of the notebook survives it (the PID namespace should already see to that):
        v2's cgroup.kill (Linux 5.14 and later) kills every process of the cgroup at once, even
        one forking meanwhile; else each pid it lists, until none is left."""
        if not self.dirs:
            return
        if "unified" in self.dirs:
            with contextlib.suppress(OSError):
                _write(f"{self.dirs['unified']}/cgroup.kill", "1")
        for procs in self.procs_files:
            self._kill_listed(procs)

    @staticmethod
    def _kill_listed(procs: str) -> None:
        for _ in range(50):
            try:
                pids = [int(p) for p in _read(procs).split()]
            except OSError:
                return
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)

    def remove(self) -> None:
        """rmdir waits for killed processes to be gone (EBUSY until then), at most ~5 s each;
        what is left then is swept by the next worker start (sweep)."""
        for ctl, d in list(self.dirs.items()):
            for _ in range(250):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
            self.dirs.pop(ctl, None)
