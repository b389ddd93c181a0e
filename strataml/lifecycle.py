"""Model lifecycle (TFC-0005): the hash-chained ledger, its replay, and exact appends.

A version's state is the replay of `models/NAME/lifecycle.jsonl`; versions without entries are
`registered`. Each entry hashes its canonical JSON (without `hash`) and names the previous
entry's hash, so an edit, removal or reordering breaks the chain at that line.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from strataml import atomic
from strataml.canonical import NotCanonical, jcs
from strataml.errors import StrataError
from strataml.schemas import schema_id, validate
from strataml.times import below_microseconds, parse_instant, parse_time, stamp
from strataml.workspace import LEDGER, restore_ledger

REGISTERED = "registered"
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "registered": ("candidate", "rejected"),
    "candidate": ("staging", "rejected"),
    "staging": ("production", "rejected", "candidate"),
    "production": ("archived",),
    "archived": (),
    "rejected": (),
}
STATES = tuple(TRANSITIONS)
NEEDS_PASS = ("staging", "production")

SCHEMA = "TFC0005-E001"
UNEXPECTED_ENTRY = "TFC0001-E002"  # (a ledger that is no regular file: as the doctor's walk says)
CHAIN = "TFC0005-E002"
ILLEGAL = "TFC0005-E003"
TWO_IN_PRODUCTION = "TFC0005-E004"
TORN = "TFC0005-E005"
WITHOUT_PASS = "TFC0005-E007"
TIME = "TFC0005-E008"
UNKNOWN_VERSION = "TFC0005-E009"
# How far an entry may be ahead of this machine's clock: clocks of the machines that promote drift.
CLOCK_SKEW = timedelta(minutes=5)
# The most a ledger may hold: an entry is ~450 bytes, so this is over 100,000 promotions, and it
# bounds what a ledger the repository made huge (or a link to /dev/zero) costs to read.
MAX_LEDGER_BYTES = 64 * 1024 * 1024


def ledger_path(root: Path, model: str) -> Path:
    return Path(root) / ledger_rel(model)


def ledger_rel(model: str) -> str:
    return f"models/{model}/{LEDGER}"


def canonical(entry: dict[str, Any]) -> bytes:
    """The entry's RFC 8785 form: the bytes its hash is over, and the line written. For every
    valid entry (ASCII keys; text, integers below 2^53 and null) these are the bytes of the
    compact, key-sorted json.dumps that wrote every ledger before 0.2.0: old chains verify as they did."""
    return jcs(entry)


def entry_hash(entry: dict[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical({k: v for k, v in entry.items() if k != "hash"})).hexdigest()


@dataclass(frozen=True)
class Problem:
    code: str
    line: int | None
    message: str
    hint: str


@dataclass
class Ledger:
    """A parsed ledger: the entries up to the first problem, the replayed states, the problems."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    states: dict[str, str] = field(default_factory=dict)  # ref -> state
    problems: list[Problem] = field(default_factory=list)
    size: int = 0  # bytes of the complete lines read
    cut: bool = False  # the last line lacks its newline and is no whole entry (a write cut short)

    @property
    def head(self) -> str | None:
        return self.entries[-1]["hash"] if self.entries else None

    def state(self, ref: str) -> str:
        return self.states.get(ref, REGISTERED)

    def production(self) -> list[str]:
        return sorted(r for r, s in self.states.items() if s == "production")


