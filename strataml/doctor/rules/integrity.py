"""TFC-0006: every recorded file is present, safe and unchanged; every file is recorded."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator

from strataml.doctor.engine import Context
from strataml.doctor.finding import Finding
from strataml.records import FileEntry, Record
from strataml.workspace import SIGNATURE_SUFFIX, Entry

MISSING = "TFC0006-E001"
CHECKSUM = "TFC0006-E002"
SIZE = "TFC0006-E003"
UNSAFE_PATH = "TFC0006-E004"
ESCAPING_LINK = "TFC0006-E005"
SPECIAL = "TFC0006-E006"
UNRECORDED = "TFC0006-W001"

_DRIVE = re.compile(r"^[A-Za-z]:")


def check(ctx: Context) -> Iterator[Finding]:
    for record in ctx.workspace.records:
        if record.folder is None:
            continue
        recorded: set[str] = set()
        for entry in record.files:
            problem = unsafe(entry.path)
            if problem:
                yield Finding(UNSAFE_PATH, record.meta, f"{entry.field}[{entry.index}].path {entry.path!r} {problem}",
                              "record paths relative to the record folder, with '/' separators and no '..'",
                              record.line(entry.field, entry.index, "path"))
                continue
            rel = f"{record.folder}/{entry.path}"
            recorded.add(rel)
            yield from _verify(ctx, record, entry, rel)
        recorded.update(_also_known(record))
        yield from _unrecorded(ctx, record, recorded)


def unsafe(path: str) -> str | None:
    """Why a recorded path cannot be trusted to stay inside its record folder, or None."""
    if "\\" in path:
        return "uses a backslash"
    if path.startswith("/") or _DRIVE.match(path):
        return "is absolute"
    if "\x00" in path:
        return "contains a NUL byte"
    parts = path.split("/")
    if ".." in parts:
        return "climbs out with '..'"
    if any(p in ("", ".") for p in parts):
        return "has an empty or '.' segment"
    return None


def _verify(ctx: Context, record: Record, entry: FileEntry, rel: str) -> Iterator[Finding]:
    ws = ctx.workspace
    found = ws.entries.get(rel)
    line = record.line(entry.field, entry.index)
    if found is None or found.kind == "dir":
        what = "is a folder" if found else "is missing"
        yield Finding(MISSING, rel, f"recorded in {record.meta} but {what}",
                      "restore the file (git checkout / git lfs pull), or record a new version without it")
        return
    if found.kind in ("symlink", "special"):
        bad = _unopenable(ws.abspath(rel), found)
        if bad:
            yield bad
            return
    try:
        sha, size = ctx.sha256(rel)
    except OSError as exc:
        yield Finding(MISSING, rel, f"recorded in {record.meta} but cannot be read: {exc.strerror}",
                      "fix the file's permissions so the doctor can verify it")
        return
    if entry.size is not None and size != entry.size:
        yield Finding(SIZE, rel, f"size is {size:,} bytes but {record.meta} records {entry.size:,}: the content changed",
                      "restore the recorded content, or record a new version (recorded versions are immutable)", None)
        return
    if entry.sha256 and sha != entry.sha256:
        yield Finding(CHECKSUM, rel, f"content changed: sha256 is {sha[:16]}..., {record.meta} (line {line}) records {entry.sha256[:16]}...",
                      "restore the recorded content, or record a new version (recorded versions are immutable)", None)


def _unopenable(path: os.PathLike[str] | str, entry: Entry) -> Finding | None:
    """A finding for a path that must never be opened: escaping links and special files."""
    if entry.kind == "symlink" and entry.escapes:
        return Finding(ESCAPING_LINK, entry.path, f"symlink to {entry.link_target!r} leaves the repository (or points nowhere)",
                       "replace the link with the file itself (large files belong in Git LFS)")
    if entry.kind == "special":
        return Finding(SPECIAL, entry.path, "not a regular file (FIFO, socket or device); it was not opened",
                       "remove it: records hold regular files only")
    if entry.kind == "symlink":
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                return Finding(SPECIAL, entry.path, f"symlink to {entry.link_target!r} does not lead to a regular file; it was not opened",
                               "remove it: records hold regular files only")
        except OSError:
            return Finding(ESCAPING_LINK, entry.path, f"symlink to {entry.link_target!r} points nowhere", "remove the link or restore its target")
    return None


def _also_known(record: Record) -> set[str]:
    """Files a record folder may hold beyond what it pins: its metadata, signatures, gate receipt."""
    known = {record.meta, record.meta + SIGNATURE_SUFFIX}
    gate = record.data.get("gate")
    if record.kind == "model" and isinstance(gate, dict) and isinstance(gate.get("file"), str) and not unsafe(gate["file"]):
        known.add(f"{record.folder}/{gate['file']}")
    return known


def _unrecorded(ctx: Context, record: Record, recorded: set[str]) -> Iterator[Finding]:
    ws = ctx.workspace
    for entry in ws.under(record.folder or ""):
        if entry.kind == "dir" or entry.path in recorded:
            continue
        bad = _unopenable(ws.abspath(entry.path), entry)
        if bad:
            yield bad
            continue
        yield Finding(UNRECORDED, entry.path, f"file is in {record.folder}/ but {record.meta} does not record it",
                      "record it in a new version, or remove it (a record folder holds exactly what its record pins)")
