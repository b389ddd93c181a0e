"""How this copy of strataml was installed, for hints that say how to add an extra.

Installed from a local folder (`pip install -e .` in a clone, the usual way here), the hint names
that folder: `pip install -e '/src/strataml[sklearn]'`. Installed from an index or a wheel, `pip
install 'strataml[sklearn]'` adds the extra's packages: pip finds strataml already there and reads
the extras from its metadata. Run from a checkout that was never installed (python tools/doctor.py),
that command would fetch whatever package the index holds under the name: the hint names the
checkout instead.
"""

from __future__ import annotations

import json
import shlex
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

_PACKAGE = Path(__file__).resolve().parent


@cache
def _origin() -> tuple[str, Path | None, bool]:
    """("installed" or "checkout", the local folder it was installed from if any, whether editable).
    A "checkout": no strataml is installed, or another copy is, and this one runs from the folder
    holding it. (Every distribution of the name is asked: an editable install's own metadata
    folder in the checkout comes first on sys.path when Python starts there, and says nothing of
    where it was installed from.)"""
    from importlib import metadata

    found = list(metadata.distributions(name="strataml"))
    for dist in found:
        source, editable = _source_folder(dist.read_text("direct_url.json"))
        if source is not None and (source / "strataml").resolve() == _PACKAGE:
            return "installed", source, editable  # (editable, or from this very folder)
    for dist in found:
        # (RECORD: what an installer writes; a checkout's own egg-info, left by a build or an
        # old `setup.py develop`, has none and installed nothing)
        if (
            dist.read_text("RECORD") is not None
            and Path(str(dist.locate_file("strataml/__init__.py"))).resolve().parent == _PACKAGE
        ):
            return "installed", None, False
    return "checkout", None, False


def _source_folder(text: str | None) -> tuple[Path | None, bool]:
    """(the local folder a PEP 610 direct_url.json says the install came from, if any; whether editable)."""
    try:
        data = json.loads(text) if text else None
    except ValueError:
        return None, False
    info = data.get("dir_info") if isinstance(data, dict) else None
    url = data.get("url") if isinstance(data, dict) and isinstance(info, dict) else None
    if not isinstance(url, str) or not isinstance(info, dict):
        return None, False
    parts = urlsplit(url)
    return (Path(unquote(parts.path)), info.get("editable") is True) if parts.scheme == "file" else (None, False)


def extra_hint(extra: str) -> str:
    """The command that installs `extra`'s packages for this copy of strataml: from the folder it
    was installed from (or runs from), else by its name (pip finds it installed and reads its extras)."""
    origin, source, editable = _origin()
    if origin == "checkout":
        return f"pip install -e {shlex.quote(f'{_PACKAGE.parent}[{extra}]')}"
    if source is not None:
        return f"pip install {'-e ' if editable else ''}{shlex.quote(f'{source}[{extra}]')}"
    return f"pip install 'strataml[{extra}]'"


def dependency_hint(package: str) -> str:
    """The command that puts back `package`, one of strataml's own dependencies: the checkout
    installed (with every dependency it declares), or the one package beside an installed strataml."""
    if _origin()[0] == "checkout":
        return f"pip install -e {shlex.quote(str(_PACKAGE.parent))}"
    return f"pip install {shlex.quote(package)}"
