"""Bounds on what a kernel makes the executor hold (nblc_output), the files read after a kernel
ran (nblc_files.read_capped), the private copy of a notebook's folder (nblc_files.copy_folder)
and the kernel's start without the notebook's folder on sys.path (nblc_kernel_boot)."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from nblc_files import copy_folder, read_capped
from nblc_kernel_boot import BOOT, safe_command
from nblc_output import ENAME_LIMIT, OutputBudget, cap_error, one_line


def stream(text: str) -> dict[str, Any]:
    return {"msg_type": "stream", "content": {"name": "stdout", "text": text}}


def test_an_exception_name_is_one_line_of_at_most_200_characters() -> None:
    assert one_line("Bad\nName  here") == "Bad Name here"
    assert len(one_line("x" * 1000)) == ENAME_LIMIT
    capped = cap_error({"ename": "A\nB", "evalue": "v" * 100_000, "traceback": ["t" * 1000] * 1000})
    assert capped["ename"] == "A B"
    assert len(capped["evalue"]) < 17_000
    assert sum(len(line) for line in capped["traceback"]) < 300_000


def test_outputs_past_the_limit_are_cut_with_one_note_per_cell() -> None:
    budget = OutputBudget(400)  # one output: 100
    outs: list[Any] = []
    assert budget.admit(stream("a" * 50), outs, 0) is not None
    cut = budget.admit(stream("b" * 150), outs, 0)
    assert cut is not None and cut["content"]["text"] == "b" * 100
    assert budget.truncated and len(outs) == 1 and "NBLC_NOTEBOOK_OUTPUT_LIMIT" in outs[0]["text"]
    for _ in range(5):
        budget.admit(stream("c" * 100), outs, 1)
    assert budget.used <= 400
    assert len(outs) == 2, "one note for the next cell, however many outputs it dropped"


def test_large_data_is_replaced_and_errors_are_always_kept() -> None:
    budget = OutputBudget(400)
    msg = {"msg_type": "display_data", "content": {"data": {"text/plain": "x" * 1000}, "metadata": {}}}
    admitted = budget.admit(msg, [], 0)
    assert admitted is not None and "left out" in admitted["content"]["data"]["text/plain"]
    budget.used = budget.limit
    error = {"msg_type": "error", "content": {"ename": "E", "evalue": "v", "traceback": ["E: v"]}}
    assert budget.admit(error, [], 0) is not None


def test_read_capped_reads_only_small_regular_files(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"0123456789")
    assert read_capped(str(tmp_path / "f"), 4) == b"0123"
    (tmp_path / "link").symlink_to(tmp_path / "f")
    assert read_capped(str(tmp_path / "link"), 100) is None
    os.mkfifo(tmp_path / "fifo")
    assert read_capped(str(tmp_path / "fifo"), 100) is None  # and it did not block
    assert read_capped(str(tmp_path / "missing"), 100) is None


def test_copy_folder_copies_sub_folders_writable_and_links_as_links(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "Figures").mkdir(parents=True)
    (src / "Figures" / "movie.mp4").write_text("movie")
    (src / "Figures" / "movie.mp4").chmod(0o444)
    (src / "data").symlink_to("../elsewhere")
    os.mkfifo(src / "fifo")
    dst.mkdir()
    owned: list[str] = []
    copy_folder(str(src), str(dst), owned.append)
    with open(dst / "Figures" / "movie.mp4", "r+") as f:
        f.write("frames")
    assert (src / "Figures" / "movie.mp4").read_text() == "movie"
    assert os.readlink(dst / "data") == "../elsewhere"
    assert not (dst / "fifo").exists()
    assert sorted(Path(p).name for p in owned) == ["Figures", "data", "movie.mp4"]


def test_copy_folder_leaves_out_the_folder_that_holds_the_copy(tmp_path: Path) -> None:
    # A scratch root inside the notebook's folder: the copy must not copy itself without end.
    (tmp_path / "nb.ipynb").write_text("{}")
    dst = tmp_path / "scratch" / "run" / "work"
    dst.mkdir(parents=True)
    copy_folder(str(tmp_path), str(dst), lambda _: None)
    assert sorted(p.name for p in dst.iterdir()) == ["nb.ipynb"]


def test_the_kernel_boot_never_imports_from_the_working_directory(tmp_path: Path) -> None:
    assert safe_command(["py", "-m", "ipykernel_launcher", "-f", "c.json"]) == ["py", "-c", BOOT, "-f", "c.json"]
    assert safe_command(["julia", "-i", "kernel.jl"]) == ["julia", "-i", "kernel.jl"]
    for name in ("ipykernel_launcher.py", "pathlib.py", "runpy.py"):
        (tmp_path / name).write_text("raise SystemExit('shadowed')\n")
    run = subprocess.run(
        [sys.executable, "-c", BOOT, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert "shadowed" not in run.stdout + run.stderr
    assert run.returncode == 0, run.stderr
