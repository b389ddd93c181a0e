"""What a signature file may hold: OpenPGP signature packets, ASCII-armoured or binary, and
nothing else (TFC0007-E006).

gpg verifies the signatures it finds and passes over the rest in silence: text before or after
the armour, armour headers, and packets of other kinds (a key, private or padding packets) beside
a good signature. History lets a signature file change inside a committed record's folder
(co-signing adds to it), so whatever rides along would enter the repository unreviewed. A
signature's unhashed subpackets are not covered by it either: they may only name the issuer.

Read in one pass over the bytes (no backtracking: a file of many unmatched armour lines costs
what its length does).
"""

from __future__ import annotations

import base64
import binascii

SIGNATURE_TAG = 2
# Unhashed subpackets a signer's tool writes: who made it (issuer key id, issuer fingerprint).
ISSUER_SUBPACKETS = frozenset({16, 33})
# Armour headers a signing tool writes (RFC 4880 §6.2), a few short lines at most.
HEADERS = frozenset({"version", "comment", "hash", "charset", "messageid"})
MAX_HEADERS, MAX_HEADER_LINE = 4, 200
BEGIN, END = b"-----BEGIN PGP SIGNATURE-----", b"-----END PGP SIGNATURE-----"


def extra(raw: bytes) -> str:
    """What `raw` (a signature file's bytes) holds besides OpenPGP signatures, or ''."""
    if raw.lstrip().startswith(b"-----"):
        packets, why = _dearmour(raw)
        if why:
            return why
    elif raw[:1] and raw[0] & 0x80:
        packets = [raw]
    else:
        return "text outside its signature blocks"  # (text first: gpg finds the armour after it)
    for data in packets:
        why = _only_signatures(data)
        if why:
            return why
    return ""


def _dearmour(raw: bytes) -> tuple[list[bytes], str]:
    """The binary content of each armoured block, or why the text is more than signature blocks."""
    blocks: list[bytes] = []
    lines = raw.split(b"\n")
    i = 0
    while i < len(lines):
        line = lines[i].rstrip(b"\r").strip(b" \t")
        i += 1
        if not line:
            continue
        if line.startswith(b"-----BEGIN PGP ") and line != BEGIN:
            kind = line[len(b"-----BEGIN PGP ") :].rstrip(b"-").decode("ascii", "replace")[:40]
            return blocks, f"an armoured {kind} (not a signature)"
        if line != BEGIN:
            return blocks, "text outside its signature blocks"
        headers = 0
        while i < len(lines) and lines[i].rstrip(b"\r").strip(b" \t"):
            header = lines[i].rstrip(b"\r")
            key, colon, _value = header.partition(b": ")
            if not colon:
                break  # (no blank line after the headers: the body starts here)
            headers += 1
            if (
                headers > MAX_HEADERS
                or len(header) > MAX_HEADER_LINE
                or key.decode("ascii", "replace").lower() not in HEADERS
            ):
                return blocks, "armour headers that are not a signing tool's"
            i += 1
        body: list[bytes] = []
        while i < len(lines):
            line = lines[i].rstrip(b"\r").strip(b" \t")
            i += 1
            if line == END:
                break
            if line.startswith(b"=") and len(line) == 5:
                continue  # the armour's checksum
            body.append(line)
        else:
            return blocks, "a signature block with no end"
        try:
            blocks.append(base64.b64decode(b"".join(body), validate=True))
        except (binascii.Error, ValueError):
            return blocks, "a signature block that is not base64"
    return blocks, "" if blocks else "no signature block"


def _only_signatures(data: bytes) -> str:
    """Why `data` (OpenPGP packets) holds more than signature packets, or ''."""
    at = 0
    while at < len(data):
        found = _packet(data, at)
        if found is None:
            return "bytes that are not OpenPGP packets"
        tag, start, end = found
        if tag != SIGNATURE_TAG:
            return f"an OpenPGP packet of another kind (tag {tag})"
        why = _unhashed(data[start:end])
        if why:
            return why
        at = end
    return ""


def _packet(data: bytes, at: int) -> tuple[int, int, int] | None:
    """(tag, body start, body end) of the packet at `at`; None where no whole packet is."""
    first = data[at]
    if not first & 0x80:
        return None
    if first & 0x40:  # new format
        tag = first & 0x3F
        if at + 1 >= len(data):
            return None
        o1 = data[at + 1]
        if o1 < 192:
            start, length = at + 2, o1
        elif o1 < 224:
            if at + 2 >= len(data):
                return None
            start, length = at + 3, ((o1 - 192) << 8) + data[at + 2] + 192
        elif o1 == 255:
            start, length = at + 6, int.from_bytes(data[at + 2 : at + 6], "big")
        else:
            return None  # partial lengths: a signature packet never uses them
    else:  # old format
        tag, kind = (first >> 2) & 0x0F, first & 0x03
        if kind == 3:
            return None  # indeterminate length
        size = 1 << kind
        start, length = at + 1 + size, int.from_bytes(data[at + 1 : at + 1 + size], "big")
    end = start + length
    return (tag, start, end) if end <= len(data) and start <= end else None


def _unhashed(body: bytes) -> str:
    """Why a signature packet's unhashed subpackets hold more than who signed it, or ''."""
    if not body or body[0] not in (4, 6):
        return ""  # (version 3 has no subpackets; others are gpg's to judge)
    hashed_size = 2 if body[0] == 4 else 4  # (RFC 9580: a version 6 signature counts them in 4 octets)
    at = 4
    hashed = int.from_bytes(body[at : at + hashed_size], "big")
    at += hashed_size + hashed
    size = int.from_bytes(body[at : at + hashed_size], "big")
    at += hashed_size
    area, end = body[at : at + size], at + size
    if end > len(body):
        return "a signature packet cut short"
    i = 0
    while i < len(area):
        o1 = area[i]
        if o1 < 192:
            start, length = i + 1, o1
        elif o1 < 255:
            start, length = i + 2, ((o1 - 192) << 8) + (area[i + 1] if i + 1 < len(area) else 0) + 192
        else:
            start, length = i + 5, int.from_bytes(area[i + 1 : i + 5], "big")
        if length < 1 or start + length > len(area):
            return "a signature packet's subpackets cut short"
        kind = area[start] & 0x7F
        if kind not in ISSUER_SUBPACKETS:
            return f"data in a signature's unsigned part (subpacket {kind}), which the signature does not cover"
        i = start + length
    return ""
