"""The kernel's seccomp filter (docs/security.md, "System calls"): modelled on Docker's default
profile, it refuses what notebooks never need and what widens the host kernel's reach: new
namespaces (user namespaces above all), mounts, the kernel keyring, eBPF, perf events, tracing
other processes, kernel modules, clocks, reboot, swap, kexec, io_uring.

Compiled once per notebook in the executor with libseccomp (PyPI pyseccomp, on Debian's
libseccomp2) into a classic BPF program that crosses into the sandbox as base64 in the policy;
loaded with prctl(PR_SET_SECCOMP) by nblc_sandbox after privileges are dropped (standard library
only: the launcher runs with python -S), or handed to bubblewrap (--seccomp FD).
"""

import base64
import contextlib
import ctypes
import errno
import os
import tempfile
from typing import Any

# Refused with EPERM, whatever their arguments.
REFUSED = (
    # file systems and namespaces
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig",
    "fsmount", "fspick", "mount_setattr", "setns", "open_by_handle_at", "name_to_handle_at",
    # the kernel keyring
    "keyctl", "add_key", "request_key",
    # eBPF, perf events, tracing and reading other processes
    "bpf", "perf_event_open", "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
    "userfaultfd", "lookup_dcookie",
    # kernel modules, kexec, reboot, swap, accounting, quotas, the kernel's log
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot",
    "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "syslog", "vhangup", "nfsservctl",
    # clocks
    "clock_settime", "clock_adjtime", "adjtimex", "settimeofday",
    # raw hardware access and old interfaces
    "iopl", "ioperm", "uselib", "ustat", "sysfs", "_sysctl", "personality",
    # io_uring: a second system call interface this filter would not see
    "io_uring_setup", "io_uring_enter", "io_uring_register",
)  # fmt: skip
# unshare and clone: refused when they ask for any new namespace (fork and threads go through).
NAMESPACE_FLAGS = {
    "CLONE_NEWTIME": 0x00000080,
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}
# clone3 passes its flags in memory, which a filter cannot read: ENOSYS makes glibc use clone.
NOT_IMPLEMENTED = ("clone3",)
CLONE_THREAD = 0x00010000


def _libseccomp() -> Any:
    """libseccomp's Python binding: PyPI's pyseccomp (requirements.txt), or Debian's
    python3-seccomp for an executor on the system's Python; the same API."""
    try:
        import pyseccomp  # type: ignore[import-untyped]

        return pyseccomp
    except ImportError:
        pass
    try:
        import seccomp  # type: ignore[import-not-found]

        return seccomp
    except ImportError:
        raise OSError(
            2,
            "the kernels' seccomp filter needs libseccomp's Python binding in the executor's Python: "
            "pip install pyseccomp (requirements.txt) or apt-get install python3-seccomp",
        ) from None


def compile_filter() -> str:
    """The filter as a BPF program for this machine's architecture, base64."""
    sc = _libseccomp()

    f = sc.SyscallFilter(defaction=sc.ALLOW)
    for name in REFUSED:
        with contextlib.suppress(ValueError, OSError, RuntimeError):  # not a call on this architecture
            f.add_rule(sc.ERRNO(errno.EPERM), name)
    for flag in NAMESPACE_FLAGS.values():
        for name in ("unshare", "clone"):
            f.add_rule(sc.ERRNO(errno.EPERM), name, sc.Arg(0, sc.MASKED_EQ, flag, flag))
    for name in NOT_IMPLEMENTED:
        f.add_rule(sc.ERRNO(errno.ENOSYS), name)
    with tempfile.TemporaryFile() as out:
        f.export_bpf(out)
        out.seek(0)
        return base64.b64encode(out.read()).decode("ascii")


def trial_filter() -> str:
    """For a preload's trial import (nblc_preload): a module that opens a network socket or
    runs a program while it is imported is killed there (SIGSYS), and so never imported in a
    kernel server, which runs outside the sandbox. Base64, as compile_filter()."""
    sc = _libseccomp()
    f = sc.SyscallFilter(defaction=sc.ALLOW)
    f.add_rule(sc.KILL_PROCESS, "socket", sc.Arg(0, sc.NE, 1))  # anything but AF_UNIX
    # a new process (not a thread: CLONE_THREAD); clone3's flags are out of a filter's reach,
    # so ENOSYS makes glibc use clone
    f.add_rule(sc.KILL_PROCESS, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
    f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    for name in ("fork", "vfork", "execve", "execveat"):
        with contextlib.suppress(ValueError, OSError, RuntimeError):  # not a call on this architecture
            f.add_rule(sc.KILL_PROCESS, name)
    with tempfile.TemporaryFile() as out:
        f.export_bpf(out)
        out.seek(0)
        return base64.b64encode(out.read()).decode("ascii")


def program(policy: dict[str, Any]) -> bytes | None:
    """The policy's compiled filter, if it has one (NBLC_SANDBOX tests may run without)."""
    text = policy.get("seccomp")
    return base64.b64decode(text) if text else None


class _SockFprog(ctypes.Structure):
    """struct sock_fprog: the program's length in instructions and where it is."""

    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2


def load(bpf: bytes) -> None:
    """Install the filter on this thread and everything it starts (no_new_privs must be set)."""
    buf = ctypes.create_string_buffer(bpf, len(bpf))
    prog = _SockFprog(len(bpf) // 8, ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"seccomp: {os.strerror(err)}")


def memfd(bpf: bytes) -> int:
    """The program in an inheritable descriptor, for bubblewrap's --seccomp."""
    fd = os.memfd_create("nblc-seccomp", 0)
    os.write(fd, bpf)
    os.lseek(fd, 0, os.SEEK_SET)
    os.set_inheritable(fd, True)
    return fd
