"""The sandbox's one description (nblc_policy): what a kernel's root holds and in which order,
what is masked, which environment passes, and the same policy as bubblewrap arguments. Built on
real folders under pytest's tmp_path; nothing here enters a namespace.
"""

import os
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from nblc_policy import BASE_ENV, NOTEBOOKS, Policy, bwrap_args, kernel_env, plan, python_dirs


def snapshot_tree(tmp_path: Path) -> dict[str, str]:
    """A published snapshot with a notebook folder, its subfolder and a secret file to mask,
    beside the scratch copy and the runtime folder the executor makes."""
    snapshot = tmp_path / "snapshot"
    (snapshot / "lesson" / "data").mkdir(parents=True)
    (snapshot / "lesson" / "secret.txt").write_text("s")
    (snapshot / "private").mkdir()
    (tmp_path / "scratch").mkdir()
    (tmp_path / "runtime").mkdir()
    return {k: str(tmp_path / k) for k in ("snapshot", "scratch", "runtime")}


def plan_in(t: dict[str, str], rel_dir: str = "lesson", subdirs: list[str] | None = None, **extra: Any) -> Policy:
    """The policy of a notebook in `rel_dir` of snapshot_tree's snapshot, with `extra` settings."""
    return plan(
        snapshot=t["snapshot"],
        rel_dir=rel_dir,
        scratch=t["scratch"],
        runtime_dir=t["runtime"],
        subdirs=subdirs or [],
        **extra,
    )


def mount_to(policy: dict[str, Any], dst: str) -> dict[str, Any]:
    """The one mount whose sandbox path is dst."""
    found: list[dict[str, Any]] = [m for m in policy["mounts"] if m["dst"] == dst]
    assert len(found) == 1, found
    return found[0]


def test_the_snapshot_is_read_only_and_the_notebooks_folder_a_private_copy(tmp_path: Path) -> None:
    """The notebook runs at NOTEBOOKS/<its folder>: the snapshot read-only, the scratch copy
    writable over its folder, the subfolders bound back read-only, the runtime at its own path."""
    t = snapshot_tree(tmp_path)
    policy = plan_in(t, subdirs=["data"])
    cwd = f"{NOTEBOOKS}/lesson"
    assert policy["cwd"] == cwd
    assert mount_to(policy, NOTEBOOKS) == {"op": "ro", "src": t["snapshot"], "dst": NOTEBOOKS}
    assert mount_to(policy, cwd) == {"op": "rw", "src": t["scratch"], "dst": cwd}
    assert mount_to(policy, f"{cwd}/data") == {"op": "ro", "src": f"{t['snapshot']}/lesson/data", "dst": f"{cwd}/data"}
    assert mount_to(policy, t["runtime"]) == {"op": "rw", "src": t["runtime"], "dst": t["runtime"]}
    dsts = [m["dst"] for m in policy["mounts"]]
    # mounts apply in order: the snapshot, then the copy over its folder, then the subfolders in the copy
    assert dsts.index(NOTEBOOKS) < dsts.index(cwd) < dsts.index(f"{cwd}/data")


def test_a_notebook_at_the_root_runs_in_notebooks(tmp_path: Path) -> None:
    """rel_dir "." : the scratch copy is bound over NOTEBOOKS itself."""
    t = snapshot_tree(tmp_path)
    policy = plan_in(t, rel_dir=".")
    assert policy["cwd"] == NOTEBOOKS
    assert [m["op"] for m in policy["mounts"] if m["dst"] == NOTEBOOKS] == ["ro", "rw"]


def test_the_private_tmp_comes_before_any_bind_under_tmp(tmp_path: Path) -> None:
    """A kernel's /tmp is empty and private, yet a Python or runtime folder under the host's /tmp
    must stay visible: the tmpfs is mounted first, the binds land on it."""
    t = snapshot_tree(tmp_path)
    policy = plan_in(t)
    ops = [(m["op"], m["dst"]) for m in policy["mounts"]]
    tmpfs = ops.index(("tmpfs", "/tmp"))
    assert ops.index(("dev", "/dev")) < tmpfs and ops.index(("proc", "/proc")) < tmpfs
    for i, (op, dst) in enumerate(ops):
        if op in ("ro", "rw") and dst.startswith("/tmp/"):
            assert i > tmpfs, dst


def test_only_what_is_listed_is_bound(tmp_path: Path) -> None:
    """Nothing of the service's data or the host's homes appears: every bind is a system folder,
    the interpreter's, the snapshot and the run's own folders."""
    t = snapshot_tree(tmp_path)
    policy = plan_in(t)
    binds = [m["src"] for m in policy["mounts"] if m["op"] in ("ro", "rw")]
    assert str(tmp_path / "snapshot" / "private") not in binds
    assert not [b for b in binds if b in ("/", "/root", "/home", "/run", "/sys", "/tmp", "/proc")]
    assert [m["op"] for m in policy["mounts"] if m.get("src") == t["scratch"]] == ["rw"]


def test_binds_use_real_paths(tmp_path: Path) -> None:
    """A snapshot reached through a symbolic link is bound by its target (the link would not
    resolve inside the new root)."""
    t = snapshot_tree(tmp_path)
    link = tmp_path / "current"
    link.symlink_to(t["snapshot"])
    policy = plan(snapshot=str(link), rel_dir="lesson", scratch=t["scratch"], runtime_dir=t["runtime"], subdirs=[])
    assert mount_to(policy, NOTEBOOKS)["src"] == t["snapshot"]


