"""Read the plugin's part of a RunSpec: which estimator, which params, which columns."""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any

from strataml.numbers import whole
from strataml.plugins.sklearn.names import MODELS
from strataml.runner.plugin import RunSpec
from strataml.tabular import MAX_COLUMNS

USABLE_TYPES = ("integer", "float", "boolean", "category")
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class Config:
    model_type: str
    params: dict[str, Any]
    target: str
    features: tuple[str, ...]


def estimator_class(model_type: str) -> type:
    module, _, name = MODELS[model_type].partition(":")
    return getattr(importlib.import_module(module), name)


def problems(spec: RunSpec) -> list[str]:
    """Everything wrong with the spec for this plugin, without training anything."""
    out = []
    model_type = spec.model.get("type")
    if model_type not in MODELS:
        return [f"model.type {model_type!r} is not supported by the sklearn plugin; use one of {', '.join(MODELS)}"]
    cls = estimator_class(model_type)
    accepted = set(inspect.signature(cls).parameters)
    params = spec.model.get("params") or {}
    unknown = [key for key in sorted(params) if key not in accepted]
    for key in unknown:
        from strataml.spelling import nearest

        close = nearest(str(key), sorted(accepted))
        meant = f" (did you mean {close[0]}?)" if close else ""
        out.append(f"model.params.{key} is not a parameter of {MODELS[model_type].split(':')[1]}{meant}")
    validate = getattr(cls, "_validate_params", None)  # (scikit-learn 1.2+: its own check, without fitting)
    if validate is not None:
        # The known ones checked beside the unknown ones named: a misspelt key and a bad value
        # are both said at once, not one after the other is fixed.
        try:
            cls(**{key: value for key, value in params.items() if key in accepted})._validate_params()
        except (TypeError, ValueError) as exc:  # (InvalidParameterError is both)
            out.append(f"model.params: {exc}")
    if spec.seed > MAX_SEED:  # (numpy's random state, which scikit-learn seeds from it, holds 32 bits)
        out.append(f"seed {spec.seed} is past {MAX_SEED}, the largest seed scikit-learn takes")
    if spec.dataset is None:
        refused = _synthetic_problems(spec)
        out.extend(refused)
        if not refused:
            params = synthetic(spec)
            out.extend(_split_problems(spec, "y", params.get("n_samples", 100), params.get("n_classes", 2)))
        return out
    columns = {c.get("name"): c for c in spec.dataset.columns if isinstance(c, dict)}
    if not columns:
        out.append(
            f"{spec.dataset.ref} records no columns; recreate it with `strataml dataset add` (CSV files get columns)"
        )
        return out
    target = spec.data.get("target")
    if not target:
        out.append("data.target must name the label column")
    elif target not in columns:
        out.append(f"data.target {target!r} is not a column of {spec.dataset.ref} ({', '.join(map(str, columns))})")
    for name in spec.data.get("features") or ():
        if name not in columns:
            out.append(f"data.features: {name!r} is not a column of {spec.dataset.ref}")
        elif columns[name].get("type") not in USABLE_TYPES:
            out.append(
                f"data.features: {name!r} is a {columns[name].get('type')} column; the plugin uses {', '.join(USABLE_TYPES)}"
            )
        elif name == target:
            out.append(f"data.features: {name!r} is the target")
    if spec.split["kind"] == "time" and spec.split.get("column") not in columns:
        out.append(f"split.column {spec.split.get('column')!r} is not a column of {spec.dataset.ref}")
    if (
        isinstance(target, str)
        and target in columns
        and not spec.data.get("features")
        and not _default_features(spec, target)
    ):
        # (Else scikit-learn says it, after the run began: "Found array with 0 feature(s)".)
        out.append(
            "data.features: "
            + NO_FEATURES.format(dataset=spec.dataset.ref)
            + "; add such a column in a new version of the dataset, or name another column as data.target"
        )
    if isinstance(target, str) and target in columns:
        out.extend(_split_problems(spec, target, spec.dataset.rows))
    return out


