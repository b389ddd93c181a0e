"""Describe CSV files for dataset records: columns with inferred types, rows, time range.

A CSV is read in bounded memory whatever it holds: one row (a record, with any quoted line
breaks in it) is read only up to MAX_ROW_CHARS characters and a header may name up to
MAX_COLUMNS columns; a file past either is refused with a message saying so, before the rest
of it is read. What is kept per column is bounded too (see _Column).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import filterfalse, islice
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from strataml.controls import shown
from strataml.errors import StrataError
from strataml.times import parse_time

_INT = re.compile(r"[+-]?\d+")
# The dot is required inside the optional group, so a long run of digits that fails at its end
# backtracks in linear time (`\d+\.?\d*` tried every split of the run: quadratic).
_FLOAT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]?(nan|inf|infinity)", re.IGNORECASE)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
_BOOL = {"true", "false", "True", "False", "TRUE", "FALSE"}
# Types from most to least specific; a column takes the first that every value fits.
_ORDER = ("boolean", "integer", "float", "date", "datetime", "string")
CATEGORY_MAX = 50
# A category's values are short labels; a longer value makes its column free text.
CATEGORY_VALUE_MAX = 64
# One CSV row (every field of it, quoted line breaks included, its own line ending not) is read
# up to this many characters.
MAX_ROW_CHARS = 4 * 1024 * 1024
# Columns a header may name. Each column keeps up to CATEGORY_MAX short values while it may still
# be a category, up to ~8 KB: 4,096 columns stay within ~35 MB.
MAX_COLUMNS = 4096
_AS_IS = "compress it (FILE.csv.gz is recorded as it is, without columns)"
# A column of numbers but for a few values that are not ('abc' where 5.1 was meant) is text by
# the types above, and recorded so; describe_csv notes it. Up to ODD_MAX distinct values that are
# not numbers are kept per column: past that, the column is text by its nature, not by a typo.
ODD_MAX = 10
# "A few": at most ODD_FEW values, or at most one in ODD_SHARE of the rows.
ODD_FEW = 5
ODD_SHARE = 100


@dataclass
class _Column:
    name: str
    fits: set[str] = field(default_factory=lambda: set(_ORDER))
    nulls: int = 0
    distinct: set[str] | None = field(default_factory=set)  # None: too many, or too long, for a category
    lo: str | None = None
    hi: str | None = None
    seen: bool = False  # whether any value (not empty) was seen
    # Values (not empty) that are not numbers, while there are few of them (None: more than
    # ODD_MAX distinct ones); how many cells hold them; the first one, with its line (values cut
    # to 64 characters).
    odd: set[str] | None = field(default_factory=set)
    odd_cells: int = 0
    first_odd: tuple[int, str] | None = None
    cells: int = 0  # values seen, empty ones included
    most_rows: int | None = None  # the most rows the file can hold (its size over the header's columns)

    def see(self, values: tuple[str, ...], line_at: Callable[[int], int] | None = None) -> None:
        """A batch of this column's values: what a column becomes does not depend on their
        order, so each distinct value of the batch is judged once, by C-level loops (2.5M rows of
        5 columns: ~2x quicker than a Python call per value). `line_at`: the line of the value at
        an index of `values` (for the first value that is not a number)."""
        unique = set(values)
        self.cells += len(values)
        if "" in unique:
            self.nulls += values.count("")
            unique.discard("")
        if not unique:
            return
        self.seen = True
        if self.distinct is not None:
            if max(map(len, unique)) > CATEGORY_VALUE_MAX:
                self.distinct = None  # not a category: stop keeping values
            else:
                self.distinct |= unique
                if len(self.distinct) > CATEGORY_MAX:
                    self.distinct = None
        for kind in list(self.fits):
            if kind != "string" and not all(map(_CHECKS[kind], unique)):
                self.fits.discard(kind)
        if self.odd is not None and "float" not in self.fits:
            self._see_odd(values, unique, line_at)

    def _see_odd(self, values: tuple[str, ...], unique: set[str], line_at: Callable[[int], int] | None) -> None:
        """Count the batch's values that are not numbers, while they are few (every batch
        before the first that holds one was all numbers: "float" still fit)."""
        here = list(islice(filterfalse(_FLOAT.fullmatch, unique), ODD_MAX + 1))
        if not here:
            return
        assert self.odd is not None
        self.odd.update(map(_cut, here))  # (kept cut, as a category's values are short: bounded memory)
        if len(self.odd) > ODD_MAX:
            self.odd = None  # text by its nature: no longer counted
            return
        if len(here) == 1:
            self.odd_cells += values.count(here[0])
        else:
            self.odd_cells += sum(map(set(here).__contains__, values))
        if self.odd_cells > ODD_FEW and self.most_rows is not None and self.odd_cells * ODD_SHARE > self.most_rows:
            # Never "a few" of the rows the file can hold, wherever the words come: a column of
            # labels (yes/no, a species), text by its nature; counting its cells in every batch
            # to the end cost a file of such columns ~11%.
            self.odd = None
            return
        if self.first_odd is None:
            at = min(map(values.index, here))
            self.first_odd = (line_at(at) if line_at is not None else at, _cut(values[at]))

    def odd_note(self, rows: int, name: str) -> str | None:
        """What to say of a column read as text for a few values that are not numbers, all its
        others being numbers (a typo made a column of measurements a category): None if not so."""
        kind = self.type(rows)
        if kind not in ("category", "string") or not self.odd or self.first_odd is None:
            return None
        numbers = rows - self.nulls - self.odd_cells
        few = self.odd_cells <= ODD_FEW or self.odd_cells * ODD_SHARE <= rows
        if not few or numbers <= self.odd_cells:
            return None
        line, value = self.first_odd
        one, others = self.odd_cells == 1, sorted(self.odd - {value})
        also = ""
        if others:
            more = self.odd_cells - 1
            listed = ", ".join(repr(_cut(v, 20)) for v in others[:3]) + (", ..." if len(others) > 3 else "")
            also = f" and {more:,} more {'values that are not numbers' if more > 1 else 'value that is not a number'} ({listed})"
        elif not one:
            also = f" ({self.odd_cells:,} times)"
        return (
            f"{name}:{line}: column {self.name} is read as text ({kind}) because of {value!r}{also}; its other "
            f"{numbers:,} values are numbers: if "
            + ("it is a typo, fix it" if one else "they are typos, fix them")
            + " and add the file again (as a new version)"
        )

    def type(self, rows: int) -> str:
        if not self.seen:
            return "string"  # no value seen (no rows, or all empty): nothing says it is boolean
        kind = next(k for k in _ORDER if k in self.fits)
        # Repeated values from a small set are categories; all-distinct text is free text.
        if kind == "string" and self.distinct is not None and len(self.distinct) < rows:
            return "category"
        return kind


def _cut(value: str, limit: int = 64) -> str:
    return value if len(value) <= limit else value[:limit] + "..."


def _date(value: str) -> bool:
    return bool(_DATE.fullmatch(value)) and parse_time(value) is not None


def _datetime(value: str) -> bool:
    return bool(_DATETIME.fullmatch(value) or _DATE.fullmatch(value)) and parse_time(value) is not None


# Whether a value fits each type but text (which every value fits).
_CHECKS: dict[str, Callable[[str], object]] = {
    "boolean": _BOOL.__contains__,
    "integer": _INT.fullmatch,
    "float": _FLOAT.fullmatch,
    "date": _date,
    "datetime": _datetime,
}
# What a batch holds at most before its values are judged: cells, and characters (rows may be
# up to MAX_ROW_CHARS each: the memory a description takes stays bounded whatever the file holds).
BATCH_CELLS = 1 << 16
BATCH_CHARS = 16 * 1024 * 1024


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: int
    columns: tuple[dict[str, object], ...]
    time_range: dict[str, str] | None
    # What the description noticed and the record cannot say: a column read as text for a few
    # values that are not numbers (its other values all are).
    notes: tuple[str, ...] = ()


def describe_csv(
    path: Path,
    *,
    time_column: str | None = None,
    target: str | None = None,
    named: str | None = None,
    tick: Callable[[int], None] | None = None,
) -> Table:
    """Read a CSV once: header, row count, a type per column and the time column's range.
    Errors name it as `named` (the path the user gave), else by its file name. `tick`: called
    with the characters read since its last call, as the rows are judged (a progress bar's)."""
    name = shown(named or path.name)
    reader: Any = None
    limit = csv.field_size_limit()
    csv.field_size_limit(MAX_ROW_CHARS)  # a field is never longer than its row, which is bounded below
    try:
        with open_csv(path) as fh:
            rows_in = _Rows(fh, name)
            # Read as pandas and the plugin read it (not strict: `"Smith" ,1` is a value), but
            # for a quote never closed, which swallowed the rest of the file into one field
            # (five rows became one, or a header of one column whose name held every line).
            reader = csv.reader(rows_in)
            header = next(reader, None)
            if not header:
                raise StrataError(f"{name}: CSV file has no header row", "the first line must name the columns")
            if len(header) > MAX_COLUMNS:
                raise StrataError(
                    f"{name}: the header names {len(header):,} columns; dataset add describes up to {MAX_COLUMNS:,}",
                    f"split it into narrower tables, or {_AS_IS}",
                )
            unnamed = [i + 1 for i, name in enumerate(header) if not name.strip()]
            if unnamed:
                raise StrataError(
                    f"{name}: CSV header leaves column {', '.join(map(str, unnamed[:5]))} without a name",
                    "give every column a name in the first line (pandas writes its index as an unnamed first "
                    "column: to_csv(..., index=False) leaves it out)",
                )
            if len(set(header)) != len(header):
                twice = sorted(name for name, n in Counter(header).items() if n > 1)
                raise StrataError(
                    f"{name}: CSV header repeats the column name '{shown(twice[0])}'",
                    "give every column a unique name",
                )
            last = rows_in.used  # characters of the last row read: its text ends the file when a quote stays open
            rows_in.used = 0  # the next row starts here
            # (Each row is at least its commas and a newline: at most this many rows follow.)
            most = os.fstat(fh.fileno()).st_size // len(header)
            cols = [_Column(name, most_rows=most) for name in header]
            tcol = _index(header, time_column, name, "--time-column")
            _index(header, target, name, "--target")
            rows = 0
            lo = hi = None
            batch: list[list[str]] = []
            # Rows skipped as empty, by where they came in the batch (its length then): the
            # lines of the batch's rows are told from them and the line of its last row.
            gaps: dict[int, int] = {}
            per, judged, line_no = max(1, BATCH_CELLS // len(header)), 0, 1
            for line_no, row in enumerate(reader, start=2):
                last, rows_in.used = rows_in.used, 0  # (the next row starts here)
                if not row:
                    gaps[len(batch)] = gaps.get(len(batch), 0) + 1
                    continue
                if len(row) != len(header):
                    raise StrataError(
                        f"{name}:{line_no}: row has {len(row)} fields, the header has {len(header)}",
                        "fix the row (a quoting problem?) before adding the file",
                    )
                rows += 1
                batch.append(row)
                if len(batch) == per or rows_in.read - judged > BATCH_CHARS:
                    _see(cols, batch, line_no, gaps)
                    batch, judged, gaps = [], rows_in.read, {}
                    if tick is not None:
                        tick(rows_in.taken())
                if tcol is not None:
                    value = row[tcol]
                    # Only the forms a record may hold (its time_range quotes the file's own text):
                    # parse_time alone also reads ' 2024-01-31', 20240131 or 2024-W05-3.
                    when = parse_time(value) if _DATE.fullmatch(value) or _DATETIME.fullmatch(value) else None
                    if when is None:
                        cut = value if len(value) <= 64 else value[:64] + "..."
                        raise StrataError(
                            f"{name}:{line_no}: {cut!r} in time column {time_column!r} is not a date or RFC 3339 time",
                            "use ISO dates (2024-01-31) or times (2024-01-31T12:00:00Z), with no space around them",
                        )
                    if lo is None or when < lo[0]:
                        lo = (when, value)
                    if hi is None or when > hi[0]:
                        hi = (when, value)
            _refuse_open_quote(fh, name, last, reader.line_num)  # (only the last row can hold one)
            _see(cols, batch, line_no, gaps)
            if tick is not None:
                tick(rows_in.taken())
    except UnicodeDecodeError as exc:
        raise StrataError(
            f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})", "re-export the CSV as UTF-8"
        ) from None
    except csv.Error as exc:
        where = f"{name}:{reader.line_num}" if reader is not None and reader.line_num else name
        raise StrataError(f"{where}: unreadable CSV: {exc}", _QUOTING) from None
    finally:
        csv.field_size_limit(limit)
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
                f"{name}: time column {time_column!r} has no values",
                "a time-stamped dataset needs at least one row",
            )
        time_range = {"column": time_column, "start": lo[1], "end": hi[1]}
    notes = tuple(note for note in (col.odd_note(rows, name) for col in cols) if note is not None)
    return Table(tuple(header), rows, tuple(columns), time_range, notes)


