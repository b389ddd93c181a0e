"""The one hashing path: sha256 of files and the dataset digest built from them."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

_CHUNK = 1048576
_local = threading.local()


def _buffer() -> memoryview:
    """One read buffer per thread, reused: allocating (and zeroing) one per file costs more than hashing small files."""
    view = getattr(_local, "view", None)
    if view is None:
        view = _local.view = memoryview(bytearray(_CHUNK))
    return view


def sha256_file(path: Path | str) -> tuple[str, int]:
    """(hex sha256, size in bytes) of a regular file, read in a reused 1 MiB buffer."""
    digest = hashlib.sha256()
    view = _buffer()
    size = 0
    with open(path, "rb", buffering=0) as fh:
        while True:
            n = fh.readinto(view)
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


PARALLEL_BYTES = 64 * 1024 * 1024  # below this, threads cost more than they save


def hash_files(items: Iterable[tuple[str, Path | str, int]], threads: int | None = None,
               progress: Callable[[int], None] | None = None,
               results: dict[str, tuple[str, int] | OSError] | None = None) -> dict[str, tuple[str, int] | OSError]:
    """Hash many files in size-balanced bins, one thread per bin (one per core).

    Each bin is a plain loop, not a future per file: hashlib and file reads release the GIL
    on big buffers, so threads overlap where bytes dominate, while per-file overhead stays
    that of a serial loop. The calling thread only waits: a busy main thread would make the
    workers queue for the GIL at every chunk. Small jobs run serially.
    Returns key -> (sha256, size), or the OSError that stopped a file from being read.
    """
    items = list(items)
    results = {} if results is None else results  # the caller's dict: no second copy of 100k hashes
    total = sum(i[2] for i in items)
    workers = max(1, min(threads or os.cpu_count() or 1, len(items)))
    if total < PARALLEL_BYTES:
        workers = 1
    bins: list[list[tuple[str, Path | str, int]]] = [[] for _ in range(workers)]
    loads = [0] * workers
    items.sort(key=lambda i: i[2], reverse=True)
    for item in items:
        slot = loads.index(min(loads))
        bins[slot].append(item)
        loads[slot] += max(item[2], 4096)  # an open() costs about as much as hashing 4 KiB

    def run(batch: list[tuple[str, Path | str, int]]) -> None:
        for key, path, size in batch:
            results[key] = _one(path)
            if progress:
                progress(size)

    if workers == 1:
        run(bins[0])
        return results
    pool = [threading.Thread(target=run, args=(b,), daemon=True) for b in bins if b]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return results


def _one(path: Path | str) -> tuple[str, int] | OSError:
    try:
        return sha256_file(path)
    except OSError as exc:
        return exc


class Background:
    """hash_files() started in the background, so hashing overlaps the reading of metadata.

    While it runs, the interpreter switches threads more often: the main thread is busy with
    pure Python, and every hashing thread needs the GIL back between two chunks.
    """

    SWITCH = 0.0005

    def __init__(self, items: list[tuple[str, Path | str, int]], progress: Callable[[int], None] | None = None) -> None:
        import sys

        self.keys = {key for key, _path, _size in items}
        self._results: dict[str, tuple[str, int] | OSError] = {}
        self._previous = sys.getswitchinterval()
        sys.setswitchinterval(self.SWITCH)
        self._thread = threading.Thread(target=self._run, args=(items, progress), daemon=True)
        self._thread.start()

    def _run(self, items: list[tuple[str, Path | str, int]], progress: Callable[[int], None] | None) -> None:
        self._results = hash_files(items, progress=progress)

    def results(self) -> dict[str, tuple[str, int] | OSError]:
        import sys

        self._thread.join()
        sys.setswitchinterval(self._previous)
        results, self._results = self._results, {}
        return results
