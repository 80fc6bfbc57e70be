"""The preload's trials (nblc_preload says which names and why): each name is imported first in a
throwaway process, and in the fork server only if that was clean.
"""

import contextlib
import importlib
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable

from nblc_preload import MAX_NAMES, acceptable

RETRY = "retry"  # a verdict: printed the first time, tried once more
TRIAL_TIMEOUT_S = 60
# Caches that an installed module builds on its first import by running a program: matplotlib
# runs fc-list to find the system's fonts. The trial filter kills that import in a new HOME every
# time, so matplotlib would never be preloaded on a new host. Its cache is built once, before its
# first trial, by this code without the filter: the kernel's Python and its packages are the
# operator's (no notebook can add to them), and the program is the one the package itself runs.
CACHE_PRIMERS = {"matplotlib": "import matplotlib.font_manager"}
PRIMER_TIMEOUT_S = 120
# A trial printing more than this is killed at once (it would not get a second trial anyway).
MAX_TRIAL_OUTPUT = 64 * 1024
# Run with -c: '' (the throwaway process's empty working folder) is dropped before any import;
# then the trial filter (nblc_seccomp.trial_filter, argv[2]) is loaded when there is one.
TRIAL = (
    "import sys\n"
    "del sys.path[0]\n"
    "if len(sys.argv) > 2:\n"
    "    import base64, ctypes\n"
    "    bpf = base64.b64decode(sys.argv[2])\n"
    "    libc = ctypes.CDLL(None, use_errno=True)\n"
    "    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]\n"
    "    class Prog(ctypes.Structure):\n"
    "        _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_void_p)]\n"
    "    buf = ctypes.create_string_buffer(bpf, len(bpf))\n"
    "    prog = Prog(len(bpf) // 8, ctypes.addressof(buf))\n"
    "    if libc.prctl(38, 1, None, 0, 0) or libc.prctl(22, 2, ctypes.byref(prog), 0, 0):\n"
    "        sys.exit('the trial filter could not be loaded')\n"
    "import importlib, threading\n"
    "importlib.import_module(sys.argv[1])\n"
    "if threading.active_count() != 1:\n"
    "    sys.exit('starts a thread')\n"
)


