"""Signatures (TFC-0007): every signature file verified, every required signature present,
each made by a pinned, valid key holding the needed scope.

With --since REF the keys and policy come from REF, so a change cannot authorise itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from strataml import gitfacts, lifecycle, trust
from strataml.doctor.engine import Context
from strataml.doctor.finding import Finding
from strataml.modelsigning import FOLDER, bundle_name, is_bundle_path
from strataml.records import Record
from strataml.workspace import LEDGER, SIGNATURE_SUFFIX, Workspace, record_folder, standing


@dataclass(frozen=True, init=False)  # (init=False: see refs.Ref)
class Target:
    """A file that is, or must be, signed."""

    data: str  # workspace path of the signed file
    kind: str  # dataset | model | run | ledger | file (an artifact someone chose to sign)
    name: str  # what `strataml sign` takes: the record's ref, or ledger:NAME
    needs: tuple[trust.Need, ...]  # each to be met
    required_by: tuple[trust.Requirement, ...] = ()
    through: tuple[str, ...] = ()  # states the change moved a model version to that it has left

    def __init__(
        self,
        data: str,
        kind: str,
        name: str,
        needs: tuple[trust.Need, ...],
        required_by: tuple[trust.Requirement, ...] = (),
        through: tuple[str, ...] = (),
    ) -> None:
        d = self.__dict__
        d["data"], d["kind"], d["name"], d["needs"], d["required_by"] = data, kind, name, needs, required_by
        d["through"] = through


def check(ctx: Context) -> Iterator[Finding]:
    ws = ctx.workspace
    targets, signatures, bundles = _targets(ctx)
    current = ctx.trust()
    in_force = current
    if ctx.options.since and ctx.since_commit:
        in_force = trust.read(ws.root, ctx.since_config(), ctx.policy_commit())
    _require(ctx, targets, in_force)
    required = {t.data: t for t in targets.values() if t.required_by}
    if not signatures and not bundles and not required and not current.configured and not in_force.configured:
        return
    ctx.volatile = True  # keys expire with the clock alone
    trust.checked_keys(current)  # the key files that will be in force once this change is merged
    for problem in current.problems:
        yield Finding(problem.code, problem.path, problem.message, problem.hint, problem.line)
    if in_force is not current:  # the base's trust files are what judges this change: say when they were refused
        for problem in in_force.problems:
            if problem.code == trust.TRUST_PATH_SYMLINK:
                yield Finding(problem.code, problem.path, problem.message, problem.hint, problem.line)
    verifier = trust.Verifier(in_force)
    with verifier:
        signed: set[str] = set()
        listed = set(signatures)
        for asc in signatures:
            if asc[: -len(SIGNATURE_SUFFIX)] not in bundles:
                yield from _one(ctx, verifier, asc, targets, signed)
        records = {r.meta: r for r in ctx.records()} if bundles else {}
        for meta, paths in sorted(bundles.items()):
            yield from _model(ctx, verifier, meta, paths, targets, listed, signed, records)
        for data, target in sorted(required.items()):
            # Only a signature file counts: a data file a record pins under the same name does not.
            if data not in signed and f"{data}{SIGNATURE_SUFFIX}" not in listed:
                ctx.signatures[data] = _summary("unsigned", [], target)
                rules = "; ".join(f"{r.describe()} needs {r.need.describe()}" for r in target.required_by)
                moved = f" (this change moves it to {' and '.join(target.through)})" if target.through else ""
                yield Finding(
                    trust.SIGNATURE_MISSING,
                    data,
                    f"unsigned, but the signing policy ({in_force.source}) says: {rules}{moved}",
                    f"sign it with `strataml sign {target.name}` using a key that holds the scope",
                )


def _one(
    ctx: Context, verifier: trust.Verifier, asc: str, targets: dict[str, Target], signed: set[str]
) -> Iterator[Finding]:
    ws = ctx.workspace
    data = asc[: -len(SIGNATURE_SUFFIX)]
    entry, data_entry = ws.entries.get(asc), ws.entries.get(data)
    if entry is None or entry.kind != "file":
        yield Finding(
            trust.NOT_A_SIGNATURE,
            asc,
            f"signature file is {standing(entry.kind) if entry else 'missing'}, not a regular file",
            "replace it with the signature itself (`strataml sign`)",
        )
        return
    if data_entry is None or data_entry.kind != "file":
        yield Finding(
            trust.ORPHAN_SIGNATURE,
            asc,
            f"signature with nothing to sign: {data} does not exist",
            "remove the signature, or restore the signed file (a rename breaks the pair)",
        )
        return
    target = targets.get(data) or Target(data, "file", data, ())
    judgement = verifier.judge(ws.abspath(asc), ws.abspath(data), list(target.needs))
    signed.add(data)
    ctx.signatures[data] = _summary("signed" if judgement.ok else "invalid", judgement.signers, target)
    for code, message, hint in judgement.problems:
        yield Finding(code, asc, message, hint)


def _model(
    ctx: Context,
    verifier: trust.Verifier,
    meta: str,
    paths: list[str],
    targets: dict[str, Target],
    listed: set[str],
    signed: set[str],
    records: dict[str, Record],
) -> Iterator[Finding]:
    """A model version signed with model-signing bundles (and perhaps OpenPGP too): each file
    judged on its own, the policy's signers counted over all of them, whichever scheme."""
    ws = ctx.workspace
    target = targets[meta]
    asc = meta + SIGNATURE_SUFFIX
    broken = asc in listed and (ws.entries.get(asc) is None or ws.entries[asc].kind != "file")
    if broken:
        yield from _one(ctx, verifier, asc, targets, signed)  # says what it is instead
    record = records.get(meta)
    judged = judge_files(ws, meta, record, paths, verifier, openpgp=asc in listed)
    for path, judgement in judged:
        for code, message, hint in judgement.problems:
            yield Finding(code, path, message, hint)
    signed.add(meta)
    combined = trust.count([j for _p, j in judged], target.needs)
    for code, message, hint in combined.problems:
        if code in trust.SHORTFALL:
            yield Finding(code, judged[0][0] if judged else meta, message, hint)
    ctx.signatures[meta] = _summary("signed" if combined.ok and not broken else "invalid", combined.signers, target)


