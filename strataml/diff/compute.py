"""One document for a change: which records it adds, changes and removes, the promotions and
signatures it brings, the trust and policy it touches, how its new runs' metrics compare with
the experiment's last run and with production, its model versions' gates, and the findings it
adds or fixes (matched by code, path and fingerprint, never by line).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strataml import atomic, gitfacts, lifecycle, loading
from strataml.doctor.finding import Finding, Report
from strataml.gates import directions, of_spec
from strataml.modelsigning import FOLDER as BUNDLES
from strataml.modelsigning import is_bundle_path
from strataml.numbers import as_float, finite
from strataml.paths import unsafe
from strataml.records import Record
from strataml.shapes import mapping as _map
from strataml.shapes import sequence
from strataml.workspace import LEDGER, META, SIGNATURE_SUFFIX, Workspace

FORMAT = "strataml/diff/v1"
# The history rules that ask a reviewer to look (policy, keys, .gitattributes changed).
REVIEW_CODES = ("TFC0001-W001", "TFC0007-W001", "TFC0006-W013", "TFC0006-W015")
_KINDS = {"datasets": "dataset", "runs": "run", "models": "model"}


@dataclass(frozen=True)
class Sides:
    """What the comparison reads: the base (scratch folder) and the working tree."""

    base_root: Path
    base: Workspace
    base_report: Report
    head_root: Path
    head: Workspace
    head_report: Report


def document(sides: Sides, base_ref: str, commit: str, changed: set[str], owned: set[str]) -> dict[str, Any]:
    records = _records(sides, changed, owned)
    added_runs = [r["ref"] for r in records if r["change"] == "added" and r["kind"] == "run"]
    added_models = [r["ref"] for r in records if r["change"] == "added" and r["kind"] == "model"]
    findings = _findings(sides, changed)
    doc: dict[str, Any] = {
        "schema": FORMAT,
        "base": {"ref": base_ref, "commit": commit},
        "head": {"commit": gitfacts.head_commit(sides.head_root)},
        "records": records,
        "promotions": _promotions(sides, owned),
        "signatures": _signatures(sides, changed),
        "trust": _trust(sides),
        "runs": [_run_metrics(sides, ref) for ref in added_runs],
        "models": [_model_gate(sides, ref) for ref in added_models],
        "findings": findings,
    }
    doc["summary"] = {
        "added": sum(r["change"] == "added" for r in records),
        "changed": sum(r["change"] == "changed" for r in records),
        "removed": sum(r["change"] == "removed" for r in records),
        "promotions": len(doc["promotions"]),
        "new_findings": len(findings["new"]),
        "fixed_findings": len(findings["fixed"]),
        "new_errors": sum(f["severity"] == "error" for f in findings["new"]),
        "new_warnings": sum(f["severity"] == "warning" for f in findings["new"]),
        "exit_code": sides.head_report.exit_code,
    }
    return doc


# --- records ------------------------------------------------------------------------------------


def ref_of(owner: str) -> tuple[str, str] | None:
    """(kind, ref) of the record folder or spec `owner` names, by layout."""
    parts = owner.split("/")
    if parts[0] == "experiments" and len(parts) == 2 and parts[1].endswith(".yaml"):
        return "experiment", f"experiment:{parts[1][: -len('.yaml')]}"
    kind = _KINDS.get(parts[0])
    if kind == "run" and len(parts) == 2:
        return kind, f"run:{parts[1]}"
    if kind in ("dataset", "model") and len(parts) == 3:
        return kind, f"{kind}:{parts[1]}@{parts[2]}"
    return None


def _standing(workspace: Workspace) -> set[str]:
    """The record folders and specs the workspace's walk found records in (strataml.workspace:
    the doctor's walk and loader). A record stands as the doctor sees it, never through a
    symlinked folder (`experiments -> elsewhere`: the walk reads nothing there) nor with a
    metadata file that is not a regular file. Every record folder the change touched is walked
    in full on both sides (a --since walk), and every spec is listed."""
    return {r.folder or r.meta for r in workspace.records}


def _records(sides: Sides, changed: set[str], owned: set[str]) -> list[dict[str, Any]]:
    out = []
    at_base, at_head = _standing(sides.base), _standing(sides.head)
    for owner in sorted(owned):
        known = ref_of(owner)
        if known is None:
            continue
        kind, ref = known
        before, after = owner in at_base, owner in at_head
        if not before and not after:
            continue
        change = "changed" if before and after else "added" if after else "removed"
        paths = sorted(p for p in changed if p.startswith(owner + "/")) if kind != "experiment" else []
        files = [{"path": p[len(owner) + 1 :], "change": _file_change(sides, p)} for p in paths]
        item: dict[str, Any] = {"ref": ref, "kind": kind, "path": owner, "change": change, "files": files}
        if kind == "experiment" and change == "changed":
            item.update(_bar_change(_data(sides.base, ref), _data(sides.head, ref)))
        out.append(item)
    return out


def _bar_change(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What a changed spec's change does to the bar its model versions are held to: its gates, and
    the model it registers, each as before and after where they differ (a reviewer weighs a
    lowered gate; the report listed the spec as changed, folded away)."""
    out: dict[str, Any] = {}
    said = [[g.expression.strip() for g in of_spec(d)] for d in (before, after)]
    if said[0] != said[1]:
        out["gates"] = {"before": said[0], "after": said[1]}
    registers = [
        m if isinstance(r := d.get("register"), dict) and isinstance(m := r.get("model"), str) else None
        for d in (before, after)
    ]
    if registers[0] != registers[1]:
        out["registers"] = {"before": registers[0], "after": registers[1]}
    return out


