"""lstat of many paths on two cores: what proves a saved index fresh.

A fresh reader's floor is one lstat per path of the last walk (40,000 on 10k records; ~2 us
each here, most of it in the kernel). Threads do not help (the GIL is taken back after every
call); a helper process does: started first, it takes the first part of the paths while this
process takes the rest, and sends its facts back as int64. Its start (~10 ms) is paid only past
HELPED paths and with a second core; anything wrong with it (no interpreter to start, a path
gone, a number past int64, an answer cut short) and this process does that part itself, so
the answer is always the one a single pass gives.
"""

from __future__ import annotations

import os
import sys
import threading
from array import array
from collections.abc import Sequence
from itertools import chain
from operator import attrgetter

FACTS = attrgetter("st_mode", "st_size", "st_mtime_ns", "st_ino", "st_ctime_ns")
HELPED = 16_384  # below this many paths a helper's start costs more than it saves
SHARE = 0.4  # of the paths, for the helper: it starts ~10 ms late

# -I: no user site, no PYTHON* variables, no current folder; -S: no site (its .pth files are
# most of a start). Input: the base, NUL, the count, NUL, the paths NUL-joined. Output: the
# facts (mode, size, mtime, inode, ctime per path) as native int64, or exit 3.
_HELPER = """\
import os, sys
from array import array
from itertools import chain
from operator import attrgetter
base, count, blob = sys.stdin.buffer.read().split(b"\\0", 2)
paths = blob.split(b"\\0")[: int(count)]
facts = attrgetter("st_mode", "st_size", "st_mtime_ns", "st_ino", "st_ctime_ns")
try:
    out = array("q", chain.from_iterable(map(facts, map(os.lstat, [base + p for p in paths]))))
except (OSError, OverflowError, ValueError):
    sys.exit(3)
sys.stdout.buffer.write(out.tobytes())
"""


def lstat_facts(base: str, paths: Sequence[str], blob: bytes | None = None) -> list[int] | None:
    """(mode, size, mtime, inode, ctime) of each of `paths` (relative to `base`, which ends with
    a separator), flat and in order; None when one of them cannot be lstat'ed. `blob`: the paths
    already NUL-joined and encoded, when the caller has them."""
    helper = _Helper.start(base, paths, blob) if len(paths) >= HELPED and _two_cores() else None
    first = helper.count if helper is not None else 0
    try:
        mine = _facts(base, paths[first:])
    except (OSError, ValueError):
        if helper is not None:
            helper.stop()
        return None
    if helper is None:
        return mine
    theirs = helper.result()
    if theirs is None:  # the helper could not answer: its part is done here
        try:
            theirs = _facts(base, paths[:first])
        except (OSError, ValueError):
            return None
    return theirs + mine


def _facts(base: str, paths: Sequence[str]) -> list[int]:
    return list(chain.from_iterable(map(FACTS, map(os.lstat, [base + p for p in paths]))))


def _two_cores() -> bool:
    try:
        return len(os.sched_getaffinity(0)) >= 2
    except (AttributeError, OSError):
        return (os.cpu_count() or 1) >= 2


class _Helper:
    def __init__(self, pid: int, feed: threading.Thread, answer: int, count: int) -> None:
        self.pid, self._feed, self._answer, self.count = pid, feed, answer, count

    @classmethod
    def start(cls, base: str, paths: Sequence[str], blob: bytes | None) -> _Helper | None:
        if not sys.executable or getattr(sys, "frozen", False) or not hasattr(os, "posix_spawn"):
            return None
        count = int(len(paths) * SHARE)
        if blob is None:
            blob = "\0".join(paths[:count]).encode("utf-8", "surrogateescape")
        data = b"\0".join((os.fsencode(base), b"%d" % count, blob))
        fds: list[int] = []
        try:
            into, feed_end = os.pipe()
            fds += (into, feed_end)
            answer, out = os.pipe()
            fds += (answer, out)
            pid = os.posix_spawn(
                sys.executable,
                [sys.executable, "-I", "-S", "-c", _HELPER],
                os.environ,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, into, 0),
                    (os.POSIX_SPAWN_DUP2, out, 1),
                    (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),  # its failure is an exit code
                    (os.POSIX_SPAWN_CLOSE, feed_end),
                    (os.POSIX_SPAWN_CLOSE, answer),
                ],
            )
        except OSError:
            for fd in fds:
                os.close(fd)
            return None
        os.close(into)
        os.close(out)
        # Written from a thread: the pipe holds 64 KiB and the helper reads only once started,
        # while this process gets on with its own part.
        feed = threading.Thread(target=_write_all, args=(feed_end, data), daemon=True)
        feed.start()
        return cls(pid, feed, answer, count)

    def result(self) -> list[int] | None:
        """The helper's facts, or None when it failed (its part is then not answered)."""
        chunks = []
        try:
            while chunk := os.read(self._answer, 1 << 20):
                chunks.append(chunk)
        except OSError:
            chunks = []
        finally:
            os.close(self._answer)
        status = self._wait()
        raw = b"".join(chunks)
        if status != 0 or len(raw) != 5 * 8 * self.count:
            return None
        facts = array("q")
        facts.frombytes(raw)
        return facts.tolist()

    def stop(self) -> None:
        try:
            os.kill(self.pid, 9)
        except OSError:
            pass
        os.close(self._answer)
        self._wait()

    def _wait(self) -> int:
        self._feed.join()
        try:
            _pid, status = os.waitpid(self.pid, 0)
        except ChildProcessError:
            return -1
        return os.waitstatus_to_exitcode(status)


def _write_all(fd: int, data: bytes) -> None:
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except OSError:
        pass  # the helper died: its answer will say so
    finally:
        os.close(fd)