def parse(raw: bytes, model: str, now: datetime | None = None) -> Ledger:
    """Verify and replay a ledger's bytes; stops at the first line that breaks the chain.

    Entry times are checked against each other and against `now` (default: the clock); a time
    problem is reported once per kind and does not stop the replay.
    """
    out = Ledger()
    lines = raw.split(b"\n")
    torn = lines.pop()  # after the last "\n": empty unless the last line is incomplete
    if torn:
        out.problems.append(Problem(TORN, len(lines) + 1, "", ""))  # (said below, once its line is judged)
    prev: str | None = None
    broken = False
    fix = _restore_hint(model)  # (once a ledger, not once a line: most lines need none)
    two: tuple[int, list[str]] | None = None  # the first line after which two versions were in production
    for number, line in enumerate(lines, start=1):
        problem = _check(line, number, prev, model, out, fix)
        if problem is not None:
            out.problems.append(problem)
            broken = True
            break
        out.size += len(line) + 1
        prev = out.entries[-1]["hash"]
        if two is None and out.entries[-1].get("to") == "production" and len(out.production()) > 1:
            two = (number, out.production())
    if torn:
        # A whole entry that only lacks its newline (an editor dropped it) is not a cut-short
        # write: deleting it, as that hint says, would throw away a real promotion.
        scratch = Ledger(entries=list(out.entries), states=dict(out.states))  # (judged, not replayed)
        whole = not broken and _check(torn, len(lines) + 1, prev, model, scratch, fix) is None
        out.cut = not whole
        out.problems[0] = Problem(
            TORN,
            len(lines) + 1,
            "the last line ends without a newline; its entry is whole (an editor may have dropped the newline)"
            if whole
            else "the last line is incomplete (no final newline): a write was cut short",
            f"add the final newline back (`echo >> {ledger_rel(model)}`) and commit; never change the entries"
            if whole
            else "remove the incomplete last line (`git checkout` the ledger, or delete that line) and promote again",
        )
    out.problems += _times(out.entries, now or datetime.now(UTC))
    if len(out.production()) > 1:
        out.problems.append(
            Problem(
                TWO_IN_PRODUCTION,
                None,
                f"{len(out.production())} versions are in production: {', '.join(out.production())}",
                "archive all but one with `strataml promote MODEL_REF --to archived`",
            )
        )
    elif two is not None:
        # (At most one at any time, not only at the end: `promote` archives the one it replaces
        # first, in the same append.)
        out.problems.append(
            Problem(
                TWO_IN_PRODUCTION,
                two[0],
                f"after line {two[0]}, {len(two[1])} versions were in production at once: {', '.join(two[1])}",
                "a ledger's lines never change once committed: restore it from git and promote with `strataml "
                "promote`, which archives the version it replaces first",
            )
        )
    return out


def _restore_hint(model: str) -> str:
    """How to take a damaged ledger back: as the last commit holds it, or from before the commit
    that damaged it (which only its history tells)."""
    rel = shlex.quote(ledger_rel(model))
    return (
        f"restore the ledger from Git (in the workspace's folder: `git checkout HEAD -- {rel}`; if the damage is committed, "
        f"from the commit before it: `git log -p -- {rel}` shows which; one never committed: remove it and promote "
        "again); never edit it by hand"
    )


class _Repeated(ValueError):
    pass


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Repeated(key)
        out[key] = value
    return out


