"""The kernelspecs this interpreter's jupyter_client finds (JUPYTER_PATH and the usual places),
as the executors find them: prints `{name: {display_name, language}}` as JSON, nothing else (no
argv or paths: the worker records this in the kernel registry, src/activities/runs/kernels.ts).
"""

import json

from jupyter_client.kernelspec import KernelSpecManager


def main() -> None:
    specs = KernelSpecManager().get_all_specs()
    out = {
        name: {
            "display_name": str(s.get("spec", {}).get("display_name", name)),
            "language": str(s.get("spec", {}).get("language", "")),
        }
        for name, s in specs.items()
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
