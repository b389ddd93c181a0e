"""What makes remembered work (the cache, the saved index) this tool's own, and when a file is
too new to remember: light, so a fresh reader keys its index without loading the cache."""

from __future__ import annotations

import hashlib
from functools import lru_cache

from strataml import __version__

FORMAT = "3"
# A file changed within this many nanoseconds may change again within the file system's clock
# tick without its mtime changing: it is never remembered (git guards the same window).
RACY_NS = 2_000_000_000


@lru_cache(maxsize=1)
def identity() -> dict[str, str]:
    # Cached schema verdicts are only valid for the schemas that produced them.
    from strataml.schemas import KINDS, schema_bytes

    schemas = hashlib.sha256(b"\0".join(schema_bytes(k) for k in (*KINDS, "common")))
    return {"format": FORMAT, "tool": __version__, "schemas": schemas.hexdigest()[:16], "rules": _rules()}


# Folders of the package that hold no module whose change changes a verdict (data, the page).
# (schemas/ holds modules that word and place a schema's issues, which the cache keeps: it counts.)
_NOT_CODE = frozenset({"__pycache__", "conformance_suite", "site", "templates"})


def _rules() -> str:
    """The code's digest: every module of the package and the contracts, by path, size and
    mtime (~1 ms; content hashing took 3.4). A strataml whose code changed under the same
    version string (an install from a branch, an edit of an editable install) must not reuse a
    report, or a saved index's findings, that other code made."""
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    digest = hashlib.sha256()
    for folder, folders, files in os.walk(here):
        folders[:] = sorted(f for f in folders if f not in _NOT_CODE)
        for name in sorted(files):
            if name.endswith((".py", ".md")):
                try:
                    st = os.stat(os.path.join(folder, name))
                except OSError:
                    continue
                digest.update(f"{os.path.relpath(folder, here)}/{name}:{st.st_size}:{st.st_mtime_ns}\0".encode())
    return digest.hexdigest()[:16]
