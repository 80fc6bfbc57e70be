#!/usr/bin/env python3
"""Puts a kernel into the sandbox a policy (nblc_policy) describes. Used two ways, so that there
is one implementation:

- in-process, by a kernel template forked from the executor (nblc_kernel_fork): `enter(policy,
  cmd)` returns in a new process that is PID 1 of new mount, PID, IPC, UTS and cgroup namespaces, with a
  new root and no privileges; the caller stays outside as its supervisor and never returns;
- as a launcher wrapping any other kernel command (spawn mode, other kernelspecs):

      python -E -s -S nblc_sandbox.py POLICY_JSON -- KERNEL_ARGV...

Standard library only: the launcher starts with -S, before any site-packages exist for it.

Where this process may not create namespaces (EPERM: seccomp, sysctls, AppArmor), the kernel is
exec'ed through bubblewrap instead, with the same policy. A sandbox that cannot be set up ends
the kernel with SANDBOX_FAILED and the reason in policy["error_file"], for the executor to report.
"""

import contextlib
import json
import os
import resource
import select
import shutil
import signal
import socket
import sys
from typing import Any, NoReturn

import nblc_bwrap_disk
import nblc_containment
import nblc_linux as lx
import nblc_network
import nblc_network_bwrap
import nblc_network_ports
import nblc_sandbox_root
import nblc_seccomp
from nblc_policy import Policy

SANDBOX_FAILED = 125
# The kernel is PID 1 of its namespace: the kernel ignores signals it has no handler for, even
# from outside. Interrupts are passed on; requests to end it become SIGKILL.
FORWARD = (signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2)
END = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


class Unavailable(OSError):
    """This process may not create the namespaces (the bubblewrap fallback may still work)."""


def fail(policy: Policy, message: str) -> NoReturn:
    text = f"nblc sandbox: {message}"
    with contextlib.suppress(OSError, KeyError, TypeError), open(policy["error_file"], "w", encoding="utf-8") as f:
        f.write(text)
    print(text, file=sys.stderr, flush=True)
    os._exit(SANDBOX_FAILED)


def enter(policy: Policy, cmd: list[str]) -> None:
    """Returns inside the sandbox (cwd set, own session); the calling process supervises."""
    userns = os.geteuid() != 0  # root needs no user namespace; anyone else maps their own ids
    uid, gid = os.getuid(), os.getgid()
    # cgroup: the notebook's own cgroup (joined before) is the root of what the kernel sees
    flags = lx.CLONE_NEWNS | lx.CLONE_NEWPID | lx.CLONE_NEWIPC | lx.CLONE_NEWUTS | lx.CLONE_NEWCGROUP
    net = policy.get("network")
    slirp = start_slirp(policy, net)
    if nblc_network.needs_netns(net):
        flags |= CLONE_NEWNET
    try:
        lx.unshare(flags | (lx.CLONE_NEWUSER if userns else 0))
    except OSError as e:
        if slirp is not None:
            slirp.discard()
        if policy.get("backend") == "namespaces" or not userns:
            fail(policy, f"cannot create namespaces ({e.strerror}): as root, the worker needs CAP_SYS_ADMIN")
        exec_bwrap(policy, cmd, f"cannot create namespaces ({e.strerror})")
    try:
        if userns:
            for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
                with open(f"/proc/self/{name}", "w") as f:
                    f.write(text)
    except OSError as e:
        fail(policy, f"user namespace: {e}")
    if net is not None and nblc_network.needs_netns(net):
        try:
            nblc_network.enter_namespace(net, slirp, os.getpid(), userns)
        except OSError as e:
            fail(policy, f"network (NBLC_KERNEL_NETWORK={net['mode']}): {e}")
    alive_r, alive_w = os.pipe()  # EOF on alive_r: the supervisor is gone
    pid = os.fork()
    if pid:
        os.close(alive_r)
        supervise(pid)
    os.close(alive_w)
    try:
        lx.prctl(lx.PR_SET_PDEATHSIG, signal.SIGKILL)
        if net is not None:  # here, not before the fork: a child of that process would be PID 1
            nblc_network_ports.restrict_ports(net)
        close_fds(keep=alive_r)  # an inherited descriptor of a host directory would be a way out
        nblc_sandbox_root.build_root(policy)
        socket.sethostname("nblc")
        drop_privileges(policy)
        lx.prctl(lx.PR_SET_PDEATHSIG, signal.SIGKILL)  # a change of uid cleared it
        bpf = nblc_seccomp.program(policy)
        if bpf:
            nblc_seccomp.load(bpf)  # last: it refuses the calls that built the sandbox
        if select.select([alive_r], [], [], 0)[0]:
            os._exit(1)  # the supervisor died before the death signal was set again
        os.close(alive_r)
        os.chdir(policy["cwd"])
        os.setsid()
    except Exception as e:  # between the two pivots nothing can be imported: report, do not unwind
        fail(policy, f"{type(e).__name__}: {e}")


