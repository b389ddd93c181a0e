"""`strataml experiment new`: a spec the doctor passes and `strataml run` takes as it is."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import ROOT


def cli(exe: list[str], ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*exe, "-C", str(ws), *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def lab(tmp_path: Path, strataml_exe: list[str]) -> Path:
    root = tmp_path / "lab"
    assert subprocess.run([*strataml_exe, "init", str(root)], capture_output=True).returncode == 0
    added = cli(strataml_exe, root, "dataset", "add", "iris", str(ROOT / "datasets/iris/1/iris.csv"), "--version", "1",
                "--license", "CC-BY-4.0", "--source", "https://archive.ics.uci.edu/dataset/53/iris", "--target", "species")
    assert added.returncode == 0, added.stderr
    return root


def test_a_new_spec_passes_the_doctor_and_says_what_to_do_next(lab: Path, strataml_exe: list[str]) -> None:
    done = cli(strataml_exe, lab, "experiment", "new", "iris-logreg", "--dataset", "dataset:iris@1",
               "--register", "iris-classifier", "--gate", "test_accuracy >= 0.9")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == (
        "Created experiment:iris-logreg in experiments/iris-logreg.yaml: logistic_regression on dataset:iris@1, target species"
    )
    text = (lab / "experiments/iris-logreg.yaml").read_text()
    assert text.count("# ") >= 5  # commented: each choice says what it does
    spec = yaml.safe_load(text)
    assert spec["data"] == {"dataset": "dataset:iris@1", "target": "species"}  # the target from the dataset's role
    assert spec["gates"] == ["test_accuracy >= 0.9"] and spec["register"] == {"model": "iris-classifier"}
    doctor = cli(strataml_exe, lab, "doctor", "--strict", "--format", "json")
    assert doctor.returncode == 0, doctor.stdout
    # From outside the workspace (-C), the next step goes there first, and starts the history
    # where there is none yet (with the LFS filter, as `init` says), holding the whole workspace;
    # it works as printed.
    step = done.stdout.splitlines()[1].split("`")[1]
    assert step == f"cd {lab} && git init -q && git lfs install --local && git add -A && git commit -qm experiment:iris-logreg"
    if shutil.which("git-lfs") is None and os.environ.get("CI") != "true":
        step = step.replace("git lfs install --local && ", "")  # (a laptop without git-lfs: the rest still runs)
    env = {**os.environ, "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@b.c", "GIT_COMMITTER_NAME": "A",
           "GIT_COMMITTER_EMAIL": "a@b.c"}
    subprocess.run(["bash", "-c", step], check=True, env=env, capture_output=True)
    tracked = subprocess.run(["git", "-C", str(lab), "ls-files"], capture_output=True, text=True).stdout.splitlines()
    assert {"strataml.yaml", ".gitattributes", "experiments/iris-logreg.yaml", "datasets/iris/1/dataset.yaml"} <= set(tracked)
    left = subprocess.run(["git", "-C", str(lab), "status", "--porcelain"], capture_output=True, text=True).stdout
    assert left == ""  # nothing of the workspace left out of its first commit
    again = cli(strataml_exe, lab, "experiment", "new", "second", "--dataset", "dataset:iris@1")
    assert again.stdout.splitlines()[1].split("`")[1] == (  # (a history now: only the add and the commit)
        f"cd {lab} && git add experiments/second.yaml && git commit -qm experiment:second"
    )
    plan = cli(strataml_exe, lab, "run", "experiments/iris-logreg.yaml", "--dry-run", "--format", "json")
    if plan.returncode == 3 and "sklearn" in plan.stderr:
        pytest.skip("the sklearn extra is not installed: the plan needs the plugin")
    assert plan.returncode == 0, plan.stderr


def test_json_output_and_defaults(lab: Path, strataml_exe: list[str]) -> None:
    done = cli(strataml_exe, lab, "experiment", "new", "rf", "--dataset", "dataset:iris@1", "--model", "random_forest",
               "--format", "json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["path"] == "experiments/rf.yaml" and out["spec"]["model"] == {"type": "random_forest", "params": {}}
    assert out["spec"]["gates"] == [] and "register" not in out["spec"]


@pytest.mark.parametrize(
    "args,code,message",
    [
        (("iris-logreg", "--dataset", "dataset:iris@2"), 3, "did you mean dataset:iris@1?"),
        (("x", "--dataset", "dataset:iris@1", "--target", "colour"), 2, "'colour' is not a column of dataset:iris@1"),
        (("x", "--dataset", "dataset:iris@1", "--model", "svm"), 3, "use one of logistic_regression"),
        (("x", "--dataset", "model:iris@1"), 3, "a dataset is needed here"),
        (("bad/name", "--dataset", "dataset:iris@1"), 3, "is not a valid experiment name"),
        (("x", "--dataset", "dataset:iris@1", "--gate", "accuracy is high"), 3, "expected METRIC OP NUMBER, e.g."),
        (("x", "--dataset", "dataset:iris@1", "--gate", "test_f1 >= 0.9"), 2,
         "gate 'test_f1 >= 0.9' names test_f1, which plugin sklearn never writes (did you mean test_f1_macro?) [TFC0003-E004]"),
        (("x", "--dataset", "dataset:iris@1", "--plugin", "other", "--model", "x"), 3,
         "unknown plugin 'other' (installed: sklearn)"),
        (("x", "--dataset", "dataset:iris@1", "--plugin", "sklean"), 3, "did you mean sklearn?"),
        (("x", "--dataset", "dataset:iris@1", "--file", "iris.tsv"), 3, "--file 'iris.tsv' is not a CSV file of dataset:iris@1"),
        (("x", "--dataset", "dataset:notes@1", "--target", "y"), 3, "dataset:notes@1 records no CSV file, and a run reads one"),
        (("x", "--dataset", "dataset:parts@1", "--target", "y"), 3, "records 2 CSV files; a run reads one"),
        (("x", "--dataset", "dataset:mixed@1", "--file", "m1.csv", "--target", "y"), 3,
         "dataset:mixed@1 records no columns, so no target can be checked"),
    ],
)
def test_what_cannot_make_a_valid_spec_is_refused_and_nothing_is_written(
    lab: Path, strataml_exe: list[str], args: tuple[str, ...], code: int, message: str
) -> None:
    if {"dataset:notes@1", "dataset:parts@1", "dataset:mixed@1"} & set(args):
        _add_odd_datasets(lab, strataml_exe)
    done = cli(strataml_exe, lab, "experiment", "new", *args)
    assert done.returncode == code and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in (lab / "experiments").iterdir() if p.suffix == ".yaml") == []


def _add_odd_datasets(lab: Path, exe: list[str]) -> None:
    """A version without a CSV file, one in two CSV parts, one of two CSV files with two headers."""
    (lab.parent / "notes.txt").write_text("no table here\n", "utf-8")
    for part in ("p1", "p2"):
        # (8 rows each: a run splits them 0.7/0.15/0.15 with a row of each class in every split)
        (lab.parent / f"{part}.csv").write_text("a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(8)), "utf-8")
    (lab.parent / "m1.csv").write_text("a,y\n1,0\n", "utf-8")
    (lab.parent / "m2.csv").write_text("b,z\n1,0\n", "utf-8")  # another header: no columns recorded
    for name, files in (("notes", ["notes.txt"]), ("parts", ["p1.csv", "p2.csv"]), ("mixed", ["m1.csv", "m2.csv"])):
        added = cli(exe, lab, "dataset", "add", name, *(str(lab.parent / f) for f in files), "--version", "1")
        assert added.returncode == 0, added.stderr
        assert ("have different headers, so no columns were recorded" in added.stdout) == (name == "mixed")


def test_file_picks_one_csv_of_a_version_in_parts(lab: Path, strataml_exe: list[str]) -> None:
    _add_odd_datasets(lab, strataml_exe)
    done = cli(strataml_exe, lab, "experiment", "new", "parts-logreg", "--dataset", "dataset:parts@1",
               "--file", "p2.csv", "--target", "y")
    assert done.returncode == 0, done.stderr
    spec = yaml.safe_load((lab / "experiments/parts-logreg.yaml").read_text())
    assert spec["data"] == {"dataset": "dataset:parts@1", "file": "p2.csv", "target": "y"}
    from conftest import require_extra

    require_extra("sklearn", "sklearn")  # (the plan asks the plugin, which needs the extra)
    dry = cli(strataml_exe, lab, "run", "parts-logreg", "--dry-run")
    assert dry.returncode == 0 and "dataset:parts@1" in dry.stdout, dry.stderr


def test_an_existing_spec_is_never_replaced(lab: Path, strataml_exe: list[str]) -> None:
    assert cli(strataml_exe, lab, "experiment", "new", "a", "--dataset", "dataset:iris@1").returncode == 0
    before = (lab / "experiments/a.yaml").read_bytes()
    again = cli(strataml_exe, lab, "experiment", "new", "a", "--dataset", "dataset:iris@1", "--model", "random_forest")
    assert again.returncode == 2 and "already exists" in again.stderr
    assert (lab / "experiments/a.yaml").read_bytes() == before
    # The same name but for case is one file on macOS and Windows (TFC0008-E004): refused too.
    twin = cli(strataml_exe, lab, "experiment", "new", "A", "--dataset", "dataset:iris@1")
    assert twin.returncode == 2 and "collides with experiment:a" in twin.stderr and "TFC0008-E004" in twin.stderr
    assert sorted(p.name for p in (lab / "experiments").iterdir() if p.suffix == ".yaml") == ["a.yaml"]


def test_a_symlinked_experiments_folder_is_never_written_through(lab: Path, strataml_exe: list[str], tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (lab / "experiments").rename(outside)
    (lab / "experiments").symlink_to(outside)
    done = cli(strataml_exe, lab, "experiment", "new", "x", "--dataset", "dataset:iris@1")
    assert done.returncode == 3 and "symlink" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (outside / "x.yaml").exists()


@pytest.mark.parametrize("name", ["123", "true", "null", "1.5"])
def test_names_yaml_would_read_as_numbers_or_booleans_stay_names(lab: Path, strataml_exe: list[str], name: str) -> None:
    done = cli(strataml_exe, lab, "experiment", "new", name, "--dataset", "dataset:iris@1")
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load((lab / f"experiments/{name}.yaml").read_text())["name"] == name


def test_text_from_the_command_line_cannot_add_keys(lab: Path, strataml_exe: list[str]) -> None:
    model = cli(strataml_exe, lab, "experiment", "new", "x", "--dataset", "dataset:iris@1", "--register", "m\nseed: 7")
    assert model.returncode == 3 and "is not a valid model name" in model.stderr
    # NEL is a line break to YAML: written raw, it would end the gate and start a key.
    gate = cli(strataml_exe, lab, "experiment", "new", "x", "--dataset", "dataset:iris@1",
               "--gate", "test_accuracy >= 0.9\u0085tags: {a: b}")
    assert gate.returncode == 3 and "was not created" in gate.stderr
    assert not (lab / "experiments/x.yaml").exists()


def test_the_time_column_from_the_dataset_cannot_add_keys(lab: Path, strataml_exe: list[str]) -> None:
    meta = lab / "datasets/iris/1/dataset.yaml"
    data = yaml.safe_load(meta.read_text())
    data["time_range"] = {"column": "ts)\nregister: {model: evil}\n#", "start": "2024-01-01", "end": "2024-01-02"}
    meta.write_text(yaml.safe_dump(data))
    done = cli(strataml_exe, lab, "experiment", "new", "x", "--dataset", "dataset:iris@1")
    assert done.returncode == 0, done.stderr
    spec = yaml.safe_load((lab / "experiments/x.yaml").read_text())
    assert "register" not in spec and "time column" in (lab / "experiments/x.yaml").read_text()


def test_an_installed_plugin_of_another_package_needs_its_model_type(
    lab: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from strataml.cli.main import run
    from strataml.runner import plugin as plugin_module

    monkeypatch.setitem(plugin_module.BUILTIN, "other", "elsewhere:Plugin")  # (installed: never imported here)
    assert run(["-C", str(lab), "experiment", "new", "x", "--dataset", "dataset:iris@1", "--plugin", "other"]) == 3
    assert "the other plugin needs --model TYPE" in capsys.readouterr().err
    assert run(["-C", str(lab), "experiment", "new", "x", "--dataset", "dataset:iris@1", "--plugin", "other",
                "--model", "tree"]) == 0
    assert yaml.safe_load((lab / "experiments/x.yaml").read_text())["plugin"] == "other"


def test_a_target_column_named_with_control_characters_is_shown_escaped(
    lab: Path, strataml_exe: list[str], tmp_path: Path
) -> None:
    # A column name is the dataset's data: printed as it is, it could forge a line or colour the terminal.
    data = tmp_path / "odd.csv"
    data.write_text('a,"\x1b[31mb\nc"\n1,2\n')
    assert cli(strataml_exe, lab, "dataset", "add", "odd", str(data), "--version", "1", "--license", "x").returncode == 0
    done = cli(strataml_exe, lab, "experiment", "new", "e", "--dataset", "dataset:odd@1", "--target", "\x1b[31mb\nc")
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.endswith("target \\x1b[31mb\\nc") and "\x1b" not in done.stdout, done.stdout


def test_the_next_step_works_pasted_verbatim_from_outside_the_workspace(lab: Path, strataml_exe: list[str]) -> None:
    """With -C from outside, the step goes to the workspace first: the run command after it
    names the spec from there."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@b.c", "GIT_COMMITTER_NAME": "A",
           "GIT_COMMITTER_EMAIL": "a@b.c"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "start"]):
        subprocess.run(["git", *args], cwd=lab, check=True, env=env, capture_output=True)
    done = subprocess.run([*strataml_exe, "-C", "lab", "experiment", "new", "via-c", "--dataset", "dataset:iris@1"],
                          cwd=lab.parent, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("Next: "))
    step, run = line.split("`")[1], line.split("`")[3]
    assert step.startswith("cd lab && ") and run == "strataml run experiments/via-c.yaml", line
    spec = run.split()[-1]  # (running it needs the sklearn extra: that the path is there after the step will do)
    pasted = subprocess.run(f"{step} && test -f {spec}", shell=True, cwd=lab.parent, capture_output=True, text=True,
                            env=env, timeout=120)
    assert pasted.returncode == 0, pasted.stderr


