"""The Linux system calls the sandbox needs and Python 3.11's os module lacks (unshare, mount,
pivot_root, prctl, capset), through ctypes. Each raises OSError with the errno, like os does."""

import ctypes
import os
import platform

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_RELATIME = 1 << 21
MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522

# pivot_root has no glibc wrapper
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "ppc64le": 203, "s390x": 217}.get(platform.machine())

# statvfs flags that a read-only remount must keep: in a user namespace the kernel refuses to
# clear flags it locked on the original mount (EPERM), so they are carried over.
_KEPT_FLAGS = {
    getattr(os, name, 0): flag
    for name, flag in (
        ("ST_NOSUID", MS_NOSUID),
        ("ST_NODEV", MS_NODEV),
        ("ST_NOEXEC", MS_NOEXEC),
        ("ST_NOATIME", MS_NOATIME),
        ("ST_NODIRATIME", MS_NODIRATIME),
        ("ST_RELATIME", MS_RELATIME),
    )
}

_libc = ctypes.CDLL(None, use_errno=True)
try:
    _libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    _libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
except AttributeError:  # not Linux: importable (NBLC_SANDBOX=off works), every call fails
    pass


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _b(s: str | None) -> bytes | None:
    return None if s is None else os.fsencode(s)


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data)), f"mount {target}")


def umount2(target: str, flags: int) -> None:
    _check(_libc.umount2(_b(target), flags), f"umount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    if SYS_PIVOT_ROOT is None:
        raise OSError(38, f"pivot_root: unknown system call number on {platform.machine()}")
    _check(_libc.syscall(SYS_PIVOT_ROOT, _b(new_root), _b(put_old)), "pivot_root")


def prctl(option: int, arg: int = 0, arg3: int = 0) -> None:
    _check(_libc.prctl(option, arg, arg3, 0, 0), f"prctl {option}")


def remount_readonly(target: str) -> None:
    """Make a bind mount read-only, keeping the flags the kernel may have locked."""
    flags = MS_BIND | MS_REMOUNT | MS_RDONLY
    st = os.statvfs(target)
    for st_flag, ms_flag in _KEPT_FLAGS.items():
        if st.f_flag & st_flag:
            flags |= ms_flag
    mount(None, target, None, flags | MS_NOSUID | MS_NODEV)


def drop_bounding_set() -> None:
    """No capability can come back through an exec (needs CAP_SETPCAP: call before giving up root)."""
    for cap in range(64):
        try:
            prctl(PR_CAPBSET_DROP, cap)
        except OSError as e:
            if e.errno == 22:  # EINVAL: past the last capability this kernel knows
                break
            raise


def clear_capabilities() -> None:
    """Empty every capability set: needed in a user namespace, where its creator holds all of
    them whatever its uid (as root, setresuid to another user has already cleared them)."""
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    header = (ctypes.c_uint32 * 2)(LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # two {effective, permitted, inheritable} structs, all zero
    _check(_libc.capset(header, data), "capset")
