"""Which modules a kernel fork server imports before it forks kernels, and how it makes sure
that importing them is safe.

The kernels' cost is mostly imports: numpy, astropy, matplotlib and pandas take seconds per
kernel on the platform's stack. A fork server that imported them once hands every forked
kernel these modules for free. The names come from two places:

- NBLC_KERNEL_PRELOAD (passed to the fork server as `--preload`): per kernelspec,
  `KERNELSPEC=mod1,mod2;OTHER=mod3` (`*=` applies to every kernelspec);
- the notebooks the server's kernels run: each executor sends the top-level imports of its
  notebook (a static scan: `import a.b`, `from a.b import c`, in code cells, magics left out),
  and the server imports those it has not tried yet after it has forked that notebook's kernel,
  so the notebooks that follow start warm.

The names are the notebooks' (a stranger's) choice, so a name is imported in the server only
after a throwaway process imported it cleanly: found on the interpreter's own path (never the
notebook's folder or the server's), exit 0, nothing printed, no thread left running, within
TRIAL_TIMEOUT_S (a module that prints only the first time, as matplotlib does while it builds its
font cache in a new HOME, gets one more trial, which must be quiet), and neither a network
socket nor a program started (the trial filter, nblc_seccomp.trial_filter, kills the process
that tries). Anything else is left out and
logged; a kernel never depends on a preload (without it the notebook imports the module itself,
as in a cold kernel).
"""

import ast
import contextlib
import hashlib
import importlib
import json
import os
import re
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from typing import Any

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
# Imported for their side effects (a browser, text on stdout), or nblc's own and the launcher.
NEVER = {"this", "antigravity", "__hello__", "__phello__", "__main__", "ipykernel_launcher", "idlelib", "turtle"}
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
MAX_NAMES = 200  # per notebook and in all: a notebook cannot make the server try without end
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


def parse_setting(text: str) -> dict[str, list[str]]:
    """NBLC_KERNEL_PRELOAD's `KERNELSPEC=mod1,mod2;OTHER=mod3`; ValueError names the problem."""
    out: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        spec, sep, mods = part.partition("=")
        names = [m.strip() for m in mods.split(",") if m.strip()]
        if not sep or not spec.strip() or any(not NAME.match(m) for m in names):
            raise ValueError(f'NBLC_KERNEL_PRELOAD: "{part}" is not KERNELSPEC=module,module')
        out.setdefault(spec.strip(), []).extend(names)
    return out


def for_kernelspec(setting: dict[str, list[str]], kernelspec: str) -> list[str]:
    """What NBLC_KERNEL_PRELOAD names for one kernelspec: its own and the `*` entries."""
    return [*setting.get("*", []), *setting.get(kernelspec, [])]


def notebook_imports(nb: dict[str, Any]) -> list[str]:
    """Modules a notebook's code cells import at top level of a statement (in order, once)."""
    seen: dict[str, None] = {}
    for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        # IPython syntax (%magic, !shell, `x?`) is not Python: those lines are left out
        lines = [line for line in src.splitlines() if not line.lstrip().startswith(("%", "!", "?"))]
        try:
            tree = ast.parse("\n".join(lines))
        except (SyntaxError, ValueError, RecursionError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                if len(seen) < MAX_NAMES:
                    seen[name] = None
    return list(seen)


def learned_file(folder: str, kernelspec: str, python: str) -> str:
    """Where the kernel server of this kernelspec and Python keeps its learned preloads."""
    key = hashlib.sha256(f"{kernelspec}\0{python}".encode()).hexdigest()[:24]
    return os.path.join(folder, f"{key}.json")


def acceptable(name: str) -> bool:
    """Worth a trial at all: a dotted module name, not nblc's own nor one imported for its side effect."""
    top = name.split(".")[0]
    return bool(NAME.match(name)) and top not in NEVER and not top.startswith("nblc")


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
            if verdict == "printed":
                verdict = self.judge_now(name, self.start_trial(name))  # the second, quiet or not
            if verdict is None:
                self.load(name)
            else:
                self.leave_out(name, verdict)

    def judge_now(self, name: str, proc: "subprocess.Popen[bytes]") -> str | None:
        """Waits for a trial: None when clean, "printed" the first time a clean exit printed,
        else why it is left out."""
        try:
            out, _ = proc.communicate(timeout=TRIAL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return f"took more than {TRIAL_TIMEOUT_S}s to import"
        if proc.returncode:
            return f"does not import cleanly (exit {proc.returncode}): {out[:200]!r}"
        if out and name not in self.retried:
            self.retried.add(name)
            return "printed"
        return f"prints when imported: {out[:200]!r}" if out else None

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
        """The trial's verdict: imported here when clean, else left out with the reason. A first
        trial that exited cleanly but printed is queued once more (a cache its import built, such
        as matplotlib's fonts, keeps the second quiet)."""
        assert proc.stdout is not None
        self.sel.unregister(proc.stdout)
        proc.stdout.close()
        if why is not None:
            proc.kill()
        code = proc.wait()
        printed, self.printed = self.printed, b""
        self.trial = None
        if why is None and code != 0:
            why = f"does not import cleanly (exit {code}): {printed[:200]!r}"
        if why is None and printed and name not in self.retried:
            self.retried.add(name)
            self.log(json.dumps({"retrying": name, "why": f"printed the first time: {printed[:200]!r}"}))
            self.queue.insert(0, name)
        elif why is None and printed:
            self.leave_out(name, f"prints when imported: {printed[:200]!r}")
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