def test_a_float_target_is_noted_before_a_classifier_fails_on_it(lab: Path, strataml_exe: list[str]) -> None:
    done = cli(strataml_exe, lab, "experiment", "new", "width", "--dataset", "dataset:iris@1", "--target", "petal_width_cm")
    assert done.returncode == 0, done.stderr  # (a float column of few values can be labels: written, and said)
    assert "note: petal_width_cm is a float column; the sklearn plugin trains classifiers" in done.stderr
    plain = cli(strataml_exe, lab, "experiment", "new", "species", "--dataset", "dataset:iris@1")
    assert plain.returncode == 0 and "note:" not in plain.stderr


@pytest.mark.parametrize("model", ["logistic_regression", "random_forest", "gradient_boosting"])
def test_the_commented_params_are_the_model_s_own(lab: Path, strataml_exe: list[str], model: str) -> None:
    """random_forest's spec suggested {C: 1.0, max_iter: 500}, logistic regression's parameters:
    taken up as written, the run refused them."""
    from conftest import require_extra

    require_extra("sklearn", "sklearn")
    assert cli(strataml_exe, lab, "experiment", "new", "x", "--dataset", "dataset:iris@1", "--model", model).returncode == 0
    spec = lab / "experiments/x.yaml"
    line = next(ln for ln in spec.read_text().splitlines() if ln.strip().startswith("params:"))
    example = yaml.safe_load(line.split("e.g.", 1)[1])
    assert isinstance(example, dict) and example, line
    spec.write_text(spec.read_text().replace(line, f"  params: {json.dumps(example)}"))
    done = cli(strataml_exe, lab, "run", "experiments/x.yaml", "--dry-run")
    assert done.returncode == 0, done.stderr


