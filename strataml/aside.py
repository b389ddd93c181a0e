"""Work run aside, in a thread, while the caller goes on: the one way StrataML overlaps work
that lets go of the GIL (a git process, reads and fsyncs, sha256 of large buffers) with its own."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Aside(Generic[T]):
    """`work()` run in a daemon thread; result() waits for it and returns what it returned, or
    raises what it raised, in the caller's thread. The work must write nothing to the tree: a
    caller that is interrupted (Ctrl-C) or fails leaves it behind, unfinished, and exits."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._done: tuple[T] | None = None
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(work,), daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[], T]) -> None:
        try:
            self._done = (work(),)
        except BaseException as exc:  # raised by result(), in the caller's thread
            self._failed = exc

    def result(self) -> T:
        self._thread.join()
        if self._failed is not None:
            raise self._failed
        assert self._done is not None
        return self._done[0]
