"""The kernel's network (NBLC_KERNEL_NETWORK, docs/security.md "The network boundary").

- "outbound" (default): a network namespace of its own whose only way out is slirp4netns
  (user-mode networking: its connections are made by a process on the host, so the kernel's
  packets never touch the host's interfaces). slirp4netns refuses the host's loopback
  (--disable-host-loopback), and `unreachable` routes set inside the namespace before the kernel
  drops its privileges close the host's own addresses and the private, shared, link-local
  (metadata 169.254.169.254) and reserved ranges, except what NBLC_KERNEL_NETWORK_ALLOW lists.
  IPv4 only: slirp4netns runs without IPv6, so no IPv6 address (fc00::/7, fe80::/10, the host's)
  is reachable at all.
- "none": a new network namespace with only its own loopback.
- "host": the host's network, shared with the service (marked in every result and report).

Standard library only: the sandbox launcher runs with python -S. The policy's "network" entry
(made by `policy_entry` in the executor, on the host) carries everything the sandbox needs.
"""

import contextlib
import ctypes
import fcntl
import ipaddress
import json
import os
import shutil
import signal
import socket
import struct
from typing import Any

# Never reachable from an "outbound" kernel unless allowed: loopback, "this network", private
# (RFC 1918), shared (RFC 6598, carrier NAT and many clouds' internal services), link-local
# (cloud metadata services), multicast and reserved. The host's own addresses are added.
BLOCKED = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "224.0.0.0/4",
    "240.0.0.0/4",
)
SLIRP_CIDR = "10.0.2.0/24"  # slirp4netns' default network: the kernel is 10.0.2.100 on tap0
SLIRP_GATEWAY = "10.0.2.2"  # the host seen from the namespace (loopback refused)
TAP = "tap0"
RESOLV_CONF = "nameserver 10.0.2.3\n"  # slirp4netns' DNS forwarder (asks the host's resolver)

Network = dict[str, Any]


def host_addresses() -> list[str]:
    """The IPv4 addresses of this host's interfaces (its own, "LOCAL" in the routing trie):
    a kernel reaching one would reach every service bound to 0.0.0.0."""
    found: set[str] = set()
    last = None
    with contextlib.suppress(OSError), open("/proc/net/fib_trie", encoding="ascii") as f:
        for line in f:
            words = line.split()
            if len(words) >= 2 and words[0] in ("|--", "+--"):
                last = words[1]
            elif words[:3] == ["/32", "host", "LOCAL"] and last:
                found.add(last)
    return sorted(found, key=lambda a: ipaddress.IPv4Address(a))


def parse_allow(entries: list[str]) -> list[str]:
    """NBLC_KERNEL_NETWORK_ALLOW entries (CIDR, address, or address:port; config.ts checked
    them) as IPv4 networks. Routes cannot tell ports apart: an address:port opens the address."""
    nets = []
    for entry in entries:
        host = entry.rsplit(":", 1)[0] if entry.count(":") == 1 else entry
        net = ipaddress.ip_network(host.strip("[]"), strict=False)
        if net.version == 4:
            nets.append(str(net))
    return nets


def policy_entry(mode: str, allow: list[str] | None = None) -> Network:
    """The policy's "network" entry, computed on the host (its addresses are seen only here)."""
    if mode != "outbound":
        return {"mode": mode}
    allowed = [ipaddress.IPv4Network(n) for n in parse_allow(allow or [])]
    blocked = [ipaddress.IPv4Network(n) for n in BLOCKED]
    blocked += [ipaddress.IPv4Network(f"{a}/32") for a in host_addresses()]
    # a block inside an allowed network goes; an allowed network inside a block gets a route
    blocked = [b for b in blocked if not any(b.subnet_of(a) for a in allowed)]
    return {
        "mode": "outbound",
        "block": sorted({str(b) for b in blocked}),
        "allow": [str(a) for a in allowed if a.prefixlen > 0],
        "slirp4netns": shutil.which("slirp4netns"),
    }


def needs_netns(net: Network | None) -> bool:
    """Whether the kernel gets a network namespace of its own (all but "host")."""
    return net is not None and net.get("mode") in ("outbound", "none")


# --- inside the new network namespace, with CAP_NET_ADMIN there (before privileges are dropped)

SIOCGIFFLAGS, SIOCSIFFLAGS, SIOCSIFADDR, SIOCSIFNETMASK, IFF_UP = 0x8913, 0x8914, 0x8916, 0x891C, 0x1
RTM_NEWROUTE, NLMSG_ERROR = 24, 2
NLM_F_REQUEST, NLM_F_ACK, NLM_F_REPLACE, NLM_F_CREATE = 0x1, 0x4, 0x100, 0x400
RT_TABLE_MAIN, RTPROT_STATIC, RT_SCOPE_UNIVERSE = 254, 4, 0
RTN_UNICAST, RTN_UNREACHABLE = 1, 7
RTA_DST, RTA_GATEWAY = 1, 5


