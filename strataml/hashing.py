"""The one hashing path: sha256 of files and the dataset digest built from them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

_CHUNK = 1024 * 1024


def sha256_file(path: Path) -> tuple[str, int]:
    """(hex sha256, size in bytes) of a regular file, read in reused 1 MiB chunks."""
    digest = hashlib.sha256()
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    size = 0
    with open(path, "rb", buffering=0) as fh:
        while True:
            n = fh.readinto(buf)
            if not n:
                break
            digest.update(view[:n])
            size += n
    return digest.hexdigest(), size


def dataset_digest(files: Iterable[tuple[str, str]]) -> str:
    """`sha256:` over the sorted lines "SHA256  PATH\\n" (the format `sha256sum` prints).

    One value pins a whole dataset version; `sha256sum -c` can check the same lines.
    """
    lines = "".join(f"{sha}  {path}\n" for path, sha in sorted(files))
    return "sha256:" + hashlib.sha256(lines.encode("utf-8")).hexdigest()