class Preloader:
    """Tries names one at a time in a throwaway process (driven by the server's selector: the
    server keeps serving meanwhile, and no thread exists in a process that forks), then imports
    the clean ones in this process."""

    def __init__(
        self, sel: selectors.BaseSelector, log: Callable[[str], None], trial_filter: str = "", learned: str = ""
    ) -> None:
        self.sel = sel
        self.learned = learned  # the file that keeps what was learned, for the next server (a restart)
        self.log = log
        self.trial_filter = trial_filter
        self.tried: set[str] = set(sys.modules)  # already here: nothing to try
        self.queue: list[str] = []
        self.trial: tuple[str, subprocess.Popen[bytes], float] | None = None
        self.dir = tempfile.mkdtemp(prefix="nblc-preload-")
        self.loaded: list[str] = []
        self.left_out: dict[str, str] = {}
        self.printed = b""  # what the running trial printed so far
        self.retried: set[str] = set()  # printed once, tried again
        self.primed: set[str] = set()

    def want(self, names: Iterable[str]) -> None:
        """A notebook's imports: those not tried yet are queued for a trial (bounded in number)."""
        for name in names:
            if name in self.tried or len(self.tried) > len(sys.modules) + MAX_NAMES:
                continue
            self.tried.add(name)
            if acceptable(name):
                self.queue.append(name)
            else:
                self.leave_out(name, "not a module nblc preloads")
        self.next()

    def load_now(self, names: Iterable[str]) -> None:
        """The operator's preloads: tried side by side, imported before the server serves (the
        first kernels would otherwise import them themselves, at about the same cost)."""
        trials = []
        for name in dict.fromkeys(names):
            if name in self.tried:
                continue
            self.tried.add(name)
            if not acceptable(name):
                self.leave_out(name, "not a module nblc preloads")
                continue
            self.prime(name)
            trials.append((name, self.start_trial(name)))
        for name, proc in trials:
            verdict = self.judge_now(name, proc)
            if verdict == RETRY:
                verdict = self.judge_now(name, self.start_trial(name))  # the second, quiet or not
            if verdict is None:
                self.load(name)
            else:
                self.leave_out(name, verdict)

    def judge_now(self, name: str, proc: "subprocess.Popen[bytes]") -> str | None:
        """Waits for a trial and judges it (verdict)."""
        try:
            out, _ = proc.communicate(timeout=TRIAL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return f"took more than {TRIAL_TIMEOUT_S}s to import"
        return self.verdict(name, proc.returncode, out)

    def verdict(self, name: str, code: int, printed: bytes) -> str | None:
        """A finished trial's verdict: None when clean, RETRY the first time a clean exit printed
        (a cache its import built, such as matplotlib's fonts, keeps the second quiet), else why
        the module is left out."""
        if code:
            return f"does not import cleanly (exit {code}): {printed[:200]!r}"
        if printed and name not in self.retried:
            self.retried.add(name)
            self.log(json.dumps({"retrying": name, "why": f"printed the first time: {printed[:200]!r}"}))
            return RETRY
        return f"prints when imported: {printed[:200]!r}" if printed else None

    def prime(self, name: str) -> None:
        """Builds the cache of CACHE_PRIMERS' modules once (see there); a failure only leaves the
        module to its trial."""
        top = name.split(".")[0]
        if top not in CACHE_PRIMERS or top in self.primed:
            return
        self.primed.add(top)
        code = f"import sys\ndel sys.path[0]\n{CACHE_PRIMERS[top]}\n"
        try:
            subprocess.run(
                [sys.executable, "-c", code],
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=PRIMER_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            self.log(json.dumps({"cache_primer": top, "why": f"took more than {PRIMER_TIMEOUT_S}s"}))

    def start_trial(self, name: str) -> "subprocess.Popen[bytes]":
        """The throwaway process: this interpreter, a private empty folder, the trial filter."""
        return subprocess.Popen(
            [sys.executable, "-c", TRIAL, name, *([self.trial_filter] if self.trial_filter else [])],
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def next(self) -> None:
        """Starts the next queued trial, one at a time: the server's kernels share the CPU with it."""
        if self.trial is not None or not self.queue:
            return
        name = self.queue.pop(0)
        if name in sys.modules:
            return self.next()
        self.prime(name)
        proc = self.start_trial(name)
        assert proc.stdout is not None
        self.trial = (name, proc, time.monotonic() + TRIAL_TIMEOUT_S)
        self.sel.register(proc.stdout, selectors.EVENT_READ, self)

    def readable(self) -> None:
        """The trial process wrote or ended: output is kept (up to a bound) until it ends; then
        it is judged, and imported here if clean."""
        assert self.trial is not None
        name, proc, _ = self.trial
        assert proc.stdout is not None
        out = proc.stdout.read1(65536)  # type: ignore[attr-defined]
        if out:
            self.printed += out
            if len(self.printed) > MAX_TRIAL_OUTPUT:
                self.finish(name, proc, f"prints when imported: {self.printed[:200]!r}")
            return
        self.finish(name, proc, None)

    def check_deadline(self) -> None:
        """A trial that hangs (waits on a network, a lock) is left out after TRIAL_TIMEOUT_S."""
        if self.trial is not None and time.monotonic() > self.trial[2]:
            self.finish(self.trial[0], self.trial[1], f"took more than {TRIAL_TIMEOUT_S}s to import")

    def finish(self, name: str, proc: subprocess.Popen[bytes], why: str | None) -> None:
        """The trial ended: imported here when clean, tried once more or left out (verdict)."""
        assert proc.stdout is not None
        self.sel.unregister(proc.stdout)
        proc.stdout.close()
        if why is not None:
            proc.kill()
        code = proc.wait()
        printed, self.printed = self.printed, b""
        self.trial = None
        if why is None:
            why = self.verdict(name, code, printed)
        if why == RETRY:
            self.queue.insert(0, name)
        elif why is not None:
            self.leave_out(name, why)
        else:
            self.load(name)
        self.next()

    def load(self, name: str) -> None:
        """Imports `name` here; a failure (not seen in the trial) leaves it out, never the server."""
        try:
            importlib.import_module(name)
        except BaseException as e:  # noqa: BLE001  (a module may raise anything, SystemExit too)
            self.leave_out(name, f"failed in the server: {type(e).__name__}")
            return
        self.loaded.append(name)
        self.log(json.dumps({"preloaded": name}))
        self.keep()

    def learned_before(self) -> list[str]:
        """What an earlier server of this kernelspec preloaded: tried again (the stack may have
        changed since), so a restarted worker's first notebooks start as warm as its last ones."""
        try:
            with open(self.learned, encoding="utf-8") as f:
                names = json.load(f)
        except (OSError, ValueError):
            return []  # none yet, or unreadable: learned again from the notebooks
        if not isinstance(names, list):
            return []
        return [n for n in names[:MAX_NAMES] if isinstance(n, str) and acceptable(n)]

    def keep(self) -> None:
        """Writes what is preloaded now (atomically: a reader sees the old list or the new one)."""
        if not self.learned:
            return
        try:
            os.makedirs(os.path.dirname(self.learned), mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(self.learned), prefix=".learned-")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self.loaded[:MAX_NAMES], f)
            os.replace(tmp, self.learned)
        except OSError as e:
            self.log(f"could not keep the learned preloads in {self.learned}: {e}")

    def leave_out(self, name: str, why: str) -> None:
        """Logged, so the operator sees why a module stays cold."""
        self.left_out[name] = why
        self.log(json.dumps({"left_out": name, "why": why}))

    def close(self) -> None:
        """The server ends: a trial still running is killed, its folder removed."""
        if self.trial is not None:
            self.trial[1].kill()
            self.trial[1].wait()
        with contextlib.suppress(OSError):
            os.rmdir(self.dir)