def _file_change(sides: Sides, path: str) -> str:
    """How the change left one file git lists as changed: both sides' walks hold the record
    folders it touched (the base's written out as the base holds them)."""
    before, after = path in sides.base.entries, path in sides.head.entries
    return "changed" if before and after else "added" if after else "removed"


def _data(workspace: Workspace, ref: str) -> dict[str, Any]:
    record = workspace.get(ref)
    data = record.data if isinstance(record, Record) else None
    return data if isinstance(data, dict) else {}


# --- promotions, signatures, trust --------------------------------------------------------------


def _promotions(sides: Sides, owned: set[str]) -> list[dict[str, Any]]:
    out = []
    for ledger in sorted(o for o in owned if o.endswith("/" + LEDGER)):
        name = ledger.split("/")[1]
        before = lifecycle.read(sides.base_root, name) if (sides.base_root / ledger).is_file() else lifecycle.Ledger()
        after = lifecycle.read(sides.head_root, name) if (sides.head_root / ledger).is_file() else lifecycle.Ledger()
        kept = len(before.entries)
        # Only what was appended: a ledger rewritten is the doctor's error (TFC0005-E006), not a promotion.
        if after.entries[:kept] != before.entries:
            continue
        for entry in after.entries[kept:]:
            out.append(
                {"model": name, **{k: entry.get(k) for k in ("seq", "ref", "from", "to", "at", "actor", "reason")}}
            )
    return out


def _signatures(sides: Sides, changed: set[str]) -> list[dict[str, Any]]:
    """A signed file's signatures added, changed or removed: its `.asc` and, for a model
    version, its model-signing bundles, one entry per signed file whichever changed."""
    out = []
    for signed in sorted({s for s in map(_signed_by, changed) if s is not None}):
        before, after = _signature_files(sides.base_root, signed), _signature_files(sides.head_root, signed)
        if not before and not after:
            continue
        status: dict[str, Any] = dict(sides.head_report.signatures.get(signed, {})) if after else {}
        out.append(
            {
                "path": signed,
                "change": "changed" if before and after else "added" if after else "removed",
                "status": status.get("status", "unsigned" if not after else "unknown"),
                "signers": [_signer(x) for x in sequence(status.get("signers")) if isinstance(x, dict)],
            }
        )
    return out