def judge_files(
    ws: Workspace, meta: str, record: Record | None, bundles: list[str], verifier: trust.Verifier, openpgp: bool
) -> list[tuple[str, trust.Judgement]]:
    """Each signature file of a model version on its own, needs not counted: its OpenPGP file
    (when `openpgp` and it is a regular file) and the model-signing `bundles` that are files."""
    out = []
    asc = meta + SIGNATURE_SUFFIX
    entry = ws.entries.get(asc)
    if openpgp and entry is not None and entry.kind == "file":
        out.append((asc, verifier.judge(ws.abspath(asc), ws.abspath(meta), ())))
    expected = expected_files(ws, meta, record)
    for path in bundles:
        entry = ws.entries.get(path)
        if entry is None or entry.kind != "file":
            problem = (
                trust.NOT_A_SIGNATURE,
                f"model-signing bundle is {standing(entry.kind) if entry else 'missing'}, not a regular file",
                "replace it with the bundle itself (`strataml sign --scheme model-signing`)",
            )
            out.append((path, trust.Judgement(problems=[problem])))
            continue
        judged = verifier.judge_bundle(ws.abspath(path), expected)
        for signer in judged.signers:
            # A bundle is named for its key, so a key signs one bundle here: copies of a valid
            # bundle under other names, and the 127 characters of a name chosen freely, were
            # files and bytes of a committed record's folder that anyone could add.
            named = f"{meta.rsplit('/', 1)[0]}/{bundle_name(signer.fingerprint)}"
            if path != named:
                problem = (
                    trust.NOT_A_SIGNATURE,
                    f"is a bundle by model-signing key {signer.fingerprint}, whose bundle is named {named}",
                    f"`git mv {path} {named}`, or delete it if that bundle is there already (re-signing with "
                    "the key writes it there)",
                )
                judged = trust.Judgement(problems=[problem])
        out.append((path, judged))
    return out


def bundles_of(ws: Workspace, record: Record) -> list[str]:
    """The model-signing bundles in a model version's folder, sorted."""
    if record.kind != "model" or record.folder is None:
        return []
    prefix = f"{record.folder}/{FOLDER}/"
    return sorted(p for p in ws.entries if p.startswith(prefix) and record.is_signature_file(p))


