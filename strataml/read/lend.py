"""The nodes of a cold build made on the second core while the doctor's rules run on this one,
and the cache it fills written there while the index is saved here.

A build from nothing (no saved index to keep nodes from) makes every node after the doctor: on
10k runs ~0.12 s, their JSON ~0.10 s and their rows ~0.05 s, on one core, while during the
rules (~0.35 s) the other core is idle but for git. Once every record is loaded, before the
rules, a forked copy of this process builds the index as a workspace without findings or
signatures would have it (every count zero, every record unsigned) and hands over its node
lines, rows and edges; the build then takes them as it takes an earlier index's unchanged nodes
(build.Previous): a node whose counts or signature turn out otherwise is made again, so the
index is byte-identical to one built here.

The cache: a first fill encodes every load and writes 20,000 rows (~0.1 s on 10k runs), work
that holds up nothing but the process's end. Where this process never opened an SQLite
connection (Cache.forkable: SQLite's per-process state about open files must not be forked),
the copy also writes it. At the end of the rules this process makes and checks the cache's
folder, as a save does, and hands over what it learned (hashes, schema verdicts, the report)
through a second memory file, naming the loads the copy holds from the fork rather than
encoding them; the copy writes the cache with them while this process saves the index, and
settle() waits for it. Should the copy not write it (it failed, died, or took far longer than
writing takes), this process writes it from that same memory file.

The copy starts with what it uses imported and every record loaded (it never reads the cache
through this process's connection, which a fork must not share), closes every descriptor it inherited but
its own (a helper fed through a pipe sees the end of its input when this process closes it,
whatever the copy does), reads the records' side files (ledgers, gate receipts, tracking),
writes its answer into an anonymous memory file and the cache by the cache's own rules, and
exits without the interpreter's teardown (its copy of this process's buffered output is never
flushed). It runs only where fork and memory files exist (Linux), with two cores, past LENT
records. Whatever goes wrong with it (it could not start, failed, died, or answered what it
never writes) leaves the work to this process, as before. Its answer is never waited on past
about the time this process would take to build (then it is ended, and the cache it was handed
written here), its cache write not past a generous bound on writing it; it is ended and reaped
in every case. A run that fails after the handoff (an error, Ctrl-C) still lets it finish
writing, as the cache was written before the index when this process wrote both.
"""

from __future__ import annotations

import gc
import marshal
import os
import resource
import select
import signal
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from strataml import atomic
from strataml.hashing import cores

if TYPE_CHECKING:
    from strataml.cache import Cache
    from strataml.read.build import Previous
    from strataml.workspace import Workspace


LENT = 1_000  # records below which a fork and its copied pages cost what the build saves
# How long take() waits for the copy at most: about what building here would take (on 10k runs
# ~0.25 s; the copy is done before the rules end, unless the machine is busy elsewhere).
WAIT_PER_RECORD = 0.00005
WAIT_AT_LEAST = 0.25
# How long settle() waits for the copy to write the cache: a generous bound on writing it (10k
# records ~0.08 s); past it, the copy is ended and the cache written here.
WRITE_PER_RECORD = 0.00005
WRITE_AT_LEAST = 2.0
MAX_FD = 1 << 20  # the descriptors a copy closes reach this at most, where /proc does not list them


