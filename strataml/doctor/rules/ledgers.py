"""Lifecycle ledgers (TFC-0005): the hash chain holds, every transition is legal, promotions
to staging and production name the version's PASS gate receipt, one production version at most,
entry times never go backwards, precede their version, nor lie in the future.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strataml import atomic, lifecycle
from strataml.doctor.engine import Context
from strataml.doctor.finding import Finding
from strataml.doctor.rules.records import broken, receipt_findings
from strataml.refs import RefError, parse_ref
from strataml.times import parse_instant


def check(ctx: Context) -> Iterator[Finding]:
    ws = ctx.workspace
    for path in ctx.ledgers():
        name = path.split("/")[1]
        try:
            # The walk saw a regular file; the confined reader checks what is there now, and bounds it.
            raw = ws.read_bytes(path, limit=lifecycle.MAX_LEDGER_BYTES)
        except atomic.Refused as exc:
            problem = lifecycle.unreadable(exc)
            yield Finding(problem.code, path, problem.message, problem.hint)
            continue
        except OSError as exc:
            yield Finding(
                lifecycle.SCHEMA, path, f"cannot read the ledger: {exc.strerror}", "check the file's permissions"
            )
            continue
        if raw is None:
            continue  # removed since the walk: nothing to check
        ledger = lifecycle.parse(raw, name)
        if any(p.code == lifecycle.TIME for p in ledger.problems):
            ctx.volatile = True  # an entry in the future is fine once the clock passes it
        for problem in ledger.problems:
            yield Finding(problem.code, path, problem.message, problem.hint, problem.line)
        for number, entry in enumerate(ledger.entries, start=1):
            yield from _entry(ctx, path, number, entry)


def _before_registration(path: str, number: int, entry: dict, data: Any) -> Iterator[Finding]:
    """An entry dated before its version was registered (its created_at, less the clock skew
    allowed): a timeline an audit would read as the model in staging before it was trained."""
    at = parse_instant(entry["at"])
    if at is None or lifecycle.before_registration(data, at) is None:
        return
    yield Finding(
        lifecycle.TIME,
        path,
        f"line {number} moves {entry['ref']} on {entry['at']}, before the version was registered "
        f"({data['created_at']})",
        "restore the ledger from Git; promote on a machine whose clock is right (NTP)",
        number,
    )


def _entry(ctx: Context, path: str, number: int, entry: dict) -> Iterator[Finding]:
    try:
        record = ctx.workspace.get(parse_ref(entry["ref"]))
    except RefError:
        record = None
    if record is None:
        yield Finding(
            lifecycle.UNKNOWN_VERSION,
            path,
            f"line {number} is about {entry['ref']}, which is not registered in this workspace",
            "restore the model version (it is immutable once registered) or the ledger from Git",
            number,
        )
        return
    yield from _before_registration(path, number, entry, record.data)
    if entry["to"] not in lifecycle.NEEDS_PASS:
        return
    gate: dict[str, Any] = record.data["gate"] if isinstance(record.data.get("gate"), dict) else {}
    move = f"line {number} moves {entry['ref']} to {entry['to']}"
    hint = "only a version whose gates pass may reach staging or production; restore the ledger and promote a passing version"
    if entry["gate"] is None:
        message = f"{move} without naming a gate receipt"
    elif (state := broken(ctx, record)) is not None:
        # Still an error (nothing shows that the gates passed), but not "the receipt says nothing"
        # of a version whose receipt may say PASS: what model.yaml holds is not known.
        message = f"{move}, but {record.meta} {state}, so nothing shows that its gates pass"
        hint = f"restore {record.meta} from Git (a registered version never changes: its own error says what is wrong)"
    elif gate.get("status") != "PASS":
        message = f"{move}, but the version's gate receipt says {gate.get('status') or 'nothing'}"
    elif entry["gate"] != gate.get("digest"):
        message = f"{move} naming gate receipt {entry['gate']}, not the version's ({gate.get('digest')})"
    elif held := receipt_findings(ctx, record):
        # (model.yaml says PASS, but its receipt says otherwise or does not read: E002/E003 on
        # the version say what; a policy that turns those off must not let the move pass.)
        message = f"{move}, but its gate receipt does not hold ({held[0].code}: {held[0].message})"
    else:
        return
    yield Finding(
        lifecycle.WITHOUT_PASS,
        path,
        message,
        hint,
        number,
    )
