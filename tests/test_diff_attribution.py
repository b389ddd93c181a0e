"""`strataml diff`: which side a finding, a metric's direction and a record belong to.

Found by reviewers: a stray the change added (`datasets/notes.txt`) read as one the base "had";
a change that turned its spec's `>=` into `<=` showed its own worse numbers as better; and specs
behind a symlinked `experiments/` (which the doctor does not follow) read as "changed".
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import edit_yaml, invoke
from test_diff import RUN, diff, new_run, repo  # noqa: F401 (repo: a fixture)
from test_git_rules import commit_all, git

from strataml import schemas


@pytest.mark.parametrize("stray", ["datasets/notes.txt", "models/notes.txt", "experiments/sub/x.yaml"])
def test_a_stray_the_change_adds_is_a_new_finding_not_one_the_base_had(
    repo: Path, capsys: pytest.CaptureFixture[str], stray: str
) -> None:
    """The layout gives these paths no record: their walk entries were taken from the working
    tree for the base's, and the change's own stray was "1 error the records it touches had at
    the base", with advice to hide it in a baseline."""
    (repo / stray).parent.mkdir(parents=True, exist_ok=True)
    (repo / stray).write_text("hi\n")
    commit_all(repo, "a stray")
    code, raw, err = diff(repo, capsys, "main", "--format", "json")
    assert code == 0, err
    doc = json.loads(raw)
    assert schemas.validate("diff", doc) == []
    assert doc["summary"]["new_errors"] == 1, doc["findings"]
    assert doc["findings"]["unchanged_failing"] == [] and doc["findings"]["unchanged"] == 0, doc["findings"]
    [new] = doc["findings"]["new"]
    assert (new["code"], new["path"]) == ("TFC0001-E002", stray if stray.count("/") == 1 else "experiments/sub")
    _code, text, _ = diff(repo, capsys, "main")
    assert text.splitlines()[2] == "the gate fails: 1 new error", text
    assert "baseline" not in text, text
    _code, markdown, _ = diff(repo, capsys, "main", "--format", "markdown")
    assert markdown.splitlines()[2].startswith("❌ 1 new error: "), markdown
    assert "baseline" not in markdown, markdown