def _signed_by(path: str) -> str | None:
    """The file a changed signature file signs (None: it is no signature, or a key's own)."""
    if path.startswith("tfc/keys/"):
        return None
    if path.endswith(SIGNATURE_SUFFIX):
        return path[: -len(SIGNATURE_SUFFIX)]
    if is_bundle_path(path):
        return f"{path.rsplit('/', 2)[0]}/{META['model']}"
    return None


def _signature_files(root: Path, signed: str) -> list[str]:
    """The signature files of `signed` in the tree at `root`: its .asc, a model version's bundles."""
    # (Regular files reached through real folders, as the doctor reads them: a symlink is none.)
    found = [signed + SIGNATURE_SUFFIX] if atomic.is_file(root, signed + SIGNATURE_SUFFIX) else []
    if signed.startswith("models/") and signed.endswith(f"/{META['model']}"):
        folder = f"{signed.rsplit('/', 1)[0]}/{BUNDLES}"
        try:
            with os.scandir(root / folder) as listing:
                names = [e.name for e in listing]
        except OSError:
            names = []  # (no bundles there)
        found += [
            f"{folder}/{n}" for n in names if is_bundle_path(f"{folder}/{n}") and atomic.is_file(root, f"{folder}/{n}")
        ]
    return found


def _signer(signer: dict[str, Any]) -> dict[str, Any]:
    """A signer as the index lists it (fingerprint, uid, scopes, scheme), not its Python repr."""
    out = {k: signer[k] for k in ("fingerprint", "uid", "scheme") if isinstance(signer.get(k), str)}
    out.setdefault("fingerprint", "")
    out.setdefault("uid", "")
    out["scopes"] = [str(s) for s in sequence(signer.get("scopes")) if isinstance(s, str)]
    return out


def _pins(root: Path) -> dict[str, list[str]]:
    """The pinned keys and their scopes, read as the doctor reads them (trust.read: never through
    a symlink, nothing from a manifest that breaks its schema)."""
    from strataml import trust

    return {pin.fingerprint: sorted(pin.scopes) for pin in trust.read(root, None).pins}


def _trust(sides: Sides) -> dict[str, Any]:
    before, after = _pins(sides.base_root), _pins(sides.head_root)
    return {
        "keys": [
            {
                "fingerprint": fp,
                "change": "added" if fp not in before else "removed" if fp not in after else "scopes",
                "scopes": after.get(fp, before.get(fp, [])),
            }
            for fp in sorted(set(before) | set(after))
            if before.get(fp) != after.get(fp)
        ],
        "review": [
            {"code": f.code, "path": f.path, "message": f.message}
            for f in sides.head_report.findings
            if f.code in REVIEW_CODES
        ],
    }


# --- metrics ------------------------------------------------------------------------------------


def _gated(spec: dict[str, Any]) -> set[str]:
    """The metrics the experiment's gates name: the ones that decide whether a version may ship."""
    return {gate.metric for gate in of_spec(spec)}


def compared(name: str, value: float, other: dict[str, Any] | None, better: str | None) -> dict[str, Any] | None:
    """`value` beside `other`'s value of metric `name`: deltas, and whether it is better."""
    if other is None:
        return None
    was = as_float((other.get("metrics") or {}).get(name))
    if was is None:
        return {"ref": other["ref"], "value": None, "delta": None, "relative": None, "verdict": "new metric"}
    delta = value - was
    relative = delta / abs(was) if was else None
    verdict = (
        "same"
        if delta == 0
        else "unknown"
        if better is None
        else ("better" if (delta > 0) == (better == "higher") else "worse")
    )
    return {"ref": other["ref"], "value": was, "delta": delta, "relative": relative, "verdict": verdict}


