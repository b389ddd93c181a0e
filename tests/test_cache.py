"""The stat-keyed cache: warm runs re-read nothing unchanged, and it is never trusted blindly."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import BIG, ROOT, age
from strataml.doctor import engine

pytestmark = pytest.mark.timeout(120)


def flip_byte(target: Path, offset: int, mtime_shift_ns: int = 0) -> os.stat_result:
    """Change one byte in place, keep the size, put the old mtime back (shifted); returns the old stat."""
    st = target.stat()
    data = bytearray(target.read_bytes())
    data[offset] ^= 0xFF
    target.write_bytes(bytes(data))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + mtime_shift_ns))
    return st


def _last_byte_flipped(data: bytes) -> bytes:
    # (Not "set to '!'": the content is random, and one run in 256 it already ended with it.)
    return data[:-1] + bytes([data[-1] ^ 0xFF])


def doctor(root: Path, cache: bool = True) -> engine.Report:
    return engine.doctor(root, use_cache=cache)


def test_warm_run_hashes_nothing_that_did_not_change(big: Path) -> None:
    cold = doctor(big)
    assert cold.stats["bytes_hashed"] >= 3 * BIG and cold.findings == ()
    warm = doctor(big)
    assert warm.stats["files_cached"] >= 3 and warm.stats["bytes_hashed"] < BIG
    assert warm.findings == ()


def test_no_cache_rehashes_everything(big: Path) -> None:
    doctor(big)
    assert doctor(big, cache=False).stats["bytes_hashed"] >= 3 * BIG


def test_edit_with_size_and_mtime_restored_is_still_caught(big: Path) -> None:
    doctor(big)
    target = big / "datasets/blob-a/1/a.bin"
    st = flip_byte(target, 100)  # same size, same mtime: only ctime tells
    assert target.stat().st_size == st.st_size and target.stat().st_mtime_ns == st.st_mtime_ns
    assert [(f.code, f.path) for f in doctor(big).findings] == [("TFC0006-E002", "datasets/blob-a/1/a.bin")]


def test_replaced_file_is_caught_by_inode(big: Path) -> None:
    doctor(big)
    target = big / "datasets/blob-b/1/b.bin"
    st = target.stat()
    tmp = target.with_name("new")
    tmp.write_bytes(os.urandom(BIG))
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(tmp, target)
    assert [f.code for f in doctor(big).findings] == ["TFC0006-E002"]


def test_recently_modified_files_are_not_cached(big: Path) -> None:
    target = big / "datasets/blob-c/1/c.bin"
    os.utime(target)  # now: inside the racy window
    doctor(big)
    assert BIG <= doctor(big).stats["bytes_hashed"] < 2 * BIG


@pytest.mark.parametrize("damage", ["garbage", "truncated", "foreign"])
def test_a_damaged_or_foreign_cache_is_discarded_and_rebuilt(big: Path, damage: str) -> None:
    doctor(big)
    db = big / ".strataml/cache/strataml.sqlite"
    if damage == "garbage":
        db.write_bytes(os.urandom(4096))
    elif damage == "truncated":
        db.write_bytes(db.read_bytes()[:100])
    else:
        with sqlite3.connect(db) as con:
            con.execute("UPDATE meta SET value = '0.0.0-other' WHERE key = 'tool'")
            con.execute("UPDATE files SET sha256 = ?", ("0" * 64,))  # a lie that must not be believed
    first = doctor(big)
    assert first.findings == () and first.stats["bytes_hashed"] >= 3 * BIG
    assert doctor(big).stats["bytes_hashed"] < BIG


@pytest.mark.parametrize("addition", [
    # A committed cache that rewrites, as each run stores it, a file's hash to the one its record pins.
    "CREATE TRIGGER lie AFTER INSERT ON files BEGIN UPDATE files SET sha256 = '{pinned}' WHERE path = NEW.path; END",
    "CREATE VIEW extra AS SELECT * FROM files",
    "CREATE INDEX by_sha ON files (sha256)",
])
def test_a_cache_with_a_schema_strataml_never_makes_is_discarded_unread(big: Path, addition: str) -> None:
    target = big / "datasets/blob-a/1/a.bin"
    import hashlib

    pinned = hashlib.sha256(target.read_bytes()).hexdigest()
    doctor(big)
    db = big / ".strataml/cache/strataml.sqlite"
    with sqlite3.connect(db) as con:
        con.execute(addition.format(pinned=pinned))
        con.execute("DELETE FROM files")
        con.execute("DELETE FROM report")
    flip_byte(target, 100, mtime_shift_ns=-10**10)  # (its change time still in the racy window: see below)
    time.sleep(2.1)  # out of the window, so that a run stores its hash
    for _ in range(3):  # each run stores its hash, and the next believes what is stored
        assert [(f.code, f.path) for f in doctor(big).findings] == [("TFC0006-E002", "datasets/blob-a/1/a.bin")]
    with sqlite3.connect(db) as con:
        kinds = [row[0] for row in con.execute("SELECT type FROM sqlite_master")]
    assert kinds.count("table") == 4 and "trigger" not in kinds and "view" not in kinds


def test_concurrent_doctors_do_not_corrupt_the_cache(big: Path) -> None:
    code = "import sys; from strataml.cli.main import run; sys.exit(run(['-C', sys.argv[1], 'doctor', '--strict']))"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(big)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        for _ in range(6)
    ]
    results = [(p.wait(timeout=100), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    assert all(rc == 0 for rc, _ in results), results
    with sqlite3.connect(big / ".strataml/cache/strataml.sqlite") as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert doctor(big).stats["bytes_hashed"] < BIG


def test_a_first_fill_leaves_a_cache_in_wal_mode(big: Path) -> None:
    """The first fill goes through a rollback journal (cheaper for new pages); what it leaves is
    WAL all the same, so a reader never waits for a writer, and no journal is left behind."""
    folder = big / ".strataml/cache"
    assert not folder.exists()
    doctor(big)
    assert sorted(p.name for p in folder.iterdir()) == ["strataml.sqlite"]
    with sqlite3.connect(folder / "strataml.sqlite") as con:
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert con.execute("SELECT count(*) FROM records").fetchone()[0] > 0
    assert doctor(big).stats["bytes_hashed"] < BIG


def test_cached_records_and_schema_verdicts_follow_edits(big: Path) -> None:
    meta = big / "datasets/blob-a/1/dataset.yaml"
    doctor(big)
    text = meta.read_text()
    meta.write_text(text.replace("license: MIT", "license: 7"))
    age(big)
    assert [f.code for f in doctor(big).findings] == ["TFC0002-E001"]
    assert [f.code for f in doctor(big).findings] == ["TFC0002-E001"]  # from the cache, same verdict
    meta.write_text(text)
    age(big)
    assert doctor(big).findings == ()


def test_a_cached_load_is_the_load_itself(tmp_path: Path) -> None:
    """What a warm run reads back is what the loader gave (types, NaN, line-numbered problems)."""
    import math

    from strataml.cache import Cache
    from strataml.loading import Loaded, LoadProblem

    data = {"a": [1, 2.5, None, True, "ü\u2028"], "b": {"nan": float("nan"), "inf": float("-inf")}, "c": 2**70}
    problems = (LoadProblem("TFC0001-E108", "duplicate key 'a'", "keep one", 3), LoadProblem("X", "m", "h"))
    key = (10, 1_000_000_000, 7, 1_000_000_000)  # old enough to be stored
    cache = Cache(tmp_path)
    cache.put_loaded("runs/r/run.yaml", key, Loaded(data, problems))
    cache.put_schema_issues("runs/r/run.yaml", key, [(("a", 0), "not a string", ""), ((), "top", "did you mean 'x'?")])
    cache.save()
    again = Cache(tmp_path)
    back = again.loaded("runs/r/run.yaml", key, tmp_path / "runs/r/run.yaml")
    assert back is not None and back.problems == problems
    assert repr(back.data) == repr(data) and math.isnan(back.data["b"]["nan"])
    assert again.schema_issues("runs/r/run.yaml", key) == [(("a", 0), "not a string", ""), ((), "top", "did you mean 'x'?")]
    assert again.loaded("runs/r/run.yaml", (11, *key[1:]), "x") is None  # another stat key: a miss


@pytest.mark.parametrize("damage", ["garbage", "text", "wrong shape", "size bomb", "one bit"])
def test_damaged_record_rows_are_misses_not_errors(big: Path, damage: str) -> None:
    """A cached load or verdict that is not what the cache writes (its stat key still matching)
    is loaded and judged again, with the verdicts of a run without a cache. ("size bomb": a
    list claiming 2**31 items, which marshal would allocate before reading any: the value's
    CRC-32 keeps it from being decoded.)"""
    import marshal

    from strataml.cache import _sealed

    meta = big / "datasets/blob-a/1/dataset.yaml"
    meta.write_text(meta.read_text().replace("license: MIT", "license: 7"))
    age(big)
    expected = [(f.code, f.path) for f in doctor(big, cache=False).findings]
    assert expected == [("TFC0002-E001", "datasets/blob-a/1/dataset.yaml")]
    doctor(big)
    with sqlite3.connect(big / ".strataml/cache/strataml.sqlite") as con:
        good = con.execute("SELECT loaded FROM records WHERE loaded IS NOT NULL AND length(loaded) > 8").fetchone()[0]
        blob = {
            "garbage": b"\xff\x00garbage",
            "text": "{}",
            "wrong shape": _sealed(marshal.dumps([1, 2, 3])),
            "size bomb": good[:4] + b"[" + (2**31 - 1).to_bytes(4, "little"),
            "one bit": good[:-1] + bytes([good[-1] ^ 1]),
        }[damage]
        assert con.execute("UPDATE records SET loaded = ?, schema = ?", (blob, blob)).rowcount >= 3
        con.execute("DELETE FROM report")  # no reuse of the last run's findings: every record is read
    assert [(f.code, f.path) for f in doctor(big).findings] == expected
    assert [(f.code, f.path) for f in doctor(big).findings] == expected


def test_a_cache_written_by_another_python_is_discarded(big: Path) -> None:
    """Loads are stored as marshal, whose format is the writing Python's own."""
    doctor(big)
    with sqlite3.connect(big / ".strataml/cache/strataml.sqlite") as con:
        assert con.execute("UPDATE meta SET value = 'marshal 4, python 2.7' WHERE key = 'records'").rowcount == 1
        con.execute("UPDATE files SET sha256 = ?", ("0" * 64,))  # a lie that must not be believed
    first = doctor(big)
    assert first.findings == () and first.stats["bytes_hashed"] >= 3 * BIG


