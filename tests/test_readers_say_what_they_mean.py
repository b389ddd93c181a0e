"""Readers answer the way people ask, through the real console script: loose refs, filters in
any case, the metric names the headers show, both lineage directions, and failures explained."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import copy_example, edit_yaml, require_extra

IRIS = "20261122T200038Z-iris-logreg-448b2a"
TESTS = Path(__file__).parent


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "example")


def cli(exe: list[str], ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*exe, "-C", str(ws), *args], capture_output=True, text=True, timeout=120)


def ids(done: subprocess.CompletedProcess[str]) -> list[str]:
    assert done.returncode == 0, done.stderr
    return [row["id"] for row in json.loads(done.stdout)]


def test_kinds_in_the_singular_and_unknown_metrics(example: Path, strataml_exe: list[str]) -> None:
    assert ids(cli(strataml_exe, example, "list", "run", "--format", "json")) == ids(
        cli(strataml_exe, example, "list", "runs", "--format", "json")
    )
    wrong = cli(strataml_exe, example, "list", "runs", "--metric", "test_acuracy")
    assert wrong.returncode == 3 and "no row has a metric named 'test_acuracy'" in wrong.stderr
    assert "did you mean test_accuracy" in wrong.stderr


def test_filters_match_words_in_any_case_refs_either_way_and_signed_as_a_boolean(
    example: Path, strataml_exe: list[str]
) -> None:
    every = ids(cli(strataml_exe, example, "list", "runs", "--format", "json"))
    assert ids(cli(strataml_exe, example, "list", "runs", "--filter", "status=SUCCEEDED", "--format", "json")) == every
    short = ids(cli(strataml_exe, example, "list", "runs", "--filter", "experiment=iris-logreg", "--format", "json"))
    long = ids(
        cli(strataml_exe, example, "list", "runs", "--filter", "experiment=experiment:iris-logreg", "--format", "json")
    )
    assert short == long == [f"run:{IRIS}"]
    models = ids(cli(strataml_exe, example, "list", "models", "--format", "json"))
    passing = ids(cli(strataml_exe, example, "list", "models", "--filter", "gate=pass", "--format", "json"))
    assert passing and set(passing) <= set(models)
    unsigned = ids(cli(strataml_exe, example, "list", "models", "--filter", "signed=false", "--format", "json"))
    signed = ids(cli(strataml_exe, example, "list", "models", "--filter", "signed=true", "--format", "json"))
    assert sorted(unsigned + signed) == sorted(models) and not set(unsigned) & set(signed)


@pytest.mark.parametrize("text", [IRIS, f"runs/{IRIS}/", f"./runs/{IRIS}/run.yaml", "run:20261122T200038", "20261122T200038Z-iris"])
def test_a_run_by_its_id_path_or_a_unique_prefix(example: Path, strataml_exe: list[str], text: str) -> None:
    done = cli(strataml_exe, example, "show", text)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"run:{IRIS}  (run, runs/{IRIS})")


def test_an_ambiguous_prefix_lists_the_candidates(example: Path, strataml_exe: list[str]) -> None:
    done = cli(strataml_exe, example, "show", "run:20261122")
    assert done.returncode == 3 and "'run:20261122' names 4 records" in done.stderr
    assert f"run:{IRIS}" in done.stderr and "give more of it" in done.stderr


def test_paths_work_wherever_a_ref_does(example: Path, strataml_exe: list[str]) -> None:
    shown = cli(strataml_exe, example, "show", "models/iris-classifier/1")
    assert shown.returncode == 0 and shown.stdout.startswith("model:iris-classifier@1  (model,")
    spec = cli(strataml_exe, example, "lineage", "experiments/iris-logreg.yaml", "--downstream")
    assert spec.returncode == 0 and f"run:{IRIS}" in spec.stdout
    # A command that acts on a record takes the same forms (Workspace.require).
    plan = cli(strataml_exe, example, "promote", "models/iris-classifier/1/", "--to", "archived", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    assert plan.stdout.startswith("Would move model:iris-classifier@1: production -> archived")


def test_lineage_both_ways_when_both_are_asked(example: Path, strataml_exe: list[str]) -> None:
    both = cli(strataml_exe, example, "lineage", f"run:{IRIS}", "--upstream", "--downstream")
    assert both.returncode == 0
    assert "upstream (what it came from)" in both.stdout and "downstream (what came from it)" in both.stdout
    up = cli(strataml_exe, example, "lineage", f"run:{IRIS}", "--upstream")
    assert "downstream" not in up.stdout


def test_promote_offers_no_move_to_registered_and_a_dry_run_shows_its_entries(
    example: Path, strataml_exe: list[str]
) -> None:
    refused = cli(strataml_exe, example, "promote", "model:iris-classifier@1", "--to", "registered")
    assert refused.returncode == 3 and "'registered' is not one of" in refused.stderr
    models = json.loads(cli(strataml_exe, example, "list", "models", "--format", "json").stdout)
    target = next(m for m in models if m["state"] == "registered" and m["gate"] == "PASS")
    plan = cli(strataml_exe, example, "promote", target["id"], "--to", "candidate", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    lines = plan.stdout.splitlines()
    assert lines[0].endswith("(dry run: nothing written)")
    entry = json.loads(lines[1])
    assert entry["ref"] == target["id"] and entry["to"] == "candidate" and entry["hash"].startswith("sha256:")


def test_a_failed_run_says_why_and_where_the_traceback_is(example: Path, tmp_path: Path) -> None:
    edit_yaml(example / "experiments/iris-logreg.yaml", lambda d: d.update(plugin="boom"))
    entry = (
        f"import sys; sys.path.insert(0, {str(TESTS)!r}); from strataml.runner import plugin; "
        "plugin.BUILTIN['boom'] = 'plugins.boom:BoomPlugin'; from strataml.cli.main import main; main()"
    )
    ran = subprocess.run([sys.executable, "-c", entry, "-C", str(example), "run", "iris-logreg"],
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 2, ran.stderr
    failed = next(p.name for p in (example / "runs").iterdir() if "iris-logreg" in p.name and p.name != IRIS)
    shown = subprocess.run([sys.executable, "-c", entry, "-C", str(example), "show", f"run:{failed}"],
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "  failed: RuntimeError: the GPU caught fire" in shown.stdout.splitlines()
    assert f"  traceback: runs/{failed}/errors/exception.txt" in shown.stdout.splitlines()


def test_a_failing_gate_says_which_criterion_and_why(example: Path, strataml_exe: list[str]) -> None:
    require_extra("sklearn", "sklearn")
    edit_yaml(example / "experiments/iris-logreg.yaml",
              lambda d: d.update(gates=["test_accuracy >= 0.999", "val_accuracy > 0"], register={"model": "strict"},
                                 split={"kind": "ratio", "train": 0.7, "val": 0.0, "test": 0.3}))
    ran = cli(strataml_exe, example, "run", "iris-logreg")
    assert ran.returncode == 0, ran.stderr
    failing = [ln for ln in ran.stdout.splitlines() if ln.startswith("    FAIL")]
    assert failing[0].startswith("    FAIL  test_accuracy >= 0.999  (observed 0.") and "fails >= 0.999" in failing[0]
    assert failing[1] == "    FAIL  val_accuracy > 0  (observed not recorded): val_accuracy was not recorded by the run: val_accuracy > 0 cannot pass"
    shown = cli(strataml_exe, example, "show", "model:strict")
    assert "  gate receipt: FAIL" in shown.stdout and failing[1] in shown.stdout.splitlines()
    assert yaml.safe_load((example / "models/strict/1/model.yaml").read_text())["gate"]["status"] == "FAIL"


def test_a_run_registered_once_is_not_registered_again_under_another_name(example: Path, strataml_exe: list[str]) -> None:
    again = cli(strataml_exe, example, "model", "register", f"runs/{IRIS}", "--name", "another")
    assert again.returncode == 2 and "is already registered as model:iris-classifier@1" in again.stderr
    assert not (example / "models/another").exists()
    same = cli(strataml_exe, example, "model", "register", IRIS, "--name", "iris-classifier")
    assert same.returncode == 0 and "already registered as model:iris-classifier@1" in same.stdout


def test_a_registration_says_the_step_that_commits_it(example: Path, strataml_exe: list[str]) -> None:
    import shutil

    shutil.rmtree(example / "models/iris-classifier")  # its run, not yet registered
    done = cli(strataml_exe, example, "model", "register", IRIS, "--name", "iris-classifier")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Registered model:iris-classifier@1 in ") and lines[0].endswith(": gate PASS")
    assert lines[1].startswith("Next: `") and "git add" in lines[1] and lines[1].endswith("`, then `strataml doctor --strict`.")


def test_the_plan_and_the_run_name_the_run_alike(example: Path, strataml_exe: list[str], tmp_path: Path) -> None:
    require_extra("sklearn", "sklearn")
    plan = json.loads(cli(strataml_exe, example, "run", "iris-logreg", "--dry-run", "--format", "json").stdout)
    done = cli(strataml_exe, example, "run", "iris-logreg", "--format", "json")
    assert done.returncode == 0, done.stderr
    ran = json.loads(done.stdout)
    assert set(plan) & set(ran) >= {"run_id"} and ran["run"] == f"run:{ran['run_id']}"
    assert re.fullmatch(r"\d{8}T\d{6}Z-iris-logreg-[0-9a-f]{6}", plan["run_id"]) and re.fullmatch(
        r"\d{8}T\d{6}Z-iris-logreg-[0-9a-f]{6}", ran["run_id"]
    )


def test_a_run_outside_the_workspace_says_it_was_not_registered(example: Path, strataml_exe: list[str], tmp_path: Path) -> None:
    require_extra("sklearn", "sklearn")
    elsewhere = tmp_path / "artifacts"
    done = subprocess.run([*strataml_exe, "-C", str(example), "run", "iris-logreg", "--format", "json"],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "STRATAML_ARTIFACT_ROOT": str(elsewhere)})
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["model"] is None and "STRATAML_ARTIFACT_ROOT put the run outside the workspace" in out["not_registered"]


def test_a_malformed_gate_is_explained_in_words(example: Path, strataml_exe: list[str]) -> None:
    edit_yaml(example / "experiments/iris-logreg.yaml", lambda d: d.update(gates=["accuracy is high"]))
    done = cli(strataml_exe, example, "doctor", "--format", "json")
    messages = [f["message"] for f in json.loads(done.stdout)["findings"] if f["path"] == "experiments/iris-logreg.yaml"]
    assert messages == ["gates/0: 'accuracy is high' is not valid here: expected METRIC OP NUMBER, e.g. test_f1_macro >= 0.90"]


def test_values_keep_their_yaml_types_in_the_plan_and_the_run(example: Path, strataml_exe: list[str]) -> None:
    require_extra("sklearn", "sklearn")
    features = ["sepal_length_cm", "petal_width_cm"]
    edit_yaml(example / "experiments/iris-logreg.yaml",
              lambda d: (d["data"].update(features=features), d["model"]["params"].update(tol=0.00001), d.pop("register")))
    plan = json.loads(cli(strataml_exe, example, "run", "iris-logreg", "--dry-run", "--format", "json").stdout)
    assert plan["params"]["data.features"] == features and plan["params"]["split.stratify"] is True
    text = cli(strataml_exe, example, "run", "iris-logreg", "--dry-run").stdout.splitlines()
    assert '  param    data.features = ["sepal_length_cm", "petal_width_cm"]' in text
    assert "  param    split.stratify = true" in text and "  param    model.C = 1.0" in text
    assert "  param    model.tol = 1e-05" in text  # exact: a small parameter is not rounded to 0
    done = cli(strataml_exe, example, "run", "iris-logreg", "--format", "json")
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout)["run_id"]
    record = yaml.safe_load((example / "runs" / run_id / "run.yaml").read_text())
    assert record["params"]["data.features"] == features and record["params"]["split.stratify"] is True
    shown = cli(strataml_exe, example, "show", f"run:{run_id}").stdout.splitlines()
    assert '    data.features: ["sepal_length_cm", "petal_width_cm"]' in shown and "    split.stratify: true" in shown
    assert "    model.tol: 1e-05" in shown
    # Metrics print as `run` and `list` print them: four decimals.
    assert any(re.fullmatch(r"    test_accuracy: 0\.\d{1,4}|    test_accuracy: 1", line) for line in shown), shown
    # The run schema takes the list (uncommitted files are warnings, not errors).
    checked = json.loads(cli(strataml_exe, example, "doctor", "--format", "json").stdout)
    assert checked["summary"]["errors"] == 0, checked["findings"]


def test_a_gate_on_a_metric_the_plugin_never_writes_is_refused_before_work(example: Path, strataml_exe: list[str]) -> None:
    edit_yaml(example / "experiments/iris-logreg.yaml", lambda d: d.update(gates=["test_f1 >= 0.9"]))
    said = "gate 'test_f1 >= 0.9' names test_f1, which plugin sklearn never writes (did you mean test_f1_macro?)"
    doctor = cli(strataml_exe, example, "doctor")
    assert doctor.returncode == 2 and said in doctor.stdout and "TFC0003-E004" in doctor.stdout
    runs = sorted((example / "runs").iterdir())
    for args in (("--dry-run",), ()):
        refused = cli(strataml_exe, example, "run", "iris-logreg", *args)
        assert refused.returncode == 2 and said in refused.stderr and "Traceback" not in refused.stderr
    assert sorted((example / "runs").iterdir()) == runs
    explained = cli(strataml_exe, example, "doctor", "--explain", "TFC0003-E004")
    assert explained.returncode == 0 and "gate-metric-not-written" in explained.stdout


def test_a_filter_that_matches_nothing_says_which_and_what_is_there(example: Path, strataml_exe: list[str]) -> None:
    said = cli(strataml_exe, example, "list", "runs", "--filter", "status=succeded")
    assert said.returncode == 0  # (no rows is an answer: --format json gives [])
    assert said.stdout == "No runs match: none has status=succeded; did you mean status=succeeded? (status: succeeded).\n"
    prod = cli(strataml_exe, example, "list", "models", "--filter", "state=prod").stdout
    assert "none has state=prod; did you mean state=production? (state: " in prod
    both = cli(strataml_exe, example, "list", "runs", "--filter", "status=succeeded", "--filter", "experiment=nope")
    assert both.stdout.startswith("No runs match: none has experiment=nope (experiment: breast-cancer-rf, ")
    assert cli(strataml_exe, example, "list", "runs", "--filter", "test_accuracy=2").stdout == (
        "No runs match: none has test_accuracy=2.\n"
    )


def test_a_misspelt_filter_or_sort_key_is_told_the_key_it_resembles(example: Path, strataml_exe: list[str]) -> None:
    for args, word, key, meant in (
        (("--filter", "stauts=succeeded"), "--filter", "stauts", "status"),
        (("--sort", "test_acuracy"), "--sort", "test_acuracy", "test_accuracy"),
    ):
        said = cli(strataml_exe, example, "list", "runs", *args)
        assert said.returncode == 3 and "Traceback" not in said.stderr
        assert f"error: {word}: no field, metric or tag named '{key}'" in said.stderr
        assert f"hint: did you mean {meant}? known: " in said.stderr
    far = cli(strataml_exe, example, "list", "runs", "--sort", "zzz")
    assert far.returncode == 3 and "did you mean" not in far.stderr and "hint: known: age, created" in far.stderr


def test_a_kind_whose_folder_was_not_read_says_why_it_lists_nothing(
    example: Path, strataml_exe: list[str], tmp_path: Path
) -> None:
    (example / "models").rename(tmp_path / "models-elsewhere")
    (example / "models").symlink_to(tmp_path / "models-elsewhere")
    said = cli(strataml_exe, example, "list", "models")
    assert said.returncode == 0
    assert said.stdout.startswith("No models in this workspace: models/ is a symlink, not a folder"), said.stdout
    assert "(TFC0001-E002; see `strataml doctor`)" in said.stdout
    assert cli(strataml_exe, example, "list", "datasets").stdout.endswith("(see `strataml doctor`)\n")


def test_record_folders_whose_metadata_is_not_a_file_are_said_not_left_out(
    example: Path, strataml_exe: list[str], tmp_path: Path
) -> None:
    """Found by a new user: every run.yaml made a folder or a symlink, `list runs` said "No runs in
    this workspace." and `status` "none yet (`strataml run SPEC`)", as of a workspace never run."""
    runs = sorted(p for p in (example / "runs").iterdir() if p.is_dir())
    for i, run in enumerate(runs):
        meta = run / "run.yaml"
        meta.rename(tmp_path / f"run-{i}.yaml")
        if i % 2:
            meta.mkdir()
        else:
            meta.symlink_to(tmp_path / f"run-{i}.yaml")
    said = cli(strataml_exe, example, "list", "runs")
    assert said.returncode == 0, said.stderr
    first = f"runs/{runs[0].name}"
    assert said.stdout.startswith(f"No runs in this workspace: {len(runs)} folders under runs/ could not be read ({first}, ")
    assert said.stdout.rstrip().endswith(f"and {len(runs) - 3} more; see `strataml doctor`).")
    status = cli(strataml_exe, example, "status")
    assert f"  not read     {len(runs)} folders under runs/ could not be read ({first}" in status.stdout, status.stdout
    assert "none yet" not in status.stdout and "  latest runs  none read" in status.stdout
    # A stray file where a version folder would be, and a broken ledger, are no records left out.
    (example / "datasets/iris/notes.txt").write_text("a note\n")
    ledger = next((example / "models").glob("*/lifecycle.jsonl"))
    ledger.write_text(ledger.read_text() + '{"broken\n')
    data = json.loads(cli(strataml_exe, example, "status", "--format", "json").stdout)
    assert data["unread"] == {"datasets": [], "runs": [f"runs/{r.name}" for r in runs], "models": []}
    healthy = cli(strataml_exe, copy_example(tmp_path / "healthy"), "status", "--format", "json")
    assert json.loads(healthy.stdout)["unread"] == {"datasets": [], "runs": [], "models": []}