def test_a_dataset_with_nothing_to_train_on_is_refused_before_a_spec_or_a_run(
    lab: Path, strataml_exe: list[str]
) -> None:
    """Only text columns beside the label: `experiment new` wrote a spec, `run --dry-run` passed it,
    and the run failed in scikit-learn ("Found array with 0 feature(s)")."""
    (lab.parent / "words.csv").write_text("name,note,y\na,x,0\nb,y,1\nc,z,0\nd,w,1\n", "utf-8")
    added = cli(strataml_exe, lab, "dataset", "add", "words", str(lab.parent / "words.csv"), "--version", "1",
                "--target", "y")
    assert added.returncode == 0, added.stderr
    done = cli(strataml_exe, lab, "experiment", "new", "words-exp", "--dataset", "dataset:words@1")
    assert done.returncode == 2 and "dataset:words@1 has no column the plugin can train on" in done.stderr, done.stderr
    assert not (lab / "experiments/words-exp.yaml").exists()
    # A spec written by hand (from one that runs) is refused by the run's own check, before anything is written.
    from conftest import require_extra

    require_extra("sklearn", "sklearn")  # (the run's check asks the plugin, which needs the extra)
    made = cli(strataml_exe, lab, "experiment", "new", "words-exp", "--dataset", "dataset:iris@1")
    assert made.returncode == 0, made.stderr
    spec = lab / "experiments/words-exp.yaml"
    spec.write_text(spec.read_text().replace("dataset:iris@1", "dataset:words@1").replace("target: species", "target: y"))
    dry = cli(strataml_exe, lab, "run", "words-exp", "--dry-run")
    assert dry.returncode == 2 and "data.features: dataset:words@1 has no column" in dry.stderr, dry.stderr
    assert [p.name for p in (lab / "runs").iterdir()] == [".gitkeep"]  # (init's; no run folder)


