"""A reader with a saved index proves it fresh without walking the tree (index.walk), and
`strataml list` reads its rows from index.rows: every change a walk would see must still be seen."""

from __future__ import annotations

import gc
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import age, invoke as cli, read_walk, write_walk
from strataml.read import proof, saved
from strataml.read.build import dumps
from strataml.read.query import Graph, tables

RUN = "runs/20260101T000000Z-sales-forecast-a1b2c3"
RUN_REF = "run:20260101T000000Z-sales-forecast-a1b2c3"


def primed(ws: Path) -> str:
    """Everything out of the racy window, the index built and saved with its proof."""
    age(ws)
    saved.current(ws)
    key = proof.quick(ws)
    assert key is not None, "a clean, aged workspace is provably fresh after one build"
    return key


def _same_size_content(ws: Path) -> None:
    path = ws / "models/sales-model/1/model.bin"
    path.write_bytes(bytes(b ^ 1 for b in path.read_bytes()))


def _replace_by_symlink(ws: Path) -> None:
    path = ws / "datasets/sales/1/dataset.yaml"
    shutil.copy2(path, ws / "elsewhere.yaml")
    path.unlink()
    path.symlink_to(ws / "elsewhere.yaml")


CHANGES: dict[str, Callable[[Path], None]] = {
    "a data file rewritten, same size": _same_size_content,
    "a file added to a record folder": lambda ws: (ws / "datasets/sales/1/extra.csv").write_text("a\n"),
    "a file removed": lambda ws: (ws / "models/sales-model/1/model.bin").unlink(),
    "a file renamed in its folder": lambda ws: os.rename(
        ws / "models/sales-model/1/model.bin", ws / "models/sales-model/1/model2.bin"
    ),
    "a record folder added": lambda ws: shutil.copytree(ws / RUN, ws / "runs/20260102T000000Z-copy-b2c3d4"),
    "a record folder removed": lambda ws: shutil.rmtree(ws / "datasets/flowers"),
    "a managed folder removed": lambda ws: shutil.rmtree(ws / "experiments"),
    "a file made unreadable": lambda ws: os.chmod(ws / "datasets/sales/1/dataset.yaml", 0),
    "a file replaced by a symlink": _replace_by_symlink,
    "the workspace config edited": lambda ws: (ws / "strataml.yaml").write_text(
        (ws / "strataml.yaml").read_text() + "\n"
    ),
    "a trusted-keys folder added": lambda ws: (ws / "tfc/keys").mkdir(parents=True),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_every_change_a_walk_sees_makes_the_saved_index_stale(ws: Path, change: str) -> None:
    primed(ws)
    CHANGES[change](ws)
    assert proof.quick(ws) is None
    index, rebuilt = saved.current(ws)
    assert rebuilt
    assert dumps(index) == dumps(saved.make(ws))  # what a reader gets is what a full build says


def test_a_managed_folder_created_makes_it_stale(ws: Path) -> None:
    shutil.rmtree(ws / "experiments")
    primed(ws)
    (ws / "experiments").mkdir()
    assert proof.quick(ws) is None


def test_nothing_changed_needs_no_walk_and_lists_from_saved_rows(ws: Path, capsys, monkeypatch) -> None:
    primed(ws)
    from strataml import workspace

    def no_walk(root: Path) -> None:
        raise AssertionError("a provably fresh index needs no walk")

    monkeypatch.setattr(workspace, "walk", no_walk)
    index, rebuilt = saved.current(ws)
    assert not rebuilt
    rows = saved.saved_rows(ws)
    assert rows is not None
    assert {k: v for k, v in rows.items() if k not in ("key", "counts")} == json.loads(json.dumps(tables(Graph(index))))
    for what in ("runs", "datasets", "models", "experiments"):
        code, out, _ = cli(ws, "list", what, "--format", "json", capsys=capsys)
        assert code == 0 and json.loads(out) == rows[what]


def test_list_is_the_same_from_saved_rows_and_from_the_index(ws: Path, capsys) -> None:
    primed(ws)
    from_rows = [cli(ws, "list", w, capsys=capsys)[1] for w in ("runs", "datasets", "models", "experiments")]
    (ws / ".strataml/index.rows").unlink()
    from_index = [cli(ws, "list", w, capsys=capsys)[1] for w in ("runs", "datasets", "models", "experiments")]
    assert from_rows == from_index


def test_nothing_is_proven_within_the_racy_window(ws: Path) -> None:
    primed(ws)
    (ws / "datasets/sales/1/extra.csv").write_text("a\n")  # just now: its mtime cannot be trusted yet
    _, rebuilt = saved.current(ws)
    assert rebuilt
    assert not (ws / ".strataml/index.walk").exists()
    assert proof.quick(ws) is None


@pytest.mark.parametrize(
    "listing",
    [
        b"not json",
        b"[]",
        b'{"format": 1}',
        b'{"format": 1, "key": "x", "paths": [1], "kinds": "f", "stats": [0, 0, 0, 0], "tops": []}',
        b'{"format": 99}',
        b"\xff\xfe",
        b'{"format": 2}',
        b'{"format": 2, "key": "x", "kinds": "f", "tops": [], "paths_bytes": 99, "count": 1}\nab',
        b'{"format": 2, "key": "x", "kinds": "f", "tops": [], "paths_bytes": -1, "count": 1}\nab',
        b'{"format": 2, "key": "x", "kinds": "f", "tops": [], "paths_bytes": 1, "count": 1}\na' + bytes(31),
        b'{"format": 2, "key": "x", "kinds": "ff", "tops": [], "paths_bytes": 1, "count": 2}\na' + bytes(64),
        b'{"format": 2, "key": "x", "kinds": "", "tops": [], "paths_bytes": 1, "count": 0}\na',
        b'{"format": 2, "key": "x", "kinds": "f", "tops": [], "paths_bytes": 1, "count": true}\na' + bytes(32),
    ],
)
def test_a_damaged_listing_means_a_walk(ws: Path, capsys, listing: bytes) -> None:
    key = primed(ws)
    (ws / ".strataml/index.walk").write_bytes(listing)
    assert proof.quick(ws) is None
    index, rebuilt = saved.current(ws)
    assert not rebuilt  # the walk proves the saved index fresh
    assert proof.quick(ws) == key  # and the proof is written again
    assert cli(ws, "list", "runs", capsys=capsys)[0] == 0


def test_a_listing_for_another_key_proves_nothing(ws: Path) -> None:
    primed(ws)
    listing = read_walk(ws)
    (ws / ".strataml/index.key").write_text("0" * 64 + "\n")
    assert proof.quick(ws) is None
    listing["key"] = "0" * 64
    write_walk(ws, listing)
    assert proof.quick(ws) == "0" * 64  # the pair agrees: rows are still checked against it
    (ws / ".strataml/index.rows").write_text(json.dumps({"key": "1" * 64, "runs": []}))
    assert saved.saved_rows(ws) is None


def test_a_symlinked_listing_is_not_followed(ws: Path, tmp_path: Path) -> None:
    primed(ws)
    walk = ws / ".strataml/index.walk"
    moved = tmp_path / "walk.json"
    walk.rename(moved)
    walk.symlink_to(moved)
    assert proof.quick(ws) is None


def test_index_command_reuses_a_provably_fresh_index(ws: Path, tmp_path: Path, capsys) -> None:
    primed(ws)
    built = (ws / ".strataml/index.json").read_bytes()
    code, _, err = cli(ws, "index", capsys=capsys)
    assert code == 0 and "Up to date:" in err and "nodes" in err
    assert (ws / ".strataml/index.json").read_bytes() == built
    code, out, _ = cli(ws, "index", "-o", "-", capsys=capsys)
    assert code == 0 and out.encode() == built
    code, _, err = cli(ws, "index", "-o", str(tmp_path / "copy.json"), capsys=capsys)
    assert code == 0 and "Wrote" in err and (tmp_path / "copy.json").read_bytes() == built
    code, out, _ = cli(ws, "index", "-o", "-", "--timestamp", capsys=capsys)
    assert code == 0 and "generated_at" in json.loads(out)  # a timestamp is always a new build
    (ws / "datasets/sales/1/extra.csv").write_text("a\n")
    code, _, err = cli(ws, "index", capsys=capsys)
    assert code == 0 and "Wrote" in err


def _vouch(ws: Path, name: str, field: str) -> None:
    """Make index.walk vouch for the file as it is now (what a consistent forgery would do)."""
    import hashlib

    listing = read_walk(ws)
    listing[field] = hashlib.sha256((ws / ".strataml" / name).read_bytes()).hexdigest()
    write_walk(ws, listing)


def test_an_index_or_rows_not_saved_with_the_walk_is_not_read(ws: Path, capsys) -> None:
    primed(ws)
    index_file = ws / ".strataml/index.json"
    data = json.loads(index_file.read_text())
    data["nodes"][0]["attrs"]["description"] = "forged"
    index_file.write_text(json.dumps(data))
    index, rebuilt = saved.current(ws)
    assert rebuilt and dumps(index) == dumps(saved.make(ws))
    (ws / ".strataml/index.rows").write_text(json.dumps({"key": proof.quick(ws), "runs": []}))
    assert saved.saved_rows(ws) is None
    code, out, _ = cli(ws, "list", "runs", "--format", "json", capsys=capsys)
    assert code == 0 and len(json.loads(out)) == 1


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d["nodes"][0].update(attrs=["x"]),
        lambda d: d["nodes"][0].pop("kind"),
        lambda d: d["nodes"][0].pop("attrs"),
        lambda d: d["findings"].append({"code": "X", "path": 7, "message": "", "hint": "", "severity": "error"}),
        lambda d: d.update(edges=[{"from": 1}]),
    ],
)
def test_a_damaged_previous_index_is_built_anew(ws: Path, capsys, damage) -> None:
    """Even one index.walk vouches for (its digest matches): the shapes are checked before reuse."""
    primed(ws)
    index_file = ws / ".strataml/index.json"
    data = json.loads(index_file.read_text())
    data.setdefault("findings", [])
    damage(data)
    index_file.write_text(json.dumps(data))
    _vouch(ws, "index.json", "index_sha256")
    (ws / RUN / "run.yaml").write_text((ws / RUN / "run.yaml").read_text() + "\n")
    code, _, err = cli(ws, "list", "runs", capsys=capsys)
    assert code == 0, err
    assert dumps(saved.current(ws)[0]) == dumps(saved.make(ws))


