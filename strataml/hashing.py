"""The one hashing path: sha256 of files and the dataset digest built from them."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterable
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


LARGE = 4 * 1024 * 1024


def hash_files(items: Iterable[tuple[str, Path, int]], threads: int | None = None,
               progress: Callable[[int], None] | None = None) -> dict[str, tuple[str, int] | OSError]:
    """Hash many files: large ones in size-balanced bins, one thread per bin; small ones serially.

    A thread per small file costs more than it saves (hashlib only releases the GIL on big
    updates), so files under LARGE are hashed in the calling thread while the bins run.
    Returns key -> (sha256, size), or the OSError that stopped a file from being read.
    """
    small, large = [], []
    for item in items:
        (large if item[2] >= LARGE else small).append(item)
    results: dict[str, tuple[str, int] | OSError] = {}
    workers = max(1, min(threads or os.cpu_count() or 1, len(large)))
    bins: list[list[tuple[str, Path, int]]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for item in sorted(large, key=lambda i: i[2], reverse=True):
        slot = loads.index(min(loads))
        bins[slot].append(item)
        loads[slot] += item[2]

    def run(batch: list[tuple[str, Path, int]]) -> None:
        for key, path, _size in batch:
            results[key] = _one(path)
            if progress:
                progress(_size)

    pool = [threading.Thread(target=run, args=(b,), daemon=True) for b in bins if b]
    for t in pool:
        t.start()
    run(small)
    for t in pool:
        t.join()
    return results


def _one(path: Path) -> tuple[str, int] | OSError:
    try:
        return sha256_file(path)
    except OSError as exc:
        return exc
