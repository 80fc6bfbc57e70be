"""The environment probe: the one cell of a notebook that each test run executes once, in a
kernel of the default kernelspec and in the notebooks' sandbox (src/activities/runs/environment.ts),
so that it sees what notebooks see. Prints one line, `NBLC_ENVIRONMENT {"python", "packages"}`:
the Python version and each installed distribution's name and version (the first found on the
kernel's path, as imports find them). Nothing else: no environment variables, paths or file
contents, so no secret can reach the report; the worker checks the names and versions again.
"""

import importlib.metadata
import json
import platform


def _nblc_environment_probe() -> None:
    packages: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        try:
            name, version = dist.metadata["Name"], dist.version
        except Exception:  # a broken dist-info: not a package anyone imports
            continue
        if isinstance(name, str) and isinstance(version, str):
            packages.setdefault(name, version)
    print("NBLC_ENVIRONMENT " + json.dumps({"python": platform.python_version(), "packages": packages}))


_nblc_environment_probe()
del _nblc_environment_probe
