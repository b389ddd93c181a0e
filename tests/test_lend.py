"""A cold build's nodes made by a forked copy (strataml.read.lend) give the index a build here
gives, byte for byte, whatever the copy does; and nothing of it outlives the build."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, edit_yaml
from strataml.read import build, lend, saved
from strataml.read.build import dumps
from strataml.read.query import Graph, tables

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or not hasattr(os, "memfd_create"), reason="no fork or memfd here")

RUN_META = "runs/20260101T000000Z-sales-forecast-a1b2c3/run.yaml"


@pytest.fixture
def lending(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lend, "LENT", 0)  # a copy for any number of records
    monkeypatch.setattr(lend, "cores", lambda: 2)


def _children() -> set[int]:
    """This process's live children (not yet reaped)."""
    out = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        text = (task / "children").read_text() if (task / "children").exists() else ""
        out |= {int(pid) for pid in text.split()}
    return out


def _plain(ws: Path) -> str:
    index, _, _ = saved.made(ws, use_cache=False, lend=False)
    return dumps(index)


def test_the_copy_builds_the_index_a_build_here_gives(ws: Path, lending: None) -> None:
    """With findings (counted on their records, the lines made again) and without."""
    for step in range(2):
        if step:
            edit_yaml(ws / RUN_META, lambda d: d.update(status="sideways", experiment="nope"))
        index, _, used = saved.made(ws, use_cache=False)
        assert used is not None and used.lent and any(type(n) is build.Saved for n in index["nodes"])
        assert dumps(index, used) == _plain(ws)
        plain, _, _ = saved.made(ws, use_cache=False, lend=False)
        assert json.loads(json.dumps(build.tables_of(index, used))) == json.loads(json.dumps(tables(Graph(plain))))
    nodes = {n["id"]: n for n in json.loads(dumps(index, used))["nodes"]}
    assert nodes["run:" + RUN_META.split("/")[1]]["findings"]["errors"] >= 2  # (the test saw a line made again)


@pytest.mark.parametrize(
    "copy",
    ["raises", "wrong answer", "killed", "hangs"],
)
def test_whatever_the_copy_does_the_index_is_the_same(
    ws: Path, lending: None, monkeypatch: pytest.MonkeyPatch, copy: str
) -> None:
    expected = _plain(ws)

    def broken(workspace):  # type: ignore[no-untyped-def]
        if copy == "raises":
            raise RuntimeError("boom")
        if copy == "killed":
            os.kill(os.getpid(), 9)
        if copy == "hangs":
            time.sleep(60)
        return ("not", "what", "it", "writes")

    monkeypatch.setattr(lend, "_lent", broken)
    monkeypatch.setattr(lend, "WAIT_AT_LEAST", 0.3)
    monkeypatch.setattr(lend, "WAIT_PER_RECORD", 0.0)
    before = _children()
    start = time.monotonic()
    index, _, used = saved.made(ws, use_cache=False)
    assert time.monotonic() - start < 20  # a copy that hangs is not waited on
    assert used is None and dumps(index) == expected
    assert _children() <= before  # stopped and reaped


def test_a_copy_for_another_workspace_lends_nothing(ws: Path, lending: None) -> None:
    from strataml.workspace import load, walk

    entries = walk(ws)
    one, other = load(ws, None, entries), load(ws, None, entries)
    lender = lend.Lend()
    lender.start(one)
    assert lender._pid is None  # records not loaded yet: the copy would load them (from the cache)
    for record in [*one.records, *other.records]:
        assert record.loaded is not None
    lender.start(one)
    assert lender._pid is not None
    assert lender.take(other) is None
    lender.stop()
    lender.start(one)
    taken = lender.take(one)
    assert taken is not None and taken.lent and set(taken.ids) == {str(r.ref) for r in one.records}


def test_below_its_threshold_or_on_one_core_there_is_no_copy(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lend, "LENT", 10**9)
    assert saved.made(ws, use_cache=False)[2] is None
    monkeypatch.setattr(lend, "LENT", 0)
    monkeypatch.setattr(lend, "cores", lambda: 1)
    assert saved.made(ws, use_cache=False)[2] is None


