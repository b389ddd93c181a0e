"""OpenSSF model signing next to OpenPGP (TFC-0007): key-based signatures over a model version's
files, made and checked by the `model-signing` package (the modelsigning extra).

A signature is a Sigstore bundle whose DSSE envelope holds an in-toto statement listing every
file of the model version folder with its sha256: `model.yaml` (which names the version and
pins its files), the gate receipt and every artifact. The bundles live in `models/NAME/VERSION/model-signing/`,
one per signer; that folder and the OpenPGP `.asc` files are left out of what is hashed, so
signers of either scheme can add signatures in any order and each one stays valid. Elliptic
curve keys only, no certificate, no transparency log, no network: a key is trusted because it
is pinned in tfc/keys/keys.yaml, by the sha256 of its PEM public key (the bundle's key hint).

The doctor checks a bundle without hashing the folder again: the package verifies the envelope
with the pinned key and yields the signed manifest, which must list exactly `model.yaml` at its
current sha256 and the artifacts at the sha256 the record pins (which the integrity rules check
against the content or its LFS pointer). A checkout holding LFS pointers is checked too.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strataml import atomic
from strataml.controls import said
from strataml.errors import StrataError
from strataml.installed import extra_hint

if TYPE_CHECKING:
    from tempfile import TemporaryDirectory

SCHEME = "model-signing"
OPENPGP = "openpgp"
FOLDER = "model-signing"  # in a model version folder: one bundle per signer
SUFFIX = ".sig"
MAX_BUNDLE = 1024 * 1024  # a bundle of a model of 10,000 files is ~1 MB
MAX_KEY = 1024 * 1024  # a PEM private key is a few hundred bytes
_CURVES = ("secp256r1", "secp384r1", "secp521r1")
_MAKE_KEY = "make one with `openssl ecparam -name prime256v1 -genkey -noout -out key.pem`"
_HINT = re.compile(r"[0-9a-f]{64}")  # a key's fingerprint as the package writes it into a bundle
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,126}\.sig")


class Unverified(Exception):
    """A bundle that proves nothing: `code` is the TFC-0007 rule it breaks."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Verified:
    fingerprint: str  # the pinned key that made it
    files: dict[str, str]  # path in the model folder -> sha256 hex, as signed


def missing_extra() -> StrataError:
    return StrataError(
        "OpenSSF model signing needs the model-signing package, which is not installed", extra_hint("modelsigning")
    )


def installed() -> bool:
    """Whether the package and what it imports are all there (model-signing 1.1 imports
    pyOpenSSL without declaring it: present but unusable is not installed)."""
    try:
        from model_signing._signing import sign_ec_key, sign_sigstore_pb  # noqa: F401
    except Exception:  # ImportError, or what a broken dependency raises while it loads
        return False
    return True


def is_bundle_path(path: str) -> bool:
    """Whether a workspace path is where a model version keeps a model-signing bundle."""
    if not path.endswith(SUFFIX) or f"/{FOLDER}/" not in path:  # most paths: two cheap tests, no split
        return False
    parts = path.split("/")
    return len(parts) == 5 and parts[0] == "models" and parts[3] == FOLDER and bool(_NAME.fullmatch(parts[4]))


def bundle_name(fingerprint: str) -> str:
    """One bundle per signer: re-signing with a key replaces that key's bundle."""
    return f"{FOLDER}/{fingerprint[:16].lower()}{SUFFIX}"


# What inspect_key found wrong with a key file.
NO_LIBRARY, PRIVATE, NOT_A_KEY = "no-library", "private", "not-a-key"


@dataclass(frozen=True)
class Inspected:
    fingerprint: str | None
    problem: str = ""  # NO_LIBRARY, PRIVATE or NOT_A_KEY; "" when it is a usable key
    why: str = ""
    grip: str = ""  # the keygrip gpg would give the same key (keygrip.ec_keygrip): one signer, either scheme


def inspect_key(data: bytes) -> Inspected:
    """A PEM elliptic-curve public key on a curve the package supports, with its fingerprint; or
    what else the file holds (a private key, another algorithm, not PEM), or that the library
    to read it is not installed here."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec
    except ImportError:
        return Inspected(
            None, NO_LIBRARY, f"it cannot be read without the model-signing package ({extra_hint('modelsigning')})"
        )
    if b"PRIVATE KEY" in data:
        return Inspected(None, PRIVATE, "holds a PRIVATE key")
    try:
        key = serialization.load_pem_public_key(data)
    except Exception:  # the library raises several kinds (ValueError, TypeError, its own) for bad input
        return Inspected(None, NOT_A_KEY, "is not a PEM public key")
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in _CURVES:
        return Inspected(
            None, NOT_A_KEY, "is not an elliptic-curve public key on P-256, P-384 or P-521 (what model signing uses)"
        )
    from strataml.keygrip import ec_keygrip

    numbers = key.public_numbers()
    return Inspected(fingerprint(key), grip=ec_keygrip(key.curve.name, numbers.x, numbers.y) or "")


def canonical(data: bytes) -> bytes:
    """The PEM form the fingerprint is taken over: what is stored when a key is pinned (nothing
    before or after the key, whatever the file held besides)."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_public_key(data)
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key: Any) -> str:
    """sha256 over the key's PEM SubjectPublicKeyInfo, upper-case hex: the hint a bundle carries."""
    from cryptography.hazmat.primitives import serialization

    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(pem).hexdigest().upper()


