"""How this copy of strataml was installed, for hints that say how to add an extra.

`pip install 'strataml[sklearn]'` adds an extra's packages to an installed strataml: pip finds
strataml already there and reads the extras from its metadata. Run from a checkout that was
never installed (python tools/doctor.py), the same command would fetch whatever package the
index holds under that name: there the hint names the checkout instead.
"""

from __future__ import annotations

import json
import shlex
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

_PACKAGE = Path(__file__).resolve().parent


@cache
def _origin() -> str:
    """Whether this copy is the installed distribution (from an index, a folder or a URL) or a
    "checkout": none is installed, or another copy is, and this one runs from the folder holding it."""
    from importlib import metadata

    try:
        dist = metadata.distribution("strataml")
    except metadata.PackageNotFoundError:
        return "checkout"
    source = _source_folder(dist.read_text("direct_url.json"))
    if source is not None and (source / "strataml").resolve() == _PACKAGE:
        return "installed"  # (editable, or from this very folder)
    located = Path(str(dist.locate_file("strataml/__init__.py"))).resolve()
    return "installed" if located.parent == _PACKAGE else "checkout"


def _source_folder(text: str | None) -> Path | None:
    """The local folder a PEP 610 direct_url.json says the install came from, if any."""
    try:
        data = json.loads(text) if text else None
    except ValueError:
        return None
    url = data.get("url") if isinstance(data, dict) and isinstance(data.get("dir_info"), dict) else None
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    return Path(unquote(parts.path)) if parts.scheme == "file" else None


def extra_hint(extra: str) -> str:
    """The command that installs `extra`'s packages for this copy of strataml."""
    if _origin() == "checkout":
        return f"pip install -e {shlex.quote(f'{_PACKAGE.parent}[{extra}]')}"
    return f"pip install 'strataml[{extra}]'"


def dependency_hint(package: str) -> str:
    """The command that puts back `package`, one of strataml's own dependencies: the checkout
    installed (with every dependency it declares), or the one package beside an installed strataml."""
    if _origin() == "checkout":
        return f"pip install -e {shlex.quote(str(_PACKAGE.parent))}"
    return f"pip install {shlex.quote(package)}"
