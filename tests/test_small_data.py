"""The sklearn plugin on too few rows for its split: the dry run says so from the rows the dataset
version records, and a run from the data, in the spec's words (scikit-learn said "The test_size = 1
should be greater or equal to the number of classes = 2", after the run had begun)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from conftest import ROOT, edit_yaml, read_yaml, require_extra

from strataml.cli.main import run
from strataml.plugins.sklearn import sizes

pytestmark = pytest.mark.timeout(300)

RAW = "should be greater or equal to the number of classes"


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    require_extra("sklearn", "sklearn")
    root = tmp_path / "lab"
    assert run(["init", str(root)]) == 0
    return root


def add(lab: Path, name: str, rows: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """dataset:NAME@1 of the CSV `x,z,y` + rows, and experiment NAME-exp on it (the defaults:
    logistic regression, a stratified 0.7/0.15/0.15 split)."""
    path = lab.parent / f"{name}.csv"
    path.write_text("x,z,y\n" + "\n".join(rows) + "\n", "utf-8")
    assert run(["-C", str(lab), "dataset", "add", name, str(path), "--version", "1", "--license", "MIT",
                "--source", "https://x", "--target", "y"]) == 0
    assert run(["-C", str(lab), "experiment", "new", f"{name}-exp", "--dataset", f"dataset:{name}@1"]) == 0
    capsys.readouterr()


def labelled(n: int, classes: str) -> list[str]:
    return [f"{i},{i * 2 % 7},{classes[i % len(classes)]}" for i in range(n)]


def test_five_rows_of_two_classes_are_refused_by_the_dry_run_and_the_run(
    lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add(lab, "tiny", labelled(5, "ab"), capsys)
    said = ("experiments/tiny-exp.yaml:13: split: 5 rows split 0.7/0.15/0.15 leave 3 rows to train, 1 row to validate "
            "and 1 row to test; a stratified split needs a row of each class in every split, and 'y' has at least 2 "
            "classes (the fewest a classifier learns from): add rows (8 at least for 2 classes), set split fractions "
            "that leave each split a row of each class, or set split.stratify: false")
    assert run(["-C", str(lab), "run", "tiny-exp", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert said in err, err
    # The run checks the same before anything is written (no failed run recorded).
    assert run(["-C", str(lab), "run", "tiny-exp"]) == 2
    err = capsys.readouterr().err
    assert said in err and RAW not in err, err
    assert not [p for p in (lab / "runs").iterdir() if p.is_dir()]
    # Without stratifying, three rows to train are enough to try: the dry run passes.
    edit_yaml(lab / "experiments/tiny-exp.yaml", lambda d: d["split"].update(stratify=False))
    assert run(["-C", str(lab), "run", "tiny-exp", "--dry-run"]) == 0, capsys.readouterr().err


def test_rows_recorded_as_a_whole_float_are_counted(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`rows: 5.0` is an integer to the schema; the dry run read it as not recorded and said
    nothing of a split too small to train."""
    add(lab, "tiny", labelled(5, "ab"), capsys)

    def as_float(d: dict) -> None:
        d["files"][0]["rows"] = 5.0

    edit_yaml(lab / "datasets/tiny/1/dataset.yaml", as_float)
    assert run(["-C", str(lab), "run", "tiny-exp", "--dry-run"]) == 2
    assert "5 rows split 0.7/0.15/0.15 leave 3 rows to train" in capsys.readouterr().err


