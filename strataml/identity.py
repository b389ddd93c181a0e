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
    return {"format": FORMAT, "tool": __version__, "schemas": schemas.hexdigest()[:16]}
