"""The executor's files (nblc_files, nblc_kernel_sandbox.parse_size): a notebook is read only
inside its snapshot, artifacts are written whole, the scratch copy mirrors the notebook's folder,
and memory sizes parse as NBLC_NOTEBOOK_MEMORY documents them.
"""

import os
from pathlib import Path

import pytest

from nblc_files import make_scratch, read_notebook, remove_tree, write_atomic
from nblc_kernel_sandbox import parse_size


def test_a_notebook_is_read_inside_its_snapshot(tmp_path: Path) -> None:
    """A notebook, or a link to one, inside the root is read."""
    (tmp_path / "nb.ipynb").write_bytes(b"{}")
    (tmp_path / "alias.ipynb").symlink_to(tmp_path / "nb.ipynb")
    assert read_notebook(str(tmp_path / "nb.ipynb"), str(tmp_path)) == b"{}"
    assert read_notebook(str(tmp_path / "alias.ipynb"), str(tmp_path)) == b"{}"


def test_a_link_out_of_the_snapshot_is_not_read(tmp_path: Path) -> None:
    """A repository's link to a host file must not be read by the unsandboxed executor."""
    secret = tmp_path / "secret"
    secret.write_text("password")
    root = tmp_path / "snapshot"
    root.mkdir()
    (root / "nb.ipynb").symlink_to(secret)
    (tmp_path / "snapshot-other").mkdir()
    assert read_notebook(str(root / "nb.ipynb"), str(root)) is None
    # a sibling whose name starts like the root's is outside it too
    (root / "nb2.ipynb").symlink_to(tmp_path / "snapshot-other")
    assert read_notebook(str(root / "nb2.ipynb"), str(root)) is None
    # without a root (a notebook given by path) the file is read
    assert read_notebook(str(root / "nb.ipynb"), None) == b"password"


def test_write_atomic_replaces_whole_files_with_ordinary_permissions(tmp_path: Path) -> None:
    """The result file appears complete, its folder created, no temporary file left behind."""
    target = tmp_path / "out" / "result.json"
    write_atomic(str(target), "first")
    write_atomic(str(target), "second")
    assert target.read_text() == "second"
    assert os.listdir(target.parent) == ["result.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_the_scratch_copy_mirrors_the_notebooks_folder(tmp_path: Path) -> None:
    """Files are copied (writable, so the notebook may overwrite them), folders and links linked."""
    folder = tmp_path / "lesson"
    (folder / "data").mkdir(parents=True)
    (folder / "table.csv").write_text("a,b")
    (folder / "table.csv").chmod(0o444)
    (folder / "link").symlink_to("table.csv")
    scratch = make_scratch(str(folder), str(tmp_path / "scratch"))
    assert sorted(os.listdir(scratch)) == ["data", "link", "table.csv"]
    copy = Path(scratch) / "table.csv"
    assert not copy.is_symlink() and copy.read_text() == "a,b" and os.access(copy, os.W_OK)
    assert os.readlink(Path(scratch) / "data") == str(folder / "data")
    assert os.readlink(Path(scratch) / "link") == str(folder / "link")
    remove_tree(scratch)
    assert not os.path.exists(scratch)


def test_remove_tree_removes_what_a_notebook_made_read_only(tmp_path: Path) -> None:
    """A notebook may leave read-only folders in its scratch copy; the executor still removes it."""
    locked = tmp_path / "scratch" / "locked"
    locked.mkdir(parents=True)
    (locked / "f").write_text("x")
    locked.chmod(0o500)
    remove_tree(str(tmp_path / "scratch"))
    assert not (tmp_path / "scratch").exists()


@pytest.mark.parametrize(
    ("text", "size"),
    [("4G", 4 << 30), ("512M", 512 << 20), ("1.5g", 3 << 29), ("64KiB", 64 << 10), (" 2gb ", 2 << 30), ("1024", 1024)],
)
def test_memory_sizes_use_binary_units(text: str, size: int) -> None:
    """NBLC_NOTEBOOK_MEMORY's forms: a number of bytes, or K/M/G/T with optional i and B, any case."""
    assert parse_size(text) == size


def test_a_size_that_is_no_size_is_refused() -> None:
    """A typo is an error, not a silent zero or a guess."""
    with pytest.raises(ValueError):
        parse_size("4 gigs")