def test_damaged_rows_with_the_right_key_are_not_used(ws: Path, capsys) -> None:
    primed(ws)
    (ws / ".strataml/index.rows").write_text(json.dumps({"key": proof.quick(ws), "counts": {}}))
    _vouch(ws, "index.rows", "rows_sha256")
    assert saved.saved_rows(ws) is None
    assert cli(ws, "list", "runs", capsys=capsys)[0] == 0
    assert cli(ws, "index", capsys=capsys)[0] == 0


def test_a_proof_that_cannot_be_written_does_not_rebuild(ws: Path, tmp_path: Path) -> None:
    """A fresh index whose index.walk cannot be written (a symlink in its place, a read-only
    checkout) is still the answer: readers do not rebuild for want of the proof."""
    primed(ws)
    (ws / ".strataml/index.walk").unlink()
    rows = ws / ".strataml/index.rows"
    rows.unlink()
    rows.symlink_to(tmp_path / "elsewhere")
    for _ in range(2):
        _, rebuilt = saved.current(ws)
        assert not rebuilt
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize(
    "forge",
    [
        lambda listing: (listing["paths"].insert(1, listing["paths"][1]), listing.__setitem__("kinds", listing["kinds"][:1] + "f" + listing["kinds"][1:]), listing["stats"].extend([7, 7, 7, 7])),
        lambda listing: (listing["paths"].append("runs/zz/.git"), listing.__setitem__("kinds", listing["kinds"] + "d"), listing["stats"].extend([7, 7, 7, 7])),
    ],
    ids=["a path twice", "a nested repository"],
)
def test_a_listing_no_walk_could_write_means_a_walk(ws: Path, forge) -> None:
    primed(ws)
    listing = read_walk(ws)
    forge(listing)
    write_walk(ws, listing)
    (ws / RUN / "plots").mkdir()
    (ws / RUN / "plots/extra.bin").write_bytes(b"x")
    looked = proof.probe(ws)
    assert looked.key is None and looked.seen is None
    index, rebuilt = saved.current(ws, looked)
    assert rebuilt and dumps(index) == dumps(saved.make(ws))


