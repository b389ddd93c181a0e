"""`strataml promote`: the one command that changes history, so every check comes before the write."""

from __future__ import annotations

import getpass
import os
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from strataml import atomic, gates, lifecycle, trust
from strataml.errors import Refusal, StrataError
from strataml.records import Record, producing_run, served_experiments
from strataml.times import stamp
from strataml.workspace import SIGNATURE_SUFFIX, Workspace, load


class Refused(Refusal):
    """A promotion the contracts do not allow; the message says why and what would fix it (exit 2)."""


@dataclass(frozen=True)
class Promotion:
    ref: str
    before: str
    to: str
    entries: list[dict[str, Any]]  # what was (or, with dry_run, would be) appended
    written: bool
    signed_by: str | None = None
    notes: list[str] = field(default_factory=list)
    unnamed: bool = False  # git had no identity: the actor is the login name
    warnings: list[str] = field(default_factory=list)
    # Signers the policy still needs on the ledger (min_signers): they co-sign before it is committed.
    cosigners: list[str] = field(default_factory=list)


def promote(
    root: Path,
    target: str,
    to: str,
    *,
    reason: str = "",
    dry_run: bool = False,
    sign: bool = False,
    key: str | None = None,
    gnupghome: str | None = None,
) -> Promotion:
    from strataml.canonical import NotCanonical, string

    try:
        string(reason, "--reason")  # a ledger line is JCS text: an argument that is not Unicode cannot be one
    except NotCanonical as exc:
        raise StrataError(
            str(exc), "write the reason in plain text (the shell passed bytes that are not UTF-8)"
        ) from None
    ws = load(root)
    trust.require_config(ws.config)  # the policy decides what a promotion needs: never skipped as unreadable
    record = ws.require(target, "model", "promote a model version: model:NAME@VERSION")
    if to not in lifecycle.STATES:
        raise StrataError(f"unknown state {to!r}", f"states: {', '.join(lifecycle.STATES)}")
    name, ref = record.ref.name, str(record.ref)
    _refuse_broken(ws, record)
    policy = trust.read(ws.root, ws.config.data)
    # A dry run is this promotion stopped before its first write: every check below runs in both
    # (the signing policy's, the keys' and gpg's with --sign, whether the files can be written), so
    # a dry run refuses what the move would. It writes nothing, not even the lock (a read-only
    # checkout is told why the move would fail there); the ledger it reads is replaced whole by a
    # promotion, never seen half-written.
    _refuse_unwritable(ws.root, lifecycle.lock_rel(name), in_place=True)
    with nullcontext() if dry_run else lifecycle.locked(ws.root, name):
        now = datetime.now(UTC).replace(microsecond=0)
        ledger = lifecycle.read(ws.root, name)
        behind = lifecycle.clock_behind(ledger, now) or lifecycle.before_registration(record.data, now)
        if behind:
            raise Refused(behind, "check this machine's clock (NTP) and promote again; nothing was written")
        if ledger.problems:
            first = ledger.problems[0]
            raise Refused(
                f"{lifecycle.ledger_path(ws.root, name).relative_to(ws.root)} has a problem ({first.code}): {first.message}",
                first.hint,
            )
        current = ledger.state(ref)
        _refuse_illegal(ref, current, to)
        gate = _gate(ws, record, to)
        _refuse_below_spec(ws, record, to, ledger.entries)
        warnings = _unmeasured(ws, record, to) + _below_base(ws, record, to)
        _refuse_unsigned(ws, record, to, policy)
        rel = lifecycle.ledger_rel(name)
        if not sign and any(r.records == "ledger" for r in policy.requirements):
            raise Refused(
                "the signing policy requires the ledger to be signed",
                "pass --sign (and --key FPR if several pinned keys could sign)",
            )
        if not sign and (ws.root / (rel + SIGNATURE_SUFFIX)).exists():
            raise Refused(
                f"{rel} is signed: an unsigned append would break its signature", "pass --sign to sign the new ledger"
            )
        for written in (rel, rel + SIGNATURE_SUFFIX) if sign else (rel,):  # refused before gpg signs anything
            _refuse_unwritable(ws.root, written)
        at, (actor, unnamed) = stamp(now), _actor(ws.root)
        entries, notes = [], []
        seq, prev = len(ledger.entries) + 1, ledger.head
        if to == "production":
            for other in ledger.production():  # at most one production version: archive in the same append
                entry = lifecycle.make_entry(
                    seq, prev, other, "archived", at, actor, f"superseded by {ref}", _gate_of(ws, other), "production"
                )
                entries.append(entry)
                notes.append(f"{other}: production -> archived (superseded)")
                seq, prev = seq + 1, entry["hash"]
        entries.append(lifecycle.make_entry(seq, prev, ref, to, at, actor, reason, gate, current))
        signed_by, draft, cosigners = None, None, []
        if sign:
            from strataml.sign import SignTarget, signature

            # gpg signs the new ledger in a dry run too (the signature is then dropped): the key's
            # pin, scope and validity, the keyring (--gnupghome), --key and gpg itself are checked
            # by signing, and the result is judged as the doctor will judge it.
            old = atomic.read_bytes(ws.root, rel) or b""
            new = old + b"".join(lifecycle.canonical(e) + b"\n" for e in entries)
            draft = signature(ws, SignTarget(rel, "ledger", f"ledger:{name}"), new, key, gnupghome)
            signed_by = f"{draft.signer.fingerprint} ({draft.signer.uid})"
            cosigners = list(draft.missing)
        if dry_run:  # (the first write is next)
            return Promotion(ref, current, to, entries, False, signed_by, notes, unnamed, warnings, cosigners)
        lifecycle.append(ws.root, name, ledger.size, entries)
        if draft is not None:
            # A crash here leaves a new ledger with the old signature: the doctor says so (TFC0007-E002).
            atomic.write_bytes(ws.root, rel + SIGNATURE_SUFFIX, draft.content)
    return Promotion(ref, current, to, entries, True, signed_by, notes, unnamed, warnings, cosigners)


