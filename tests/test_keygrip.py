"""strataml.keygrip against gpg itself: the keygrip it lists for EC keys it made, on each curve
model signing takes, is the one made from the key's point alone (a PEM key's)."""

from __future__ import annotations

from pathlib import Path

import pytest

import gpgkeys
from conftest import require
from strataml.keygrip import ec_keygrip

# OpenPGP's curve OIDs (RFC 6637) for the NIST curves, by cryptography's names.
OIDS = {
    bytes.fromhex("2a8648ce3d030107"): "secp256r1",
    bytes.fromhex("2b81040022"): "secp384r1",
    bytes.fromhex("2b81040023"): "secp521r1",
}


def first_packet(data: bytes) -> bytes:
    """The body of the first OpenPGP packet (the primary public key, as gpg exports it)."""
    tag = data[0]
    if tag & 0x40:  # new format
        first = data[1]
        if first < 192:
            return data[2 : 2 + first]
        if first < 224:
            size = ((first - 192) << 8) + data[2] + 192
            return data[3 : 3 + size]
        return data[6 : 6 + int.from_bytes(data[2:6], "big")]
    width = (1, 2, 4)[tag & 3]
    size = int.from_bytes(data[1 : 1 + width], "big")
    return data[1 + width : 1 + width + size]


@pytest.mark.parametrize("curve", ["nistp256", "nistp384", "nistp521"])
def test_the_keygrip_of_a_point_is_the_one_gpg_lists(tmp_path: Path, curve: str) -> None:
    require(gpgkeys.available(), "gpg is not installed")
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    gpgkeys.gpg(home, "--passphrase", "", "--quick-gen-key", f"K <{curve}@example.org>", curve, "sign", "never")
    try:
        body = first_packet(gpgkeys.gpg(home, "--export").stdout)
        assert body[0] == 4 and body[5] == 19  # a v4 ECDSA key
        oid = body[7 : 7 + body[6]]
        at = 7 + body[6]
        bits = int.from_bytes(body[at : at + 2], "big")
        point = body[at + 2 : at + 2 + (bits + 7) // 8]
        width = (len(point) - 1) // 2
        x, y = int.from_bytes(point[1 : 1 + width], "big"), int.from_bytes(point[1 + width :], "big")
        listed = gpgkeys.gpg(home, "--with-colons", "--with-keygrip", "-k").stdout.decode()
        grip = next(line.split(":")[9] for line in listed.splitlines() if line.startswith("grp:"))
        assert ec_keygrip(OIDS[oid], x, y) == grip
    finally:
        gpgkeys.stop_agents([home])


def test_a_curve_model_signing_does_not_take_has_no_keygrip_here() -> None:
    assert ec_keygrip("secp256k1", 1, 2) is None
