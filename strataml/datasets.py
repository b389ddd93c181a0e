"""Create dataset versions (TFC-0002) so nobody writes a sha256 by hand."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strataml import atomic
from strataml.atomic import FULL, discard_staging, publish_dir, staging_dir, write_yaml
from strataml.errors import RecordExists, Refusal, StrataError
from strataml.hashing import dataset_digest, sha256_stream
from strataml.paths import git_reads
from strataml.refs import (
    NAME_RULE,
    SAME_NAME,
    VERSION_RULE,
    fold,
    name_beside,
    valid_name,
    valid_version,
    version_beside,
)
from strataml.schemas import schema_id, validate
from strataml.tabular import describe_csv, other_separator
from strataml.times import utc_now

# (files, bytes) -> what to tell of the characters read, or None: a progress bar's start.
Progress = Callable[[int, int], Callable[[int], None] | None]

SOURCE_KINDS = ("export", "download", "generated", "manual", "derived")
# Findings a refusal names; each is bounded (Finding caps its text), and so is their list.


@dataclass(frozen=True)
class NewDataset:
    name: str
    version: str
    files: tuple[Path, ...]
    description: str | None = None
    license: str | None = None
    source: str | None = None
    source_kind: str | None = None
    time_column: str | None = None
    target: str | None = None


def add(
    root: Path, spec: NewDataset, progress: Progress | None = None, *, notes: list[str] | None = None
) -> tuple[Path, dict[str, Any]]:
    """Copy the files into datasets/NAME/VERSION/ and write dataset.yaml; all or nothing.
    `progress`: called with (CSV files, their bytes) before they are read, it returns what to
    tell of the characters read (a bar on a terminal), or None. `notes`: extended with what
    reading the CSV files noticed that the record does not say (a column of numbers read as
    text because of a few values that are not numbers) and a signature the signing policy asks
    for, said to the user beside shape_notes.

    Returns the new folder and the record as written.
    """
    _check_names(spec)
    final = root / "datasets" / spec.name / spec.version
    if final.exists():
        raise RecordExists(
            f"dataset:{spec.name}@{spec.version} already exists ({final.relative_to(root).as_posix()})",
            "dataset versions are immutable: add the new data as a new --version",
        )
    twin = name_beside(root, "dataset", spec.name)
    if twin is not None:
        raise Refusal(
            f"dataset:{spec.name}@{spec.version} was not added: datasets/{twin} {SAME_NAME}",
            f"add it as a version of {twin} (`strataml dataset add {twin} ...`), or pick another name",
        )
    same = version_beside(root, "dataset", spec.name, spec.version)
    if same is not None:
        raise RecordExists(
            f"dataset:{spec.name}@{spec.version} would sit beside dataset:{spec.name}@{same}, the same version "
            "spelled otherwise",
            "pick another --version",
        )
    sources = _check_files(spec.files)
    rel = f"datasets/{spec.name}/{spec.version}"
    new_name = not final.parent.exists()
    staging = staging_dir(root, rel)
    try:
        record = _build(staging, spec, sources, progress, notes)
        write_yaml(staging, "dataset.yaml", record)
        from strataml.doctor.engine import refuse_staged

        unsigned = refuse_staged(
            root,
            rel,
            staging,
            f"dataset:{spec.name}@{spec.version}",
            "added",
            "nothing was written to datasets/; rename or leave out the files named, or pick another name or version",
        )
        if unsigned is not None and notes is not None:
            notes.append(unsigned)
        try:
            publish_dir(root, staging, rel)
        except FileExistsError:
            # (Another `dataset add` of the same version published first: the same refusal as
            # when it had before this one began, not "cannot access", exit 3.)
            raise RecordExists(
                f"dataset:{spec.name}@{spec.version} already exists ({rel}): another command added it meanwhile",
                "dataset versions are immutable: add the new data as a new --version",
            ) from None
    except BaseException:
        discard_staging(staging)
        if new_name:
            try:
                final.parent.rmdir()  # only if still empty: another add may have used it meanwhile
            except OSError:
                pass
        raise
    return final, record


def _check_names(spec: NewDataset) -> None:
    if not valid_name(spec.name):
        raise StrataError(
            f"{spec.name!r} is not a valid dataset name",
            NAME_RULE,
        )
    if not valid_version(spec.version):
        raise StrataError(f"{spec.version!r} is not a valid version", f"{VERSION_RULE}, e.g. 1, 2, 2024-06 or 1.0.0")
    if spec.source_kind is not None and spec.source_kind not in SOURCE_KINDS:
        raise StrataError(f"unknown source kind {spec.source_kind!r}", f"use one of {', '.join(SOURCE_KINDS)}")


def _check_files(files: tuple[Path, ...]) -> list[Path]:
    if not files:
        raise StrataError("no files given", "name at least one FILE to add")
    seen: dict[str, Path] = {}
    for path in files:
        try:
            st = os.stat(path)
        except OSError as exc:
            raise StrataError(f"cannot read {path}: {exc.strerror}", "check the path") from None
        if not stat.S_ISREG(st.st_mode):
            raise StrataError(
                f"{path} is not a regular file",
                "add regular files only (folders, pipes and devices cannot be recorded)",
            )
        if not path.name.isascii() and any("\udc80" <= c <= "\udcff" for c in path.name):
            raise StrataError(
                f"{path}: its name is not UTF-8 text, which a record (and every clone's checkout) cannot hold",
                "copy or rename the file to a name in UTF-8, then add that",
            )
        if git_reads(path.name):
            raise StrataError(
                f"{path} is named {path.name}, which git reads as its own instructions in the record's folder",
                "add the data under another name: it would change what every clone checks out (or leaves out)",
            )
        key = fold(path.name)
        if key in seen:
            raise StrataError(
                f"{path} and {seen[key]} would have the same name in the dataset",
                "rename one of them: a version holds each file name once",
            )
        seen[key] = path
    return list(files)


def shape_notes(record: dict[str, Any]) -> list[str]:
    """What a new version's CSV files look like they got wrong, said before it is committed
    (each was accepted: nothing is wrong for certain): CSV files with different headers (no
    columns recorded), a header of mostly numbers (a file without a header row, whose first
    row became the column names), one column whose name holds another separator (';', a tab),
    no data rows."""
    from strataml.controls import shown

    files = [f for f in record.get("files", []) if str(f.get("path", "")).lower().endswith(".csv")]
    csvs = [str(f["path"]) for f in files]
    notes = []
    if len(csvs) > 1 and "columns" not in record:
        notes.append(
            f"{', '.join(shown(c) for c in csvs)} have different headers, so no columns were recorded: "
            "no spec can name a target in them, and `strataml run` reads a version with recorded columns; "
            "for tables of their own, add each as a dataset of its own"
        )
    names = [str(c.get("name")) for c in record.get("columns") or [] if isinstance(c, dict)]
    which = shown(csvs[0]) if len(csvs) == 1 else "the CSV files"
    if names and sum(_number(n) for n in names) * 2 >= len(names):
        listed = ", ".join(repr(n) for n in names[:4]) + (", ..." if len(names) > 4 else "")
        notes.append(
            f"the header of {which} is mostly numbers ({shown(listed)}): if the file has no header row, its first "
            "row of data became the column names; add a first line naming the columns, and add the data as "
            "a new version"
        )
    other = other_separator(names)
    if other is not None:
        notes.append(
            f"{which} has one column, named {shown(repr(names[0]))}: it looks separated by "
            f"{other}, and CSV files are read comma-separated; convert it and add the data as a new version"
        )
    for f in files:
        if f.get("rows") == 0:
            notes.append(f"{shown(str(f['path']))} has a header and no rows of data: no run can train on it")
    return notes


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_to_read(paths: Iterable[str], chosen: str | None) -> tuple[str | None, list[str]]:
    """The CSV file a run reads from a dataset version whose files are `paths`: `chosen`
    (data.file) when it is one of its CSV files, else its only one; None when neither. Second,
    its CSV files, for the message that says why."""
    csvs = [p for p in paths if p.lower().endswith(".csv")]
    if chosen is not None:
        return (chosen if chosen in csvs else None), csvs
    return (csvs[0] if len(csvs) == 1 else None), csvs


def _build(
    staging: Path,
    spec: NewDataset,
    sources: list[Path],
    progress: Progress | None = None,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    tables = []
    csvs = [src for src in sources if src.suffix.lower() == ".csv"]
    tick = progress(len(csvs), sum(src.stat().st_size for src in csvs)) if progress is not None and csvs else None
    for src in sources:
        dest = staging / src.name
        try:
            # Created O_EXCL|O_NOFOLLOW, its folder opened without following links: a symlink
            # planted in the staging folder meanwhile is never written through. Hashed as it is
            # written: what is stored, in the one pass that reads the source.
            with open(src, "rb") as fh, atomic.create(staging, src.name) as out:
                sha, size = sha256_stream(fh, out.write)
        except OSError as exc:
            if exc.errno in FULL:  # (named where it was going, not the staging folder, removed by now)
                raise OSError(exc.errno, exc.strerror, f"datasets/{spec.name}/{spec.version}/{src.name}") from None
            raise
        entry: dict[str, Any] = {"path": src.name, "sha256": sha, "size": size}
        if src.suffix.lower() == ".csv":
            table = describe_csv(dest, time_column=spec.time_column, target=spec.target, named=str(src), tick=tick)
            entry["rows"] = table.rows
            tables.append(table)
            if notes is not None:
                notes.extend(table.notes)
        entries.append(entry)
    if (spec.time_column or spec.target) and not tables:
        raise StrataError("--time-column and --target need at least one CSV file", "add the CSV, or drop the option")
    entries.sort(key=lambda e: e["path"])
    record: dict[str, Any] = {
        "schema": schema_id("dataset"),
        "ref": f"dataset:{spec.name}@{spec.version}",
        "description": spec.description or _describe(spec, entries, tables),
    }
    if spec.license:
        record["license"] = spec.license
    if spec.source:
        record["source"] = _source(spec)
    record["created_at"] = utc_now()
    record["files"] = entries
    record["digest"] = dataset_digest((e["path"], e["sha256"]) for e in entries)
    if tables:
        record["rows"] = sum(t.rows for t in tables)
        if len({t.header for t in tables}) == 1:
            record["columns"] = [dict(c) for c in tables[0].columns]
        record["time_range"] = _merge_ranges(tables) if spec.time_column else None
    problems = validate("dataset", record)
    if problems:  # a bug here must not publish a record the doctor would reject
        raise StrataError(f"internal: the new record breaks its schema: {problems[0].message}")
    return record


def _describe(spec: NewDataset, entries: list[dict[str, Any]], tables: list[Any]) -> str:
    rows = f", {sum(t.rows for t in tables):,} rows" if tables else ""
    return f"{spec.name} version {spec.version}: {', '.join(e['path'] for e in entries)}{rows}"


def _source(spec: NewDataset) -> dict[str, str]:
    text = spec.source or ""
    is_url = text.startswith(("http://", "https://"))
    kind = spec.source_kind or ("download" if is_url else "manual")
    return {"kind": kind, "url": text} if is_url else {"kind": kind, "note": text}


def _merge_ranges(tables: list[Any]) -> dict[str, str]:
    from datetime import UTC, datetime

    from strataml.times import parse_time

    # The ranges come from tabular's own time column, so every bound parses.
    ranges = [t.time_range for t in tables if t.time_range]
    start = min(ranges, key=lambda r: parse_time(r["start"]) or datetime.min.replace(tzinfo=UTC))["start"]
    end = max(ranges, key=lambda r: parse_time(r["end"], end=True) or datetime.min.replace(tzinfo=UTC))["end"]
    return {"column": ranges[0]["column"], "start": start, "end": end}
