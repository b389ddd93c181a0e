"""The walk's part of the snapshot key: every fact of every entry counts, numbers of any size."""

from __future__ import annotations

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