def _split_problems(spec: RunSpec, target: str, rows: int | None, classes: int | None = None) -> list[str]:
    """A ratio split that leaves a split too few rows for the target's classes, said by the dry run
    from the rows the dataset version records (its classes are not recorded: two at least), as the
    run says it from the data (sizes.problem, the one check of both)."""
    from strataml.plugins.sklearn.sizes import problem

    rows = whole(rows)
    if spec.split["kind"] != "ratio" or rows is None:
        return []
    said = problem(rows, spec.split, target, whole(classes))
    return [said] if said is not None else []


def _default_features(spec: RunSpec, target: str) -> list[str]:
    assert spec.dataset is not None
    time_column = spec.split.get("column") if spec.split["kind"] == "time" else None
    return default_features(spec.dataset.columns, target, time_column)


def default_features(columns: Any, target: str, time_column: str | None = None) -> list[str]:
    """The columns of a dataset trained on when data.features names none: every usable one but
    the target, the time split's column and those whose role is time, id or target (a label the
    spec does not predict is still a label: trained on, it leaks); what `experiment new` checks
    before it writes a spec, and a run reads."""
    return [
        c["name"]
        for c in columns
        if isinstance(c, dict)
        and c.get("name") not in (target, time_column)
        and c.get("role") not in ("time", "id", "target")
        and c.get("type") in USABLE_TYPES
    ]


NO_FEATURES = (
    "{dataset} has no column the plugin can train on besides the target (it uses "
    + ", ".join(USABLE_TYPES)
    + " columns that are not the time or an id column)"
)


def read(spec: RunSpec) -> Config:
    params = dict(spec.model.get("params") or {})
    cls = estimator_class(spec.model["type"])
    if "random_state" in inspect.signature(cls).parameters:
        params.setdefault("random_state", spec.seed)
    if spec.dataset is None:
        n = synthetic(spec).get("n_features", 20)
        return Config(spec.model["type"], params, "y", tuple(f"x{i}" for i in range(n)))
    target = spec.data["target"]
    chosen = spec.data.get("features") or _default_features(spec, target)
    return Config(spec.model["type"], params, target, tuple(chosen))


# make_classification's counts: a whole float given for one is its integer (`n_samples: 2000.0`
# is an integer to the schema, and one scikit-learn refuses after the checks passed).
_COUNTS = ("n_samples", "n_features", "n_informative", "n_redundant", "n_repeated", "n_classes", "n_clusters_per_class")


MAX_SYNTHETIC_VALUES = 250_000_000  # 2 GB of float64: past what a laptop's run should set out to make


def synthetic(spec: RunSpec) -> dict[str, Any]:
    """make_classification's settings as the spec gives them, its counts as integers."""
    given = spec.data.get("synthetic") or {}
    return {k: w if k in _COUNTS and (w := whole(v)) is not None else v for k, v in given.items() if k != "generator"}


def _synthetic_problems(spec: RunSpec) -> list[str]:
    """What make_classification refuses of the spec's settings, asked before anything runs: a
    few rows made with the same settings (n_features below what the other counts add up to,
    more classes than the informative features can tell apart, weights of another length each
    recorded a failed run)."""
    from sklearn.datasets import make_classification

    params = synthetic(spec)
    if params.get("n_informative", 2) > params.get("n_features", 20):
        return ["data.synthetic.n_informative cannot exceed n_features"]
    rows, columns = params.get("n_samples", 100), params.get("n_features", 20)
    if isinstance(columns, int) and columns > MAX_COLUMNS:
        # (The run records each feature: 60,000 passed, and the finished run.yaml was past the
        # metadata cap on nodes, TFC0001-E110, a record no one may edit.)
        return [f"data.synthetic.n_features is {columns:,}, past the {MAX_COLUMNS:,} columns a dataset holds: lower it"]
    if isinstance(rows, int) and isinstance(columns, int) and rows * columns > MAX_SYNTHETIC_VALUES:
        # (Checked on 100 rows, 1e12 passed, and the run set out to fill terabytes of memory.)
        return [
            f"data.synthetic: n_samples x n_features is {rows * columns:,} values ({rows * columns * 8 / 1e9:,.1f} GB "
            f"as floats), past the {MAX_SYNTHETIC_VALUES:,} a run makes: lower n_samples or n_features"
        ]
    try:
        make_classification(**{**params, "n_samples": min(params.get("n_samples", 100), 100)}, random_state=0)
    except (TypeError, ValueError) as exc:
        return [f"data.synthetic: {exc}"]
    return []