def test_a_short_bare_run_prefix_says_why_it_is_not_taken(example: Path, strataml_exe: list[str]) -> None:
    said = cli(strataml_exe, example, "show", "2026")
    assert said.returncode == 3 and "Traceback" not in said.stderr
    assert "a bare run id prefix takes at least 8 characters, and 4 runs start with 2026" in said.stderr, said.stderr
    assert "or say run:2026" in said.stderr
    assert cli(strataml_exe, example, "show", "20261122T200038").returncode == 0
    nothing = cli(strataml_exe, example, "show", "9")  # no run starts so: the usual answer
    assert nothing.returncode == 3 and "bare run id prefix" not in nothing.stderr


def test_a_receipt_an_input_or_columns_of_the_wrong_shape_fail_no_reader_nor_export(
    example: Path, strataml_exe: list[str]
) -> None:
    """A gate receipt's criteria as a number crashed `show` and `diff` (the pull request's report),
    a run's input ref without a kind crashed `export openlineage`, a dataset's columns as a
    number crashed `export model-card`: each an internal error, where the doctor has a finding."""
    subprocess.run(["git", "init", "-q"], cwd=example, check=True)
    subprocess.run(["git", "add", "-A"], cwd=example, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base"], cwd=example, check=True
    )
    edit_yaml(example / f"runs/{IRIS}/run.yaml", lambda d: d["inputs"][0].update(ref="iris"))
    edit_yaml(example / "datasets/iris/1/dataset.yaml", lambda d: d.update(columns=7))
    checks = [
        ("export", "openlineage"),
        ("export", "model-card", "model:iris-classifier@1"),  # (its input's columns: the model itself is sound)
        ("export", "croissant", "dataset:iris@1"),
        ("show", f"run:{IRIS}"),
    ]
    for step, args in enumerate([*checks, ("show", "model:iris-classifier@1"), ("diff", "HEAD"),
                                 ("diff", "HEAD", "--format", "json")]):
        if step == len(checks):
            receipt = example / "models/iris-classifier/1/gate.json"
            receipt.write_text(json.dumps({**json.loads(receipt.read_text()), "criteria": 7, "reasons": 3}))
        done = cli(strataml_exe, example, *args)
        # (An export refuses a record with errors (2), or names its missing extra (3).)
        assert done.returncode in (0, 1, 2, 3) and "internal error" not in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr, (args, done.stderr)


