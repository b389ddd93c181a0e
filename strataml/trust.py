"""Who may sign what (TFC-0007): the pinned keys in tfc/keys/, the policy in strataml.yaml, and
the judgement of a signature file against both.

A valid signature is not an authorised one: a signature counts only when it verifies, its key is
pinned here (a subkey counts for its primary), the key is neither expired nor revoked, and the
key holds the scope the record needs. A policy may ask for several signers: that many distinct
pinned keys holding the scope.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from strataml import atomic, modelsigning, signing
from strataml.loading import Loaded, load_bytes
from strataml.numbers import whole
from strataml.rootdir import KEYS_DIR, KEYS_MANIFEST, TFC_DIR
from strataml.schemas import advised, schema_id, validate

MANIFEST = KEYS_MANIFEST
SCOPES = ("datasets", "models", "production", "ledger")
# The scopes that may sign a kind of record when no policy names one.
KIND_SCOPES: dict[str, tuple[str, ...]] = {
    "dataset": ("datasets",),
    "model": ("models", "production"),
    "ledger": ("ledger",),
}

SIGNATURE_MISSING = "TFC0007-E001"
SIGNATURE_BAD = "TFC0007-E002"
SIGNER_NOT_PINNED = "TFC0007-E003"
SIGNER_OUT_OF_SCOPE = "TFC0007-E004"
SIGNER_KEY_INVALID = "TFC0007-E005"
NOT_A_SIGNATURE = "TFC0007-E006"
ORPHAN_SIGNATURE = "TFC0007-E007"
SIGNATURE_MIXED = "TFC0007-E008"
PINNED_KEY_INVALID = "TFC0007-E009"
TOO_FEW_SIGNERS = "TFC0007-E011"
# What a signer can add later by co-signing: a file with only these problems is signed in part.
SHORTFALL = (SIGNER_OUT_OF_SCOPE, TOO_FEW_SIGNERS)
TRUST_PATH_SYMLINK = "TFC0007-E010"
# Git's modes of a file whose bytes may be trusted: a symlink (120000) or submodule is not key material.
REGULAR_MODES = ("100644", "100755")


@dataclass(frozen=True)
class Pin:
    fingerprint: str
    file: str  # a file name in tfc/keys/
    scopes: tuple[str, ...]
    scheme: str = modelsigning.OPENPGP  # or modelsigning.SCHEME: an elliptic-curve PEM public key


@dataclass(frozen=True)
class Need:
    """What one requirement asks of a signature file: `count` distinct pinned keys, each holding
    one of `scopes`."""

    scopes: tuple[str, ...]
    count: int = 1

    def describe(self) -> str:
        scopes = " or ".join(self.scopes)
        if self.count == 1:
            return f"a signature by a key with scope {scopes}"
        return f"signatures by {self.count} distinct keys with scope {scopes}"


# What a signature file of each kind needs without a requirement of the policy's: one key with
# one of the kind's scopes (made once: every record's signable file asks).
DEFAULT_NEEDS: dict[str, tuple[Need, ...]] = {kind: (Need(scopes),) for kind, scopes in KIND_SCOPES.items()}


@dataclass(frozen=True)
class Requirement:
    records: str  # datasets | models | ledger
    scope: str
    state: str | None = None  # models only: the lifecycle state it applies to
    min_signers: int = 1  # distinct pinned keys with the scope

    def covers(self, kind: str, state: str | None) -> bool:
        """Whether this requirement applies to a `kind` of signable file (a model in `state`)."""
        if self.records == "models":
            return kind == "model" and (self.state is None or self.state == state)
        return kind == {"datasets": "dataset", "ledger": "ledger"}[self.records]

    def describe(self) -> str:
        what = {
            "datasets": "every dataset version",
            "models": "every model version",
            "ledger": "every lifecycle ledger",
        }[self.records]
        return what + (f" in {self.state}" if self.state else "")

    @property
    def need(self) -> Need:
        return Need((self.scope,), self.min_signers)


@dataclass(frozen=True)
class Problem:
    """Something wrong with the trust configuration itself (reported as `code`)."""

    path: str
    message: str
    hint: str
    code: str = PINNED_KEY_INVALID
    line: int | None = None


@dataclass
class Trust:
    """Pinned keys and policy, read from the working tree or from a commit (`source`)."""

    pins: tuple[Pin, ...] = ()
    requirements: tuple[Requirement, ...] = ()
    key_data: dict[str, bytes] = field(default_factory=dict)  # file name -> bytes
    problems: list[Problem] = field(default_factory=list)
    source: str = "the working tree"
    checked: dict[str, tuple[signing.KeyInfo, bytes]] | None = None  # see checked_keys()
    unchecked: dict[str, str] = field(default_factory=dict)  # pinned keys this machine cannot read, and why
    grouped: dict[str, str] | None = None  # see material()

    @property
    def configured(self) -> bool:
        return bool(self.pins or self.requirements or self.problems)

    @property
    def key_files(self) -> list[str]:
        """The pinned keys' files, from the workspace's top (the manifest names them)."""
        return [f"{KEYS_DIR}/{pin.file}" for pin in self.pins]

    def pin(self, fingerprint: str | None) -> Pin | None:
        return next((p for p in self.pins if p.fingerprint == fingerprint), None) if fingerprint else None

    def material(self, fingerprint: str) -> str:
        """Which key material the pinned key `fingerprint` holds, as the first (in fingerprint
        order) of the pinned keys that share a keygrip with it, itself included: signers count
        once per key material, not per fingerprint."""
        if self.grouped is None:  # (asked once per good signature: grouped once per trust)
            self.grouped = shared_material(checked_keys(self))
        return self.grouped.get(fingerprint, fingerprint)


def require_config(config: Loaded) -> None:
    """Refuse (a Refusal, exit 2) when strataml.yaml has errors: the signing policy it holds
    cannot be read, and a command that acts on it (sign, promote) must not act as if there were
    none. A file that does not load, is not a mapping, or breaks the workspace schema (a
    misspelt requirement would be dropped, not enforced) is refused."""
    from strataml.controls import shown

    why, advice = None, ""
    if config.problems:
        problem = config.problems[0]
        why = problem.message + (f" (line {problem.line})" if problem.line else "")
        advice = problem.hint
    elif not isinstance(config.data, dict):
        why = "it is empty" if config.data is None else "it is not a mapping of settings"
    else:
        issues = validate("workspace", config.data)
        why, advice = (issues[0].message, issues[0].advice) if issues else (None, "")
    if why is not None:
        from strataml.errors import Refusal

        raise Refusal(
            f"strataml.yaml has errors, so its signing policy cannot be read (run `strataml doctor`): {shown(why)}",
            (f"{advice}; " if advice else "") + "fix strataml.yaml first; nothing was written",
        )


def read(root: Path, config: Any, commit: str | None = None) -> Trust:
    """The trust in force: the working tree's, or (with `commit`) what the commit held.

    Only regular files reached through real folders are read: a symlinked `tfc/keys`, manifest
    or key file (in the tree or at the commit) is a TFC0007-E010 problem and trusts nothing.
    """
    root = Path(root)
    trust = Trust() if commit is None else Trust(source=f"commit {commit[:12]}")
    get = _local(root, trust) if commit is None else _at(root, commit, trust)
    trust.requirements = _requirements(config)
    raw = get([MANIFEST]).get(MANIFEST)
    if raw is None:
        return trust
    trust.pins = _pins(load_bytes(raw), trust)
    wanted = trust.key_files
    found = get(wanted) if wanted else {}
    for pin, rel in zip(trust.pins, wanted, strict=True):
        data = found.get(rel)
        if data is not None:
            trust.key_data[pin.file] = data
        elif not any(p.code == TRUST_PATH_SYMLINK and p.path == rel for p in trust.problems):
            trust.problems.append(
                Problem(
                    MANIFEST,
                    f"key {pin.fingerprint} names {rel}, which does not exist",
                    "restore the key file, or remove the key with `strataml keys remove`",
                )
            )
    return trust


Getter = Callable[[list[str]], dict[str, bytes]]


def _local(root: Path, trust: Trust) -> Getter:
    def get(paths: list[str]) -> dict[str, bytes]:
        out = {}
        for rel in paths:
            try:
                data = atomic.read_bytes(root, rel)
            except atomic.UnsafePath as exc:
                if not any(p.path == exc.where for p in trust.problems):
                    trust.problems.append(_refused(exc.where, exc.what, trust.source))
                continue
            if data is not None:
                out[rel] = data
        return out

    return get


def _at(root: Path, commit: str, trust: Trust) -> Getter:
    from strataml import gitfacts

    # Listed from `tfc`: a symlinked `tfc` is one blob that a listing of `tfc/keys` never shows.
    modes = gitfacts.modes_at(root, commit, TFC_DIR)
    for folder in (TFC_DIR, KEYS_DIR):
        if modes.get(folder, "040000") != "040000":
            trust.problems.append(_refused(folder, _what(modes[folder]), trust.source))
            break  # nothing under a folder that is not one

    def get(paths: list[str]) -> dict[str, bytes]:
        regular = []
        for rel in paths:
            mode = modes.get(rel)
            if mode in REGULAR_MODES:
                regular.append(rel)
            elif mode is not None:
                trust.problems.append(_refused(rel, _what(mode), trust.source))
        return gitfacts.read_at(root, commit, regular) if regular else {}

    return get


def _what(mode: str) -> str:
    return {"120000": "a symlink", "040000": "a folder", "160000": "a submodule"}.get(mode, "not a regular file")


def _refused(path: str, what: str, source: str) -> Problem:
    return Problem(
        path,
        f"is {what} in {source}: keys are trusted only from regular files in real folders, so it was not read",
        f"replace {path} with the real {'folder' if path in (TFC_DIR, KEYS_DIR) else 'file'} "
        "(`strataml keys add` writes them), and review where the link pointed",
        TRUST_PATH_SYMLINK,
    )


def _pins(loaded: Loaded, trust: Trust) -> tuple[Pin, ...]:
    if not loaded.ok:
        # (`keys add` refuses a manifest it cannot read: it is no way out here.)
        for p in loaded.problems:
            where = "at that line" if p.line else ""
            hint = f"fix the file{' ' + where if where else ''}, or restore it from git (`git checkout -- {MANIFEST}`, if committed)"
            trust.problems.append(Problem(MANIFEST, p.message, hint, line=p.line))
        return ()
    issues = validate("keys", loaded.data)
    if issues:
        for issue in issues[:5]:
            trust.problems.append(
                Problem(
                    MANIFEST,
                    issue.message,
                    advised(issue, f"see `strataml schema keys`; expected `schema: {schema_id('keys')}`"),
                )
            )
        return ()
    pins, seen = [], set()
    for item in loaded.data["keys"]:
        if item["fingerprint"] in seen:
            trust.problems.append(
                Problem(MANIFEST, f"key {item['fingerprint']} is listed twice", "keep one entry with all its scopes")
            )
            continue
        seen.add(item["fingerprint"])
        pins.append(
            Pin(item["fingerprint"], item["file"], tuple(item["scopes"]), item.get("scheme", modelsigning.OPENPGP))
        )
    return tuple(pins)


def _requirements(config: Any) -> tuple[Requirement, ...]:
    signing_cfg = config.get("signing") if isinstance(config, dict) else None
    items = signing_cfg.get("require") if isinstance(signing_cfg, dict) else None
    out = []
    for item in items if isinstance(items, list) else ():
        if (
            isinstance(item, dict)
            and item.get("records") in ("datasets", "models", "ledger")
            and item.get("scope") in SCOPES
        ):
            count = whole(item.get("min_signers", 1))
            out.append(
                Requirement(
                    item["records"],
                    item["scope"],
                    item.get("state") if item["records"] == "models" else None,
                    count if count is not None and count >= 1 else 1,
                )
            )
    return tuple(out)  # a malformed policy is the workspace schema's finding (TFC0001)


def shared_material(keys: dict[str, tuple[signing.KeyInfo, bytes]]) -> dict[str, str]:
    """Each key's fingerprint -> the first fingerprint of the keys it shares a keygrip with,
    through any chain of shared keygrips, across schemes (a model-signing key has the keygrip
    gpg gives its point); a key with no keygrip is its own."""
    group = {fpr: fpr for fpr in keys}

    def top(fpr: str) -> str:
        while group[fpr] != fpr:
            fpr = group[fpr]
        return fpr

    owner: dict[str, str] = {}
    for fpr in sorted(keys):
        for grip in keys[fpr][0].grips:
            other = owner.setdefault(grip, fpr)
            a, b = sorted((top(fpr), top(other)))
            group[b] = a
    return {fpr: top(fpr) for fpr in keys}


def checked_keys(trust: Trust) -> dict[str, tuple[signing.KeyInfo, bytes]]:
    """Pinned keys whose file holds exactly the pinned public key; the others become problems."""
    if trust.checked is not None:
        return trust.checked
    out: dict[str, tuple[signing.KeyInfo, bytes]] = {}
    for pin in trust.pins:
        data = trust.key_data.get(pin.file)
        if data is None:
            continue
        if pin.scheme == modelsigning.SCHEME:
            _check_model_signing_key(trust, pin, data, out)
            continue
        try:
            held = signing.inspect_keys(data)
        except signing.GpgMissing as exc:
            raise _why_gpg(exc) from None
        where = f"{KEYS_DIR}/{pin.file}"
        if any(k.secret for k in held):
            trust.problems.append(
                Problem(
                    where,
                    "holds a SECRET key; it was not used",
                    "remove the secret key from the repository now, revoke it, and pin the public key only",
                )
            )
        elif [k.fingerprint for k in held] != [pin.fingerprint]:
            found = ", ".join(k.fingerprint for k in held) or "no OpenPGP key"
            trust.problems.append(
                Problem(
                    where,
                    f"pinned as {pin.fingerprint} but holds {found}",
                    f"export exactly that key (`gpg --armor --export {pin.fingerprint}`) or fix the pin in {MANIFEST}",
                )
            )
        else:
            out[pin.fingerprint] = (held[0], data)
    trust.checked = out
    return out


def _check_model_signing_key(
    trust: Trust, pin: Pin, data: bytes, out: dict[str, tuple[signing.KeyInfo, bytes]]
) -> None:
    where = f"{KEYS_DIR}/{pin.file}"
    found = modelsigning.inspect_key(data)
    if found.problem == modelsigning.NO_LIBRARY:
        # Not the key's fault: it stays unused here, and every bundle it made is reported as
        # not checkable (TFC0007-E002); OpenPGP signing and checking go on as without it.
        trust.unchecked[pin.fingerprint] = found.why
    elif found.fingerprint is None:
        hint = (
            "remove the private key from the repository now, and pin the public key only"
            if found.problem == modelsigning.PRIVATE
            else f"pin the PEM public key (`strataml keys add KEY.pub.pem --scope ...`) or fix {MANIFEST}"
        )
        trust.problems.append(Problem(where, found.why, hint))
    elif found.fingerprint != pin.fingerprint:
        trust.problems.append(
            Problem(
                where, f"pinned as {pin.fingerprint} but holds key {found.fingerprint}", f"fix the pin in {MANIFEST}"
            )
        )
    else:
        grips = (found.grip,) if found.grip else ()
        out[pin.fingerprint] = (signing.KeyInfo(found.fingerprint, (), None, False, False, (), grips=grips), data)


def needs_for(trust: Trust, kind: str, state: str | None = None) -> tuple[tuple[Need, ...], tuple[Requirement, ...]]:
    """(what each signature file must meet, the requirements behind it) for one signable file.

    Requirements replace the kind's default scopes; `state` matters for model requirements.
    """
    covering = tuple(r for r in trust.requirements if r.covers(kind, state))
    if covering:
        return tuple(r.need for r in covering), covering
    return DEFAULT_NEEDS.get(kind, ()), ()


def _why_gpg(exc: signing.GpgMissing) -> signing.GpgMissing:
    """gpg missing (or not running), said with why a command that only reads needs it."""
    return signing.GpgMissing(
        f"{exc.message}: this workspace pins signing keys ({KEYS_MANIFEST}), and every command that reads "
        "records checks their signatures with gpg",
        exc.hint,
    )


def _keyring() -> signing.Keyring:
    try:
        return signing.Keyring()
    except signing.GpgMissing as exc:
        raise _why_gpg(exc) from None


class Verifier:
    """A keyring holding exactly the pinned OpenPGP keys that check out, and the pinned
    model-signing keys that do; judges signature files of either scheme."""

    def __init__(self, trust: Trust) -> None:
        self.trust = trust
        keys = checked_keys(trust)
        schemes = {p.fingerprint: p.scheme for p in trust.pins}
        self.ring = _keyring()
        self.bundles = modelsigning.Checker(
            {fpr: data for fpr, (_i, data) in keys.items() if schemes.get(fpr) == modelsigning.SCHEME}
        )
        try:
            for fpr, (_info, data) in keys.items():
                if schemes.get(fpr) != modelsigning.SCHEME:
                    self.ring.import_keys(data)
        except BaseException:
            self.ring.close()
            raise

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.ring.close()
        self.bundles.close()

    def judge(self, signature: Path, data: Path, needs: Sequence[Need]) -> Judgement:
        """Findings for one signature file over `data`; `needs`: each to be met."""
        return judge(self.ring.verify(signature, data), self.trust, needs)

    def judge_bundle(self, bundle: Path, expected: dict[str, str]) -> Judgement:
        """Findings for one model-signing bundle: it verifies with a pinned key and signs the
        model version's files at `expected` (path in the folder -> sha256). Needs are counted
        by count() over every signature of the record."""
        out = Judgement()
        try:
            verified = self.bundles.verify(bundle)
        except modelsigning.Unverified as exc:
            message = exc.message
            if exc.code == SIGNER_NOT_PINNED:
                message += f" in {MANIFEST} ({self.trust.source})"
            hint = {
                NOT_A_SIGNATURE: "sign again with `strataml sign REF --scheme model-signing --key KEY.pem`",
                SIGNER_NOT_PINNED: "have a pinned key sign it, or pin the signer's public key after review with `strataml keys add`",
            }.get(
                exc.code,
                "restore the signed files, or review them and sign again with `strataml sign --scheme model-signing`",
            )
            out.problems.append((exc.code, message, hint))
            return out
        differs = modelsigning.compare(verified.files, expected)
        if differs:
            out.problems.append(
                (
                    SIGNATURE_BAD,
                    f"the signature by model-signing key {verified.fingerprint} is over other files: {differs}",
                    "restore the signed files, or review them and sign again with `strataml sign --scheme model-signing`",
                )
            )
            return out
        pin = self.trust.pin(verified.fingerprint)
        if pin is not None:
            material = self.trust.material(pin.fingerprint)  # (a Verifier has gpg: the keys are read)
            out.signers.append(Signer(pin.fingerprint, "", pin.scopes, modelsigning.SCHEME, material))
        return out


@dataclass(frozen=True)
class Signer:
    fingerprint: str
    uid: str
    scopes: tuple[str, ...]
    scheme: str = modelsigning.OPENPGP
    material: str = ""  # Trust.material(): signers of one key material count once

    @property
    def who(self) -> str:
        return self.material or self.fingerprint


@dataclass
class Judgement:
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (code, message, hint)
    signers: list[Signer] = field(default_factory=list)  # distinct usable pinned keys with a good signature
    missing: list[tuple[Need, int]] = field(default_factory=list)  # needs not met, with the signers found for each

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def partial(self) -> bool:
        """Valid as far as it goes, but more signers must co-sign to meet the needs."""
        return bool(self.problems) and all(code in SHORTFALL for code, _m, _h in self.problems)


def judge(result: signing.Verification, trust: Trust, needs: Sequence[Need]) -> Judgement:
    out = Judgement()
    sigs = result.signatures
    if not sigs:
        out.problems.append(
            (
                NOT_A_SIGNATURE,
                f"not an OpenPGP signature: {result.detail}",
                "sign the file again with `strataml sign`; a detached, ASCII-armoured signature belongs here",
            )
        )
        return out
    if result.extra:
        # (gpg passes over what follows a signature block, so it could carry anything into a
        # committed record's folder, where history exempts signature files.)
        out.problems.append(
            (
                NOT_A_SIGNATURE,
                f"holds more than its signatures: {result.extra}",
                "sign the file again with `strataml sign` (it keeps the signatures that still verify and "
                "drops the rest); a signature file holds OpenPGP signatures and nothing else",
            )
        )
    failing = [s for s in sigs if s.status in (signing.BAD, signing.ERROR)]
    if failing:
        if len(sigs) > 1:
            out.problems.append(
                (
                    SIGNATURE_MIXED,
                    f"{len(failing)} of the {len(sigs)} signatures in this file do not verify "
                    f"(by {', '.join(s.signer or '?' for s in failing)})",
                    "sign again so the file holds only signatures over the current content",
                )
            )
        else:
            why = (
                "the file changed after it was signed, or the signature is corrupt"
                if failing[0].status == signing.BAD
                else "gpg could not check it"
            )
            out.problems.append(
                (
                    SIGNATURE_BAD,
                    f"signature by {failing[0].signer or '?'} does not verify: {why}",
                    "restore the signed content, or review it and sign again with `strataml sign`",
                )
            )
    for sig in sigs:
        if sig.status == signing.NO_KEY:
            out.problems.append(
                (
                    SIGNER_NOT_PINNED,
                    f"signed by {sig.signer}, a key not pinned in {MANIFEST} ({trust.source})",
                    "have a pinned key sign it, or pin the signer's key after review with `strataml keys add`",
                )
            )
        elif sig.status in (signing.KEY_EXPIRED, signing.KEY_REVOKED, signing.SIG_EXPIRED):
            what = {
                signing.KEY_EXPIRED: "its key has expired",
                signing.KEY_REVOKED: "its key was revoked",
                signing.SIG_EXPIRED: "the signature itself has expired",
            }[sig.status]
            out.problems.append(
                (
                    SIGNER_KEY_INVALID,
                    f"signature by {sig.primary or sig.signer} ({sig.uid}) verifies but {what}",
                    "sign again with a valid pinned key"
                    + ("; and check why the key was revoked" if sig.status == signing.KEY_REVOKED else ""),
                )
            )
        elif sig.status == signing.GOOD:
            pin = trust.pin(sig.primary)
            if pin is None:  # cannot happen while the keyring holds only pins; never assume it
                out.problems.append(
                    (
                        SIGNER_NOT_PINNED,
                        f"signed by {sig.primary}, a key not pinned in {MANIFEST}",
                        "have a pinned key sign it",
                    )
                )
            else:
                _add(
                    out.signers, Signer(pin.fingerprint, sig.uid, pin.scopes, material=trust.material(pin.fingerprint))
                )
    if out.signers and not failing:
        _count(out, needs)
    return out


def count(judgements: Sequence[Judgement], needs: Sequence[Need]) -> Judgement:
    """One verdict over several signature files of one record (OpenPGP and model-signing): their
    problems, their distinct signers (a key counts once), and the needs counted over all of them."""
    out = Judgement()
    for judged in judgements:
        out.problems.extend(p for p in judged.problems if p[0] not in SHORTFALL)
        for signer in judged.signers:
            _add(out.signers, signer)
    if out.signers and not any(p[0] in (SIGNATURE_BAD, SIGNATURE_MIXED) for p in out.problems):
        _count(out, needs)
    return out


def _add(signers: list[Signer], signer: Signer) -> None:
    """`signer` among `signers`, a key material once: a second pin of the same material adds
    its scopes to the signer already there, never a second signer."""
    for i, kept in enumerate(signers):
        if kept.who == signer.who:
            signers[i] = replace(kept, scopes=tuple(dict.fromkeys((*kept.scopes, *signer.scopes))))
            return
    signers.append(signer)


def _count(out: Judgement, needs: Sequence[Need]) -> None:
    """Each need met by enough distinct signers holding its scope? E004 when none does, E011 when too few."""
    short = []
    for need in needs:
        holders = [s for s in out.signers if set(need.scopes) & set(s.scopes)]
        if len(holders) >= need.count:
            continue
        out.missing.append((need, len(holders)))
        if holders:
            short.append((need, holders))
            continue
        held = "; ".join(f"{s.fingerprint} ({s.uid}) holds {', '.join(s.scopes)}" for s in out.signers)
        out.problems.append(
            (
                SIGNER_OUT_OF_SCOPE,
                f"needs {need.describe()}: {held}",
                "have a key that holds the scope sign it (`strataml sign REF --key FPR`), or extend the key's scopes after review",
            )
        )
    if short:
        found = "; ".join(
            f"{len(holders)} valid signer{'s' if len(holders) > 1 else ''} of the {need.count} needed with scope "
            f"{' or '.join(need.scopes)} ({', '.join(s.uid or s.fingerprint for s in holders)})"
            for need, holders in short
        )
        missing = ", ".join(
            f"{need.count - len(holders)} more with {' or '.join(need.scopes)}" for need, holders in short
        )
        out.problems.append(
            (
                TOO_FEW_SIGNERS,
                f"{found}; missing: {missing}",
                "have other pinned keys that hold the scope co-sign it (`strataml sign REF --key FPR` keeps the signatures already there)",
            )
        )
