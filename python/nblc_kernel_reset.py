"""What a forked kernel must not inherit from its fork server, so that a notebook cannot tell
it from a kernel started fresh: state the server's imports (its preloads) left in memory.

`snapshot()` runs in the server before it imports anything a notebook asked for; `fresh()` runs
in each forked kernel, after its working directory and environment are the notebook's and
before the kernel's launcher runs. Reset: sys.path, the variables the kernel's own imports set,
random state (Python's, numpy's legacy global generator), matplotlib (backend, figures, rcParams
and its configuration folder read again in the notebook's folder and environment).

What stays shared: the hash seed (str hashes are randomised once per interpreter; no running
interpreter can draw a new one); what the modules computed at import from the server's
environment, which is the kernels' own allow-listed one (see executor-process.ts); and the
warnings filters the preloaded modules added when imported (numpy's "size changed" ignores),
which a fresh kernel gets too once the notebook imports them, as it does since the preloads are
its imports.
"""

import os
import random
import sys
import warnings
from typing import Any

_base: dict[str, Any] = {}


def snapshot() -> None:
    """A fresh kernel's state after the kernel's own imports, before any preload: sys.path without
    the server's own folder, the variables the imports set, how ipykernel picks matplotlib's backend."""
    here = os.path.dirname(os.path.abspath(__file__))
    _base["path"] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    _base["warnoptions"] = list(sys.warnoptions)
    _base["filters"] = list(warnings.filters)
    _base["env"] = env_set_by_imports()
    _base["inline"] = ipykernel_sets_inline()


def env_set_by_imports() -> dict[str, str]:
    """Variables this process's imports set (debugpy's PYDEVD_USE_FRAME_EVAL, say): a kernel
    that imports them itself has them in its environment, so a forked kernel gets them too."""
    started = started_env()
    return {k: v for k, v in os.environ.items() if k not in started}


def started_env() -> dict[str, str]:
    """The environment this process was started with, before its imports set anything."""
    try:
        with open("/proc/self/environ", "rb") as f:
            pairs = [e.partition(b"=") for e in f.read().split(b"\0") if e]
    except OSError:
        return dict(os.environ)
    return {os.fsdecode(k): os.fsdecode(v) for k, _, v in pairs}


def ipykernel_sets_inline() -> bool:
    """Whether this ipykernel makes matplotlib_inline the default backend (MPLBACKEND) while it
    starts, which a module imported before that (a preload) would not see."""
    app = sys.modules.get("ipykernel.kernelapp")
    try:
        with open(getattr(app, "__file__", "") or "", encoding="utf-8") as f:
            return "module://matplotlib_inline.backend_inline" in f.read()
    except OSError:
        return False


def fresh() -> None:
    """Reset what the preloads or the server set; the kernel's launcher then adds its own."""
    if _base:
        # sys.path as `python -c` makes it ('' first: nblc_kernel_boot replaces it by the folder)
        pythonpath = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:] = ["", *pythonpath, *[p for p in _base["path"] if p not in pythonpath]]
        preload_filters_after_start()
        # then PYTHONWARNINGS, as a new interpreter applies it
        extra = [o for o in os.environ.get("PYTHONWARNINGS", "").split(",") if o]
        sys.warnoptions[:] = [*_base["warnoptions"], *extra]
        if extra:
            warnings._processoptions(extra)  # type: ignore[attr-defined]
        for name, value in _base["env"].items():
            os.environ.setdefault(name, value)
    # random state: every fresh interpreter seeds from the OS; so does each forked kernel
    random.seed()
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()  # the legacy global generator (np.random.rand & co)
    reset_matplotlib()


def preload_filters_after_start() -> None:
    """The warnings filters the preloads added go back in front once the kernel has started: a
    fresh kernel adds its own while it starts (ipykernel's shell does), before the notebook's
    imports add theirs."""
    added = [f for f in warnings.filters if f not in _base["filters"]]
    app = getattr(sys.modules.get("ipykernel.kernelapp"), "IPKernelApp", None)
    original = getattr(app, "__dict__", {}).get("initialize")
    if not added or app is None or original is None:
        return
    warnings.filters[:] = [f for f in warnings.filters if f not in added]  # type: ignore[index]

    def initialize(self: Any, *args: Any, **kwargs: Any) -> Any:
        app.initialize = original  # once, and invisible to the notebook afterwards
        try:
            return original(self, *args, **kwargs)
        finally:
            warnings.filters[:0] = added  # type: ignore[index]
            warnings._filters_mutated()  # type: ignore[attr-defined]

    app.initialize = initialize


def reset_matplotlib() -> None:
    """No backend chosen, no figure, rcParams read again from the notebook's folder, environment
    and configuration folder: as `import matplotlib` does in a fresh kernel."""
    mpl = sys.modules.get("matplotlib")
    if mpl is None:
        return
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")
        pyplot._backend_mod = None  # type: ignore[attr-defined]
    # memoized at import from the server's environment: memoized afresh from the kernel's
    for name, fmt in (("get_configdir", "CONFIGDIR=%s"), ("get_cachedir", "CACHEDIR=%s")):
        inner = getattr(getattr(mpl, name, None), "__wrapped__", None)
        if inner is not None:
            setattr(mpl, name, mpl._logged_cached(fmt, inner))
    default = mpl.rc_params()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mpl.rcParams.clear()
        mpl.rcParams.update(default)
        mpl.rcParamsOrig.clear()
        mpl.rcParamsOrig.update(default)
    inline = "module://matplotlib_inline.backend_inline" if _base.get("inline") else None
    backend = os.environ.get("MPLBACKEND") or inline
    if backend:
        mpl.rcParams["backend"] = backend
    else:
        dict.__setitem__(mpl.rcParams, "backend", mpl.rcsetup._auto_backend_sentinel)
