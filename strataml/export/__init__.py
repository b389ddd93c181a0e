"""What a workspace holds, written in other ecosystems' formats: one module per format, each
built on that ecosystem's own package (an extra, imported only when its export runs)."""

from __future__ import annotations

import importlib
from typing import Any

from strataml.errors import StrataError
from strataml.installed import extra_hint


def mapping(value: Any) -> dict[str, Any]:
    """A record field that should be a mapping, or {} (a record may break its schema)."""
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str | None:
    """A record field that should be non-empty text, or None."""
    return value if isinstance(value, str) and value else None


def need(module: str, extra: str, command: str, package: str) -> Any:
    """The format's package, imported now, or an error naming the extra that brings it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise StrataError(
            f"`strataml export {command}` needs the {extra} extra ({package} is not installed)",
            extra_hint(extra),
        ) from None
