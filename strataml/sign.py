"""`strataml sign`: a detached signature next to a record's metadata (or a ledger), checked
the way the doctor will check it before it is written.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from strataml import atomic, lifecycle, modelsigning, signing, trust
from strataml.errors import Refusal, StrataError
from strataml.paths import inside
from strataml.refs import NAME_RULE, valid_name
from strataml.workspace import LEDGER, META, SIGNATURE_SUFFIX, Workspace, load

_BLOCK = re.compile(rb"-----BEGIN PGP SIGNATURE-----.*?-----END PGP SIGNATURE-----\r?\n?", re.S)


@dataclass(frozen=True)
class Drafted:
    """A signature file's new content, checked as the doctor will check it, before it is written."""

    content: bytes
    signer: signing.KeyInfo
    kept: int  # other valid signatures still in the file
    dropped: list[str]  # signatures removed: stale, or by the same key
    signers: int  # distinct valid signers in the file, the new one included
    required: int  # the most signers one requirement of the policy asks for (0: none)
    missing: list[str]  # what co-signers must still add, e.g. "1 more signer with scope production"


@dataclass(frozen=True)
class Signed:
    path: str  # the signature file, workspace-relative
    target: str  # the signed file
    signer: signing.KeyInfo
    kept: int  # other valid signatures still in the file
    dropped: list[str] = field(default_factory=list)  # signatures removed: stale, or by the same key
    signers: int = 1
    required: int = 0
    missing: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SignTarget:
    """A file to sign: its path, what kind of signable file it is, and (for models) the state."""

    rel: str
    kind: str  # dataset | model | run | ledger
    ref: str  # the record's ref, or ledger:NAME
    state: str | None = None


def sign(
    root: Path, target: str, key: str | None = None, gnupghome: str | None = None, cwd: Path | None = None
) -> Signed:
    """Sign `target` (a ref, `ledger:NAME`, or a metadata path relative to `cwd`) with a pinned key from the signer's keyring."""
    ws = load(root)
    trust.require_config(ws.config)
    what = _resolve(ws, target, Path(cwd or Path.cwd()))
    _refuse_broken(ws, what)
    asc = what.rel + SIGNATURE_SUFFIX
    atomic.check(ws.root, asc)  # refused before gpg signs anything
    with _locked(ws.root, what):
        # Read under the lock: a promote may have appended to the ledger, or a co-signer added
        # a signature, since the workspace was loaded; what is signed and kept is what is there now.
        data = atomic.read_bytes(ws.root, what.rel)
        if data is None:
            raise StrataError(f"{what.rel} does not exist", "check the path, or sign a ref (see `strataml list`)")
        draft = signature(ws, what, data, key, gnupghome)
        atomic.write_bytes(ws.root, asc, draft.content)
    return Signed(asc, what.rel, draft.signer, draft.kept, draft.dropped, draft.signers, draft.required, draft.missing)


def _locked(root: Path, what: SignTarget) -> AbstractContextManager[None]:
    """The lock held from reading `what` and its signatures to writing them back: a ledger's is the
    one promote appends under; a record's is its own, so co-signers take turns."""
    if what.kind == "ledger":
        return lifecycle.locked(root, what.rel.split("/")[1])
    return atomic.locked(root, f".strataml/locks/{what.rel}{SIGNATURE_SUFFIX}.lock")