@pytest.mark.parametrize("name", ["index.walk", "index.rows", "index.json", "index.key"])
@pytest.mark.parametrize("text", ["[" * 50000, '{"format": 1, "tops": [[["runs"]]]}'])
def test_hostile_files_in_strataml_never_crash_a_reader(ws: Path, capsys, name: str, text: str) -> None:
    primed(ws)
    (ws / ".strataml" / name).write_text(text)
    for args in (("list", "runs"), ("show", RUN_REF), ("lineage", RUN_REF), ("index",)):
        code, _, err = cli(ws, *args, capsys=capsys)
        assert code == 0, (args, err)
    (ws / RUN / "run.yaml").write_text((ws / RUN / "run.yaml").read_text() + "\n")
    for args in (("list", "runs"), ("show", RUN_REF)):
        code, _, err = cli(ws, *args, capsys=capsys)
        assert code == 0, (args, err)


def test_a_symlinked_rows_file_is_refused_once_a_rebuild_must_write(ws: Path, tmp_path: Path, capsys) -> None:
    """Fresh, the index is read and the proof not rewritten; after a change the rebuild must
    write, and refuses (exit 3, naming the file) as for index.json itself: nothing goes through."""
    primed(ws)
    rows = ws / ".strataml/index.rows"
    rows.unlink()
    rows.symlink_to(tmp_path / "elsewhere")
    assert cli(ws, "list", "runs", capsys=capsys)[0] == 0
    (ws / RUN / "run.yaml").write_text((ws / RUN / "run.yaml").read_text() + "\n")
    for args in (("list", "runs"), ("show", RUN_REF)):
        code, _, err = cli(ws, *args, capsys=capsys)
        assert code == 3 and ".strataml/index.rows" in err and "symlink" in err, (args, err)
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize(
    "damage",
    [lambda t: t.update(runs=[1]), lambda t: t["runs"][0].update(metrics=None), lambda t: t.update(gates=None)],
)
def test_damaged_rows_with_a_valid_digest_are_rebuilt(ws: Path, capsys, damage) -> None:
    primed(ws)
    tables = json.loads((ws / ".strataml/index.rows").read_text())
    damage(tables)
    (ws / ".strataml/index.rows").write_text(json.dumps(tables))
    _vouch(ws, "index.rows", "rows_sha256")
    code, out, err = cli(ws, "list", "runs", "--format", "json", capsys=capsys)
    assert code == 0, err
    assert len(json.loads(out)) == 1


