"""A record's fields as readers take them: what should be a mapping, a list or text, or else
empty. The doctor reports a field of the wrong type; a reader shows the rest, never crashes."""

from __future__ import annotations

from typing import Any


def mapping(value: Any) -> dict[str, Any]:
    """A field that should be a mapping, or {}."""
    return value if isinstance(value, dict) else {}


def sequence(value: Any) -> list[Any]:
    """A field that should be a list, or [] (a number or a mapping there is iterated as nothing)."""
    return value if isinstance(value, list) else []


def text(value: Any) -> str | None:
    """A field that should be non-empty text, or None."""
    return value if isinstance(value, str) and value else None
