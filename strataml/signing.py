"""The only user of gpg (through python-gnupg): an isolated keyring to verify in, and signing.

Verification never trusts python-gnupg's summary (`valid`, `status`) or gpg's exit code: a
signature by an expired or revoked key reports "signature valid" there, and one good signature
hides a bad one in the same file. We read gpg's machine-readable status lines ourselves,
signature by signature.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strataml.errors import StrataError

# One signature's outcome, from gpg's status lines.
GOOD = "good"
BAD = "bad"  # content changed after signing, or a corrupt signature
NO_KEY = "no-key"  # made by a key this keyring does not hold
KEY_EXPIRED = "key-expired"
KEY_REVOKED = "key-revoked"
SIG_EXPIRED = "signature-expired"
ERROR = "error"  # gpg could not check it (unsupported algorithm, ...)


# A signature file holds signatures only, each a few hundred bytes; a bigger one is never read whole.
MAX_SIGNATURE_FILE = 4 * 1024 * 1024


class GpgMissing(StrataError):
    """gpg is not installed."""


@dataclass(frozen=True)
class KeyInfo:
    """A public key as gpg lists it."""

    fingerprint: str  # the primary key's
    uids: tuple[str, ...]
    expires: int | None  # unix time, None: never
    revoked: bool
    expired: bool
    subkeys: tuple[str, ...]  # subkey fingerprints
    secret: bool = False
    # The keygrips of the primary key and its subkeys: what identifies key material. Two keys
    # of other fingerprints, user ids and creation times can hold the same secret key (gpg makes
    # one from another's with `Key-Grip:`), and one person must not count as two signers.
    grips: tuple[str, ...] = ()

    @property
    def uid(self) -> str:
        return self.uids[0] if self.uids else ""

    @property
    def usable(self) -> bool:
        return not (self.revoked or self.expired)


@dataclass(frozen=True)
class SigCheck:
    """One signature in a signature file."""

    status: str
    primary: str | None  # fingerprint of the primary key (for a subkey signature, its primary)
    signer: str | None  # fingerprint or key id of the key that made it
    uid: str = ""
    created: int | None = None


@dataclass(frozen=True)
class Verification:
    """What gpg found in one signature file: its signatures, or none at all (not a signature)."""

    signatures: tuple[SigCheck, ...]
    detail: str = ""  # why nothing was found, in gpg's words
    extra: str = ""  # what the file holds besides its signatures ("" for nothing)


def _gpg_binary() -> str:
    exe = shutil.which("gpg") or shutil.which("gpg2")
    if exe is None:
        raise GpgMissing(
            "gpg is not installed",
            "install GnuPG (Debian/Ubuntu: `apt-get install gnupg`, macOS: `brew install gnupg`)",
        )
    return exe


def _gnupg() -> Any:
    try:
        import gnupg
    except ImportError:  # a core dependency, missing when run from a checkout (tools/) without installing
        from strataml.installed import dependency_hint

        raise StrataError(
            "the Python package python-gnupg is not installed (signatures need it)", dependency_hint("python-gnupg")
        ) from None
    return gnupg


class Keyring:
    """A throw-away GnuPG home (mode 0700) holding only the keys imported into it.

    gpg runs with `--no-options`, so neither the user's keyring nor any gpg.conf takes part.
    Use as a context manager; the home and any agent it started are removed on exit.
    """

    def __init__(self) -> None:
        exe = _gpg_binary()
        # Short path: gpg-agent's socket path must fit in a sockaddr_un.
        self.home = tempfile.mkdtemp(prefix="strataml-gpg-")
        try:
            os.chmod(self.home, 0o700)
            self._gpg = _gpg(self.home, exe, ["--no-options", "--no-auto-key-locate"])
        except BaseException:
            shutil.rmtree(self.home, ignore_errors=True)
            raise

    def __enter__(self) -> Keyring:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        gpgconf = shutil.which("gpgconf")
        if gpgconf:
            subprocess.run([gpgconf, "--homedir", self.home, "--kill", "all"], capture_output=True, check=False)
        shutil.rmtree(self.home, ignore_errors=True)

    def import_keys(self, data: bytes) -> list[str]:
        """Import armoured or binary key material; the primary fingerprints it held."""
        result = self._gpg.import_keys(data)
        return sorted({f for f in (result.fingerprints or []) if f})

    def keys(self, secret: bool = False) -> list[KeyInfo]:
        return [_key_info(k, secret) for k in self._gpg.list_keys(secret)]

    def export(self, fingerprint: str) -> bytes:
        text = self._gpg.export_keys(fingerprint, armor=True)
        return text.encode("utf-8") if isinstance(text, str) else text

    def verify(self, signature: Path, data: Path) -> Verification:
        """Check every signature in the detached `signature` file over `data`."""
        with open(signature, "rb") as fh:
            raw = fh.read(MAX_SIGNATURE_FILE + 1)
        if len(raw) > MAX_SIGNATURE_FILE:
            return Verification(
                (), f"it is larger than {MAX_SIGNATURE_FILE // 1024**2} MiB, which no signature file is"
            )
        found = parse_status(self._gpg.verify_file(io.BytesIO(raw), str(data)).stderr or "")
        if found.signatures and not found.extra and (extra := beside_signatures(raw, found.signatures)):
            return Verification(found.signatures, found.detail, extra)
        return found


def beside_signatures(raw: bytes, checked: tuple[SigCheck, ...]) -> str:
    """What a signature file holds besides the `checked` signatures gpg found in it, which gpg
    passes over in silence."""
    from strataml import sigfile

    return sigfile.extra(raw, len(checked), [s.signer for s in checked])


def inspect_keys(data: bytes) -> list[KeyInfo]:
    """The keys a key file holds (public and secret), read in a keyring of its own."""
    with Keyring() as ring:
        ring.import_keys(data)
        secret = {k.fingerprint for k in ring.keys(secret=True)}
        return [
            KeyInfo(k.fingerprint, k.uids, k.expires, k.revoked, k.expired, k.subkeys, k.fingerprint in secret, k.grips)
            for k in ring.keys()
        ]


def _key_info(raw: dict[str, Any], secret: bool) -> KeyInfo:
    expires = int(raw["expires"]) if str(raw.get("expires") or "").isdigit() else None
    validity = raw.get("trust") or ""
    subkeys = tuple(s[2] for s in raw.get("subkeys") or () if len(s) > 2 and s[2])
    grips = tuple(g for g in (raw.get("keygrip"), *(s[3] for s in raw.get("subkeys") or () if len(s) > 3)) if g)
    expired = validity == "e" or (expires is not None and expires <= _now())
    uids = tuple(raw.get("uids") or ())
    return KeyInfo(raw["fingerprint"], uids, expires, validity == "r", expired, subkeys, secret, grips)


def _now() -> int:
    import time

    return int(time.time())


def parse_status(text: str) -> Verification:
    """Signatures from gpg's `--status-fd` lines, one per NEWSIG block."""
    blocks: list[list[tuple[str, list[str]]]] = []
    failure = ""
    for line in text.splitlines():
        if not line.startswith("[GNUPG:] "):
            if line.startswith("gpg: ") and not failure and ("not a detached" in line or "no valid OpenPGP" in line):
                failure = line[5:].strip()
            continue
        key, _, rest = line[9:].partition(" ")
        args = rest.split()
        if key == "NEWSIG":
            blocks.append([])
        elif blocks:
            blocks[-1].append((key, args))
        if key in ("NODATA", "UNEXPECTED") and not failure:
            failure = (
                "no OpenPGP signature in it" if key == "NODATA" else "it holds OpenPGP data that is not a signature"
            )
    sigs = tuple(s for s in (_one(b) for b in blocks) if s is not None)
    if sigs:
        return Verification(sigs, "", "OpenPGP data that is not a signature" if failure else "")
    return Verification(sigs, failure or "gpg found no signature in it")


