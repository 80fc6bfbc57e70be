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


def read_capped(path: str, limit: int, dir_fd: int | None = None) -> bytes | None:
    """At most `limit` bytes of a regular file, or None when it is anything else. For files a
    kernel (or a repository) may have replaced: no link is followed (O_NOFOLLOW), a FIFO or
    device cannot block the reader (O_NONBLOCK, then fstat), and a huge file costs `limit`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks, left = [], limit
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 16))):
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def copy_folder(
    src: str, dst: str, own: Callable[[str], None], avoid: str | None = None, dev: int | None = None
) -> None:
    """A private writable copy of a notebook's folder with all its sub-folders, as the notebook
    finds it when run in place (files in sub-folders writable too). Links are copied as links
    (they resolve in the sandbox as in the snapshot, never on the host); sockets, FIFOs and
    devices are left out; `own` gives each entry to the kernel's user. A folder that holds the
    copy itself (a scratch root inside the notebook's folder) is left out: copying it would
    copy the copy, without end; so is a file system mounted inside it (not part of a snapshot)."""
    avoid = avoid if avoid is not None else os.path.realpath(dst)
    dev = dev if dev is not None else os.stat(src).st_dev
    for entry in os.scandir(src):
        target = os.path.join(dst, entry.name)
        if entry.is_symlink():
            os.symlink(os.readlink(entry.path), target)
        elif entry.is_dir(follow_symlinks=False):
            real = os.path.realpath(entry.path)
            if avoid == real or avoid.startswith(real + os.sep) or entry.stat(follow_symlinks=False).st_dev != dev:
                continue
            os.mkdir(target, 0o755)
            copy_folder(entry.path, target, own, avoid, dev)
        elif entry.is_file(follow_symlinks=False):
            shutil.copyfile(entry.path, target, follow_symlinks=False)
            os.chmod(target, stat.S_IMODE(entry.stat(follow_symlinks=False).st_mode) | stat.S_IRUSR | stat.S_IWUSR)
        else:
            continue
        own(target)
