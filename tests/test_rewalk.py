"""A reader that finds the saved index stale lists again only the folders whose lstat changed
(workspace.rewalk): after random changes to the tree, it must give exactly what walk() gives."""

from __future__ import annotations

import os
import random
import shutil
import stat
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


def _reference_walk(root: Path) -> dict[str, tuple[str, int, int, int, int]]:
    """Every path below the managed folders with its kind and lstat facts, found without the
    walk's code: os.listdir and os.lstat, sorted at the end."""
    out: dict[str, tuple[str, int, int, int, int]] = {}

    def visit(rel: str) -> None:
        for name in os.listdir(root / rel):
            child = f"{rel}/{name}"
            st = os.lstat(root / child)
            if name == ".git":
                out[child] = ("repository", 0, 0, 0, 0)
                continue
            kind = "dir" if stat.S_ISDIR(st.st_mode) else "file" if stat.S_ISREG(st.st_mode) else "other"
            out[child] = (kind, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
            if kind == "dir":
                visit(child)

    for top in TOPS:
        if (root / top).is_dir():
            visit(top)
    return {path: out[path] for path in sorted(out)}


def _as_reference(entries: dict[str, workspace.Entry]) -> dict[str, tuple[str, int, int, int, int]]:
    return {
        e.path: (e.kind if e.kind in ("dir", "file", "repository") else "other", e.size, e.mtime_ns, e.inode, e.ctime_ns)
        for e in entries.values()
    }


def test_the_walk_is_in_path_order_where_a_folders_name_begins_a_siblings(tmp_path: Path) -> None:
    # The walk makes its entries in path order as it goes (no sort at the end): a folder's
    # contents sort after a sibling that extends its name with a character below '/'
    # ("x-1", "x.y", "x 2", "x\x01") and before one above it ("x0", "xa", "é").
    root = tmp_path / "ws"
    names = ["x", "x-1", "x.y", "x 2", "x\x01", "x0", "xa", "é", "x-1-b", "\udcff"]
    for top in ("datasets", "runs"):
        for name in names:
            for kind in ("dir", "file"):
                base = root / top / kind
                if kind == "dir":
                    (base / name / "1" / "x-1").mkdir(parents=True)
                    (base / name / "1" / "x.yaml").write_bytes(b"1")
                    (base / name / "1" / "x-1" / "f").write_bytes(b"22")
                else:
                    base.mkdir(parents=True, exist_ok=True)
                    (base / name).write_bytes(b"333")
        (root / top / "deep" / "/".join(["d"] * 60)).mkdir(parents=True)
    (root / "runs" / "dir" / "x" / ".git").mkdir()
    (root / "runs" / "dir" / "x" / ".git" / "HEAD").write_text("never listed\n")
    (root / "models").mkdir()
    (root / "models" / "m").write_bytes(b"")
    got = workspace.walk(root)
    assert list(got) == sorted(got)
    assert _as_reference(got) == _reference_walk(root)
    assert "runs/dir/x/.git/HEAD" not in got
    # The managed folders' first level, as walk_top() lists it, is the same entries.
    assert workspace.walk_top(root) == {p: e for p, e in got.items() if p.count("/") == 1 or "/" not in p}


@pytest.mark.parametrize("seed", range(4))
def test_the_walk_equals_a_reference_listing_after_random_changes(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    root = tmp_path / "ws"
    root.mkdir()
    seed_tree(root, rng)
    for _step in range(25):
        for _ in range(rng.randint(1, 3)):
            mutate(root, rng)
        got = workspace.walk(root)
        assert list(got) == sorted(got)
        assert _as_reference(got) == _reference_walk(root)


@pytest.mark.parametrize(
    ("error", "expected"), [(FileNotFoundError, None), (OSError(22, "Invalid argument"), "unreadable")]
)
def test_a_link_that_changes_while_it_is_walked_is_no_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: type[OSError] | OSError, expected: str | None
) -> None:
    # Between the lstat that saw a link and the readlink of it, the link may be removed (it is
    # not there: no entry) or replaced by a file (readlink: EINVAL; the walk says what it could
    # not read), as for any entry that changes while it is listed.
    root = tmp_path / "ws"
    (root / "runs" / "r1").mkdir(parents=True)
    (root / "runs" / "r1" / "run.yaml").write_text("x: 1\n")
    (root / "runs" / "r1" / "link").symlink_to("run.yaml")
    readlink = os.readlink

    def racing(path: str | os.PathLike[str], *args: object, **kwargs: object) -> str:
        if os.fspath(path).endswith("/link"):
            raise error
        return readlink(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "readlink", racing)
    got = workspace.walk(root)
    assert "runs/r1/run.yaml" in got
    if expected is None:
        assert "runs/r1/link" not in got
    else:
        assert got["runs/r1/link"].kind == expected


def test_a_chain_of_links_longer_than_python_resolves_is_an_escaping_link(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    folder = root / "runs" / "r1"
    folder.mkdir(parents=True)
    count = 1500  # os.path.realpath recurses once per link: past the interpreter's limit
    for i in range(count):
        (folder / f"l{i}").symlink_to(f"l{i + 1}")
    got = workspace.walk(root)
    links = [e for p, e in got.items() if p.startswith("runs/r1/l")]
    assert len(links) == count
    assert all(e.kind == "symlink" and e.escapes for e in links)
