"""The one hashing path: sha256 of files and the dataset digest built from them."""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

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
    with open(path, "rb", buffering=0) as fh:
        return sha256_stream(fh)


def sha256_stream(src: BinaryIO, sink: Callable[[memoryview], object] | None = None) -> tuple[str, int]:
    """(hex sha256, size) of what `src` holds from where it stands; every chunk also goes to
    `sink` (a copy hashes what it writes in the one pass that reads it)."""
    digest = hashlib.sha256()
    view = _buffer()
    size = 0
    while True:
        n = src.readinto(view)  # type: ignore[attr-defined]
        if not n:
            break
        chunk = view[:n]
        digest.update(chunk)
        if sink is not None:
            sink(chunk)
        size += n
    return digest.hexdigest(), size


def dataset_digest(files: Iterable[tuple[str, str]]) -> str:
    """`sha256:` over the sorted lines "SHA256  PATH\\n" (the format `sha256sum` prints).

    One value pins a whole dataset version; `sha256sum -c` can check the same lines.
    """
    lines = "".join(f"{sha}  {path}\n" for path, sha in sorted(files))
    return "sha256:" + hashlib.sha256(lines.encode("utf-8")).hexdigest()


PARALLEL_BYTES = 64 * 1024 * 1024  # below this, threads cost more than they save

Item = tuple[str, "Path | str", int]  # (key, path, size)
Results = dict[str, "tuple[str, int] | OSError"]


class Background:
    """Hashing that runs while the caller works, and takes every core once the caller waits.

    Files are taken biggest first from one shared list, a plain loop per thread (not a future
    per file): hashlib and file reads release the GIL on big buffers, so threads overlap
    where bytes dominate, while per-file overhead stays that of a serial loop, and the list
    balances the threads better than bins fixed in advance. While the caller is busy with
    pure Python, one thread hashes (more would only queue for the GIL and the same cores);
    results() starts the others and waits. The interpreter meanwhile switches threads more
    often, or a hashing thread would wait up to 5 ms for the GIL after each chunk.
    """

    SWITCH = 0.0005

    def __init__(
        self,
        items: Iterable[Item],
        progress: Callable[[int], None] | None = None,
        results: Results | None = None,
        *,
        threads: int | None = None,
        start: int = 1,
    ) -> None:
        self._items = sorted(items, key=lambda i: i[2], reverse=True)
        self.keys = {key for key, _path, _size in self._items}
        self._results: Results = {} if results is None else results  # the caller's dict: no second copy of 100k hashes
        self._progress = progress
        self._next = 0
        self._lock = threading.Lock()
        total = sum(i[2] for i in self._items)
        self._threads = 1 if total < PARALLEL_BYTES else max(1, min(threads or os.cpu_count() or 1, len(self._items)))
        self._pool: list[threading.Thread] = []
        self._previous = sys.getswitchinterval()
        sys.setswitchinterval(self.SWITCH)
        self._grow(min(start, self._threads))

    def _grow(self, count: int) -> None:
        while len(self._pool) < count:
            thread = threading.Thread(target=self._work, daemon=True)
            thread.start()
            self._pool.append(thread)

    def _work(self) -> None:
        items, results, progress = self._items, self._results, self._progress
        while True:
            with self._lock:
                if self._next >= len(items):
                    return
                key, path, size = items[self._next]
                # Its full path is not needed again: 100k of them are ~20 MB.
                items[self._next] = None  # type: ignore[call-overload]
                self._next += 1
            results[key] = _one(path)
            if progress:
                progress(size)

    def results(self) -> Results:
        """Every file's (sha256, size) or the OSError that stopped it, once all are hashed."""
        self._grow(self._threads)
        for thread in self._pool:
            thread.join()
        sys.setswitchinterval(self._previous)
        results, self._results = self._results, {}
        return results


def hash_files(
    items: Iterable[Item],
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
    results: Results | None = None,
) -> Results:
    """Hash many files now, on every core when they are big enough to pay for threads (see Background).

    Returns key -> (sha256, size), or the OSError that stopped a file from being read.
    """
    return Background(items, progress, results, threads=threads, start=0).results()


def _one(path: Path | str) -> tuple[str, int] | OSError:
    try:
        return sha256_file(path)
    except OSError as exc:
        return exc