def signature(ws: Workspace, what: SignTarget, data: bytes, key: str | None, gnupghome: str | None) -> Drafted:
    """The content of `what`'s signature file once it signs `data`.

    The key's pin, validity and scope are checked before gpg is asked to sign; the result is
    checked the way the doctor checks it. Valid signatures by other pinned keys are kept, and a
    file that still needs co-signers (TFC0007-E004/E011 only) is fine: they sign next.
    """
    current = trust.read(ws.root, ws.config.data)
    pinned = trust.checked_keys(current)
    if current.problems:
        first = current.problems[0]
        raise Refusal(f"{first.path}: {first.message}", first.hint)
    needs, covering = trust.needs_for(current, what.kind, what.state)
    signer = _choose(pinned, current, needs, key, gnupghome, what.ref)
    new = signing.sign_detached(data, signer.fingerprint, gnupghome)
    asc = what.rel + SIGNATURE_SUFFIX
    existing = atomic.read_bytes(ws.root, asc) or b""
    with tempfile.TemporaryDirectory() as tmp, trust.Verifier(current) as verifier:
        signed = Path(tmp) / "data"
        signed.write_bytes(data)
        kept, dropped = _keep_existing(verifier, existing, signed, signer.fingerprint)
        content = b"".join(kept) + new
        judgement = _judge_bytes(verifier, content, signed, needs)
        if what.kind == "model" and (judgement.ok or judgement.partial):
            judgement = _with_bundles(ws, what, verifier, judgement, needs, signed, content)
    if not judgement.ok and not judgement.partial:
        code, message, hint = judgement.problems[0]
        raise Refusal(f"signed, but the doctor would reject {asc} ({code}): {message}; nothing was written", hint)
    missing = [
        f"{need.count - found} more signer{'s' if need.count - found > 1 else ''} with scope {' or '.join(need.scopes)}"
        for need, found in judgement.missing
    ]
    required = max((r.min_signers for r in covering), default=0)
    return Drafted(content, signer, len(kept), dropped, len(judgement.signers), required, missing)


def _resolve(ws: Workspace, target: str, cwd: Path) -> SignTarget:
    if not target.strip():  # (read as the current folder, it was "outside the workspace")
        raise StrataError(
            "the target is empty", "name a ref (model:NAME@V, dataset:NAME@V, run:ID), ledger:NAME, or a metadata file"
        )
    if target.startswith("ledger:"):
        name = target[len("ledger:") :]
        rel = f"models/{name}/{LEDGER}"
        if not valid_name(name):
            raise StrataError(f"{target}: {name!r} is not a valid model name", NAME_RULE)
        if not ws.abspath(rel).is_file():
            raise StrataError(
                f"{target}: no ledger at {rel}", "a model's ledger exists once it was promoted (`strataml promote`)"
            )
        return SignTarget(rel, "ledger", target)
    path = os.path.join(cwd, target)
    if ":" in target and not os.path.lexists(path):
        record = ws.require(
            target, usage="sign a ref (model:NAME@V, dataset:NAME@V, run:ID), ledger:NAME, or a metadata file"
        )
        return _record_target(ws, record.meta)
    placed = inside(path, ws.root)
    if placed is None:
        raise StrataError(f"{target} is outside the workspace {ws.root}", "sign files of this workspace only")
    if not os.path.lexists(path):
        raise StrataError(
            f"{target}: no such file", "name a record's metadata file (runs/ID/run.yaml) or its ref (run:ID)"
        )
    rel = Path(placed).as_posix()
    if rel.endswith(f"/{LEDGER}") and rel.count("/") == 2 and os.path.isfile(path):
        return SignTarget(rel, "ledger", f"ledger:{rel.split('/')[1]}")
    return _record_target(ws, rel)


def _record_target(ws: Workspace, rel: str) -> SignTarget:
    record = next((r for r in ws.records if r.meta == rel), None)
    if record is None or record.kind == "experiment":
        names = ", ".join(sorted(set(META.values())))
        raise StrataError(
            f"{rel} is not the metadata of a dataset, run or model version",
            f"sign the metadata ({names}) or a lifecycle.jsonl: it pins every other file's sha256",
        )
    state = None
    if record.kind == "model":
        state = lifecycle.states_of(ws.root, record.ref.name).get(str(record.ref), lifecycle.REGISTERED)
    return SignTarget(rel, record.kind, str(record.ref), state)


