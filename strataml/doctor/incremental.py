"""A doctor run from an earlier one: when a few records changed, check those and every record
whose findings can depend on them, and keep the earlier findings of all the others.

What a record's findings can depend on besides its own files, config, keys and git's index
(an earlier run is only used when those last three are unchanged):
- the records it names: that they exist, their kind, a dataset's digest, time range, files and
  columns, a model's files (lineage); so every record naming a changed, added or removed record
  is checked;
- the records whose names fold alike (collisions): checked with any added or removed record;
- every record of a kind, for a dangling reference's "did you mean": with any record added or
  removed, every record that had a dangling reference is checked;
- the records it comes from through models' and datasets' own lineage (a loop is reported
  where the search, in ref order, closes it): every model or dataset checked again brings the
  whole group that model-to-model or dataset-to-dataset references connect, before and after.
Ledgers are checked whole (a ledger finding is about every version of its model), and the
findings about no record (the config, stray files) come from the new run. A workspace with a
signature file anywhere, or a run whose verdict the clock can change (ledger times), is never
merged: the caller runs in full, as it does when a .gitattributes in the tree changed.
The differential test (tests/test_incremental_index.py) holds this against full runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from strataml.cache import Cache
from strataml.doctor.engine import Options, _dedupe, apply, check, policy_for
from strataml.doctor.finding import Finding, Report
from strataml.doctor.rules.lineage import DANGLING, ref_fields
from strataml.modelsigning import is_bundle_path
from strataml.once import once
from strataml.refs import RefError, fold, parse_ref
from strataml.workspace import SIGNATURE_SUFFIX, Workspace, ledger_of

# Past this share of changed records a full run is as cheap, and simpler to trust.
MOST = 0.2


@dataclass
class Earlier:
    """What an earlier run over the same config, keys and git index left."""

    findings: list[Finding]  # severities applied
    refs: set[str]  # every record of that run
    links: list[tuple[str, str]]  # (record, a record it names) for every reference that resolved then
    all_names: Callable[[], dict[str, list[str]]]  # record -> every ref it named, resolved or not

    @once
    def names(self) -> dict[str, list[str]]:
        return self.all_names()


def recheck(
    workspace: Workspace,
    cache: Cache | None,
    earlier: Earlier,
    unchanged: Iterable[str],
    options: Options | None = None,
) -> Report | None:
    """The report a full run would give, from `earlier` and the records not in `unchanged`;
    None when a full run is the better answer (most records changed, or a verdict of the clock)."""
    # (the exact test only on the few paths the walk's suffix scan lets through)
    if any(path.endswith(SIGNATURE_SUFFIX) or is_bundle_path(path) for path in workspace.signature_like):
        return None  # signatures: verdicts of the clock and of keys, judged whole
    current = {str(r.ref): r for r in workspace.records}
    if len(current) != len(workspace.records):
        return None  # two records with one ref (a collision finding): which one changed cannot be told
    same = set(unchanged) & set(current) & earlier.refs
    changed = (set(current) | earlier.refs) - same
    if len(changed) > max(50, MOST * len(current)):
        return None
    # What the changed records name now; with what every record named then, the two sides of
    # each reference that can carry a change.
    named_now = {ref: _named(ref_fields(current[ref])) for ref in changed & set(current)}
    born_or_gone = set(current) ^ earlier.refs
    if born_or_gone:  # references that did not resolve may now, and the other way round: all of them
        named_now |= {ref: earlier.names[ref] for ref in same}
        named_then = earlier.names
    else:  # the same records: what resolved then is all an unchanged record's findings read
        named_then = _as_names(earlier.links)
    affected = set(changed) | _referrers(changed, named_then) | _referrers(changed, named_now)
    if born_or_gone:
        folded = {_folded(ref) for ref in born_or_gone}
        affected |= {ref for ref in current if _folded(ref) in folded}
        owners = workspace.owners
        affected |= {o for f in earlier.findings if f.code == DANGLING for o in owners.of(f.path)}
    # Last: a record brought in by the steps above starts the loop search too, so its group comes with it.
    affected |= _lineage_groups(affected, named_now, named_then)
    raw, stats, ctx = check(
        workspace,
        options or Options(),
        cache,
        scope=frozenset(affected & set(current)),
        ledgers=frozenset(workspace.ledgers),
    )
    if ctx.volatile:
        return None
    fresh = apply(policy_for(ctx.loaded_in_force()), raw)

    def from_new(path: str) -> bool:
        found = workspace.owners.of(path)  # (made at the first finding: none, no map)
        return not found or ledger_of(path) is not None or any(o in affected for o in found)

    kept = [f for f in earlier.findings if not from_new(f.path)]
    findings = _dedupe([*kept, *(f for f in fresh if from_new(f.path))])
    return Report(tuple(findings), stats, False, ctx.signatures, workspace)


def _as_names(links: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for record, named in links:
        out.setdefault(record, []).append(named)
    return out


def _named(fields: Iterable[tuple[object, str, object]]) -> list[str]:
    out = []
    for _path, text, _kinds in fields:
        try:
            out.append(str(parse_ref(text)))
        except RefError:
            continue
    return out


def _referrers(changed: set[str], names: dict[str, list[str]]) -> set[str]:
    return {ref for ref, named in names.items() if any(n in changed for n in named)}


def _lineage_groups(seeds: set[str], now: dict[str, list[str]], before: dict[str, list[str]]) -> set[str]:
    """Every model (dataset) connected to one of `seeds` by model-to-model (dataset-to-dataset)
    references, in either direction, as they stand now or stood before."""
    links: dict[str, set[str]] = {}
    for names in (now, before):
        for ref, named in names.items():
            kind = ref.split(":", 1)[0]
            if kind not in ("model", "dataset"):
                continue
            for other in named:
                if other.split(":", 1)[0] == kind and other != ref:
                    links.setdefault(ref, set()).add(other)
                    links.setdefault(other, set()).add(ref)
    group: set[str] = set()
    todo = [ref for ref in seeds if ref in links]
    while todo:
        ref = todo.pop()
        if ref not in group:
            group.add(ref)
            todo.extend(links.get(ref, ()))
    return group


def _folded(ref: str) -> str:
    try:
        return parse_ref(ref).folded
    except RefError:
        return fold(ref)