def test_damaged_index_with_a_valid_digest_is_rebuilt(ws: Path, capsys) -> None:
    primed(ws)
    data = json.loads((ws / ".strataml/index.json").read_text())
    data["edges"] = None
    text = json.dumps(data)
    (ws / ".strataml/index.json").write_text(text)
    _vouch(ws, "index.json", "index_sha256")
    key = (ws / ".strataml/index.key").read_text().split()[0]
    import hashlib

    (ws / ".strataml/index.key").write_text(f"{key} sha256={hashlib.sha256(text.encode()).hexdigest()}\n")
    for args in (("show", RUN_REF), ("lineage", RUN_REF), ("dashboard", "-o", "-")):
        code, _, err = cli(ws, *args, capsys=capsys)
        assert code == 0, (args, err)


def test_the_index_command_rebuilds_only_what_changed(ws: Path, capsys, monkeypatch) -> None:
    from strataml.read import build

    primed(ws)
    kept: list[int] = []
    real = build.Previous.reusable

    def counting(self, workspace):  # type: ignore[no-untyped-def]
        found = real(self, workspace)
        kept.append(len(found))
        return found

    monkeypatch.setattr(build.Previous, "reusable", counting)
    (ws / RUN / "run.yaml").write_text((ws / RUN / "run.yaml").read_text() + "\n")
    code, _, err = cli(ws, "index", capsys=capsys)
    assert code == 0 and "Wrote" in err
    assert kept and kept[-1] > 0
    assert (ws / ".strataml/index.json").read_text() == dumps(saved.make(ws))


