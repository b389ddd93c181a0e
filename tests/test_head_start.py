"""Hashing helpers fed as work comes: begun during the walk (HeadStart), topped up as they answer
(_Share), and taken over by the run whatever the walk found."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from conftest import BIG
from strataml.doctor import engine

pytestmark = pytest.mark.timeout(120)


def _items(tmp_path: Path, sizes: list[int]) -> tuple[list[tuple[str, str, int]], dict[str, tuple[str, int]]]:
    items, expected = [], {}
    for i, size in enumerate(sizes):
        path = tmp_path / f"f{i}"
        data = os.urandom(size)
        path.write_bytes(data)
        items.append((f"k{i}", str(path), size))
        expected[f"k{i}"] = (hashlib.sha256(data).hexdigest(), size)
    return items, expected


def test_a_helper_answers_what_it_was_sent_before_its_input_ends(tmp_path: Path) -> None:
    # Fed during a walk, a helper hashes each path as it comes: it does not wait for the last.
    from strataml import hashing

    items, expected = _items(tmp_path, [1000, 2000])
    share = hashing._Share(open=True)
    results: hashing.Results = {}
    (helper,) = hashing._Helper.spawn(1, share, results, None)
    try:
        share.add(items[:1])
        share.top_up(helper)
        deadline = time.monotonic() + 30
        while "k0" not in results and time.monotonic() < deadline:
            time.sleep(0.01)
        assert results == {"k0": expected["k0"]} and not helper.done()
        share.close(items[1:])
        share.top_up(helper)
        assert helper.finish() == [] and results == expected
    finally:
        helper.finish(kill=True)


# A helper that takes 20 ms a file: some of what the walk found is still unsent at the take-over.
_UNHURRIED = """\
import sys, time
sys.path.append(sys.argv[1])
from strataml import hashing
one = hashing._sha256_big  # (what a helper hashes each file with)
hashing._sha256_big = lambda path, way: (time.sleep(0.02), one(path, way))[1]
hashing.serve()
"""


def test_a_head_start_taken_over_counts_only_what_the_run_hashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Files the walk found and sent, that the run does not hash after all, are answered and
    # left out: no result, no progress. What the walk found and did not send yet, and files it
    # never saw, go to the same helpers: each file sent once, even while the helpers' threads
    # top them up during the take-over (held up here by 50 ms, as a terminal's progress bar might).
    from strataml import hashing

    monkeypatch.setattr(hashing, "PARALLEL_BYTES", 1)
    monkeypatch.setattr(hashing, "cores", lambda: 2)
    monkeypatch.setattr(hashing, "_SERVE", _UNHURRIED)
    monkeypatch.setattr(hashing._Share, "WINDOW", 1)  # one file at a time
    adopt = hashing._Helper.adopt
    monkeypatch.setattr(hashing._Helper, "adopt", lambda self, *a: (time.sleep(0.05), adopt(self, *a))[1])
    items, expected = _items(tmp_path, [1000 + i for i in range(30)])
    head = hashing.HeadStart()
    for item in items[:24]:
        head.add(item)
    head.feed()
    helpers = list(head.helpers)
    assert len(helpers) == 2
    time.sleep(0.1)  # (some answered before the take-over, most not sent yet)
    assert all(h._items for h in helpers) and head.share.left()
    wanted = [i for n, i in enumerate(items) if n % 3]  # a third found and not hashed after all; 6 never found
    ticks: list[int] = []
    pool = hashing.Background(sorted(wanted, key=lambda i: -i[2]), ticks.append, threads=2, head_start=head)
    assert pool._helpers == helpers and head.helpers == []
    results = pool.results()
    assert results == {k: v for k, v in expected.items() if k in {i[0] for i in wanted}}
    assert sum(ticks) == sum(size for _k, _p, size in wanted)  # (what was answered before, in one tick)
    sent = [key for h in helpers for key, _path, _size in h._items]
    assert len(sent) == len(set(sent)), "a file was sent twice"
    assert all(h._proc.poll() is not None for h in helpers)


def test_a_head_start_never_taken_over_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from strataml import hashing

    monkeypatch.setattr(hashing, "PARALLEL_BYTES", 1)
    monkeypatch.setattr(hashing, "cores", lambda: 2)
    items, _expected = _items(tmp_path, [4000])
    head = hashing.HeadStart()
    head.add(items[0])
    head.feed()
    helpers = list(head.helpers)
    assert helpers
    head.close()
    assert all(h._proc.poll() is not None for h in helpers) and head.helpers == []
    head.add(items[0])
    head.feed()  # (closed: nothing starts again)
    assert head.helpers == []


# A helper that sleeps before each file if it is the first to start (it claims a marker file
# and writes its process number there): slowed, as other work on its core would slow it.
_SLOW = """\
import os, sys, time
sys.path.append(sys.argv[1])
from strataml import hashing
try:
    fd = os.open(os.environ["STRATAML_TEST_SLOW_HELPER"], os.O_WRONLY | os.O_CREAT | os.O_EXCL)
