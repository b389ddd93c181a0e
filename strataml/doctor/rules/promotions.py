"""Promotions a change appends, against the gates its base sets (TFC0005-E010, with --since).

A gate receipt (TFC-0004) is judged by the gates its run recorded: the spec's as it stood when
the run was made. A change that weakened the spec, ran it, put the spec back and promoted the
version showed a PASS receipt for a model that fails the base's gates, with no change to
experiments/ in its diff; so did one that lowered a gate beside the promotion, made another
experiment register the model, or registered by hand a version of another experiment in place of
the one in production. The base is REF as it stands now, as for the policy (a branch forked
before its base raised a gate is held to the raised one).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from strataml import gates, gitfacts, lifecycle
from strataml.doctor.engine import Context
from strataml.doctor.finding import Finding
from strataml.doctor.rules.records import producing_run
from strataml.loading import MAX_BYTES, load_bytes
from strataml.records import served_experiments

PROMOTED_BELOW_GATES = "TFC0005-E010"
SPECS = "experiments"


class Specs:
    """The experiment specs REF holds now, read once and only when a promotion asks for them."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._read: dict[str, object] | None = None

    def at_base(self) -> dict[str, object]:
        if self._read is None:
            self._read = specs_at(self._ctx.workspace.root, self._ctx.policy_commit())
        return self._read


def specs_at(root: Path, commit: str) -> dict[str, object]:
    """Experiment name -> its spec's data, as `commit` holds them (one git listing, one read)."""
    paths = [p for p in gitfacts.files_at(root, commit, [SPECS]) if p.count("/") == 1 and p.endswith(".yaml")]
    return {
        path[len(SPECS) + 1 : -len(".yaml")]: load_bytes(raw).data
        for path, raw in gitfacts.read_at(root, commit, paths).items()
        if len(raw) <= MAX_BYTES
    }


def served_by(workspace: Any, ledger: bytes | None, model: str) -> list[str]:
    """The experiments whose runs made the versions `ledger` (a model's, as some commit holds it)
    moved to staging or production: a model registered by hand meets the bar they met.
    (Registered versions and finished runs never change since: other rules say so if they did.)"""
    return served_experiments(workspace, lifecycle.parse(ledger, model).entries if ledger is not None else [])


def check(ctx: Context, ledger: str, previous: bytes | None, current: bytes, specs: Specs) -> Iterator[Finding]:
    """Each move to staging or production that `current` (the ledger now) appends to `previous`
    (REF's, None: none) is one its version passes by the gates of its run's experiment now and
    by those REF sets for the model (gates.bar)."""
    ws = ctx.workspace
    model = ledger.split("/")[1]
    # Whole lines at REF: a torn last line there was no entry, and its completion is judged as new.
    known = previous.count(b"\n") if previous is not None else 0
    served: list[str] | None = None
    for number, entry in enumerate(lifecycle.parse(current, model).entries, start=1):
        if number <= known or entry["to"] not in lifecycle.NEEDS_PASS:
            continue
        if served is None:
            served = served_by(ws, previous, model)
        version = ws.get(entry["ref"])
        run = producing_run(ctx, version) if version is not None and version.kind == "model" else None
        if run is None:
            continue  # (the ledger and lineage rules say what is missing)
        experiment, metrics = gates.run_of(run.data)
        spec = ws.get(f"experiment:{experiment}") if experiment else None
        now = {experiment: spec.data} if experiment and spec is not None and spec.kind == "experiment" else {}
        base = gates.bar(specs.at_base(), model, experiment, served)
        short = gates.short_of(base, metrics)
        missed: dict[tuple[str, str, str], list[str]] = {}
        for where, unmet in (
            *((f"at {ctx.options.since}", u) for u in short),
            *(("now", u) for u in gates.short_of(gates.bar(now, model, experiment), metrics)),
        ):
            missed.setdefault((unmet.gate.expression, unmet.spec, unmet.said()), []).append(where)
        if not missed:
            continue
        failing = "; ".join(
            f"{expression} (experiment {name} {' and '.join(where)}; the run {said})"
            for (expression, name, said), where in missed.items()
        )
        # (Several experiments register the model at REF: the gates of any one of them would do.)
        either = (
            f" (at {ctx.options.since}, one experiment's gates in full would do)" if short and len(base) > 1 else ""
        )
        yield Finding(
            PROMOTED_BELOW_GATES,
            ledger,
            f"line {number} moves {entry['ref']} to {entry['to']}, but the version fails {failing}{either}",
            _hint(ctx.options.since or "", at_base=bool(short)),
            number,
        )


def _hint(since: str, at_base: bool) -> str:
    """What to do: the gates REF sets are met, never lowered in the change that promotes (REF may
    have raised them after the change began); those the change's own spec holds, met or left."""
    if at_base:
        return (
            f"promote a version that passes them: a change is held to the gates {since} sets as it stands (if it "
            "raised one after this branch began, the version no longer meets it). To lower a gate, change the "
            "spec in a change of its own and merge that first"
        )
    return (
        "promote a version that passes them, or keep the spec's gates as they were in this change and raise "
        "them in one of their own: the spec as this change leaves it holds these gates"
    )