def private_key_fingerprint(path: Path, password: str | None) -> str:
    """The fingerprint of a private key file's public half; a StrataError when it cannot be read."""
    try:
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec
    except ImportError:
        raise missing_extra() from None
    try:
        pem = atomic.read_given(path, "the private key", "give a PEM file with --key", limit=MAX_KEY)
        key = serialization.load_pem_private_key(pem, password.encode() if password else None)
    except UnsupportedAlgorithm:
        raise StrataError(f"{path} holds a key of an algorithm model signing does not use", _MAKE_KEY) from None
    except TypeError:
        if password:
            raise StrataError(
                f"the private key {path} is not encrypted, but STRATAML_SIGNING_KEY_PASSWORD is set",
                "unset STRATAML_SIGNING_KEY_PASSWORD for this key",
            ) from None
        raise StrataError(
            f"the private key {path} is encrypted", "set STRATAML_SIGNING_KEY_PASSWORD to its password"
        ) from None
    except ValueError:
        raise StrataError(f"{path} is not a PEM private key (or the password is wrong)", _MAKE_KEY) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name not in _CURVES:
        raise StrataError(f"{path} is not an elliptic-curve key on P-256, P-384 or P-521", "model signing uses those")
    return fingerprint(key.public_key())


def sign(folder: Path, private_key: Path, password: str | None, ignored: list[str]) -> bytes:
    """A bundle over `folder` (a model version folder), made by the package's own signer."""
    if not installed():
        raise missing_extra()
    from model_signing import hashing, signing

    config = hashing.Config().use_file_serialization(hashing_algorithm="sha256", allow_symlinks=False)
    config.set_ignored_paths(paths=[FOLDER, *ignored], ignore_git_paths=True)
    import tempfile  # here: every doctor run imports this module, few sign

    with tempfile.TemporaryDirectory(prefix="strataml-oms-") as tmp:
        out = Path(tmp) / "bundle.sig"
        try:
            signing.Config().use_elliptic_key_signer(
                private_key=private_key,
                password=password.encode("utf-8") if password else None,  # type: ignore[arg-type]  # it wants bytes
            ).set_hashing_config(config).sign(folder, out)
        except (ValueError, OSError) as exc:
            raise StrataError(
                f"model-signing could not sign {folder.name}: {exc}", "check the key and the files"
            ) from None
        return out.read_bytes()


class Checker:
    """Checks bundles with the pinned model-signing keys (PEM bytes by fingerprint)."""

    def __init__(self, keys: dict[str, bytes]) -> None:
        self.keys = keys
        self._home: TemporaryDirectory[str] | None = None
        self._verifiers: dict[str, Any] = {}

    def __enter__(self) -> Checker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._home is not None:
            self._home.cleanup()
            self._home = None

    def _verifier(self, fpr: str) -> Any:
        if fpr not in self._verifiers:
            from model_signing._signing import sign_ec_key

            # The package's verifier reads its key from a file: a private folder holds the pins.
            if self._home is None:
                from tempfile import TemporaryDirectory

                self._home = TemporaryDirectory(prefix="strataml-oms-")
            path = Path(self._home.name) / f"{fpr}.pem"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(self.keys[fpr])
            self._verifiers[fpr] = sign_ec_key.Verifier(path)
        return self._verifiers[fpr]

    def verify(self, bundle: Path) -> Verified:
        """The signer and the signed files of one bundle; Unverified says why not."""
        from strataml import trust

        if not installed():
            raise Unverified(
                trust.SIGNATURE_BAD,
                f"cannot be checked here: the model-signing package is missing ({extra_hint('modelsigning')})",
            )
        from model_signing._signing import sign_sigstore_pb

        try:
            size = bundle.stat().st_size
        except OSError as exc:
            raise Unverified(trust.NOT_A_SIGNATURE, f"cannot be read: {exc.strerror}") from None
        if size > MAX_BUNDLE:
            raise Unverified(trust.NOT_A_SIGNATURE, f"is {size:,} bytes, more than a bundle holds ({MAX_BUNDLE:,})")
        try:
            signature = sign_sigstore_pb.Signature.read(bundle)
            public = signature.bundle.verification_material.public_key
            hint = str(public.hint or "").upper() if public is not None else ""
        except Exception as exc:  # the parser raises what its input provokes: none of it is a bundle
            raise Unverified(trust.NOT_A_SIGNATURE, f"not a model-signing bundle ({type(exc).__name__})") from None
        if not re.fullmatch(r"[0-9A-F]{64}", hint):
            raise Unverified(
                trust.SIGNER_NOT_PINNED,
                "names no key (a bundle made with a certificate or an old model-signing): only pinned keys count",
            )
        if hint not in self.keys:
            raise Unverified(trust.SIGNER_NOT_PINNED, f"signed by model-signing key {hint}, which is not pinned")
        try:
            manifest = self._verifier(hint).verify(signature)
        except Exception as exc:  # InvalidSignature, ValueError, KeyError: the envelope does not verify
            raise Unverified(
                trust.SIGNATURE_BAD, f"the signature by model-signing key {hint} does not verify ({said(exc, 200)})"
            ) from None
        method = manifest.serialization_type
        if method.get("method") != "files" or method.get("hash_type") != "sha256":
            raise Unverified(
                trust.SIGNATURE_BAD,
                f"signs {method.get('method')}/{method.get('hash_type')} digests; only sha256 per file can be "
                "compared with the record (sign with `strataml sign --scheme model-signing`)",
            )
        try:
            padded = beside_bundle(bundle.read_bytes())
        except OSError as exc:
            raise Unverified(trust.NOT_A_SIGNATURE, f"cannot be read: {exc.strerror}") from None
        if padded:
            raise Unverified(trust.NOT_A_SIGNATURE, f"holds more than its bundle: {padded}")
        files = {str(rd.identifier): rd.digest.digest_hex for rd in manifest.resource_descriptors()}
        return Verified(hint, files)


