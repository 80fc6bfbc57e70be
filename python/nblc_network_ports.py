"""NBLC_KERNEL_NETWORK_ALLOW's address:port entries, enforced per port (docs/security.md, "The
network boundary"). A route opens a whole address; for an address listed only with ports, an
nftables table in the kernel's own network namespace lets out connections to those ports and
refuses the rest (TCP reset, ICMP for the others): the kernel has no CAP_NET_ADMIN there and
cannot change it. Standard library only (the sandbox launcher runs with python -S).
"""

import ipaddress
import os
import shutil
import subprocess
from typing import Any

NFT_CANDIDATES = ("/usr/sbin/nft", "/sbin/nft")


def port_entries(entries: list[str], whole: list[str]) -> dict[str, list[int]]:
    """{address: [ports]} for the entries `address:port` whose address no port-less entry
    (`whole`, as networks) opens entirely."""
    nets = [ipaddress.IPv4Network(n) for n in whole]
    ports: dict[str, set[int]] = {}
    for entry in entries:
        if entry.count(":") != 1:
            continue  # a CIDR, an address, or IPv6 (config.ts refuses ports on those)
        host, port = entry.rsplit(":", 1)
        address = ipaddress.ip_address(host.strip("[]"))
        if address.version == 4 and not any(address in n for n in nets):
            ports.setdefault(str(address), set()).add(int(port))
    return {a: sorted(p) for a, p in sorted(ports.items())}


def find_nft() -> str | None:
    """The nft binary of the host (the nftables package), looked up on the host by the executor."""
    return shutil.which("nft") or next((c for c in NFT_CANDIDATES if os.access(c, os.X_OK)), None)


def ruleset(ports: dict[str, list[int]]) -> str:
    """The table: to each listed address, only its ports. A TCP connection attempt (SYN without
    ACK) to another port is reset, anything else to the address refused with ICMP."""
    lines = ["table ip nblc_allow {", "  chain out {", "    type filter hook output priority 0; policy accept;"]
    for address, allowed in ports.items():
        listed = ", ".join(str(p) for p in allowed)
        lines += [
            f"    ip daddr {address} tcp dport {{ {listed} }} accept",
            f"    ip daddr {address} udp dport {{ {listed} }} accept",
            f"    ip daddr {address} tcp flags & (syn | ack) == syn reject with tcp reset",
            f"    ip daddr {address} meta l4proto != tcp reject",
        ]
    return "\n".join([*lines, "  }", "}", ""])


def restrict_ports(net: dict[str, Any]) -> None:
    """Installs the table in the current network namespace (called with CAP_NET_ADMIN there,
    before the kernel runs; never as the first child of a new PID namespace, whose exit would
    end it). OSError: the ports cannot be enforced, and the sandbox must not start."""
    ports = net.get("ports") or {}
    if not ports:
        return
    nft = net.get("nft")
    if not nft:
        raise OSError(
            2,
            "NBLC_KERNEL_NETWORK_ALLOW lists address:port entries, which need nftables (the nft command): "
            "install the nftables package, or list whole addresses",
        )
    done = subprocess.run([nft, "-f", "-"], input=ruleset(ports).encode(), capture_output=True, check=False)
    if done.returncode != 0:
        raise OSError(5, f"nft could not limit NBLC_KERNEL_NETWORK_ALLOW's ports: {done.stderr.decode()[-500:]}")