def test_masks_hide_files_and_folders_where_the_kernel_would_see_them(tmp_path: Path) -> None:
    """A masked file becomes /dev/null and a folder an empty read-only tmpfs, at the sandbox path
    of the bind that exposes them; masks of nothing or of unbound paths add nothing."""
    t = snapshot_tree(tmp_path)
    masks = [
        f"{t['snapshot']}/lesson/secret.txt",
        f"{t['snapshot']}/private",
        f"{t['snapshot']}/gone",
        "/nonexistent/x",
    ]
    policy = plan_in(t, masks=masks)
    masked = [(m["dst"], m["dir"]) for m in policy["mounts"] if m["op"] == "mask"]
    assert masked == [(f"{NOTEBOOKS}/lesson/secret.txt", False), (f"{NOTEBOOKS}/private", True)]
    assert policy["mounts"][-len(masked) :] == [m for m in policy["mounts"] if m["op"] == "mask"]


def test_identity_and_limits_pass_through(tmp_path: Path) -> None:
    """uid/gid, the per-process data limit, the cgroups to join and the backend reach the launcher."""
    t = snapshot_tree(tmp_path)
    policy = plan_in(
        t,
        uid=1234,
        gid=1235,
        data_limit=1 << 30,
        cgroups=iter(["/sys/fs/cgroup/nblc/x/cgroup.procs"]),
        backend="bwrap",
    )
    assert {k: policy[k] for k in ("uid", "gid", "data_limit", "cgroups", "backend")} == {
        "uid": 1234,
        "gid": 1235,
        "data_limit": 1 << 30,
        "cgroups": ["/sys/fs/cgroup/nblc/x/cgroup.procs"],
        "backend": "bwrap",
    }


def test_bubblewrap_gets_the_same_mounts_in_the_same_order(tmp_path: Path) -> None:
    """The fallback backend: every mount translated in order, the root remounted read-only,
    the kernel started in the notebook's folder, all namespaces but the network unshared."""
    t = snapshot_tree(tmp_path)
    policy = plan_in(
        t,
        subdirs=["data"],
        masks=[f"{t['snapshot']}/lesson/secret.txt", f"{t['snapshot']}/private"],
    )
    args = bwrap_args(policy)
    assert args[:2] == ["--unshare-all", "--share-net"] and "--disable-userns" in args
    assert args[-4:] == ["--remount-ro", "/", "--chdir", policy["cwd"]]
    joined = " ".join(args)
    cwd = policy["cwd"]
    assert f"--ro-bind {t['snapshot']} {NOTEBOOKS}" in joined
    assert f"--bind {t['scratch']} {cwd}" in joined
    assert f"--ro-bind /dev/null {cwd}/secret.txt" in joined
    assert f"--tmpfs {NOTEBOOKS}/private --remount-ro {NOTEBOOKS}/private" in joined
    assert joined.index(f"--ro-bind {t['snapshot']} {NOTEBOOKS}") < joined.index(f"--bind {t['scratch']} {cwd}")


def test_a_kernel_gets_only_the_allowed_environment() -> None:
    """Secrets in the worker's environment never reach a kernel; the operator's names, the
    locale and jupyter_client's JPY_* do; HOME and TMPDIR are the private /tmp."""
    env = {"PATH": "/usr/bin", "LC_ALL": "C.UTF-8", "JPY_PARENT_PID": "1", "NBLC_DATABASE_URL": "postgres://secret"}
    env |= {"GITHUB_TOKEN": "ghp_x", "HOME": "/root", "PROJ_LIB": "/usr/share/proj"}
    assert kernel_env(env, ["PROJ_LIB"]) == {
        "PATH": "/usr/bin",
        "LC_ALL": "C.UTF-8",
        "JPY_PARENT_PID": "1",
        "PROJ_LIB": "/usr/share/proj",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
    }


@given(st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=5)), st.lists(st.text(max_size=12)))
def test_no_name_outside_the_allow_list_passes(env: dict[str, str], extra: list[str]) -> None:
    """Whatever the worker's environment holds, each name passed is allowed, with its own value."""
    out = kernel_env(env, extra)
    for name, value in out.items():
        if name in ("HOME", "TMPDIR"):
            assert value == "/tmp"
        else:
            assert name in BASE_ENV or name in extra or name.startswith(("LC_", "JPY_"))
            assert value == env[name]


def test_a_virtualenvs_interpreter_needs_its_base_installation(tmp_path: Path) -> None:
    """A venv's python is a link into the base Python: both prefixes, and pyvenv.cfg's home's parent."""
    base = tmp_path / "base"
    (base / "bin").mkdir(parents=True)
    (base / "bin" / "python3").write_text("")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(base / "bin" / "python3")
    (venv / "pyvenv.cfg").write_text(f"home = {base / 'bin'}\ninclude-system-site-packages = false\n")
    dirs = python_dirs(str(venv / "bin" / "python"))
    assert str(venv) in dirs and str(base) in dirs
    assert all(os.path.isabs(d) for d in dirs)
