"""Sharded verification: N CI jobs each check a part of the records completely, and together
exactly what one full run checks.

The plan is made from the metadata alone (no file is read), the same in every job: records in
the order they were created (`created_at`, then ref), each given to the shard with the fewest
bytes to hash so far (then the fewest records, then the lowest number). So the largest shard
hashes at most the mean plus one record's bytes, and a record created after the others (a new
run, dataset or model version: how a workspace grows) moves no other record. A record back-dated
before others, or one removed, can move those created after it. Records with no time (experiment
specs) are placed by rendezvous hashing of their ref, which nothing else changes.
A finding belongs to the shard of the first record it is about (doctor.owners); a finding about
no record (the config, the keys, a stray file) to shard 1. So the union of the shards' findings
is a full run's, each finding once.
"""

from __future__ import annotations

import hashlib
import heapq
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from strataml.controls import shown
from strataml.errors import StrataError
from strataml.records import Record
from strataml.times import parse_time

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
    said = text
    if raw == "auto":
        index, total = env.get("CI_NODE_INDEX", ""), env.get("CI_NODE_TOTAL", "")
        unset = [name for name, value in (("CI_NODE_INDEX", index), ("CI_NODE_TOTAL", total)) if not value]
        if unset:
            raise StrataError(
                f"--shard auto: {' and '.join(unset)} {'is' if len(unset) == 1 else 'are'} not set",
                "GitLab sets both with `parallel: N`; elsewhere give --shard K/N (e.g. from a matrix)",
            )
        raw = f"{index}/{total}"
        said = f"auto (CI_NODE_INDEX={shown(index)}, CI_NODE_TOTAL={shown(total)})"
    k, sep, n = raw.partition("/")
    if not sep or not (k.isascii() and k.isdigit() and n.isascii() and n.isdigit()):
        raise StrataError(f"--shard {shown(said)} is not K/N", "e.g. --shard 2/4: the second of four shards")
    shard = Shard(int(k), int(n))
    if not 1 <= shard.total <= MAX_SHARDS or not 1 <= shard.index <= shard.total:
        raise StrataError(
            f"--shard {shown(said)}: K must be 1 to N and N 1 to {MAX_SHARDS}", "e.g. --shard 1/4 ... --shard 4/4"
        )
    return shard


def plan(records: Iterable[Record], total: int) -> dict[str, int]:
    """Every record's shard (1-based), by ref."""
    dated: list[tuple[datetime, str, Record]] = []
    undated: list[tuple[None, str, Record]] = []
    for record in records:
        when = _created(record)
        if when is not None:
            dated.append((when, str(record.ref), record))
        else:
            undated.append((None, str(record.ref), record))
    # No time (an experiment spec, which has no files, or a record too broken to say): its ref
    # alone decides (rendezvous hashing) and it weighs nothing in the plan, so it moves nothing.
    out = {ref: shard_of(ref, total) for _none, ref, _record in undated}
    heap = [(0, 0, k) for k in range(1, total + 1)]  # (bytes, records, shard): heapq's order
    for _when, ref, record in sorted(dated, key=lambda item: (item[0], item[1])):
        load, count, k = heapq.heappop(heap)
        out[ref] = k
        heapq.heappush(heap, (load + _bytes(record), count + 1, k))
    return out


def shard_of(ref: str, total: int) -> int:
    """The shard (1-based) rendezvous hashing gives `ref` among `total`: the highest score wins."""
    best, chosen = b"", 1
    for k in range(1, total + 1):
        score = hashlib.sha256(f"{k}\0{ref}".encode("utf-8", "surrogatepass")).digest()
        if score > best:
            best, chosen = score, k
    return chosen


def _created(record: Record) -> datetime | None:
    when = record.data.get("created_at") if isinstance(record.data, dict) else None
    return parse_time(when) if isinstance(when, str) else None


def _bytes(record: Record) -> int:
    return sum(e.size for e in record.files if isinstance(e.size, int) and e.size > 0)


def planned_bytes(records: Iterable[Record], assignment: dict[str, int], total: int) -> list[int]:
    """The bytes each shard hashes, by the sizes the records declare (no file is read)."""
    out = [0] * total
    for record in records:
        out[assignment[str(record.ref)] - 1] += _bytes(record)
    return out


def shard_of_finding(owners: list[str], assignment: dict[str, int]) -> int:
    """Where a finding is reported: the shard of the first record it is about, else shard 1."""
    for ref in sorted(owners):
        if ref in assignment:
            return assignment[ref]
    return 1
