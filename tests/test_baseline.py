"""`doctor --baseline FILE` / `--write-baseline FILE`: adopt --strict in a repository with old findings."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import edit_yaml, invoke
from test_git_rules import commit_all, git

FLOWERS = "datasets/flowers/1/dataset.yaml"
SALES = "datasets/sales/1/dataset.yaml"
BASELINE = ".strataml-baseline.json"




def no_license(ws: Path, rel: str = FLOWERS) -> None:
    edit_yaml(ws / rel, lambda d: d.pop("license"))


def doctor(ws: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict, str]:
    code, out, err = invoke(ws, "doctor", "--strict", "--format", "json", *args, capsys=capsys)
    return code, json.loads(out) if out.strip() else {}, err


def found(report: dict) -> list[tuple[str, str]]:
    return [(f["code"], f["path"]) for f in report["findings"]]


def test_adopt_then_gate_only_what_is_new(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    no_license(ws)
    assert doctor(ws, capsys)[0] == 2
    code, report, err = doctor(ws, capsys, "--write-baseline", str(ws / BASELINE))
    assert code == 0 and found(report) == [] and report["baseline"] == {"file": BASELINE, "hidden": 1}
    assert "wrote .strataml-baseline.json: 1 finding" in err
    written = json.loads((ws / BASELINE).read_text())
    assert written["schema"] == "strataml/baseline/v1"
    assert [(f["code"], f["path"]) for f in written["findings"]] == [("TFC0002-W001", FLOWERS)]
    # (Its hint names what is missing, the license alone: it asked for a source too.)
    [hint] = [f["hint"] for f in doctor(ws, capsys)[1]["findings"]]
    assert hint.startswith("add license: (an SPDX id or the terms) while the version is new;") and "source" not in hint.split(";")[0]
    # The baseline file itself is not a finding, and a day later the gate is green.
    assert doctor(ws, capsys, "--baseline", str(ws / BASELINE))[:2] == (0, {**report})
    # Something new fails the gate; the old finding stays hidden, and the text summary says so.
    no_license(ws, SALES)
    code, report, _ = doctor(ws, capsys, "--baseline", str(ws / BASELINE))
    assert code == 2 and found(report) == [("TFC0002-W001", SALES)] and report["baseline"]["hidden"] == 1
    code, out, _ = invoke(ws, "doctor", "--strict", "--baseline", str(ws / BASELINE), capsys=capsys)
    assert out.splitlines()[-1].endswith("; 1 older finding hidden by the baseline .strataml-baseline.json")
    code, out, _ = invoke(ws, "doctor", "--baseline", str(ws / BASELINE), "--format", "sarif", capsys=capsys)
    [result] = json.loads(out)["runs"][0]["results"]
    assert result["baselineState"] == "new" and "datasets/sales" in json.dumps(result["locations"])


def test_a_baseline_only_shrinks(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    no_license(ws)
    doctor(ws, capsys, "--write-baseline", str(ws / BASELINE))
    edit_yaml(ws / FLOWERS, lambda d: d.update(license="MIT"))  # the old one fixed
    no_license(ws, SALES)  # a new one
    code, report, err = doctor(ws, capsys, "--write-baseline", str(ws / BASELINE))
    assert "wrote .strataml-baseline.json: 0 findings (1 fixed since dropped, 1 new not added: fix those)" in err
    assert json.loads((ws / BASELINE).read_text())["findings"] == []
    assert code == 2 and found(report) == [("TFC0002-W001", SALES)]  # the new one is still reported


def test_fingerprints_survive_lines_moving_and_numbers_changing(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    no_license(ws)
    (ws / "datasets/flowers/1/flowers.csv").write_text("changed\n")  # TFC0006-E002: a hash and a size
    code, report, _ = doctor(ws, capsys, "--write-baseline", str(ws / BASELINE))
    assert code == 0 and report["baseline"]["hidden"] == 2
    text = (ws / FLOWERS).read_text()
    (ws / FLOWERS).write_text("# a comment moves every line\n# down\n" + text)
    (ws / "datasets/flowers/1/flowers.csv").write_text("changed again, other size\n")
    code, report, _ = doctor(ws, capsys, "--baseline", str(ws / BASELINE))
    assert (code, found(report), report["baseline"]["hidden"]) == (0, [], 2)


def test_a_second_alike_finding_is_new(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Two findings alike but for their order are two: the baseline holds one, the second is new.
    spec = ws / "experiments/flowers-logreg.yaml"
    spec.write_text(spec.read_text() + "tags: {a: x}\ntags: {b: y}\n")
    assert doctor(ws, capsys, "--write-baseline", str(ws / BASELINE))[0] == 0
    spec.write_text(spec.read_text() + "tags: {c: z}\n")
    code, report, _ = doctor(ws, capsys, "--baseline", str(ws / BASELINE))
    assert code == 2 and found(report) == [("TFC0001-E108", "experiments/flowers-logreg.yaml")]
    assert report["baseline"]["hidden"] == 1


@pytest.fixture
def repo(ws: Path) -> Path:
    (ws / ".gitignore").write_text(".strataml/\n")
    git(ws, "init", "-q")
    commit_all(ws, "workspace")
    return ws


def test_under_since_the_baseline_is_the_one_the_base_holds(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    no_license(repo)
    doctor(repo, capsys, "--write-baseline", str(repo / BASELINE))
    base = commit_all(repo, "adopt the doctor with a baseline")
    # A pull request adds a new problem and adds it to the baseline too: the base's baseline judges it.
    new_version = repo / "datasets/flowers/2"
    new_version.mkdir()
    for name in ("dataset.yaml", "flowers.csv"):
        (new_version / name).write_bytes((repo / "datasets/flowers/1" / name).read_bytes())
    edit_yaml(new_version / "dataset.yaml", lambda d: d.update(ref="dataset:flowers@2"))
    os.remove(repo / BASELINE)
    doctor(repo, capsys, "--write-baseline", str(repo / BASELINE))
    commit_all(repo, "new version, baseline grown")
    assert doctor(repo, capsys, "--baseline", str(repo / BASELINE))[0] == 0  # the working tree's baseline hides it
    code, report, _ = doctor(repo, capsys, "--since", base, "--baseline", str(repo / BASELINE))
    assert code == 2 and found(report) == [("TFC0002-W001", "datasets/flowers/2/dataset.yaml")]
    assert report["baseline"]["file"] == f"{BASELINE} (as {base} holds it)"
    # No baseline at the base: nothing is hidden, and the note says why.
    older = git(repo, "rev-parse", f"{base}~1")
    code, report, err = doctor(repo, capsys, "--since", older, "--baseline", str(repo / BASELINE))
    assert "holds no .strataml-baseline.json: no finding hidden" in err and report["baseline"]["hidden"] == 0


@pytest.mark.parametrize("content,said", [
    (b"not json", "is not a strataml baseline (not JSON"),
    (b'{"schema": "strataml/baseline/v9", "findings": []}', 'expected an object with "schema": "strataml/baseline/v1"'),
    (b'{"schema": "strataml/baseline/v1", "findings": [{"code": 1}]}', "findings[0] is not an object"),
    (b"\xff\xfe", "not JSON"),
])
def test_a_broken_baseline_is_an_error_naming_it(ws: Path, capsys: pytest.CaptureFixture[str], content: bytes, said: str) -> None:
    (ws / BASELINE).write_bytes(content)
    code, out, err = invoke(ws, "doctor", "--baseline", str(ws / BASELINE), capsys=capsys)
    assert code == 3 and said in err and ".strataml-baseline.json" in err and "Traceback" not in err
    code, out, err = invoke(ws, "doctor", "--write-baseline", str(ws / BASELINE), capsys=capsys)
    assert code == 3 and said in err and (ws / BASELINE).read_bytes() == content  # never overwritten


def test_baseline_usage_errors(ws: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = invoke(ws, "doctor", "--baseline", str(ws / "missing.json"), capsys=capsys)
    assert code == 3 and "missing.json" in err and "no baseline" in err and "--write-baseline" in err
    # --no-git too: what only git tells would be dropped as fixed, and the gate (with git) fail on it.
    for extra in (["--since", "HEAD"], ["--select", "TFC0002"], ["--ignore", "TFC0002"], ["--no-git"]):
        code, _, err = invoke(ws, "doctor", "--write-baseline", str(ws / BASELINE), *extra, capsys=capsys)
        assert code == 3 and "cannot be combined with --since, --select, --ignore or --no-git" in err
    assert not (ws / BASELINE).exists()
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    code, _, err = invoke(ws, "doctor", "--baseline", str(fifo), capsys=capsys)
    assert code == 3 and "is not a regular file" in err


def test_write_baseline_never_writes_through_a_symlink(ws: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    (ws / BASELINE).symlink_to(outside)
    no_license(ws)
    code, _, err = invoke(ws, "doctor", "--write-baseline", str(ws / BASELINE), capsys=capsys)
    assert code == 3 and not outside.exists() and "Traceback" not in err


def test_help_teaches_adoption() -> None:
    import sys

    done = subprocess.run([sys.executable, "-m", "strataml", "doctor", "--help"], capture_output=True, text=True)
    assert "--write-baseline FILE" in done.stdout and "--baseline FILE" in done.stdout
    assert "(then gate only what is new)" in done.stdout


def test_a_new_problem_alike_an_old_fixed_one_but_for_its_name_is_new(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Quoted keys are names: fixing duplicate key '2023' and adding duplicate key '2024' is a new finding.
    spec = ws / "experiments/flowers-logreg.yaml"
    original = spec.read_text()
    spec.write_text(original + "tags:\n  '2023': a\n  '2023': b\n")
    assert doctor(ws, capsys, "--write-baseline", str(ws / BASELINE))[0] == 0
    spec.write_text(original + "tags:\n  '2024': a\n  '2024': b\n")
    code, report, _ = doctor(ws, capsys, "--baseline", str(ws / BASELINE))
    assert code == 2 and [f["code"] for f in report["findings"]] == ["TFC0001-E108"]


def test_under_since_a_baseline_anywhere_in_the_repository_is_the_bases(ws: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # The workspace lives in a folder of a bigger repository; the baseline at the repository's top.
    top = tmp_path / "mono"
    top.mkdir()
    workspace = top / "ml"
    shutil.move(str(ws), workspace)
    (top / ".gitignore").write_text(".strataml/\n")
    git(top, "init", "-q")
    no_license(workspace)
    file = top / "top-baseline.json"
    doctor(workspace, capsys, "--write-baseline", str(file))
    base = commit_all(top, "adopt")
    no_license(workspace, SALES)  # the pull request's own problem...
    os.remove(file)
    doctor(workspace, capsys, "--write-baseline", str(file))  # ...written into the baseline
    commit_all(top, "hide it")
    code, report, _ = doctor(workspace, capsys, "--since", base, "--baseline", str(file))
    assert code == 2 and ("TFC0002-W001", SALES) in found(report)  # not hidden by its own baseline


def test_baseline_and_write_baseline_are_one_or_the_other(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = invoke(ws, "doctor", "--baseline", str(ws / "a.json"), "--write-baseline", str(ws / "b.json"), capsys=capsys)
    assert code == 3 and "not both" in err


def test_a_file_added_beside_a_baselined_broken_record_is_new(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A run.yaml broken at the base, its error in the base's baseline: a pull request that adds a
    file to that run's folder must not pass the gate (its unrecorded-file warning is new)."""
    meta = repo / "runs/20260101T000000Z-sales-forecast-a1b2c3/run.yaml"
    meta.write_text("- not a run\n")
    doctor(repo, capsys, "--write-baseline", str(repo / BASELINE))
    base = commit_all(repo, "a broken run, baselined")
    (meta.parent / "payload.bin").write_bytes(b"smuggled")
    commit_all(repo, "a file beside it")
    code, report, _ = doctor(repo, capsys, "--since", base, "--baseline", str(repo / BASELINE))
    assert code == 2 and ("TFC0006-W001", f"{meta.parent.relative_to(repo)}/payload.bin") in found(report), report
