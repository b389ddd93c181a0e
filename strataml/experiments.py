"""`strataml experiment new`: write a commented experiment spec (TFC-0003) that runs as it is."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strataml import atomic
from strataml.datasets import csv_to_read
from strataml.errors import RecordExists, Refusal, StrataError
from strataml.loading import load_bytes
from strataml.plugins.sklearn.names import MODEL_TYPES as SKLEARN_MODELS
from strataml.refs import NAME_RULE, fold, valid_name
from strataml.schemas import validate
from strataml.workspace import Workspace

# Each type's parameters, as the spec's comment shows them (scikit-learn's names).
PARAMS_EXAMPLE = {
    "logistic_regression": "{C: 1.0, max_iter: 500}",
    "random_forest": "{n_estimators: 200, max_depth: 8}",
    "gradient_boosting": "{n_estimators: 200, learning_rate: 0.05}",
}
DEFAULT_MODEL = "logistic_regression"


@dataclass(frozen=True)
class NewExperiment:
    name: str
    dataset: str
    plugin: str = "sklearn"
    target: str | None = None
    model: str | None = None
    register: str | None = None
    gates: tuple[str, ...] = ()
    file: str | None = None


def create(workspace: Workspace, new: NewExperiment) -> tuple[str, dict[str, Any], list[str]]:
    """Write experiments/NAME.yaml; its path, the spec as data, and notes on what it may meet
    when it runs. Nothing is written on a refusal."""
    if not valid_name(new.name):
        raise StrataError(
            f"{new.name!r} is not a valid experiment name",
            NAME_RULE,
        )
    if new.register is not None and not valid_name(new.register):
        raise StrataError(
            f"--register {new.register!r} is not a valid model name",
            NAME_RULE,
        )
    from strataml.runner.plugin import installed

    # A spec for a plugin not installed here could not run here: most often a typo. (The doctor
    # only notes such a spec, TFC0003-I001: CI may check specs it never runs.)
    installed(new.plugin, "`strataml plugins` lists them; install a plugin's package before writing a spec for it")
    rel = f"experiments/{new.name}.yaml"
    if (workspace.root / rel).exists() or workspace.get(f"experiment:{new.name}") is not None:
        raise RecordExists(f"experiment:{new.name} already exists ({rel})", "edit that spec, or choose another name")
    # (On macOS and Windows checkouts IRIS.yaml and iris.yaml are one file: TFC0008-E004.)
    twin = next((r for r in workspace.of_kind("experiment") if fold(r.ref.name) == fold(new.name)), None)
    if twin is not None:
        raise Refusal(
            f"experiment:{new.name} was not created: it collides with {twin.ref} ({twin.meta}) under case-folding "
            "or Unicode normalisation, which the doctor rejects (TFC0008-E004)",
            f"edit {twin.meta}, or choose a name that differs in more than case",
        )
    dataset = workspace.require(new.dataset, "dataset", "name a dataset version, e.g. dataset:iris@1")
    if dataset.loaded.problems:  # (what it records is not known for sure: "records no CSV file" would mislead)
        problem = dataset.loaded.problems[0]
        at = f"{dataset.meta}:{problem.line}" if problem.line else dataset.meta
        raise StrataError(
            f"{dataset.ref}'s metadata cannot be read as written: {at}: {problem.message} [{problem.code}]",
            f"{problem.hint}; `strataml doctor` says what else is wrong" if problem.hint else "see `strataml doctor`",
        )
    # What `strataml run` reads: one CSV file of the version (data.file picks it among several).
    chosen, csvs = csv_to_read((f.path for f in dataset.files), new.file)
    if not csvs:
        raise StrataError(
            f"{dataset.ref} records no CSV file, and a run reads one",
            "add the data as CSV (`strataml dataset add NAME FILE.csv --version V`) and name that version",
        )
    if chosen is None and new.file is not None:
        raise StrataError(
            f"--file {new.file!r} is not a CSV file of {dataset.ref}", f"its CSV files: {', '.join(csvs)}"
        )
    if chosen is None:
        raise StrataError(
            f"{dataset.ref} records {len(csvs)} CSV files; a run reads one", f"pick it with --file ({', '.join(csvs)})"
        )
    columns = [c for c in dataset.data.get("columns") or () if isinstance(c, dict) and isinstance(c.get("name"), str)]
    if not columns:
        raise StrataError(
            f"{dataset.ref} records no columns, so no target can be checked and a run reads none",
            "add the version again from CSV files that share one header (`strataml dataset add`)",
        )
    target = new.target or next((c["name"] for c in columns if c.get("role") == "target"), None)
    names = [c["name"] for c in columns]
    if target is None:
        raise StrataError(
            f"which column of {dataset.ref} is the label?",
            f"pass --target COL (columns: {', '.join(names)})" if names else "pass --target COL",
        )
    if names and target not in names:
        raise Refusal(
            f"--target {target!r} is not a column of {dataset.ref} [TFC0003-E005]", f"columns: {', '.join(names)}"
        )
    model = new.model or (DEFAULT_MODEL if new.plugin == "sklearn" else None)
    if model is None:
        raise StrataError(f"the {new.plugin} plugin needs --model TYPE", "see the plugin's documentation for its types")
    if new.plugin == "sklearn" and model not in SKLEARN_MODELS:
        raise StrataError(
            f"--model {model!r} is not a type the sklearn plugin trains", f"use one of {', '.join(SKLEARN_MODELS)}"
        )
    if new.plugin == "sklearn":
        from strataml.plugins.sklearn.config import NO_FEATURES, default_features

        # (The spec it writes splits by ratio: no time column is left out of the features.)
        if not default_features(columns, target):
            # (The spec would pass the doctor and fail in scikit-learn: "Found array with 0 feature(s)".)
            raise Refusal(
                f"experiment:{new.name} was not created: " + NO_FEATURES.format(dataset=dataset.ref),
                "add a numeric, boolean or category column in a new version of the dataset, or pick another --target",
            )
    text = render(new, str(dataset.ref), target, model, dataset.data.get("time_range"))
    loaded = load_bytes(text.encode("utf-8"))
    problems = [p.message for p in loaded.problems] + [i.message for i in validate("experiment", loaded.data)]
    if problems:  # a gate the schema refuses (`x >= high`): a value given wrong, as a bad --model is
        raise StrataError(
            f"experiment:{new.name} was not created: {problems[0]}", "fix the value given on the command line"
        )
    _check_gate_metrics(new)
    root = Path(workspace.root)
    # Checked again under a lock, on disk: two `experiment new` at once both passed the checks
    # above (loaded before either wrote), and one spec replaced the other, or two names alike
    # but for case were both made.
    with atomic.locked(root, ".strataml/locks/experiments.lock"):
        made = sorted(p.name for p in (root / "experiments").glob("*.yaml")) if (root / "experiments").is_dir() else []
        same = next((name for name in made if fold(name[: -len(".yaml")]) == fold(new.name)), None)
        if same is not None:
            raise RecordExists(
                f"experiment:{new.name} was not created: experiments/{same} was made meanwhile",
                "edit that spec, or choose another name",
            )
        atomic.write_text(root, rel, text)
    notes = []
    if new.plugin == "sklearn" and next(c.get("type") for c in columns if c["name"] == target) == "float":
        notes.append(
            f"{target} is a float column; the sklearn plugin trains classifiers, which predict class labels: "
            "a measurement as the target fails when it runs"
        )
    return rel, loaded.data, notes


def _check_gate_metrics(new: NewExperiment) -> None:
    """The doctor's TFC0003-E004 before the spec exists: a gate on a metric the plugin never
    writes is refused here, not found at the first run."""
    from strataml.gates import unwritten
    from strataml.runner.plugin import declared

    if not new.gates:
        return
    said = declared(new.plugin)
    if said.metrics is None:
        return  # the doctor says it could not check (TFC0003-I001); creating the spec is still right
    wrong = unwritten(list(new.gates), said.metrics)
    if wrong:
        raise Refusal(
            f"experiment:{new.name} was not created: {wrong[0].message(new.plugin)} [TFC0003-E004]",
            f"a gate on an unwritten metric cannot pass; {new.plugin} writes: {', '.join(sorted(said.metrics))}",
        )


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}  # YAML 1.1 reads these as booleans or null


def _q(value: str, plain: bool = True) -> str:
    """A YAML scalar for text from the command line: plain when it cannot be read as anything but
    that text, else quoted (JSON's quoting is YAML's; control characters come out escaped)."""
    if plain and _PLAIN.fullmatch(value) and value.lower() not in _WORDS:
        return value
    return json.dumps(value)  # ASCII: NEL, DEL and C1 characters escaped too


def _time_windows(time_range: dict[str, Any]) -> dict[str, tuple[str, str]] | None:
    """Train, val and test windows over the dataset's recorded time range, about 70/15/15 of its
    days: the first starts as the range does and the last ends as it does (their recorded text),
    the bounds between them are whole UTC days (an end date holds its whole day), so every row is
    in exactly one window. None when the range is unreadable or covers fewer than three days."""
    from datetime import UTC, timedelta

    from strataml.times import parse_time

    start, end = time_range.get("start"), time_range.get("end")
    if not isinstance(start, str) or not isinstance(end, str):
        return None
    first, last = parse_time(start), parse_time(end, end=True)
    if first is None or last is None or last <= first:
        return None
    first_day, last_day = first.astimezone(UTC).date(), last.astimezone(UTC).date()
    days = (last_day - first_day).days + 1
    if days < 3:
        return None
    val = max(1, round(days * 0.15))
    train = max(1, min(round(days * 0.7), days - val - 1))
    day = timedelta(days=1)
    train_end = first_day + (train - 1) * day
    val_end = train_end + val * day
    return {
        "train": (start.strip(), train_end.isoformat()),
        "val": ((train_end + day).isoformat(), val_end.isoformat()),
        "test": ((val_end + day).isoformat(), end.strip()),
    }


def render(new: NewExperiment, dataset: str, target: str, model: str, time_range: Any) -> str:
    """The spec's text: every field with a comment saying what it does and what else it can be."""
    gates = "\n".join(f"  - {_q(g)}" for g in new.gates)
    gate_block = (
        f"gates:\n{gates}\n"
        if new.gates
        else "# gates: criteria a registered model's receipt records, e.g.\n#   - test_accuracy >= 0.90\ngates: []\n"
    )
    register = (
        f"register:\n  model: {_q(new.register)}\n"
        if new.register
        else f"# register: {{model: {new.name}}}   # register each run's model as a new version of this model\n"
    )
    time_note = ""
    if isinstance(time_range, dict) and time_range.get("column"):
        column = _q(str(time_range.get("column")), plain=False)
        time_note = (
            f"# This dataset has a time column ({column}): a split by time windows keeps later\n"
            "# rows out of training (kind: time, column, windows: train/val/test; TFC-0008 checks them for leakage).\n"
        )
        windows = _time_windows(time_range)
        if windows is not None:
            time_note += (
                "# Its recorded range cut 70/15/15, to use instead of the split below:\n"
                f"# split:\n#   kind: time\n#   column: {column}\n#   windows:\n"
                # (JSON's quoting is YAML's: the recorded texts come from the record, whatever they hold)
                + "".join(
                    f"#     {name}: {{start: {json.dumps(a)}, end: {json.dumps(b)}}}\n"
                    for name, (a, b) in windows.items()
                )
            )
    return (
        f"# Experiment spec (TFC-0003). Check it with `strataml run {f'experiments/{new.name}.yaml'} --dry-run`.\n"
        "schema: strataml/experiment/v1\n"
        f"name: {_q(new.name)}\n"
        f"description: {_q(f'{model} on {dataset}, predicting {target}')}\n"
        f"plugin: {_q(new.plugin)}\n"
        "data:\n"
        f"  dataset: {dataset}   # pinned by digest in every run\n"
        + (f"  file: {_q(new.file, plain=False)}\n" if new.file is not None else "")
        + f"  target: {_q(target)}\n"
        "  # features: [a, b]   # default: every usable column but the target\n"
        "model:\n"
        f"  type: {_q(model)}\n"
        f"  params: {{}}   # the estimator's parameters, e.g. {PARAMS_EXAMPLE.get(model, '{}')}\n"
        f"{time_note}"
        "split:\n"
        "  kind: ratio\n"
        "  train: 0.7\n"
        "  val: 0.15\n"
        "  test: 0.15\n"
        "  stratify: true\n"
        "seed: 42   # seeds the split and the estimator\n"
        "tags: {}\n"
        f"{gate_block}"
        f"{register}"
    )