def test_a_field_of_the_wrong_type_fails_no_reader(example: Path, strataml_exe: list[str]) -> None:
    """One malformed field in one record (the doctor's finding) made `list`, `report`, `diff`
    and the dashboard fail with an internal error for the whole workspace: a spec's gates written
    as a number or as mappings, a run's experiment or a dataset's license as a number."""
    subprocess.run(["git", "init", "-q"], cwd=example, check=True)
    subprocess.run(["git", "add", "-A"], cwd=example, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base"], cwd=example, check=True
    )
    edit_yaml(example / "experiments/iris-logreg.yaml", lambda d: d.update(gates=0.9))
    edit_yaml(example / "experiments/breast-cancer-rf.yaml", lambda d: d.update(gates=[{"metric": "m", "min": 1}]))
    edit_yaml(example / f"runs/{IRIS}/run.yaml", lambda d: d.update(experiment=42, status=7))
    edit_yaml(example / "datasets/iris/1/dataset.yaml", lambda d: d.update(license=2.0))
    doctor = cli(strataml_exe, example, "doctor")
    assert doctor.returncode == 2 and "TFC0003-E002" in doctor.stdout
    for args in (
        ("list", "runs"),
        ("list", "datasets"),
        ("list", "experiments"),
        ("list", "models"),
        ("status",),
        ("report", "experiment", "iris-logreg", "--format", "text"),
        ("report", "experiment", "breast-cancer-rf"),
        ("diff", "HEAD", "--format", "markdown"),
        ("dashboard", "-o", str(example.parent / "site.html")),
    ):
        done = cli(strataml_exe, example, *args)
        assert done.returncode in (0, 2) and "internal error" not in done.stderr, (args, done.stderr)
    rows = json.loads(cli(strataml_exe, example, "list", "runs", "--format", "json").stdout)
    assert [(r["experiment"], r["status"]) for r in rows if r["name"] == IRIS] == [(42, 7)]  # as recorded
    table = subprocess.run(
        [*strataml_exe, "-C", str(example), "list", "runs"], capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}
    ).stdout
    assert re.search(rf"^{IRIS} +42 +7 ", table, re.M), table  # shown as `show` shows it


