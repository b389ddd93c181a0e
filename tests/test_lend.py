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

from conftest import ROOT, age, edit_yaml
from strataml.read import build, lend, saved
from strataml.read.build import dumps
from strataml.read.query import Graph, tables

pytestmark = pytest.mark.skipif(
    not hasattr(os, "fork") or not hasattr(os, "memfd_create"), reason="no fork or memfd here"
)

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


def _misbehave(copy: str) -> None:
    """In the copy: what it does wrong, as the test asks (else nothing)."""
    if copy == "raises":
        raise RuntimeError("boom")
    if copy == "killed":
        os.kill(os.getpid(), 9)
    if copy == "hangs":
        time.sleep(60)


def _index_in_child(ws: Path, before: str = "", new_session: bool = False) -> subprocess.CompletedProcess[str]:
    """`strataml -C ws index` in a process of its own, as the command line runs it, with a copy for
    any number of records and the Python lines `before` run first."""
    code = (
        "import sys\n"
        "from strataml.read import lend; lend.LENT = 0; lend.cores = lambda: 2\n"
        f"{before}\n"
        "from strataml.cli.main import main\n"
        "sys.argv = ['strataml', '-C', sys.argv[1], 'index']\n"
        "main()"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(ws)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=new_session,
    )


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
        _misbehave(copy)
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
    try:
        taken = lender.take(one)
        assert taken is not None and taken.lent and set(taken.ids) == {str(r.ref) for r in one.records}
    finally:
        lender.stop()  # (take() leaves the copy to settle() or stop())
    assert lender._pid is None


def test_below_its_threshold_or_on_one_core_there_is_no_copy(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lend, "LENT", 10**9)
    assert saved.made(ws, use_cache=False)[2] is None
    monkeypatch.setattr(lend, "LENT", 0)
    monkeypatch.setattr(lend, "cores", lambda: 1)
    assert saved.made(ws, use_cache=False)[2] is None


def test_the_copy_never_writes_what_this_process_had_not_written_yet(ws: Path) -> None:
    """Its copy of this process's buffered output is never flushed (it ends without the
    interpreter's teardown): a line buffered before the build is printed once."""
    done = _index_in_child(ws, "print('buffered before the build')\nsys.stderr.write('said before the build\\n')")
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

    def interrupted(fd: int, timeout: float) -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(lend, "_readable", interrupted)
    with pytest.raises(KeyboardInterrupt):
        saved.made(ws, use_cache=False)
    assert _children() <= before


def test_with_sigchld_ignored_there_is_no_copy_and_the_build_stands(ws: Path) -> None:
    """The kernel reaps the children of a process that ignores SIGCHLD (inherited through exec):
    the copy's exit status would be lost, and its number free for another process."""
    done = _index_in_child(
        ws, "import signal; signal.signal(signal.SIGCHLD, signal.SIG_IGN)\nassert not lend.Lend.possible()"
    )
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
        "lend._close_inherited({keep})\n"
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


# -- the cache, written by the copy ---------------------------------------------------------------