def _see(cols: list[_Column], batch: list[list[str]], last: int, gaps: dict[int, int]) -> None:
    """Each column's values in `batch` (rows of equal length) seen, column by column. `last`:
    the line of the batch's last row, or of an empty row after it; `gaps`: how many empty rows
    came where in the batch (its length when they were skipped)."""

    def line_at(i: int) -> int:
        # (Lines after row i: the batch's rows after it, and the empty rows skipped after it.)
        return last - (len(batch) - 1 - i) - sum(n for g, n in gaps.items() if g > i)

    if batch:
        for col, values in zip(cols, zip(*batch)):
            col.see(values, line_at)


def open_csv(path: Path) -> TextIO:
    """A CSV file as text for `csv`: UTF-8, without the byte-order mark spreadsheet programs
    write first (it would stay in the first column's name), line endings left to `csv`."""
    return open(path, newline="", encoding="utf-8-sig")


def csv_text(fh: BinaryIO) -> TextIO:
    """An open binary file as open_csv reads one."""
    return io.TextIOWrapper(fh, newline="", encoding="utf-8-sig")


_QUOTING = (
    "check the quoting (a field with a comma, quote or line break is written in double quotes, a quote inside it "
    'doubled: "") and the line endings'
)


_BREAK = re.compile(r"\r\n|\r|\n")


