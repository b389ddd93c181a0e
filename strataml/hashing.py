"""The one hashing path: sha256 of files and the dataset digest built from them."""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a helper process imports this module: it starts faster without pathlib
    from pathlib import Path
    from typing import BinaryIO

# Reads of 128 KiB stay in the CPU's cache until hashed: over 2 GB, 1 MiB reads cost 0.9 s of
# kernel time (copies that miss the cache) against 0.24 s, and hashing took 2.3 s against 1.6 s.
_CHUNK = 131072
_local = threading.local()


def _buffer() -> memoryview:
    """One read buffer per thread, reused: allocating (and zeroing) one per file costs more than hashing small files."""
    view = getattr(_local, "view", None)
    if view is None:
        view = _local.view = memoryview(bytearray(_CHUNK))
    return view


def sha256_file(path: Path | str | bytes) -> tuple[str, int]:
    """(hex sha256, size in bytes) of a regular file, read in a reused 128 KiB buffer."""
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


PARALLEL_BYTES = 64 * 1024 * 1024  # below this, threads or helper processes cost more than they save

Item = tuple[str, "Path | str", int]  # (key, path, size)
Results = dict[str, "tuple[str, int] | OSError"]


class Background:
    """Hashing that runs while the caller works, and takes every core once the caller waits.

    While the caller works (`start` > 0), helper processes hash (see _Helper): the files split
    in bins of about equal bytes, one helper a core. A thread would wait for the caller's GIL
    after every chunk: at 10k records the doctor took 5.0 s with one hashing thread beside its
    parsing, 3.9 s hashing nothing early and 3.7 s with helpers.

    A `modest` caller has the cores' other work in hand (strataml.preload loads records on the
    second core meanwhile): its helpers run at the lowest priority (MODEST), so they take what
    that work leaves idle instead of slowing it (10k records, cold doctor: 0.93 -> 0.86 s; the
    hashing finishes while the rules run on one core). Once the caller waits for the hashes, a
    helper that other work keeps from running hands what it has left to a helper at the caller's
    priority: the machine may be busy with other work (a training job on every core), which a
    modest helper would give way to for good. Only where both can be done (Linux): elsewhere the
    helpers run at the caller's priority, as ever.

    When the caller only waits (hash_files), threads: files are taken biggest first from one
    shared list, a plain loop per thread (not a future per file): hashlib and file reads
    release the GIL, so threads overlap where bytes dominate, while per-file overhead stays
    that of a serial loop. The interpreter meanwhile switches threads more often, or a hashing
    thread would wait up to 5 ms for the GIL after each chunk.
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
        modest: bool = False,
    ) -> None:
        self._items = sorted(items, key=lambda i: i[2], reverse=True)
        self.keys = {key for key, _path, _size in self._items}
        self._results: Results = {} if results is None else results  # the caller's dict: no second copy of 100k hashes
        self._progress = progress
        self._next = 0
        self._lock = threading.Lock()
        self.total = total = sum(i[2] for i in self._items)  # bytes
        usable = max(1, min(threads or cores(), len(self._items)))
        self._threads = 1 if total < PARALLEL_BYTES else usable
        self._pool: list[threading.Thread] = []
        self._helpers: list[_Helper] = []
        if start > 0 and total >= PARALLEL_BYTES and usable > 1:
            nice = MODEST if modest and not _busy_elsewhere() else 0
            self._helpers = _Helper.start_all(self._items, usable, self._results, progress, nice)
        self._previous = sys.getswitchinterval()
        if self._helpers:
            self._items = []
        else:
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

    def close(self) -> None:
        """Stop whatever still runs (the caller failed, or has its results): helpers are killed,
        threads finish their file and stop, the switch interval is restored."""
        for helper in self._helpers:
            helper.finish(kill=True)
        self._helpers = []
        with self._lock:
            self._next = len(self._items)
        for thread in self._pool:
            thread.join()
        sys.setswitchinterval(self._previous)

    def results(self) -> Results:
        """Every file's (sha256, size) or the OSError that stopped it, once all are hashed."""
        if self._helpers:
            left = self._unyielding() if any(h.yielding for h in self._helpers) else []
            # What a helper did not answer (it could not start, or died) is hashed here.
            answered = (i for h in self._helpers for i in h.finish())
            self._items = sorted((*left, *answered), key=lambda i: i[2], reverse=True)
            self._helpers = []
            self._next = 0
            sys.setswitchinterval(self.SWITCH)
        self._grow(self._threads if self._items else 0)
        for thread in self._pool:
            thread.join()
        sys.setswitchinterval(self._previous)
        results, self._results = self._results, {}
        return results

    def _unyielding(self) -> list[Item]:
        """Wait for the modest helpers while they run. One that other work keeps from running
        (ready to run, yet on a core less than half the time, at two looks in a row) is let go
        and its files handed to helpers at this process's priority; what none could take (they
        could not start) is returned, for the caller to hash. A helper left running keeps the
        work it did: on an idle machine, or one waiting for its disk, nothing is handed over."""
        watched = {h: (_running(h.pid), 0) for h in self._helpers if h.yielding and not h.done()}
        left: list[Item] = []
        last = time.monotonic()
        while watched:
            next(iter(watched)).wait(LOOK)
            now = time.monotonic()
            held: list[Item] = []
            for helper, (before, strikes) in list(watched.items()):
                if helper.done():
                    del watched[helper]
                    continue
                seen = _running(helper.pid)
                kept_back = (
                    seen is None or before is None or (seen[0] == "R" and seen[1] - before[1] < (now - last) * 1e9 / 2)
                )
                strikes = strikes + 1 if kept_back else 0
                if strikes < 2:
                    watched[helper] = (seen, strikes)
                    continue
                held.extend(helper.let_go())
                del watched[helper]
            last = now
            if held:
                held.sort(key=lambda i: i[2], reverse=True)
                count = min(self._threads, len(held))  # (helpers ran: as many as there were threads to be)
                more = _Helper.start_all(held, count, self._results, self._progress) if count > 1 else []
                self._helpers.extend(more)
                if not more:
                    left.extend(held)
        return left