def test_a_stray_the_base_had_stays_unchanged_when_the_change_touches_it(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The other side of the above: a path the base held (its content changed, or a sibling
    added in its folder) is the base's finding still, read from git as the base holds it."""
    git(repo, "checkout", "-q", "main")
    (repo / "datasets/notes.txt").write_text("old\n")
    (repo / "experiments/sub").mkdir()
    (repo / "experiments/sub/y.yaml").write_text("old\n")
    commit_all(repo, "strays on main")
    git(repo, "checkout", "-q", "feature")
    git(repo, "merge", "-q", "main")
    (repo / "datasets/notes.txt").write_text("new\n")
    (repo / "experiments/sub/x.yaml").write_text("new\n")
    commit_all(repo, "the strays touched")
    code, raw, err = diff(repo, capsys, "main", "--format", "json")
    assert code == 0, err
    findings = json.loads(raw)["findings"]
    assert findings["new"] == [], findings
    assert {(f["code"], f["path"]) for f in findings["unchanged_failing"]} == {
        ("TFC0001-E002", "datasets/notes.txt"),
        ("TFC0001-E002", "experiments/sub"),
    }, findings


@pytest.mark.parametrize("entry", ["Models/notes.txt", "STRATAML.yaml", "tfc/Keys"])
def test_a_name_folding_onto_the_layout_that_the_base_had_is_not_new(
    repo: Path, capsys: pytest.CaptureFixture[str], entry: str
) -> None:
    """TFC0001-E011 is found by listing the workspace's top (and tfc/, tfc/keys/), which the
    base's scratch copy held none of (or none of its links): a `Models/` on main was "new" in
    every later change, and one a change removed was never "fixed"."""
    git(repo, "checkout", "-q", "main")
    if entry == "tfc/Keys":
        (repo / "tfc").mkdir(exist_ok=True)
        (repo / entry).symlink_to("keys")  # (links are not written out with the base's tfc/)
        name = entry
    else:
        (repo / entry).parent.mkdir(parents=True, exist_ok=True)
        (repo / entry).write_text("old\n")
        name = entry.split("/")[0]
    commit_all(repo, "a name that folds onto the layout's, on main")
    git(repo, "checkout", "-q", "feature")
    git(repo, "merge", "-q", "main")
    code, raw, err = diff(repo, capsys, "main", "--format", "json")
    assert code == 0, err
    findings = json.loads(raw)["findings"]
    assert findings["new"] == [], findings
    assert [(f["code"], f["path"]) for f in findings["unchanged_failing"]] == [("TFC0001-E011", name)], findings
    git(repo, "rm", "-rq", name)
    commit_all(repo, "gone")
    _code, raw, _ = diff(repo, capsys, "main", "--format", "json")
    findings = json.loads(raw)["findings"]
    assert [(f["code"], f["path"]) for f in findings["fixed"]] == [("TFC0001-E011", name)], findings
    assert findings["new"] == [], findings


def test_a_change_that_flips_its_gates_does_not_choose_which_way_its_metrics_are_better(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A worse run (0.625 against production's 0.75) and the spec's gate turned from `>=` to
    `<=` in the same change: the drop showed as ▲ under a ✅. The base's spec says which way is
    better (it holds the policy until the change is merged); the report says the change flips it."""
    new_run(repo, "c0c0c0", 0.625, "03")
    edit_yaml(repo / "experiments/sales-forecast.yaml", lambda d: d.update(gates=["test_accuracy <= 1.0"]))
    commit_all(repo, "a worse run, and the gate turned around")
    code, raw, err = diff(repo, capsys, "main", "--format", "json")
    assert code == 0, err
    doc = json.loads(raw)
    assert schemas.validate("diff", doc) == []
    [run] = doc["runs"]
    accuracy = next(m for m in run["metrics"] if m["name"] == "test_accuracy")
    assert accuracy["better"] == "higher", accuracy  # main's gate: test_accuracy >= 0.5
    assert accuracy["flipped_to"] == "lower", accuracy  # what a JSON reader is told, as the reports are
    assert all(m["flipped_to"] is None for m in run["metrics"] if m["name"] != "test_accuracy"), run
    assert accuracy["production"]["verdict"] == "worse" and accuracy["previous"]["verdict"] == "worse", accuracy
    _code, markdown, _ = diff(repo, capsys, "main", "--format", "markdown")
    from strataml.reporters.github import markdown_text as m

    row = next(line for line in markdown.splitlines() if line.startswith(f"| {m('test_accuracy')} |"))
    assert "▲" not in row and "▼" in row and "flipped to lower" in row, row
    assert "this change flips which way is better for test\\_accuracy (was higher, now lower)" in markdown, markdown
    _code, text, _ = diff(repo, capsys, "main")
    assert "this change flips which way is better for test_accuracy (was higher, now lower)" in text, text
    line = next(line for line in text.splitlines() if line.strip().startswith("test_accuracy "))
    assert "▲" not in line and "(direction flipped by the change)" in line, line


def test_a_new_experiment_s_metrics_go_the_way_its_own_spec_says(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The base has no spec to ask: the working tree's says, and nothing is flipped."""
    spec = repo / "experiments/sales-forecast.yaml"
    (repo / "experiments/sales-lower.yaml").write_text(
        spec.read_text().replace("name: sales-forecast", "name: sales-lower").replace(">= 0.5", "<= 1.0")
    )
    run_id = "20260104T000000Z-sales-lower-e0e0e0"
    shutil.copytree(repo / RUN, repo / "runs" / run_id)
    edit_yaml(repo / "runs" / run_id / "run.yaml", lambda d: d.update(ref=f"run:{run_id}", experiment="experiment:sales-lower"))
    commit_all(repo, "a new experiment and its run")
    code, raw, err = diff(repo, capsys, "main", "--format", "json")
    assert code < 3, err
    [run] = json.loads(raw)["runs"]
    assert run["experiment"] == "experiment:sales-lower"
    accuracy = next(m for m in run["metrics"] if m["name"] == "test_accuracy")
    assert accuracy["better"] == "lower" and accuracy["flipped_to"] is None, accuracy
    _code, markdown, _ = diff(repo, capsys, "main", "--format", "markdown")
    assert "flips" not in markdown and "flipped" not in markdown, markdown


def test_specs_behind_a_symlinked_experiments_folder_are_removed_as_the_doctor_sees_them(
    repo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The doctor does not follow a symlinked managed folder (the specs behind it do not exist
    for it); diff tested each spec's path with is_file(), which does, and said "4 changed"."""
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(repo / "experiments", elsewhere)
    shutil.rmtree(repo / "experiments")
    (repo / "experiments").symlink_to(elsewhere)
    commit_all(repo, "experiments linked from elsewhere")
    code, raw, err = diff(repo, capsys, "main", "--format", "json")
    assert code == 0, err
    doc = json.loads(raw)
    assert schemas.validate("diff", doc) == []
    assert {(r["ref"], r["change"]) for r in doc["records"]} == {
        ("experiment:flowers-logreg", "removed"),
        ("experiment:sales-forecast", "removed"),
    }, doc["records"]
    assert (doc["summary"]["added"], doc["summary"]["changed"], doc["summary"]["removed"]) == (0, 0, 2)
    code, out, _ = invoke(repo, "doctor", "--since", "main", "--format", "json", capsys=capsys)
    assert ("TFC0001-E002", "experiments") in {(f["code"], f["path"]) for f in json.loads(out)["findings"]}