def _check(line: bytes, number: int, prev: str | None, model: str, out: Ledger, fix: str) -> Problem | None:
    try:
        entry = json.loads(line, object_pairs_hook=_no_repeats)
    except _Repeated as exc:
        return Problem(
            SCHEMA, number, f"line {number} repeats the key {exc.args[0]!r}: JSON readers disagree on which counts", fix
        )
    except RecursionError:
        return Problem(SCHEMA, number, f"line {number} nests too deeply to be a ledger entry", fix)
    except json.JSONDecodeError as exc:
        # (Some of json's messages end in "at", its exception's text giving the place after them.)
        where = f"{exc.msg} column {exc.colno}" if exc.msg.endswith(" at") else f"{exc.msg} at column {exc.colno}"
        return Problem(SCHEMA, number, f"line {number} is not JSON: {where}", fix)
    except ValueError as exc:  # not UTF-8
        return Problem(SCHEMA, number, f"line {number} is not JSON ({exc})", fix)
    issues = validate("ledger-entry", entry)
    if issues:
        return Problem(SCHEMA, number, f"line {number} is not a ledger entry: {issues[0].message}", fix)
    if entry["seq"] != number:
        return Problem(
            CHAIN, number, f"line {number} has seq {entry['seq']}: an entry was removed, added or reordered", fix
        )
    if entry["prev"] != prev:
        return Problem(
            CHAIN,
            number,
            f"line {number} does not follow the line before it (prev {entry['prev']}, expected {prev})",
            fix,
        )
    try:
        computed = entry_hash(entry)
        written = canonical(entry)
    except NotCanonical as exc:
        return Problem(SCHEMA, number, f"line {number} has no canonical form: {exc}", fix)
    if written != line:
        # One spelling per entry: a checker that read `"seq":3.0` or a reordered line as the same
        # entry and one that did not would disagree on the same ledger.
        return Problem(SCHEMA, number, f"line {number} is not written in its canonical form (RFC 8785)", fix)
    if entry["hash"] != computed:
        return Problem(
            CHAIN, number, f"line {number} was edited after it was written (its hash does not match its content)", fix
        )
    ref = entry["ref"]
    if not ref.startswith(f"model:{model}@"):
        return Problem(UNKNOWN_VERSION, number, f"line {number} is about {ref}, which is not a version of {model}", fix)
    current = out.states.get(ref, REGISTERED)
    if entry["from"] != current or entry["to"] not in TRANSITIONS[current]:
        legal = ", ".join(TRANSITIONS[current]) or "nothing"
        return Problem(
            ILLEGAL,
            number,
            f"line {number} moves {ref} {entry['from']} -> {entry['to']}, but it was {current} "
            f"(legal from {current}: {legal})",
            "restore the ledger; `strataml promote` refuses illegal moves",
        )
    out.entries.append(entry)
    out.states[ref] = entry["to"]
    return None


def _times(entries: list[dict[str, Any]], now: datetime) -> list[Problem]:
    """The first entry whose time is no real time, the first dated before the one above it, and
    the first dated in the future."""
    fix = "restore the ledger from Git; promote on a machine whose clock is right (NTP)"
    invalid = backwards = future = None
    last: tuple[datetime, int] | None = None
    for number, entry in enumerate(entries, start=1):
        at = parse_instant(entry["at"])
        if at is None:
            # The schema's pattern admits 2099-02-30: a time no clock shows would skip both checks below.
            if invalid is None:
                invalid = Problem(
                    TIME,
                    number,
                    f"line {number} is dated {entry['at']}, which is not an RFC 3339 time that exists "
                    "(a date, a time of day with seconds, and its offset, e.g. 2026-01-31T12:00:00Z)",
                    fix,
                )
            continue
        # (Ordered to the nanosecond RFC 3339 allows: datetime holds microseconds, so .0000009
        # then .0000001 read as one time and went backwards unseen.)
        when = (at, below_microseconds(entry["at"]))
        if backwards is None and last is not None and when < last:
            backwards = Problem(
                TIME,
                number,
                f"line {number} is dated {entry['at']}, before line {number - 1} ({entries[number - 2]['at']}): "
                "ledger times must not go backwards",
                fix,
            )
        if future is None and at > now + CLOCK_SKEW:
            future = Problem(
                TIME,
                number,
                f"line {number} is dated {entry['at']}, in the future (now {stamp(now)}; "
                f"{int(CLOCK_SKEW.total_seconds() // 60)} minutes of clock skew are allowed)",
                fix,
            )
        last = when
    return [p for p in (invalid, backwards, future) if p is not None]


def served(entries: list[dict[str, Any]]) -> list[str]:
    """The versions `entries` move to staging or production: what the model was served as (or
    about to be), whose bar a later version meets (gates.bar)."""
    return sorted({e["ref"] for e in entries if e.get("to") in NEEDS_PASS and isinstance(e.get("ref"), str)})


def clock_behind(ledger: Ledger, now: datetime) -> str | None:
    """Why an entry dated `now` cannot be appended (the last entry is later), or None."""
    if not ledger.entries:
        return None
    last = ledger.entries[-1]
    at = parse_instant(last["at"])
    if at is None or at <= now:
        return None
    return (
        f"this machine's clock says {stamp(now)}, but the ledger's last entry (line {last['seq']}) is dated "
        f"{last['at']}: a new entry would go backwards in time"
    )


