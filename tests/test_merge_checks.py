"""`report merge` refuses what this StrataML's `doctor --shard` never wrote: another tool's or
another version's report, a finding on a line SARIF and GitHub have no such thing as."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import invoke
from test_shards import broken_repo, shard_reports  # noqa: F401  (broken_repo: a fixture)

from strataml import __version__


@pytest.mark.parametrize(
    "tool,said",
    [
        ({"name": "not-strataml", "version": "9.9.9"}, "holds a report of not-strataml 9.9.9, another tool"),
        (
            {"name": "strataml", "version": "9.9.9"},
            f"holds a report of StrataML 9.9.9, not of this StrataML ({__version__})",
        ),
        ({"name": "strataml"}, "names no tool and version that wrote it"),
        (None, "names no tool and version that wrote it"),
    ],
)
def test_merge_refuses_every_shard_of_another_tool_or_version(
    broken_repo: Path,  # noqa: F811  (the fixture imported above)
    capsys,
    tmp_path: Path,
    tool: dict | None,
    said: str,
) -> None:
    """Every shard rewritten alike merged (OK, exit 0): merge compared the shards with each other,
    never with itself, so another version's rules and fingerprints were merged under this one's."""
    files = shard_reports(broken_repo, capsys, 3, tmp_path)
    assert json.loads(files[0].read_text())["tool"] == {"name": "strataml", "version": __version__}
    for path in files:
        doc = json.loads(path.read_text())
        if tool is None:
            del doc["tool"]
        else:
            doc["tool"] = tool
        path.write_text(json.dumps(doc))
    for fmt in ("text", "sarif", "json"):
        code, out, err = invoke(broken_repo, "report", "merge", *map(str, files), "--format", fmt, capsys=capsys)
        assert code == 3 and "startLine" not in out and "findings" not in out, (code, err)
        if fmt == "json":  # (a JSON report's error is JSON, on stdout)
            err = json.loads(out)["error"]["message"] + " " + json.loads(out)["error"]["hint"]
        assert f"{files[0]} {said}" in err, err  # the file, what it holds
        assert "run every shard and the merge with the same StrataML version" in err, err  # what to do
        assert "Traceback" not in err and "internal error" not in err


def test_merge_still_takes_this_versions_shards(broken_repo: Path, capsys, tmp_path: Path) -> None:  # noqa: F811
    files = shard_reports(broken_repo, capsys, 2, tmp_path)
    code, _out, err = invoke(broken_repo, "report", "merge", *map(str, files), capsys=capsys)
    assert code == 2, err


def _with_a_finding_on(files: list[Path], line: object) -> list[Path]:
    """The shard reports `files`, the first with one more error finding on `line` (its summary counted)."""
    doc = json.loads(files[0].read_text())
    doc["findings"].append(
        {"code": "TFC0006-E003", "path": "datasets/x/1/x.csv", "message": "m", "hint": "h", "severity": "error", "line": line}
    )
    doc["summary"]["errors"] += 1
    files[0].write_text(json.dumps(doc))
    return files


@pytest.mark.parametrize("line", [-3, 0, True, False, 1.0, "3"])  # (the last four: refused before too)
def test_merge_refuses_a_finding_on_no_line(broken_repo: Path, capsys, tmp_path: Path, line: object) -> None:  # noqa: F811
    """ "line": -3 (its summary counted) became SARIF's "startLine": -3 (SARIF requires 1 or more)
    and `::error file=x,line=-3`: the one field of a finding merge did not check for what it is."""
    files = _with_a_finding_on(shard_reports(broken_repo, capsys, 2, tmp_path), line)
    for fmt in ("sarif", "github"):
        code, out, err = invoke(broken_repo, "report", "merge", *map(str, files), "--format", fmt, capsys=capsys)
        assert code == 3 and "a finding that is not one" in err, err
        if type(line) is int:  # (what a line is, said where it was the reason)
            assert "a line, if any, a whole number from 1" in err
        assert "startLine" not in out and "line=-" not in out and "line=0" not in out


def test_merge_keeps_a_finding_on_line_one(broken_repo: Path, capsys, tmp_path: Path) -> None:  # noqa: F811
    files = _with_a_finding_on(shard_reports(broken_repo, capsys, 2, tmp_path), 1)
    code, out, err = invoke(broken_repo, "report", "merge", *map(str, files), "--format", "sarif", capsys=capsys)
    assert code == 2, err
    assert '"startLine": 1' in out
