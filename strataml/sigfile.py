"""What a signature file may hold: OpenPGP signature packets, ASCII-armoured or binary, and
nothing else (TFC0007-E006).

gpg verifies the signatures it finds and passes over the rest in silence: text around the
armour, lines it skips inside it, packets of other kinds, bytes after a signature's values
inside its packet, signatures of another class it does not check at all. History lets a
signature file change inside a committed record's folder (co-signing adds to it), so whatever
rode along would enter the repository unreviewed. So every byte is accounted for: the armour as
gpg writes it, each packet parsed to its last value, in a signature's unhashed subpackets (which
it does not cover) only who made it, and as many signatures as gpg checked.

Read in one pass over the bytes (no backtracking: a file of many odd lines costs its length).
"""

from __future__ import annotations

import base64
import binascii

SIGNATURE_TAG = 2
BEGIN, END = b"-----BEGIN PGP SIGNATURE-----", b"-----END PGP SIGNATURE-----"
# Armour headers a signing tool writes (RFC 4880 §6.2): a few short printable lines.
HEADERS = frozenset({"version", "comment", "hash", "charset", "messageid"})
MAX_HEADERS, MAX_HEADER_LINE = 4, 80
# Unhashed subpackets: who made the signature, and nothing more (the sizes their data has).
ISSUER = {16: (8,), 33: (21, 33)}  # issuer key id; issuer fingerprint (version 4 or 6 key)
# Signature algorithms: how many MPIs, or (negative) how many octets of native values (version 6).
VALUES: dict[int, int] = {1: 1, 3: 1, 17: 2, 19: 2, 22: 2, 27: -64, 28: -114}
# The longest signature value: a 4096-bit RSA key's, the largest gpg makes. (A value past its
# key's modulus still verifies with libgcrypt: a shorter key's signature leaves that much unjudged.)
MAX_MPI = 512
# Base64 lines: all of one width (gpg and others write 64), at most RFC 4880's 76, the last shorter.
MAX_LINE = 76


def extra(raw: bytes, signatures: int | None = None, signers: list[str | None] | None = None) -> str:
    """What `raw` (a signature file's bytes) holds besides OpenPGP signatures, or ''. With
    `signatures` (how many gpg checked), the file holds exactly that many; with `signers` (the
    key each was made by, as gpg said, in order), their issuer subpackets name those keys."""
    if raw.lstrip().startswith(b"-----"):
        packets, why = _dearmour(raw)
        if why:
            return why
    elif raw[:1] and raw[0] & 0x80:
        packets = [raw]
    else:
        return "text outside its signature blocks"  # (text first: gpg finds the armour after it)
    seen: list[bytes] = []
    for data in packets:
        why = _only_signatures(data, seen, signers or [])
        if why:
            return why
    if signatures is not None and len(seen) != signatures:
        return f"{len(seen)} signature packets where gpg checked {signatures} (one of another class is never checked)"
    return ""


def _dearmour(raw: bytes) -> tuple[list[bytes], str]:
    """The binary content of each armoured block, or why the text is more than signature blocks
    as a signing tool writes them (lines as they are, a blank line between blocks at most)."""
    blocks: list[bytes] = []
    lines = [line[:-1] if line.endswith(b"\r") else line for line in raw.split(b"\n")]
    if any(line != line.strip(b" \t") for line in lines):
        return blocks, "spaces or tabs around its lines"
    i, blank = 0, 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            blank += 1
            if blank > 1 and i < len(lines):
                return blocks, "blank lines between its signature blocks"
            continue
        blank = 0
        if line.startswith(b"-----BEGIN PGP ") and line != BEGIN:
            kind = line[len(b"-----BEGIN PGP ") :].rstrip(b"-").decode("ascii", "replace")[:40]
            return blocks, f"an armoured {kind} (not a signature)"
        if line != BEGIN:
            return blocks, "text outside its signature blocks"
        headers = 0
        while i < len(lines) and lines[i]:
            key, colon, _value = lines[i].partition(b": ")
            if not colon:
                break  # (no headers and no blank line: the body starts here)
            headers += 1
            if (
                headers > MAX_HEADERS
                or len(lines[i]) > MAX_HEADER_LINE
                or not lines[i].isascii()
                or not all(32 <= c < 127 for c in lines[i])
                or key.decode("ascii").lower() not in HEADERS
            ):
                return blocks, "armour headers that are not a signing tool's"
            i += 1
        if i < len(lines) and not lines[i]:
            i += 1  # the blank line that ends the headers
        body: list[bytes] = []
        checksum = False
        while i < len(lines) and lines[i] != END:
            line = lines[i]
            i += 1
            if checksum or not line:
                return blocks, "lines gpg skips inside a signature block"
            if line.startswith(b"="):
                checksum = True  # (the armour's checksum: one line, the last before END)
                if len(line) != 5:
                    return blocks, "lines gpg skips inside a signature block"
                continue
            body.append(line)
        if i >= len(lines):
            return blocks, "a signature block with no end"
        i += 1
        widths = {len(line) for line in body[:-1]}
        if (
            len(widths) > 1
            or any(w > MAX_LINE for w in widths)
            or (body and len(body[-1]) > max(widths, default=MAX_LINE))
        ):
            return blocks, "base64 lines of changing widths"
        try:
            decoded = base64.b64decode(b"".join(body), validate=True)
        except (binascii.Error, ValueError):
            return blocks, "a signature block that is not base64"
        if not decoded:
            return blocks, "an empty signature block"  # (gpg is silent about one with a checksum line)
        blocks.append(decoded)
    return blocks, "" if blocks else "no signature block"


