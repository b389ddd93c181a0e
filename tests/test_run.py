"""`strataml run`, plugins, tracking and `strataml model register`, with real scikit-learn and git."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, copy_example, edit_yaml, read_yaml, require_extra

from strataml.cli.main import run
from strataml.doctor import engine
from strataml.installed import extra_hint
from strataml.plugins.sklearn import names as SklearnNames
from strataml.runner import plugin as plugin_module

pytestmark = pytest.mark.timeout(300)


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "T",
           "GIT_COMMITTER_EMAIL": "t@example.org"}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout.strip()


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    """A workspace in a real git repository with the iris dataset and two specs, committed."""
    require_extra("sklearn", "sklearn")
    root = tmp_path / "lab"
    assert run(["init", str(root)]) == 0
    shutil.copytree(ROOT / "datasets" / "iris", root / "datasets" / "iris")
    for name in ("iris-logreg", "synthetic-logreg"):
        shutil.copy(ROOT / "experiments" / f"{name}.yaml", root / "experiments")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "workspace")
    return root


def strict_findings(root: Path) -> tuple:
    """The doctor's findings once new records are staged (untracked metadata is TFC0006-W012)."""
    git(root, "add", "-A")
    return engine.doctor(root, strict=True).findings


def runs_of(root: Path) -> list[Path]:
    return sorted(p for p in (root / "runs").iterdir() if p.is_dir())


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith((".staging", ".tmp"))]