def judge_record(
    ws: Workspace, record: Record, verifier: trust.Verifier, needs: tuple[trust.Need, ...]
) -> trust.Judgement | None:
    """The verdict on every signature of a record, both schemes, needs counted over all of
    them; None when it has none (what promote asks before a move the policy guards)."""
    bundles = bundles_of(ws, record)
    has_asc = (record.meta + SIGNATURE_SUFFIX) in ws.entries
    if not bundles and not has_asc:
        return None
    judged = judge_files(ws, record.meta, record, bundles, verifier, openpgp=has_asc)
    if has_asc and not any(p == record.meta + SIGNATURE_SUFFIX for p, _j in judged):
        return trust.Judgement(problems=[(trust.NOT_A_SIGNATURE, "the signature file is not a regular file", "")])
    return trust.count([j for _p, j in judged], needs)


def expected_files(ws: Workspace, meta: str, record: Record | None) -> dict[str, str]:
    """What a bundle must sign: each artifact at its pinned sha256, the gate receipt at its
    pinned digest (the integrity rules hold the files to those) and model.yaml as it is now,
    last, so no artifact entry or gate file named like it can stand in for it."""
    from strataml.hashing import sha256_file

    out = {}
    for f in record.files if record is not None else ():
        if f.sha256:
            out[f.path] = f.sha256
    gate = record.data.get("gate") if record is not None else None
    if isinstance(gate, dict) and isinstance(gate.get("file"), str) and isinstance(gate.get("digest"), str):
        out[gate["file"]] = gate["digest"].removeprefix("sha256:")
    name = meta.rsplit("/", 1)[1]
    try:
        out[name] = sha256_file(ws.abspath(meta))[0]
    except OSError:
        out[name] = ""  # unreadable: the layout rules' finding, and no bundle can match it
    return out


def relying_on(
    ctx: Context, current: trust.Trust, fingerprint: str, scopes: tuple[str, ...], *, every: bool = False
) -> list[str]:
    """The signed files where `fingerprint`'s valid signature counts towards a need that it would
    no longer count towards if the key held only `scopes`: what narrowing the key costs. Judged
    as the doctor judges them (a co-signature that is one of two needed counts too). `every`:
    each file it validly signed, need or not (unpinned, every such signature is an error: TFC0007-E003)."""
    targets, signatures, bundles = _targets(ctx)
    _require(ctx, targets, current)
    ws = ctx.workspace
    out = []
    by_meta = {r.meta: r for r in ctx.records()}
    ascs = set(signatures)

    def asc_listed(data: str) -> bool:
        return data + SIGNATURE_SUFFIX in ascs

    with trust.Verifier(current) as verifier:
        signed = {asc[: -len(SIGNATURE_SUFFIX)] for asc in signatures} | set(bundles)
        for data in sorted(signed):
            data_entry = ws.entries.get(data)
            if data_entry is None or data_entry.kind != "file":
                continue
            target = targets.get(data) or Target(data, "file", data, ())
            record = by_meta.get(data)
            if data in bundles and record is not None:
                judged = judge_files(ws, data, record, bundles[data], verifier, openpgp=asc_listed(data))
                signers = [s for _p, j in judged for s in j.signers]
            else:
                asc = data + SIGNATURE_SUFFIX
                entry = ws.entries.get(asc)
                if entry is None or entry.kind != "file":
                    continue
                signers = trust.judge(verifier.ring.verify(ws.abspath(asc), ws.abspath(data)), current, ()).signers
            mine = next((s for s in signers if s.fingerprint == fingerprint), None)
            if mine is not None and (
                every
                or any(
                    set(need.scopes) & set(mine.scopes) and not set(need.scopes) & set(scopes) for need in target.needs
                )
            ):
                out.append(data)
    return sorted(out)


def _summary(status: str, signers: list[trust.Signer], target: Target) -> dict[str, object]:
    """What the index says about a signed file: its signers, how many, and how many the policy asks."""
    return {
        "status": status,
        "signers": [
            {"fingerprint": s.fingerprint, "uid": s.uid, "scopes": list(s.scopes), "scheme": s.scheme} for s in signers
        ],
        "valid_signers": len(signers),
        "required_signers": max((r.min_signers for r in target.required_by), default=0),
    }


