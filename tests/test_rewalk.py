"""A reader that finds the saved index stale lists again only the folders whose lstat changed
(workspace.rewalk): after random changes to the tree, it must give exactly what walk() gives."""

from __future__ import annotations

import os
import random
import shutil
import time
from pathlib import Path

import pytest

from strataml import atomic, cache, identity, snapshot, workspace
from strataml.read import proof, saved

TOPS = ("datasets", "runs", "models", "experiments")


def _dirs(root: Path) -> list[Path]:
    found = [p for top in TOPS if (root / top).is_dir() for p in [root / top, *(root / top).rglob("*")]]
    return sorted(p for p in found if p.is_dir() and not p.is_symlink())


def _files(root: Path) -> list[Path]:
    return sorted(p for top in TOPS if (root / top).is_dir() for p in (root / top).rglob("*") if p.is_file() and not p.is_symlink())


def mutate(root: Path, rng: random.Random) -> None:
    dirs, files = _dirs(root), _files(root)
    op = rng.randrange(14)
    name = f"n{rng.randrange(10**6)}"
    if op == 0 and dirs:
        (rng.choice(dirs) / f"{name}.txt").write_text(name)
    elif op == 1 and files:
        with rng.choice(files).open("ab") as out:
            out.write(b"x")
    elif op == 2 and files:
        rng.choice(files).unlink()
    elif op == 3 and dirs:
        folder = rng.choice(dirs) / name / "inner"
        folder.mkdir(parents=True)
        (folder / "a.bin").write_bytes(b"a")
    elif op == 4 and len(dirs) > 4:
        victim = rng.choice(dirs)
        if victim.name not in TOPS:
            shutil.rmtree(victim)
    elif op == 5 and files and dirs:
        source = rng.choice(files)
        os.rename(source, rng.choice([source.parent, *dirs]) / f"{name}.moved")
    elif op == 6 and files:
        path = rng.choice(files)
        path.unlink()
        path.mkdir()
        (path / "now-a-folder.txt").write_text("x")
    elif op == 7 and len(dirs) > 4:
        victim = rng.choice(dirs)
        if victim.name not in TOPS:
            shutil.rmtree(victim)
            victim.write_text("now a file")
    elif op == 8 and files:
        path = rng.choice(files)
        path.unlink()
        path.symlink_to("elsewhere")
    elif op == 9 and dirs:
        folder = rng.choice(dirs)
        if ".git" not in folder.parts:
            (folder / ".git").mkdir(exist_ok=True)
    elif op == 10:
        top = root / rng.choice(TOPS)
        if top.is_dir() and rng.random() < 0.3:
            shutil.rmtree(top)
        else:
            (top / name).mkdir(parents=True, exist_ok=True)
    elif op == 11 and files:
        os.chmod(rng.choice(files), 0o600)
    elif op == 12 and dirs:
        os.utime(rng.choice(dirs))
    elif op == 13:
        clean(root)


def clean(root: Path) -> None:
    """Links and nested repositories go (while any is there, no listing can be written)."""
    for path in _dirs(root):
        if path.name == ".git":
            shutil.rmtree(path, ignore_errors=True)
    for top in TOPS:
        for link in (root / top).rglob("*") if (root / top).is_dir() else ():
            if link.is_symlink():
                link.unlink()


def seed_tree(root: Path, rng: random.Random) -> None:
    (root / "strataml.yaml").write_text("schema: strataml/workspace/v1\nname: t\n")
    for top in TOPS[:3]:
        for i in range(rng.randint(1, 4)):
            folder = root / top / f"r{i}" / "1"
            folder.mkdir(parents=True)
            for j in range(rng.randint(0, 3)):
                (folder / f"f{j}.bin").write_bytes(bytes([j]) * j)
    (root / "experiments").mkdir()
    (root / "experiments" / "e.yaml").write_text("name: e\n")


