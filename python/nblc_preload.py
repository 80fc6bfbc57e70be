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
after a throwaway process imported it cleanly (nblc_preload_trial): found on the interpreter's own path (never the
notebook's folder or the server's), exit 0, nothing printed, no thread left running, within
TRIAL_TIMEOUT_S (a module that prints only the first time, as matplotlib does while it builds its
font cache in a new HOME, gets one more trial, which must be quiet), and neither a network
socket nor a program started (the trial filter, nblc_seccomp.trial_filter, kills the process
that tries). Anything else is left out and
logged; a kernel never depends on a preload (without it the notebook imports the module itself,
as in a cold kernel).
"""

import ast
import hashlib
import os
import re
from typing import Any

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
# Imported for their side effects (a browser, text on stdout), or nblc's own and the launcher.
NEVER = {"this", "antigravity", "__hello__", "__phello__", "__main__", "ipykernel_launcher", "idlelib", "turtle"}
MAX_NAMES = 200  # per notebook and in all: a notebook cannot make the server try without end


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