def _only_signatures(data: bytes, seen: list[bytes], signers: list[str | None]) -> str:
    """Why `data` (OpenPGP packets) holds more than signature packets, or ''; each signature's
    signed part goes to `seen`, where one seen before is one too many."""
    at = 0
    while at < len(data):
        found = _packet(data, at)
        if found is None:
            return "bytes that are not OpenPGP packets"
        tag, start, end = found
        if tag != SIGNATURE_TAG:
            return f"an OpenPGP packet of another kind (tag {tag})"
        signer = signers[len(seen)] if len(seen) < len(signers) else None
        signed, why = _signature(data[start:end], signer)
        if why:
            return why
        if signed in seen:  # (copies that differ only where the signature does not reach)
            return "the same signature twice"
        seen.append(signed)
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


def _signature(body: bytes, signer: str | None = None) -> tuple[bytes, str]:
    """(the part the signature covers, why the packet holds more than a signature or ''): read to
    its last value, each value written as short as it is (RFC 4880 §3.2)."""
    cut = "a signature packet that does not end where its signature does"
    if not body:
        return body, cut
    version = body[0]
    if version == 3:
        if len(body) < 19 or body[1] != 5:
            return body, cut
        algorithm, at, signed = body[15], 19, body[:17]  # (5 hashed octets, key id, algorithms; 2 of the hash)
    elif version in (4, 6):
        count = 2 if version == 4 else 4  # (RFC 9580: a version 6 signature counts in 4 octets)
        if len(body) < 4 + count:
            return body, cut
        algorithm = body[2]
        at = 4 + count + int.from_bytes(body[4 : 4 + count], "big")
        signed = body[:at]
        size = int.from_bytes(body[at : at + count], "big")
        at += count
        if at + size > len(body):
            return signed, cut
        why = _unhashed(body[at : at + size], signer)
        if why:
            return signed, why
        at += size + 2  # (and 2 octets of the hash)
        if version == 6:
            at += 1 + (body[at] if at < len(body) else 0)  # the salt
    elif version == 5:
        return body, ""  # (LibrePGP's, from gpg 2.4's version 5 keys: gpg judges it; counted as checked)
    else:
        return body, f"a signature packet of version {version}, which no signing tool writes"
    values = VALUES.get(algorithm)
    if values is None:
        return signed, f"a signature by public-key algorithm {algorithm}, which StrataML does not read"
    if values < 0:
        at -= values
    else:
        for _ in range(values):  # MPIs: a 2-octet length in bits, then the octets
            if at + 2 > len(body):
                return signed, cut
            bits = int.from_bytes(body[at : at + 2], "big")
            octets = (bits + 7) // 8
            value = body[at + 2 : at + 2 + octets]
            if octets > MAX_MPI or int.from_bytes(value, "big").bit_length() != bits:
                return signed, "a signature value written longer than it is"
            at += 2 + octets
    return signed, "" if at == len(body) else cut


def _unhashed(area: bytes, signer: str | None = None) -> str:
    """Why a signature's unhashed subpackets hold more than who signed it (`signer`: the key's
    fingerprint or key id, as gpg said, when known), or ''."""
    i, kinds = 0, set()
    while i < len(area):
        length, start = area[i], i + 1  # (an issuer's subpacket is short: one length octet)
        kind = area[start] if start < len(area) else -1
        if (
            length >= 192
            or length < 1
            or start + length > len(area)
            or kind not in ISSUER
            or length - 1 not in ISSUER[kind]
            or kind in kinds
        ):
            return "data in a signature's unsigned part, which the signature does not cover"
        kinds.add(kind)
        value = area[start + 1 : start + length].hex().upper()
        if signer and not _names(value if kind == 16 else value[2:], signer.upper()):
            return "an issuer in a signature's unsigned part that is not the key that made it"
        i = start + length
    return ""


def _names(issuer: str, signer: str) -> bool:
    """Whether an issuer id (key id or fingerprint, hex) and gpg's signer (the same, or longer)
    name one key: gpg itself passes over a wrong one, so it could carry any bytes."""
    return signer.endswith(issuer) if len(issuer) <= len(signer) else issuer.endswith(signer)