def test_a_dataset_whose_metadata_does_not_load_is_named_as_such(lab: Path, strataml_exe: list[str]) -> None:
    """A broken dataset.yaml read as recording no CSV file: the hint was to add the data again."""
    meta = lab / "datasets/iris/1/dataset.yaml"
    meta.write_text(meta.read_text() + "columns: [\n", "utf-8")
    done = cli(strataml_exe, lab, "experiment", "new", "x", "--dataset", "dataset:iris@1")
    assert done.returncode == 3, done.stderr
    assert "dataset:iris@1's metadata cannot be read as written: datasets/iris/1/dataset.yaml:" in done.stderr, done.stderr
    assert "records no CSV file" not in done.stderr and "strataml doctor" in done.stderr
    assert not list((lab / "experiments").glob("*.yaml"))


def _hourly(path: Path) -> Path:
    """Ten days of hourly rows, timed to the millisecond and not in UTC: what dates alone miss."""
    from datetime import datetime, timedelta, timezone

    zone = timezone(timedelta(hours=-5))
    first = datetime(2024, 2, 27, 22, 0, 0, 250000, tzinfo=zone)  # (across a leap day)
    rows = ["ts,x,y"]
    for hour in range(240):
        when = (first + timedelta(hours=hour)).isoformat(timespec="milliseconds")
        rows.append(f"{when},{hour % 7},{hour % 2}")
    path.write_text("\n".join(rows) + "\n", "utf-8")
    return path


