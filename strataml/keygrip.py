"""The keygrip gpg gives an elliptic-curve key, made for a PEM public key.

A keygrip names key material whatever wraps it: gpg lists one per OpenPGP key and subkey, and
StrataML counts signers by it (TFC-0007 §3). A model-signing key is a bare EC point; the same
point in an OpenPGP key (a P-256 secret key imported into gpg, or exported from it) is the same
signer. Made as libgcrypt makes it for a curve with named parameters: SHA-1 over the curve's
p, a, b, g, n and the point q, each as `(1:NAME LEN:BYTES)`, numbers big-endian without leading
zeros, points uncompressed (the cofactor is left out). tests/test_keygrip.py checks it against
what gpg lists for keys it made.
"""

from __future__ import annotations

import hashlib

# The NIST curves model signing takes: (p, b, n, gx, gy); a is p - 3 on each.
_CURVES = {
    "secp256r1": (
        0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF,
        0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
        0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
        0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
        0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
    ),
    "secp384r1": (
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFF,
        0xB3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF,
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973,
        0xAA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A385502F25DBF55296C3A545E3872760AB7,
        0x3617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C00A60B1CE1D7E819D7A431D7C90EA0E5F,
    ),
    "secp521r1": (
        (1 << 521) - 1,
        0x0051953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF109E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F00,
        0x01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409,
        0x00C6858E06B70404E9CD9E3ECB662395B4429C648139053FB521F828AF606B4D3DBAA14B5E77EFE75928FE1DC127A2FFA8DE3348B3C1856A429BF97E7E31C2E5BD66,
        0x011839296A789A3BC0045C8A5FB42C7D1BD998F54449579B446817AFBD17273E662C97EE72995EF42640C550B9013FAD0761353C7086A272C24088BE94769FD16650,
    ),
}


def ec_keygrip(curve: str, x: int, y: int) -> str | None:
    """The keygrip of the point (x, y) on `curve` (cryptography's name), as gpg lists it
    (upper-case hex); None for a curve not above."""
    params = _CURVES.get(curve)
    if params is None:
        return None
    p, b, n, gx, gy = params
    width = (p.bit_length() + 7) // 8
    digest = hashlib.sha1(usedforsecurity=False)
    for name, raw in (
        ("p", _number(p)),
        ("a", _number(p - 3)),
        ("b", _number(b)),
        ("g", _point(gx, gy, width)),
        ("n", _number(n)),
        ("q", _point(x, y, width)),
    ):
        digest.update(f"(1:{name}{len(raw)}:".encode("ascii") + raw + b")")
    return digest.hexdigest().upper()


def _number(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def _point(x: int, y: int, width: int) -> bytes:
    return b"\x04" + x.to_bytes(width, "big") + y.to_bytes(width, "big")
