"""`strataml diff`: a base and a head in real git repositories, and what the report says of them."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import models_helpers
from conftest import ROOT, edit_yaml, invoke
from strataml import schemas
from test_git_rules import commit_all, git

RUN = "runs/20260101T000000Z-sales-forecast-a1b2c3"
GOLDEN = ROOT / "tests" / "golden"


def new_run(ws: Path, suffix: str, accuracy: float, day: str = "02") -> str:
    """Another run of sales-forecast (a copy of the fixture's, other metrics, a day later)."""
    run_id = f"2026010{day[-1]}T000000Z-sales-forecast-{suffix}"
    shutil.copytree(ws / RUN, ws / "runs" / run_id)

    # The run's metrics file says what its run.yaml says, as a run writes them (TFC0004-E005).
    metrics_file = ws / "runs" / run_id / "metrics/metrics.json"
    written = {**json.loads(metrics_file.read_text()), "test_accuracy": accuracy}
    metrics_file.write_text(json.dumps(written, indent=2, sort_keys=True) + "\n")
    pinned = hashlib.sha256(metrics_file.read_bytes()).hexdigest()

    def change(d: dict) -> None:
        d.update(ref=f"run:{run_id}", created_at=f"2026-01-{day}T00:00:00Z", started_at=f"2026-01-{day}T00:00:01Z",
                 ended_at=f"2026-01-{day}T00:00:09Z")
        d["metrics"].update(test_accuracy=accuracy)
        entry = next(a for a in d["artifacts"] if a["path"] == "metrics/metrics.json")
        entry.update(sha256=pinned, size=metrics_file.stat().st_size)

    edit_yaml(ws / "runs" / run_id / "run.yaml", change)
    return f"run:{run_id}"


def new_version(ws: Path, version: int, run: str, accuracy: float, passed: bool) -> str:
    ref = models_helpers.add_version(ws, version)
    folder = ws / models_helpers.MODEL_DIR / str(version)

    def receipt(g: dict) -> None:
        g.update(run=run, status="PASS" if passed else "FAIL")
        g["criteria"][0].update(observed=accuracy, passed=passed,
                                expression="test_accuracy >= 0.5" if passed else "test_accuracy >= 0.9")

    models_helpers.edit_gate(ws, version, receipt)
    registered = f"{run[4:8]}-{run[8:10]}-{run[10:12]}T00:00:10Z"  # (after its run ended, as registration dates it)
    edit_yaml(folder / "model.yaml", lambda d: (d.update(produced_by=run, created_at=registered),
                                                d["evaluation"]["metrics"].update(test_accuracy=accuracy),
                                                d["gate"].update(status="PASS" if passed else "FAIL")))
    return ref


@pytest.fixture
def repo(ws: Path) -> Path:
    """The fixture workspace on main, model 1 in production, with a problem in a spec (a repeated key)."""
    (ws / ".gitignore").write_text(".strataml/\n")
    models_helpers.reach(ws, "production")
    spec = ws / "experiments/flowers-logreg.yaml"
    spec.write_text(spec.read_text() + "tags: {a: x}\ntags: {b: y}\n")
    git(ws, "init", "-q", "-b", "main")
    commit_all(ws, "main")
    git(ws, "checkout", "-q", "-b", "feature")
    return ws


def diff(repo: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    return invoke(repo, "diff", *args, capsys=capsys)


def change_everything(repo: Path) -> None:
    """A pull request: a better run and its model version (passing), a worse run's version
    (failing), a promotion, a changed dataset version (an error), the spec's problem fixed."""
    better = new_run(repo, "b0b0b0", 0.875, "02")
    worse = new_run(repo, "c0c0c0", 0.625, "03")
    new_version(repo, 2, better, 0.875, passed=True)
    new_version(repo, 3, worse, 0.625, passed=False)
    models_helpers.write_ledger(repo, [(models_helpers.ref(1), s) for s in ("candidate", "staging", "production")]
                                + [(models_helpers.ref(2), "candidate")])
    edit_yaml(repo / "datasets/flowers/1/dataset.yaml", lambda d: d.update(description="rewritten in place"))
    spec = repo / "experiments/flowers-logreg.yaml"
    spec.write_text(spec.read_text().replace("tags: {a: x}\ntags: {b: y}\n", ""))
    commit_all(repo, "the change")


def test_the_report_answers_what_changed_how_numbers_moved_and_what_is_new(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change_everything(repo)
    code, out, err = diff(repo, capsys, "main", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    jsonschema.validate(doc, schemas.bundled("diff"))
    assert doc["base"]["commit"] == git(repo, "rev-parse", "main")
    from strataml.diff.render import text

    for emptied in ("records", "promotions", "runs", "models"):  # one blank line between sections, whichever are empty
        shown = text({**doc, emptied: []})
        assert "\n\n\n" not in shown, (emptied, shown)
    changes = {(r["ref"], r["change"]) for r in doc["records"]}
    assert changes == {
        ("run:20260102T000000Z-sales-forecast-b0b0b0", "added"), ("run:20260103T000000Z-sales-forecast-c0c0c0", "added"),
        ("model:sales-model@2", "added"), ("model:sales-model@3", "added"),
        ("dataset:flowers@1", "changed"), ("experiment:flowers-logreg", "changed"),
    }
    [promotion] = doc["promotions"]
    assert (promotion["ref"], promotion["from"], promotion["to"], promotion["seq"]) == ("model:sales-model@2", "registered", "candidate", 4)
    runs = {r["ref"]: r for r in doc["runs"]}
    better = runs["run:20260102T000000Z-sales-forecast-b0b0b0"]
    assert (better["previous"], better["production"]) == (f"run:{RUN.split('/')[1]}", "model:sales-model@1")
    accuracy = next(m for m in better["metrics"] if m["name"] == "test_accuracy")
    assert accuracy["better"] == "higher"  # the gate says >=
    assert accuracy["previous"] == {"ref": f"run:{RUN.split('/')[1]}", "value": 0.75, "delta": 0.125,
                                    "relative": pytest.approx(0.125 / 0.75), "verdict": "better"}
    assert accuracy["production"]["verdict"] == "better"
    worse = next(m for m in runs["run:20260103T000000Z-sales-forecast-c0c0c0"]["metrics"] if m["name"] == "test_accuracy")
    assert worse["production"]["verdict"] == "worse" and worse["production"]["delta"] == pytest.approx(-0.125)
    train = next(m for m in better["metrics"] if m["name"] == "train_accuracy")
    assert train["better"] == "higher" and train["production"]["verdict"] == "new metric"  # the plugin declares it
    models = {m["ref"]: m for m in doc["models"]}
    assert models["model:sales-model@2"]["gate"] == "PASS" and models["model:sales-model@2"]["failing"] == []
    assert models["model:sales-model@3"]["gate"] == "FAIL"
    assert models["model:sales-model@3"]["failing"] == [{"expression": "test_accuracy >= 0.9", "metric": "test_accuracy", "observed": 0.625}]
    new = {(f["code"], f["path"]) for f in doc["findings"]["new"]}
    assert ("TFC0002-E010", "datasets/flowers/1") in new  # a committed dataset version changed
    assert [(f["code"], f["path"]) for f in doc["findings"]["fixed"]] == [("TFC0001-E108", "experiments/flowers-logreg.yaml")]
    assert doc["summary"]["new_errors"] >= 1 and doc["summary"]["exit_code"] == 2


def test_markdown_fits_a_pull_request_and_text_reads_in_a_terminal(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    change_everything(repo)
    code, markdown, _ = diff(repo, capsys, "main", "--format", "markdown")
    assert code == 0 and markdown.startswith("## strataml diff against main\n")
    from strataml.reporters.github import markdown_text as m  # repository text, escaped as the job summary escapes it

    assert f"| {m('test_accuracy')} | {m('0.8750')} | higher | {m('+0.1250 (+16.7%) ▲')} | {m('+0.1250 (+16.7%) ▲')} |" in markdown
    assert f"| {m('model:sales-model@3')} | FAIL | {m('test_accuracy >= 0.9')} | {m('model:sales-model@1')} |" in markdown
    assert "### Findings:" in markdown and "TFC0002-E010" in markdown and len(markdown.encode()) < 60_000
    code, text, _ = diff(repo, capsys, "main")
    assert "Promotion  model:sales-model@2: registered -> candidate" in text
    assert text.splitlines()[1] == "4 added, 2 changed, 0 removed; 1 promotion; findings: 1 new, 1 fixed, 0 unchanged"
    assert text.splitlines()[2] == "the gate fails: 1 new error"
    assert "fixed error   TFC0001-E108  experiments/flowers-logreg.yaml" in text


def test_the_markdown_verdict_is_the_gate_s_a_new_warning_fails_it(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`doctor --strict` fails on a new warning: the summary's first line must not show a pass."""
    code, markdown, _ = diff(repo, capsys, "main", "--format", "markdown")
    assert code == 0 and markdown.splitlines()[2].startswith("✅ no new errors or warnings: ")
    shutil.copytree(repo / "datasets/flowers/1", repo / "datasets/flowers/2")
    edit_yaml(repo / "datasets/flowers/2/dataset.yaml", lambda d: d.update(ref="dataset:flowers@2"))
    (repo / "datasets/flowers/2/notes.txt").write_text("not recorded\n")
    commit_all(repo, "a version with a file it does not record")
    code, markdown, _ = diff(repo, capsys, "main", "--format", "markdown")
    assert code == 0
    assert markdown.splitlines()[2].startswith("⚠️ 1 new warning (`doctor --strict` fails on warnings): "), markdown
    code, raw, _ = diff(repo, capsys, "main", "--format", "json")
    assert json.loads(raw)["summary"]["new_warnings"] == 1
    assert invoke(repo, "doctor", "--strict", "--since", "main", capsys=capsys)[0] == 2  # the gate agrees
    edit_yaml(repo / "datasets/flowers/1/dataset.yaml", lambda d: d.update(description="rewritten in place"))
    commit_all(repo, "and a committed version changed")
    code, markdown, _ = diff(repo, capsys, "main", "--format", "markdown")
    assert markdown.splitlines()[2].startswith("❌ 1 new error, 1 new warning: "), markdown
    _code, text, _ = diff(repo, capsys, "main")  # (the text says the verdict too, in words)
    assert text.splitlines()[2] == "the gate fails: 1 new error, 1 new warning", text


def test_findings_the_base_had_in_what_the_change_touches_are_said_the_gate_fails_on_them(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The spec's repeated key is main's; a change that edits the spec and leaves it brings nothing
    new, but `doctor --strict --since main` still fails on it: the verdict must not show a pass."""
    spec = repo / "experiments/flowers-logreg.yaml"
    spec.write_text(spec.read_text() + "description: tuned\n")
    commit_all(repo, "the spec described, its problem left")
    code, markdown, _ = diff(repo, capsys, "main", "--format", "markdown")
    lines = markdown.splitlines()
    assert lines[2].startswith("❌ none new, but 1 error the records it touches had at the base: "), markdown
    assert lines[4] == (
        "⚠️ `doctor --strict --since` also fails on 1 error that the records it checks had at the base already "
        "(a `--baseline` that holds them lets it pass)."
    ), markdown
    code, raw, _ = diff(repo, capsys, "main", "--format", "json")
    doc = json.loads(raw)
    assert [(f["code"], f["severity"]) for f in doc["findings"]["unchanged_failing"]] == [("TFC0001-E108", "error")]
    assert "<summary>1 already at the base, which the gate fails on</summary>" in markdown
    assert doc["summary"]["new_findings"] == 0
    _code, text, _ = diff(repo, capsys, "main")
    assert text.splitlines()[2] == "the gate fails: none new, but 1 error the records it touches had at the base"
    assert "doctor --strict --since also fails on 1 error that the records it checks had at the base" in text
    assert "\nstill error   TFC0001-E108  experiments/flowers-logreg.yaml: " in text
    assert invoke(repo, "doctor", "--strict", "--since", "main", capsys=capsys)[0] == 2  # the gate agrees


def test_the_text_lists_at_most_a_table_of_what_the_base_had_already() -> None:
    """A workspace adopting the gate late can carry thousands of old findings: the text listed
    every one. What the change adds is listed whole."""
    from strataml.diff.render import MAX_ROWS, text

    doc = json.loads((GOLDEN / "diff.json").read_text())
    old = {"code": "TFC0006-W001", "severity": "warning", "path": "datasets/x/1/a.csv", "line": None,
           "message": "file is not recorded", "hint": "record it"}
    doc["findings"]["unchanged_failing"] = [old] * (MAX_ROWS + 7)
    doc["findings"]["new"] = doc["findings"]["new"] * (MAX_ROWS + 1)
    lines = text(doc).splitlines()
    assert sum(line.startswith("still warning TFC0006-W001") for line in lines) == MAX_ROWS
    assert "still ... and 7 more (`strataml doctor` lists every finding)" in lines
    assert sum(line.startswith("new ") for line in lines) == len(doc["findings"]["new"])


def test_each_touched_file_says_whether_it_was_added_changed_or_removed(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = "runs/20260101T000000Z-sales-forecast-a1b2c3"
    (repo / "datasets/flowers/1/notes.txt").write_text("dropped in\n")
    edit_yaml(repo / "datasets/flowers/1/dataset.yaml", lambda d: d.update(description="rewritten in place"))
    (repo / run / "reports/report.md").unlink()
    commit_all(repo, "one file of each")
    _code, raw, _ = diff(repo, capsys, "main", "--format", "json")
    doc = json.loads(raw)
    jsonschema.validate(doc, schemas.bundled("diff"))
    files = {r["path"]: r["files"] for r in doc["records"]}
    assert files["datasets/flowers/1"] == [
        {"path": "dataset.yaml", "change": "changed"},
        {"path": "notes.txt", "change": "added"},
    ]
    assert files[run] == [{"path": "reports/report.md", "change": "removed"}]


def test_golden_markdown_and_json(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The report of one fixed change, byte for byte (commits and actors made alike)."""
    change_everything(repo)
    _code, out, _ = diff(repo, capsys, "main", "--format", "json")
    doc = json.loads(out)
    base, head = doc["base"]["commit"], doc["head"]["commit"]
    regenerated = []
    for fmt, name in (("json", "diff.json"), ("markdown", "diff.md")):
        _code, out, _ = diff(repo, capsys, "main", "--format", fmt)
        out = out.replace(base, "BASE" * 10).replace(head, "HEAD" * 10)
        golden = GOLDEN / name
        if os.environ.get("STRATAML_UPDATE_GOLDEN"):
            golden.write_text(out)
            regenerated.append(name)
            continue
        assert out == golden.read_text(), f"{name} differs: STRATAML_UPDATE_GOLDEN=1 regenerates it"
    if regenerated:
        pytest.fail(f"regenerated {regenerated}: check them in and run again (a regeneration never passes)")


def test_nothing_changed_is_a_short_report(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = diff(repo, capsys, "main")
    assert code == 0 and "0 added, 0 changed, 0 removed; 0 promotions; findings: 0 new, 0 fixed, 0 unchanged" in out


def test_default_base_is_the_default_branch_and_a_missing_one_is_a_clear_error(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = diff(repo, capsys)
    assert code == 0 and out.startswith("strataml diff main (")
    git(repo, "branch", "-m", "main", "trunk")
    code, _, err = diff(repo, capsys)
    assert code == 3 and "no base to compare with" in err and "strataml diff origin/develop" in err
    code, _, err = diff(repo, capsys, "no-such-branch")
    assert code == 3 and "git does not know this revision" in err and "Traceback" not in err


def test_the_base_is_read_from_git_and_leaves_nothing_behind(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    change_everything(repo)
    before = git(repo, "status", "--porcelain")
    diff(repo, capsys, "main")
    assert git(repo, "status", "--porcelain") == before
    assert not any((repo / ".strataml/diff").iterdir())  # the base's scratch folder is gone
    assert git(repo, "worktree", "list").count("\n") == 0  # no checkout was made


def test_a_hostile_gate_file_path_is_not_read(repo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    run = new_run(repo, "d0d0d0", 0.8)
    new_version(repo, 2, run, 0.8, passed=True)
    secret = tmp_path / "secret.json"
    secret.write_text('{"status": "LEAKED"}')
    edit_yaml(repo / "models/sales-model/2/model.yaml", lambda d: d["gate"].update(file=str(secret)))
    code, out, err = diff(repo, capsys, "main", "--format", "json")
    assert code == 0 and "LEAKED" not in out, err


def test_help_says_what_the_report_holds(strataml_exe: list[str]) -> None:
    done = subprocess.run([*strataml_exe, "diff", "--help"], capture_output=True, text=True)
    assert "merge base" in done.stdout and "--format [text|markdown|json]" in done.stdout
    assert "GITHUB_STEP_SUMMARY" in done.stdout


def test_schema_diff_is_printed() -> None:
    done = subprocess.run([sys.executable, "-m", "strataml", "schema", "diff"], capture_output=True, text=True)
    assert done.returncode == 0 and json.loads(done.stdout)["properties"]["schema"]["const"] == "strataml/diff/v1"


def test_a_removed_record_is_judged_over_the_whole_base(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(repo / RUN)  # the run model 1 came from: gone, which the whole workspace may feel
    commit_all(repo, "drop a run")
    code, out, _ = diff(repo, capsys, "main", "--format", "json")
    doc = json.loads(out)
    assert [(r["ref"], r["change"]) for r in doc["records"]] == [(f"run:{RUN.split('/')[1]}", "removed")]
    new = {(f["code"], f["path"]) for f in doc["findings"]["new"]}
    assert ("TFC0003-E010", RUN) in new  # a finished run disappeared
    assert ("TFC0008-E001", "models/sales-model/1/model.yaml") in new  # and model 1 names a run that is gone
    assert doc["findings"]["fixed"] == []


@contextmanager
def alice_pinned_on_main(repo: Path, tmp_path: Path, *scopes: str) -> Iterator[tuple[Any, Path]]:
    """Alice's throw-away key pinned with `scopes` on main, merged into the feature branch (checked
    out); her gpg home's agents stopped afterwards. Yields her key and the folder of the homes."""
    import gpgkeys
    from conftest import require
    from test_signatures import pin

    require(gpgkeys.available(), "gpg is not installed")
    homes = tmp_path / "homes"
    homes.mkdir()
    alice = gpgkeys.stored_key(homes, "Alice")
    try:
        git(repo, "checkout", "-q", "main")
        pin(repo, alice, *scopes)
        commit_all(repo, "pin Alice")
        git(repo, "checkout", "-q", "feature")
        git(repo, "merge", "-q", "main")
        yield alice, homes
    finally:
        gpgkeys.stop_agents([p for p in homes.iterdir() if p.is_dir()])


def test_a_new_signature_and_a_new_pinned_key(repo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import gpgkeys
    from test_signatures import pin, sign

    with alice_pinned_on_main(repo, tmp_path, "models") as (alice, homes):
        bob = gpgkeys.stored_key(homes, "Bob")
        sign(repo, alice, "models/sales-model/1/model.yaml")
        pin(repo, bob, "datasets")
        commit_all(repo, "sign model 1, pin Bob")
        code, out, _ = diff(repo, capsys, "main", "--format", "json")
        doc = json.loads(out)
        [signature] = doc["signatures"]
        assert (signature["path"], signature["change"], signature["status"]) == ("models/sales-model/1/model.yaml", "added", "signed")
        [signer] = signature["signers"]  # (as the index lists a signer, not a Python repr in a string)
        assert signer["fingerprint"] == alice.fingerprint and "Alice" in signer["uid"] and signer["scopes"] == ["models"]
        assert "{" not in diff(repo, capsys, "main")[1]
        assert doc["trust"]["keys"] == [{"fingerprint": bob.fingerprint, "change": "added", "scopes": ["datasets"]}]
        assert {r["code"] for r in doc["trust"]["review"]} == {"TFC0007-W001"}  # trusted keys changed: a reviewer looks


def test_a_ledger_signed_for_the_first_time(repo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The base has the ledger but not its signature: the base is checked without the working
    tree's .asc (it was looked for in the base's copy, and the diff stopped with exit 3)."""
    from test_signatures import sign

    with alice_pinned_on_main(repo, tmp_path, "ledger") as (alice, _homes):
        sign(repo, alice, models_helpers.LEDGER)
        commit_all(repo, "sign the ledger")
        code, out, err = diff(repo, capsys, "main", "--format", "json")
        assert code < 3, err
        [signature] = json.loads(out)["signatures"]
        assert (signature["path"], signature["change"], signature["status"]) == (models_helpers.LEDGER, "added", "signed")


def strict_json(text: str) -> dict:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in JSON")

    return json.loads(text, parse_constant=refuse)


def test_diverged_numbers_and_hostile_text_never_stop_or_leak_into_the_report(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = new_run(repo, "e0e0e0", 0.8)
    folder = repo / "runs" / run.split(":", 1)[1]
    text = (folder / "run.yaml").read_text()
    text = text.replace("  train_accuracy: 0.9\n", "  train_accuracy: " + "9" * 400 + "\n  val_loss: .nan\n  big: 1.0e+308\n")
    (folder / "run.yaml").write_text(text)
    new_version(repo, 2, run, 0.8, passed=True)
    models_helpers.edit_gate(repo, 2, lambda g: g.update(status="PASS<img src=x>[a](http://e.x)"))
    commit_all(repo, "a diverged run")
    code, out, err = diff(repo, capsys, "main", "--format", "json")
    assert code == 0, err
    doc = strict_json(out)
    metrics = {m["name"]: m for m in doc["runs"][0]["metrics"]}
    assert metrics["train_accuracy"]["value"] is None and metrics["val_loss"]["recorded"] == "nan"
    code, markdown, _ = diff(repo, capsys, "main", "--format", "markdown")
    import re

    assert not re.search(r"(?<!\\)(<img|\]\()", markdown)  # nothing left unescaped: no tag, no link
    from strataml.reporters.github import markdown_text

    assert markdown_text("PASS<img src=x>[a](http://e.x)") in markdown
    for args in (["report", "experiment:sales-forecast", "--format", "json"], ["compare", RUN, run, "--format", "json"]):
        code, out, err = invoke(repo, *args, capsys=capsys)
        assert code == 0, err
        strict_json(out)
    code, _out, err = invoke(repo, "dashboard", capsys=capsys)
    assert code == 0, err


def test_a_receipt_that_is_a_symlink_leaves_the_gate_unverified(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = new_run(repo, "f0f0f0", 0.8)
    new_version(repo, 2, run, 0.8, passed=True)
    receipt = repo / "models/sales-model/2/gate.json"
    (repo / "elsewhere.json").write_bytes(receipt.read_bytes())
    receipt.unlink()
    receipt.symlink_to("../../../elsewhere.json")
    code, out, err = diff(repo, capsys, "main", "--format", "json")
    assert code == 0, err
    [model] = json.loads(out)["models"]
    assert model["gate"] == "unverified: receipt unreadable"


def test_git_only_findings_on_files_the_change_did_not_touch_are_not_new(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git(repo, "checkout", "-q", "main")
    edit_yaml(repo / "strataml.yaml", lambda d: d["lfs"].update(threshold_bytes=100))  # old large files, not in LFS
    commit_all(repo, "a strict threshold")
    git(repo, "checkout", "-q", "feature")
    git(repo, "merge", "-q", "main")
    edit_yaml(repo / "datasets/flowers/1/dataset.yaml", lambda d: d.update(description="touched"))
    commit_all(repo, "touch the flowers record, not its file")
    code, out, _ = diff(repo, capsys, "main", "--format", "json")
    assert "TFC0006-W011" not in {f["code"] for f in json.loads(out)["findings"]["new"]}


def test_git_only_findings_stay_unchanged_when_the_change_removes_a_record(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A change that removes a record checks every record, at the base too; the findings only a
    working tree has (LFS routing, tracking) were then all "new", and the report said the change
    brought warnings it never touched. Only a .gitattributes changed makes them so."""
    git(repo, "checkout", "-q", "main")
    edit_yaml(repo / "strataml.yaml", lambda d: d["lfs"].update(threshold_bytes=100))  # old large files, not in LFS
    commit_all(repo, "a strict threshold")
    git(repo, "checkout", "-q", "feature")
    git(repo, "merge", "-q", "main")
    spec = next(p for p in sorted((repo / "experiments").glob("*.yaml")))
    git(repo, "rm", "-q", str(spec.relative_to(repo)))
    commit_all(repo, "a spec removed")
    code, out, err = diff(repo, capsys, "main", "--format", "json")
    findings = json.loads(out)["findings"]
    assert "TFC0006-W011" not in {f["code"] for f in findings["new"]}, err
    assert "TFC0006-W011" in {f["code"] for f in findings["unchanged_failing"]}


def test_lfs_content_in_the_checkout_is_not_a_fixed_finding(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The base is read from git objects, where an LFS file is its pointer (TFC0006-I010); the
    working tree holds the content. Nothing was fixed by the change."""
    from test_git_rules import add_weights

    git(repo, "checkout", "-q", "main")
    weights = add_weights(repo)  # committed through LFS: a pointer in git, the content on disk
    git(repo, "checkout", "-q", "feature")
    git(repo, "merge", "-q", "main")
    edit_yaml(repo / "datasets/flowers/1/dataset.yaml", lambda d: d.update(description="touched"))
    commit_all(repo, "an unrelated change")
    capsys.readouterr()
    code, out, _ = diff(repo, capsys, "main", "--format", "json")
    found = json.loads(out)["findings"]
    assert "TFC0006-I010" not in {f["code"] for f in found["fixed"] + found["new"]}, found
    assert code in (0, 1), out
    weights.write_bytes(git(repo, "show", f"HEAD:{weights.relative_to(repo)}").encode())  # the pointer only
    code, out, _ = diff(repo, capsys, "main", "--format", "json")
    assert code in (0, 1), out
    found = json.loads(out)["findings"]
    assert "TFC0006-I010" not in {f["code"] for f in found["fixed"] + found["new"]}, found


def test_usage_errors_say_what_to_do(repo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _out, err = diff(repo, capsys, "")
    assert code == 3 and "REF" in err and "is empty" in err
    code, _out, err = diff(repo, capsys, "nope")
    assert code == 3 and "REF nope: git does not know this revision" in err and "--since" not in err
    code, _out, err = diff(repo, capsys, "HEAD^{tree}")  # (git knows it: it is not a commit)
    assert code == 3 and "REF HEAD^{tree}: it names a tree, not a commit" in err
    code, _out, err = diff(repo, capsys, "^HEAD")  # (a range's exclusion: rev-parse answers ^SHA)
    assert code == 3 and "REF ^HEAD: names no single commit" in err
    code, _out, err = diff(repo, capsys, "--", "-x")
    assert code == 3 and "REF -x: git does not know this revision" in err
    plain = tmp_path / "plain"
    shutil.copytree(repo, plain, ignore=shutil.ignore_patterns(".git"))
    code, _out, err = diff(plain, capsys)
    assert code == 3 and "git" in err and "Traceback" not in err
    subprocess.run(["git", "init", "-q"], cwd=plain, check=True)  # a repository with no commit yet
    code, _out, err = diff(plain, capsys, "HEAD")
    assert code == 3 and "REF HEAD: this repository has no commits yet" in err and "git commit" in err, err


def test_a_keys_manifest_that_is_a_symlink_is_not_read(repo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("schema: strataml/keys/v1\nkeys:\n- {fingerprint: OUTSIDE0000, file: x.asc, scopes: [models]}\n")
    (repo / "tfc/keys").mkdir(parents=True, exist_ok=True)
    (repo / "tfc/keys/keys.yaml").symlink_to(outside)
    commit_all(repo, "a linked manifest")
    code, out, err = diff(repo, capsys, "main", "--format", "json")
    assert code == 0, err
    assert "OUTSIDE0000" not in out


def test_the_change_that_adds_a_workspace_is_told_as_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A repository whose base holds no workspace: diff listed a "fixed error" for a strataml.yaml
    that never existed there, and the doctor called init's empty tfc/keys/.gitkeep a trusted key
    file and the new strataml.yaml a policy change "judged by the policy at main"."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README").write_text("hi\n")
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "init")
    git(repo, "checkout", "-q", "-b", "add-ml")
    assert invoke(repo, "init", ".", capsys=capsys)[0] == 0
    commit_all(repo, "a workspace")
    code, out, err = invoke(repo, "diff", "main", "--format", "json", capsys=capsys)
    doc = json.loads(out)
    assert code in (0, 1) and doc["findings"]["fixed"] == [], (err, doc["findings"])
    code, out, _ = invoke(repo, "doctor", "--since", "main", "--format", "json", capsys=capsys)
    found = {(f["code"], f["path"]): f["message"] for f in json.loads(out)["findings"]}
    assert ("TFC0007-W001", "tfc/keys/.gitkeep") not in found, found
    assert found[("TFC0001-W001", "strataml.yaml")].startswith("strataml.yaml is new since main: "), found
    (repo / "tfc/keys/.gitkeep").write_text("not empty\n")  # (what nobody expects in tfc/keys: reviewed)
    commit_all(repo, "a placeholder with something in it")
    code, out, _ = invoke(repo, "doctor", "--since", "main", "--format", "json", capsys=capsys)
    assert ("TFC0007-W001", "tfc/keys/.gitkeep") in {(f["code"], f["path"]) for f in json.loads(out)["findings"]}


def test_a_spec_whose_gates_or_registration_change_says_so(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Found by a new user: a change that only lowered a gate read '✅ ... 1 changed', the spec
    folded away among the records, with nothing of what its gates were or became."""
    edit_yaml(repo / "experiments/sales-forecast.yaml", lambda d: (d.update(gates=["test_accuracy >= 0.3"]),
                                                                   d.update(register={"model": "other-model"})))
    commit_all(repo, "the bar lowered, another model registered")
    code, raw, _ = diff(repo, capsys, "main", "--format", "json")
    doc = json.loads(raw)
    assert schemas.validate("diff", doc) == []
    [record] = [r for r in doc["records"] if r["ref"] == "experiment:sales-forecast"]
    assert record["gates"] == {"before": ["test_accuracy >= 0.5"], "after": ["test_accuracy >= 0.3"]}
    assert record["registers"] == {"before": "sales-model", "after": "other-model"}
    _code, text, _ = diff(repo, capsys, "main")
    lines = text.splitlines()
    at = lines.index("  changed  experiment:sales-forecast")  # (each under its own spec's line)
    assert lines[at + 1 : at + 3] == [
        "             gates: test_accuracy >= 0.5 -> test_accuracy >= 0.3",
        "             registers: sales-model -> other-model",
    ], text
    _code, markdown, _ = diff(repo, capsys, "main", "--format", "markdown")
    assert "### Gates and registrations changed" in markdown.split("<details>")[0]  # (not folded away)


def test_a_range_is_refused_with_what_to_do(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`diff main..feature` read as one revision named "main..feature": git does not know it."""
    code, _out, err = diff(repo, capsys, "main..feature")
    assert code == 3 and "names a range" in err and "git switch feature" in err and "strataml diff main" in err, err
    code, _out, err = diff(repo, capsys, "main..")  # (what the checkout changes: the working tree is it)
    assert code == 3 and "run `strataml diff main` here" in err and "switch" not in err, err
    code, _out, err = diff(repo, capsys, "..feature")
    assert code == 3 and "SHA being what `git rev-parse HEAD` says before you switch" in err, err
    for suffix in ("HEAD^!", "HEAD^-", "HEAD^-1"):  # (git's ranges of a commit against its parent)
        code, _out, err = diff(repo, capsys, suffix)
        assert code == 3 and "names a range" in err and "strataml diff HEAD^" in err, (suffix, err)


def test_a_run_with_no_model_in_production_says_so_once(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With nothing in production, every metric line ended "vs production -"; and ▲/▼ were never
    said to mean better and worse (not up and down: a lower loss is ▲)."""
    (ws / ".gitignore").write_text(".strataml/\n")
    git(ws, "init", "-q", "-b", "main")
    commit_all(ws, "main")
    git(ws, "checkout", "-q", "-b", "feature")
    new_run(ws, "d0d0d0", 0.9)
    commit_all(ws, "a run")
    code, out, err = diff(ws, capsys, "main")
    assert code == 0, err
    assert "; no model in production" in out and "vs production" not in out, out
    assert "▲ better, ▼ worse" in out
    code, out, err = diff(ws, capsys, "main", "--format", "markdown")
    assert code == 0 and "no model in production" in out and "vs production" not in out, err


def test_markdown_that_ends_in_a_folded_block_leaves_what_follows_it_markdown(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by a platform engineer: the diff's markdown ended `</details>` with no blank line
    after it, so the doctor's summary appended to the same step summary rendered as text inside
    the HTML block (CommonMark ends one only at a blank line)."""
    from conftest import require_extra

    require_extra("markdown_it", "dev")  # (a CommonMark renderer, as GitHub's)
    from markdown_it import MarkdownIt

    spec = repo / "experiments/flowers-logreg.yaml"
    spec.write_text(spec.read_text().replace("tags: {a: x}\ntags: {b: y}\n", ""))  # a fixed finding, folded
    commit_all(repo, "the spec fixed")
    code, markdown, _ = diff(repo, capsys, "main", "--format", "markdown")
    assert code == 0 and markdown.rstrip().endswith("</details>"), markdown[-300:]
    html = MarkdownIt("commonmark").render(markdown + "## strataml doctor\n")
    assert html.rstrip().endswith("<h2>strataml doctor</h2>"), html[-300:]


def test_with_the_gates_baseline_the_report_counts_what_the_gate_counts(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by a platform engineer: with `--baseline` adopted in the gate, the job summary still
    said "the gate fails" over a finding the baseline held, while the gate passed. diff takes the
    gate's baseline, read as REF holds it."""
    git(repo, "checkout", "-q", "main")
    code, _out, err = invoke(repo, "doctor", "--write-baseline", ".strataml-baseline.json", capsys=capsys)
    assert code == 0, err
    commit_all(repo, "adopt the gate with a baseline")
    git(repo, "checkout", "-q", "feature")
    git(repo, "merge", "-q", "main")
    spec = repo / "experiments/flowers-logreg.yaml"
    spec.write_text(spec.read_text().replace("tags: {a: x}", "tags: {a: z}"))  # touched, its problem kept
    commit_all(repo, "touch the spec")
    gate = ["doctor", "--strict", "--since", "main", "--baseline", ".strataml-baseline.json"]
    assert invoke(repo, *gate, capsys=capsys)[0] == 0
    code, text, _ = diff(repo, capsys, "main")
    assert code == 0 and text.splitlines()[2].startswith("the gate fails"), text
    code, text, _ = diff(repo, capsys, "main", "--baseline", ".strataml-baseline.json")
    assert code == 0 and text.splitlines()[2] == "the gate passes: no new errors or warnings", text
    assert "1 finding the baseline .strataml-baseline.json (as main holds it) holds is not counted" in text
    code, out, _ = diff(repo, capsys, "main", "--baseline", ".strataml-baseline.json", "--format", "json")
    doc = json.loads(out)
    assert doc["findings"]["baseline"] == {"file": ".strataml-baseline.json (as main holds it)", "found": True, "hidden": 1}
    assert doc["findings"]["unchanged_failing"] == [] and doc["findings"]["fixed"] == []
    assert schemas.validate("diff", doc) == []
    code, out, _ = diff(repo, capsys, "main", "--baseline", ".strataml-baseline.json", "--format", "markdown")
    assert out.splitlines()[2].startswith("✅")
    # A path REF does not hold (a typo in CI) is said in the report itself, not read as reassurance.
    code, out, _ = diff(repo, capsys, "main", "--baseline", "nope.json", "--format", "markdown")
    assert "No baseline nope\\.json \\(as main holds it\\): it is not there, so every finding counts" in out, out
    assert out.splitlines()[2].startswith("❌")
