"""How an IPython kernel starts without the notebook's folder deciding what runs.

`python -m ipykernel_launcher` puts its working directory (the notebook's folder) first on
sys.path before it imports anything: a file `ipykernel_launcher.py` (or `pathlib.py`, which the
launcher imports first) committed beside a notebook would run instead of the real launcher,
before the kernel is up. Here the launcher is found on the interpreter's own path, with the
folder left out, and then run as `python -m` would: with the folder first on sys.path, which
ipykernel_launcher removes while it loads and IPython adds back (as '') for the notebook's own
imports (`import helper` beside the notebook keeps working).
"""

import sys

# Run with `python -c`: the first statement touches only the built-in `sys` module, so no file
# of the working directory is imported before '' is gone from sys.path; what runpy and the
# launcher import before the launcher removes the folder again (pkgutil, pathlib) is imported
# before the folder is put back.
BOOT = (
    "import sys\n"
    "del sys.path[0]\n"
    "import importlib.util, os, pathlib, pkgutil, runpy\n"
    "spec = importlib.util.find_spec('ipykernel_launcher')\n"
    "sys.path.insert(0, os.getcwd())\n"
    "sys.argv[0] = spec.origin\n"
    "runpy.run_path(spec.origin, run_name='__main__')\n"
)


def is_ipykernel(cmd: list[str]) -> bool:
    """`PYTHON -m ipykernel_launcher ...`: the command of every IPython kernelspec."""
    return len(cmd) >= 3 and cmd[1:3] == ["-m", "ipykernel_launcher"]


def safe_command(cmd: list[str]) -> list[str]:
    """An IPython kernel's command started through BOOT; any other command unchanged."""
    return [cmd[0], "-c", BOOT, *cmd[3:]] if is_ipykernel(cmd) else cmd


def run_in_process() -> None:
    """The forked kernel's start (nblc_kernel_fork): as BOOT, in this process, whose sys.path[0]
    is the executor's folder (left out too: nblc's modules are not the notebook's)."""
    import importlib.util
    import os
    import pathlib  # noqa: F401  (imported by the launcher while the folder is first on sys.path)
    import pkgutil  # noqa: F401  (imported by runpy.run_path)
    import runpy

    del sys.path[0]
    spec = importlib.util.find_spec("ipykernel_launcher")
    if spec is None or spec.origin is None:
        raise ImportError("ipykernel_launcher is not installed")
    sys.path.insert(0, os.getcwd())
    sys.argv[0] = spec.origin
    runpy.run_path(spec.origin, run_name="__main__")
