"""`strataml sign`: a detached signature next to a record's metadata (or a ledger), checked
the way the doctor will check it before it is written.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from strataml import atomic, lifecycle, signing, trust
from strataml.errors import StrataError
from strataml.refs import valid_name
from strataml.workspace import LEDGER, META, SIGNATURE_SUFFIX, Workspace, load

_BLOCK = re.compile(rb"-----BEGIN PGP SIGNATURE-----.*?-----END PGP SIGNATURE-----\r?\n?", re.S)


@dataclass(frozen=True)
class Signed:
    path: str  # the signature file, workspace-relative
    target: str  # the signed file
    signer: signing.KeyInfo
    kept: int  # other valid signatures still in the file
    dropped: list[str] = field(default_factory=list)  # signatures removed: stale, or by the same key


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
    what = _resolve(ws, target, Path(cwd or Path.cwd()))
    _refuse_broken(ws, what)
    asc = what.rel + SIGNATURE_SUFFIX
    atomic.check(ws.root, asc)  # refused before gpg signs anything
    data = atomic.read_bytes(ws.root, what.rel)
    if data is None:
        raise StrataError(f"{what.rel} does not exist", "check the path, or sign a ref (see `strataml list`)")
    content, signer, kept, dropped = signature(ws, what, data, key, gnupghome)
    atomic.write_bytes(ws.root, asc, content)
    return Signed(asc, what.rel, signer, kept, dropped)


def signature(
    ws: Workspace, what: SignTarget, data: bytes, key: str | None, gnupghome: str | None
) -> tuple[bytes, signing.KeyInfo, int, list[str]]:
    """The content of `what`'s signature file once it signs `data`: (bytes, signer, kept, dropped).

    Checked the way the doctor checks it; valid signatures by other pinned keys are kept.
    """
    current = trust.read(ws.root, ws.config.data)
    pinned = trust.checked_keys(current)
    if current.problems:
        first = current.problems[0]
        raise StrataError(f"{first.path}: {first.message}", first.hint)
    needs, _ = trust.needs_for(current, what.kind, what.state)
    signer = _choose(pinned, current, needs, key, gnupghome)
    new = signing.sign_detached(data, signer.fingerprint, gnupghome)
    asc = what.rel + SIGNATURE_SUFFIX
    existing = atomic.read_bytes(ws.root, asc) or b""
    with tempfile.TemporaryDirectory() as tmp, trust.Verifier(current) as verifier:
        signed = Path(tmp) / "data"
        signed.write_bytes(data)
        kept, dropped = _keep_existing(verifier, existing, signed, signer.fingerprint)
        content = b"".join(kept) + new
        judgement = _judge_bytes(verifier, content, signed, list(needs))
    if not judgement.ok:
        code, message, hint = judgement.problems[0]
        raise StrataError(f"signed, but the doctor would reject {asc} ({code}): {message}; nothing was written", hint)
    return content, signer, len(kept), dropped


def _resolve(ws: Workspace, target: str, cwd: Path) -> SignTarget:
    if target.startswith("ledger:"):
        name = target[len("ledger:") :]
        rel = f"models/{name}/{LEDGER}"
        if not valid_name(name) or not ws.abspath(rel).is_file():
            raise StrataError(
                f"{target}: no ledger at {rel}", "a model's ledger exists once it was promoted (`strataml promote`)"
            )
        return SignTarget(rel, "ledger", target)
    path = (cwd / target).resolve()
    if ":" in target and not path.exists():
        record = ws.require(
            target, usage="sign a ref (model:NAME@V, dataset:NAME@V, run:ID), ledger:NAME, or a metadata file"
        )
        return _record_target(ws, record.meta)
    try:
        rel = path.relative_to(ws.root).as_posix()
    except ValueError:
        raise StrataError(f"{target} is outside the workspace {ws.root}", "sign files of this workspace only") from None
    if rel.endswith(f"/{LEDGER}") and rel.count("/") == 2 and path.is_file():
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
    from strataml.doctor.engine import brief, record_errors

    record = ws.get(what.ref)
    # Signature findings are what signing is about to change.
    bad = record_errors(ws, record, allow=("TFC0007",)) if record is not None else []
    if bad:
        raise StrataError(
            f"{what.ref} has doctor errors, so it was not signed: {brief(bad)}",
            "fix them (`strataml doctor`) and sign again",
        )


def _choose(
    pinned: dict[str, tuple[signing.KeyInfo, bytes]],
    current: trust.Trust,
    needs: tuple[tuple[str, ...], ...],
    key: str | None,
    gnupghome: str | None,
) -> signing.KeyInfo:
    mine = signing.secret_keys(gnupghome)
    where = f"the keyring in {gnupghome}" if gnupghome else "your keyring"
    if key:
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
        chosen = found[0]
        if chosen.fingerprint not in pinned:
            raise StrataError(
                f"key {chosen.fingerprint} ({chosen.uid}) is not pinned in {trust.MANIFEST}: the doctor would reject its signature",
                "pin it after review with `strataml keys add KEYFILE --scope ...`, or sign with a pinned key",
            )
        return chosen
    usable = [k for k in mine if k.fingerprint in pinned and k.usable]
    if not usable:
        raise StrataError(
            f"none of the secret keys in {where} is pinned in {trust.MANIFEST}",
            "pin your public key with `strataml keys add KEYFILE --scope ...`, or pass --gnupghome DIR",
        )
    fitting = [k for k in usable if all(set(alt) & set(current.pin(k.fingerprint).scopes) for alt in needs)]  # type: ignore[union-attr]
    if len(fitting) == 1 or (not fitting and len(usable) == 1):
        return (fitting or usable)[0]
    choices = ", ".join(
        f"{k.fingerprint} ({', '.join(current.pin(k.fingerprint).scopes)})" for k in (fitting or usable)
    )  # type: ignore[union-attr]
    raise StrataError(f"several pinned keys could sign: {choices}", "choose one with --key FPR")


def _keep_existing(verifier: trust.Verifier, raw: bytes, data: Path, signer: str) -> tuple[list[bytes], list[str]]:
    """Signatures in `raw` that still verify over `data` by a pinned key, other than `signer`'s (replaced)."""
    kept, dropped = [], []
    if not raw:
        return kept, dropped
    for block in _BLOCK.findall(raw) or [raw]:
        judgement = _judge_bytes(verifier, block, data, [])
        who = judgement.signers[0].fingerprint if judgement.signers else None
        if judgement.ok and who and who != signer:
            kept.append(block if block.endswith(b"\n") else block + b"\n")
        else:
            dropped.append(who or "a signature that no longer verifies")
    return kept, dropped


def _judge_bytes(verifier: trust.Verifier, content: bytes, data: Path, needs: list[tuple[str, ...]]) -> trust.Judgement:
    fd, tmp = tempfile.mkstemp(suffix=".asc")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        return verifier.judge(Path(tmp), data, needs)
    finally:
        os.unlink(tmp)