def test_unchanged_workspace_reuses_the_last_report(big: Path) -> None:
    (big / "datasets/blob-a/1/notes.txt").write_text("x")
    age(big)
    first = doctor(big)
    again = doctor(big)
    assert "snapshot" not in first.stats and again.stats.get("snapshot") == 1
    assert again.findings == first.findings and [f.code for f in again.findings] == ["TFC0006-W001"]
    # Policy is applied afresh to the remembered findings.
    assert engine.doctor(big, use_cache=True, ignore=["TFC0006-W001"]).findings == ()


def test_any_change_invalidates_the_snapshot(big: Path) -> None:
    doctor(big)
    doctor(big)
    flip_byte(big / "datasets/blob-b/1/b.bin", 0, mtime_shift_ns=-(10**10))
    report = doctor(big)
    assert "snapshot" not in report.stats and [f.code for f in report.findings] == ["TFC0006-E002"]
    (big / "strataml.yaml").write_text((big / "strataml.yaml").read_text() + "\n")
    age(big)
    os.utime(big / "strataml.yaml", (time.time() - 60, time.time() - 60))
    assert "snapshot" not in doctor(big).stats


def test_early_background_hashing_gives_the_same_verdicts(big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys as _sys

    from strataml.doctor import engine as eng

    monkeypatch.setattr(eng, "PARALLEL_BYTES", 0)  # start hashing before the rules, even for small jobs
    interval = _sys.getswitchinterval()
    target = big / "datasets/blob-c/1/c.bin"
    target.write_bytes(_last_byte_flipped(target.read_bytes()))
    report = engine.doctor(big, use_cache=False)
    assert [(f.code, f.path) for f in report.findings] == [("TFC0006-E002", "datasets/blob-c/1/c.bin")]
    assert report.stats["bytes_hashed"] >= 3 * BIG
    assert _sys.getswitchinterval() == interval  # restored after the background work


def test_bulk_reads_give_the_same_answers_as_single_lookups(big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from strataml import cache

    monkeypatch.setattr(cache, "BULK_AFTER", 1)  # every table read in one query after the first lookup
    doctor(big)
    config = big / "strataml.yaml"
    config.write_text(config.read_text() + "\n")  # no snapshot reuse: a full check
    os.utime(config, (time.time() - 60, time.time() - 60))
    warm = doctor(big)
    assert warm.findings == () and warm.stats["files_cached"] >= 3 and warm.stats["bytes_hashed"] < BIG
    flip_byte(big / "datasets/blob-b/1/b.bin", 10, mtime_shift_ns=0)
    assert [f.code for f in doctor(big).findings] == ["TFC0006-E002"]


def test_hashing_pool_hashes_each_file_once_on_any_number_of_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    from strataml import hashing

    monkeypatch.setattr(hashing, "PARALLEL_BYTES", 0)  # threads even for these few bytes
    items = []
    for i, size in enumerate([0, 1, 4096, 3 * 1048576 + 7, 100, 2 * 1048576]):
        path = tmp_path / f"f{i}"
        path.write_bytes(bytes([i]) * size)
        items.append((f"k{i}", str(path), size))
    items.append(("missing", str(tmp_path / "nope"), 10))
    expected = {key: (hashlib.sha256(open(path, "rb").read()).hexdigest(), size) for key, path, size in items[:-1]}
    for threads, start in ((1, 0), (3, 0), (3, 1), (8, 1)):
        ticks: list[int] = []
        pool = hashing.Background(items, ticks.append, threads=threads, start=start)
        results = pool.results()
        assert {k: v for k, v in results.items() if k != "missing"} == expected
        assert isinstance(results["missing"], FileNotFoundError)
        assert sorted(ticks) == sorted(size for _k, _p, size in items)  # every file exactly once
    assert hashing.hash_files(items[:-1], threads=2) == expected


def _files(tmp_path: Path) -> tuple[list[tuple[str, str, int]], dict[str, tuple[str, int]]]:
    import hashlib

    items = []
    names = ["a", "b\nc", "d e", "f\udcff"]  # a newline, a space, a byte that is not UTF-8
    for i, size in enumerate([1, 4096, 3 * 131072 + 7, 2 * 1048576]):
        path = tmp_path / names[i]
        path.write_bytes(bytes([i]) * size)
        items.append((f"k{i}", str(path), size))
    expected = {key: (hashlib.sha256(open(path, "rb").read()).hexdigest(), size) for key, path, size in items}
    return items, expected


def test_helper_processes_answer_as_the_caller_would(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from strataml import hashing

    monkeypatch.setattr(hashing, "PARALLEL_BYTES", 0)  # helper processes even for these few bytes
    items, expected = _files(tmp_path)
    items.append(("missing", str(tmp_path / "nope"), 10))
    (tmp_path / "folder").mkdir()
    items.append(("folder", str(tmp_path / "folder"), 10))
    ticks: list[int] = []
    pool = hashing.Background(items, ticks.append, threads=2, start=1)
    assert pool._helpers, "the helpers should have started"
    results = pool.results()
    assert {k: v for k, v in results.items() if k in expected} == expected
    assert isinstance(results["missing"], FileNotFoundError) and results["missing"].filename == str(tmp_path / "nope")
    assert isinstance(results["folder"], IsADirectoryError)
    assert sorted(ticks) == sorted(size for _k, _p, size in items)  # every file exactly once


@pytest.mark.parametrize(
    "serve",
    [
        "import sys; sys.stdin.buffer.read(); sys.exit(1)",  # dies before answering
        "import sys; sys.stdin.buffer.read(); print('0' * 64, 1); print('not an answer')",  # one wrong, then garbage
        "import sys; sys.stdin.buffer.read(); sys.stdout.write('! x y\\n')",  # a malformed error line
        "import sys; sys.stdin.buffer.read(); sys.stdout.write('0' * 64)",  # dies in the middle of an answer
    ],
)
def test_what_a_helper_does_not_answer_the_caller_hashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, serve: str
) -> None:
    from strataml import hashing

    monkeypatch.setattr(hashing, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(hashing, "_SERVE", serve)
    items, expected = _files(tmp_path)
    results = hashing.Background(items, threads=2, start=1).results()
    wrong = {k for k in expected if results[k] != expected[k]}
    # A helper's well-formed answer is taken as given (this one lies about one file: the doctor
    # would report a checksum mismatch, never a false pass); nothing unanswered is left out.
    assert set(results) == set(expected) and len(wrong) <= (2 if "print('0'" in serve else 0)


@pytest.mark.parametrize("change", ["cut short", "grown"])
def test_a_file_changed_while_a_helper_maps_it_is_hashed_as_it_now_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """A helper hashes big files through a mapping. Cut shorter meanwhile, touching the pages past
    its new end raises SIGBUS, which ends the helper: the caller (never mapping) reads the file
    and hashes it as it now is. Grown meanwhile, the helper reads it again to its end."""
    import hashlib
    import signal

    from strataml import hashing

    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (3 * hashing.MAPPED))
    # The helper's hashlib.sha256, given this file's mapping, changes the file first.
    edit = f"os.truncate({str(big)!r}, 4096)" if change == "cut short" else f"open({str(big)!r}, 'ab').write(b'y' * 10)"
    serve = (
        "import sys; sys.path.append(sys.argv[1]); import hashlib, mmap, os\n"
        "real = hashlib.sha256\n"
        "class Changing:\n"
        "    def __init__(self, data=b''): self.digest = real(data)\n"
        "    def hexdigest(self): return self.digest.hexdigest()\n"
        "    def update(self, data):\n"
        f"        if isinstance(data, mmap.mmap) and len(data) == {3 * hashing.MAPPED}: {edit}\n"
        "        self.digest.update(data)\n"
        "hashlib.sha256 = Changing\n"
        "from strataml import hashing\n"
        "hashing._Way.mapped = lambda self: True\n"  # (as where mapping is the cheaper way)
        "hashing.serve()"
    )
    monkeypatch.setattr(hashing, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(hashing, "_SERVE", serve)
    # Core files allowed, as `ulimit -c unlimited` would: the helper ended by SIGBUS leaves none
    # in its current folder (the user's workspace, where the system writes them into it).
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    items, expected = _files(tmp_path)
    items.append(("big", str(big), 3 * hashing.MAPPED))
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
    try:
        pool = hashing.Background(items, threads=2, start=1)
        helpers = list(pool._helpers)
        assert helpers, "the helpers should have started"
        results = pool.results()
        ended = [h._proc.wait() for h in helpers]
    finally:
        resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))
    now = big.read_bytes()
    assert results["big"] == (hashlib.sha256(now).hexdigest(), len(now))
    assert len(now) == (4096 if change == "cut short" else 3 * hashing.MAPPED + 10)
    assert {k: v for k, v in results.items() if k != "big"} == expected
    assert (-signal.SIGBUS in ended) == (change == "cut short"), ended
    assert list(here.iterdir()) == []


def test_a_helper_maps_a_big_file_a_window_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib
    import mmap

    from strataml import hashing

    window = mmap.ALLOCATIONGRANULARITY * 16
    mapped = tmp_path / "mapped"  # each mapping's length, a line each, written by the helpers
    serve = (
        "import sys; sys.path.append(sys.argv[1]); import mmap\n"
        "from strataml import hashing\n"
        f"hashing.MAP_WINDOW = {window}\n"
        "hashing._Way.mapped = lambda self: True\n"
        "real = mmap.mmap\n"
        f"def counted(fd, length, **k): open({str(mapped)!r}, 'a').write(f'{{length}}\\n'); return real(fd, length, **k)\n"
        "mmap.mmap = counted\n"
        "hashing.serve()"
    )
    monkeypatch.setattr(hashing, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(hashing, "_SERVE", serve)
    items, expected = _files(tmp_path)  # (one of them, 2 MiB, is mapped too)
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * (hashing.MAPPED // 256 * 3 + 7))  # (not a whole number of windows)
    content = big.read_bytes()
    items.append(("big", str(big), len(content)))
    expected["big"] = (hashlib.sha256(content).hexdigest(), len(content))
    assert hashing.Background(items, threads=2, start=1).results() == expected
    lengths = [int(line) for line in mapped.read_text().split()]
    assert max(lengths) == window and sum(lengths) == len(content) + 2 * 1048576
    assert len(lengths) == -(-len(content) // window) + 2 * 1048576 // window  # each window once


def test_a_helper_tries_both_ways_then_keeps_the_cheaper() -> None:
    from strataml import hashing

    for cheaper in (True, False):
        way = hashing._Way()
        tried = []
        for _ in range(2 * hashing.TRIALS):
            mapped = way.mapped()
            tried.append(mapped)
            way.note(mapped, 100 if mapped == cheaper else 130, 1)
        assert tried == [True, False] * hashing.TRIALS  # each way in turn
        assert [way.mapped() for _ in range(3)] == [cheaper] * 3
        way.note(cheaper, 10**6, 1)  # (after the trials, nothing changes its mind)
        assert way.mapped() == cheaper


def test_helpers_that_cannot_start_leave_the_work_to_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from strataml import hashing

    monkeypatch.setattr(hashing, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(hashing.sys, "executable", str(tmp_path / "no-python"))
    items, expected = _files(tmp_path)
    pool = hashing.Background(items, threads=2, start=1)
    assert not pool._helpers
    assert pool.results() == expected


def test_the_doctor_with_helper_processes_gives_the_same_verdicts(big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from strataml import hashing
    from strataml.doctor import engine as eng

    monkeypatch.setattr(eng, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(hashing, "PARALLEL_BYTES", 0)
    target = big / "datasets/blob-c/1/c.bin"
    target.write_bytes(_last_byte_flipped(target.read_bytes()))
    report = engine.doctor(big, use_cache=False)
    assert [(f.code, f.path) for f in report.findings] == [("TFC0006-E002", "datasets/blob-c/1/c.bin")]
    assert report.stats["bytes_hashed"] >= 3 * BIG


def test_closing_early_stops_the_helpers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from strataml import hashing

    monkeypatch.setattr(hashing, "PARALLEL_BYTES", 0)
    items, _expected = _files(tmp_path)
    pool = hashing.Background(items, threads=2, start=1)
    helpers = list(pool._helpers)
    assert helpers
    pool.close()  # the caller failed before it wanted the results
    assert all(h._proc.poll() is not None for h in helpers)


# A helper that waits while it runs below its caller's priority, as if the machine's other work
# kept it from running (the test says so through hashing._running), and hashes as ever otherwise.
# It waits for its input first: its priority is set by then (before the caller sends a byte).
_STARVED = """\
import os, sys, time
sys.path.append(sys.argv[1])
sys.stdin.buffer.peek(1)
if os.getpriority(os.PRIO_PROCESS, 0) > {base}:
    time.sleep({sleep})
from strataml.hashing import serve
serve()
"""


def _starved(monkeypatch: pytest.MonkeyPatch, sleep: float = 60, held: bool = True) -> list[int]:
    """Helpers that stall `sleep` s when modest, held back (`held`: ready to run, never on a core)
    or not (asleep); the priority each helper started at, in order."""
    from strataml import hashing

    monkeypatch.setattr(hashing, "PARALLEL_BYTES", 0)
    base = os.getpriority(os.PRIO_PROCESS, 0)
    monkeypatch.setattr(hashing, "_SERVE", _STARVED.format(base=base, sleep=sleep))
    monkeypatch.setattr(hashing, "_running", lambda pid: ("R" if held else "S", 0))
    monkeypatch.setattr(hashing, "_busy_elsewhere", lambda: False)  # (whatever else the machine runs)
    niceness: list[int] = []
    start = hashing._Helper.__init__

    def started(self: hashing._Helper, *args: object) -> None:
        start(self, *args)  # type: ignore[arg-type]
        niceness.append(os.getpriority(os.PRIO_PROCESS, self._proc.pid))

    monkeypatch.setattr(hashing._Helper, "__init__", started)
    return niceness


def test_modest_helpers_held_back_hand_over_once_the_caller_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from strataml import hashing

    niceness = _starved(monkeypatch)
    monkeypatch.setattr(hashing._Share, "WINDOW", 1)  # a file at a time: both helpers have some
    items, expected = _files(tmp_path)
    ticks: list[int] = []
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    began = time.monotonic()
    pool = hashing.Background(items, ticks.append, threads=2, start=1, modest=True)
    first = list(pool._helpers)
    assert len(first) == 2 and niceness == [min(hashing.MODEST, mine + hashing.MODEST)] * 2
    assert all(h._items for h in first)
    assert pool.results() == expected
    # The held-back ones were ended, not waited for; a helper at this process's priority in the
    # place of each did the work.
    assert time.monotonic() - began < 30
    # Killed, and not waited for by the pool: at the lowest priority on a busy machine a killed
    # helper may take a moment to be gone (a fresh-clone CI run saw one still there), so the test
    # waits a bounded while, and fails if one was never killed.
    for h in first:
        h._proc.wait(timeout=10)
    deadline = time.monotonic() + 10  # (their answers are closed as their talk threads end)
    while not all(h._proc.stdout.closed and h._proc.stdin.closed for h in first) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert all(h._proc.stdout.closed and h._proc.stdin.closed for h in first)
    assert niceness[2:] == [mine, mine]
    assert sorted(ticks) == sorted(size for _k, _p, size in items)  # every file counted once


def test_modest_helpers_that_run_keep_their_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Slow (0.5 s) but never kept from a core: the caller waits for them; nothing is handed over
    # or hashed twice (a big file half done is not started again).
    from strataml import hashing

    niceness = _starved(monkeypatch, sleep=0.5, held=False)
    items, expected = _files(tmp_path)
    ticks: list[int] = []
    pool = hashing.Background(items, ticks.append, threads=2, start=1, modest=True)
    first = list(pool._helpers)
    assert pool.results() == expected
    assert len(niceness) == 2 and all(h.done() and not h._let_go for h in first)
    assert sorted(ticks) == sorted(size for _k, _p, size in items)


def test_modest_helpers_that_cannot_be_replaced_leave_the_rest_to_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from strataml import hashing

    niceness = _starved(monkeypatch)
    items, expected = _files(tmp_path)
    pool = hashing.Background(items, threads=2, start=1, modest=True)
    assert len(niceness) == 2
    monkeypatch.setattr(hashing.sys, "executable", str(tmp_path / "no-python"))
    assert pool.results() == expected
    assert len(niceness) == 2


@pytest.mark.parametrize("missing", ["priority", "schedstat", "an idle machine"])
def test_modest_only_where_it_can_be_told_and_the_machine_is_idle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    # Without priorities, without a way to tell a helper held back, or on a machine whose cores
    # other work keeps busy: the helpers run at the caller's priority and are never ended.
    from strataml import hashing

    niceness = _starved(monkeypatch, sleep=0)
    if missing == "priority":
        monkeypatch.setattr(hashing.os, "setpriority", lambda *a: (_ for _ in ()).throw(PermissionError(1, "no")))
    elif missing == "schedstat":
        monkeypatch.setattr(hashing, "_running", lambda pid: None)
    else:
        monkeypatch.setattr(hashing, "_busy_elsewhere", lambda: True)
    items, expected = _files(tmp_path)
    pool = hashing.Background(items, threads=2, start=1, modest=True)
    first = list(pool._helpers)
    assert not any(h.yielding for h in first)
    assert pool.results() == expected
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    assert niceness == [mine, mine] and all(h._proc.returncode == 0 for h in first)


def test_helpers_keep_the_callers_priority_unless_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from strataml import hashing

    niceness = _starved(monkeypatch)
    items, expected = _files(tmp_path)
    assert hashing.Background(items, threads=2, start=1).results() == expected
    assert niceness == [os.getpriority(os.PRIO_PROCESS, 0)] * 2


def test_only_a_doctor_loading_on_its_second_core_hashes_modestly(big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from strataml import hashing, preload
    from strataml.doctor import engine as eng

    monkeypatch.setattr(eng, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(hashing, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(preload, "START", 1)
    monkeypatch.setattr(preload, "cores", lambda: 2)
    monkeypatch.setattr(preload, "HASHED_PER_SECOND", 10**18)  # the files never outweigh the records
    asked: list[bool] = []
    background = eng.Background

    def recorded(*args: object, modest: bool = False, **kwargs: object) -> hashing.Background:
        asked.append(modest)
        return background(*args, modest=modest, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(eng, "Background", recorded)
    alone = engine.doctor(big, use_cache=False).findings
    engine.doctor(big, use_cache=False, ready=lambda _ws: None)  # an index build's: its copy has that core
    monkeypatch.setattr(preload, "START", 10**9)
    assert engine.doctor(big, use_cache=False).findings == alone  # no stream: the hashing has both cores
    assert asked == [True, False, False]


def test_hashing_that_outweighs_the_loading_is_not_modest(big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The walk found the big files after the loading helper started: preload() will stop that
    # helper (the hashing outweighs the loading), so the hashing has every core, as ever.
    from strataml import hashing, preload
    from strataml.doctor import engine as eng
    from strataml.workspace import walk

    monkeypatch.setattr(eng, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(hashing, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(preload, "cores", lambda: 2)
    monkeypatch.setattr(hashing, "_busy_elsewhere", lambda: False)  # (whatever else the machine runs)
    monkeypatch.setattr(hashing, "_running", lambda pid: ("S", 0))  # (wherever it runs)
    entries = walk(big)
    for loading, per_second, modest in ((0, 10**18, False), (10**6, 10**18, True), (10, 1, False)):
        monkeypatch.setattr(preload, "HASHED_PER_SECOND", per_second)
        pool = eng._hash_early(big, entries, None, None, loading=loading)
        assert pool is not None and pool._helpers
        try:
            assert any(h.yielding for h in pool._helpers) == modest, (loading, per_second)
        finally:
            pool.close()


def test_what_proc_says_of_a_helper_and_of_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real /proc, read as the modest hashing reads it: a process that runs (this one) and
    one that sleeps; a machine with more ready processes than cores, and one with fewer."""
    from strataml import hashing

    if not os.path.exists(f"/proc/{os.getpid()}/schedstat"):
        assert hashing._running(os.getpid()) is None  # (then hashing is never modest)
        return
    state, ran = hashing._running(os.getpid()) or ("", 0)
    assert state == "R" and ran > 0
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        deadline = time.monotonic() + 20
        while (hashing._running(sleeper.pid) or ("",))[0] != "S" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (hashing._running(sleeper.pid) or ("",))[0] == "S"
    finally:
        sleeper.kill()
        sleeper.wait()
    assert hashing._running(sleeper.pid) is None  # reaped: gone
    monkeypatch.setattr(hashing, "cores", lambda: 10**6)
    assert hashing._busy_elsewhere() is False
    monkeypatch.setattr(hashing, "cores", lambda: 0)
    assert hashing._busy_elsewhere() is True  # (this process is ready to run: one at least)


def test_the_code_digest_covers_every_module_whose_change_changes_a_verdict(tmp_path: Path) -> None:
    """schemas/ was left out as data: its modules word and place the issues the cache keeps, so
    an edit there (an editable install, a branch) reused issues another code had made."""
    import os

    import strataml
    from strataml import identity

    package = Path(strataml.__file__).parent
    for module in ("schemas/__init__.py", "schemas/fast.py", "doctor/rules/layout.py", "controls.py"):
        path = package / module
        st = path.stat()
        before = identity._rules()
        try:
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
            assert identity._rules() != before, module
        finally:
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    page = package / "read/site/app.js"  # the page changes no verdict
    st = page.stat()
    before = identity._rules()
    try:
        os.utime(page, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        assert identity._rules() == before
    finally:
        os.utime(page, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_a_cache_another_doctor_is_filling_is_not_thrown_away(big: Path) -> None:
    """A first fill makes the file when it connects and its tables when it commits; a doctor that
    read it in between discarded it as foreign, deleting the file the other was writing (six
    doctors at once left no cache). An empty database is a miss: it is filled, not replaced."""
    db = big / ".strataml/cache/strataml.sqlite"
    db.parent.mkdir(parents=True)
    sqlite3.connect(db).close()  # what the other doctor's connect leaves, before its commit
    inode = db.stat().st_ino
    assert doctor(big).stats["bytes_hashed"] >= 3 * BIG
    assert db.stat().st_ino == inode  # the same file, filled
    assert doctor(big).stats["bytes_hashed"] < BIG


def test_a_cache_another_doctor_holds_while_it_fills_is_not_thrown_away(big: Path) -> None:
    """The same race, later: while a first fill holds its transaction, turning the file WAL (as
    a reader connects) fails at once as "locked", and that was discarded too, deleting the file
    the other doctor then failed to commit. A locked cache is a miss for this run."""
    from strataml import cache

    db = big / ".strataml/cache/strataml.sqlite"
    db.parent.mkdir(parents=True)
    filling = sqlite3.connect(db, timeout=5, isolation_level=None)  # as save() makes a first fill
    try:
        filling.execute("BEGIN IMMEDIATE")
        for statement in cache.TABLES:
            filling.execute(statement)
        filling.executemany("INSERT INTO meta VALUES (?, ?)", sorted(cache._meta().items()))
        reader = cache.Cache(big)
        assert reader.discarded is None and db.exists()
        reader.close()
        filling.execute("COMMIT")
        filling.execute("PRAGMA journal_mode=WAL")
    finally:
        filling.close()
    assert doctor(big).stats["bytes_hashed"] >= 3 * BIG  # (fills the file the other made)
    assert doctor(big).stats["bytes_hashed"] < BIG


@pytest.mark.parametrize(
    "where", ["a folder above the workspace", "core.attributesFile", "an included config", "a relative attributesFile"]
)
def test_attributes_outside_the_workspace_are_part_of_the_cache_key(
    tmp_path: Path, where: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found in a contract audit: `*.csv filter=lfs` in a .gitattributes between the repository's
    top and the workspace (TFC0006-W013 counts those), or in the file core.attributesFile names,
    left a warm doctor saying OK on the cached verdict, where --no-cache found TFC0006-E013."""
    from conftest import copy_example, invoke

    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # (the user's git config: keyed, and not ours to touch)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    top = tmp_path / "repo"
    ws = copy_example(top / "team" / "ws")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q", str(top)], check=True)
    subprocess.run([*git, "add", "-A"], cwd=top, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=top, check=True)
    attrs = top / "myattrs" if where == "a relative attributesFile" else tmp_path / "attrs"
    if where == "a relative attributesFile":  # (git reads it from the work tree's top: a review's)
        attrs.write_text("*.md -text\n")
        subprocess.run(["git", "config", "core.attributesFile", "myattrs"], cwd=top, check=True)
        os.utime(attrs, (time.time() - 60, time.time() - 60))
    if where == "an included config":  # (named on the section's own line, a comment after it: a review's)
        (tmp_path / "home").mkdir()
        (tmp_path / "home/team.cfg").write_text(f'[core] attributesFile = "{attrs}" ; the team\'s routing\n')
        (tmp_path / "home/.gitconfig").write_text("[include]\n\tpath = team.cfg\n")
        attrs.write_text("*.md -text\n")
        age(tmp_path / "home")
        os.utime(attrs, (time.time() - 60, time.time() - 60))
    age(top)
    for _ in range(2):  # (filled, then warm)
        code, out, _err = invoke(ws, "doctor", "--strict", capsys=capsys)
        assert code == 0 and out.startswith("OK"), out
    assert "48 unchanged since last run" in out, out
    routing = "*.csv filter=lfs diff=lfs merge=lfs -text\n"
    if where == "core.attributesFile":
        changed = [tmp_path / "attrs", top / ".git/config"]
        changed[0].write_text(routing)
        subprocess.run(["git", "config", "core.attributesFile", str(changed[0])], cwd=top, check=True)
    elif where in ("an included config", "a relative attributesFile"):  # (only the attributes file changes)
        changed = [attrs]
        attrs.write_text(routing)
    else:
        changed = [top / "team" / ".gitattributes"]
        changed[0].write_text(routing)
    past = time.time() - 60
    for path in changed:  # (aged alone: ageing every file would change each one's ctime, and the cache's keys)
        os.utime(path, (past, past))
    code, cold, _err = invoke(ws, "doctor", "--strict", "--no-cache", capsys=capsys)
    assert code == 2 and cold.count("TFC0006-E013") == 3, cold
    code, warm, _err = invoke(ws, "doctor", "--strict", capsys=capsys)
    assert code == 2 and warm.count("TFC0006-E013") == 3, warm


def test_a_linked_or_future_stamped_git_config_still_lets_runs_be_warm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by a review: keyed by lstat, a symlinked .git/config (as dotfile managers make) gave
    no key, and a config stamped in the future was "just changed" forever: no run was warm again."""
    from conftest import copy_example, invoke

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    (tmp_path / "home").mkdir()
    ws = copy_example(tmp_path / "ws")
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "add", "-A"], cwd=ws, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "b"], cwd=ws, check=True)
    (ws / ".git/config").rename(tmp_path / "config")
    (ws / ".git/config").symlink_to(tmp_path / "config")
    (tmp_path / "home/.gitconfig").write_text("[user]\n\tname = t\n")
    age(ws)
    past, future = time.time() - 60, time.time() + 86400
    os.utime(tmp_path / "config", (past, past))
    os.utime(tmp_path / "home/.gitconfig", (future, future))
    for _ in range(2):
        code, out, _err = invoke(ws, "doctor", "--strict", capsys=capsys)
        assert code == 0, out
    assert "48 unchanged since last run" in out, out
