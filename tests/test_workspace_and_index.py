"""The repository's own example workspace, the walk, and the index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT

from strataml import schemas
from strataml.cli.main import run
from strataml.doctor import engine
from strataml.read.build import build, dumps
from strataml.rootdir import find_root
from strataml.workspace import load


def test_example_workspace_passes_strict() -> None:
    report = engine.doctor(ROOT, strict=True)
    assert report.findings == (), [f.as_dict() for f in report.findings]
    assert report.stats["datasets"] >= 3 and report.stats["experiments"] >= 3


def test_example_datasets_include_a_time_stamped_one() -> None:
    ws = load(ROOT)
    assert any(d.time_range for d in ws.of_kind("dataset"))
    assert all(d.data.get("license") and d.data.get("source") for d in ws.of_kind("dataset"))


def test_root_discovery_walks_upward(ws: Path) -> None:
    assert find_root(ws / "datasets" / "flowers" / "1") == ws.resolve()


def test_workspace_records_are_immutable(ws: Path) -> None:
    import dataclasses

    import pytest

    record = load(ws).records[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.kind = "model"  # type: ignore[misc]


def test_index_is_deterministic_valid_and_written_atomically(ws: Path, capsys) -> None:
    workspace = load(ws)
    first = dumps(build(workspace, engine.run(workspace)))
    second = dumps(build(load(ws), engine.run(load(ws))))
    assert first == second
    doc = json.loads(first)
    assert schemas.validate("index", doc) == []
    edges = {(e["from"], e["kind"], e["to"]) for e in doc["edges"]}
    run_ref = "run:20260101T000000Z-sales-forecast-a1b2c3"
    assert ("dataset:sales@1", "input", run_ref) in edges
    assert ("experiment:sales-forecast", "experiment", run_ref) in edges
    assert (run_ref, "produced", "model:sales-model@1") in edges
    assert run(["-C", str(ws), "index"]) == 0
    assert (ws / ".strataml/index.json").read_text() == first
    assert not list((ws / ".strataml").glob("*.tmp"))


def test_index_counts_findings_per_node(ws: Path) -> None:
    (ws / "datasets/flowers/1/notes.txt").write_text("x")
    workspace = load(ws)
    doc = build(workspace, engine.run(workspace))
    node = next(n for n in doc["nodes"] if n["id"] == "dataset:flowers@1")
    assert node["findings"] == {"errors": 0, "warnings": 1, "infos": 0}


@pytest.mark.parametrize(
    "edges",
    [
        [{"from": "a", "kind": "input", "to": "b"}, {"from": "c", "kind": "input", "to": "d"}],
        [{"from": "a},{b", "kind": "input", "to": "c"}, {"from": "d", "kind": "input", "to": "e"}],
        [{"from": "a", "kind": [{}, {}], "to": "b"}, {"from": "c", "kind": "input", "to": "d"}],
        [{"from": "a", "kind": [{}, {}], "to": "b"}, 5],
        [{"from": "a", "kind": "input", "to": "b"}],
    ],
    ids=["flat", "boundary in a text", "nested", "not all mappings", "one"],
)
def test_dumps_writes_one_item_a_line_whatever_the_items_hold(edges: list[object]) -> None:
    from strataml.read.build import _ENCODER

    index = {"edges": edges, "findings": [], "nodes": [{"id": "x", "attrs": {"h": [{"a": 1}, {"b": 2}]}}]}
    expected = "{\n"
    expected += '  "edges": [\n' + ",\n".join("    " + _ENCODER.encode(e) for e in edges) + "\n  ],\n"
    expected += '  "findings": [],\n'
    expected += '  "nodes": [\n    ' + _ENCODER.encode(index["nodes"][0]) + "\n  ]\n}\n"
    assert dumps(index) == expected
    json.loads(dumps(index))


@pytest.mark.parametrize("command", [["promote", "model:sales-modle", "--to", "candidate"], ["sign", "model:sales-modle"],
                                     ["show", "dataset:flowerz"]])
def test_a_misspelt_name_without_a_version_is_told_what_is_close(
    ws: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    """`model:NAME` stands for its latest version; a misspelt NAME was told it "needs a version",
    where `show` said what was close."""
    from strataml.cli.main import run

    assert run(["-C", str(ws), *command]) == 3
    err = capsys.readouterr().err
    assert "needs a version" not in err and "did you mean" in err, err