def _latest_run(sides: Sides, experiment: str, exclude: str) -> dict[str, Any] | None:
    """The experiment's last succeeded run at the base (runs named as `strataml run` names them:
    only those folders are read)."""
    name = experiment.split(":", 1)[1]
    best: tuple[str, dict[str, Any]] | None = None
    for path in sides.base.entries:
        parts = path.split("/")
        if len(parts) != 2 or parts[0] != "runs" or not (f"-{name}-" in parts[1] or parts[1].endswith(f"-{name}")):
            continue
        ref = f"run:{parts[1]}"
        if ref == exclude:
            continue
        data = _data(sides.base, ref)
        if data.get("experiment") != experiment or data.get("status") != "succeeded":
            continue
        when = str(data.get("created_at") or "")
        if best is None or (when, ref) > (best[0], best[1]["ref"]):
            best = (when, {"ref": ref, "metrics": data.get("metrics") or {}})
    return best[1] if best else None


def _production(sides: Sides, model: str) -> dict[str, Any] | None:
    """The base's production version of `model` and its evaluation metrics (the newest, if several)."""
    if not (sides.base_root / lifecycle.ledger_rel(model)).is_file():
        return None
    refs = lifecycle.read(sides.base_root, model).production()
    if not refs:
        return None
    ref = refs[-1]
    data = _data(sides.base, ref)
    return {"ref": ref, "metrics": _map(_map(data.get("evaluation")).get("metrics"))}


def better_by(sides: Sides, experiment: str | None) -> dict[str, str]:
    """Which way each metric of `experiment` is better (strataml.gates.directions), as the base's
    spec says when the base holds the experiment: the base holds the policy, as the gate judges a
    change by the base's gates (TFC0005-E010), and a change that turns `>=` into `<=` must not
    turn its own worse numbers into better ones (the report says it flips them: render). A new
    experiment's, as its spec in the working tree says."""
    if not experiment:
        return {}
    if isinstance(sides.base.get(experiment), Record):
        return directions(_data(sides.base, experiment))
    return directions(_data(sides.head, experiment))


def _flipped_to(compared_by: str | None, now: str | None) -> str | None:
    """The way the change's spec says a metric is better, where the change turns it from the way
    it is compared (better_by: the base's); None where it does not."""
    return now if compared_by and now and now != compared_by else None


def _run_metrics(sides: Sides, ref: str) -> dict[str, Any]:
    data = _data(sides.head, ref)
    experiment = data.get("experiment") if isinstance(data.get("experiment"), str) else None
    spec = _data(sides.head, experiment) if experiment else {}
    better = better_by(sides, experiment)
    now = directions(spec)  # the way the change's own spec says: a reviewer is told where it differs
    gated = _gated(spec)
    register = _map(spec.get("register"))
    model = register.get("model") if isinstance(register.get("model"), str) else None
    previous = _latest_run(sides, experiment, ref) if experiment else None
    production = _production(sides, model) if model else None
    rows: list[dict[str, Any]] = []
    metrics = _map(data.get("metrics"))
    for name in sorted(metrics):
        value = as_float(metrics[name])
        if value is None:  # NaN, infinity, text: shown as recorded, compared with nothing
            rows.append(
                {
                    "name": name,
                    "value": None,
                    "recorded": str(metrics[name])[:40],
                    "better": better.get(name),
                    "flipped_to": _flipped_to(better.get(name), now.get(name)),
                    "gated": name in gated,
                    "previous": None,
                    "production": None,
                }
            )
            continue
        rows.append(
            {
                "name": name,
                "value": value,
                "better": better.get(name),
                "flipped_to": _flipped_to(better.get(name), now.get(name)),
                "gated": name in gated,
                "previous": compared(name, value, previous, better.get(name)),
                "production": compared(name, value, production, better.get(name)),
            }
        )
    return {
        "ref": ref,
        "experiment": experiment,
        "status": data.get("status"),
        "previous": previous["ref"] if previous else None,
        "production": production["ref"] if production else None,
        "metrics": rows,
    }