def loopback_up() -> None:
    """A new network namespace starts with its loopback down: bring it up (ioctl, no netlink)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH", b"lo", 0).ljust(40, b"\0")
        flags = struct.unpack("16sH", fcntl.ioctl(s, SIOCGIFFLAGS, req)[:18])[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP).ljust(40, b"\0"))


def _attr(kind: int, data: bytes) -> bytes:
    """A netlink attribute (rtattr), padded to 4 bytes as the kernel expects."""
    head = struct.pack("=HH", 4 + len(data), kind) + data
    return head + b"\0" * (-len(head) % 4)


def add_route(sock: socket.socket, net: str, gateway: str | None, seq: int) -> None:
    """One IPv4 route through netlink (RTM_NEWROUTE): unreachable, or through `gateway`."""
    n = ipaddress.IPv4Network(net)
    kind = RTN_UNICAST if gateway else RTN_UNREACHABLE
    body = struct.pack("=BBBBBBBBI", socket.AF_INET, n.prefixlen, 0, 0, RT_TABLE_MAIN, RTPROT_STATIC, 0, kind, 0)
    body += _attr(RTA_DST, n.network_address.packed)
    if gateway:
        body += _attr(RTA_GATEWAY, ipaddress.IPv4Address(gateway).packed)
    flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE
    sock.send(struct.pack("=IHHII", 16 + len(body), RTM_NEWROUTE, flags, seq, 0) + body)
    reply = sock.recv(65536)
    if struct.unpack("=H", reply[4:6])[0] == NLMSG_ERROR:
        err = struct.unpack("=i", reply[16:20])[0]
        if err:
            raise OSError(-err, f"route {net}{' via ' + gateway if gateway else ' unreachable'}: {os.strerror(-err)}")


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


def close_private_ranges(net: Network) -> None:
    """The `unreachable` routes (and the allowed networks through the gateway): set by a process
    with CAP_NET_ADMIN in the namespace, which the kernel never has."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0) as sock:  # NETLINK_ROUTE
        sock.bind((0, 0))
        seq = 0
        for block in net["block"]:
            seq += 1
            add_route(sock, block, None, seq)
        for allow in net["allow"]:
            seq += 1
            add_route(sock, allow, SLIRP_GATEWAY, seq)


class Slirp:
    """slirp4netns for one namespace: forked before the namespace exists (it must stay in the
    host's), told the target pid once it does, and gone when the sandbox's supervisor is."""

    def __init__(self, net: Network) -> None:
        binary = net.get("slirp4netns")
        if not binary:
            raise OSError(2, "NBLC_KERNEL_NETWORK=outbound needs slirp4netns, which is not installed")
        self.go_r, self.go_w = os.pipe()
        self.ready_r, self.ready_w = os.pipe()
        self.exit_r, self.exit_w = os.pipe()  # held by the supervisor: its end is slirp4netns's
        self.pid = os.fork()
        if self.pid == 0:
            self._helper(binary)
        for fd in (self.go_r, self.ready_w, self.exit_r):
            os.close(fd)

    def _helper(self, binary: str) -> None:
        """The forked child: waits for the namespace's pid, then becomes slirp4netns (no other
        descriptor of the supervisor's reaches it)."""
        try:
            keep = (self.go_r, self.ready_w, self.exit_r)
            for fd in range(3, 1024):
                if fd not in keep:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)  # its banner; errors still go to stderr (the executor's log)
            request = os.read(self.go_r, 256)
            if not request:
                os._exit(0)
            target, userns, configure = json.loads(request)
            argv = [binary, *(["--configure", "--mtu=65520"] if configure else []), "--disable-host-loopback"]
            argv += [f"--ready-fd={self.ready_w}", f"--exit-fd={self.exit_r}"]
            if userns:
                argv.append(f"--userns-path=/proc/{target}/ns/user")
            for fd in (self.ready_w, self.exit_r):
                os.set_inheritable(fd, True)
            os.execv(binary, [*argv, str(target), TAP])
        finally:
            os._exit(127)

    def discard(self) -> None:
        """Not needed after all (the bubblewrap fallback starts its own): the helper exits."""
        os.close(self.go_w)
        os.close(self.ready_r)
        os.close(self.exit_w)

    def start(self, target: int, userns: bool, configure: bool = True) -> None:
        """Attach to `target`'s namespaces; returns once the tap device is there (and configured)."""
        os.write(self.go_w, json.dumps([target, userns, configure]).encode())
        os.close(self.go_w)
        ready = os.read(self.ready_r, 16)
        os.close(self.ready_r)
        if not ready:
            raise OSError(5, "slirp4netns did not start (its message is in the executor's log)")


def enter_namespace(net: Network, slirp: "Slirp | None", target: int, userns: bool) -> None:
    """Called in the new network namespace, privileged there: loopback, then slirp4netns and the
    routes for "outbound"."""
    loopback_up()
    if slirp is not None:
        slirp.start(target, userns)
        close_private_ranges(net)


_libc = ctypes.CDLL(None, use_errno=True)


def set_routes_in(pid: int, net: Network) -> None:
    """For bubblewrap's sandbox, set up from outside: a child joins its user and network
    namespaces (as their owner it has every capability there) and sets the routes."""
    child = os.fork()
    if child == 0:
        code = 1
        try:
            for ns in ("user", "net"):
                fd = os.open(f"/proc/{pid}/ns/{ns}", os.O_RDONLY)
                if _libc.setns(fd, 0) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {ns}")
                os.close(fd)
            configure_tap()
            close_private_ranges(net)
            code = 0
        except OSError as e:
            os.write(2, f"nblc sandbox: network routes: {e}\n".encode())
        os._exit(code)
    _, status = os.waitpid(child, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise OSError(5, "could not close the private ranges in the kernel's network namespace")


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