def test_times_at_the_calendars_edge_a_list_as_a_column_name_and_a_lone_surrogate_fail_no_command(
    example: Path, strataml_exe: list[str]
) -> None:
    """Each crashed nearly every command with an internal error (a fuzzer's finds): a version
    registered at 0001-01-01T00:00:00Z (its ledger rule subtracted the clock skew from it), a
    ledger entry whose UTC instant is in year 0, a column named by a list in a dataset with a
    time range, a gate receipt quoting a lone UTF-16 surrogate."""
    import hashlib

    from strataml.canonical import jcs

    edit_yaml(example / "models/iris-classifier/1/model.yaml", lambda d: d.update(created_at="0001-01-01T00:00:00Z"))
    ledger = example / "models/breast-cancer-classifier/lifecycle.jsonl"
    lines = ledger.read_text().splitlines()
    entry = json.loads(lines[0])
    entry["at"] = "0001-01-01T00:00:00+01:00"
    entry.pop("hash")
    entry["hash"] = "sha256:" + hashlib.sha256(jcs(entry)).hexdigest()
    ledger.write_text("\n".join([json.dumps(entry, sort_keys=True, separators=(",", ":")), *lines[1:]]) + "\n")
    edit_yaml(example / "datasets/co2-weekly/1/dataset.yaml",
              lambda d: next(c for c in d["columns"] if c["name"] == "week_of_year").update(name=["week_of_year"]))
    receipt = example / "models/co2-rise-classifier/1/gate.json"
    receipt.write_text(receipt.read_text().replace('"model": "model:co2-rise-classifier@1"', '"model": "\\ud800"'))
    for args in (("doctor", "--format", "json"), ("list", "models", "--format", "json"), ("show", "dataset:co2-weekly@1"),
                 ("promote", "model:iris-classifier@1", "--to", "candidate", "--dry-run", "--format", "json")):
        done = cli(strataml_exe, example, *args)
        assert "internal error" not in done.stderr and done.returncode in (0, 1, 2), (args, done.stderr)
        if "json" in args:
            json.loads(done.stdout)  # (a report, or the error as JSON: never an empty stdout)
    found = {(f["code"], f["path"]) for f in json.loads(cli(strataml_exe, example, "doctor", "--format", "json").stdout)["findings"]}
    assert ("TFC0002-E001", "datasets/co2-weekly/1/dataset.yaml") in found, found  # (its schema)
    assert any(path == "models/breast-cancer-classifier/lifecycle.jsonl" for _c, path in found), found