class Lend:
    """One forked build: start() once the records are loaded, take() after the rules, then
    settle() (the cache written) or stop() (the copy ended, nothing more wanted)."""

    def __init__(self) -> None:
        self._pid: int | None = None
        self._fd: int | None = None
        self._workspace: Workspace | None = None
        self._told: int | None = None  # the copy writes a byte here once its answer is whole
        # The cache: what this process learned goes to the copy in `_unsaved`, a byte on `_go`
        # then says so (closed without one: nothing to write); the copy writes it.
        self._cache: Cache | None = None
        self._held: dict[str, tuple[Any, ...]] = {}
        self._unsaved: int | None = None
        self._go: int | None = None
        self._handed = False

    @staticmethod
    def possible() -> bool:
        # With SIGCHLD ignored, the copy would be reaped by the kernel: its exit status lost, and
        # its number free for another process when it is stopped.
        return (
            hasattr(os, "fork")
            and hasattr(os, "memfd_create")
            and cores() >= 2
            and signal.getsignal(signal.SIGCHLD) is not signal.SIG_IGN
        )

    def start(self, workspace: Workspace) -> None:
        if self._pid is not None or not self.possible() or len(workspace.records) < LENT:
            return
        if not all("loaded" in record.__dict__ for record in workspace.records):
            return  # (the copy would load records: from the cache, through a connection it must not use)
        # What the copy uses, imported here: an import there could wait forever on a lock
        # another thread of this process held at the fork.
        from strataml.identity import identity
        from strataml.read import build, query, saved  # noqa: F401

        "".encode("utf-16-be")  # (the codec canonical JSON uses for ledgers, imported on first use)
        reader = workspace.reader
        cache = reader.cache if reader is not None else None
        if cache is not None and not cache.forkable():
            cache = None
        if cache is not None:
            identity()  # (what the cache's meta table holds: its first call imports the schemas)
        opened: list[int] = []
        unsaved = go_r = go_w = -1
        try:
            fd = os.memfd_create("strataml-nodes", os.MFD_CLOEXEC)
            opened.append(fd)
            told_r, told_w = os.pipe()
            opened += (told_r, told_w)
            if cache is not None:
                unsaved = os.memfd_create("strataml-cache", os.MFD_CLOEXEC)
                opened.append(unsaved)
                go_r, go_w = os.pipe()
                opened += (go_r, go_w)
            if sys.version_info < (3, 12):
                pid = os.fork()
            else:
                with warnings.catch_warnings():
                    # Python 3.12 warns of forking a process with threads (the hashing's): the copy
                    # imports nothing, closes what it inherited, takes no lock they could hold,
                    # and ends without the interpreter's teardown.
                    warnings.simplefilter("ignore", DeprecationWarning)
                    pid = os.fork()
        except (OSError, RuntimeError):  # (RuntimeError: no fork in a subinterpreter, or at shutdown)
            for number in opened:
                os.close(number)
            return
        if pid == 0:  # the copy
            code = 1
            try:
                # No collection: what it makes is not garbage before it exits, and a file object
                # of this process's collected there would close a descriptor number the copy
                # reuses for its own reads (a library caller may run with the collector on).
                gc.disable()
                # Ctrl-C reaches the whole process group: this process decides what the copy
                # does then (writes the cache it was handed, or is ended), not the copy halfway.
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                # Only its own ends stay open: a pipe this process feeds a helper through (the
                # hashing's), a socket a server listens on, a database: none is held past the fork.
                _close_inherited({fd, told_w} | ({unsaved, go_r} if cache is not None else set()))
                _answer(fd, workspace)
                atomic.write_all(told_w, b"1")
                code = 0 if cache is None or _cache_written(cache, go_r, unsaved) else 2
            except BaseException:  # (anything at all: the parent builds, or writes the cache, instead)
                pass
            os._exit(code)
        os.close(told_w)
        self._pid, self._fd, self._told, self._workspace = pid, fd, told_r, workspace
        if cache is not None:
            os.close(go_r)
            self._cache, self._unsaved, self._go = cache, unsaved, go_w
            self._held = cache.held()
            cache.handoff = self._hand_over

    def _hand_over(self) -> bool:
        """The cache's handoff: what this process learned, to the copy to write (False: write it here)."""
        if self._pid is None or self._cache is None or self._unsaved is None or self._go is None:
            return False
        try:
            _append(self._unsaved, self._cache.unsaved(self._held))
            os.write(self._go, b"1")  # (a copy that has ended: EPIPE, SIGPIPE being ignored or only noted)
        except (OSError, ValueError):
            return False
        # Let go of here (100k runs: ~50 MB at this process's peak, the index's save); should
        # the copy not write it, settle() takes it back from the memory file.
        self._cache.forget()
        self._handed = True
        return True

    def take(self, workspace: Workspace) -> Previous | None:
        """What the copy built, as an earlier index to keep nodes from; None when it built for
        another workspace object, did not finish well, or answered something it never writes.
        The copy may still run (it writes the cache): settle() or stop() reaps it."""
        pid, fd, told = self._pid, self._fd, self._told
        if pid is None or fd is None or told is None:
            return None
        if self._workspace is not workspace:
            self._end()
            return None
        # (The copy stays this object's until it is reaped: interrupted meanwhile, stop() ends it.)
        if not _readable(told, WAIT_AT_LEAST + WAIT_PER_RECORD * len(workspace.records)):
            self._end()  # (not waited on any longer: building here is as quick)
            return None
        try:
            whole = os.read(told, 1) == b"1"  # (nothing: it ended without answering)
        except OSError:
            whole = False
        self._fd = None
        try:
            return _previous(fd) if whole else None
        except (OSError, EOFError, ValueError, TypeError, MemoryError):
            return None
        finally:
            os.close(fd)

    def _end(self) -> None:
        """The copy ended now, its answer let go; what it was handed stays for settle() to write here."""
        if self._pid is not None:
            _stop(self._pid)
            self._pid = None
        self._close("_fd", "_told")

    def _close(self, *names: str) -> None:
        for name in names:
            number = getattr(self, name)
            if number is not None:
                os.close(number)
                setattr(self, name, None)

    def settle(self, fallback: bool = True) -> None:
        """The copy has written the cache it was handed (waited for up to a generous bound on
        writing it), or ended otherwise, and is reaped; what it did not write is written here,
        unless not `fallback` (the run is failing: it does no more work of its own)."""
        pid = self._pid
        written = False
        self._close("_go")  # (nothing handed over: the copy sees the end and exits)
        if pid is not None:
            status = None
            if self._handed:  # (else it has answered, or is not waited for any longer)
                records = len(self._workspace.records) if self._workspace is not None else 0
                try:
                    status = _ended(pid, WRITE_AT_LEAST + WRITE_PER_RECORD * records)
                except OSError:
                    status = None  # (reaped by someone else: whether it wrote is not known)
            if status is None:
                _stop(pid)
            self._pid = None
            written = status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        cache, handed, held, unsaved = self._cache, self._handed, self._held, self._unsaved
        self._unsaved = None
        try:
            self.stop()
            if fallback and handed and not written and cache is not None and unsaved is not None:
                try:
                    taken = cache.adopt(next(_blobs(unsaved, 1)), held)
                except (OSError, EOFError, ValueError, TypeError, MemoryError):
                    taken = False  # (the copy wrote over it: the next run fills the cache)
                if taken:
                    cache.save()  # (its handoff is spent: written here, as without a copy)
        finally:
            if unsaved is not None:
                os.close(unsaved)

    def stop(self) -> None:
        """No answer wanted (the run ended otherwise): the copy is stopped and reaped."""
        if self._pid is not None:
            _stop(self._pid)
            self._pid = None
        self._close("_fd", "_told", "_go", "_unsaved")
        if self._cache is not None and self._cache.handoff == self._hand_over:
            self._cache.handoff = None
        self._cache, self._held, self._handed = None, {}, False