LOOK = 0.02  # how often a modest helper is looked at while the caller waits for it (seconds)


def _busy_elsewhere() -> bool:
    """Whether more processes are ready to run right now than there are cores (Linux's
    /proc/loadavg; False where that cannot be told). Other work that keeps every core busy
    (a training job) would keep a modest helper from running until it is handed over: on
    such a machine the hashing is not modest to begin with (10k records beside two processes
    that spin: 1.57-1.63 s as before, against 1.61-1.94 s modest and handed over)."""
    try:
        with open("/proc/loadavg", "rb") as fh:
            ready = int(fh.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return False
    return ready > cores()


def _running(pid: int) -> tuple[str, int] | None:
    """(its state: "R" when it runs or is ready to, the time it has spent on a core in
    nanoseconds) of process `pid`, from Linux's /proc; None where that cannot be told."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rpartition(b")")[2].split()[0].decode("ascii")
        with open(f"/proc/{pid}/schedstat", "rb") as fh:
            return state, int(fh.read().split()[0])
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return None


# The package's folder goes last on the helper's path: -I leaves out the current folder, the
# user's site-packages and PYTHON* variables, -S the site (its .pth files cost most of a start).
_SERVE = "import sys; sys.path.append(sys.argv[1]); from strataml.hashing import serve; serve()"
_FLUSH = 16 * 1024 * 1024  # a helper reports this often (bytes hashed), for progress


class _Helper:
    """One helper process hashing a bin of files: paths in on stdin, one line per file out, in order.

    A thread here feeds it and reads its answers as they come (the caller's progress moves
    with them). Anything it does not answer is left to the caller: finish() returns it.
    """

    def __init__(
        self, items: list[Item], results: Results, progress: Callable[[int], None] | None, nice: int = 0
    ) -> None:
        import subprocess

        self._items = items
        self._results = results
        self._progress = progress
        self._answered = 0
        self._taking = threading.Lock()  # an answer is recorded, or the helper let go: not both
        self._let_go = False
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _SERVE, _HOME],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.pid = self._proc.pid
        # Yielding only where the priority was set and it can be told when other work holds the
        # helper back (then it is handed over: Background._unyielding); elsewhere, as ever.
        self.yielding = False
        if nice and _running(self.pid) is not None:
            # Set here, not by the helper: its own start then already yields to this process.
            try:
                mine = os.getpriority(os.PRIO_PROCESS, 0)
                os.setpriority(os.PRIO_PROCESS, self.pid, min(MODEST, mine + nice))
                self.yielding = True
            except (AttributeError, OSError):
                pass  # (no priorities here, or it has ended: the work is the same)
        self._thread = threading.Thread(target=self._talk, daemon=True)
        self._thread.start()

    @classmethod
    def start_all(
        cls,
        items: list[Item],
        count: int,
        results: Results,
        progress: Callable[[int], None] | None,
        nice: int = 0,
    ) -> list[_Helper]:
        """Helpers for `items` (biggest first) in `count` bins of about equal bytes, `nice` above
        this process's priority; none when they cannot start."""
        bins: list[list[Item]] = [[] for _ in range(count)]
        loads = [0] * count
        for item in items:
            lightest = loads.index(min(loads))
            bins[lightest].append(item)
            loads[lightest] += item[2]
        helpers: list[_Helper] = []
        try:
            if not sys.executable or getattr(sys, "frozen", False):  # a frozen app's executable is not python
                raise OSError("no interpreter to start")
            for part in bins:
                if part:
                    # A modest helper goes smallest first: handed over (Background._unyielding),
                    # it leaves the big files whole, and loses at most the small one it was on.
                    helpers.append(cls(part[::-1] if nice else part, results, progress, nice))
        except OSError:
            for helper in helpers:
                helper.finish(kill=True)
            for item in items:  # what they answered is hashed again by the caller: counted once
                results.pop(item[0], None)
            return []
        return helpers

    def _talk(self) -> None:
        proc, items, results, progress = self._proc, self._items, self._results, self._progress
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(b"\0".join(os.fsencode(path) for _key, path, _size in items))
            proc.stdin.close()
            for line in proc.stdout:
                with self._taking:
                    if self._answered >= len(items) or self._let_go:
                        break
                    key, path, size = items[self._answered]
                    results[key] = _answer(line, path)
                    self._answered += 1
                if progress:
                    progress(size)
        except (OSError, ValueError):
            pass  # whatever is left unanswered is hashed by the caller

    def done(self) -> bool:
        """Whether it has answered for every file it was given."""
        return self._answered >= len(self._items)

    def wait(self, timeout: float) -> None:
        """Until it has answered all it will (it ended), or `timeout` seconds."""
        self._thread.join(timeout)

    def let_go(self) -> list[Item]:
        """The items it has not answered, taken now: it is killed, and nothing it answered after
        is taken (a process of the lowest priority may take a while to end on a busy machine:
        finish() does not wait for it then)."""
        with self._taking:
            self._let_go = True
            left = self._items[self._answered :]
        self._proc.kill()
        return left

    def finish(self, kill: bool = False) -> list[Item]:
        """Wait for the helper (or stop it); the items it did not answer."""
        if self._let_go:
            self._proc.poll()  # (reaped if it has ended; else it is reaped when its object goes)
            return []
        if kill and self._proc.poll() is None:
            self._proc.kill()
        self._thread.join()
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream is not None:
                stream.close()
        return self._items[self._answered :]


_HOME = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_HELPERS = 8
MODEST = 19  # a modest Background's helpers' niceness: they run only where nothing else would


def cores() -> int:
    """The cores this process may run on (a CI container's quota, not the host's count)."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    return max(1, min(count, MAX_HELPERS))


def _answer(line: bytes, path: Path | str) -> tuple[str, int] | OSError:
    """A helper's line: "SHA256 SIZE", or "! ERRNO MESSAGE" for a file it could not read."""
    if not line.endswith(b"\n"):  # cut short: the helper died while writing it
        raise ValueError("a helper's answer without its end")
    text = line.decode("utf-8", "replace")[:-1]
    if text.startswith("! "):
        number, _, message = text[2:].partition(" ")
        return OSError(int(number), message, os.fsdecode(path))
    sha, size = text.split(" ")
    if len(sha) != 64 or not size.isdigit():
        raise ValueError(f"not a helper's answer: {text[:80]!r}")
    return sha, int(size)


def serve() -> None:
    """A helper process's work: hash the NUL-separated paths on stdin, answer a line each on stdout."""
    out = sys.stdout.buffer
    since_flush = 0
    for raw in sys.stdin.buffer.read().split(b"\0"):
        try:
            sha, size = sha256_file(raw)
            out.write(b"%s %d\n" % (sha.encode(), size))
        except OSError as exc:
            size = _CHUNK  # an error is news too
            message = (exc.strerror or type(exc).__name__).replace("\n", " ")
            out.write(b"! %d %s\n" % (exc.errno or 0, message.encode("utf-8", "replace")))
        since_flush += size
        if since_flush >= _FLUSH:
            out.flush()
            since_flush = 0
    out.flush()


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