def before_registration(data: object, now: datetime) -> str | None:
    """Why an entry dated `now` cannot be appended for the version whose model.yaml is `data`
    (it was registered later than that, past the clock skew allowed: TFC0005-E008), or None."""
    said = data.get("created_at") if isinstance(data, dict) else None
    created = parse_time(said) if isinstance(said, str) else None
    if created is None or created - datetime.min.replace(tzinfo=UTC) < CLOCK_SKEW or now >= created - CLOCK_SKEW:
        return None  # (registered in the first minutes of year 1: no entry can be dated before)
    return (
        f"this machine's clock says {stamp(now)}, but the version was registered at {said}: "
        "an entry dated before it would be refused (TFC0005-E008)"
    )


def read(root: Path, model: str) -> Ledger:
    """One model's ledger, read by the confined rules (strataml.atomic): a ledger that is a
    symlink, a special file or too large is not read; the Ledger says why in its problems."""
    try:
        raw = atomic.read_bytes(Path(root), ledger_rel(model), limit=MAX_LEDGER_BYTES)
    except atomic.Refused as exc:
        return Ledger(problems=[unreadable(exc)])
    except OSError as exc:
        return Ledger(
            problems=[
                Problem(
                    SCHEMA,
                    None,
                    f"the ledger cannot be read: {exc.strerror}",
                    "check the ledger file's permissions, or restore it from git",
                )
            ]
        )
    return Ledger() if raw is None else parse(raw, model)


def unreadable(exc: atomic.Refused) -> Problem:
    """Why a ledger was not read: too large (TFC0005-E001), or a symlink or not a regular file,
    which the doctor's walk reports as an unexpected entry (TFC0001-E002): one code for both."""
    if exc.what == "too large":
        return Problem(
            SCHEMA,
            None,
            f"{exc.message}: a ledger holds at most {MAX_LEDGER_BYTES // (1024 * 1024)} MiB (TFC-0005 section 2)",
            "if lines were added by hand (or a reason pasted whole), restore the ledger from git; one promotion "
            "writes one line, and a reason says why in a sentence",
        )
    return Problem(UNEXPECTED_ENTRY, None, exc.message, restore_ledger(exc.where))


def states_of(root: Path, model: str) -> dict[str, str]:
    """Replayed states of one model's versions (up to the first broken line)."""
    return read(root, model).states


def make_entry(
    seq: int, prev: str | None, ref: str, to: str, at: str, actor: str, reason: str, gate: str | None, current: str
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "schema": schema_id("ledger-entry"),
        "seq": seq,
        "prev": prev,
        "ref": ref,
        "from": current,
        "to": to,
        "at": at,
        "actor": actor,
        "reason": reason,
        "gate": gate,
    }
    entry["hash"] = entry_hash(entry)
    return entry


def lock_rel(model: str) -> str:
    """The file locked() locks for one model's ledger, relative to the workspace."""
    return f".strataml/locks/{model}.lock"


@contextmanager
def locked(root: Path, model: str) -> Iterator[None]:
    """An exclusive lock on one model's ledger, across processes (released on exit or crash)."""
    with atomic.locked(Path(root), lock_rel(model)):
        yield


def append(root: Path, model: str, expected_size: int, entries: list[dict[str, Any]]) -> None:
    """Write the ledger with `entries` appended, atomically (old or new file, never a torn line).

    Call under locked(); `expected_size` is the size the caller read, so a ledger changed
    behind the lock (by hand) is never overwritten.
    """
    for entry in entries:
        if parse_instant(entry["at"]) is None:  # the doctor would call the ledger broken (TFC0005-E008)
            raise StrataError(
                f"ledger entry {entry['seq']} is dated {entry['at']!r}, which is not a valid time",
                "nothing was written; check this machine's clock and promote again",
            )
    rel = ledger_rel(model)
    atomic.check(Path(root), rel)
    old = atomic.read_bytes(Path(root), rel, limit=MAX_LEDGER_BYTES) or b""
    if len(old) != expected_size:
        raise StrataError(f"{rel} changed while promoting", "run the command again")
    atomic.write_bytes(Path(root), rel, old + b"".join(canonical(e) + b"\n" for e in entries))