def _refuse_broken(ws: Workspace, what: SignTarget) -> None:
    """A signature vouches for the files the metadata pins: never sign a record the doctor rejects."""
    if what.kind == "ledger":
        return
    from strataml.doctor.engine import refuse_errors

    record = ws.get(what.ref)
    if record is not None:  # (signature findings are what signing is about to change)
        refuse_errors(ws, record, "it was not signed", "fix them (`strataml doctor`) and sign again", ("TFC0007",))


def _choose(
    pinned: dict[str, tuple[signing.KeyInfo, bytes]],
    current: trust.Trust,
    needs: tuple[trust.Need, ...],
    key: str | None,
    gnupghome: str | None,
    what: str,
) -> signing.KeyInfo:
    """The secret key to sign `what` with: pinned, valid, and holding a scope the record needs.

    Everything is checked here, before gpg is asked to sign (which may prompt for a passphrase).
    """
    mine = signing.secret_keys(gnupghome)
    where = f"the keyring in {gnupghome}" if gnupghome else "your keyring"
    if key:
        chosen = _find(mine, key, where)
        if chosen.fingerprint not in pinned:
            raise Refusal(
                f"key {chosen.fingerprint} ({chosen.uid}) is not pinned in {trust.MANIFEST}: the doctor would reject its signature",
                "pin it after review with `strataml keys add KEYFILE --scope ...`, or sign with a pinned key",
            )
        _refuse_unfit(chosen, pinned[chosen.fingerprint][0], current, needs, what)
        return chosen
    if not mine:  # (the tool cannot sign here, as with --key of a key not there: exit 3, not a rule's refusal)
        raise StrataError(
            f"{where} holds no secret key, so there is nothing to sign with",
            "make one (`gpg --quick-generate-key 'Name <email>'`) and pin its public key with "
            "`strataml keys add KEYFILE --scope ...`, or pass --gnupghome DIR of the keyring that has yours",
        )
    usable = [k for k in mine if k.fingerprint in pinned and k.usable and pinned[k.fingerprint][0].usable]
    if not usable:
        raise Refusal(
            f"none of the secret keys in {where} is pinned in {trust.MANIFEST} and valid",
            "pin your public key with `strataml keys add KEYFILE --scope ...`, or pass --gnupghome DIR",
        )
    helpful = [k for k in usable if _helps(_scopes(current, k), needs)]
    if not helpful:
        held = "; ".join(f"{k.fingerprint} ({k.uid}) holds {', '.join(_scopes(current, k))}" for k in usable)
        raise Refusal(
            f"{what} needs {'; '.join(n.describe() for n in needs)}, but none of your pinned keys holds the scope "
            f"({trust.SIGNER_OUT_OF_SCOPE}): {held}; nothing was signed",
            "sign with a key that holds the scope, or extend a key's scopes after review (`strataml keys add`)",
        )
    complete = [k for k in helpful if all(set(n.scopes) & set(_scopes(current, k)) for n in needs)]
    if len(complete) == 1 or (not complete and len(helpful) == 1):
        return (complete or helpful)[0]
    choices = ", ".join(f"{k.fingerprint} ({', '.join(_scopes(current, k))})" for k in (complete or helpful))
    raise StrataError(f"several pinned keys could sign: {choices}", "choose one with --key FPR")


def _find(mine: list[signing.KeyInfo], key: str, where: str) -> signing.KeyInfo:
    """The secret key `--key` names: a fingerprint, a long key id (of it or a subkey), or a user id."""
    wanted = key.replace(" ", "").upper()
    found = [
        k
        for k in mine
        if k.fingerprint == wanted
        or wanted in k.subkeys
        or (len(wanted) >= 16 and (k.fingerprint.endswith(wanted) or any(s.endswith(wanted) for s in k.subkeys)))
    ]
    if not found and not all(c in "0123456789ABCDEF" for c in wanted):  # a user id, as `gpg -u` takes it
        found = [k for k in mine if any(key.lower() in uid.lower() for uid in k.uids)]
        if len(found) > 1:
            raise StrataError(f"{key} matches {len(found)} secret keys", "pass the fingerprint instead (`gpg -K`)")
    if not found:
        raise StrataError(
            f"no secret key {key} in {where}", "list your secret keys with `gpg -K`, or pass --gnupghome DIR"
        )
    return found[0]


