"""The walk's part of the snapshot key: every fact of every entry counts, numbers of any size."""

from __future__ import annotations

from pathlib import Path

import pytest

from strataml import snapshot
from strataml.read import proof
from strataml.workspace import Entry

OLD = 1_000_000_000  # far outside the racy window


def walk(*rows: tuple[str, str, int, int, int, int]) -> dict[str, Entry]:
    return {r[0]: Entry(*r) for r in rows}


def test_every_fact_changes_the_key() -> None:
    base = [("runs", "dir", 4096, OLD, 7, OLD), ("runs/a", "dir", 4096, OLD, 8, OLD), ("runs/a/run.yaml", "file", 10, OLD, 9, OLD)]
    key = snapshot.keyed("ctx", walk(*base))
    assert key is not None and key == snapshot.keyed("ctx", walk(*base))  # a new dict, the same facts
    assert snapshot.keyed("other", walk(*base)) != key
    for i in range(3):
        for field in range(1, 6):
            row = list(base[i])
            row[field] = "file" if field == 1 and row[1] == "dir" else ("dir" if field == 1 else row[field] + 1)
            changed = [*base[:i], tuple(row), *base[i + 1 :]]
            assert snapshot.keyed("ctx", walk(*changed)) != key, (i, field)  # type: ignore[arg-type]
    renamed = [*base[:2], ("runs/a/run.yml", "file", 10, OLD, 9, OLD)]
    assert snapshot.keyed("ctx", walk(*renamed)) != key


def test_a_symlink_or_a_file_changed_just_now_gives_no_key() -> None:
    assert snapshot.keyed("ctx", walk(("runs/l", "symlink", 1, OLD, 1, OLD))) is None
    import time

    assert snapshot.keyed("ctx", walk(("runs/f", "file", 1, time.time_ns(), 1, OLD))) is None


def test_an_inode_past_int64_is_keyed_but_not_listed() -> None:
    big = walk(("runs", "dir", 1, OLD, 2**64 - 1, OLD))
    other = walk(("runs", "dir", 1, OLD, 2**64 - 2, OLD))
    key = snapshot.keyed("ctx", big)
    assert key is not None and key != snapshot.keyed("ctx", other)
    walked = proof.Walked(big, key, "ctx", [])
    assert proof.listing_body(walked, None) is None  # the next reader walks instead
    fits = walk(("runs", "dir", 1, OLD, 2**62, OLD))
    body = proof.listing_body(proof.Walked(fits, snapshot.keyed("ctx", fits), "ctx", []), None)
    assert body is not None
    decoded = proof.decode_listing(proof.encode_listing(body))
    assert decoded is not None and decoded["paths"] == ["runs"] and decoded["stats"].tolist() == [1, OLD, 2**62, OLD]


def test_a_git_config_swapped_for_a_fifo_after_it_was_looked_at_never_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A config file judged by a stat, then opened by name, blocked the run when a FIFO took its
    place in between (the user's own config or an include it names): it is judged as opened."""
    import os
    import threading

    fifo, regular = tmp_path / "included.cfg", tmp_path / "plain.cfg"
    os.mkfifo(fifo)
    regular.write_text("[core]\n\tattributesFile = x\n")
    real, looks_regular = os.stat, os.stat(regular)
    # (the swap, as it would land between a stat and an open)
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: looks_regular if str(p) == str(fifo) else real(p, *a, **k))
    read: list[object] = []
    reader = threading.Thread(target=lambda: read.append(snapshot._config_entries(fifo)), daemon=True)
    reader.start()
    reader.join(5)
    blocked = reader.is_alive()
    if blocked:  # (let the reader go: a writer opens and closes its end)
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(5)
    assert not blocked and read == [[]]
    assert snapshot._config_entries(regular) == [("core", "attributesfile", "x")]
