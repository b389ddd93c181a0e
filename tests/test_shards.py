"""`strataml doctor --shard K/N`: N jobs check together exactly what one run checks."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from conftest import edit_yaml, invoke
from strataml import conformance
from strataml.doctor import engine, shards
from strataml.workspace import load


def findings(root: Path, shard: tuple[int, int] | None = None) -> Counter:
    report = engine.doctor(root, options=engine.Options(shard=shard))
    return Counter((f.code, f.path, f.severity, f.message, f.line) for f in report.findings)


def test_every_record_is_in_exactly_one_shard_and_stays_there(ws: Path) -> None:
    records = load(ws).records
    for total in (1, 2, 3, 8):
        plan = shards.plan(records, total)
        assert set(plan) == {str(r.ref) for r in records} and set(plan.values()) <= set(range(1, total + 1))
    before = shards.plan(records, 4)
    shutil.copytree(ws / "datasets/flowers/1", ws / "datasets/flowers/2")
    edit_yaml(ws / "datasets/flowers/2/dataset.yaml", lambda d: d.update(ref="dataset:flowers@2"))
    after = shards.plan(load(ws).records, 4)
    assert {ref: after[ref] for ref in before} == before  # nothing moved because a record appeared


@pytest.mark.slow
@pytest.mark.parametrize("total", [2, 5])
def test_the_shards_together_find_what_one_run_finds(tmp_path: Path, total: int) -> None:
    """Over the conformance suite's cases (every rule and clause, git's routing and tracking
    rules in real repositories): the multiset union of the N shards' findings is the full
    run's, exactly."""
    checked = 0
    for case in conformance.cases():
        if case.since is not None or case.require_content:
            continue  # history rules need --since, which shards do not take
        where = tmp_path / case.name
        conformance.build(case, conformance.SUITE / "base", where)
        full = findings(where)
        union: Counter = Counter()
        for k in range(1, total + 1):
            union += findings(where, (k, total))
        assert union == full, case.name
        checked += 1
    assert checked > 150


def test_shard_options_on_the_command_line(ws: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    (ws / "datasets/flowers/1/flowers.csv").write_text("changed\n")  # one error, in one shard
    codes = []
    for k in (1, 2):
        code, out, _ = invoke(ws, "doctor", "--shard", f"{k}/2", "--format", "json", capsys=capsys)
        doc = json.loads(out)
        assert doc["stats"]["shard"] == k and doc["stats"]["shards"] == 2
        codes.append(code)
        listed = json.loads(invoke(ws, "doctor", "--shard", f"{k}/2", "--list-files", "--format", "json", capsys=capsys)[1])
        assert listed["shard"] == f"{k}/2"
    assert sorted(codes) == [0, 2]
    files = [invoke(ws, "doctor", "--shard", f"{k}/2", "--list-files", capsys=capsys)[1].split() for k in (1, 2)]
    assert not set(files[0]) & set(files[1]) and "datasets/flowers/1/flowers.csv" in files[0] + files[1]
    monkeypatch.setenv("CI_NODE_INDEX", "2")
    monkeypatch.setenv("CI_NODE_TOTAL", "2")
    code, out, _ = invoke(ws, "doctor", "--shard", "auto", "--format", "json", capsys=capsys)
    assert json.loads(out)["stats"]["shard"] == 2


@pytest.mark.parametrize("value,said", [
    ("3/2", "K must be 1 to N"), ("0/2", "K must be 1 to N"), ("x", "is not K/N"), ("1/999", "N 1 to 256"),
    ("auto", "CI_NODE_INDEX and CI_NODE_TOTAL are not set"),
])
def test_a_bad_shard_is_a_usage_error(ws: Path, capsys: pytest.CaptureFixture[str], monkeypatch, value: str, said: str) -> None:
    monkeypatch.delenv("CI_NODE_INDEX", raising=False)
    monkeypatch.delenv("CI_NODE_TOTAL", raising=False)
    code, _out, err = invoke(ws, "doctor", "--shard", value, capsys=capsys)
    assert code == 3 and said in err and "Traceback" not in err


def test_shard_with_since_or_list_files_alone_is_refused(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert invoke(ws, "doctor", "--shard", "1/2", "--since", "HEAD", capsys=capsys)[0] == 3
    code, _out, err = invoke(ws, "doctor", "--list-files", capsys=capsys)
    assert code == 3 and "give --shard K/N" in err
