"""Throw-away OpenPGP keys made by the real gpg, each in a GnuPG home of its own."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Key:
    name: str
    home: Path  # the signer's GnuPG home (holds the secret key)
    fingerprint: str  # primary
    public: Path  # exported, armoured public key
    subkeys: tuple[str, ...] = ()


def gpg(home: Path, *args: str, stdin: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["gpg", "--homedir", str(home), "--batch", "--yes", "--no-tty", *args],
                          input=stdin, capture_output=True, check=check)


def make_key(base: Path, name: str, *, expire: str = "0", subkey_signer: bool = False, faked_time: str | None = None) -> Key:
    home = Path(tempfile.mkdtemp(prefix=f"gk-{name[:6]}-", dir=base))
    os.chmod(home, 0o700)
    usage = "cert" if subkey_signer else "sign"
    params = ["%no-protection", "Key-Type: EDDSA", "Key-Curve: ed25519", f"Key-Usage: {usage}"]
    if subkey_signer:
        params += ["Subkey-Type: EDDSA", "Subkey-Curve: ed25519", "Subkey-Usage: sign"]
    params += [f"Name-Real: {name}", f"Name-Email: {name.lower()}@example.org", f"Expire-Date: {expire}", "%commit", ""]
    extra = ["--faked-system-time", faked_time] if faked_time else []
    gpg(home, *extra, "--gen-key", stdin="\n".join(params).encode())
    fingerprint, subkeys = _fingerprints(home)
    public = home.parent / f"{name}.pub.asc"
    public.write_bytes(gpg(home, "--armor", "--export", fingerprint).stdout)
    return Key(name, home, fingerprint, public, subkeys)


def twin_key(base: Path, of: Key, name: str) -> Key:
    """A second primary key made from `of`'s secret key (gpg's `Key-Grip:`): another fingerprint,
    user id and creation time, the same key material. Made in a copy of `of`'s home, so that
    `of` stays alone in its own. (Its home ends in -home: tests stop the agents of such homes.)"""
    home = Path(tempfile.mkdtemp(prefix=f"gk-{name[:6]}-", suffix="-home", dir=base))
    os.chmod(home, 0o700)
    shutil.copytree(of.home, home, dirs_exist_ok=True, ignore=shutil.ignore_patterns("S.*", "*.lock"))
    grip = next(line.split(":")[9] for line in gpg(home, "--with-colons", "--with-keygrip", "-k", of.fingerprint)
                .stdout.decode().splitlines() if line.startswith("grp:"))
    params = ["%no-protection", "Key-Type: EDDSA", "Key-Curve: ed25519", f"Key-Grip: {grip}", "Key-Usage: sign",
              f"Name-Real: {name}", f"Name-Email: {name.lower()}@example.org", "Creation-Date: 20260101T000000",
              "Expire-Date: 0", "%commit", ""]
    gpg(home, "--gen-key", stdin="\n".join(params).encode())
    out = gpg(home, "--with-colons", "--list-keys", f"{name.lower()}@example.org").stdout.decode()
    fingerprint = next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:"))
    public = home.parent / f"{name}.pub.asc"
    public.write_bytes(gpg(home, "--armor", "--export", fingerprint).stdout)
    return Key(name, home, fingerprint, public)


def _fingerprints(home: Path) -> tuple[str, tuple[str, ...]]:
    out = gpg(home, "--with-colons", "--list-keys").stdout.decode()
    fprs, kinds, last = [], [], None
    for line in out.splitlines():
        parts = line.split(":")
        if parts[0] in ("pub", "sub"):
            last = parts[0]
        elif parts[0] == "fpr" and last:
            fprs.append(parts[9])
            kinds.append(last)
            last = None
    primary = fprs[kinds.index("pub")]
    return primary, tuple(f for f, k in zip(fprs, kinds) if k == "sub")


def revoke(key: Key) -> None:
    """Revoke with the certificate gpg wrote at generation, and re-export the public key."""
    cert = (key.home / "openpgp-revocs.d" / f"{key.fingerprint}.rev").read_text()
    gpg(key.home, "--import", stdin=cert.replace(":-----BEGIN", "-----BEGIN").encode())
    key.public.write_bytes(gpg(key.home, "--armor", "--export", key.fingerprint).stdout)


def sign_file(key: Key, data: Path, out: Path, *, faked_time: str | None = None, signer: str | None = None) -> None:
    extra = ["--faked-system-time", faked_time] if faked_time else []
    gpg(key.home, *extra, "--local-user", signer or key.fingerprint, "--armor", "--detach-sign", "--output", str(out), str(data))


def available() -> bool:
    return shutil.which("gpg") is not None


def copy_home(key: Key, target: Path) -> Key:
    """The same key in a home of its own (without the agent's sockets), to change it freely."""
    shutil.copytree(key.home, target, ignore=shutil.ignore_patterns("S.*", "*.lock"))
    public = target.parent / f"{target.name}.pub.asc"
    public.write_bytes(key.public.read_bytes())
    return Key(key.name, target, key.fingerprint, public, key.subkeys)


def stop_agents(homes: list[Path]) -> None:
    """gpg leaves an agent running per home; a test suite must not leave processes behind."""
    gpgconf = shutil.which("gpgconf")
    for home in homes:
        if gpgconf and home.exists():
            subprocess.run([gpgconf, "--homedir", str(home), "--kill", "all"], capture_output=True, check=False)


# A pinentry standing in for a person at the keyboard: it appends a line to ASKED each time gpg
# needs the passphrase, and answers at once, or (with RELEASE) only once that file exists, so a
# test can see whether gpg was asked to sign, or act while a signer is mid-way.
PINENTRY = """#!{python}
import os, sys, time
with open({asked!r}, "a") as fh:
    fh.write("asked\\n")
print("OK Pleased to meet you", flush=True)
for line in sys.stdin:
    command = line.split(" ", 1)[0].strip().upper()
    if command == "GETPIN":
        while {release!r} and not os.path.exists({release!r}):
            time.sleep(0.02)
        print("D {passphrase}", flush=True)
        print("OK", flush=True)
    elif command == "BYE":
        print("OK closing", flush=True)
        break
    else:
        print("OK", flush=True)
"""


def protected_key(base: Path, name: str, passphrase: str, asked: Path, release: Path | None = None) -> Key:
    """A key behind `passphrase` in a home of its own, whose gpg-agent asks the PINENTRY above."""
    import sys

    home = base / f"{name.lower()}-home"
    home.mkdir(mode=0o700)
    pinentry = base / f"{name.lower()}-pinentry.py"
    pinentry.write_text(
        PINENTRY.format(python=sys.executable, asked=str(asked), release=str(release or ""), passphrase=passphrase)
    )
    os.chmod(pinentry, 0o755)
    (home / "gpg-agent.conf").write_text(f"pinentry-program {pinentry}\n")
    params = ["Key-Type: EDDSA", "Key-Curve: ed25519", "Key-Usage: sign", f"Name-Real: {name}",
              f"Name-Email: {name.lower()}@example.org", "Expire-Date: 0", f"Passphrase: {passphrase}", "%commit", ""]
    gpg(home, "--gen-key", stdin="\n".join(params).encode())
    fingerprint, _ = _fingerprints(home)
    public = base / f"{name.lower()}.pub.asc"
    public.write_bytes(gpg(home, "--armor", "--export", fingerprint).stdout)
    return Key(name, home, fingerprint, public)


STORED = Path(__file__).resolve().parent / "data" / "conformance-keys"
STORED_TIME = "20260101T000000!"  # when the stored keys sign: fixed, so their signatures are too


def stored_key(base: Path, name: str, *, revoked: bool = False) -> Key:
    """One of the throw-away keys kept in tests/data/conformance-keys (for the conformance suite,
    whose signatures must come out byte for byte alike): imported into a home of its own that
    signs at a fixed time. Ed25519 signatures are deterministic, so the same file signs alike."""
    home = base / f"{name.lower()}{'-revoked' if revoked else ''}-home"
    home.mkdir(mode=0o700)
    (home / "gpg.conf").write_text(f"faked-system-time {STORED_TIME}\n")
    gpg(home, "--import", str(STORED / f"{name.lower()}.key.asc"))
    fingerprint, subkeys = _fingerprints(home)
    if revoked:
        cert = (STORED / f"{name.lower()}.revocation.asc").read_text()
        gpg(home, "--import", stdin=cert.replace(":-----BEGIN", "-----BEGIN").encode())
    public = base / f"{home.name}.pub.asc"
    public.write_bytes(gpg(home, "--armor", "--export", fingerprint).stdout)
    return Key(name, home, fingerprint, public, subkeys)


def ec_twin(base: Path, name: str) -> tuple[Key, Path, Path]:
    """One P-256 key twice: an OpenPGP key in a GnuPG home of its own, and the same key as PEM
    files for OpenSSF model signing: (the OpenPGP key, private PEM, public PEM). The secret key is
    handed to gpg-agent's store as libgcrypt writes one, and gpg makes its OpenPGP key from it
    (`Key-Grip:`), as twin_key does."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from strataml.keygrip import ec_keygrip

    secret = ec.generate_private_key(ec.SECP256R1())
    point = secret.public_key().public_numbers()
    grip = ec_keygrip("secp256r1", point.x, point.y)
    assert grip is not None
    home = Path(tempfile.mkdtemp(prefix=f"gk-{name[:6]}-", suffix="-home", dir=base))
    os.chmod(home, 0o700)
    (home / "private-keys-v1.d").mkdir(mode=0o700)

    def atom(raw: bytes) -> bytes:
        return str(len(raw)).encode() + b":" + raw

    q = b"\x04" + point.x.to_bytes(32, "big") + point.y.to_bytes(32, "big")
    d = secret.private_numbers().private_value.to_bytes(32, "big")
    (home / "private-keys-v1.d" / f"{grip}.key").write_bytes(
        b"(" + atom(b"private-key") + b"(" + atom(b"ecc") + b"(" + atom(b"curve") + atom(b"NIST P-256") + b")("
        + atom(b"q") + atom(q) + b")(" + atom(b"d") + atom(d) + b")))"
    )
    params = ["%no-protection", "Key-Type: ECDSA", f"Key-Grip: {grip}", "Key-Usage: sign", f"Name-Real: {name}",
              f"Name-Email: {name.lower()}@example.org", "Expire-Date: 0", "%commit", ""]
    gpg(home, "--gen-key", stdin="\n".join(params).encode())
    fingerprint, subkeys = _fingerprints(home)
    public = home.parent / f"{name}.pub.asc"
    public.write_bytes(gpg(home, "--armor", "--export", fingerprint).stdout)
    private_pem, public_pem = home.parent / f"{name}.pem", home.parent / f"{name}.pub.pem"
    private_pem.write_bytes(secret.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
    public_pem.write_bytes(secret.public_key().public_bytes(serialization.Encoding.PEM,
                                                            serialization.PublicFormat.SubjectPublicKeyInfo))
    return Key(name, home, fingerprint, public, subkeys), private_pem, public_pem
