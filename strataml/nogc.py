"""Bulk work without the cyclic garbage collector.

A doctor run or an index build allocates millions of small dicts, lists and tuples (parsed
records, the saved index read back, nodes, rows) and keeps most of them to the end; they form
no cycles, and reference counting frees the rest. CPython's collector is triggered by those
allocations all the same and traverses its older generations again as the heap grows: after
one change on 10,000 records it took ~0.2 s of a reader's 1 s rebuild. Paused for the bulk
work, it runs as usual after (a long-running `strataml serve` included).
"""

from __future__ import annotations

import atexit
import functools
import gc
import os
import sys
import threading
from collections.abc import Callable
from typing import NoReturn, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


_one_shot = False
_kept: list[object] = []


def one_shot(value: bool = True) -> None:
    """Say this process ends when its command does (the command line; `strataml serve` says it
    does not): then what bulk work leaves is frozen (gc.freeze) as it ends, not traversed by the
    collector's next pass. Everything bulk work allocated is still in the youngest generation
    then, and the first collection after it went through all of it: ~13 ms of a reader's
    rebuild on 10k records, after a cycle that made it 34 ms was broken. Freed objects are freed
    all the same; only garbage in cycles stays, until the process exits."""
    global _one_shot
    _one_shot = value


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
            if _one_shot:
                gc.freeze()
            gc.enable()

    return paused


def keep(*objects: object) -> None:
    """In a one-shot process, hold `objects` until it ends instead of freeing them now: freeing
    what a reader's rebuild read (the previous index's lines and rows, the walk it was saved
    with), one small object at a time, cost ~10 ms of its ~0.45 s on 10k records, for memory
    the process gives back whole a moment later (see end()). A server frees as usual."""
    if _one_shot:
        _kept.extend(objects)


def end(code: int) -> NoReturn:
    """Exit with `code`. A one-shot process skips the interpreter's teardown, which frees every
    object one by one (what keep() held included): the exit handlers run and the standard
    streams are flushed as at any exit, then the process ends. Anything that needs the usual
    path takes it: a thread that is not a daemon (the interpreter waits for it), a flush that
    fails (the interpreter reports it and exits 120, as ever)."""
    # atexit._run_exitfuncs is CPython's own (PyPy has it too), not a documented API: without
    # it, the usual exit.
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if (
        _one_shot
        and run_exit_handlers is not None
        and all(t.daemon or t is threading.main_thread() for t in threading.enumerate())
    ):
        run_exit_handlers()
        try:
            for stream in (sys.stdout, sys.stderr):
                if stream is not None:
                    stream.flush()
        except BaseException:
            sys.exit(code)
        os._exit(code)
    sys.exit(code)