def _model_gate(sides: Sides, ref: str) -> dict[str, Any]:
    data = _data(sides.head, ref)
    gate = _map(data.get("gate"))
    receipt: dict[str, Any] = {}
    record = sides.head.get(ref)
    file = gate.get("file")
    problem = "no receipt named"
    if record is not None and record.folder and isinstance(file, str) and not unsafe(file):
        # Read inside its folder only, never through a symlink (the doctor reports such a receipt).
        try:
            raw = atomic.read_bytes(sides.head_root, f"{record.folder}/{file}", limit=4 * 1024 * 1024)
        except (atomic.Refused, OSError):
            raw, problem = None, "receipt unreadable"
        receipt = _map(loading.load_bytes(raw, json_syntax=True, lines=False).data) if raw is not None else {}
        if raw is None and problem == "no receipt named":
            problem = "receipt missing"
    elif isinstance(file, str):
        problem = "receipt path leaves the version"
    failing = [
        {k: c.get(k) for k in ("expression", "metric", "observed")}
        for c in sequence(receipt.get("criteria"))
        if isinstance(c, dict) and not c.get("passed")
    ]
    name = ref.split(":", 1)[1].rsplit("@", 1)[0]
    production = _production(sides, name)
    evaluation = _map(data.get("evaluation")).get("metrics")
    versus = []
    if production is not None and isinstance(evaluation, dict):
        experiment = _data(sides.head, str(data.get("produced_by"))).get("experiment")
        better = better_by(sides, experiment if isinstance(experiment, str) else None)
        for metric in sorted(evaluation):
            value = as_float(evaluation[metric])
            if value is not None:
                # (As a run's metrics hold their comparisons: the version's value, production's
                # beside it. Spread here, production's value overwrote the version's.)
                versus.append(
                    {
                        "name": metric,
                        "value": value,
                        "better": better.get(metric),
                        "production": compared(metric, value, production, better.get(metric)),
                    }
                )
    return {
        "ref": ref,
        # What the receipt says; what model.yaml claims counts for nothing without it (TFC0004-E002).
        "gate": str(receipt["status"]) if isinstance(receipt.get("status"), str) else f"unverified: {problem}",
        "failing": failing,
        "production": production["ref"] if production else None,
        "versus_production": versus,
    }


# --- findings -----------------------------------------------------------------------------------


# Rules that ask git about the working tree (tracking, LFS routing): the base is not a working
# tree, so they are judged at head only, and a finding of theirs on a file the change did not
# touch was there before (a changed .gitattributes makes every file count as touched; a record
# removed, which checks every record, touches no other file).
GIT_ONLY = ("TFC0006-W011", "TFC0006-W012", "TFC0006-W014", "TFC0006-E013")
# What the checkout holds, not what the repository says: the base is read from git objects, where
# every LFS file is its pointer ("verified by its pointer"), while the working tree may hold the
# content. Judged at head only, like GIT_ONLY: a pulled file is not a finding "fixed".
CHECKOUT_ONLY = ("TFC0006-I010",)


def _findings(sides: Sides, changed: set[str]) -> dict[str, Any]:
    from strataml.doctor.rules.history import attributes

    def keyed(report: Report) -> dict[tuple[str, str, str], Finding]:
        return {(f.code, f.path, fp): f for f, fp in zip(report.findings, report.fingerprints(), strict=True)}

    before, after = keyed(sides.base_report), keyed(sides.head_report)
    before = {k: f for k, f in before.items() if k[0] not in CHECKOUT_ONLY}
    for key in [k for k in after if k[0] in CHECKOUT_ONLY and k[1] not in changed]:
        before[key] = after[key]
    rerouted = bool(attributes(changed))
    for key in [k for k in after if k[0] in GIT_ONLY and not rerouted and k[1] not in changed]:
        before[key] = after[key]  # as the base would have had it

    def listed(found: dict[tuple[str, str, str], Finding], keys: set[tuple[str, str, str]]) -> list[dict[str, Any]]:
        chosen = sorted((found[k] for k in keys), key=Finding.sort_key)
        return [
            {
                "code": f.code,
                "severity": f.severity,
                "path": f.path,
                "line": f.line,
                "message": f.message,
                "hint": f.hint,
            }
            for f in chosen
        ]

    unchanged = set(after) & set(before)
    return {
        "new": listed(after, set(after) - set(before)),
        "fixed": listed(before, set(before) - set(after)),
        "unchanged": len(unchanged),
        # The gate (`doctor --strict --since REF`) fails on these too, unless its --baseline holds them.
        "unchanged_failing": listed(after, {k for k in unchanged if after[k].severity in ("error", "warning")}),
    }


