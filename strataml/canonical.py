"""Canonical JSON as RFC 8785 (JCS) defines it: the bytes that hashes over JSON are taken of
(ledger entries, TFC-0005; `config_hash`, TFC-0003), so any language can reproduce them.

Keys sorted by UTF-16 code units, no insignificant white space, strings with only the escapes
JSON.stringify writes, numbers as ECMAScript prints doubles, UTF-8. What has no JCS form is
refused, never approximated: NaN and infinities, integers a double cannot hold exactly, text
with an unpaired surrogate (`"\\ud800"` decodes to one).
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

# Beyond this an integer is not exactly one IEEE 754 double, the only numbers JCS knows.
MAX_EXACT_INT = 2**53 - 1
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


class NotCanonical(ValueError):
    """A value with no RFC 8785 form; the message says which and why."""


class NotFinite(ValueError):
    """JSON text holding NaN, Infinity or -Infinity: Python's json reads them, JSON has none."""


def _refuse_constant(name: str) -> Any:
    raise NotFinite(f"holds {name}, which JSON has no number for")


def _finite(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):  # (1e999 is valid JSON, and overflows to infinity)
        raise NotFinite(f"holds {text}, a number past what a double holds")
    return value


def loads(text: str | bytes) -> Any:
    """JSON as the standard defines it: what another program hands over (an index file, a
    shard's report) cannot smuggle in NaN or Infinity, spelt out or as a number that overflows,
    which a browser's JSON.parse and a strict API response both refuse (NotFinite, a ValueError)."""
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)


def jcs(value: Any) -> bytes:
    out: list[str] = []
    _write(value, out, "")
    return "".join(out).encode("utf-8")


def _write(value: Any, out: list[str], where: str) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if abs(value) > MAX_EXACT_INT:
            raise NotCanonical(
                f"{where or 'the value'}: the integer {value} is beyond 2^53 and has no exact JSON number"
            )
        out.append(str(value))
    elif isinstance(value, float):
        out.append(number(value, where))
    elif isinstance(value, str):
        out.append(string(value, where))
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out, f"{where}[{i}]")
        out.append("]")
    elif isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise NotCanonical(f"{where or 'the value'}: a key is not text")
        keys = sorted(value, key=lambda k: _utf16(k, where))
        out.append("{")
        for i, key in enumerate(keys):
            if i:
                out.append(",")
            out.append(string(key, where))
            out.append(":")
            _write(value[key], out, f"{where}.{key}" if where else key)
        out.append("}")
    else:
        raise NotCanonical(f"{where or 'the value'}: a {type(value).__name__} is not JSON")


def _utf16(key: str, where: str) -> bytes:
    string(key, where)  # refuses an unpaired surrogate before it could sort
    return key.encode("utf-16-be")  # byte order of big-endian UTF-16 is the order of its code units


def string(text: str, where: str = "") -> str:
    """`text` as a JSON string the way JSON.stringify (and so JCS) writes it."""
    parts = ['"']
    for ch in text:
        code = ord(ch)
        if 0xD800 <= code <= 0xDFFF:
            # A str decoded from UTF-8 or JSON holds a surrogate only when it is unpaired.
            raise NotCanonical(f"{where or 'the value'}: text holds an unpaired surrogate (U+{code:04X}), not Unicode")
        if ch in _ESCAPES:
            parts.append(_ESCAPES[ch])
        elif code < 0x20:
            parts.append(f"\\u{code:04x}")
        else:
            parts.append(ch)
    parts.append('"')
    return "".join(parts)


def number(value: float, where: str = "") -> str:
    """A double as ECMAScript's Number.prototype.toString prints it (RFC 8785 section 3.2.2.3)."""
    if value != value or value in (float("inf"), float("-inf")):
        raise NotCanonical(f"{where or 'the value'}: {value} has no JSON number")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    # repr is the shortest text that reads back as the same double, as ECMAScript's is.
    _sign, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    assert isinstance(exponent, int)  # a finite value
    # n: where the decimal point sits after the first digit (ECMAScript's n); k digits, no trailing 0.
    n = len(digit_tuple) + exponent
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{sign}{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
