"""The index a reader rebuilds from the previous one (unchanged records keep their nodes) is
byte-identical to one built from nothing, after every step of random edit sequences."""

from __future__ import annotations

import json
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import gpgkeys
import models_helpers
from conftest import edit_yaml, read_yaml
from strataml import cache, snapshot
from strataml.read import build, saved
from strataml.read.build import dumps
from strataml.read.query import Graph, tables

Op = Callable[[Path, random.Random], None]


def _folders(ws: Path, pattern: str) -> list[Path]:
    return sorted(p for p in ws.glob(pattern) if p.is_dir())


def edit_run(ws: Path, rng: random.Random) -> None:
    for meta in rng.sample(sorted(ws.glob("runs/*/run.yaml")), k=1) if list(ws.glob("runs/*/run.yaml")) else []:
        edit_yaml(meta, lambda d: d.update(status=rng.choice(["succeeded", "failed", "running"])))


def add_run(ws: Path, rng: random.Random) -> None:
    runs = _folders(ws, "runs/*")
    if runs:
        source = rng.choice(runs)
        target = ws / "runs" / f"20260{rng.randint(2, 9)}01T000000Z-copy-{rng.randrange(16**6):06x}"
        if not target.exists():
            shutil.copytree(source, target)


def remove_record(ws: Path, rng: random.Random) -> None:
    folders = _folders(ws, "runs/*") + _folders(ws, "datasets/*/*")
    if len(folders) > 2:
        shutil.rmtree(rng.choice(folders))


def change_data(ws: Path, rng: random.Random) -> None:
    files = sorted(p for p in ws.glob("*/*/*/*") if p.is_file() and not p.name.endswith((".yaml", ".asc")))
    if files:
        with rng.choice(files).open("ab") as out:
            out.write(b"x")


def unrecorded_file(ws: Path, rng: random.Random) -> None:
    folders = _folders(ws, "runs/*") + _folders(ws, "models/*/*")
    if folders:
        (rng.choice(folders) / f"extra-{rng.randrange(1000)}.txt").write_text("stray\n")


def touch(ws: Path, rng: random.Random) -> None:
    files = sorted(p for p in ws.rglob("*") if p.is_file() and ".strataml" not in p.parts)
    path = rng.choice(files)
    path.write_bytes(path.read_bytes())  # same bytes, new mtime and ctime


def new_model_version(ws: Path, rng: random.Random) -> None:
    versions = [int(p.name) for p in _folders(ws, "models/sales-model/*") if p.name.isdigit()]
    if versions and (ws / "models/sales-model/1").is_dir():
        try:
            models_helpers.add_version(ws, max(versions) + 1)
        except (ValueError, OSError, KeyError, TypeError):
            pass  # version 1 damaged by an earlier step: the copy stands as it is


def promote(ws: Path, rng: random.Random) -> None:
    if (ws / "models/sales-model/1").is_dir():
        models_helpers.reach(ws, rng.choice(["candidate", "staging", "production"]))


def config(ws: Path, rng: random.Random) -> None:
    data = read_yaml(ws / "strataml.yaml")
    rules = data.setdefault("rules", {})
    rules["TFC0004-W001"] = rng.choice(["error", "warning", "off"])
    (ws / "strataml.yaml").write_text(json.dumps(data))  # JSON is YAML


def rename_dataset_ref(ws: Path, rng: random.Random) -> None:
    runs = sorted(ws.glob("runs/*/run.yaml"))
    if runs:
        target = rng.choice(runs)

        def rename(d: dict) -> None:
            for item in d.get("inputs") or []:
                if isinstance(item, dict) and isinstance(item.get("ref"), str):
                    item["ref"] = rng.choice(["dataset:sales@1", "dataset:flowers@1", "dataset:nowhere@1"])

        edit_yaml(target, rename)


OPS: list[Op] = [
    edit_run,
    add_run,
    remove_record,
    change_data,
    unrecorded_file,
    touch,
    new_model_version,
    promote,
    config,
    rename_dataset_ref,
]


@pytest.fixture
def no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Prove freshness right after each edit (the racy window has its own tests): a short sleep
    keeps two edits apart in the file system's clock."""
    monkeypatch.setattr(cache, "RACY_NS", 0)
    monkeypatch.setattr(snapshot, "RACY_NS", 0)


@pytest.fixture
def kept(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many nodes each incremental build kept (a differential test that never reuses proves nothing)."""
    counts: list[int] = []
    real = build.Previous.reusable

    def counting(self: build.Previous, workspace):  # type: ignore[no-untyped-def]
        found = real(self, workspace)
        counts.append(len(found))
        return found

    monkeypatch.setattr(build.Previous, "reusable", counting)
    return counts


def check_step(ws: Path) -> None:
    time.sleep(0.02)
    incremental, _ = saved.current(ws)
    scratch, _ = saved.made(ws, use_cache=False)
    assert dumps(incremental) == dumps(scratch)
    rows = saved.saved_rows(ws)
    if rows is not None:
        assert {k: v for k, v in rows.items() if k not in ("key", "counts")} == json.loads(json.dumps(tables(Graph(scratch))))


@pytest.mark.parametrize("seed", range(6))
def test_incremental_index_equals_a_full_build_after_every_edit(
    ws: Path, seed: int, no_racy_window: None, kept: list[int]
) -> None:
    rng = random.Random(seed)
    saved.current(ws)
    for _step in range(14):
        rng.choice(OPS)(ws, rng)
        check_step(ws)
    assert sum(kept) > 0, "no step kept a node: the incremental path was never taken"


def test_signing_and_key_changes_are_taken_anew(ws: Path, tmp_path: Path, no_racy_window: None, kept: list[int]) -> None:
    if not gpgkeys.available():
        pytest.skip("gpg is not installed")
    from strataml.keys import add

    (tmp_path / "gpg").mkdir()
    alice = gpgkeys.make_key(tmp_path / "gpg", "Alice")
    try:
        saved.current(ws)
        add(ws, alice.public, ["models", "datasets"])
        check_step(ws)
        gpgkeys.sign_file(alice, ws / "models/sales-model/1/model.yaml", ws / "models/sales-model/1/model.yaml.asc")
        check_step(ws)
        gpgkeys.sign_file(alice, ws / "datasets/sales/1/dataset.yaml", ws / "datasets/sales/1/dataset.yaml.asc")
        check_step(ws)
        edit_yaml(ws / "strataml.yaml", lambda d: d.update(signing={"require": [{"records": "models", "scope": "models"}]}))
        check_step(ws)
        (ws / "datasets/sales/1/dataset.yaml.asc").unlink()
        check_step(ws)
        assert sum(kept) > 0
    finally:
        gpgkeys.stop_agents([alice.home])
