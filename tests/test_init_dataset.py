"""`strataml init` and `strataml dataset add`: records without hand-written hashes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import read_yaml
from strataml.cli.main import run
from strataml.contracts import documents
from strataml.doctor import engine

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    assert run(["init", str(tmp_path / "lab")]) == 0
    return tmp_path / "lab"


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n", "utf-8")
    return path


def test_init_creates_a_workspace_that_passes_strict(fresh: Path) -> None:
    for rel in ("strataml.yaml", ".gitignore", ".gitattributes", ".github/workflows/strataml.yml", ".pre-commit-config.yaml",
                "datasets/.gitkeep", "runs/.gitkeep", "models/.gitkeep", "experiments/.gitkeep", "tfc/keys/.gitkeep"):
        assert (fresh / rel).is_file(), rel
    assert sorted(p.name for p in (fresh / "tfc").glob("TFC-*.md")) == sorted(documents())
    assert ".strataml/" in (fresh / ".gitignore").read_text().splitlines()
    assert read_yaml(fresh / "strataml.yaml")["name"] == "lab"
    assert engine.doctor(fresh, strict=True).exit_code == 0


def test_init_refuses_to_clobber(fresh: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (fresh / "strataml.yaml").read_bytes()
    assert run(["init", str(fresh)]) == 3
    assert "already holds a workspace" in capsys.readouterr().err
    assert (fresh / "strataml.yaml").read_bytes() == before


def test_init_extends_existing_ignore_files_and_keeps_others(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("node_modules/")
    (tmp_path / ".pre-commit-config.yaml").write_text("repos: []\n")
    assert run(["init", str(tmp_path), "--name", "mine"]) == 0
    assert (tmp_path / ".gitignore").read_text().splitlines()[:2] == ["node_modules/", ".strataml/"]
    assert (tmp_path / ".pre-commit-config.yaml").read_text() == "repos: []\n"


def test_dataset_add_records_hashes_columns_and_time_range(fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = write_csv(tmp_path / "events.csv", ["ts,user,amount,flag,kind", "2024-03-01T10:00:00Z,1,2.5,true,a",
                                              "2024-02-01T09:00:00Z,2,,false,b", "2024-03-05T00:00:00Z,3,4,true,a"])
    readme = tmp_path / "README.txt"
    readme.write_text("about the data\n")
    code = run(["-C", str(fresh), "dataset", "add", "events", str(csv), str(readme), "--version", "2024-03",
                "--license", "CC0-1.0", "--source", "https://example.org/events", "--time-column", "ts", "--target", "flag",
                "--format", "json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["path"] == "datasets/events/2024-03"
    record = read_yaml(fresh / "datasets/events/2024-03/dataset.yaml")
    assert record == out["record"]
    assert record["ref"] == "dataset:events@2024-03"
    assert [f["path"] for f in record["files"]] == ["README.txt", "events.csv"]
    for entry in record["files"]:
        data = (fresh / "datasets/events/2024-03" / entry["path"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["size"] == len(data)
    lines = "".join(f"{f['sha256']}  {f['path']}\n" for f in sorted(record["files"], key=lambda f: f["path"]))
    assert record["digest"] == "sha256:" + hashlib.sha256(lines.encode()).hexdigest()
    assert record["rows"] == 3 and record["files"][1]["rows"] == 3
    assert record["columns"] == [
        {"name": "ts", "type": "datetime", "role": "time"},
        {"name": "user", "type": "integer"},
        {"name": "amount", "type": "float", "nullable": True},
        {"name": "flag", "type": "boolean", "role": "target"},
        {"name": "kind", "type": "category"},
    ]
    assert record["time_range"] == {"column": "ts", "start": "2024-02-01T09:00:00Z", "end": "2024-03-05T00:00:00Z"}
    assert record["source"] == {"kind": "download", "url": "https://example.org/events"}
    assert engine.doctor(fresh, strict=True).exit_code == 0


def test_dataset_digest_matches_sha256sum(fresh: Path, tmp_path: Path) -> None:
    a = write_csv(tmp_path / "b.csv", ["x", "1"])
    b = write_csv(tmp_path / "a.csv", ["x", "2"])
    assert run(["-C", str(fresh), "dataset", "add", "pair", str(a), str(b), "--version", "1", "--license", "MIT", "--source", "t"]) == 0
    folder = fresh / "datasets/pair/1"
    listing = subprocess.run(["sha256sum", "a.csv", "b.csv"], cwd=folder, capture_output=True, check=True).stdout
    assert read_yaml(folder / "dataset.yaml")["digest"] == "sha256:" + hashlib.sha256(listing).hexdigest()


def test_dataset_add_refuses_an_existing_version(fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = write_csv(tmp_path / "d.csv", ["x", "1"])
    assert run(["-C", str(fresh), "dataset", "add", "d", str(csv), "--version", "1"]) == 0
    before = (fresh / "datasets/d/1/dataset.yaml").read_bytes()
    write_csv(csv, ["x", "2"])
    capsys.readouterr()
    assert run(["-C", str(fresh), "dataset", "add", "d", str(csv), "--version", "1"]) == 3
    assert "already exists" in capsys.readouterr().err
    assert (fresh / "datasets/d/1/dataset.yaml").read_bytes() == before


@pytest.mark.parametrize("args,message", [
    (["bad name", "{csv}", "--version", "1"], "not a valid dataset name"),
    (["d", "{csv}", "--version", "1."], "not a valid version"),
    (["d", "{csv}", "--version", "1", "--time-column", "nope"], "--time-column 'nope' is not a column"),
    (["d", "{bad}", "--version", "1", "--time-column", "when"], "is not a date or RFC 3339 time"),
    (["d", "{ragged}", "--version", "1"], "row has 3 fields, the header has 2"),
    (["d", "{missing}", "--version", "1"], "cannot read"),
    (["d", "{folder}", "--version", "1"], "is not a regular file"),
])
def test_dataset_add_failures_leave_nothing_behind(fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   args: list[str], message: str) -> None:
    paths = {
        "csv": write_csv(tmp_path / "ok.csv", ["when,x", "2024-01-01,1"]),
        "bad": write_csv(tmp_path / "bad.csv", ["when,x", "2024-01-01,1", "yesterday,2"]),
        "ragged": write_csv(tmp_path / "ragged.csv", ["a,b", "1,2,3"]),
        "missing": tmp_path / "missing.csv",
        "folder": tmp_path,
    }
    argv = [a.format(**{k: str(v) for k, v in paths.items()}) for a in args]
    assert run(["-C", str(fresh), "dataset", "add", *argv]) == 3
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    leftovers = [p for p in (fresh / "datasets").rglob("*") if p.name != ".gitkeep"]
    assert leftovers == []
    assert engine.doctor(fresh, strict=True).exit_code == 0


def test_new_user_flow_break_a_file_and_read_the_finding(fresh: Path, tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "iris.csv", ["a,species", "1.0,setosa", "2.0,virginica"])
    assert run(["-C", str(fresh), "dataset", "add", "iris", str(csv), "--version", "1", "--license", "CC-BY-4.0", "--source", "uci"]) == 0
    target = fresh / "datasets/iris/1/iris.csv"
    target.write_text(target.read_text().replace("1.0", "1.5"))
    report = engine.doctor(fresh)
    assert [(f.code, f.path) for f in report.findings] == [("TFC0006-E002", "datasets/iris/1/iris.csv")]
    assert "record a new version" in report.findings[0].hint
    os.remove(target)
    assert [f.code for f in engine.doctor(fresh).findings] == ["TFC0006-E001"]