@pytest.mark.parametrize("kind", ["dates", "times"])
def test_a_dataset_with_a_time_column_gets_windows_over_its_range_ready_to_use(
    lab: Path, strataml_exe: list[str], kind: str
) -> None:
    """The spec said only `kind: time, column, windows: train/val/test`: the shape of a window
    was left to the schema. It now holds the split over the dataset's range, commented out, and
    that split, used as it is, passes the doctor (windows within the range, none overlapping)
    and the run's own check; with times to the millisecond too (a window cut to the second
    began before the range)."""
    if kind == "dates":
        source, column, target = ROOT / "datasets/co2-weekly/1/co2_weekly.csv", "date", "rise_next_week"
    else:
        source, column, target = _hourly(lab.parent / "hourly.csv"), "ts", "y"
    added = cli(strataml_exe, lab, "dataset", "add", "series", str(source), "--version", "1", "--license", "CC0-1.0",
                "--time-column", column, "--target", target)
    assert added.returncode == 0, added.stderr
    done = cli(strataml_exe, lab, "experiment", "new", "split", "--dataset", "dataset:series@1")
    assert done.returncode == 0, done.stderr
    path = lab / "experiments/split.yaml"
    text = path.read_text()
    lines = text.splitlines()
    at = lines.index("# split:")
    block = [lines[at][2:]]
    for line in lines[at + 1 :]:
        if not line.startswith("#   "):
            break
        block.append(line[2:])
    suggested = yaml.safe_load("\n".join(block))["split"]
    assert suggested["kind"] == "time" and suggested["column"] == column
    windows = suggested["windows"]
    recorded = yaml.safe_load((lab / "datasets/series/1/dataset.yaml").read_text())["time_range"]
    assert windows["train"]["start"] == recorded["start"] and windows["test"]["end"] == recorded["end"]
    spec = yaml.safe_load(text)
    spec["split"] = suggested
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    checked = cli(strataml_exe, lab, "doctor", "--strict", "--format", "json")
    assert not [f for f in json.loads(checked.stdout)["findings"] if f["path"] == "experiments/split.yaml"], checked.stdout
    import importlib.util

    if importlib.util.find_spec("sklearn") is not None:  # (the core-only job has no plugin to run it)
        dry = cli(strataml_exe, lab, "run", "experiments/split.yaml", "--dry-run")
        assert dry.returncode == 0, dry.stdout + dry.stderr