def test_a_listing_written_under_another_file_name_encoding_is_not_read(ws: Path) -> None:
    """Names are stored as the file system encodes them: read under another locale they could
    be other names, so such a listing proves nothing and lends nothing (the reader walks)."""
    import sys

    primed(ws)
    raw = (ws / ".strataml/index.walk").read_bytes()
    mine = f'"encoding":"{sys.getfilesystemencoding()}"'.encode()
    assert mine in raw
    (ws / ".strataml/index.walk").write_bytes(raw.replace(mine, b'"encoding":"latin-1"'))
    looked = proof.probe(ws)
    assert looked.key is None and looked.seen is None
    _, rebuilt = saved.current(ws)
    assert not rebuilt  # walked, and the saved index was fresh all along
    assert proof.quick(ws) is not None  # the listing is written again, in this encoding


def test_an_index_that_could_not_be_written_is_never_vouched_for(
    ws: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The index is written in the caller's thread while its proof is made aside: when that write
    fails, the error reaches the caller (the reader goes on with the index in memory) and no key
    or proof is written beside the index that is still there."""
    from strataml import atomic

    primed(ws)
    real = atomic.write_bytes

    def failing(root: Path, rel: object, data: bytes) -> None:
        if str(rel) == saved.INDEX:
            raise OSError(28, "No space left on device", str(rel))
        real(root, rel, data)  # type: ignore[arg-type]

    monkeypatch.setattr(atomic, "write_bytes", failing)
    (ws / RUN / "run.yaml").write_text((ws / RUN / "run.yaml").read_text().replace("succeeded", "failed"))
    age(ws)
    index, rebuilt = saved.current(ws)
    assert rebuilt and any(n["id"] == RUN_REF and n["attrs"]["status"] == "failed" for n in index["nodes"])
    for name in ("index.key", "index.walk", "index.rows"):
        assert not (ws / ".strataml" / name).exists(), name
    monkeypatch.setattr(atomic, "write_bytes", real)
    assert cli(ws, "list", "runs", "--format", "json", capsys=capsys)[0] == 0
    assert (ws / ".strataml/index.key").exists()


_SLOW_FSYNC_THEN_CTRL_C = """
import os, signal, stat, sys, threading, time
real = os.fsync
def slow(fd):
    if stat.S_ISREG(os.fstat(fd).st_mode) and os.fstat(fd).st_size > 1000:  # the index
        threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT)).start()
        time.sleep(3)
    real(fd)
