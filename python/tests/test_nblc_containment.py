"""What the containment adds to a kernel's policy (nblc_containment, nblc_network, nblc_seccomp):
which ranges an outbound kernel's routes close and what an allow entry opens, the disk bound as
policy mounts and bubblewrap arguments, the words of a result, and the seccomp program itself.
Pure parts only: the namespaces, slirp4netns and the filter at work are proved through real
kernels in test/system/sandbox/containment.test.ts.
"""

import base64
import ipaddress
from pathlib import Path
from typing import Any

from nblc_bwrap_disk import STAGE, command
from nblc_containment import Containment, annotate, bound_disk, bwrap_args_for, network_note
from nblc_network import BLOCKED, host_addresses, parse_allow, policy_entry
from nblc_network_ports import ruleset
from nblc_policy import plan
from nblc_seccomp import compile_filter


def test_outbound_closes_private_link_local_and_the_hosts_own_addresses() -> None:
    """Every range the issue names is closed, and each of this host's addresses."""
    net = policy_entry("outbound")
    blocked = [ipaddress.ip_network(b) for b in net["block"]]
    for addr in ["10.1.2.3", "172.16.5.4", "192.168.1.1", "100.64.0.1", "169.254.169.254", "127.0.0.1"]:
        assert any(ipaddress.ip_address(addr) in b for b in blocked), addr
    for addr in host_addresses():
        assert any(ipaddress.ip_address(addr) in b for b in blocked), addr
    assert not any(ipaddress.ip_address("198.51.100.1") in b for b in blocked), "the internet stays open"
    assert net["allow"] == []


def test_an_allow_entry_removes_blocks_inside_it_and_routes_what_lies_inside_a_block() -> None:
    net = policy_entry("outbound", ["10.0.0.0/8", "192.168.7.9:5432"])
    assert "10.0.0.0/8" not in net["block"]
    assert "192.168.0.0/16" in net["block"]
    assert net["allow"] == ["10.0.0.0/8", "192.168.7.9/32"]
    assert parse_allow(["203.0.113.0/24", "198.51.100.7:80", "fd00::1"]) == ["203.0.113.0/24", "198.51.100.7/32"]


def test_address_port_entries_are_enforced_per_port_unless_a_whole_entry_opens_the_address() -> None:
    net = policy_entry("outbound", ["10.0.0.0/8", "10.1.2.3:80", "192.168.7.9:5432", "192.168.7.9:6432"])
    assert net["ports"] == {"192.168.7.9": [5432, 6432]}, "10.1.2.3 is opened whole by 10.0.0.0/8"
    rules = ruleset(net["ports"])
    assert "ip daddr 192.168.7.9 tcp dport { 5432, 6432 } accept" in rules
    assert "ip daddr 192.168.7.9 tcp flags & (syn | ack) == syn reject with tcp reset" in rules
    assert "ports" not in policy_entry("outbound", ["192.168.7.0/24"])


def test_none_and_host_have_no_routes() -> None:
    assert policy_entry("none") == {"mode": "none"}
    assert policy_entry("host") == {"mode": "host"}
    assert set(BLOCKED) <= set(policy_entry("outbound")["block"])


def notebook_policy(tmp_path: Path) -> dict[str, Any]:
    for d in ("snapshot/lesson", "scratch", "runtime"):
        (tmp_path / d).mkdir(parents=True)
    return plan(
        snapshot=str(tmp_path / "snapshot"),
        rel_dir="lesson",
        scratch=str(tmp_path / "scratch"),
        runtime_dir=str(tmp_path / "runtime"),
        subdirs=[],
        uid=1234,
        gid=1234,
    )


def test_the_disk_bound_puts_the_folder_and_tmp_on_one_tmpfs(tmp_path: Path) -> None:
    policy = notebook_policy(tmp_path)
    bound_disk(policy, 16 << 20)
    disk = [m for m in policy["mounts"] if m["op"] == "disk"]
    assert [(m["sub"], m["dst"], m["size"]) for m in disk] == [
        ("tmp", "/tmp", 16 << 20),
        ("work", policy["cwd"], 16 << 20),
    ]
    assert disk[1]["src"] == str(tmp_path / "scratch") and disk[1]["uid"] == 1234
    # bubblewrap: two tmpfs sharing the bound, the folder copied in by the command
    args = bwrap_args_for(policy)
    i = args.index("/tmp")
    j = args.index(policy["cwd"])
    assert args[i - 3 : i] == ["--size", args[i - 2], "--tmpfs"] and args[j - 3 : j][::2] == ["--size", "--tmpfs"]
    assert int(args[i - 2]) + int(args[j - 2]) == 16 << 20, "together: the bound"
    assert ["--ro-bind", str(tmp_path / "scratch"), STAGE] == args[args.index(STAGE) - 2 :][:3]
    assert args[-4:] == ["--remount-ro", "/", "--chdir", policy["cwd"]]
    assert command(policy, ["python"])[:3] == ["/bin/sh", "-c", 'cp -a /nblc-disk-src/. . && exec "$@"']


def test_outbound_kernels_get_slirps_nameserver(tmp_path: Path) -> None:
    policy = notebook_policy(tmp_path)
    Containment("outbound").apply_to_policy(policy)
    assert {"op": "file", "dst": "/etc/resolv.conf", "text": "nameserver 10.0.2.3\n"} in policy["mounts"]
    args = bwrap_args_for(policy)
    assert args[args.index("--ro-bind-data") + 2] == "/etc/resolv.conf"


def test_a_result_says_how_the_kernel_was_contained() -> None:
    class Sandbox:
        containment = Containment("none", disk=16 << 20)
        cpu_usage = {"cpuLimit": 0.5}

    full = annotate({"status": "failed", "message": "cell 1: OSError: [Errno 28] No space left on device"}, Sandbox())
    assert full["diskFull"] is True and "NBLC_NOTEBOOK_DISK, 16 MiB" in full["message"]
    assert full["network"] == "none" and full["cpuLimit"] == 0.5
    cut = annotate({"status": "failed", "message": "cell 0: OSError: [Errno 101] Network is unreachable"}, Sandbox())
    assert "NBLC_KERNEL_NETWORK=none" in cut["message"]
    assert annotate({"status": "passed", "message": None}, None)["network"] == "host"  # NBLC_SANDBOX=off
    refused = network_note("cell 1: ConnectionRefusedError: [Errno 111] Connection refused", "outbound")
    assert refused is not None and "the host's loopback" in refused  # a host service on loopback
    parent = annotate(
        {"status": "failed", "message": "cell 0: OSError: [Errno 30] Read-only file system: '../x'"}, Sandbox()
    )
    assert "only the notebook's own folder" in parent["message"]
    assert network_note("cell 0: ValueError: x", "outbound") == "cell 0: ValueError: x"
    assert network_note("cell 0: OSError: No route to host", "host") == "cell 0: OSError: No route to host"


def test_the_seccomp_program_is_a_whole_number_of_bpf_instructions() -> None:
    program = base64.b64decode(compile_filter())
    assert len(program) % 8 == 0 and len(program) // 8 > 50
