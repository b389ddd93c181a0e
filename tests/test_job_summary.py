"""The GitHub job summary (`--format github` with GITHUB_STEP_SUMMARY set): never appended where
-o never writes (a .git folder of any repository), and never larger than GitHub keeps."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import invoke

from strataml.doctor import engine
from strataml.doctor.finding import Finding, Report
from strataml.reporters import RenderOptions, render
from strataml.reporters.github import step_summary

# GitHub drops a step summary above 1 MiB and refuses a comment above 65,536 characters.
GITHUB_LIMIT = 64 * 1024


def _github(ws: Path) -> str:
    out = io.StringIO()
    render(engine.doctor(ws), "github", out, RenderOptions(root=str(ws)))
    return out.getvalue()


@pytest.fixture
def other_repo(tmp_path: Path) -> Path:
    other = tmp_path / "other-repo"
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    return other


@pytest.mark.parametrize(
    "where",
    [
        ".git/hooks/pre-commit",  # a new hook: git runs it at the next commit
        ".git/config",  # appended to: [core] settings, or a broken repository
        "link/pre-commit",  # a symlink on the way (link -> .git/hooks), not at the name
        "nested/.git/info/attributes",  # a .git folder anywhere, as -o refuses it
    ],
)
def test_job_summary_is_never_appended_into_another_repositorys_git_folder(
    ws: Path,
    tmp_path: Path,
    other_repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    where: str,
) -> None:
    """Only the checked repository and the current one were kept out:
    GITHUB_STEP_SUMMARY=/other-repo/.git/hooks/pre-commit wrote a hook, which -o refuses."""
    (other_repo / "link").symlink_to(other_repo / ".git/hooks")
    (other_repo / "nested/.git/info").mkdir(parents=True)
    target = other_repo / where
    before = target.read_bytes() if target.exists() else None
    monkeypatch.chdir(tmp_path)  # (in no repository: only -o's rules stand in the way)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    out = _github(ws)
    assert (target.read_bytes() if target.exists() else None) == before
    err = capsys.readouterr().err
    assert f"GITHUB_STEP_SUMMARY names {target}" in err and "inside a .git folder" in err, err
    assert "no job summary written" in err
    assert out.startswith("OK: 0 errors")  # the annotations and the verdict stand without it
    # As -o refuses the same path (one check, not two that could disagree).
    code, _o, o_err = invoke(ws, "doctor", "-o", str(target), capsys=capsys)
    assert code == 3 and "inside a .git folder" in o_err
    assert (target.read_bytes() if target.exists() else None) == before


def test_a_refused_job_summary_leaves_the_exit_code_as_it_was(
    ws: Path, other_repo: Path, tmp_path: Path, strataml_exe: list[str]
) -> None:
    target = other_repo / ".git/hooks/pre-commit"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(target)}
    done = subprocess.run(
        [*strataml_exe, "-C", str(ws), "doctor", "--format", "github"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0 and "no job summary written" in done.stderr, done.stderr
    assert not target.exists()


def test_job_summary_outside_every_repository_is_still_appended(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "runner/_temp/step_summary_1"
    summary.parent.mkdir(parents=True)
    summary.write_text("# earlier step\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    _github(ws)
    assert summary.read_text().startswith("# earlier step\n## strataml doctor\n")


def _many(count: int) -> Report:
    findings = [
        Finding(
            "TFC0001-E002",
            f"datasets/s{i}.txt",
            "datasets/ holds one folder per dataset name, not files",
            "move it",
            None,
            "warning",
        )
        for i in range(count)
    ]
    # Sorted last by path, the one error: a cut summary shows it all the same.
    findings.append(Finding("TFC0006-E003", "zz/last.csv", "the one error", "fix it", 7, "error"))
    return Report(tuple(sorted(findings, key=Finding.sort_key)), {"records": 1, "records_checked": 1})


def _rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"\| (error|warning|info) \|", line)]


@pytest.mark.parametrize("fmt", ["github", "markdown"])
def test_job_summary_of_many_findings_fits_what_github_keeps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """15,000 findings made a 1.7 MB summary, which GitHub drops whole (above 1 MiB): as many rows
    as fit, then how many more and where every one is."""
    report = _many(15_000)
    summary_file = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary_file))
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    render(report, fmt, out, RenderOptions())
    text = summary_file.read_text("utf-8") if fmt == "github" else out.getvalue()
    assert text == step_summary(report, RenderOptions())
    assert len(text.encode("utf-8")) <= GITHUB_LIMIT
    rows = _rows(text)
    assert len(rows) > 100  # as many as fit, not a handful
    said = re.search(r"^\.\.\. and (\d+) more findings\b.*`--format json`", text, re.M)
    assert said and len(rows) + int(said.group(1)) == 15_001, text[-500:]
    assert rows[0].startswith("| error | `TFC0006-E003` | zz/last\\.csv | 7 |")  # errors first, when cut
    assert text.startswith("## strataml doctor\n\nFAILED: 1 error, 15000 warnings")


def test_a_summary_that_fits_is_whole_and_in_report_order() -> None:
    report = _many(20)
    text = step_summary(report, RenderOptions())
    assert len(_rows(text)) == 21 and "more finding" not in text
    assert _rows(text)[-1].startswith("| error | `TFC0006-E003` | zz/last\\.csv |")


def test_doctor_job_summary_of_many_stray_files_is_bounded(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """End to end: stray files in datasets/, one error each."""
    for i in range(1_500):
        (ws / f"datasets/s{i}.txt").write_text("x\n")
    summary = tmp_path / "summary.md"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, err = invoke(ws, "doctor", "--format", "github", capsys=capsys)
    assert code == 2 and out.count("::error ") == 1_500, err  # the annotations: every one
    text = summary.read_text("utf-8")
    assert len(text.encode("utf-8")) <= GITHUB_LIMIT
    said = re.search(r"^\.\.\. and (\d+) more findings", text, re.M)
    assert said and len(_rows(text)) + int(said.group(1)) == 1_500
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    code, out, _err = invoke(ws, "doctor", "--format", "json", capsys=capsys)
    assert len(json.loads(out)["findings"]) == 1_500  # where every one is
