"""Numbers as records hold them, made safe to compare and to print as strict JSON."""

from __future__ import annotations

import math
from typing import Any


def as_float(value: Any) -> float | None:
    """A metric as a finite float; None for anything else (text, a boolean, NaN, infinity, an
    integer too large for a float): a diverged run's numbers must not stop a report."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def whole(value: Any) -> int | None:
    """The integer a value the schemas call "integer" stands for: 2, and 2.0 too (JSON Schema's
    integer is any number without a fraction, so `min_signers: 2.0` passes it), else None. A
    reader that took only Python's int read 2.0 as not set, and a policy asking for two signers
    asked for one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def finite(value: Any) -> Any:
    """`value` with every float that is not finite (an overflowed sum or delta) made None, at any
    depth: what strict JSON parsers accept."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def number(value: object) -> str:
    """A value as `run`, `list` and `show` print it: floats to 4 decimals without trailing zeros."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        return f"{value:.4f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:.3g}"
    return str(value)


def exact(value: float) -> str:
    """A number as a finding quotes it beside a threshold: every digit a float holds (0.8999999
    is not 0.9, as `:g` would print it), an integer too long to read by its length."""
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    return text if len(text) <= 30 else f"an integer of {len(text.lstrip('-'))} digits"
