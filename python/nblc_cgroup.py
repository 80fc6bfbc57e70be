"""One cgroup per notebook: its memory limit (all its processes together), peak memory, CPU
time, whether the OOM killer struck, and a way to kill whatever is left. Created by the
executor (outside the sandbox) under the worker's own cgroup, so the worker's limits still
bound it; cgroup v2 (unified) or v1 (memory, cpuacct, pids hierarchies).

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
WORKER_LEAF = "nblc-worker"  # v2: where the worker's own processes move (nblc_probe)


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
    """Notebook cgroups go beside the worker's leaf when nblc_probe made one, else below ours."""
    return os.path.dirname(own) if os.path.basename(own) == WORKER_LEAF else own


def delegate() -> str:
    """cgroup v2 allows no processes in a cgroup whose children have controllers, so notebook
    cgroups cannot go below the worker's own as they are. Where the worker's cgroup is its to
    manage (the root of its cgroup namespace, as in a container, or one systemd delegated with
    Delegate=yes), move its processes into a leaf WORKER_LEAF and enable memory, pids and cpu
    for the children. Anywhere else nothing is moved: the notebooks fall back to rlimits.
    Returns what was done, for the worker's log."""
    unified = own_dirs().get("unified")
    if not unified or os.geteuid() != 0:
        return "no cgroup v2 change"
    own = v2_parent(unified)
    try:
        controllers = _read(f"{own}/cgroup.controllers").split()
        if "memory" not in controllers:
            return "cgroup v2 without the memory controller (cgroup v1 used if mounted)"
        if "memory" in _read(f"{own}/cgroup.subtree_control").split():
            return f"cgroup v2: notebook cgroups below {own}"
        if not (own == _mounts()["unified"][0] or _delegated(own)):
            return f"cgroup v2: {own} is not delegated to nblc (systemd: Delegate=yes; docker: --cgroupns=private)"
        leaf = f"{own}/{WORKER_LEAF}"
        os.makedirs(leaf, exist_ok=True)
        for _ in range(20):  # processes forked meanwhile land in own too: until none is left
            pids = _read(f"{own}/cgroup.procs").split()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(OSError):  # gone meanwhile, or a kernel thread
                    _write(f"{leaf}/cgroup.procs", pid)
        wanted = [c for c in ("memory", "pids", "cpu") if c in controllers]
        _write(f"{own}/cgroup.subtree_control", " ".join(f"+{c}" for c in wanted))
        return f"cgroup v2: worker moved to {leaf}; notebooks get {', '.join(wanted)} below {own}"
    except OSError as e:
        return f"cgroup v2: {own} not usable ({e.strerror or e})"


def sweep(min_age_s: float = 600) -> int:
    """Remove notebook cgroups an executor killed by SIGKILL left behind (empty ones only: rmdir
    refuses a cgroup with processes; old ones only: a new one may not have its first yet)."""
    removed = 0
    for ctl, own in own_dirs().items():
        parent = v2_parent(own) if ctl == "unified" else own
        with contextlib.suppress(OSError):
            for entry in os.scandir(parent):
                if entry.name.startswith("nblc-nb-") and time.time() - entry.stat().st_mtime > min_age_s:
                    with contextlib.suppress(OSError):
                        os.rmdir(entry.path)
                        removed += 1
    return removed


def _delegated(path: str) -> bool:
    for name in ("trusted.delegate", "user.delegate"):
        with contextlib.suppress(OSError):
            if os.getxattr(path, name) == b"1":
                return True
    return False


class Limits:
    def __init__(self, memory: int | None, use_cgroup: bool = True) -> None:
        self.memory = memory
        self.mode = "rlimit"
        self.dirs: dict[str, str] = {}  # controller -> the notebook's cgroup
        if not use_cgroup:
            return
        name = f"nblc-nb-{uuid.uuid4().hex[:12]}"
        try:
            self._create(name)
        except OSError:
            self.remove()  # half made: not used
        if not self.dirs:
            return
        self.mode = "cgroup2" if "unified" in self.dirs else "cgroup1"

    def _create(self, name: str) -> None:
        own = own_dirs()
        unified = own.get("unified")
        if unified and "memory" in _read(f"{v2_parent(unified)}/cgroup.subtree_control").split():
            d = self._mkdir("unified", f"{v2_parent(unified)}/{name}")
            if self.memory:
                _write(f"{d}/memory.max", str(self.memory))
                with contextlib.suppress(OSError):
                    _write(f"{d}/memory.swap.max", "0")  # swapping is not a way past the limit
            _write(f"{d}/memory.oom.group", "1")  # the OOM killer takes the whole notebook
            with contextlib.suppress(OSError):
                _write(f"{d}/pids.max", str(PIDS_MAX))
            return
        if "memory" not in own:
            return
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
        if "unified" in d:
            with contextlib.suppress(OSError, ValueError):
                peak = int(_read(f"{d['unified']}/memory.peak"))
            cpu = _flat(f"{d['unified']}/cpu.stat").get("usage_usec", cpu * 1e6) / 1e6
            oom = _flat(f"{d['unified']}/memory.events").get("oom_kill", 0)
        elif "memory" in d:
            with contextlib.suppress(OSError, ValueError):
                peak = int(_read(f"{d['memory']}/memory.max_usage_in_bytes"))
            with contextlib.suppress(OSError, ValueError):
                cpu = int(_read(f"{d['cpuacct']}/cpuacct.usage")) / 1e9
            oom = _flat(f"{d['memory']}/memory.oom_control").get("oom_kill", 0)
        return {"peak": peak, "cpu": round(cpu, 3), "oom_kills": oom}

    def kill_all(self) -> None:
        """Nothing of the notebook survives it (the PID namespace should already see to that)."""
        if not self.dirs:
            return
        if "unified" in self.dirs:
            with contextlib.suppress(OSError):
                _write(f"{self.dirs['unified']}/cgroup.kill", "1")
                return
        procs = self.procs_files[0]
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
