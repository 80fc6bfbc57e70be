"""bubblewrap's sandbox with the "outbound" network (nblc_network): bwrap makes the namespaces,
so slirp4netns, the tap device's address and the routes are set up from outside, while bwrap
waits at --block-fd. Standard library only (the launcher runs with python -S).
"""

import contextlib
import ctypes
import fcntl
import json
import os
import signal
import socket
import struct

from nblc_network import (
    IFF_UP,
    SIOCGIFFLAGS,
    SIOCSIFADDR,
    SIOCSIFFLAGS,
    SIOCSIFNETMASK,
    SLIRP_GATEWAY,
    TAP,
    Network,
    Slirp,
    add_route,
    close_private_ranges,
    owner_of,
)
from nblc_network_ports import restrict_ports


def configure_tap() -> None:
    """What slirp4netns --configure does, for bubblewrap's namespace whose loopback bwrap sets
    up itself: the tap device's address (10.0.2.100/24), up, the default route through slirp."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        name = TAP.encode()
        for request, address in ((SIOCSIFADDR, "10.0.2.100"), (SIOCSIFNETMASK, "255.255.255.0")):
            sockaddr = struct.pack("=H2s4s8x", socket.AF_INET, b"", socket.inet_aton(address))
            fcntl.ioctl(s, request, struct.pack("16s16s", name, sockaddr).ljust(40, b"\0"))
        flags = struct.unpack("16sH", fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack("16sH", name, 0).ljust(40, b"\0"))[:18])[
            1
        ]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH", name, flags | IFF_UP).ljust(40, b"\0"))
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0) as sock:
        sock.bind((0, 0))
        add_route(sock, "0.0.0.0/0", SLIRP_GATEWAY, 1)


_libc = ctypes.CDLL(None, use_errno=True)


def set_routes_in(pid: int, net: Network) -> None:
    """For bubblewrap's sandbox, set up from outside: a child joins its user and network
    namespaces (as their owner it has every capability there) and sets the routes."""
    child = os.fork()
    if child == 0:
        code = 1
        try:
            owner = owner_of(os.open(f"/proc/{pid}/ns/net", os.O_RDONLY))
            for ns, fd in (("user", owner), ("net", os.open(f"/proc/{pid}/ns/net", os.O_RDONLY))):
                if _libc.setns(fd, 0) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {ns}")
                os.close(fd)
            configure_tap()
            close_private_ranges(net)
            restrict_ports(net)
            code = 0
        except OSError as e:
            os.write(2, f"nblc sandbox: network routes: {e}\n".encode())
        os._exit(code)
    _, status = os.waitpid(child, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise OSError(5, "could not close the private ranges in the kernel's network namespace")


class BwrapFailed(OSError):
    """bubblewrap itself failed (e.g. no user namespaces), before any network was set up."""


def start_bwrap(net: Network, argv: list[str]) -> int:
    """bubblewrap with slirp4netns: bwrap waits (--block-fd) until slirp4netns is attached to
    its namespaces (--info-fd names the sandbox's pid) and the routes are set from outside.
    Returns bwrap's pid, for the caller to supervise; OSError: the sandbox cannot have its
    network (bwrap is killed)."""
    slirp = Slirp(net)
    info_r, info_w = os.pipe()
    block_r, block_w = os.pipe()
    for fd in (info_w, block_r):
        os.set_inheritable(fd, True)
    argv = [argv[0], "--info-fd", str(info_w), "--block-fd", str(block_r), *argv[1:]]
    pid = os.fork()
    if pid == 0:
        try:
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    os.close(info_w)
    os.close(block_r)
    info = b""
    while b"}" not in info and (chunk := os.read(info_r, 4096)):
        info += chunk
    os.close(info_r)
    if not info:  # bwrap ended before its sandbox existed: not a network problem
        _, status = os.waitpid(pid, 0)
        raise BwrapFailed(f"bwrap could not set up the sandbox (exit {os.waitstatus_to_exitcode(status)})")
    victims = [pid]
    try:
        child = int(json.loads(info.decode())["child-pid"])
        victims.insert(0, child)
        slirp.start(child, True, configure=False)
        set_routes_in(child, net)
    except (OSError, ValueError, KeyError) as e:
        # the sandbox first (block_w is still open: it has not run the command), then bwrap
        for victim in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise OSError(5, e.strerror if isinstance(e, OSError) and e.strerror else str(e)) from e
    os.write(block_w, b"1")
    os.close(block_w)
    return pid