def _cache_rows(ws: Path) -> dict[str, object]:
    """What the workspace's cache holds, each records row's values decoded."""
    import marshal
    import sqlite3

    db = sqlite3.connect(ws / ".strataml/cache/strataml.sqlite")
    try:
        records = {
            row[0]: (row[1:5], marshal.loads(row[5][4:]) if row[5] else row[5], marshal.loads(row[6][4:]))
            for row in db.execute("SELECT * FROM records")
        }
        return {
            "records": records,
            "files": sorted(db.execute("SELECT * FROM files")),
            "report": db.execute("SELECT * FROM report").fetchall(),
            "meta": sorted(db.execute("SELECT * FROM meta")),
            "journal": db.execute("PRAGMA journal_mode").fetchone(),
        }
    finally:
        db.close()


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, lending: None) -> list[str]:
    """This process as if it had never opened an SQLite connection (the tests' other caches are
    other files); the connections it opens from now on, listed."""
    import sqlite3

    from strataml import cache

    monkeypatch.setattr(cache, "_connected", False)
    opened: list[str] = []
    connect = sqlite3.connect

    def listed(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(str(path))
        return connect(path, *args, **kwargs)

    monkeypatch.setattr(cache.sqlite3, "connect", listed)
    return opened


def _plain_cache(ws: Path) -> dict[str, object]:
    """The cache a build here writes (then removed, and this process as if it had not written it:
    its connection is closed, and the file gone)."""
    import shutil

    from strataml import cache

    shutil.rmtree(ws / ".strataml", ignore_errors=True)
    saved.made(ws, lend=False)
    rows = _cache_rows(ws)
    shutil.rmtree(ws / ".strataml")
    cache._connected = False  # (the fixture `fresh` puts it back)
    return rows


def test_the_copy_writes_the_cache_a_build_here_writes(ws: Path, fresh: list[str]) -> None:
    """With findings and without; nothing is written to it by this process."""
    edit_yaml(ws / RUN_META, lambda d: d.update(status="sideways"))  # a schema verdict with issues
    age(ws)  # (a file changed in the last two seconds is not cached)
    expected = _plain_cache(ws)
    assert any(issues for _key, _load, issues in expected["records"].values())  # type: ignore[attr-defined]
    del fresh[:]
    index, _, used = saved.made(ws)
    assert used is not None and used.lent
    assert fresh == []  # this process never opened the cache: the copy wrote it
    assert _cache_rows(ws) == expected
    assert dumps(index, used) == _plain(ws)


@pytest.mark.parametrize("copy", ["raises", "killed", "hangs", "refuses"])
def test_whatever_the_copy_does_with_the_cache_it_is_written(
    ws: Path, fresh: list[str], monkeypatch: pytest.MonkeyPatch, copy: str
) -> None:
    expected = _plain_cache(ws)
    written = lend._cache_written

    def broken(cache, go, unsaved):  # type: ignore[no-untyped-def]
        _misbehave(copy)
        cache._new_records.clear()  # (what it holds is not what the parent named)
        return written(cache, go, unsaved)

    monkeypatch.setattr(lend, "_cache_written", broken)
    monkeypatch.setattr(lend, "WRITE_AT_LEAST", 0.5)
    monkeypatch.setattr(lend, "WRITE_PER_RECORD", 0.0)
    before = _children()
    start = time.monotonic()
    del fresh[:]
    _, _, used = saved.made(ws)
    assert time.monotonic() - start < 20  # a copy that hangs is not waited on
    assert used is not None and used.lent  # (its nodes were taken)
    assert _children() <= before
    assert fresh  # written here
    assert _cache_rows(ws) == expected


def test_a_copy_that_damages_what_it_was_handed_leaves_no_cache_and_no_error(
    ws: Path, fresh: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fallback reads back what was handed over: damaged (a length of 2**40), it is not
    decoded, the build stands, and the next run fills the cache."""
    expected = _plain_cache(ws)

    def damaging(cache, go, unsaved):  # type: ignore[no-untyped-def]
        os.read(go, 1)
        os.pwrite(unsaved, (2**40).to_bytes(8, "little"), 0)
        return False

    monkeypatch.setattr(lend, "_cache_written", damaging)
    before = _children()
    index, _, used = saved.made(ws)
    assert used is not None and dumps(index, used) == _plain(ws)
    assert _children() <= before
    assert not (ws / ".strataml/cache/strataml.sqlite").exists()
    monkeypatch.undo()
    saved.made(ws, lend=False)
    assert _cache_rows(ws) == expected


def test_once_this_process_opened_sqlite_it_writes_the_cache_itself(
    ws: Path, fresh: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from strataml import cache

    expected = _plain_cache(ws)
    monkeypatch.setattr(cache, "_connected", True)
    del fresh[:]
    _, _, used = saved.made(ws)
    assert used is not None and used.lent and fresh
    assert _cache_rows(ws) == expected


@pytest.mark.parametrize("failure", [RuntimeError, KeyboardInterrupt])
def test_a_build_that_fails_after_the_handoff_still_leaves_its_cache(
    ws: Path, fresh: list[str], monkeypatch: pytest.MonkeyPatch, failure: type[BaseException]
) -> None:
    """Failing (or interrupted) once the copy has the cache, the build lets it finish writing,
    as the cache was written before the index when this process wrote both; the copy is reaped."""
    age(ws)
    expected = _plain_cache(ws)
    parent, handed = os.getpid(), []
    hand_over, made = lend.Lend._hand_over, build.build

    def spied(self):  # type: ignore[no-untyped-def]
        handed.append(hand_over(self))
        return handed[-1]

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        if os.getpid() == parent:  # (the copy builds too)
            raise failure("after the handoff")
        return made(*args, **kwargs)

    monkeypatch.setattr(lend.Lend, "_hand_over", spied)
    monkeypatch.setattr(build, "build", failing)
    before = _children()
    del fresh[:]
    with pytest.raises(failure):
        saved.made(ws)
    assert handed == [True] and fresh == []  # handed over, and written by the copy alone
    assert _children() <= before
    assert _cache_rows(ws) == expected


def test_a_copy_given_up_on_after_the_handoff_leaves_the_cache_to_this_process(
    ws: Path, fresh: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Too slow to answer (a busy machine): it is ended, and what it was handed is written here."""
    age(ws)
    expected = _plain_cache(ws)
    answer = lend._answer

    def slow(fd, workspace):  # type: ignore[no-untyped-def]
        time.sleep(1.0)
        return answer(fd, workspace)

    monkeypatch.setattr(lend, "_answer", slow)
    monkeypatch.setattr(lend, "WAIT_AT_LEAST", 0.2)
    monkeypatch.setattr(lend, "WAIT_PER_RECORD", 0.0)
    before = _children()
    del fresh[:]
    _, _, used = saved.made(ws)
    assert used is None and fresh  # built here, the cache written here
    assert _children() <= before
    assert _cache_rows(ws) == expected


def test_a_copy_takes_only_the_loads_it_holds(tmp_path: Path) -> None:
    """What the parent hands over names the loads the copy holds from the fork; a name it does
    not hold (or holds at another key) makes it write nothing rather than a guess."""
    from strataml.cache import Cache
    from strataml.loading import Loaded

    parent = Cache(tmp_path)
    one, two, three = Loaded({"a": 1}), Loaded({"b": 2}), Loaded({"c": 3})
    parent.put_loaded("runs/a/run.yaml", (1, 2, 3, 4), one)
    parent.put_loaded("runs/b/run.yaml", (5, 6, 7, 8), two)
    held = parent.held()
    assert {rel: entry[:2] for rel, entry in held.items()} == {
        "runs/a/run.yaml": ((1, 2, 3, 4), one),
        "runs/b/run.yaml": ((5, 6, 7, 8), two),
    }
    parent.put_schema_issues("runs/a/run.yaml", (1, 2, 3, 4), [])
    parent.put_loaded("runs/c/run.yaml", (1, 1, 1, 1), three)  # put after the fork: handed over encoded
    parent.put_sha256("runs/a/f.csv", (9, 9, 9, 9), "0" * 64)
    blob = parent.unsaved(held)
    copy = Cache(tmp_path)
    assert not copy.adopt(blob, {"runs/a/run.yaml": ((1, 2, 3, 4), one)})  # it does not hold runs/b
    assert not copy.adopt(blob, {**held, "runs/b/run.yaml": ((5, 6, 7, 9), two)})  # held at another key
    # Only loads are named: a verdict kept without its document (bytes) is handed over as it is,
    # and a name held as bytes is no load to take.
    import marshal

    parent.put_schema_issues("runs/d/run.yaml", (3, 3, 3, 3), [])
    records = marshal.loads(parent.unsaved(parent.held()))[0]
    assert [value for rel, _key, value, _verdict in records if rel == "runs/d/run.yaml"] == [b""]
    assert not copy.adopt(blob, {**held, "runs/b/run.yaml": ((5, 6, 7, 8), b"not a load")})
    assert copy.adopt(blob, held)
    assert copy.loaded("runs/b/run.yaml", (5, 6, 7, 8), "x").data == {"b": 2}  # type: ignore[union-attr]
    assert copy.loaded("runs/c/run.yaml", (1, 1, 1, 1), "x").data == {"c": 3}  # type: ignore[union-attr]
    assert copy.schema_issues("runs/a/run.yaml", (1, 2, 3, 4)) == []
    assert copy.sha256("runs/a/f.csv", (9, 9, 9, 9)) == "0" * 64


def test_ctrl_c_reaches_the_copy_too_and_the_cache_it_was_handed_is_written(ws: Path, fresh: list[str]) -> None:
    """A terminal's Ctrl-C goes to the whole process group: the copy leaves it to this process,
    which lets it finish writing the cache (not an empty database) and exits 130."""
    age(ws)
    expected = _plain_cache(ws)
    interrupted = (
        "import os, signal, time\n"
        "hand_over = lend.Lend._hand_over\n"
        "def interrupted(self):\n"
        "    handed = hand_over(self)\n"
        "    os.killpg(0, signal.SIGINT)  # (both processes get it, the copy wherever it is)\n"
        "    time.sleep(1)\n"
        "    return handed\n"
        "lend.Lend._hand_over = interrupted"
    )
    done = _index_in_child(ws, interrupted, new_session=True)
    assert done.returncode == 130, done.stderr
    assert _cache_rows(ws) == expected