def test_an_internal_error_under_format_json_is_json_on_stdout(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """stdout was empty: a script reading it got no JSON at all, where every other error is one."""
    from strataml.cli import main as entry
    from strataml.doctor import engine

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(engine, "doctor", broken)
    assert entry.run(["doctor", "--format", "json"]) == 3
    out = capsys.readouterr()
    said = json.loads(out.out)["error"]
    assert said["message"] == "internal error: RuntimeError: a bug" and said["exit_code"] == 3
    assert "internal error: RuntimeError: a bug" in out.err


def test_a_key_is_known_from_every_row_whatever_the_filters_before_it(example: Path, strataml_exe: list[str]) -> None:
    """A misspelt key after a filter that left no row was answered [] (exit 0); before it, or
    alone, the same key was refused (exit 3): the order of the filters decided."""
    for args in (("--filter", "status=failed", "--filter", "stauts=x"), ("--filter", "status=failed", "--sort", "zzz")):
        said = cli(strataml_exe, example, "list", "runs", *args, "--format", "json")
        assert said.returncode == 3 and "no field, metric or tag named" in said.stderr, args
    # A tag asked for as one is a question rows may answer "no" to, tagged or not yet.
    tagged = cli(strataml_exe, example, "list", "runs", "--filter", "tags.team=vision", "--format", "json")
    assert tagged.returncode == 0 and json.loads(tagged.stdout) == []
    said = cli(strataml_exe, example, "list", "runs", "--filter", "tags.team=vision")
    assert said.returncode == 0 and "none has tags.team=vision" in said.stdout
