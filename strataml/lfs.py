"""Git LFS pointer files, exactly as the spec (git-lfs docs/spec.md) writes them.

A pointer is UTF-8 text under 1024 bytes: `version <url>`, then the other keys sorted
(`oid sha256:<64 lowercase hex>`, `size <bytes>`, optional `ext-N-name` keys), one per line,
LF-terminated. Anything that starts like a pointer but breaks the grammar is malformed; a
pointer that parses but is written differently from what git-lfs writes is non-canonical.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

MAX_POINTER = 1024
SPEC_V1 = "https://git-lfs.github.com/spec/v1"
LEGACY_VERSIONS = ("https://hawser.github.com/spec/v1",)
_KEY = re.compile(r"^[a-z0-9.-]+$")
_OID = re.compile(r"^sha256:([0-9a-fA-F]{64})$")


@dataclass(frozen=True)
class Pointer:
    oid: str  # lowercase hex
    size: int
    canonical: bool
    why_not: str | None = None  # why it is not canonical


class MalformedPointer(ValueError):
    pass


def looks_like_pointer(head: bytes) -> bool:
    """Cheap test on a file's first bytes: worth parsing as a pointer?"""
    return head.startswith(b"version ") and len(head) < MAX_POINTER


def parse(raw: bytes) -> Pointer:
    """Parse pointer bytes; raise MalformedPointer saying what is wrong."""
    if len(raw) >= MAX_POINTER:
        raise MalformedPointer(f"{len(raw)} bytes; a pointer is under {MAX_POINTER}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedPointer("not UTF-8 text") from None
    problems = []
    if "\r" in text:
        problems.append("CRLF line endings")
        text = text.replace("\r\n", "\n")
    if not text.endswith("\n"):
        problems.append("no final newline")
    lines = [ln for ln in text.split("\n") if ln != ""]
    pairs = []
    for line in lines:
        key, sep, value = line.partition(" ")
        if not sep or not _KEY.match(key):
            raise MalformedPointer(f"line {line!r} is not 'key value'")
        pairs.append((key, value))
    keys = [k for k, _ in pairs]
    if not keys or keys[0] != "version":
        raise MalformedPointer("the first key must be 'version'")
    if len(set(keys)) != len(keys):
        raise MalformedPointer("a key repeats")
    values = dict(pairs)
    version = values["version"]
    if version != SPEC_V1:
        if version in LEGACY_VERSIONS:
            problems.append(f"legacy version URL {version}")
        else:
            raise MalformedPointer(f"unknown version {version!r}")
    if "oid" not in values or "size" not in values:
        raise MalformedPointer("'oid' and 'size' are required")
    m = _OID.match(values["oid"])
    if not m:
        raise MalformedPointer(f"oid {values['oid']!r} is not sha256:<64 hex digits>")
    oid = m.group(1)
    if oid != oid.lower():
        problems.append("uppercase oid")
    if not values["size"].isdigit() or (values["size"].startswith("0") and values["size"] != "0"):
        raise MalformedPointer(f"size {values['size']!r} is not a non-negative integer")
    if keys[1:] != sorted(keys[1:]):
        problems.append("keys after 'version' are not sorted")
    if len(text.split("\n")) - 1 != len(lines):
        problems.append("blank lines")
    return Pointer(oid.lower(), int(values["size"]), not problems, "; ".join(problems) or None)


def format_pointer(oid: str, size: int) -> bytes:
    return f"version {SPEC_V1}\noid sha256:{oid}\nsize {size}\n".encode()


def object_path(git_dir: Path, oid: str) -> Path:
    """Where git-lfs keeps an object's content locally."""
    return git_dir / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