def _refuse_open_quote(fh: TextIO, name: str, chars: int, lines: int) -> None:
    """Refuse the file `fh` reads when its last row, the last `chars` characters read, ends inside
    a quoted field: a quote never closed read the rest of the file into one field. The row is
    read again from the file's end, through the same file (rows are not kept as they are read);
    `lines`: the reader's line count there, so the row that opened the quote is named."""
    raw = getattr(fh, "buffer", None)
    if chars <= 0 or raw is None or not raw.seekable():
        return
    size = raw.seek(0, 2)
    raw.seek(max(0, size - 4 * chars - 4))  # (UTF-8: at most 4 bytes a character)
    text = raw.read().decode("utf-8", "ignore").lstrip("\ufeff")[-chars:]
    if _ends_quoted(text):
        breaks = len(_BREAK.findall(text))
        began = lines - breaks + (1 if text.endswith(("\n", "\r")) else 0)
        raise StrataError(
            f"{name}:{began}: unreadable CSV: a quoted field opened in this row is never closed (it ran to the end "
            "of the file)",
            _QUOTING,
        )


def _ends_quoted(text: str) -> bool:
    """Whether a row's text ends inside a quoted field, as csv reads one: a quote opens a field
    only at its start, `""` inside it is a quote, and one closes it (a quote inside an unquoted
    value, `5'11"`, is the value's)."""
    quoted, at_start, i, n = False, True, 0, len(text)
    while i < n:
        c = text[i]
        if quoted:
            if c == '"':
                if i + 1 < n and text[i + 1] == '"':
                    i += 1  # (a doubled quote: the field's own)
                else:
                    quoted = False
        elif c == '"' and at_start:
            quoted = True
        at_start = not quoted and c in ",\r\n"
        i += 1
    return quoted