def test_the_copy_never_writes_what_this_process_had_not_written_yet(ws: Path) -> None:
    """Its copy of this process's buffered output is never flushed (it ends without the
    interpreter's teardown): a line buffered before the build is printed once."""
    code = (
        "import sys; from strataml.read import lend; lend.LENT = 0; lend.cores = lambda: 2\n"
        "from strataml.cli.main import run\n"
        "print('buffered before the build')\n"
        "sys.stderr.write('said before the build\\n')\n"
        "sys.exit(run(['-C', sys.argv[1], 'index']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(ws)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("buffered before the build") == 1
    assert done.stderr.count("said before the build") == 1
    assert (ws / ".strataml/index.json").read_text() == _plain(ws)


def test_the_copy_holds_no_descriptor_it_inherited(ws: Path, lending: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pipe this process feeds a helper through ends when this process closes it, even while
    the copy still runs (else the helper would wait for the copy, and the run for the helper)."""
    from strataml.workspace import load, walk

    workspace = load(ws, None, walk(ws))
    for record in workspace.records:
        assert record.loaded is not None
    monkeypatch.setattr(lend, "_lent", lambda workspace: time.sleep(30) or iter(()))
    read_end, write_end = os.pipe()
    lender = lend.Lend()
    try:
        lender.start(workspace)
        assert lender._pid is not None
        time.sleep(0.3)  # (the copy has closed what it inherited)
        os.close(write_end)
        os.set_blocking(read_end, False)
        assert os.read(read_end, 1) == b""  # the end of the pipe: no copy of its write end is open
    finally:
        os.close(read_end)
        lender.stop()
    assert lender._pid is None


def test_interrupted_while_waiting_the_copy_is_still_ended(
    ws: Path, lending: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _children()

    def interrupted(pid: int, timeout: float) -> int | None:
        raise KeyboardInterrupt

    monkeypatch.setattr(lend, "_ended", interrupted)
    with pytest.raises(KeyboardInterrupt):
        saved.made(ws, use_cache=False)
    assert _children() <= before


def test_with_sigchld_ignored_there_is_no_copy_and_the_build_stands(ws: Path) -> None:
    """The kernel reaps the children of a process that ignores SIGCHLD (inherited through exec):
    the copy's exit status would be lost, and its number free for another process."""
    code = (
        "import signal, sys; signal.signal(signal.SIGCHLD, signal.SIG_IGN)\n"
        "from strataml.read import lend, saved; lend.LENT = 0; lend.cores = lambda: 2\n"
        "assert not lend.Lend.possible()\n"
        "from strataml.cli.main import run\n"
        "sys.exit(run(['-C', sys.argv[1], 'index']))"
    )
    done = subprocess.run([sys.executable, "-c", code, str(ws)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (ws / ".strataml/index.json").read_text() == _plain(ws)


def test_waiting_for_the_copy_with_many_descriptors_open(
    ws: Path, lending: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """select() cannot watch a descriptor numbered 1,024 or more; a server holds that many."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1_300:
        pytest.skip(f"at most {hard} descriptors here")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1_300), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1_100)]
    try:
        expected = _plain(ws)
        monkeypatch.setattr(lend, "_lent", lambda workspace: time.sleep(30) or iter(()))
        monkeypatch.setattr(lend, "WAIT_AT_LEAST", 0.2)
        monkeypatch.setattr(lend, "WAIT_PER_RECORD", 0.0)
        index, _, used = saved.made(ws, use_cache=False)
        assert used is None and dumps(index) == expected
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_the_copy_closes_what_it_inherited_without_proc(tmp_path: Path) -> None:
    """Where /proc does not list the descriptors, the range up to the soft limit is closed."""
    code = (
        "import os, sys\n"
        "from strataml.read import lend\n"
        "a, b, keep = (os.open(os.devnull, os.O_RDONLY) for _ in range(3))\n"
        "def nothing(path):\n"
        "    raise OSError('no /proc')\n"
        "os.listdir = nothing\n"
        "lend._close_inherited(keep)\n"
        "def alive(fd):\n"
        "    try:\n"
        "        os.fstat(fd)\n"
        "        return True\n"
        "    except OSError:\n"
        "        return False\n"
        "print(alive(a), alive(b), alive(keep), alive(1))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "False", "True", "True"], done.stderr