except FileExistsError:
    pass
else:
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    one = hashing._sha256_big
    hashing._sha256_big = lambda path, way: (time.sleep(0.05), one(path, way))[1]
hashing.serve()
"""


def test_a_helper_slowed_takes_fewer_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Files are not split up front: each helper is kept a small window ahead of what it has
    # answered, so the slow one hashes fewer (and the other does not wait idle at the end).
    from strataml import hashing

    monkeypatch.setattr(hashing, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(hashing, "_SERVE", _SLOW)
    monkeypatch.setattr(hashing._Share, "WINDOW", 1)  # one file at a time
    marker = tmp_path / "slow"
    monkeypatch.setenv("STRATAML_TEST_SLOW_HELPER", str(marker))
    (tmp_path / "files").mkdir()
    items, expected = _items(tmp_path / "files", [1000] * 24)
    pool = hashing.Background(items, threads=2, start=1)
    helpers = list(pool._helpers)
    assert len(helpers) == 2
    assert pool.results() == expected
    answered = {h.pid: h._answered for h in helpers}
    slow = int(marker.read_text())
    (fast,) = set(answered) - {slow}
    assert sum(answered.values()) == len(items) and answered[slow] < answered[fast]


def test_the_doctor_begins_hashing_during_its_walk_and_gives_the_same_verdicts(
    big: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Where the files to hash outweigh the records, the hashing starts as the walk finds them
    # (not after it); the verdicts are those of a run that hashes after the walk.
    from strataml import hashing, preload

    monkeypatch.setattr(hashing, "PARALLEL_BYTES", 1)
    monkeypatch.setattr(engine, "PARALLEL_BYTES", 1)
    monkeypatch.setattr(preload, "PARALLEL_BYTES", 1)
    monkeypatch.setattr(hashing, "cores", lambda: 2)
    monkeypatch.setattr(preload, "cores", lambda: 2)
    monkeypatch.setattr(preload, "HASHED_PER_SECOND", 1)  # the files always outweigh the records
    target = big / "datasets/blob-b/1/b.bin"
    data = target.read_bytes()
    target.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    adopted: list[int] = []
    adopt = hashing.HeadStart.adopt

    def spied(self: hashing.HeadStart, *args: object, **kwargs: object) -> list[hashing._Helper]:
        adopted.append(len(self.helpers))
        return adopt(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(hashing.HeadStart, "adopt", spied)
    report = engine.doctor(big, use_cache=False)
    assert adopted == [2], "the walk should have started two helpers, taken over after it"
    assert [(f.code, f.path) for f in report.findings] == [("TFC0006-E002", "datasets/blob-b/1/b.bin")]
    assert report.stats["bytes_hashed"] >= 3 * BIG
    monkeypatch.setattr(preload, "HASHED_PER_SECOND", 10**18)  # never outweighed: hashed after the walk
    adopted.clear()
    again = engine.doctor(big, use_cache=False)
    assert adopted == [] and again.findings == report.findings


@pytest.mark.timeout(30)
def test_a_modest_helper_that_dies_leaves_its_files_to_the_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Dead, it is neither done nor held back (a zombie is not "ready to run"): the wait for the
    # modest helpers must not look at it forever.
    from strataml import hashing

    monkeypatch.setattr(hashing, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(hashing, "_SERVE", "import sys; sys.stdin.buffer.peek(1); sys.exit(1)")
    monkeypatch.setattr(hashing, "_busy_elsewhere", lambda: False)
    items, expected = _items(tmp_path, [1000, 2000, 3000])
    pool = hashing.Background(items, threads=2, start=1, modest=True)
    if not any(h.yielding for h in pool._helpers):
        pytest.skip("no priorities or no /proc here: helpers are never modest")
    assert pool.results() == expected


def test_a_head_start_is_stopped_where_the_run_keeps_its_own_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from strataml import hashing

    monkeypatch.setattr(hashing, "PARALLEL_BYTES", 1)
    monkeypatch.setattr(hashing, "cores", lambda: 2)
    items, expected = _items(tmp_path, [4000, 5000])
    head = hashing.HeadStart()
    for item in items:
        head.add(item)
    head.feed()
    started = list(head.helpers)
    assert started
    mine: hashing.Results = {}
    pool = hashing.Background(items, None, mine, threads=2, head_start=head)
    assert not set(pool._helpers) & set(started) and all(h._proc.poll() is not None for h in started)
    assert pool.results() is mine and mine == expected