@contextmanager
def lending(lender: Lend | None, settled: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
    """Around the work that uses `lender`: settled when it ends (by one of the `settled`
    exceptions too); when it fails otherwise, settled without writing anything here (the copy
    still writes the cache it was handed); stopped in every case."""
    if lender is None:
        yield
        return
    try:
        yield
    except settled:
        lender.settle()
        raise
    except BaseException:
        lender.settle(fallback=False)
        raise
    else:
        lender.settle()
    finally:
        lender.stop()


def _cache_written(cache: Cache, go: int, unsaved: int) -> bool:
    """In the copy: wait for what the parent learned (or the end of `go`: nothing to write), then
    write it to the cache with the loads this copy holds; False when it was not what it hands over."""
    if os.read(go, 1) != b"1":
        return True
    if not cache.adopt(next(_blobs(unsaved, 1)), cache.held()):
        return False
    cache.save()
    return True


def _readable(fd: int, timeout: float) -> bool:
    """Whether `fd` has something to read (or its end) within `timeout` seconds."""
    poll = select.poll()  # (not select(): a process with 1,024 descriptors open has more)
    poll.register(fd, select.POLLIN)
    return bool(poll.poll(timeout * 1000))


def _ended(pid: int, timeout: float) -> int | None:
    """The copy's wait status once it has ended, waiting up to `timeout` seconds; None if it has not."""
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        return status
    try:
        ready = os.pidfd_open(pid)
    except (AttributeError, OSError):
        ready = None
    if ready is not None:
        try:
            poll = select.poll()  # (not select(): a process with 1,024 descriptors open has more)
            poll.register(ready, select.POLLIN)
            poll.poll(timeout * 1000)
        finally:
            os.close(ready)
    else:  # (no pidfd: looked at every millisecond)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status
            time.sleep(0.001)
    done, status = os.waitpid(pid, os.WNOHANG)
    return status if done else None


def _close_inherited(keep: set[int]) -> None:
    """Close every descriptor above stderr but those in `keep`: those open, as /proc lists them
    (a range to the limit is one call where the kernel has close_range, else one call per
    number: with a limit of 2**31, minutes); the ranges to the soft limit where /proc is not there."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        limit = limit if 0 < limit <= MAX_FD else MAX_FD
        low = 3
        for number in sorted(keep):
            os.closerange(low, number)
            low = number + 1
        os.closerange(low, limit)
        return
    for name in names:
        number = int(name)
        if number > 2 and number not in keep:
            try:
                os.close(number)
            except OSError:
                pass  # (the listing's own descriptor, closed already)


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError:
        pass


def _lent(workspace: Workspace) -> Iterator[Any]:
    """The parts of the answer, each let go before the next is made (100k runs: the copy's
    nodes, ~0.4 GB, before their lines are handed over): the node ids, their lines, the edges
    as (from, to, kind), the rows as (row id, list, row, its line), of the index `workspace` has
    with no findings and no signatures."""
    from strataml.doctor.finding import Report
    from strataml.read.build import build, node_line
    from strataml.read.query import KIND_OF_LIST, Graph, tables
    from strataml.read.saved import row_line

    index = build(workspace, Report((), {}, False, {}))
    made = tables(Graph(index))
    nodes = index.pop("nodes")
    edges = [(e["from"], e["to"], e["kind"]) for e in index.pop("edges")]
    yield [node["id"] for node in nodes]
    lines = [node_line(node) for node in nodes]
    del nodes, index
    yield lines
    del lines
    yield edges
    del edges
    yield [(row["id"], what, row, row_line(row)) for what in KIND_OF_LIST for row in made.pop(what)]


def _answer(fd: int, workspace: Workspace) -> None:
    """The copy's answer into `fd`: each part of _lent() as its marshal, let go before it is written."""
    for part in _lent(workspace):
        blob = marshal.dumps(part)
        del part
        _append(fd, blob)


def _append(fd: int, blob: bytes) -> None:
    """`blob` after what the memory file `fd` holds: its length in 8 bytes, then itself (not
    joined to its length: at 100k runs a part is ~100 MB)."""
    atomic.write_all(fd, len(blob).to_bytes(8, "little"))
    atomic.write_all(fd, blob)


def _blobs(fd: int, count: int) -> Iterator[bytes]:
    """The first `count` blobs _append() wrote into `fd`, each read as it is asked for;
    ValueError for one cut short or longer than the file (a length never allocated for)."""
    at, end = 0, os.fstat(fd).st_size
    for _ in range(count):
        size = int.from_bytes(os.pread(fd, 8, at), "little")
        if at + 8 + size > end:
            raise ValueError("a part cut short")
        raw = os.pread(fd, size, at + 8)
        if len(raw) != size:
            raise ValueError("a part cut short")
        at += 8 + size
        yield raw


def _parts(fd: int, count: int) -> Iterator[Any]:
    """The `count` parts _answer() wrote into `fd`, each read and decoded as it is asked for."""
    for raw in _blobs(fd, count):
        yield marshal.loads(raw)


def _previous(fd: int) -> Previous | None:
    from strataml.read.build import Previous

    parts = _parts(fd, 4)
    ids = next(parts)
    lines = next(parts)
    if not (type(ids) is list and type(lines) is list and len(ids) == len(lines)):
        return None
    lent = dict(zip(ids, lines))
    del lines
    edges = next(parts)
    rows = next(parts)
    if type(edges) is not list or type(rows) is not list:
        return None
    return Previous(
        ([], "", ()),
        edges=[{"from": a, "to": b, "kind": k} for a, b, k in edges],
        lines=lent,
        ids=ids,
        rows={rid: (what, row) for rid, what, row, _line in rows},
        row_lines={rid: line for rid, _what, _row, line in rows},
        lent=True,
    )