def _refuse_unwritable(root: Path, rel: str, *, in_place: bool = False) -> None:
    """Refuse now, writing nothing, what writing `rel` would fail on: what atomic.check refuses (a
    symlink or a non-folder on the way, a file that is not a regular one), and a folder this user
    cannot write in (a read-only checkout): the one the file is replaced in, or, where that is
    still to be made, the nearest one there is. `in_place`: a file there is opened for writing
    where it is (the lock), so it is that file which must be writable."""
    atomic.check(root, rel)
    target = root / rel
    if in_place and target.is_file():
        where, ok = PurePosixPath(rel), os.access(target, os.R_OK | os.W_OK)
    else:
        where = PurePosixPath(rel).parent
        while where != PurePosixPath(".") and not (root / where).is_dir():  # (atomic.check: no symlink on the way)
            where = where.parent
        ok = os.access(root / where, os.W_OK | os.X_OK)
    if ok:
        return
    try:
        read_only = bool(os.statvfs(root / where).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    shown = "the workspace's top folder" if where == PurePosixPath(".") else str(where)
    if read_only:
        why = f"{'it' if where == PurePosixPath(rel) else shown} is on a read-only file system"
        hint = "nothing can be written there: promote from a checkout you can write to"
    else:
        why = "this user may not write it" if where == PurePosixPath(rel) else f"this user may not write in {shown}"
        hint = f"check who owns {shown} and may write there (`ls -ld`), or promote from a checkout you can write to"
    raise StrataError(f"cannot write {rel}: {why}", f"{hint}; nothing was written")


def _refuse_broken(ws: Workspace, record: Record) -> None:
    from strataml.doctor.engine import refuse_errors

    # A missing required signature gets its own refusal, with its own fix.
    refuse_errors(
        ws, record, "it cannot be promoted", "fix them (`strataml doctor`) first", (trust.SIGNATURE_MISSING,), Refused
    )


def _refuse_illegal(ref: str, current: str, to: str) -> None:
    legal = lifecycle.TRANSITIONS[current]
    if to == current:
        raise Refused(f"{ref} is already {to}", "nothing to do")
    if to not in legal:
        path = _path_to(current, to)
        hint = (
            f"legal from {current}: {', '.join(legal)}"
            if legal
            else f"{current} is final: register a new version instead"
        )
        if path:
            hint += f"; to reach {to}, go through {' -> '.join(path)}"
        raise Refused(f"{ref} is {current}; {current} -> {to} is not a legal transition (TFC-0005)", hint)


def _path_to(start: str, goal: str) -> list[str]:
    """The shortest legal route between two states (breadth first), for the hint."""
    routes = {start: [start]}
    queue = [start]
    while queue:
        state = queue.pop(0)
        for nxt in lifecycle.TRANSITIONS[state]:
            if nxt not in routes:
                routes[nxt] = routes[state] + [nxt]
                queue.append(nxt)
    return routes.get(goal, [])


def _gate(ws: Workspace, record: Record, to: str) -> str | None:
    receipt = _receipt(record)
    if to not in lifecycle.NEEDS_PASS:
        return _digest(receipt)
    if receipt.get("status") != "PASS":
        raise Refused(
            f"{record.ref} has gate status {receipt.get('status') or 'none'}; {to} needs a PASS gate receipt",
            "run the experiment again until its gates pass, register that run, and promote the new version",
        )
    from strataml.doctor.engine import Context
    from strataml.doctor.rules.records import receipt_findings

    # (As TFC0005-E007 holds the move: a receipt that does not hold shows no pass, whatever the
    # policy makes of its own codes.)
    held = receipt_findings(Context(ws), record)
    if held:
        raise Refused(
            f"{record.ref}'s gate receipt does not hold ({held[0].code}: {held[0].message}); {to} needs a PASS "
            "gate receipt",
            "restore the version's receipt from Git, or promote a version whose receipt holds",
        )
    return _digest(receipt)


def _refuse_below_spec(ws: Workspace, record: Record, to: str, entries: list[dict[str, Any]]) -> None:
    """The receipt is judged by the gates the run recorded, the spec's when it ran: a move that
    needs a PASS also needs the version to pass the gates the workspace's specs set for it now
    (gates.bar; the doctor holds a change to its base's too, TFC0005-E010)."""
    run = producing_run(ws, record) if to in lifecycle.NEEDS_PASS else None
    if run is None:
        return
    experiment, metrics = gates.run_of(run.data)
    specs = {r.ref.name: r.data for r in ws.records if r.kind == "experiment"}
    sets = gates.bar(specs, record.ref.name, experiment, served_experiments(ws, entries))
    missed = gates.short_of(sets, metrics)
    if missed:
        failing = "; ".join(u.told() for u in missed)
        either = " (one experiment's gates in full would do)" if len(sets) > 1 else ""
        raise Refused(
            f"{record.ref} fails the gates its experiments set now: {failing}{either}; {to} needs a version that "
            "passes them (its receipt holds the gates its run recorded when it ran)",
            "promote a version that passes them: run an experiment that holds those gates, register that run, and "
            "promote the new version",
        )


def _below_base(ws: Workspace, record: Record, to: str) -> list[str]:
    """A warning when the base branch (gitfacts.default_base) sets gates the version fails: the
    CI gate, `doctor --strict --since BASE`, holds the promotion to them too (TFC0005-E010), so
    a promotion made here would pass here and fail there."""
    from strataml import gitfacts
    from strataml.doctor.rules.promotions import served_by, specs_at

    run = producing_run(ws, record) if to in lifecycle.NEEDS_PASS else None
    if run is None:
        return []
    name = record.ref.name
    try:
        base = gitfacts.default_base(ws.root)
        if base is None:
            return []
        commit = gitfacts.resolve_commit(ws.root, base)
        specs = specs_at(ws.root, commit)
        ledger = gitfacts.read_at(ws.root, commit, [lifecycle.ledger_rel(name)]).get(lifecycle.ledger_rel(name))
    except StrataError:
        return []  # (no usable base: the gate's own run says what is wrong with it)
    experiment, metrics = gates.run_of(run.data)
    missed = gates.short_of(gates.bar(specs, name, experiment, served_by(ws, ledger, name)), metrics)
    if not missed:
        return []
    failing = "; ".join(u.told() for u in missed)
    return [
        f"{record.ref} fails gates {base} sets for {name}: {failing}. `strataml doctor --strict --since {base}` (the "
        f"CI gate) holds this move to {to} to them too (TFC0005-E010): promote a version that passes them, or merge "
        "the spec's change first"
    ]


def _unmeasured(ws: Workspace, record: Record, to: str) -> list[str]:
    """A warning when a move that needs a PASS gets one that measured nothing: the receipt holds
    no criteria (the experiment declares no gates), so its PASS is no verdict on the model."""
    from strataml.read.build import gate_receipt

    if to not in lifecycle.NEEDS_PASS:
        return []
    receipt = gate_receipt(ws.root, record) or {}
    if receipt.get("criteria") != []:
        return []
    return [
        f"{record.ref}'s gate receipt passes on no criteria (its experiment declares no gates): nothing measured "
        f"it against a threshold before {to}; add `gates:` to the experiment, run it again and register that run"
    ]


def _gate_of(ws: Workspace, ref: str) -> str | None:
    return _digest(_receipt(ws.get(ref)))


def _receipt(record: Record | None) -> dict[str, Any]:
    """The record's `gate:` block ({} when it has none)."""
    gate = record.data.get("gate") if record is not None else None
    return gate if isinstance(gate, dict) else {}


def _digest(receipt: dict[str, Any]) -> str | None:
    digest = receipt.get("digest")
    return digest if isinstance(digest, str) else None


def _refuse_unsigned(ws: Workspace, record: Record, to: str, policy: trust.Trust) -> None:
    needs, covering = trust.needs_for(policy, "model", to)
    if not covering:
        return
    from strataml.doctor.rules.signatures import judge_record

    wanted = "; ".join(n.describe() for n in needs)
    hint = f"sign it first ({wanted}): `strataml sign {record.ref} --key FPR`; co-signers keep the signatures there"
    with trust.Verifier(policy) as verifier:
        judgement = judge_record(ws, record, verifier, needs)
    if judgement is None:
        raise Refused(f"{record.ref} is not signed; the signing policy requires {wanted} in {to}", hint)
    if not judgement.ok:
        code, message, _hint = judgement.problems[0]
        raise Refused(f"{record.ref}'s signature does not meet the policy for {to} ({code}): {message}", hint)


def _actor(root: Path) -> tuple[str, bool]:
    """Who made the change: the git identity (name <email>), else the login name; and whether
    it is the login name (git had none to give)."""
    from strataml.gitfacts import identity

    found = identity(root)
    if found:
        return found, False
    try:
        return getpass.getuser(), True
    except (KeyError, OSError):
        return "unknown", True
