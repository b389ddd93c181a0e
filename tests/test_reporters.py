"""Reporter output compared exactly with golden files; SARIF validated against the official schema."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import jsonschema
import pytest

from conftest import TEST_DATA, edit_yaml
from strataml.doctor import engine
from strataml.reporters import RenderOptions, render
from strataml.reporters.github import escape_data, escape_property, step_summary

GOLDEN = Path(__file__).parent / "golden"


def broken(ws: Path) -> Path:
    """A workspace with one error, one warning and a line-numbered finding, plus awkward text."""
    (ws / "datasets/flowers/1/notes, draft.txt").write_text("100% unchecked\n")
    edit_yaml(ws / "experiments/flowers-logreg.yaml", lambda d: d["data"].update(dataset="dataset:flower@1"))
    flowers = ws / "datasets/flowers/1/flowers.csv"
    flowers.write_bytes(flowers.read_bytes().replace(b"1.4", b"1.5", 1))
    return ws


def rendered(ws: Path, fmt: str, **options: object) -> str:
    report = engine.doctor(ws)
    out = io.StringIO()
    render(report, fmt, out, RenderOptions(**options))  # type: ignore[arg-type]
    return out.getvalue()


@pytest.mark.parametrize(
    "fmt,suffix", [("text", "txt"), ("json", "json"), ("sarif", "sarif"), ("github", "github"), ("markdown", "md")]
)
def test_report_matches_golden(ws: Path, fmt: str, suffix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    text = rendered(broken(ws), fmt)
    golden = GOLDEN / f"report.{suffix}"
    if os.environ.get("STRATAML_UPDATE_GOLDEN") and text != golden.read_text("utf-8"):
        golden.write_text(text, "utf-8")
        pytest.fail(f"{golden.name} regenerated: review the diff, then run again without STRATAML_UPDATE_GOLDEN")
    assert text == golden.read_text("utf-8")


def test_sarif_validates_against_the_official_schema(ws: Path) -> None:
    schema = json.loads((TEST_DATA / "sarif-schema-2.1.0.json").read_text("utf-8"))
    doc = json.loads(rendered(broken(ws), "sarif"))
    jsonschema.Draft4Validator(schema).validate(doc)
    results = doc["runs"][0]["results"]
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    assert {r["ruleId"] for r in results} == {r["id"] for r in rules}
    findings = engine.doctor(ws).findings
    assert len(results) == len(findings) and any(f.line for f in findings) and any(not f.line for f in findings)
    for result, finding in zip(results, findings, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        # A finding about a whole file points at the file: no made-up line 1.
        assert location.get("region") == ({"startLine": finding.line} if finding.line else None)
        assert not location["artifactLocation"]["uri"].startswith("/")
        assert not result["message"]["text"].endswith("..") and ". Fix: " in result["message"]["text"]
    assert all(r["help"]["text"] and r["shortDescription"]["text"] for r in rules)


def test_clean_workspace_sarif_is_valid_and_empty(ws: Path) -> None:
    doc = json.loads(rendered(ws, "sarif"))
    assert doc["runs"][0]["results"] == [] and doc["version"] == "2.1.0"


def test_paths_are_repository_relative_when_the_workspace_is_nested(ws: Path) -> None:
    text = rendered(broken(ws), "github", repo_prefix="ml/")
    assert "file=ml/datasets/flowers/1/flowers.csv" in text


def test_a_file_above_the_workspace_is_named_as_the_repository_names_it() -> None:
    """The repository's .gitattributes, changed in a monorepo (TFC0006-W013 names it
    ../.gitattributes): ml/../.gitattributes was no file for code scanning or an annotation."""
    from strataml.reporters import RenderOptions, repo_path

    assert repo_path("../.gitattributes", RenderOptions(repo_prefix="ml/")) == ".gitattributes"
    assert repo_path("../.gitattributes", RenderOptions(repo_prefix="a/ml/")) == "a/.gitattributes"
    assert repo_path("../../x", RenderOptions(repo_prefix="ml/")) == "../../x"  # (outside: left as it is)
    assert repo_path("datasets/d/1/f", RenderOptions(repo_prefix="ml/")) == "ml/datasets/d/1/f"


def test_github_escaping() -> None:
    assert escape_data("50% done\nnext\r") == "50%25 done%0Anext%0D"
    # The job log renders terminal escapes: ESC, BEL, a tab and bidi controls are spelled out.
    assert escape_data("a\x1b[31mb\x07\tc\u202ed") == "a\\x1b[31mb\\x07\\tc\\u202ed"
    assert escape_property("x\x1b:y") == "x\\x1b%3Ay"
    assert escape_property("d/\u05e9\u200f.txt") == "d/\u05e9\u200f.txt"  # a legal name still names its file
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"


def test_github_step_summary_is_appended(ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    rendered(broken(ws), "github")
    text = summary.read_text()
    assert text.startswith("# earlier step\n")
    assert "| error | `TFC0006-E002` | datasets/flowers/1/flowers\\.csv |" in text
    report = engine.doctor(ws)
    assert step_summary(report, RenderOptions()) in text


def test_json_report_shape(ws: Path) -> None:
    doc = json.loads(rendered(broken(ws), "json"))
    assert doc["version"] == 1
    assert doc["summary"] == {"errors": 2, "warnings": 1, "infos": 0, "exit_code": 2}
    assert set(doc["findings"][0]) == {"code", "severity", "path", "line", "message", "hint"}


def test_text_has_no_escape_codes_without_color(ws: Path) -> None:
    assert "\x1b[" not in rendered(broken(ws), "text")
    assert "\x1b[" in rendered(broken(ws), "text", color=True)


def test_github_step_summary_shows_a_hostile_file_name_as_text(ws: Path) -> None:
    name = "q`<img src=x>[link](https:evil.example)|\n`.csv"
    (ws / "datasets/flowers/1" / name).write_text("x\n")
    summary = step_summary(engine.doctor(ws), RenderOptions())
    row = next(line for line in summary.splitlines() if "TFC0006-W001" in line)
    import re

    assert not re.search(r"(?<!\\)(<img|\]\(|`<)", row) and "\n" not in row  # nothing left unescaped
    assert row.count(" | ") == 4  # the name's '|' did not add a column
    assert r"q\`\<img src\=x\>\[link\]\(https\:evil\.example\)\|\\n\`\.csv" in row


def fingerprinted(ws: Path) -> dict[tuple[str, str], list[str]]:
    doc = json.loads(rendered(ws, "sarif"))
    out: dict[tuple[str, str], list[str]] = {}
    for r in doc["runs"][0]["results"]:
        uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        out.setdefault((r["ruleId"], uri), []).append(r["partialFingerprints"]["strataml/v3"])
    return out


def test_sarif_fingerprints_survive_edits_that_do_not_touch_the_problem(ws: Path) -> None:
    before = fingerprinted(broken(ws))
    # The mismatching file changes again (another hash in the message), the spec gains a line above
    # the dangling reference (another line number): each is still the same problem.
    flowers = ws / "datasets/flowers/1/flowers.csv"
    flowers.write_bytes(flowers.read_bytes().replace(b"1.3", b"1.2", 1))
    spec = ws / "experiments/flowers-logreg.yaml"
    spec.write_text("# a comment moves every line down\n" + spec.read_text())
    assert fingerprinted(ws) == before
    # Another dangling reference is another problem; alike findings are told apart, never merged.
    edit_yaml(spec, lambda d: d["data"].update(dataset="dataset:tulips@1"))
    after = fingerprinted(ws)
    assert after.keys() == before.keys()
    changed = [key for key in after if after[key] != before[key]]
    assert len(changed) == 1 and changed[0][0] == "TFC0008-E001"
    flat = [fp for fps in after.values() for fp in fps]
    assert len(flat) == len(set(flat))


def test_fixing_one_of_two_alike_entries_leaves_the_others_fingerprint_alone(ws: Path) -> None:
    # Two bad entries of one file differ only by their index: numbers inside a name are kept, so
    # fixing the first does not hand its fingerprint to the second (which an ordinal would).
    dataset = ws / "datasets/flowers/1/dataset.yaml"
    edit_yaml(dataset, lambda d: d["files"].extend([{**d["files"][0], "path": f"x{i}.csv", "size": "big"} for i in (1, 2)]))
    both = fingerprinted(ws)[("TFC0002-E001", "datasets/flowers/1/dataset.yaml")]
    assert len(both) == 2 and not any("#" in fp for fp in both)
    edit_yaml(dataset, lambda d: d["files"][1].update(size=1))
    [left] = fingerprinted(ws)[("TFC0002-E001", "datasets/flowers/1/dataset.yaml")]
    assert left == both[1]


def test_github_step_summary_is_never_appended_into_the_repository_or_through_a_link(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """GITHUB_STEP_SUMMARY=strataml.yaml appended the summary's Markdown to the workspace's
    configuration, past every guard -o has."""
    import subprocess

    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    monkeypatch.chdir(ws)
    before = (ws / "strataml.yaml").read_bytes()
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(ws / "strataml.yaml"))
    rendered(broken(ws), "github")
    assert (ws / "strataml.yaml").read_bytes() == before
    assert "inside the repository being checked: no job summary written" in capsys.readouterr().err
    target = tmp_path / "elsewhere.md"
    target.write_text("kept\n")
    (tmp_path / "link.md").symlink_to(target)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "link.md"))
    rendered(broken(ws), "github")
    assert target.read_text() == "kept\n"
    assert "no job summary written to" in capsys.readouterr().err


def test_github_step_summary_is_never_appended_into_the_workspace_checked_from_elsewhere(
    ws: Path, tmp_path: Path, strataml_exe: list[str]
) -> None:
    """The guard looked at the current folder's repository: `strataml -C WS doctor` from /tmp
    (or a workspace in no repository) still appended to WS/strataml.yaml."""
    import subprocess

    before = (ws / "strataml.yaml").read_bytes()
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(ws / "strataml.yaml")}
    done = subprocess.run([*strataml_exe, "-C", str(ws), "doctor", "--format", "github"], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode in (0, 1, 2) and "no job summary written" in done.stderr, done.stderr
    assert (ws / "strataml.yaml").read_bytes() == before
