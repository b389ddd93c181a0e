"""Describe CSV files for dataset records: columns with inferred types, rows, time range."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from strataml.errors import StrataError
from strataml.times import parse_time

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(nan|inf|infinity)", re.IGNORECASE)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
_BOOL = {"true", "false", "True", "False", "TRUE", "FALSE"}
# Types from most to least specific; a column takes the first that every value fits.
_ORDER = ("boolean", "integer", "float", "date", "datetime", "string")
CATEGORY_MAX = 50


@dataclass
class _Column:
    name: str
    fits: set[str] = field(default_factory=lambda: set(_ORDER))
    nulls: int = 0
    distinct: set[str] = field(default_factory=set)
    lo: str | None = None
    hi: str | None = None

    def see(self, value: str) -> None:
        if value == "":
            self.nulls += 1
            return
        if len(self.distinct) <= CATEGORY_MAX:
            self.distinct.add(value)
        for kind in list(self.fits):
            if kind != "string" and not _fits(kind, value):
                self.fits.discard(kind)

    def type(self, rows: int) -> str:
        kind = next(k for k in _ORDER if k in self.fits)
        # Repeated values from a small set are categories; all-distinct text is free text.
        if kind == "string" and len(self.distinct) <= CATEGORY_MAX and len(self.distinct) < rows:
            return "category"
        return kind


def _fits(kind: str, value: str) -> bool:
    if kind == "boolean":
        return value in _BOOL
    if kind == "integer":
        return bool(_INT.fullmatch(value))
    if kind == "float":
        return bool(_FLOAT.fullmatch(value))
    if kind == "date":
        return bool(_DATE.fullmatch(value)) and parse_time(value) is not None
    if kind == "datetime":
        return bool(_DATETIME.fullmatch(value) or _DATE.fullmatch(value)) and parse_time(value) is not None
    return True


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: int
    columns: tuple[dict[str, object], ...]
    time_range: dict[str, str] | None


def describe_csv(path: Path, *, time_column: str | None = None, target: str | None = None) -> Table:
    """Read a CSV once: header, row count, a type per column and the time column's range."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if not header:
                raise StrataError(f"{path.name}: CSV file has no header row", "the first line must name the columns")
            if len(set(header)) != len(header):
                raise StrataError(f"{path.name}: CSV header repeats a column name", "give every column a unique name")
            cols = [_Column(name) for name in header]
            tcol = _index(header, time_column, path, "--time-column")
            _index(header, target, path, "--target")
            rows = 0
            lo = hi = None
            for line_no, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) != len(header):
                    raise StrataError(
                        f"{path.name}:{line_no}: row has {len(row)} fields, the header has {len(header)}",
                        "fix the row (a quoting problem?) before adding the file",
                    )
                rows += 1
                for col, value in zip(cols, row):
                    col.see(value)
                if tcol is not None:
                    value = row[tcol]
                    when = parse_time(value)
                    if when is None:
                        raise StrataError(
                            f"{path.name}:{line_no}: {value!r} in time column {time_column!r} is not a date or RFC 3339 time",
                            "use ISO dates (2024-01-31) or times (2024-01-31T12:00:00Z)",
                        )
                    if lo is None or when < lo[0]:
                        lo = (when, value)
                    if hi is None or when > hi[0]:
                        hi = (when, value)
    except UnicodeDecodeError as exc:
        raise StrataError(
            f"{path.name}: not UTF-8 text ({exc.reason} at byte {exc.start})", "re-export the CSV as UTF-8"
        ) from None
    except csv.Error as exc:
        raise StrataError(f"{path.name}: unreadable CSV: {exc}", "check quoting and line endings") from None
    columns = []
    for col in cols:
        entry: dict[str, object] = {"name": col.name, "type": col.type(rows)}
        if col.name == time_column:
            entry["role"] = "time"
        elif col.name == target:
            entry["role"] = "target"
        if col.nulls:
            entry["nullable"] = True
        columns.append(entry)
    time_range = None
    if time_column is not None:
        if lo is None or hi is None:
            raise StrataError(
                f"{path.name}: time column {time_column!r} has no values",
                "a time-stamped dataset needs at least one row",
            )
        time_range = {"column": time_column, "start": lo[1], "end": hi[1]}
    return Table(tuple(header), rows, tuple(columns), time_range)


def _index(header: list[str], column: str | None, path: Path, option: str) -> int | None:
    if column is None:
        return None
    if column not in header:
        raise StrataError(f"{path.name}: {option} {column!r} is not a column", f"columns are: {', '.join(header)}")
    return header.index(column)
