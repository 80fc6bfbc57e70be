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

import nblc_network_ports

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
    them) as IPv4 networks to route. Routes cannot tell ports apart: an address:port gets its
    route here, and its ports are enforced by nftables (nblc_network_ports)."""
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
    whole = [n for n in parse_allow([e for e in allow or [] if e.count(":") != 1])]
    ports = nblc_network_ports.port_entries(allow or [], whole)
    blocked = [ipaddress.IPv4Network(n) for n in BLOCKED]
    blocked += [ipaddress.IPv4Network(f"{a}/32") for a in host_addresses()]
    # a block inside an allowed network goes; an allowed network inside a block gets a route
    blocked = [b for b in blocked if not any(b.subnet_of(a) for a in allowed)]
    return {
        "mode": "outbound",
        "block": sorted({str(b) for b in blocked}),
        "allow": [str(a) for a in allowed if a.prefixlen > 0],
        "slirp4netns": shutil.which("slirp4netns"),
        **({"ports": ports, "nft": nblc_network_ports.find_nft()} if ports else {}),
    }


NS_GET_USERNS = 0xB701  # ioctl on a namespace's descriptor: its owning user namespace


def owner_of(ns_fd: int) -> int:
    """A descriptor of the user namespace that owns the namespace `ns_fd` (closed here): the one
    to join before it, whatever user namespaces were nested inside it since."""
    try:
        return fcntl.ioctl(ns_fd, NS_GET_USERNS)
    finally:
        os.close(ns_fd)


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
            if userns:  # the user namespace owning its network namespace (bwrap nests another)
                owner = owner_of(os.open(f"/proc/{target}/ns/net", os.O_RDONLY))
                os.set_inheritable(owner, True)
                argv.append(f"--userns-path=/proc/self/fd/{owner}")
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
