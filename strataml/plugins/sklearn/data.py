"""Build the data (a workspace CSV or make_classification) and split it."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import Any

from strataml.plugins.sklearn import sizes
from strataml.plugins.sklearn.config import Config, synthetic
from strataml.runner.plugin import RunSpec
from strataml.tabular import MAX_ROW_CHARS
from strataml.times import parse_time


@dataclass
class Data:
    X: Any  # numpy object array (rows x features): floats, or text for category columns
    y: Any  # numpy array of labels
    features: list[dict[str, str]]  # name + type, the input schema of the model
    categorical: list[int]  # indexes of category columns
    times: Any | None  # numpy array of datetimes for time splits
    summary: dict[str, Any]


def load(spec: RunSpec, cfg: Config) -> Data:
    return _synthetic(spec, cfg) if spec.dataset is None else _csv(spec, cfg)


def _synthetic(spec: RunSpec, cfg: Config) -> Data:
    import numpy as np
    from sklearn.datasets import make_classification

    params = synthetic(spec)
    X, y = make_classification(random_state=spec.seed, **params)
    features = [{"name": name, "type": "float"} for name in cfg.features]
    summary = {"source": "synthetic", "generator": "make_classification", "params": params, "shape": list(X.shape)}
    return Data(X.astype(object), np.asarray(y), features, [], None, summary)


def _csv(spec: RunSpec, cfg: Config) -> Data:
    import numpy as np

    assert spec.dataset is not None
    types = {c["name"]: c.get("type") for c in spec.dataset.columns}
    time_column = spec.split.get("column") if spec.split["kind"] == "time" else None
    rel = spec.dataset.rel
    wanted = [*cfg.features, cfg.target, *([time_column] if time_column else [])]
    lines, rows = _rows(spec, wanted)
    X = np.empty((len(rows), len(cfg.features)), dtype=object)
    categorical = [i for i, name in enumerate(cfg.features) if types.get(name) == "category"]
    for j, name in enumerate(cfg.features):
        kind = types.get(name)
        for i, row in enumerate(rows):
            try:
                X[i, j] = _value(row[name], kind)
            except ValueError:
                raise ValueError(
                    _unread(rel, lines[i], name, row[name], f"a number (the version records a {kind} column)")
                ) from None
    y = np.asarray([row[cfg.target] for row in rows])
    _classes(y, cfg.target, types.get(cfg.target))
    times = None
    if time_column:
        times = np.asarray([parse_time(row[time_column]) for row in rows])
        for i, when in enumerate(times):
            if when is None:
                raise ValueError(_unread(rel, lines[i], time_column, rows[i][time_column], "a date or time"))
    features = [{"name": name, "type": types.get(name) or "float"} for name in cfg.features]
    summary = {
        "source": "dataset",
        "dataset": spec.dataset.ref,
        "digest": spec.dataset.digest,
        "file": spec.dataset.file.name,
        "shape": [len(rows), len(cfg.features)],
        "target": cfg.target,
    }
    return Data(X, y, features, categorical, times, summary)


def _rows(spec: RunSpec, wanted: list[str]) -> tuple[list[int], list[dict[str, str]]]:
    """(each row's line, the row by column) of the dataset's CSV; a ValueError naming the file
    and line for what `dataset add` would have refused: a row of another width, a header without
    a column the spec uses, text that is not UTF-8. (A record written by hand can pin such a file,
    and the doctor checks the bytes it pins, not what they say: the run failed with Python's words.)"""
    assert spec.dataset is not None
    rel = spec.dataset.rel
    fix = "the file does not hold what its version records: recreate the version with `strataml dataset add`"
    # Rows as long as `dataset add` describes (csv's own limit is 128 Ki characters a field).
    csv.field_size_limit(max(csv.field_size_limit(), MAX_ROW_CHARS))
    lines: list[int] = []
    rows: list[dict[str, str]] = []
    try:
        with spec.dataset.open() as fh:
            reader = csv.reader(fh)
            header = next(reader, None) or []
            missing = [name for name in dict.fromkeys(wanted) if name not in header]
            if missing:
                raise ValueError(f"{rel}: its header has no column {', '.join(map(repr, missing))}; {fix}")
            for row in reader:
                if not row:
                    continue  # (a blank line, as csv.DictReader skips it)
                if len(row) != len(header):
                    raise ValueError(
                        f"{rel}:{reader.line_num}: row has {len(row)} fields, the header has {len(header)}; {fix}"
                    )
                lines.append(reader.line_num)
                rows.append(dict(zip(header, row)))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{rel} is not UTF-8 text (byte {exc.start:,} is not); {fix}") from None
    return lines, rows


def _unread(rel: str, line: int, column: str, text: str, wanted: str) -> str:
    return f"{rel}:{line}: column {column!r} holds {text[:80]!r}, not {wanted}; fix the file in a new version of the dataset"


def _classes(y: Any, target: str, kind: str | None) -> None:
    """A ValueError for a target that is a measurement, not class labels: a float column whose
    values are not whole numbers (1.0 and 0.0 are classes). Without it, the split failed with
    scikit-learn's list of every distinct value, one line of kilobytes."""
    if kind != "float":
        return
    distinct = sorted({str(v) for v in y})
    fractional = [v for v in distinct if _fraction(v)]
    if fractional:
        raise ValueError(
            f"data.target {target!r} is a float column with {len(distinct):,} distinct values "
            f"({', '.join(fractional[:3])}, ...): the sklearn plugin trains classifiers, which predict class "
            "labels; name a column of classes as data.target, or record a version with this one binned into classes"
        )


def _fraction(text: str) -> bool:
    try:
        number = float(text)
    except ValueError:
        return False
    return number == number and abs(number) != float("inf") and not number.is_integer()


def _value(text: str, kind: str | None) -> Any:
    if kind == "category":
        return text
    if text == "":
        return float("nan")
    if kind == "boolean":
        return 1.0 if text.lower() == "true" else 0.0
    return float(text)


def split(spec: RunSpec, data: Data) -> dict[str, Any]:
    """Row indexes per split: stratified ratios, or inclusive time windows."""
    import numpy as np

    index = np.arange(len(data.y))
    if spec.split["kind"] == "time":
        out = {}
        for name, window in spec.split["windows"].items():
            lo, hi = parse_time(window["start"]), parse_time(window["end"], end=True)
            out[name] = index[[lo <= t <= hi for t in data.times]]  # type: ignore[union-attr]  # a time split has times
        return out
    from sklearn.model_selection import train_test_split

    s = spec.split
    # (What the dry run checked from the recorded rows, checked again with the classes the data
    # holds: scikit-learn's refusal named neither the spec's fractions nor what to change.)
    target = str(spec.data.get("target") or "y")
    said = sizes.problem(len(data.y), s, target, counts=balance(data.y))
    if said is not None:
        raise ValueError(said)
    strat = data.y if s.get("stratify") else None
    rest, test = train_test_split(index, test_size=s["test"], stratify=strat, random_state=spec.seed)
    if not s["val"]:
        return {"train": rest, "test": test}
    if s.get("stratify"):
        said = sizes.rest_problem(balance(data.y[rest]), target)
        if said is not None:
            raise ValueError(said)
    strat_rest = data.y[rest] if s.get("stratify") else None
    train, val = train_test_split(
        rest, test_size=s["val"] / (s["train"] + s["val"]), stratify=strat_rest, random_state=spec.seed
    )
    return {"train": train, "val": val, "test": test}


def balance(y: Any) -> dict[str, int]:
    import numpy as np

    labels, counts = np.unique(y, return_counts=True)
    return {str(label): int(count) for label, count in zip(labels, counts)}
