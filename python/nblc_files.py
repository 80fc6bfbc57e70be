"""Files of the executor: atomic writes, and the private scratch copy a notebook runs in."""

import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from typing import Any

log = logging.getLogger("nblc_execute")
UMASK = os.umask(0)
os.umask(UMASK)


def write_atomic(path: str, text: str) -> None:
    """Readers (and retries) must never see a half-written artifact or result."""
    folder, name = os.path.split(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~UMASK)  # mkstemp makes 0600; give the file ordinary permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_notebook(path: str, root: str | None) -> bytes | None:
    """The notebook's bytes; None when it is a symbolic link leading out of `root` (the snapshot
    comes from the repository: a link to /etc/shadow must not be read by the executor, which
    runs outside the sandbox and would quote the file's start in its "invalid notebook")."""
    if root is not None:
        real, top = os.path.realpath(path), os.path.realpath(root)
        if not real.startswith(top.rstrip("/") + "/"):
            return None
    with open(path, "rb") as f:
        return f.read()


def make_scratch(nb_dir: str, root: str) -> str:
    """Private writable working directory mirroring the (read-only) notebook folder.

    Files next to the notebook are copied so the notebook may overwrite them; folders and
    symlinks are linked, so a notebook at a repository root does not copy the repository.
    """
    os.makedirs(root, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="nblc-run-", dir=root)
    for entry in os.scandir(nb_dir):
        dst = os.path.join(scratch, entry.name)
        if entry.is_symlink() or entry.is_dir(follow_symlinks=False):
            os.symlink(entry.path, dst)
        elif entry.is_file(follow_symlinks=False):
            shutil.copyfile(entry.path, dst)
            os.chmod(dst, stat.S_IMODE(entry.stat().st_mode) | stat.S_IRUSR | stat.S_IWUSR)
        # sockets, fifos and devices are not mirrored
    return scratch


def remove_tree(path: str) -> None:
    """rmtree that also copes with read-only directories the notebook created."""

    def retry_writable(func: Callable[[str], object], p: str, _exc: Any) -> None:
        try:
            os.chmod(os.path.dirname(p), 0o700)
            func(p)
        except OSError as e:
            log.warning("could not remove %s: %s", p, e)

    shutil.rmtree(path, onerror=retry_writable)