CLONE_NEWNET = 0x40000000


def start_slirp(policy: Policy, net: nblc_network.Network | None) -> "nblc_network.Slirp | None":
    """slirp4netns's helper, forked while this process is still in the host's network."""
    if not net or net.get("mode") != "outbound":
        return None
    try:
        return nblc_network.Slirp(net)
    except OSError as e:
        fail(policy, f"network (NBLC_KERNEL_NETWORK=outbound): {e.strerror or e}")


def supervise(pid: int) -> NoReturn:
    """Outside the namespaces: pass interrupts on, kill the kernel when asked to end, exit as it did."""

    def on_signal(signum: int, _frame: Any) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL if signum in END else signum)

    for signum in (*FORWARD, *END):
        signal.signal(signum, on_signal)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))  # die the same way (SIGKILL: out of memory?)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def close_fds(keep: int) -> None:
    os.closerange(3, keep)
    os.closerange(keep + 1, 65536)


def limit_data(policy: Policy) -> None:
    """The fallback without a writable cgroup: a bound on each process's data (heap and anonymous
    mappings; unlike RLIMIT_AS it does not count reserved address space)."""
    if policy.get("data_limit"):
        limit = int(policy["data_limit"])
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def drop_privileges(policy: Policy) -> None:
    """No capabilities, no way to gain any (no_new_privs: setuid binaries do not elevate), and
    as root: another, unprivileged user without supplementary groups."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core files holding the kernel's memory
    limit_data(policy)
    lx.drop_bounding_set()
    if policy.get("uid") is not None:
        os.setgroups([])
        os.setresgid(policy["gid"], policy["gid"], policy["gid"])
        os.setresuid(policy["uid"], policy["uid"], policy["uid"])
        # The uid change made the process non-dumpable, which hides its own /proc/self files
        # from it. Nothing it could leak to another process of this user remains: those live in
        # other PID namespaces and cannot see it.
        lx.prctl(lx.PR_SET_DUMPABLE, 1)
    lx.clear_capabilities()
    lx.prctl(lx.PR_SET_NO_NEW_PRIVS, 1)


def exec_bwrap(policy: Policy, cmd: list[str], why: str) -> NoReturn:
    """Run `cmd` through bubblewrap, for a worker that is not root (root can always create the
    namespaces itself, unless a seccomp filter forbids it, which stops bwrap as well; and bwrap
    run as root would leave the kernel root on the host)."""
    bwrap = shutil.which("bwrap")
    if os.geteuid() == 0:
        fail(policy, f"{why}; the bubblewrap fallback is for a worker that does not run as root")
    if bwrap is None:
        fail(policy, f"{why}, and bubblewrap (bwrap) is not installed")
    try:
        limit_data(policy)
        args = nblc_containment.bwrap_args_for(policy)
        cmd = nblc_bwrap_disk.command(policy, cmd)  # the folder's copy first, into its bounded tmpfs
        net = policy.get("network")
        if net and net.get("mode") == "outbound":
            try:
                pid = nblc_network_bwrap.start_bwrap(net, [bwrap, *args, "--", *cmd])
            except nblc_network_bwrap.BwrapFailed as e:
                fail(policy, f"{why}; bubblewrap: {e}")
            except OSError as e:
                fail(policy, f"network (NBLC_KERNEL_NETWORK=outbound) with bubblewrap: {e.strerror or e}")
            supervise(pid)
        os.execv(bwrap, [bwrap, *args, "--", *cmd])
    except OSError as e:
        fail(policy, f"{why}; bubblewrap: {e}")


def join_cgroups(policy: Policy) -> None:
    for procs in policy.get("cgroups") or []:
        with open(procs, "w") as f:
            f.write(str(os.getpid()))


def launch(policy: Policy, cmd: list[str]) -> NoReturn:
    """The launcher: limits first (inherited by everything after), then the sandbox, then exec."""
    try:
        lx.prctl(lx.PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with the executor
        join_cgroups(policy)
    except OSError as e:
        fail(policy, f"cgroup: {e}")
    if policy.get("backend") == "bwrap":
        exec_bwrap(policy, cmd, "bubblewrap requested")
    enter(policy, cmd)
    try:
        os.execvp(cmd[0], cmd)
    except OSError as e:
        fail(policy, f"cannot run {cmd[0]}: {e.strerror}")


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: nblc_sandbox.py POLICY_JSON -- COMMAND...", file=sys.stderr)
        return 2
    launch(json.loads(argv[0]), argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