_OUTCOMES = {"GOODSIG": GOOD, "BADSIG": BAD, "EXPKEYSIG": KEY_EXPIRED, "REVKEYSIG": KEY_REVOKED, "EXPSIG": SIG_EXPIRED}


def _one(block: list[tuple[str, list[str]]]) -> SigCheck | None:
    status = signer = primary = None
    uid, created = "", None
    for key, args in block:
        if key in _OUTCOMES:
            status = _OUTCOMES[key]
            signer = args[0] if args else None
            uid = " ".join(args[1:])
        elif key == "VALIDSIG" and args:
            signer = args[0]
            created = int(args[2]) if len(args) > 2 and args[2].isdigit() else None
            primary = args[9] if len(args) > 9 else args[0]
        elif key == "ERRSIG" and args:
            # ERRSIG keyid pkalgo hashalgo class time rc [fpr]; rc 9: no public key.
            status = NO_KEY if len(args) > 5 and args[5] == "9" else ERROR
            signer = args[6] if len(args) > 6 and args[6] != "-" else args[0]
    if status is None:
        return None
    return SigCheck(status, primary if status != BAD else None, signer, uid, created)


def _gpg(gnupghome: str | None, exe: str | None = None, options: list[str] | None = None) -> Any:
    """python-gnupg over `gnupghome` (None: GNUPGHOME or ~/.gnupg), its output read as UTF-8 as
    gpg writes it (it reads Latin-1: 'José' came out as 'JosÃ©'), a user id that is not UTF-8
    with replacement characters (never an error that stops the command)."""
    exe = exe or _gpg_binary()
    try:
        gpg = _gnupg().GPG(gpgbinary=exe, gnupghome=gnupghome, options=options)
    except (ValueError, OSError) as exc:  # (python-gnupg runs `gpg --version` first: it failed)
        said = " ".join(str(exc).split())[:300]
        raise GpgMissing(
            f"gpg ({exe}) does not run: {said}", "check that `gpg --version` works here; reinstall GnuPG if it does not"
        ) from None
    gpg.encoding = "utf-8"
    gpg.decode_errors = "replace"
    return gpg


def secret_keys(gnupghome: str | None) -> list[KeyInfo]:
    """Secret keys in the signer's own keyring (`gnupghome`, else GNUPGHOME or ~/.gnupg)."""
    gpg = _gpg(gnupghome)
    secret = {k["fingerprint"] for k in gpg.list_keys(True)}
    return [_key_info(k, True) for k in gpg.list_keys() if k["fingerprint"] in secret]


def sign_detached(data: bytes, key: str, gnupghome: str | None) -> bytes:
    """An ASCII-armoured detached signature over `data` by `key` from the signer's own keyring."""
    gpg = _gpg(gnupghome)
    result = gpg.sign(data, keyid=key, detach=True, binary=False)
    out = result.data if isinstance(result.data, bytes) else str(result).encode()
    if not out.startswith(b"-----BEGIN PGP SIGNATURE-----"):
        said = " ".join(line for line in (result.stderr or "").splitlines() if line.startswith("gpg: "))[:300]
        raise StrataError(
            f"gpg did not sign with key {key}" + (f": {said}" if said else ""),
            "check that the secret key is in this keyring (`gpg -K`) and usable without a prompt, "
            "or pass --gnupghome DIR",
        )
    return out