def _scopes(current: trust.Trust, key: signing.KeyInfo) -> tuple[str, ...]:
    pin = current.pin(key.fingerprint)
    return pin.scopes if pin is not None else ()


def _helps(scopes: tuple[str, ...], needs: tuple[trust.Need, ...]) -> bool:
    """Whether a key with `scopes` counts towards at least one need (any pinned key, without needs)."""
    return not needs or any(set(n.scopes) & set(scopes) for n in needs)


def _refuse_unfit(
    key: signing.KeyInfo, pinned: signing.KeyInfo, current: trust.Trust, needs: tuple[trust.Need, ...], what: str
) -> None:
    """Refuse, before gpg signs, a key whose signature the doctor would reject for what the key is."""
    if not (key.usable and pinned.usable):
        state = "revoked" if key.revoked or pinned.revoked else "expired"
        raise Refusal(
            f"key {key.fingerprint} ({key.uid}) is {state} ({trust.SIGNER_KEY_INVALID}): the doctor would reject its signature; nothing was signed",
            "sign with a valid pinned key",
        )
    scopes = _scopes(current, key)
    if not _helps(scopes, needs):
        wanted = "; ".join(n.describe() for n in needs)
        raise Refusal(
            f"key {key.fingerprint} ({key.uid}) holds {', '.join(scopes)}, but {what} needs {wanted} "
            f"({trust.SIGNER_OUT_OF_SCOPE}): the doctor would reject its signature; nothing was signed",
            "sign with a pinned key that holds the scope (`--key FPR`), or extend the key's scopes after review",
        )


def _with_bundles(
    ws: Workspace,
    what: SignTarget,
    verifier: trust.Verifier,
    judgement: trust.Judgement,
    needs: Sequence[trust.Need],
    signed: Path,
    content: bytes,
) -> trust.Judgement:
    """A model version's signers counted over both schemes: its model-signing bundles too."""
    from strataml.doctor.rules.signatures import bundles_of, judge_files

    record = ws.get(what.ref)
    bundles = bundles_of(ws, record) if record is not None else []
    if record is None or not bundles:
        return judgement
    mine = _judge_bytes(verifier, content, signed, [])
    others = [j for _p, j in judge_files(ws, what.rel, record, bundles, verifier, openpgp=False) if j.ok]
    return trust.count([mine, *others], needs)