def beside_bundle(raw: bytes) -> str:
    """What a bundle file holds besides a key-based bundle as model-signing writes it ('' when
    nothing). The signature covers the statement alone: whitespace, escapes, a key id, a second
    signature entry, log entries, the key's raw bytes (which the package's reader drops) or a
    hint's letter case would carry bytes nobody signed into a committed record's folder, where
    history lets signature files change. The order of the fields is left free (another version
    of the package may write another): a few bits."""
    try:
        text = raw.decode("ascii")
        document = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        return "text that is not the ASCII JSON model-signing writes"
    if json.dumps(document, separators=(",", ":")) != text:
        return "whitespace, escapes or a field twice, which model-signing does not write (compact JSON, no newline at the end)"
    material = document.get("verificationMaterial") if isinstance(document, dict) else None
    envelope = document.get("dsseEnvelope") if isinstance(document, dict) else None
    if (
        set(document) != {"mediaType", "verificationMaterial", "dsseEnvelope"}
        or not isinstance(material, dict)
        or not isinstance(envelope, dict)
    ):
        return "other fields than a key-based bundle's (mediaType, verificationMaterial, dsseEnvelope)"
    if set(material) - {"tlogEntries"} != {"publicKey"} or material.get("tlogEntries", []) != []:
        return "other verification material than the key's hint (a key-based bundle has no log entries)"
    hint = material["publicKey"]
    if not isinstance(hint, dict) or set(hint) != {"hint"} or not _HINT.fullmatch(str(hint["hint"])):
        return "a public key given otherwise than by its hint, 64 lower-case hex digits"
    signatures = envelope.get("signatures")
    if set(envelope) != {"payload", "payloadType", "signatures"} or not isinstance(signatures, list):
        return "other envelope fields than payload, payloadType and signatures"
    if len(signatures) != 1 or not isinstance(signatures[0], dict):
        return f"{len(signatures)} signature entries; the package writes one and checks one"
    entry = signatures[0]
    if set(entry) - {"keyid"} != {"sig"} or entry.get("keyid", "") != "":
        return "a key id beside the signature (the package writes an empty one, and the signature does not cover it)"
    if not _canonical_base64(entry["sig"]) or not _canonical_base64(envelope["payload"]):
        return "base64 written otherwise than as it encodes (padding, line breaks or spare bits)"
    return ""


def _canonical_base64(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return base64.b64encode(base64.b64decode(value, validate=True)).decode("ascii") == value
    except ValueError:
        return False


def compare(signed: dict[str, str], expected: dict[str, str]) -> str:
    """'' when the signed manifest is the model version as recorded, else what differs."""
    diffs = []
    missing = sorted(set(expected) - set(signed))
    extra = sorted(set(signed) - set(expected))
    changed = sorted(p for p in set(signed) & set(expected) if signed[p] != expected[p])
    if changed:
        diffs.append(f"changed since it was signed: {', '.join(changed[:3])}" + (" ..." if len(changed) > 3 else ""))
    if missing:
        diffs.append(f"not signed: {', '.join(missing[:3])}" + (" ..." if len(missing) > 3 else ""))
    if extra:
        diffs.append(f"signed but not in the record: {', '.join(extra[:3])}" + (" ..." if len(extra) > 3 else ""))
    return "; ".join(diffs)