def test_eight_rows_of_two_classes_are_enough(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The fewest the message says: the run succeeds on them."""
    add(lab, "eight", labelled(8, "ab"), capsys)
    assert run(["-C", str(lab), "run", "eight-exp", "--format", "json"]) == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["status"] == "succeeded"


def test_more_classes_than_the_dry_run_can_know_fail_the_run_with_what_to_change(
    lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A record holds no column's values: the dry run checks 10 rows against two classes (enough);
    the run finds three, too many for two rows to test, and says so in the spec's words."""
    add(lab, "three", labelled(10, "abc"), capsys)
    assert run(["-C", str(lab), "run", "three-exp", "--dry-run"]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert run(["-C", str(lab), "run", "three-exp", "--format", "json"]) == 2
    out, err = capsys.readouterr()
    said = ("split: 10 rows split 0.7/0.15/0.15 leave 6 rows to train, 2 rows to validate and 2 rows to test; a "
            "stratified split needs a row of each class in every split, and 'y' has 3 classes: add rows (15 at least "
            "for 3 classes), set split fractions that leave each split a row of each class, or set split.stratify: "
            "false")
    assert said in out + err and RAW not in out + err, out + err
    (folder,) = [p for p in (lab / "runs").iterdir() if p.is_dir()]
    record = read_yaml(folder / "run.yaml")
    assert record["status"] == "failed" and record["error"] == {"type": "ValueError", "message": said}


def test_a_class_of_one_row_is_named(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add(lab, "lone", labelled(30, "ab") + ["30,1,c"], capsys)
    assert run(["-C", str(lab), "run", "lone-exp"]) == 2
    err = capsys.readouterr().err
    assert ("split: class 'c' of 'y' has one row of the 31, and a stratified split needs a row of each class in "
            "every split: add rows of it, record a version of the dataset without it, or set split.stratify: false"
            ) in err, err
    assert "least populated" not in err


def test_synthetic_data_is_checked_by_its_settings(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """data.synthetic says its rows (n_samples) and classes (n_classes): the dry run knows both."""
    spec = lab / "experiments/synthetic-logreg.yaml"
    spec.write_bytes((ROOT / "experiments/synthetic-logreg.yaml").read_bytes())
    edit_yaml(spec, lambda d: (d["data"]["synthetic"].update(n_samples=12, n_classes=3, n_informative=4),
                                d["data"]["synthetic"].pop("weights")))
    assert run(["-C", str(lab), "run", "synthetic-logreg", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "split: 12 rows split 0.7/0.15/0.15 leave" in err and "'y' has 3 classes: add rows (15 at least" in err, err


def test_synthetic_counts_written_as_whole_floats_run(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`n_samples: 200.0` is an integer to the schema and passed every check, then scikit-learn
    refused it and the run was recorded as failed."""
    spec = lab / "experiments/synthetic-logreg.yaml"
    spec.write_bytes((ROOT / "experiments/synthetic-logreg.yaml").read_bytes())
    edit_yaml(spec, lambda d: d["data"]["synthetic"].update(n_samples=200.0, n_features=6.0, n_informative=3.0))
    assert run(["-C", str(lab), "run", "synthetic-logreg", "--dry-run"]) == 0, capsys.readouterr().err
    assert run(["-C", str(lab), "run", "synthetic-logreg", "--no-register"]) == 0, capsys.readouterr().err
    [folder] = [p for p in (lab / "runs").iterdir() if p.is_dir()]
    assert yaml.safe_load((folder / "run.yaml").read_text())["status"] == "succeeded"


def test_synthetic_data_past_what_a_run_makes_is_refused_before_it_runs(
    lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The settings are tried on 100 rows: n_samples: 1e12 passed the dry run, and the run set
    out to fill terabytes of memory."""
    spec = lab / "experiments/synthetic-logreg.yaml"
    spec.write_bytes((ROOT / "experiments/synthetic-logreg.yaml").read_bytes())
    edit_yaml(spec, lambda d: d["data"]["synthetic"].update(n_samples=1e12))
    assert run(["-C", str(lab), "run", "synthetic-logreg", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "n_samples x n_features is" in err and "lower n_samples or n_features" in err, err
    assert run(["-C", str(lab), "run", "synthetic-logreg"]) == 2
    assert not [p for p in (lab / "runs").iterdir() if p.is_dir()]


@pytest.mark.parametrize("fractions", [(0.7, 0.15, 0.15), (0.8, 0.0, 0.2), (0.6, 0.2, 0.2), (0.5, 0.25, 0.25)])
def test_the_sizes_are_those_scikit_learn_makes(fractions: tuple[float, float, float]) -> None:
    """Counted as the plugin's split has scikit-learn count them: rounded up, in floating point (of
    100 rows split 0.7/0.15/0.15, 85 are left after the test rows, and 0.15 / 0.85 x 85 is
    15.000000000000002: 16 rows to validate)."""
    require_extra("sklearn", "sklearn")
    import numpy as np

    split = dict(zip(("train", "val", "test"), fractions), kind="ratio", stratify=False)
    for rows in range(3, 120):
        try:
            made = _old_split(np.array([i % 2 for i in range(rows)]), split, seed=1)
        except ValueError:  # (an empty training split)
            assert sizes.sizes(rows, split)["train"] == 0, rows
            continue
        assert {name: len(part) for name, part in made.items()} == sizes.sizes(rows, split), rows
    assert sizes.sizes(100, {"train": 0.7, "val": 0.15, "test": 0.15}) == {"train": 69, "val": 16, "test": 15}


def _old_split(y, split: dict, seed: int) -> dict:
    """The plugin's split as it was, scikit-learn's refusals and all."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    index = np.arange(len(y))
    strat = y if split["stratify"] else None
    rest, test = train_test_split(index, test_size=split["test"], stratify=strat, random_state=seed)
    if not split["val"]:
        return {"train": rest, "test": test}
    train, val = train_test_split(rest, test_size=split["val"] / (split["train"] + split["val"]),
                                  stratify=y[rest] if split["stratify"] else None, random_state=seed)
    return {"train": train, "val": val, "test": test}


@pytest.mark.parametrize("stratify", [True, False])
def test_what_is_refused_never_trains_and_what_passes_splits(stratify: bool) -> None:
    """Against scikit-learn itself, over small tables of 2-4 classes, balanced or not: a split the
    check refuses failed (scikit-learn refused it, or left one class to train on); one it passes
    is made (or refused by the second look, at the rows left once the test rows are set aside)."""
    require_extra("sklearn", "sklearn")
    import numpy as np

    from strataml.plugins.sklearn import data

    shapes = [[n // k + (i < n % k) for i in range(k)] for n in range(2, 26) for k in (2, 3, 4)]
    shapes += [[1, 9], [2, 10], [2, 2, 12], [3, 3, 3], [1, 1, 1, 20]]
    for fractions in ((0.7, 0.15, 0.15), (0.8, 0.0, 0.2), (0.34, 0.33, 0.33)):
        split = dict(zip(("train", "val", "test"), fractions), kind="ratio", stratify=stratify)
        for counts in shapes:
            y = np.array([c for c, n in enumerate(counts) for _ in range(n)])
            rows, balance = len(y), {str(c): n for c, n in enumerate(counts)}
            said = sizes.problem(rows, split, "y", counts=balance)
            # (A dry run knows no classes, and checks against two: it never refuses what the run passes.)
            assert sizes.problem(rows, split, "y") is None or said is not None, (counts, fractions)
            try:
                old = _old_split(y, split, seed=3)
                trains = len(set(y[old["train"]])) >= 2
            except ValueError:
                trains = False
            if said is not None:
                assert not trains, (counts, fractions, said)
                continue
            spec = SimpleNamespace(split=split, seed=3, data={"target": "y"})
            try:
                data.split(spec, SimpleNamespace(y=y))
            except ValueError as exc:
                assert stratify and str(exc).startswith("split: class"), (counts, fractions, exc)