class _Rows(Iterator[str]):
    """The file's lines for csv.reader, at most MAX_ROW_CHARS characters per row (not counting
    its line ending): a row past that is refused when its first excess character is read,
    never held whole."""

    def __init__(self, fh: TextIO, name: str) -> None:
        self.fh, self.name = fh, name
        self.used = 0  # characters of the current row read so far; the caller resets it per row
        self.lines = 0
        self.read = 0  # characters read in all
        self._told = 0

    def taken(self) -> int:
        """Bytes of the file read since the last call (a progress bar's total is the file's size;
        the text layer reads ahead by a chunk at most)."""
        buffer = getattr(self.fh, "buffer", None)
        at = buffer.tell() if buffer is not None else self.read
        told, self._told = at - self._told, at
        return told

    def __next__(self) -> str:
        # Room for the row and its ending ("\r\n" at most), and always one character more, so
        # a row that goes on past the limit is seen to, never taken for the end of the file.
        line = self.fh.readline(max(MAX_ROW_CHARS + 2 - self.used, 1))
        if not line:
            raise StopIteration
        self.lines += 1
        self.used += len(line)
        self.read += len(line)
        if self.used - (len(line) - len(line.rstrip("\r\n"))) > MAX_ROW_CHARS:
            raise StrataError(
                f"{self.name}:{self.lines}: a CSV row longer than {MAX_ROW_CHARS:,} characters; "
                "dataset add describes CSV files with rows up to that size",
                f"is it really a table? Move the long values into files of their own, or {_AS_IS}",
            )
        return line


SEPARATORS = ((";", "semicolons"), ("\t", "tabs"), ("|", "'|'"))


def other_separator(header: list[str] | tuple[str, ...]) -> str | None:
    """What a header of one column looks separated by instead of commas ("semicolons"), if anything."""
    if len(header) != 1:
        return None
    return next((label for sep, label in SEPARATORS if sep in header[0]), None)


def _index(header: list[str], column: str | None, name: str, option: str) -> int | None:
    if column is None:
        return None
    if column not in header:
        hint = f"columns are: {', '.join(header)}"
        other = other_separator(header)
        if other is not None:
            hint = (
                f"the header is one column, {shown(repr(header[0]))}: it looks separated by {other}, and CSV files "
                "are read comma-separated; convert it to commas first"
            )
        raise StrataError(f"{name}: {option} {column!r} is not a column", hint)
    return header.index(column)