def _targets(ctx: Context) -> tuple[dict[str, Target], list[str], dict[str, list[str]]]:
    """Signable files of the records in scope (metadata, ledgers), the signature files there, and
    the model-signing bundles of each model version in scope (by its model.yaml)."""
    ws = ctx.workspace
    targets: dict[str, Target] = {}
    by_folder: dict[str, Record] = {}
    needs = trust.DEFAULT_NEEDS
    for record in ctx.records():
        targets[record.meta] = Target(record.meta, record.kind, str(record.ref), needs.get(record.kind, ()))
        if record.folder is not None:
            by_folder[record.folder] = record
    ledgers = ctx.ledgers()
    for ledger in ledgers:
        targets[ledger] = Target(ledger, "ledger", f"ledger:{ledger.split('/')[1]}", needs["ledger"])
    # One pass over the walk for *.asc (few), not one listing per record folder (many): beside an
    # in-scope record's files, or a ledger's (with its ledger in scope, or with no ledger at all).
    ledger_signature = f"/{LEDGER}{SIGNATURE_SUFFIX}"
    signatures: list[str] = []
    bundles: dict[str, list[str]] = {}
    # The rest only sees the signature-like paths of the walk (Workspace.signature_like).
    for path in ws.signature_like:
        if not path.endswith(SIGNATURE_SUFFIX):
            if is_bundle_path(path):
                owner = by_folder.get(record_folder(path) or "")
                if owner is not None and owner.is_signature_file(path):
                    bundles.setdefault(owner.meta, []).append(path)
            continue
        if path.endswith(ledger_signature) and path.startswith("models/") and path.count("/") == 2:
            ledger = path[: -len(SIGNATURE_SUFFIX)]
            # A signature of no ledger is about no record in scope: a full run, a shard (the
            # finding is shard 1's, or its model's versions' shard's) and --since when it changed.
            orphan_in_scope = ctx.scope is None or ctx.options.shard is not None or path in ctx.since_changed
            if ledger in ledgers or (ledger not in ws.ledgers and orphan_in_scope):
                signatures.append(path)
            continue
        owner = by_folder.get(record_folder(path) or "")
        if owner is not None and owner.is_signature_file(path):
            signatures.append(path)
    return targets, signatures, {meta: sorted(paths) for meta, paths in bundles.items()}


def _require(ctx: Context, targets: dict[str, Target], in_force: trust.Trust) -> None:
    """Attach the policy's requirements to the targets they cover (their needs replace the kind's).

    A model requirement with a state covers a version in that state now and, with --since, one
    that a line the change appends moves there: a change that moved an unsigned version through
    production (and on, to archived) had promoted it without the signature the policy asks."""
    if not in_force.requirements:
        return
    by_meta = {r.meta: r for r in ctx.records()}
    by_state = any(r.state for r in in_force.requirements)
    ledgers: dict[str, lifecycle.Ledger] = {}

    def ledger(name: str) -> lifecycle.Ledger:
        if name not in ledgers:
            ledgers[name] = lifecycle.read(ctx.workspace.root, name)
        return ledgers[name]

    moved = _moved_since(ctx, ledger) if by_state else {}
    for data, target in list(targets.items()):
        record = by_meta.get(data)
        if record is not None and record.kind == "model" and by_state:
            state = ledger(record.ref.name).state(str(record.ref))
            through = tuple(s for s in moved.get(str(record.ref), ()) if s != state)
            covering = tuple(
                dict.fromkeys(r for s in (state, *through) for r in trust.needs_for(in_force, target.kind, s)[1])
            )
            needs = tuple(r.need for r in covering) if covering else trust.DEFAULT_NEEDS.get(target.kind, ())
            through = tuple(s for s in through if any(r.state == s for r in covering))
        else:
            needs, covering = trust.needs_for(in_force, target.kind)
            through = ()
        targets[data] = Target(data, target.kind, target.name, needs, covering, through)


def _moved_since(ctx: Context, ledger: Callable[[str], lifecycle.Ledger]) -> dict[str, list[str]]:
    """Version ref -> the states that lines the change appends to its model's ledger move it to
    (with --since; a ledger that is not its base's plus lines is the history rule's finding)."""
    if not (ctx.options.since and ctx.since_commit):
        return {}
    ledgers = sorted(
        p for p in ctx.since_changed if p.startswith("models/") and p.count("/") == 2 and p.endswith(f"/{LEDGER}")
    )
    if not ledgers:
        return {}
    before = gitfacts.read_at(ctx.workspace.root, ctx.since_commit, ledgers)
    out: dict[str, list[str]] = {}
    for path in ledgers:
        known = before.get(path, b"").count(b"\n")  # (whole lines: a torn last one is judged as new)
        for entry in ledger(path.split("/")[1]).entries[known:]:
            if isinstance(entry.get("ref"), str) and isinstance(entry.get("to"), str):
                out.setdefault(entry["ref"], []).append(entry["to"])
    return out