def sign_bundle(root: Path, target: str, key: Path, password: str | None, cwd: Path | None = None) -> Signed:
    """Sign a model version with OpenSSF model signing: a bundle over its folder's files made by
    the model-signing package with the private key file `key`, whose public key is pinned."""
    from strataml.doctor.rules.signatures import bundles_of, expected_files, judge_files

    ws = load(root)
    trust.require_config(ws.config)
    what = _resolve(ws, target, Path(cwd or Path.cwd()))
    if what.kind != "model":
        raise StrataError(
            f"{what.ref}: model signing signs model versions",
            "sign datasets, runs and ledgers with OpenPGP (`strataml sign REF`)",
        )
    _refuse_broken(ws, what)
    fpr = modelsigning.private_key_fingerprint(key, password)
    current = trust.read(ws.root, ws.config.data)
    pinned = trust.checked_keys(current)
    if current.problems:
        first = current.problems[0]
        raise Refusal(f"{first.path}: {first.message}", first.hint)
    pin = current.pin(fpr)
    if pin is None or pin.scheme != modelsigning.SCHEME or fpr not in pinned:
        raise Refusal(
            f"the public key of {key} ({fpr}) is not pinned in {trust.MANIFEST}: the doctor would reject its signature",
            f"pin it after review: `openssl ec -in {key} -pubout -out key.pub.pem && strataml keys add key.pub.pem --scope models`",
        )
    needs, covering = trust.needs_for(current, what.kind, what.state)
    if not _helps(pin.scopes, needs):
        raise Refusal(
            f"key {fpr} holds {', '.join(pin.scopes)}, but {what.ref} needs {'; '.join(n.describe() for n in needs)} "
            f"({trust.SIGNER_OUT_OF_SCOPE}): the doctor would reject its signature; nothing was signed",
            "sign with a pinned key that holds the scope, or extend the key's scopes after review",
        )
    record = ws.get(what.ref)
    assert record is not None and record.folder is not None
    rel = f"{record.folder}/{modelsigning.bundle_name(fpr)}"
    atomic.check(ws.root, rel)  # refused before anything is signed
    folder = ws.abspath(record.folder)
    # Signature files are not what is signed: OpenPGP ones beside it may come and go.
    ignored = sorted(
        {what.rel.rsplit("/", 1)[1] + SIGNATURE_SUFFIX}
        | {
            p[len(record.folder) + 1 :]
            for p in ws.entries
            if p.startswith(record.folder + "/") and p.endswith(SIGNATURE_SUFFIX) and record.is_signature_file(p)
        }
    )
    with _locked(ws.root, what):
        bundle = modelsigning.sign(folder, key, password, ignored)
        with tempfile.TemporaryDirectory() as tmp, trust.Verifier(current) as verifier:
            drafted = Path(tmp) / "bundle.sig"
            drafted.write_bytes(bundle)
            new = verifier.judge_bundle(drafted, expected_files(ws, record.meta, record))
            if not new.ok:
                code, message, _hint = new.problems[0]
                raise Refusal(
                    f"signed, but the doctor would reject the bundle ({code}): {message}; nothing was written",
                    "the folder's files are hashed as they are: pull their LFS content first (`git lfs pull`) and "
                    "remove files the record does not list (`strataml doctor` names them)",
                )
            bundles = [p for p in bundles_of(ws, record) if p != rel]
            has_asc = (what.rel + SIGNATURE_SUFFIX) in ws.entries
            others = judge_files(ws, what.rel, record, bundles, verifier, openpgp=has_asc)
            valid = [j for _p, j in others if j.ok]
            judgement = trust.count([*valid, new], needs)
        atomic.write_bytes(ws.root, rel, bundle)
    missing = [
        f"{need.count - found} more signer{'s' if need.count - found > 1 else ''} with scope {' or '.join(need.scopes)}"
        for need, found in judgement.missing
    ]
    required = max((r.min_signers for r in covering), default=0)
    info = signing.KeyInfo(fpr, (), None, False, False, ())
    # (Other signatures counted by signer, not by file: one .asc can hold several.)
    kept = len({s.who for j in valid for s in j.signers} - {s.who for s in new.signers})
    return Signed(rel, what.rel, info, kept, [], len(judgement.signers), required, missing)


def _keep_existing(verifier: trust.Verifier, raw: bytes, data: Path, signer: str) -> tuple[list[bytes], list[str]]:
    """Signatures in `raw` that still verify over `data` by a pinned key, one per key, other than
    `signer`'s (replaced): a second signature by one key adds no signer."""
    kept: list[bytes] = []
    dropped: list[str] = []
    seen = {signer}
    for block in (_BLOCK.findall(raw) or [raw]) if raw else []:
        judgement = _judge_bytes(verifier, block, data, [])
        who = judgement.signers[0].fingerprint if judgement.signers else None
        if judgement.ok and who and who not in seen:
            kept.append(block if block.endswith(b"\n") else block + b"\n")
            seen.add(who)
        else:
            dropped.append(who or "a signature that no longer verifies")
    return kept, dropped


def _judge_bytes(verifier: trust.Verifier, content: bytes, data: Path, needs: Sequence[trust.Need]) -> trust.Judgement:
    fd, tmp = tempfile.mkstemp(suffix=".asc")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        return verifier.judge(Path(tmp), data, needs)
    finally:
        os.unlink(tmp)