os.fsync = slow
from strataml.cli.main import main
main(["-C", sys.argv[1], "list", "runs"])
"""


def test_ctrl_c_while_the_index_is_written_leaves_no_temp_file(ws: Path) -> None:
    """The index is written in the reader's own thread (its proof is made aside): Ctrl-C while it
    is written (here during a slow fsync) removes the temp file, as any write does, and the
    command exits 130. (Written in a thread of its own, it was still being written when the
    interrupt reached the command, which exited and left it.)"""
    import subprocess
    import sys

    primed(ws)
    (ws / RUN / "run.yaml").write_text((ws / RUN / "run.yaml").read_text().replace("succeeded", "failed"))
    age(ws)
    done = subprocess.run([sys.executable, "-c", _SLOW_FSYNC_THEN_CTRL_C, str(ws)], capture_output=True, text=True)
    assert done.returncode == 130, done.stderr
    assert [p.name for p in (ws / ".strataml").iterdir() if p.name.startswith(".")] == []
    index, rebuilt = saved.current(ws)
    assert rebuilt and any(n["id"] == RUN_REF and n["attrs"]["status"] == "failed" for n in index["nodes"])


def test_what_is_read_ahead_for_a_previous_index_that_lends_nothing_is_let_go(ws: Path) -> None:
    """A rewalk reads the saved index and rows ahead only for a listing this strataml wrote, and
    previous() keeps none of it once it turned the index down (9 MB per 10k records, held
    through the rebuild otherwise)."""
    primed(ws)
    index = ws / ".strataml/index.json"
    index.write_bytes(index.read_bytes().replace(b"  ]", b" ]", 1))  # not the index the walk was saved with
    (ws / RUN / "run.yaml").write_text((ws / RUN / "run.yaml").read_text() + "\n")
    age(ws)
    looked = proof.probe(ws)
    walked = proof.freshness(ws, looked, ahead=True)
    assert isinstance(walked.ahead, saved.Ahead)
    assert saved.previous(ws, walked) is None
    assert walked.ahead._aside is None and walked.ahead._read == {}
    assert proof.freshness(ws, looked).ahead is None  # not asked for: nothing read


def test_a_walk_anew_takes_the_listing_the_probe_read(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the rewalk does not apply (here a managed folder is no longer a folder) the tree is
    walked anew; the saved listing the probe read is the one previous() starts from, not read and
    decoded a second time (~20 ms on 10k records)."""
    primed(ws)
    shutil.rmtree(ws / "experiments")
    (ws / "experiments").write_text("not a folder\n")
    age(ws)
    reads = []
    real = proof.read_listing

    def counted(root: Path) -> proof.Listing | None:
        reads.append(root)
        return real(root)

    monkeypatch.setattr(proof, "read_listing", counted)
    monkeypatch.setattr(saved, "read_listing", counted)
    looked = proof.probe(ws)
    walked = proof.freshness(ws, looked)
    assert walked.touched is None and walked.listing is looked.listing is not None  # walked anew
    assert saved.previous(ws, walked) is not None  # the saved index lends its nodes
    assert len(reads) == 1
    index, rebuilt = saved.current(ws)
    assert rebuilt and any(f["path"] == "experiments" for f in index["findings"])


def test_only_a_listing_holds_what_its_rebuild_read_until_the_process_ends(ws: Path) -> None:
    """A one-shot `strataml list` keeps the walk and the previous index to its end (freeing them
    object by object cost ~10 ms); a reader with more work after the rebuild (the dashboard, an
    export) lets them go, or its peak memory would carry them (100k runs: hundreds of MB)."""
    from strataml import nogc

    primed(ws)
    meta = ws / RUN / "run.yaml"
    try:
        nogc.one_shot()
        for change, read, held in (("failed", saved.current, False), ("succeeded", saved.current_rows, True)):
            meta.write_text(meta.read_text().replace("succeeded" if change == "failed" else "failed", change))
            age(ws)
            nogc._kept.clear()
            read(ws)
            kinds = {type(o).__name__ for o in nogc._kept}
            assert kinds == ({"Walked", "Previous"} if held else set()), (read.__name__, kinds)
    finally:
        nogc.one_shot(False)
        nogc._kept.clear()
        gc.unfreeze()  # (what the one-shot bulk work froze)
