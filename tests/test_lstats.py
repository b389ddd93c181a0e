"""The lstat helper's answer is always the one a single pass gives, whatever happens to it."""

from __future__ import annotations

import os
import sys
from array import array
from pathlib import Path

import pytest

from strataml import lstats


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    monkeypatch.setattr(lstats, "HELPED", 1)  # the helper for any number of paths
    monkeypatch.setattr(lstats, "cores", lambda: 2)
    paths = []
    for i in range(40):
        folder = tmp_path / f"d{i:02}"
        folder.mkdir()
        (folder / "f.txt").write_text("x" * i)
        paths += [f"d{i:02}", f"d{i:02}/f.txt"]
    (tmp_path / "non-ascii-\u00e9.bin").write_bytes(b"1")
    paths.append("non-ascii-\u00e9.bin")
    return os.path.join(tmp_path, ""), paths


def single(base: str, paths: list[str]) -> array[int]:
    """One pass in this process, as int64 (what lstat_facts answers)."""
    return array("q", [n for p in paths for n in lstats.FACTS(os.lstat(base + p))])


def test_the_helper_answers_what_one_pass_does(tree: tuple[str, list[str]]) -> None:
    base, paths = tree
    started = []
    real = lstats._Helper.start
    lstats._Helper.start = classmethod(lambda cls, *a: started.append(1) or real.__func__(cls, *a))  # type: ignore[method-assign]
    try:
        assert lstats.lstat_facts(base, paths) == single(base, paths)
        blob = "\0".join(paths).encode()
        assert lstats.lstat_facts(base, paths, blob) == single(base, paths)
    finally:
        lstats._Helper.start = real  # type: ignore[method-assign]
    assert started == [1, 1]


@pytest.mark.parametrize("gone", [1, -1], ids=["in the helper's part", "in this process's part"])
def test_a_path_gone_anywhere_is_none(tree: tuple[str, list[str]], gone: int) -> None:
    base, paths = tree
    os.unlink(base + paths[gone])
    assert lstats.lstat_facts(base, paths) is None


def test_no_helper_to_start_means_one_pass(tree: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    base, paths = tree
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    assert lstats.lstat_facts(base, paths) == single(base, paths)


@pytest.mark.parametrize(
    "script",
    [
        "import sys; sys.stdout.buffer.write(b'garbage')",  # cut short
        "import sys; sys.exit(3)",  # refused
        "import sys; sys.stdin.close(); sys.stdout.buffer.write(bytes(10**6))",  # too long, input unread
        "raise RuntimeError('a traceback nobody should see')",
    ],
)
def test_a_broken_helper_is_done_over(
    tree: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], script: str
) -> None:
    base, paths = tree
    monkeypatch.setattr(lstats, "_HELPER", script)
    assert lstats.lstat_facts(base, paths) == single(base, paths)
    assert capfd.readouterr().err == ""  # the helper's own output never reaches the user


def test_a_number_past_int64_is_none_not_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The facts are int64 (as index.walk stores them): an inode or size past that is no answer,
    and the reader walks, as for a path gone."""
    (tmp_path / "f").write_text("x")
    real = os.lstat

    class Huge:
        def __init__(self, st: os.stat_result) -> None:
            self.st_mode, self.st_size, self.st_mtime_ns, self.st_ctime_ns = (
                st.st_mode,
                st.st_size,
                st.st_mtime_ns,
                st.st_ctime_ns,
            )
            self.st_ino = 2**64 - 1  # (some file systems hand out such inodes)

    monkeypatch.setattr(os, "lstat", lambda path: Huge(real(path)))
    assert lstats.lstat_facts(str(tmp_path) + "/", ["f"]) is None
