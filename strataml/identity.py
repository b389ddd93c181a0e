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


def _rules() -> str:
    """The rule set's digest: the contracts that list the rules and the rules' code (~0.4 ms).
    A strataml whose rules changed under the same version string (an install from a branch)
    must not reuse a report, or a saved index's findings, that older rules made."""
    from pathlib import Path

    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in (*sorted((here / "contracts").glob("*.md")), *sorted((here / "doctor" / "rules").glob("*.py"))):
        try:
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        except OSError:
            digest.update(path.name.encode() + b"\0?\0")
    return digest.hexdigest()[:16]