def _note(text: str) -> None:
    import sys

    print(text, file=sys.stderr)


def make(root: Path, ref: str | None, progress: Any = None, baseline: Path | None = None) -> dict[str, Any]:
    """The diff document of the working tree at `root` against `ref` (default: the default
    branch), judged where the change left it: the merge base, as `doctor --since` judges."""
    from strataml.diff import base
    from strataml.doctor import engine
    from strataml.doctor.rules.history import everything
    from strataml.errors import StrataError

    root = Path(root).resolve()
    if gitfacts.repository(root) is None:
        raise StrataError(
            f"{root} is not inside a git repository",
            "strataml diff compares the working tree with a commit: run it in a clone of the repository (a new "
            "workspace: git init, git add -A, git commit, then make the change)",
        )
    if ref is not None and not ref.strip():
        raise StrataError(
            "REF is empty (is the variable that holds the base revision set?)",
            "name the revision, or leave REF out for the default branch",
        )
    if ref is None:
        ref = gitfacts.default_base(root)
        if ref is None:
            raise StrataError(
                "no base to compare with: neither origin/HEAD, origin/main, main, origin/master nor master exists",
                "name the revision the change started from, e.g. `strataml diff origin/develop`",
            )
    try:
        listing = gitfacts.changes_since(root, ref)
        changed = listing.tracked() | listing.untracked()
    except StrataError as exc:  # said for doctor --since; the revision is diff's REF here
        raise StrataError(exc.message.replace("--since ", "REF "), exc.hint) from None
    # (A merge commit checked out shallow, GitHub's refs/pull/N/merge: REF's tip is its parent,
    # so comparing with the tip is exact, though no merge base is known; as the doctor says it.)
    merged = gitfacts.is_ancestor(root, listing.commit) or listing.commit in gitfacts.head_parents(root)
    owned = base.owners(changed)
    gitfacts.share_changes(root, ref, listing)  # the doctor's --since run judges the same listing
    head_report = engine.doctor(root, options=engine.Options(since=ref), use_cache=True, progress=progress)
    head = head_report.workspace
    if not isinstance(head, Workspace):
        from strataml.workspace import load

        head = load(root)
    whole = everything(root, changed)
    with base.at(root, listing.commit, owned, whole, head.entries) as at_base:
        base_report = at_base.report
        if baseline is not None:
            # As the gate reads it (`doctor --strict --since REF --baseline FILE`), applied to both
            # sides: a finding it holds is then neither new, fixed nor failing, as the gate counts it.
            from strataml.doctor import baseline as baselines

            known, source, held = baselines.in_force(root, baseline, ref, head_report.policy_commit, _note)
            head_report = baselines.apply(head_report, known, source)
            base_report = baselines.apply(base_report, known, source)
        sides = Sides(at_base.root, at_base.workspace, base_report, root, head, head_report)
        doc = document(sides, ref, listing.commit, changed, owned)
        if baseline is not None:
            doc["findings"]["baseline"] = {"file": source, "found": held, "hidden": head_report.baseline_hidden}
    # No merge base known (a shallow clone fetched REF alone): REF's tip is the base, and what
    # REF gained since the change began shows as removed. Said, never hidden.
    doc["base"]["merge_base"] = merged
    return finite(doc)
