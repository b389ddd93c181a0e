"""Pinning public keys: `tfc/keys/<FPR>.asc` plus their entry in `tfc/keys/keys.yaml` (TFC-0007)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from strataml import atomic, modelsigning, signing, trust
from strataml.errors import Refusal, StrataError
from strataml.schemas import schema_id
from strataml.words import listed

HEADER = (
    "# Trusted signing keys (TFC-0007), managed by `strataml keys`: review every change.\n"
    "# Each entry pins a primary key fingerprint to the scopes it may sign.\n"
)


@dataclass(frozen=True)
class KeyRow:
    """One pinned key as `strataml keys list` shows it."""

    fingerprint: str
    uid: str
    scopes: tuple[str, ...]
    expires: str  # YYYY-MM-DD, or "never"
    status: str  # valid | expired | revoked | problem: ...
    file: str
    scheme: str = "openpgp"

    def as_dict(self) -> dict[str, object]:
        return {
            "fingerprint": self.fingerprint,
            "uid": self.uid,
            "scopes": list(self.scopes),
            "expires": self.expires,
            "status": self.status,
            "file": f"{trust.KEYS_DIR}/{self.file}",
            "scheme": self.scheme,
        }


def _current(root: Path) -> trust.Trust:
    """The pins `keys add|remove` change. Refused before anything is written when the manifest,
    or a folder on its way, is a symlink or not what it should be (exit 3: atomic's confined
    opening decides, as for the write itself), or has errors (exit 2)."""
    atomic.check(root, trust.MANIFEST)
    current = trust.read(root, {})
    manifest_problems = [p for p in current.problems if p.path == trust.MANIFEST and "does not exist" not in p.message]
    if manifest_problems:
        raise Refusal(_where(manifest_problems[0]) + manifest_problems[0].message, manifest_problems[0].hint)
    return current


def _save(root: Path, pins: list[trust.Pin]) -> None:
    body = {
        "schema": schema_id("keys"),
        "keys": [
            {"fingerprint": p.fingerprint, "file": p.file, "scopes": list(p.scopes)}
            | ({"scheme": p.scheme} if p.scheme != modelsigning.OPENPGP else {})
            for p in sorted(pins, key=lambda p: p.fingerprint)
        ],
    }
    atomic.write_text(root, trust.MANIFEST, HEADER + yaml.safe_dump(body, sort_keys=False, default_flow_style=None))


# `keys add` and `keys remove` read the pins and write them back: run at once without it, one
# undid the other (three of four adds lost; a key removed with --force pinned again).
LOCK = ".strataml/locks/keys.lock"


def add(
    root: Path, keyfile: Path, scopes: list[str], *, replace_scopes: bool = False
) -> tuple[trust.Pin, signing.KeyInfo, tuple[str, ...] | None]:
    """Pin the one public key in `keyfile` with `scopes`; (pin, key, the scopes it had before if already pinned).

    A key already pinned keeps any scope not given only with `replace_scopes`: dropping a scope
    can make signatures stop counting, and the refusal names them."""
    # (What the key file is refused for comes before the lock: a read-only checkout is told it.)
    data = atomic.read_given(
        Path(keyfile), "the key file", "pass an exported public key, e.g. `gpg --armor --export FPR > key.asc`"
    )
    unknown = sorted(set(scopes) - set(trust.SCOPES))
    if unknown or not scopes:
        raise StrataError(
            f"unknown scope {', '.join(unknown)}" if unknown else "no scope given",
            f"pass --scope one or more times: {', '.join(trust.SCOPES)}",
        )
    if b"-----BEGIN" in data and b"-----BEGIN PGP" not in data:
        key, pin = _model_signing_key(keyfile, data, scopes)
        with atomic.locked(root, LOCK):
            current = _current(root)
            _refuse_twin(current, key)
            before = current.pin(key.fingerprint)
            dropped = [s for s in before.scopes if s not in pin.scopes] if before else []
            if before is not None and dropped and not replace_scopes:
                raise Refusal(
                    _narrowing(root, key, before.scopes, pin.scopes, dropped),
                    _narrowing_hint(before.scopes, pin.scopes),
                )
            _pin(root, pin, modelsigning.canonical(data), [p for p in current.pins if p.fingerprint != key.fingerprint])
        return pin, key, before.scopes if before else None
    held = signing.inspect_keys(data)
    if any(k.secret for k in held):
        raise Refusal(
            f"{keyfile} holds a SECRET key; it was not pinned and nothing was written",
            "export the public key only: `gpg --armor --export FPR > key.asc` (and keep the secret key out of the repository)",
        )
    if len(held) != 1:
        raise StrataError(
            f"{keyfile} holds {len(held) or 'no'} OpenPGP public keys; one key is pinned at a time",
            "export exactly one key: `gpg --armor --export FPR > key.asc`",
        )
    key = held[0]
    if not key.usable:
        raise Refusal(
            f"key {key.fingerprint} ({key.uid}) is {'revoked' if key.revoked else 'expired'}; the doctor would reject everything it signs",
            "pin a valid key (extend an expired key's validity with `gpg --quick-set-expire` and export it again)",
        )
    with atomic.locked(root, LOCK):
        current = _current(root)
        _refuse_twin(current, key)
        before = current.pin(key.fingerprint)
        pin = trust.Pin(key.fingerprint, f"{key.fingerprint}.asc", tuple(s for s in trust.SCOPES if s in scopes))
        dropped = [s for s in before.scopes if s not in pin.scopes] if before else []
        if before is not None and dropped and not replace_scopes:
            raise Refusal(
                _narrowing(root, key, before.scopes, pin.scopes, dropped), _narrowing_hint(before.scopes, pin.scopes)
            )
        with signing.Keyring() as ring:  # stored as gpg exports it: armoured, public parts only
            ring.import_keys(data)
            exported = ring.export(key.fingerprint)
        _pin(root, pin, exported, [p for p in current.pins if p.fingerprint != key.fingerprint])
    return pin, key, before.scopes if before else None


def _pin(root: Path, pin: trust.Pin, data: bytes, others: list[trust.Pin]) -> None:
    """The key file, then the manifest that pins it; when the manifest cannot be written (a full
    disk), the key file is put back as it was: no key left in tfc/keys/ that nothing pins."""
    rel = f"{trust.KEYS_DIR}/{pin.file}"
    before = atomic.read_bytes(root, rel)
    atomic.write_bytes(root, rel, data)
    try:
        _save(root, [*others, pin])
    except BaseException:
        try:
            if before is None:
                atomic.remove(root, rel)
            else:
                atomic.write_bytes(root, rel, before)
        except OSError:
            pass  # (the manifest's error is the one to tell)
        raise


def _refuse_twin(current: trust.Trust, key: signing.KeyInfo) -> None:
    """Refuse a key whose material a pinned key of another fingerprint holds, in either scheme
    (an OpenPGP key and a PEM model-signing key of one EC point share their keygrip)."""
    try:
        pinned = trust.checked_keys(current)
    except signing.GpgMissing:
        # (A PEM key pinned where gpg cannot read the OpenPGP pins: where the doctor counts
        # signers, gpg reads them, and one key material counts once there.)
        return
    twin = next(
        (
            (fpr, info)
            for fpr, (info, _data) in pinned.items()
            if fpr != key.fingerprint and set(info.grips) & set(key.grips)
        ),
        None,
    )
    if twin is not None:
        raise Refusal(
            f"key {key.fingerprint} ({key.uid or 'a model-signing key'}) holds the same key material as the pinned "
            f"key {twin[0]} ({twin[1].uid or 'a model-signing key'}): one secret key under two fingerprints would "
            "count as two signers",
            "pin one of them; to sign as two people, each needs a key of their own (`gpg --quick-gen-key`)",
        )


def _model_signing_key(keyfile: Path, data: bytes, scopes: list[str]) -> tuple[signing.KeyInfo, trust.Pin]:
    """A PEM public key for OpenSSF model signing: pinned by the sha256 of its PEM form."""
    found = modelsigning.inspect_key(data)
    if found.problem == modelsigning.PRIVATE:
        raise Refusal(
            f"{keyfile} holds a PRIVATE key; it was not pinned and nothing was written",
            "pin the public key only: `openssl ec -in key.pem -pubout -out key.pub.pem`",
        )
    if found.problem == modelsigning.NO_LIBRARY:
        raise modelsigning.missing_extra()
    if found.fingerprint is None:
        raise StrataError(
            f"{keyfile} {found.why}",
            "pin an OpenPGP key (`gpg --armor --export FPR`) or an EC public key (`openssl ec -in key.pem -pubout`)",
        )
    fpr = found.fingerprint
    key = signing.KeyInfo(fpr, (), None, False, False, (), grips=(found.grip,) if found.grip else ())
    pin = trust.Pin(fpr, f"{fpr}.pem", tuple(s for s in trust.SCOPES if s in scopes), modelsigning.SCHEME)
    return key, pin


def _relying(root: Path, fingerprint: str, scopes: tuple[str, ...], *, every: bool = False) -> list[str]:
    """The signed files in the working tree whose signature by `fingerprint` would stop counting
    were the key pinned for `scopes` only; `every`: each file it validly signed (relying_on)."""
    from strataml.doctor.engine import Context
    from strataml.doctor.rules.signatures import relying_on
    from strataml.workspace import load, load_config

    workspace = load(root)
    if every and not workspace.signature_like:
        return []  # (nothing is signed: no policy or gpg needs asking for an unpinning to be safe)
    config = load_config(root)
    trust.require_config(config)  # a policy that cannot be read cannot say which signatures count
    current = trust.read(root, config.data or {})
    return relying_on(Context(workspace), current, fingerprint, scopes, every=every)


def _stop_counting(relying: list[str]) -> str:
    return f"{len(relying)} signed file{'s' if len(relying) != 1 else ''} would stop counting: {listed(relying, 10)}"


def _narrowing(
    root: Path, key: signing.KeyInfo, had: tuple[str, ...], scopes: tuple[str, ...], dropped: list[str]
) -> str:
    relying = _relying(root, key.fingerprint, scopes)
    said = (
        f"key {key.fingerprint} ({key.uid}) is pinned for {', '.join(had)}; the scopes given would drop "
        f"{', '.join(dropped)}, and nothing was written. "
    )
    if not relying:
        return said + "No signature in the working tree would stop counting."
    return said + _stop_counting(relying)


def _narrowing_hint(had: tuple[str, ...], scopes: tuple[str, ...]) -> str:
    keep = " ".join(f"--scope {s}" for s in trust.SCOPES if s in had or s in scopes)
    return f"to add scopes, give all of them ({keep}); to narrow the key on purpose, repeat with --replace-scopes"


def remove(root: Path, fingerprint: str, *, force: bool = False) -> trust.Pin:
    """Unpin a key given by its fingerprint (or an unambiguous tail of 16+ hex digits); its file goes too.

    A key whose signatures count towards what the policy needs is kept unless `force` (a key that
    leaked must stop counting at once): the refusal names the signed files, as narrowing its
    scopes does."""
    pin = _removable(root, fingerprint, force=force)  # (refusals first: a read-only checkout is told them)
    with atomic.locked(root, LOCK):
        current = _current(root)  # as it is now, under the lock: what another command pinned stays
        _save(root, [p for p in current.pins if p.fingerprint != pin.fingerprint])
        if not any(p.file == pin.file for p in current.pins if p.fingerprint != pin.fingerprint):
            atomic.remove(root, f"{trust.KEYS_DIR}/{pin.file}")
    return pin


def _removable(root: Path, fingerprint: str, *, force: bool) -> trust.Pin:
    """The pin `remove` takes away, or why not."""
    wanted = fingerprint.replace(" ", "").upper()
    current = _current(root)
    matches = [
        p for p in current.pins if p.fingerprint == wanted or (len(wanted) >= 16 and p.fingerprint.endswith(wanted))
    ]
    if len(wanted) < 16:
        # Short ids collide (an 8-digit id can be made to match any key in minutes): never by them.
        raise StrataError(
            f"{fingerprint} is {len(wanted)} hex digits; a key is named by at least its last 16 (its long id)",
            "short key ids collide, so they never name a pinned key; copy it from `strataml keys list`",
        )
    if not matches:
        starts = [p.fingerprint for p in current.pins if p.fingerprint.startswith(wanted)]
        if starts:
            # (The start of a fingerprint, as a list shows it first, is no key id: the end is.)
            raise StrataError(
                f"no pinned key matches {fingerprint}: a key is named by its whole fingerprint or its end (its last "
                "16 or more hex digits), and these are the start of one",
                f"give the whole fingerprint: strataml keys remove {starts[0]}",
            )
        raise StrataError(
            f"no pinned key matches {fingerprint}", "see `strataml keys list` for the pinned fingerprints"
        )
    if len(matches) > 1:
        raise StrataError(f"{fingerprint} matches {len(matches)} pinned keys", "give the full fingerprint")
    pin = matches[0]
    if not force:
        try:
            signed = _relying(root, pin.fingerprint, (), every=True)
        except StrataError as exc:
            unchecked = StrataError(
                f"key {pin.fingerprint} was not unpinned: which files it signed could not be checked ({exc.message})",
                f"{exc.hint}; or unpin it without that check with --force (a key that leaked)"
                if exc.hint
                else "unpin it without that check with --force (a key that leaked)",
            )
            unchecked.exit_code = exc.exit_code  # (as the check's own failure would have exited)
            raise unchecked from None
        if signed:
            raise Refusal(
                f"key {pin.fingerprint} ({', '.join(pin.scopes)}) was not unpinned: {len(signed)} file"
                f"{'s hold signatures' if len(signed) != 1 else ' holds a signature'} by it, which the doctor "
                f"would then call signed by a key not pinned (TFC0007-E003): {listed(signed, 10)}",
                "to keep them signed, delete each .asc and sign it again with the keys that stay "
                "(`strataml sign REF --key FPR`); to unpin it anyway (a key that leaked), repeat with --force",
            )
    return pin


def listing(root: Path) -> list[KeyRow]:
    current = trust.read(root, {})
    checked = trust.checked_keys(current)
    rows = []
    for pin in current.pins:
        found = checked.get(pin.fingerprint)
        if found is None:
            why = current.unchecked.get(pin.fingerprint) or next(
                (p.message for p in current.problems if pin.file in p.path or pin.fingerprint in p.message),
                "key file unusable",
            )
            rows.append(KeyRow(pin.fingerprint, "", pin.scopes, "", f"problem: {why}", pin.file, pin.scheme))
            continue
        key = found[0]
        expires = time.strftime("%Y-%m-%d", time.gmtime(key.expires)) if key.expires else "never"
        status = "revoked" if key.revoked else "expired" if key.expired else "valid"
        rows.append(KeyRow(pin.fingerprint, key.uid, pin.scopes, expires, status, pin.file, pin.scheme))
    for problem in current.problems:
        # (The folder itself too: a symlinked tfc/keys listed "No keys pinned.", exit 0.)
        if problem.path in (trust.MANIFEST, trust.KEYS_DIR, trust.TFC_DIR) and not any(
            r.fingerprint in problem.message for r in rows
        ):
            raise StrataError(_where(problem) + problem.message, problem.hint)
    return rows


def _where(problem: trust.Problem) -> str:
    """`path:line: ` as an error names a place (the hint says "fix the file at that line")."""
    return f"{problem.path}:{problem.line}: " if problem.line else f"{problem.path}: "
