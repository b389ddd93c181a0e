"""Bulk work without the cyclic garbage collector.

A doctor run or an index build allocates millions of small dicts, lists and tuples (parsed
records, the saved index read back, nodes, rows) and keeps most of them to the end; they form
no cycles, and reference counting frees the rest. CPython's collector is triggered by those
allocations all the same and traverses its older generations again as the heap grows: after
one change on 10,000 records it took ~0.2 s of a reader's 1 s rebuild. Paused for the bulk
work, it runs as usual after (a long-running `strataml serve` included).
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def bulk(function: Callable[P, R]) -> Callable[P, R]:
    """`function` run with the collector paused (nested calls leave it to the outermost)."""

    @functools.wraps(function)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        if not gc.isenabled():
            return function(*args, **kwargs)
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            gc.enable()

    return paused
