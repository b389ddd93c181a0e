"""Sharded verification: N CI jobs each check a part of the records completely, and together
exactly what one full run checks.

A record's shard is chosen by rendezvous hashing of its ref: each shard scores the ref, the
highest score wins. Nothing else decides it, so a record never moves because another one was
added or removed, and every job computes the same plan from the metadata alone (no file is read).
A finding belongs to the shard of the first record it is about (doctor.owners); a finding about
no record (the config, the keys, a stray file) to shard 1. So the union of the shards' findings
is a full run's, each finding once.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass

from strataml.errors import StrataError
from strataml.records import Record

MAX_SHARDS = 256


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as CI matrices count
    total: int

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"


def parse(text: str, environ: dict[str, str] | None = None) -> Shard:
    """K/N, or `auto`: GitLab's CI_NODE_INDEX and CI_NODE_TOTAL (1-based)."""
    env = os.environ if environ is None else environ
    raw = text.strip()
    if raw == "auto":
        index, total = env.get("CI_NODE_INDEX", ""), env.get("CI_NODE_TOTAL", "")
        if not (index and total):
            raise StrataError(
                "--shard auto: CI_NODE_INDEX and CI_NODE_TOTAL are not set",
                "GitLab sets them with `parallel: N`; elsewhere give --shard K/N (e.g. from a matrix)",
            )
        raw = f"{index}/{total}"
    k, sep, n = raw.partition("/")
    if not sep or not (k.isascii() and k.isdigit() and n.isascii() and n.isdigit()):
        raise StrataError(f"--shard {text!r} is not K/N", "e.g. --shard 2/4: the second of four shards")
    shard = Shard(int(k), int(n))
    if not 1 <= shard.total <= MAX_SHARDS or not 1 <= shard.index <= shard.total:
        raise StrataError(
            f"--shard {text}: K must be 1 to N and N 1 to {MAX_SHARDS}", "e.g. --shard 1/4 ... --shard 4/4"
        )
    return shard


def shard_of(ref: str, total: int) -> int:
    """The shard (1-based) rendezvous hashing gives `ref` among `total`."""
    best, chosen = b"", 1
    for k in range(1, total + 1):
        score = hashlib.sha256(f"{k}\0{ref}".encode("utf-8", "surrogatepass")).digest()
        if score > best:
            best, chosen = score, k
    return chosen


def plan(records: Iterable[Record], total: int) -> dict[str, int]:
    """Every record's shard, by ref."""
    return {str(r.ref): shard_of(str(r.ref), total) for r in records}


def planned_bytes(records: Iterable[Record], assignment: dict[str, int], total: int) -> list[int]:
    """The bytes each shard hashes, by the sizes the records declare (no file is read)."""
    out = [0] * total
    for record in records:
        size = sum(e.size for e in record.files if isinstance(e.size, int) and e.size > 0)
        out[assignment[str(record.ref)] - 1] += size
    return out


def shard_of_finding(owners: list[str], assignment: dict[str, int]) -> int:
    """Where a finding is reported: the shard of the first record it is about, else shard 1."""
    for ref in sorted(owners):
        if ref in assignment:
            return assignment[ref]
    return 1