@pytest.mark.slow
def test_end_to_end_init_add_run_register_doctor(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    head = git(lab, "rev-parse", "HEAD")
    assert run(["-C", str(lab), "run", "experiments/iris-logreg.yaml", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "succeeded" and out["model"] == "model:iris-classifier@1" and out["gate"] == "PASS"
    folder = Path(out["folder"])
    record = read_yaml(folder / "run.yaml")
    assert record["code"] == {"commit": head, "dirty": False}
    assert record["inputs"] == [{"ref": "dataset:iris@1", "digest": read_yaml(lab / "datasets/iris/1/dataset.yaml")["digest"]}]
    assert record["params"]["model.type"] == "logistic_regression" and record["params"]["seed"] == 42
    assert {"data.dataset", "data.target", "split.kind", "split.train"} <= set(record["params"])
    # Every name the plugin declares (the doctor checks gates against the declaration), and no other.
    assert sorted(record["metrics"]) == sorted(SklearnNames.METRICS)
    paths = {a["path"] for a in record["artifacts"]}
    assert {"models/model.joblib", "metrics/metrics.json", "data/data_summary.json", "plots/confusion_matrix.png",
            "plots/roc_curve.png", "plots/calibration.png", "reports/report.md", "summary/run_summary.json",
            "summary/tracking.json"} == paths
    tracking = json.loads((folder / "summary/tracking.json").read_text())
    assert tracking["params"]["seed"] == 42 and tracking["tags"]["purpose"] == "realdata"
    model = read_yaml(lab / "models/iris-classifier/1/model.yaml")
    assert model["produced_by"] == record["ref"] and model["config_hash"] == record["config_hash"]
    assert [f["name"] for f in model["features"]][:2] == ["sepal_length_cm", "sepal_width_cm"]
    gate = json.loads((lab / "models/iris-classifier/1/gate.json").read_text())
    assert [c["expression"] for c in gate["criteria"]] == ["test_f1_macro >= 0.90", "test_accuracy >= 0.90"]
    assert strict_findings(lab) == ()
    # Registering the same run again changes nothing and names the version.
    before = sorted(p.name for p in (lab / "models/iris-classifier").iterdir())
    assert run(["-C", str(lab), "model", "register", record["ref"], "--name", "iris-classifier"]) == 0
    assert "already registered as model:iris-classifier@1" in capsys.readouterr().out
    assert sorted(p.name for p in (lab / "models/iris-classifier").iterdir()) == before


def test_promoting_an_uncommitted_version_says_to_commit_the_version_and_its_run_too(
    lab: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`promote` of a version not yet committed said to commit the ledger alone: a clone of that
    commit held a ledger about a version it does not have (TFC0005-E009)."""
    assert run(["-C", str(lab), "run", "iris-logreg"]) == 0
    capsys.readouterr()
    monkeypatch.chdir(lab)
    assert run(["promote", "model:iris-classifier@1", "--to", "candidate"]) == 0
    step = capsys.readouterr().out.split("Next: `", 1)[1].split("`", 1)[0]
    assert "models/iris-classifier/1" in step and "runs/" in step, step
    subprocess.run(["bash", "-c", step], cwd=lab, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.org",
                        "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.org"})
    git(tmp_path, "clone", "-q", str(lab), "clone")
    assert engine.doctor(tmp_path / "clone", strict=True).exit_code == 0
    # Once committed, the next promotion names the ledger alone again.
    assert run(["promote", "model:iris-classifier@1", "--to", "staging"]) == 0
    step = capsys.readouterr().out.split("Next: `", 1)[1].split("`", 1)[0]
    assert step.startswith("git add models/iris-classifier/lifecycle.jsonl && "), step


def test_same_spec_and_seed_give_identical_metrics(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(2):
        assert run(["-C", str(lab), "run", "synthetic-logreg", "--format", "json"]) == 0
    first, second = (read_yaml(r / "run.yaml") for r in runs_of(lab))
    assert first["metrics"] == second["metrics"] and first["config_hash"] == second["config_hash"]
    assert first["ref"] != second["ref"]
    # The first run's new folder under runs/ is output, not a code change.
    assert first["code"]["dirty"] is False and second["code"]["dirty"] is False
    # A stray file in the work tree is a code change: the plan says the tree is dirty.
    (lab / "experiments" / "scratch.txt").write_text("x")
    capsys.readouterr()
    assert run(["-C", str(lab), "run", "synthetic-logreg", "--dry-run", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["code"]["dirty"] is True
    assert json.loads((runs_of(lab)[0] / "metrics/metrics.json").read_text()) == first["metrics"]


def test_dry_run_writes_nothing(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["-C", str(lab), "run", "iris-logreg", "--dry-run", "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["inputs"][0]["ref"] == "dataset:iris@1" and plan["plugin"]["key"] == "sklearn"
    assert re.fullmatch(r"\d{8}T\d{6}Z-iris-logreg-[0-9a-f]{6}", plan["run_id"]), plan["run_id"]
    assert runs_of(lab) == [] and git(lab, "status", "--porcelain") == ""


def test_a_run_outside_a_repository_says_it_records_no_commit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`code: {commit: null, dirty: false}`, silently: nothing said the run's code was unknown."""
    require_extra("sklearn", "sklearn")
    root = tmp_path / "nogit"
    assert run(["init", str(root)]) == 0
    shutil.copytree(ROOT / "datasets" / "iris", root / "datasets" / "iris")
    shutil.copy(ROOT / "experiments" / "iris-logreg.yaml", root / "experiments")
    capsys.readouterr()
    assert run(["-C", str(root), "run", "iris-logreg", "--no-register"]) == 0
    assert "note: no git commit recorded" in capsys.readouterr().err
    assert read_yaml(runs_of(root)[0] / "run.yaml")["code"]["commit"] is None


def test_committed_runs_say_nothing_of_it(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["-C", str(lab), "run", "iris-logreg", "--no-register"]) == 0
    err = capsys.readouterr().err
    assert "no git commit recorded" not in err and "uncommitted changes" not in err


def test_a_run_from_a_dirty_tree_says_so(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """run.yaml said `dirty: true`; only --dry-run's plan showed it."""
    (lab / "README.md").write_text("changed\n")
    git(lab, "add", "README.md")
    (lab / "alice.asc").write_text("an exported key, never code\n")
    assert run(["-C", str(lab), "run", "iris-logreg", "--no-register"]) == 0
    err = capsys.readouterr().err
    # (Which files: an untracked one made every run dirty, and the note did not say which.)
    assert "note: the working tree had uncommitted changes (README.md, alice.asc, from the repository's top)" in err
    assert "untracked files count too" in err
    assert read_yaml(runs_of(lab)[0] / "run.yaml")["code"]["dirty"] is True


def test_time_windows_reach_the_run_record(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(ROOT / "datasets" / "co2-weekly", lab / "datasets" / "co2-weekly")
    shutil.copy(ROOT / "experiments" / "co2-rise-gbm.yaml", lab / "experiments")
    edit_yaml(lab / "experiments/co2-rise-gbm.yaml", lambda d: d["model"]["params"].update(n_estimators=5))
    assert run(["-C", str(lab), "run", "co2-rise-gbm", "--no-register"]) == 0
    # --no-register says how to register the run later (running again would make another run).
    said = capsys.readouterr().out
    assert f"to register it later: `strataml model register run:{runs_of(lab)[0].name} --name " in said, said
    record = read_yaml(runs_of(lab)[0] / "run.yaml")
    assert record["split"]["windows"]["train"] == {"start": "1958-04-05", "end": "1989-12-31"}
    assert set(record["metrics"]) <= set(SklearnNames.METRICS)
    steps = json.loads((runs_of(lab)[0] / "summary/tracking.json").read_text())["metrics"]["train_stage_log_loss"]
    assert [s["step"] for s in steps] == [1, 2, 3, 4, 5]
    assert strict_findings(lab) == ()
    # The doctor's leakage rule checks the windows the run recorded.
    edit_yaml(runs_of(lab)[0] / "run.yaml", lambda d: d["split"]["windows"]["train"].update(end="1997-01-01"))
    assert "TFC0008-E006" in {f.code for f in engine.doctor(lab).findings}


@pytest.mark.parametrize("change,message", [
    (lambda d: d.update(plugin="nope"), "experiments/iris-logreg.yaml:5: unknown plugin 'nope'"),
    (lambda d: d.update(seed="x"), "seed: 'x' is not of type 'integer'"),
    (lambda d: d["data"].update(dataset="dataset:iris@2"), "refers to dataset:iris@2, which does not exist"),
    (lambda d: d["data"].update(target="colour"), "data.target 'colour' is not a column"),
    (lambda d: d["model"].update(type="svm"), "model.type 'svm' is not a model type plugin 'sklearn' trains"),
    (lambda d: d["model"]["params"].update(bogus=1), "model.params.bogus is not a parameter of LogisticRegression"),
    (lambda d: d["model"]["params"].update(max_iters=9), "model.params.max_iters is not a parameter of LogisticRegression (did you mean max_iter?)"),
    # A value scikit-learn refuses is found by its own check, without training (the run failed, and was recorded).
    (lambda d: d["model"]["params"].update(C=-1.0), "model.params: The 'C' parameter of LogisticRegression must be"),
    # A misspelt key and a bad value, said at once (the value was checked only once the key was fixed).
    (lambda d: d["model"]["params"].update(max_iters=9, C=-1.0), "model.params: The 'C' parameter of LogisticRegression must be"),
    (lambda d: d.update(split={"kind": "ratio", "train": 0.5, "val": 0.1, "test": 0.1}), "split ratios add up to 0.7"),
    (lambda d: d.update(gates=["test_f1 >= 0.9"]),
     "gate 'test_f1 >= 0.9' names test_f1, which plugin sklearn never writes (did you mean test_f1_macro?) [TFC0003-E004]"),
])
def test_bad_specs_are_refused_before_anything_is_written(lab: Path, capsys: pytest.CaptureFixture[str], change, message: str) -> None:
    edit_yaml(lab / "experiments/iris-logreg.yaml", change)
    # A spec with errors is refused (2); a plugin that is not installed means the tool cannot run (3).
    assert run(["-C", str(lab), "run", "iris-logreg"]) == (3 if "unknown plugin" in message else 2)
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert runs_of(lab) == [] and leftovers(lab) == []
    # --dry-run finds the same; its hint does not send the user to --dry-run.
    assert run(["-C", str(lab), "run", "iris-logreg", "--dry-run"]) == (3 if "unknown plugin" in message else 2)
    err = capsys.readouterr().err
    assert message in err and "--dry-run` checks" not in err, err


def test_a_changed_input_dataset_is_refused(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = lab / "datasets/iris/1/iris.csv"
    csv.write_text(csv.read_text().replace("setosa", "Setosa", 1))
    assert run(["-C", str(lab), "run", "iris-logreg"]) == 2
    assert "TFC0006-E002" in capsys.readouterr().err
    assert runs_of(lab) == []


@pytest.mark.parametrize("how", ["symlink", "changed"])
def test_a_policy_that_relaxes_the_doctor_cannot_make_a_run_read_other_data(
    lab: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    """A pull request's strataml.yaml turned the input's findings into warnings, so `run` (which
    refused only errors) trained on a file linked out of the repository, or on content its
    version does not record, and recorded it as the pinned input. Both are refused whatever
    the policy says, before anything is written (the dry run too)."""
    csv = lab / "datasets/iris/1/iris.csv"
    relaxed = {"TFC0006-E002": "warning", "TFC0006-E003": "warning", "TFC0006-E005": "warning"}
    edit_yaml(lab / "strataml.yaml", lambda d: d["doctor"].update(severity=relaxed))
    if how == "symlink":
        secret = tmp_path / "secret.csv"
        secret.write_text(csv.read_text().replace("setosa", "customer-1"))
        csv.unlink()
        csv.symlink_to(secret)
    else:
        csv.write_text(csv.read_text().replace("setosa", "Setosa", 1))
    for dry in ([], ["--dry-run"]):
        assert run(["-C", str(lab), "run", "iris-logreg", *dry]) == 2
        err = capsys.readouterr().err
        said = "symlink that leads out" if how == "symlink" else "does not hold what the version records"
        assert "datasets/iris/1/iris.csv" in err and said in err, err
        assert "Traceback" not in err
    assert not (lab / "runs").exists() or runs_of(lab) == []
    if how == "symlink":  # a link that stays in its record folder is one TFC-0006 allows: it is read
        csv.unlink()
        (csv.parent / "raw").mkdir()
        shutil.copy(ROOT / "datasets/iris/1/iris.csv", csv.parent / "raw/iris.csv")
        csv.symlink_to("raw/iris.csv")
        assert run(["-C", str(lab), "run", "iris-logreg", "--dry-run"]) == 0, capsys.readouterr().err


def test_a_plugin_that_raises_leaves_a_valid_failed_run(lab: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(plugin_module.BUILTIN, "boom", "plugins.boom:BoomPlugin")
    edit_yaml(lab / "experiments/iris-logreg.yaml", lambda d: (d.update(plugin="boom"), d.pop("gates")))
    assert run(["-C", str(lab), "run", "iris-logreg"]) == 2
    err = capsys.readouterr().err
    assert "failed: RuntimeError: the GPU caught fire" in err and "Traceback" not in err
    assert err.count("the GPU caught fire") == 1, err  # the outcome line alone, not a progress line too
    (folder,) = runs_of(lab)
    # What to do next: the failed run is a record, committed with the spec it ran.
    assert f"git add runs/{folder.name} experiments/iris-logreg.yaml && git commit -qm run:{folder.name}`." in err, err
    record = read_yaml(folder / "run.yaml")
    assert record["status"] == "failed" and record["error"] == {"type": "RuntimeError", "message": "the GPU caught fire"}
    assert "Traceback" in (folder / "errors/exception.txt").read_text()
    assert "data/partial.txt" in {a["path"] for a in record["artifacts"]}
    assert not (lab / "models/iris-classifier").exists()
    assert strict_findings(lab) == ()
    assert leftovers(lab) == []
    assert run(["-C", str(lab), "model", "register", record["ref"], "--name", "x"]) == 2
    assert "only succeeded runs can be registered" in capsys.readouterr().err


def test_a_plugin_s_long_message_is_cut_and_its_whole_text_kept(lab: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """scikit-learn's message for a continuous target listed every distinct value: ~4 KB on one
    line, in the terminal and in run.yaml."""
    monkeypatch.setitem(plugin_module.BUILTIN, "boom", "plugins.boom:BoomPlugin")

    def boom(self, spec, *, context):
        raise ValueError("Classes with too few members are: [" + ", ".join(f"'{i / 7:.2f}'" for i in range(900)) + "]")

    monkeypatch.setattr("plugins.boom.BoomPlugin.run", boom)
    edit_yaml(lab / "experiments/iris-logreg.yaml", lambda d: (d.update(plugin="boom"), d.pop("gates")))
    assert run(["-C", str(lab), "run", "iris-logreg"]) == 2
    err = capsys.readouterr().err
    assert max(map(len, err.splitlines())) < 1200 and "more characters" in err, err
    (folder,) = runs_of(lab)
    message = read_yaml(folder / "run.yaml")["error"]["message"]
    assert len(message) <= 1024 and message.startswith("Classes with too few members are: ['0.00'")
    assert "'128.43']" in (folder / "errors/exception.txt").read_text()  # the whole of it, with the traceback


def test_a_measurement_as_the_target_fails_saying_so(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A float column of measurements is no class label: the split refused it with its own list."""
    edit_yaml(lab / "experiments/iris-logreg.yaml", lambda d: (d["data"].update(target="sepal_length_cm"), d.pop("gates"),
                                                               d.pop("register", None)))
    assert run(["-C", str(lab), "run", "iris-logreg"]) == 2
    err = capsys.readouterr().err
    assert "data.target 'sepal_length_cm' is a float column with 35 distinct values (4.3, 4.4, 4.5, ...)" in err, err
    assert "name a column of classes as data.target" in err


@pytest.mark.parametrize("names,said", [
    (["data/.gitattributes"], "a name git reads as its own"),
    ([".GITIGNORE"], "a name git reads as its own"),
    ([".git/config"], "a name git reads as its own"),
    (["models\\weights.bin"], "uses a backslash"),
    (["notes.txt", "Notes.txt"], "one file where case does not count"),
    # Recorded, a control character is TFC0001-E008; a name that is not UTF-8 made a run.yaml
    # that did not load (its surrogate written as an escape no YAML reads).
    (["plots/class\tA.png"], "holds a control character (\\t)"),
    (["models/a\nb"], "holds a control character (\\n)"),
    ([os.fsdecode(b"models/\xff.bin")], "is not UTF-8"),
])
def test_a_plugin_that_writes_a_name_no_record_holds_records_no_run(
    lab: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], names: list[str], said: str
) -> None:
    """Each was recorded, and the doctor then rejected the run (TFC0006-E004, TFC0008-E004); a
    `* eol=crlf` in a run's .gitattributes passed where the run was made and failed every clone."""
    monkeypatch.setitem(plugin_module.BUILTIN, "boom", "plugins.boom:BoomPlugin")

    def writes(self, spec, *, context):
        for name in names:
            target = context.artifact_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("* eol=crlf\n")
        return plugin_module.RunResult(metrics={})

    monkeypatch.setattr("plugins.boom.BoomPlugin.run", writes)
    edit_yaml(lab / "experiments/iris-logreg.yaml", lambda d: (d.update(plugin="boom"), d.pop("gates")))
    assert run(["-C", str(lab), "run", "iris-logreg"]) == 3
    err = capsys.readouterr().err
    assert said in err and "nothing was recorded" in err, err
    assert runs_of(lab) == [] and leftovers(lab) == []


def test_a_plugin_that_leaves_a_symlink_records_no_run(lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Hashed through, the link pinned a file outside the run, and the run said it succeeded
    (exit 0) while the doctor rejected it (TFC0006-E005)."""
    secret = tmp_path / "outside.txt"
    secret.write_text("not the run's\n")
    monkeypatch.setenv("LINKY_TARGET", str(secret))
    monkeypatch.setitem(plugin_module.BUILTIN, "linky", "plugins.linky:LinkyPlugin")
    edit_yaml(lab / "experiments/iris-logreg.yaml", lambda d: (d.update(plugin="linky"), d.pop("gates")))
    assert run(["-C", str(lab), "run", "iris-logreg"]) == 3
    err = capsys.readouterr().err
    assert "the plugin 'linky' wrote a symbolic link 'data/input.txt' among the run's files" in err, err
    assert runs_of(lab) == [] and leftovers(lab) == []
    assert secret.read_text() == "not the run's\n"


def test_failing_gate_still_registers_with_fail_receipt(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # val_accuracy is a name the plugin declares, but no run writes it when the val split is empty.
    edit_yaml(lab / "experiments/iris-logreg.yaml", lambda d: d.update(
        gates=["test_accuracy >= 0.999", "val_accuracy > 0"], split={"kind": "ratio", "train": 0.7, "val": 0.0, "test": 0.3}))
    assert run(["-C", str(lab), "run", "iris-logreg", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["gate"] == "FAIL"
    gate = json.loads((lab / "models/iris-classifier/1/gate.json").read_text())
    assert gate["status"] == "FAIL" and [c["passed"] for c in gate["criteria"]] == [False, False]
    assert any("was not recorded" in r for r in gate["reasons"])
    assert read_yaml(lab / "models/iris-classifier/1/model.yaml")["gate"]["status"] == "FAIL"
    assert strict_findings(lab) == ()


def test_register_explicit_version_and_refusals(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["-C", str(lab), "run", "iris-logreg", "--no-register", "--format", "json"]) == 0
    ref = json.loads(capsys.readouterr().out)["run"]
    assert run(["-C", str(lab), "model", "register", ref, "--name", "flowers", "--version", "7"]) == 0
    assert (lab / "models/flowers/7/model.yaml").is_file()
    # Registered already, a version no ref can hold is still said (it answered "registered", exit 0).
    assert run(["-C", str(lab), "model", "register", ref, "--name", "flowers", "--version", "../x"]) == 3
    assert "'../x' is not a valid version" in capsys.readouterr().err
    assert run(["-C", str(lab), "model", "register", "run:nope", "--name", "flowers"]) == 3
    assert "no run run:nope" in capsys.readouterr().err
    assert run(["-C", str(lab), "run", "iris-logreg", "--no-register", "--format", "json"]) == 0
    other = json.loads(capsys.readouterr().out)["run"]
    assert run(["-C", str(lab), "model", "register", other, "--name", "flowers", "--version", "7"]) == 2
    assert "already exists" in capsys.readouterr().err
    # A name that folds onto an existing one is refused before anything is published.
    assert run(["-C", str(lab), "model", "register", other, "--name", "Flowers", "--version", "7"]) == 2
    err = capsys.readouterr().err
    assert "was not registered" in err and "models/flowers is the same name under case-folding" in err
    assert not (lab / "models/Flowers").exists()
    assert run(["-C", str(lab), "model", "register", other, "--name", "flowers"]) == 0
    assert (lab / "models/flowers/8/model.yaml").is_file()
    # A spec that registers the name spelled otherwise: said before it trains (registering
    # after the run was refused, the run recorded and its model not).
    edit_yaml(lab / "experiments/iris-logreg.yaml", lambda d: d.update(register={"model": "Flowers"}))
    runs = sorted(p.name for p in (lab / "runs").iterdir())
    for dry in (["--dry-run"], []):
        assert run(["-C", str(lab), "run", "iris-logreg", *dry]) == 2
        err = capsys.readouterr().err
        assert "registers model 'Flowers', and models/flowers is the same name under case-folding" in err, err
    assert sorted(p.name for p in (lab / "runs").iterdir()) == runs
    assert run(["-C", str(lab), "run", "iris-logreg", "--dry-run", "--no-register"]) == 0


BLOCKER = """
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in {blocked!r}:
            raise ImportError(f'No module named {{name!r}} (blocked for the test)')
sys.meta_path.insert(0, Block())
for name in {blocked!r}:
    sys.modules[name] = None
from strataml.cli.main import run
sys.exit(run(sys.argv[1:]))
"""
HEAVY = ["sklearn", "numpy", "scipy", "joblib", "matplotlib", "mlflow", "fastapi", "uvicorn", "pandas"]


def core_only(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    code = BLOCKER.format(blocked=HEAVY)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, cwd=ROOT)


def test_core_only_install_lists_plugins_and_names_the_extra(tmp_path: Path) -> None:
    listed = core_only("plugins", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    sklearn = next(p for p in json.loads(listed.stdout) if p["key"] == "sklearn")
    assert sklearn["installed"] is False and sklearn["extra"] == "sklearn"
    assert extra_hint("sklearn") in core_only("plugins").stdout
    example = copy_example(tmp_path / "example")  # never the checkout: the doctor writes its cache
    proc = core_only("-C", str(example), "run", "iris-logreg", "--dry-run")
    assert proc.returncode == 3 and "Traceback" not in proc.stderr
    assert extra_hint("sklearn") in proc.stderr
    doctor = core_only("-C", str(example), "doctor", "--strict")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr


@pytest.mark.parametrize("dry", [[], ["--dry-run"]])
def test_mlflow_uri_without_the_extra_is_a_clear_error(lab: Path, dry: list[str]) -> None:
    """The dry run says so too (an attacker found it planned a run that then stopped on it)."""
    code = BLOCKER.format(blocked=["mlflow"])
    proc = subprocess.run([sys.executable, "-c", code, "-C", str(lab), "run", "iris-logreg", *dry], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{lab}/mlflow.db"})
    assert proc.returncode == 3 and extra_hint("mlflow") in proc.stderr and "Traceback" not in proc.stderr
    assert runs_of(lab) == [] and leftovers(lab) == []


@pytest.mark.slow
def test_mlflow_tracking_with_a_real_sqlite_store(lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_extra("mlflow", "mlflow")
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "strataml-test")
    shutil.copytree(ROOT / "datasets" / "co2-weekly", lab / "datasets" / "co2-weekly")
    shutil.copy(ROOT / "experiments" / "co2-rise-gbm.yaml", lab / "experiments")
    edit_yaml(lab / "experiments/co2-rise-gbm.yaml", lambda d: d["model"]["params"].update(n_estimators=4))
    monkeypatch.chdir(tmp_path)  # MLflow puts artifacts for sqlite stores under ./mlruns
    assert run(["-C", str(lab), "run", "co2-rise-gbm", "--no-register"]) == 0
    record = read_yaml(runs_of(lab)[0] / "run.yaml")
    client = MlflowClient(uri)
    mlrun = client.get_run(record["tracking"]["mlflow_run_id"])
    assert record["tracking"]["mlflow_experiment"] == "strataml-test"
    assert mlrun.info.status == "FINISHED"
    assert mlrun.data.params["model.type"] == "gradient_boosting" and mlrun.data.params["seed"] == "11"
    assert mlrun.data.tags["purpose"] == "realdata" and mlrun.data.tags["strataml.run_id"] == record["ref"][4:]
    assert mlrun.data.metrics["test_roc_auc"] == pytest.approx(record["metrics"]["test_roc_auc"])
    history = client.get_metric_history(mlrun.info.run_id, "train_stage_log_loss")
    assert sorted(m.step for m in history) == [1, 2, 3, 4]
    top = {a.path for a in client.list_artifacts(mlrun.info.run_id)}
    assert {"data", "models", "metrics", "plots", "reports", "summary"} <= top
    assert {a.path for a in client.list_artifacts(mlrun.info.run_id, "plots")} >= {"plots/roc_curve.png"}


def test_a_csv_with_a_byte_order_mark_runs(lab: Path, tmp_path: Path) -> None:
    """Spreadsheets write a BOM first: `dataset add` and the plugin both read the first column's real name."""
    csv = tmp_path / "iris.csv"
    csv.write_bytes(b"\xef\xbb\xbf" + (lab / "datasets/iris/1/iris.csv").read_bytes())
    assert run(["-C", str(lab), "dataset", "add", "iris-bom", str(csv), "--version", "1"]) == 0
    spec = (lab / "experiments/iris-logreg.yaml").read_text()
    spec = spec.replace("iris-logreg", "iris-bom").replace("dataset:iris@1", "dataset:iris-bom@1")
    (lab / "experiments/iris-bom.yaml").write_text(spec.split("register:")[0])
    assert run(["-C", str(lab), "run", "iris-bom", "--format", "json"]) == 0
    (record,) = [read_yaml(r / "run.yaml") for r in runs_of(lab)]
    assert record["status"] == "succeeded" and "test_accuracy" in record["metrics"]


def test_labels_with_dollars_and_fields_past_csv_s_own_limit_run(lab: Path, tmp_path: Path) -> None:
    """Class labels between two '$' were drawn as mathtext and failed the run after training; a
    field past csv's default 128 Ki characters, which `dataset add` takes, failed it too."""
    csv = tmp_path / "pay.csv"
    rows = ["x,note,y"] + [f"{i},{'n' * 200_000 if i == 0 else 'short'},{'pay $x_1_2$ more' if i % 2 else 'b'}"
                           for i in range(40)]
    csv.write_text("\n".join(rows) + "\n")
    assert run(["-C", str(lab), "dataset", "add", "pay", str(csv), "--version", "1", "--target", "y"]) == 0
    (lab / "experiments/pay.yaml").write_text(
        "schema: strataml/experiment/v1\nname: pay\nplugin: sklearn\n"
        "data: {dataset: 'dataset:pay@1', target: y, features: [x]}\n"
        "model: {type: logistic_regression}\nseed: 1\n")
    assert run(["-C", str(lab), "run", "pay", "--format", "json"]) == 0
    (record,) = [read_yaml(r / "run.yaml") for r in runs_of(lab)]
    assert record["status"] == "succeeded", record.get("error")


@pytest.mark.parametrize(("change", "said"), [
    (lambda d: d.update(tags={"mlflow.user": "ceo@example.org"}), "tags.mlflow.user: the mlflow. tags are MLflow's own"),
    (lambda d: d.update(tags={"strataml.run_id": "x"}), "tags.strataml.run_id: the strataml. tags are StrataML's own"),
    (lambda d: d.update(seed=2**40), "the largest seed scikit-learn takes"),
])
def test_a_spec_the_run_would_fail_on_late_is_refused_before_it(
    lab: Path, capsys: pytest.CaptureFixture[str], change, said: str
) -> None:
    """A seed scikit-learn cannot take failed the run once started; spec tags named like MLflow's
    own (mlflow.user, mlflow.source.git.commit) or StrataML's overwrote them in MLflow."""
    edit_yaml(lab / "experiments/iris-logreg.yaml", change)
    assert run(["-C", str(lab), "run", "iris-logreg", "--dry-run"]) == 2
    assert said in capsys.readouterr().err
    assert not (lab / "runs").exists() or runs_of(lab) == []


def test_gates_are_checked_against_what_an_installed_plugin_declares(lab: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = lab / "experiments/iris-logreg.yaml"
    edit_yaml(spec, lambda d: d.update(plugin="boom", gates=["train_loss <= 1"]))

    def found() -> list[tuple[str, str]]:
        report = engine.doctor(lab)
        return [(f.code, f.message) for f in report.findings if f.path == "experiments/iris-logreg.yaml"]

    # Not installed here: said, not silently passed.
    assert found() == [("TFC0003-I001", "gate metrics not checked: plugin 'boom' is not installed where the doctor runs")]
    monkeypatch.setitem(plugin_module.BUILTIN, "boom", "plugins.boom:BoomPlugin")
    assert found() == [("TFC0003-I001", "gate metrics not checked: plugin 'boom' declares no metric names")]
    declared = plugin_module.PluginInfo(key="boom", version="1", description="", metrics=("train_loss",))
    monkeypatch.setattr("plugins.boom.BoomPlugin.info", declared)
    assert found() == []
    edit_yaml(spec, lambda d: d.update(gates=["train_loss <= 1", "test_accuracy > 0.5"]))
    assert found() == [("TFC0003-E004", "gate 'test_accuracy > 0.5' names test_accuracy, which plugin boom never writes")]
    # The verdict follows what is installed: a report that depended on it is never reused as is.
    assert engine.doctor(lab).volatile


def test_a_model_type_the_plugin_does_not_train_fails_the_gate_as_run_refuses_it(
    lab: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by a new user: `doctor --strict` passed `model.type: logistic_regresion`, which
    `strataml run` refused; the pull request merged a spec that never runs."""
    spec = lab / "experiments/iris-logreg.yaml"
    edit_yaml(spec, lambda d: d["model"].update(type="logistic_regresion"))

    def found() -> list[tuple[str, str]]:
        return [(f.code, f.message) for f in engine.doctor(lab).findings if f.path == "experiments/iris-logreg.yaml"]

    said = "model.type 'logistic_regresion' is not a model type plugin 'sklearn' trains (did you mean 'logistic_regression'?)"
    assert found() == [("TFC0003-E006", said)]
    assert run(["-C", str(lab), "run", "iris-logreg", "--dry-run"]) == 2
    assert "[TFC0003-E006]" in capsys.readouterr().err
    # Another plugin's types are what its PluginInfo declares; undeclared or unusable, not judged.
    monkeypatch.setitem(plugin_module.BUILTIN, "boom", "plugins.boom:BoomPlugin")
    edit_yaml(spec, lambda d: d.update(plugin="boom"))
    for models, codes in ((None, []), ("tree", []), ((), []), (("tree", 3), []), (("tree", "forest"), ["TFC0003-E006"])):
        info = plugin_module.PluginInfo(key="boom", version="1", description="", metrics=("x",), models=models)  # type: ignore[arg-type]
        monkeypatch.setattr("plugins.boom.BoomPlugin.info", info)
        assert [code for code, _ in found() if code == "TFC0003-E006"] == codes, models
    edit_yaml(spec, lambda d: d["model"].update(type="forest"))
    assert [code for code, _ in found() if code == "TFC0003-E006"] == []


@pytest.mark.parametrize("metrics,why", [
    (5, "declares its metric names unusably (int)"),
    ("train_loss", "declares its metric names unusably (str)"),
    ((), "declares its metric names unusably (tuple)"),
    (("train_loss", 3, None), "declares metric names that are not all text"),
])
def test_a_plugin_declaring_unusable_metric_names_is_reported_not_trusted(
    lab: Path, monkeypatch: pytest.MonkeyPatch, metrics, why: str
) -> None:
    monkeypatch.setitem(plugin_module.BUILTIN, "boom", "plugins.boom:BoomPlugin")
    monkeypatch.setattr("plugins.boom.BoomPlugin.info", plugin_module.PluginInfo(key="boom", version="1", description="", metrics=metrics))
    edit_yaml(lab / "experiments/iris-logreg.yaml", lambda d: d.update(plugin="boom", gates=["train_loss <= 1"]))
    found = [(f.code, f.message) for f in engine.doctor(lab).findings if f.path == "experiments/iris-logreg.yaml"]
    assert found == [("TFC0003-I001", f"gate metrics not checked: plugin 'boom' {why}")]


def test_a_plugin_that_exits_or_prints_on_import_neither_stops_nor_garbles_the_doctor(
    lab: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(plugin_module.BUILTIN, "exits", "plugins.exits:Plugin")
    monkeypatch.setitem(plugin_module.BUILTIN, "noisy", "plugins.noisy:NoisyPlugin")
    shutil.copy(lab / "experiments/iris-logreg.yaml", lab / "experiments/other.yaml")
    edit_yaml(lab / "experiments/iris-logreg.yaml", lambda d: d.update(plugin="exits", gates=["train_loss <= 1"]))
    edit_yaml(lab / "experiments/other.yaml", lambda d: d.update(name="other", plugin="noisy", gates=["train_loss <= 1", "test_loss <= 1"],
                                                            register={"model": "other"}))
    assert run(["-C", str(lab), "doctor", "--format", "json"]) == 2
    out, err = capsys.readouterr()
    report = json.loads(out)  # the plugin's print went to stderr, not into the report
    assert "noisy plugin says hello" in err
    found = {(f["code"], f["path"], f["message"]) for f in report["findings"] if f["code"].startswith("TFC0003")}
    assert found == {
        ("TFC0003-I001", "experiments/iris-logreg.yaml", "gate metrics not checked: plugin 'exits' cannot be loaded here (SystemExit: 7)"),
        ("TFC0003-E004", "experiments/other.yaml", "gate 'test_loss <= 1' names test_loss, which plugin noisy never writes (did you mean train_loss?)"),
    }


def test_a_plugin_value_the_schema_refuses_gets_the_schema_error_alone(lab: Path) -> None:
    for bad in ("", "Sklearn", "sklearn\n", "x" * 65):
        edit_yaml(lab / "experiments/iris-logreg.yaml", lambda d, bad=bad: d.update(plugin=bad))
        codes = [f.code for f in engine.doctor(lab).findings if f.path == "experiments/iris-logreg.yaml"]
        assert codes == ["TFC0003-E002"], (bad, codes)


def test_an_installed_package_cannot_take_over_a_built_in_plugin_key(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    fake = importlib.metadata.EntryPoint("sklearn", "fakeplug:Good", plugin_module.GROUP)
    other = importlib.metadata.EntryPoint("other", "fakeplug:Other", plugin_module.GROUP)
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [fake, other])
    assert plugin_module.discover() == {"other": "fakeplug:Other", "sklearn": "strataml.plugins.sklearn:SklearnPlugin"}


def test_the_plan_says_when_no_model_will_be_registered(lab: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["-C", str(lab), "run", "iris-logreg", "--dry-run", "--no-register", "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["register"] is None and plan["not_registered"] == "--no-register was given"
    monkeypatch.setenv("STRATAML_ARTIFACT_ROOT", str(tmp_path / "scratch"))
    assert run(["-C", str(lab), "run", "iris-logreg", "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "register model" not in text and "  no model registered: STRATAML_ARTIFACT_ROOT put the run outside the workspace" in text


@pytest.mark.parametrize(
    ("root", "said"),
    [
        ("scratch", "is not an absolute path"),  # (from the folder one stands in: experiments/scratch/runs)
        ("{lab}/scratch", "is inside the workspace (scratch)"),
        ("{tmp}/no/such/folder", "does not exist"),  # (a typo never makes a tree of folders)
        # A link into the workspace (models/runs/ID written), and another workspace (its runs/runs/ID).
        ("{tmp}/link-to-models", "is inside the workspace (models)"),
        ("{tmp}/other/runs", "is inside another workspace"),
        ("{tmp}/other/scratch/new", "is inside another workspace"),
    ],
)
def test_an_artifact_root_that_would_misplace_runs_is_refused_before_anything_runs(
    lab: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], root: str, said: str
) -> None:
    (tmp_path / "link-to-models").symlink_to(lab / "models")
    assert run(["init", str(tmp_path / "other")]) == 0
    (tmp_path / "other/scratch").mkdir()
    monkeypatch.setenv("STRATAML_ARTIFACT_ROOT", root.format(lab=lab, tmp=tmp_path))
    monkeypatch.chdir(lab / "experiments")
    before = sorted(p.relative_to(lab) for p in lab.rglob("*"))
    assert run(["run", "iris-logreg"]) == 3
    assert said in capsys.readouterr().err
    assert sorted(p.relative_to(lab) for p in lab.rglob("*")) == before and not (tmp_path / "no").exists()
    assert not (tmp_path / "other/runs/runs").exists() and not (tmp_path / "other/scratch/new").exists()


def test_a_plugin_that_fails_to_load_is_named_not_an_internal_error(lab: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(plugin_module.BUILTIN, "exits", "plugins.exits:Plugin")
    edit_yaml(lab / "experiments/iris-logreg.yaml", lambda d: (d.update(plugin="exits"), d.pop("gates")))
    assert run(["-C", str(lab), "run", "iris-logreg", "--dry-run"]) == 3
    err = capsys.readouterr().err
    assert "plugin 'exits' cannot be loaded (SystemExit: 7)" in err and "internal error" not in err
    assert runs_of(lab) == []


def test_a_refused_registration_names_the_recorded_run_and_how_to_register_it(
    lab: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = read_yaml(lab / "experiments/iris-logreg.yaml")["register"]["model"]
    (tmp_path / "elsewhere").mkdir()
    (lab / "models").mkdir(exist_ok=True)
    (lab / "models" / model).symlink_to(tmp_path / "elsewhere")
    assert run(["-C", str(lab), "run", "iris-logreg"]) == 3
    err = capsys.readouterr().err
    [recorded] = runs_of(lab)  # (running again would make a second run of the same spec)
    assert f"the run is recorded in runs/{recorded.name}" in err, err
    assert f"`strataml model register run:{recorded.name} --name {model}`" in err
    assert list((tmp_path / "elsewhere").iterdir()) == []


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda lines: lines[:5] + ["5.0,3.6"] + lines[6:], "iris.csv:6: row has 2 fields, the header has 5"),
        (lambda lines: [lines[0].replace("species", "kind"), *lines[1:]], "iris.csv: its header has no column 'species'"),
        (lambda lines: [lines[0], "abc," + lines[1].split(",", 1)[1], *lines[2:]], "iris.csv:2: column 'sepal_length_cm' holds 'abc', not a number"),
        (lambda lines: ["\udcff" + lines[0], *lines[1:]], "iris.csv is not UTF-8 text (byte 0 is not)"),
    ],
)
def test_a_dataset_file_that_is_not_what_its_version_records_fails_the_run_naming_file_and_line(
    lab: Path, capsys: pytest.CaptureFixture[str], change, said: str
) -> None:
    """Found by an attacker: a CSV re-pinned by hand after an edit `dataset add` would refuse
    passes the doctor (it checks the bytes pinned), and the run failed with Python's words
    (`TypeError: float() argument must be ... not 'NoneType'`, `KeyError: 'y'`)."""
    import hashlib

    from strataml.hashing import dataset_digest

    folder = lab / "datasets/iris/1"
    text = (folder / "iris.csv").read_text()
    data = "\n".join(change(text.split("\n"))).encode("utf-8", "surrogateescape")
    (folder / "iris.csv").write_bytes(data)

    def repin(d: dict) -> None:
        d["files"][0].update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
        d["digest"] = dataset_digest([(f["path"], f["sha256"]) for f in d["files"]])

    edit_yaml(folder / "dataset.yaml", repin)
    assert run(["-C", str(lab), "run", "iris-logreg", "--no-register"]) == 2
    err = capsys.readouterr().err
    assert f"failed: ValueError: datasets/iris/1/{said}" in err and "Traceback" not in err, err


def test_registration_failing_for_the_file_system_still_names_the_recorded_run(
    lab: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by an attacker: an unwritable models/ after a successful run said only "cannot
    access models/NAME", not that the run is recorded, nor how to register it once fixed."""
    import strataml.models

    def unwritable(*_a: object, **_k: object) -> None:
        raise PermissionError(13, "Permission denied", "models/iris-classifier")

    monkeypatch.setattr(strataml.models, "register", unwritable)
    assert run(["-C", str(lab), "run", "iris-logreg"]) == 3
    err = capsys.readouterr().err
    [recorded] = runs_of(lab)
    assert f"the run succeeded and is recorded in runs/{recorded.name}, but its model was not registered" in err, err
    assert "cannot write models/iris-classifier: Permission denied" in err and "strataml model register run:" in err


def test_an_input_that_is_a_git_lfs_pointer_is_refused_before_it_is_read_as_the_table(lab: Path) -> None:
    """A clone without `git lfs pull`: the doctor verifies the recorded sha256 by the pointer
    (TFC0006-I010), but the plugin would read its three lines as the table."""
    import hashlib

    from strataml.errors import StrataError
    from strataml.runner.spec import _refuse_pointer
    from strataml.workspace import load, walk

    csv = lab / "datasets/iris/1/iris.csv"
    data = csv.read_bytes()
    csv.write_text(f"version https://git-lfs.github.com/spec/v1\noid sha256:{hashlib.sha256(data).hexdigest()}\nsize {len(data)}\n")
    ws = load(lab, None, walk(lab))
    with pytest.raises(StrataError) as caught:
        _refuse_pointer(ws, "datasets/iris/1/iris.csv", len(data))
    assert "datasets/iris/1/iris.csv is a Git LFS pointer" in caught.value.message
    assert caught.value.hint and "git lfs pull --include datasets/iris/1/iris.csv" in caught.value.hint
    csv.write_bytes(data)
    _refuse_pointer(load(lab, None, walk(lab)), "datasets/iris/1/iris.csv", len(data))  # (the content: nothing to say)


def test_a_spec_that_is_a_symlink_or_a_slip_is_named_for_what_it_is(
    lab: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path / "spec.yaml"
    elsewhere.write_bytes((lab / "experiments/iris-logreg.yaml").read_bytes())
    (lab / "experiments/linked.yaml").symlink_to(elsewhere)
    assert run(["-C", str(lab), "run", "experiments/linked.yaml"]) == 3
    assert "experiments/linked.yaml is a symlink, not a regular file" in capsys.readouterr().err
    assert run(["-C", str(lab), "run", "iris-logreg2"]) == 3
    assert "did you mean iris-logreg?" in capsys.readouterr().err


def test_registering_a_run_whose_model_is_a_git_lfs_pointer_says_so(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import hashlib

    assert run(["-C", str(lab), "run", "iris-logreg", "--no-register"]) == 0
    [folder] = runs_of(lab)
    record = read_yaml(folder / "run.yaml")
    model = next(a for a in record["artifacts"] if a["path"].startswith("models/"))
    path = folder / model["path"]
    data = path.read_bytes()
    path.write_text(f"version https://git-lfs.github.com/spec/v1\noid sha256:{hashlib.sha256(data).hexdigest()}\nsize {len(data)}\n")
    capsys.readouterr()
    assert run(["-C", str(lab), "model", "register", f"run:{folder.name}", "--name", "m"]) == 3
    err = capsys.readouterr().err
    # (It said the run was changed after it ran: the content is only not downloaded.)
    assert f"runs/{folder.name}/{model['path']} is a Git LFS pointer" in err and "git lfs pull --include" in err, err
    assert not (lab / "models/m").exists()


def test_a_plugin_s_problems_name_the_spec_s_line(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The doctor's problems said `file:line:`; the plugin's said neither (`- model.type 'x' ...`)."""
    spec = lab / "experiments/iris-logreg.yaml"
    edit_yaml(spec, lambda d: (d["model"].update(type="random_forrest")))
    line = next(n for n, text in enumerate(spec.read_text().splitlines(), 1) if "random_forrest" in text)
    assert run(["-C", str(lab), "run", "iris-logreg", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert f"- experiments/iris-logreg.yaml:{line}: model.type 'random_forrest' is not a model type" in err, err
    edit_yaml(spec, lambda d: (d["model"].update(type="logistic_regression"), d["model"]["params"].update(bogus=1)))
    line = next(n for n, text in enumerate(spec.read_text().splitlines(), 1) if "bogus" in text)
    assert run(["-C", str(lab), "run", "iris-logreg", "--dry-run"]) == 2
    assert f"experiments/iris-logreg.yaml:{line}: model.params.bogus is not a parameter" in capsys.readouterr().err


def test_a_metric_that_is_nan_is_left_out_and_the_model_still_registers(
    lab: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plugin's NaN metric reached run_summary.json, which is no JSON; the stricter reading made
    the registration fail on a file StrataML wrote itself."""
    from strataml.plugins.sklearn import plugin as sk

    real = sk.SklearnPlugin.run

    def with_nan(self, spec, context):  # type: ignore[no-untyped-def]
        result = real(self, spec, context=context)
        result.metrics["test_ece"] = float("nan")
        return result

    monkeypatch.setattr(sk.SklearnPlugin, "run", with_nan)
    assert run(["-C", str(lab), "run", "iris-logreg"]) == 0
    assert "metric test_ece is nan, which a run record cannot hold: left out" in capsys.readouterr().err
    (record,) = [read_yaml(r / "run.yaml") for r in runs_of(lab)]
    assert "test_ece" not in record["metrics"] and (lab / "models/iris-classifier/1/model.yaml").exists()
    assert "NaN" not in (runs_of(lab)[0] / "summary/run_summary.json").read_text()
    assert strict_findings(lab) == ()


def test_a_model_that_trains_in_stages_says_how_far_it_is(lab: Path) -> None:
    """A boosting run of 400 stages on 140k rows trained for ten minutes saying one line."""
    import numpy as np

    from strataml.plugins.sklearn import train
    from strataml.plugins.sklearn.config import Config
    from strataml.plugins.sklearn.data import Data

    said: list[str] = []

    class Log:
        def info(self, message: str, *args: object) -> None:
            said.append(message % args)

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2)).astype(object)
    y = np.asarray(["a", "b"] * 30)
    data = Data(X, y, [{"name": "x1", "type": "float"}, {"name": "x2", "type": "float"}], [], None, {})
    cfg = Config("gradient_boosting", {"n_estimators": 20}, "y", ("x1", "x2"))

    class Tracking:
        def log_metric(self, *args: object, **kwargs: object) -> None:
            pass

    train.fit(train.build(cfg, data), data, {"train": np.arange(60)}, Tracking(), Log(), every=0)
    assert said == [f"stage {n} of 20 ({5 * n}%)" for n in range(2, 20, 2)], said
    said.clear()
    train.fit(train.build(cfg, data), data, {"train": np.arange(60)}, Tracking(), Log())  # quick: nothing said
    assert said == []


def test_a_model_that_does_not_train_in_stages_says_it_is_still_training() -> None:
    """A long fit of a random forest or a logistic regression said nothing until it ended: it now
    says how long it has been training (it cannot say how far it is), and nothing once it ended."""
    import threading
    import time

    require_extra("sklearn", "sklearn")
    import numpy as np

    from strataml.plugins.sklearn import train

    said: list[str] = []
    spoke = threading.Event()

    class Log:
        def info(self, message: str, *args: object) -> None:
            said.append(message % args)
            spoke.set()

    class Model:  # no staged_predict_proba: trains in one go
        pass

    class Pipeline:
        def __init__(self) -> None:
            self.named_steps = {"model": Model()}

        def fit(self, X: object, y: object) -> None:
            assert spoke.wait(30), "the fit went by with nothing said"

    data = type("D", (), {"X": np.zeros((4, 1)), "y": np.zeros(4)})()
    train.fit(Pipeline(), data, {"train": np.arange(4)}, None, Log(), every=0)
    assert said and said[0] == "still training (0 s so far)", said
    count = len(said)
    time.sleep(1.2)
    assert len(said) == count  # (the ticker stopped with the fit)
    assert [train._spent(s) for s in (5, 61, 3725)] == ["5 s", "1 min 1 s", "1 h 2 min"]


def _plugin_runs(monkeypatch: pytest.MonkeyPatch, lab: Path, body) -> None:
    monkeypatch.setitem(plugin_module.BUILTIN, "boom", "plugins.boom:BoomPlugin")
    monkeypatch.setattr("plugins.boom.BoomPlugin.run", lambda self, spec, *, context: body(context))
    edit_yaml(lab / "experiments/iris-logreg.yaml", lambda d: (d.update(plugin="boom"), d.pop("gates")))


def test_a_plugin_that_exits_records_a_failed_run(lab: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """sys.exit(4) in a plugin's run ended the command with code 4, no message, nothing recorded."""
    codes = iter([4, "bad config"])

    def body(context):
        raise SystemExit(next(codes))

    _plugin_runs(monkeypatch, lab, body)
    for said in ("the plugin exited (code 4)", "the plugin exited: bad config"):
        assert run(["-C", str(lab), "run", "iris-logreg"]) == 2
        folder = runs_of(lab)[-1]
        record = read_yaml(folder / "run.yaml")
        assert record["status"] == "failed" and record["error"] == {"type": "SystemExit", "message": said}
        assert said in capsys.readouterr().err
        shutil.rmtree(folder)


@pytest.mark.parametrize("value,recorded", [
    ("numpy32", 0.9), ("numpy32long", 0.1234567), ("numpy64", 0.9), ("numpy64int", 3), ("text", None), ("bool", None),
])
def test_a_plugin_metric_is_a_number_or_the_plugin_failed(lab: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str], value: str,
                                                          recorded: float | None) -> None:
    """numpy scalars were an internal error (not JSON), text or a boolean one too (the record broke
    its schema): exit 3, the trained run thrown away, StrataML blamed."""
    import numpy as np

    # (float32's 0.9 is 0.8999999761581421 as a double, and a gate `>= 0.9` failed on it.)
    given = {"numpy32": np.float32(0.9), "numpy32long": np.float32(0.1234567), "numpy64": np.float64(0.9), "numpy64int": np.int64(3), "text": "0.9",
             "bool": True}[value]

    def body(context):
        return plugin_module.RunResult(metrics={"test_accuracy": given})

    _plugin_runs(monkeypatch, lab, body)
    with np.printoptions(legacy="1.13", precision=3):  # (a plugin's print options change no value recorded)
        code = run(["-C", str(lab), "run", "iris-logreg", "--no-register"])
    err = capsys.readouterr().err
    assert "internal error" not in err, err
    [folder] = runs_of(lab)
    record = read_yaml(folder / "run.yaml")
    if recorded is None:
        assert code == 2 and record["status"] == "failed", err
        assert "the plugin returned metric test_accuracy as" in record["error"]["message"] and "not a number" in err
    else:
        assert code == 0 and record["metrics"] == {"test_accuracy": recorded}
        assert type(record["metrics"]["test_accuracy"]) is type(recorded)


def test_an_mlflow_server_nothing_answers_at_stops_the_run_at_once(lab: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """MLflow's client retried a refused connection for four minutes in silence, then the run
    ended as an internal error."""
    import socket
    import time

    require_extra("mlflow", "mlflow")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # (closed: nothing listens there)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    start = time.monotonic()
    assert run(["-C", str(lab), "run", "synthetic-logreg"]) == 3
    assert time.monotonic() - start < 60  # (a bound far above a refusal's milliseconds, not a speed goal)
    err = capsys.readouterr().err
    assert f"MLFLOW_TRACKING_URI=http://127.0.0.1:{port}: no tracking server answers there" in err, err
    assert "unset it to record the run in runs/ alone" in err and "internal error" not in err
    assert not (lab / "runs").exists() or runs_of(lab) == []
    assert leftovers(lab) == []


@pytest.mark.slow
@pytest.mark.parametrize("failure", ["refused", "gone"])
def test_mlflow_failing_during_a_run_leaves_the_run_recorded(lab: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str], failure: str) -> None:
    """A tracking call that failed mid-run failed the plugin, and MLflow's error on ending the run
    then discarded the trained run (an internal error, exit 3). A value MLflow refuses (a metric
    name it does not take) is that value lost from its copy; a server gone is the rest of it."""
    require_extra("mlflow", "mlflow")
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)

    def body(context):
        context.tracking.log_metric("train_loss", 0.5, step=1)
        if failure == "refused":
            context.tracking.log_metric("bad name!?", 0.1, step=1)  # MLflow refuses the name
            context.tracking.log_params({"alpha": 1, "beta@x": 2, "gamma": 3})  # (gamma was lost with beta@x)
            context.tracking.set_tags({"ok1": "a", "bad?tag": "b", "ok2": "c"})
        else:  # (the server went away: what the client raises then carries no MLflow error code)
            monkeypatch.setattr(context.tracking.mlflow.client, "log_metric",
                                lambda *a, **k: (_ for _ in ()).throw(ConnectionError("Max retries exceeded")))
        context.tracking.log_metric("train_loss", 0.25, step=2)
        return plugin_module.RunResult(metrics={"test_accuracy": 0.9})

    _plugin_runs(monkeypatch, lab, body)
    assert run(["-C", str(lab), "run", "iris-logreg", "--no-register"]) == 0
    err = capsys.readouterr().err
    assert "internal error" not in err
    [folder] = runs_of(lab)
    record = read_yaml(folder / "run.yaml")
    assert record["status"] == "succeeded" and record["metrics"] == {"test_accuracy": 0.9}
    local = json.loads((folder / "summary/tracking.json").read_text())
    assert [p["value"] for p in local["metrics"]["train_loss"]] == [0.5, 0.25]
    client = MlflowClient(uri)
    mlrun = client.get_run(record["tracking"]["mlflow_run_id"])
    history = [m.value for m in client.get_metric_history(mlrun.info.run_id, "train_loss")]
    if failure == "refused":
        assert "MLflow refused a value" in err and history == [0.5, 0.25] and mlrun.info.status == "FINISHED"
        assert {"alpha", "gamma"} <= set(mlrun.data.params) and {"ok1", "ok2"} <= set(mlrun.data.tags)
    else:
        assert "MLflow tracking failed (Max retries exceeded)" in err and "recorded in its folder" in err
        assert history == [0.5]  # (MLflow's copy stops where it failed)


def test_what_a_plugin_prints_while_training_goes_to_stderr(lab: Path, strataml_exe: list[str]) -> None:
    """scikit-learn's verbose training table (print, and a native library's writes to the
    descriptor alike) came before the JSON on stdout, which then did not parse."""
    shutil.copytree(ROOT / "datasets" / "co2-weekly", lab / "datasets" / "co2-weekly")
    shutil.copy(ROOT / "experiments" / "co2-rise-gbm.yaml", lab / "experiments")
    edit_yaml(lab / "experiments/co2-rise-gbm.yaml", lambda d: d["model"]["params"].update(n_estimators=3, verbose=1))
    for args in (["--dry-run"], ["--no-register"]):
        proc = subprocess.run([*strataml_exe, "-C", str(lab), "run", "co2-rise-gbm", "--format", "json", *args],
                              capture_output=True, text=True, timeout=240)
        assert proc.returncode == 0, proc.stderr
        json.loads(proc.stdout)  # one JSON document, nothing before it
    assert "Iter" in proc.stderr and "Train Loss" in proc.stderr


def test_a_plugin_that_prints_on_import_leaves_plugins_json_whole(tmp_path: Path) -> None:
    plugins_dir = Path(__file__).parent / "plugins"
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from strataml.runner import plugin as p; "
        "p.BUILTIN['noisy'] = 'plugins.noisy:NoisyPlugin'; p.BUILTIN['exits'] = 'plugins.exits:Plugin'; "
        "from strataml.cli.main import run; raise SystemExit(run(['plugins', '--format', 'json']))"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(plugins_dir.parent)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = {r["key"]: r for r in json.loads(proc.stdout)}
    assert rows["noisy"]["version"] == "1" and "noisy plugin says hello" in proc.stderr
    assert rows["exits"]["installed"] is False and rows["exits"]["description"].startswith("cannot load")


@pytest.mark.parametrize("uri,where,said", [
    ("sqlite:///mlflow.db", "experiments", "experiments/mlflow.db"),
    ("mlruns", "experiments", "experiments/mlruns"),
    # A database named from / or at the top: MLflow still keeps artifacts in ./mlruns.
    ("sqlite:////{tmp}/abs.db", "experiments", "experiments/mlruns"),
    ("sqlite:///../mlflow.db", "experiments", "experiments/mlruns"),
    ("sqlite:///experiments/mlflow.db", "", "experiments/mlflow.db"),
    ("sqlite+pysqlite:///mlflow.db", "experiments", "experiments/mlflow.db"),  # (a driver named: the same store)
    ("postgresql://db.invalid/mlflow", "experiments", "experiments/mlruns"),  # (artifacts in ./mlruns still)
    ("sqlite:///{lab}/experiments/m%20b.db", "", "experiments/m b.db"),  # (%20 is a space to SQLAlchemy)
])
def test_a_local_mlflow_store_that_would_write_inside_the_workspace_is_refused(
    lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    uri: str, where: str, said: str
) -> None:
    """.env.example's sqlite:///mlflow.db, run from experiments/, wrote experiments/mlflow.db and
    experiments/mlruns/: two stray entries the doctor rejects (TFC0001-E002). The plan says so too."""
    require_extra("mlflow", "mlflow")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri.format(tmp=str(tmp_path).lstrip("/"), lab=str(lab)))
    monkeypatch.chdir(lab / where)
    before = sorted(p.relative_to(lab) for p in lab.rglob("*"))
    for extra in (["--dry-run"], []):
        assert run(["run", "synthetic-logreg", "--no-register", *extra]) == 3
        err = capsys.readouterr().err
        assert f"MLflow would write {said} inside the workspace" in err and "nothing ran" in err, err
    assert sorted(p.relative_to(lab) for p in lab.rglob("*")) == before


def test_a_spec_whose_run_record_would_pass_the_metadata_caps_is_refused_before_it_runs(
    lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by an attacker: a 2.2 MB tag of quotes passed the doctor and the dry run; the run
    trained and wrote a 4.4 MB run.yaml (YAML doubles each quote) the doctor failed (TFC0001-E101),
    a finished run no one may edit."""
    spec = lab / "experiments/iris-logreg.yaml"
    edit_yaml(spec, lambda d: d.pop("tags", None))
    spec.write_text(spec.read_text() + 'tags:\n  note: "' + "'" * 2_200_000 + '"\n')  # (2.2 MB as written)
    before = sorted(p.name for p in (lab / "runs").iterdir())
    for extra in (["--dry-run"], []):
        assert run(["-C", str(lab), "run", "iris-logreg", *extra]) == 2
        err = capsys.readouterr().err
        assert "its params, tags and gates make 4,400," in err and "past what a metadata file may hold" in err, err
    assert sorted(p.name for p in (lab / "runs").iterdir()) == before


def test_a_synthetic_spec_with_more_features_than_a_dataset_holds_is_refused_before_it_runs(
    lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found in a review: n_features 60,000 ran, and its run.yaml listed each feature, past the
    metadata cap on nodes (TFC0001-E110)."""
    edit_yaml(lab / "experiments/synthetic-logreg.yaml",
              lambda d: d["data"]["synthetic"].update(n_features=60_000, n_samples=10))
    assert run(["-C", str(lab), "run", "synthetic-logreg", "--dry-run"]) == 2
    assert "data.synthetic.n_features is 60,000, past the 4,096 columns a dataset holds" in capsys.readouterr().err
    assert runs_of(lab) == []


@pytest.mark.parametrize("through", ["a folder", "a committed link"])
def test_an_mlflow_experiment_keeping_its_artifacts_inside_the_workspace_is_refused(
    lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], through: str
) -> None:
    """Found by an attacker: an experiment made once from experiments/ (a notebook there) keeps
    its artifacts in experiments/mlruns/, and MLflow wrote the run's there from the workspace's
    top; through a link a commit put there, outside the repository."""
    require_extra("mlflow", "mlflow")
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    outside = tmp_path / "outside"
    outside.mkdir()
    if through == "a committed link":
        (lab / "experiments/mlruns").symlink_to(outside)
    MlflowClient(uri).create_experiment("kept-here", artifact_location=str(lab / "experiments/mlruns"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "kept-here")
    monkeypatch.chdir(lab)
    before = sorted(p.relative_to(lab) for p in lab.rglob("*"))
    assert run(["run", "synthetic-logreg", "--no-register"]) == 3
    err = capsys.readouterr().err
    assert "MLflow experiment 'kept-here' keeps its artifacts in" in err and "nothing ran" in err, err
    assert sorted(p.relative_to(lab) for p in lab.rglob("*")) == before and list(outside.iterdir()) == []
    [killed] = MlflowClient(uri).search_runs([MlflowClient(uri).get_experiment_by_name("kept-here").experiment_id])
    assert killed.info.status == "KILLED"


# (databricks://SCOPE:PREFIX, MLflow's secret-scope form: refused for its "port" in review)
@pytest.mark.parametrize("uri", ["databricks", "http://127.0.0.1:9", "databricks://myscope:myprefix"])
def test_a_tracking_uri_that_writes_nothing_here_is_planned_from_any_folder(
    lab: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], uri: str
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(lab / "experiments")
    assert run(["run", "synthetic-logreg", "--dry-run"]) == 0, capsys.readouterr().err


def test_a_seed_written_as_a_whole_float_runs_as_that_integer(lab: Path) -> None:
    """`seed: 1234.0` is an integer to the schema (and to the config hash); the run then failed
    with numpy's "Cannot cast scalar from dtype('float64') to dtype('int64')"."""
    edit_yaml(lab / "experiments/synthetic-logreg.yaml", lambda d: d.update(seed=1234.0))
    assert run(["-C", str(lab), "run", "synthetic-logreg", "--no-register"]) == 0
    record = read_yaml(runs_of(lab)[0] / "run.yaml")
    assert record["status"] == "succeeded" and record["seed"] == 1234 and type(record["seed"]) is int


@pytest.mark.parametrize("change,said", [
    ({"n_classes": 5, "n_informative": 2}, "n_classes(5) * n_clusters_per_class(2) must be smaller or equal"),
    ({"weights": [0.2, 0.3, 0.5, 0.1]}, "Weights specified but incompatible with number of classes"),
])
def test_synthetic_settings_make_classification_refuses_are_found_before_the_run(
    lab: Path, capsys: pytest.CaptureFixture[str], change: dict, said: str
) -> None:
    """Each passed --dry-run and recorded a failed run with scikit-learn's error."""
    edit_yaml(lab / "experiments/synthetic-logreg.yaml", lambda d: d["data"]["synthetic"].update(change))
    assert run(["-C", str(lab), "run", "synthetic-logreg", "--dry-run"]) == 2
    assert said in capsys.readouterr().err
    assert not (lab / "runs").exists() or runs_of(lab) == []


def test_a_plugin_that_returns_another_kind_of_split_failed(lab: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A ratio split returned for a time-split spec broke the record's schema: an internal error,
    the trained run thrown away."""
    shutil.copytree(ROOT / "datasets" / "co2-weekly", lab / "datasets" / "co2-weekly")
    shutil.copy(ROOT / "experiments" / "co2-rise-gbm.yaml", lab / "experiments")
    monkeypatch.setitem(plugin_module.BUILTIN, "boom", "plugins.boom:BoomPlugin")
    monkeypatch.setattr("plugins.boom.BoomPlugin.run", lambda self, spec, *, context: plugin_module.RunResult(
        metrics={"test_accuracy": 0.5}, split={"kind": "ratio", "ratios": {"train": 0.8, "val": 0.1, "test": 0.1}}))
    edit_yaml(lab / "experiments/co2-rise-gbm.yaml", lambda d: (d.update(plugin="boom"), d.pop("gates"), d.pop("register")))
    assert run(["-C", str(lab), "run", "co2-rise-gbm"]) == 2
    err = capsys.readouterr().err
    assert "internal error" not in err and "returned a split of kind 'ratio' for a spec that splits by time" in err, err
    [folder] = runs_of(lab)
    assert read_yaml(folder / "run.yaml")["status"] == "failed"


@pytest.mark.parametrize("change,said", [
    (lambda w: w["val"].update(end="1995-12-30"), None),  # moved to the data: what the plugin used, recorded
    (lambda w: w.pop("test"), "returned a time split without the spec's test window"),
    ("week", "returned a time split on column 'week', not the spec's 'date'"),
])
def test_a_plugin_s_time_split_keeps_the_spec_s_column_and_every_window(
    lab: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], change: Any, said: str | None
) -> None:
    """A plugin returns the split it used where it differs from the spec's (a window moved to
    the data): recorded, and the doctor passes it. One that drops a window or splits on another
    column left the leakage rules less to check (TFC0003-E001): the plugin's failure."""
    import copy

    from strataml.doctor import engine

    shutil.copytree(ROOT / "datasets" / "co2-weekly", lab / "datasets" / "co2-weekly")
    shutil.copy(ROOT / "experiments" / "co2-rise-gbm.yaml", lab / "experiments")
    spec = read_yaml(lab / "experiments/co2-rise-gbm.yaml")
    split = {"kind": "time", "column": spec["split"]["column"], "windows": copy.deepcopy(spec["split"]["windows"])}
    if isinstance(change, str):
        split["column"] = change
    else:
        change(split["windows"])
    monkeypatch.setitem(plugin_module.BUILTIN, "boom", "plugins.boom:BoomPlugin")
    monkeypatch.setattr("plugins.boom.BoomPlugin.run", lambda self, spec, *, context: plugin_module.RunResult(
        metrics={"test_accuracy": 0.5}, split=split))
    edit_yaml(lab / "experiments/co2-rise-gbm.yaml", lambda d: (d.update(plugin="boom"), d.pop("gates"), d.pop("register")))
    assert run(["-C", str(lab), "run", "co2-rise-gbm"]) == (0 if said is None else 2)
    err = capsys.readouterr().err
    [folder] = runs_of(lab)
    record = read_yaml(folder / "run.yaml")
    if said is None:
        assert record["status"] == "succeeded" and record["split"]["windows"]["val"]["end"] == "1995-12-30", record
        rel = f"runs/{folder.name}/run.yaml"
        assert [f for f in engine.doctor(lab).findings if f.path == rel and f.code == "TFC0003-E001"] == []
    else:
        assert record["status"] == "failed" and said in err, err


def test_a_tracking_server_behind_a_proxy_is_not_probed_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    """With HTTP_PROXY set, a name only the proxy resolves was refused ("no tracking server
    answers there"), where MLflow reaches it through the proxy."""
    require_extra("mlflow", "mlflow")
    from strataml.errors import StrataError
    from strataml.runner.tracking import MlflowTracker

    for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    tracker = MlflowTracker("http://mlflow.corp.invalid:5000")
    with pytest.raises(StrataError, match="no tracking server answers there"):
        tracker.reachable()
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    tracker.reachable()  # (left to MLflow, through the proxy)
    monkeypatch.setenv("NO_PROXY", "mlflow.corp.invalid")
    with pytest.raises(StrataError):
        tracker.reachable()
    # As requests reads them (MLflow's calls): ALL_PROXY too, and NO_PROXY by network.
    monkeypatch.delenv("HTTP_PROXY")
    monkeypatch.delenv("NO_PROXY")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    tracker.reachable()
    monkeypatch.setenv("NO_PROXY", "127.0.0.0/8")
    with pytest.raises(StrataError):
        MlflowTracker("http://127.0.0.1:9").reachable()  # (bypassed: probed, and nothing answers)


@pytest.mark.parametrize("uri", ["http://[::1", "http://localhost:99999"])
def test_a_tracking_uri_that_is_no_uri_is_said_before_anything_runs(
    lab: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], uri: str
) -> None:
    """Found by an attacker: `http://[::1` was an internal error (ValueError: Invalid IPv6 URL)."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    for extra in (["--dry-run"], []):
        assert run(["-C", str(lab), "run", "synthetic-logreg", "--no-register", *extra]) == 3
        err = capsys.readouterr().err
        assert f"MLFLOW_TRACKING_URI={uri} is not a URI" in err and "internal error" not in err, err
    assert leftovers(lab) == []


@pytest.mark.parametrize("uri", ["SQLite:///{tmp}/x.db", "{tmp}/folder-store"])
def test_a_tracking_uri_mlflow_cannot_use_is_said_before_anything_runs(
    lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], uri: str
) -> None:
    """MLflow's refusal of the URI itself (a dialect it has no driver for; a folder store recent
    MLflow keeps only behind MLFLOW_ALLOW_FILE_STORE) was an internal error."""
    require_extra("mlflow", "mlflow")
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri.format(tmp=tmp_path))
    code = run(["-C", str(lab), "run", "synthetic-logreg", "--no-register"])
    err = capsys.readouterr().err
    assert "internal error" not in err, err
    if code == 3:
        assert "MLflow cannot track there" in err or "refused to start the run" in err, err
    assert code in (0, 3) and leftovers(lab) == []


def test_a_store_folder_a_commit_brought_is_refused(
    lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A committed `mlruns/0 -> {outside}`: only the top was checked for a link, and MLflow writes
    experiment 0's artifacts through mlruns/0 (.gitignore keeps out what is untracked, not what a
    commit brought)."""
    require_extra("mlflow", "mlflow")
    (tmp_path / "outside").mkdir()
    (lab / "mlruns").mkdir()
    (lab / "mlruns/0").symlink_to(tmp_path / "outside")
    git(lab, "add", "-f", "mlruns")
    git(lab, "commit", "-qm", "a store folder")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")
    monkeypatch.chdir(lab)
    assert run(["run", "synthetic-logreg", "--no-register", "--dry-run"]) == 3
    err = capsys.readouterr().err
    assert "mlruns at the workspace's top holds what a commit brought" in err and "nothing ran" in err, err
    assert not any((tmp_path / "outside").iterdir())


@pytest.mark.parametrize("name,target", [("mlruns", "datasets"), ("mlruns", "{outside}"), ("mlflow.db", "models/x.db")])
def test_a_store_at_the_top_that_is_a_link_is_refused(
    lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, target: str
) -> None:
    """A committed `mlruns -> datasets` (or a link out of the repository): .gitignore's /mlruns/
    ignores a folder, not a link, and MLflow wrote through it."""
    require_extra("mlflow", "mlflow")
    (tmp_path / "outside").mkdir()
    (lab / name).symlink_to(target.format(outside=tmp_path / "outside"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")
    monkeypatch.chdir(lab)
    assert run(["run", "synthetic-logreg", "--no-register", "--dry-run"]) == 3
    err = capsys.readouterr().err
    assert f"{name} at the workspace's top is a symbolic link" in err and "nothing ran" in err, err
    assert not any((tmp_path / "outside").iterdir())