@pytest.mark.parametrize("seed", range(int(os.environ.get("STRATAML_DIFF_SEEDS", "8"))))
def test_rewalk_equals_a_walk_after_random_changes(tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "RACY_NS", 0)
    monkeypatch.setattr(snapshot, "RACY_NS", 0)
    monkeypatch.setattr(identity, "RACY_NS", 0)
    rng = random.Random(seed)
    root = tmp_path / "ws"
    root.mkdir()
    seed_tree(root, rng)
    real_walk = workspace.walk
    rewalked = 0
    for _step in range(40):
        walked = proof.freshness(root)
        body = proof.listing_body(walked, None)
        if body is not None:
            atomic.write_bytes(root, proof.WALK, proof.encode_listing(body))
            atomic.write_text(root, saved.KEY, f"{walked.key}\n")
        else:
            atomic.remove(root, proof.WALK)
            clean(root)
        time.sleep(0.02)  # past the file system clock's tick: the racy window, kept short
        for _ in range(rng.randint(1, 3)):
            mutate(root, rng)
        looked = proof.probe(root)
        expected = real_walk(root)
        if looked.seen is None:
            continue  # nothing to start from (no listing: a link or a nested repository was there)

        def no_walk(_root: Path) -> dict:
            raise AssertionError("freshness walked the whole tree though a rewalk applied")

        monkeypatch.setattr(workspace, "walk", no_walk)
        try:
            got = proof.freshness(root, looked).entries
        finally:
            monkeypatch.setattr(workspace, "walk", real_walk)
        assert list(got) == list(expected)
        assert got == expected
        rewalked += 1
    assert rewalked >= 5


def test_unchanged_tree_is_proven_fresh_and_a_stale_one_rewalked(ws: Path) -> None:
    from conftest import age

    age(ws)
    saved.current(ws)
    assert proof.probe(ws).key is not None
    (ws / "datasets/sales/1/extra.csv").write_text("a\n")
    looked = proof.probe(ws)
    assert looked.key is None and looked.seen is not None
    seen = looked.seen
    assert sum(a != b for a, b in zip(seen.now, seen.before)) == 1  # the dataset's folder: its mtime changed
    assert proof.freshness(ws, looked).entries == workspace.walk(ws)


def test_a_listing_naming_paths_outside_the_tree_adds_nothing(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """index.walk is a cache anyone with the checkout can write (a pull request can commit one):
    paths that climb out, or hang from nothing the walk keeps, are never even lstat'ed: such a
    listing is refused whole, and the reader walks."""
    from conftest import age, read_walk, write_walk

    (tmp_path / "outside.txt").write_text("x")
    age(ws)
    saved.current(ws)
    listing = read_walk(ws)
    for forged in ("runs/..", "runs/../../outside.txt", "nowhere/x", "runs//x", "datasets/./sales"):
        listing["paths"].append(forged)
        listing["kinds"] += "f" if "." in forged.rsplit("/", 1)[-1] else "d"
        listing["stats"] += [0, 0, 0, 0]
    order = sorted(range(len(listing["paths"])), key=lambda i: listing["paths"][i])
    listing["paths"] = [listing["paths"][i] for i in order]
    listing["kinds"] = "".join(listing["kinds"][i] for i in order)
    listing["stats"] = [n for i in order for n in listing["stats"][4 * i : 4 * i + 4]]
    write_walk(ws, listing)
    calls: list[str] = []
    real = os.lstat
    monkeypatch.setattr(os, "lstat", lambda path, *a, **k: (calls.append(str(path)), real(path, *a, **k))[1])
    looked = proof.probe(ws)
    monkeypatch.undo()
    assert looked.key is None and looked.seen is None
    assert not [c for c in calls if "outside" in c or "/.." in c or "nowhere" in c or "//x" in c]
    assert proof.freshness(ws, looked).entries == workspace.walk(ws)


def test_a_name_the_listing_got_wrong_does_not_hide_the_file_there(ws: Path) -> None:
    """A listed path that is gone from a folder whose own facts did not change (a listing
    written under another name for the file) means that folder is listed again."""
    from conftest import age, read_walk, write_walk

    age(ws)
    saved.current(ws)
    listing = read_walk(ws)
    target = next(i for i, p in enumerate(listing["paths"]) if p.endswith("/run.yaml"))
    listing["paths"][target] += "x"  # run.yamlx: sorts where run.yaml did, names nothing
    write_walk(ws, listing)
    looked = proof.probe(ws)
    assert looked.key is None and looked.seen is not None
    walked = proof.freshness(ws, looked)
    assert walked.entries == workspace.walk(ws)