@pytest.mark.parametrize("names", [("rc1", "rc1"), ("ec1", "EC1")])
def test_two_at_once_make_one_spec(lab: Path, strataml_exe: list[str], names: tuple[str, str]) -> None:
    """Found by an attacker: two `experiment new` of one name at once both said "Created" and one
    spec replaced the other; of two names alike but for case, both were made (TFC0008-E004)."""
    procs = [
        subprocess.Popen([*strataml_exe, "-C", str(lab), "experiment", "new", name, "--dataset", "dataset:iris@1",
                          "--model", model], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, model in zip(names, ("random_forest", "gradient_boosting"), strict=True)
    ]
    done = [(p.wait(timeout=120), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    assert sorted(code for code, _err in done) == [0, 2], done
    refused = next(err for code, err in done if code == 2)  # (caught under the lock, or before it if the other had ended)
    assert "was made meanwhile" in refused or "already exists" in refused or "collides with" in refused, refused
    assert len(list((lab / "experiments").glob("*.yaml"))) == 1


def test_a_command_that_waits_for_a_lock_says_so(lab: Path, strataml_exe: list[str]) -> None:
    """Found by a review: a command behind another's lock waited without a word (a registration
    holds its lock while it copies a model), and looked hung."""
    import fcntl

    (lab / ".strataml/locks").mkdir(parents=True, exist_ok=True)
    with open(lab / ".strataml/locks/experiments.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        proc = subprocess.Popen([*strataml_exe, "-C", str(lab), "experiment", "new", "w1", "--dataset", "dataset:iris@1"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        said = proc.stderr.readline()  # type: ignore[union-attr]
        assert said == "strataml: waiting for another strataml command to finish (it holds .strataml/locks/experiments.lock)\n"
        assert proc.poll() is None
        fcntl.flock(held, fcntl.LOCK_UN)
    assert proc.wait(timeout=60) == 0 and (lab / "experiments/w1.yaml").is_file()
