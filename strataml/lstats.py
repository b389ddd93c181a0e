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
from array import array
from collections.abc import Sequence
from itertools import chain
from operator import attrgetter

from strataml.hashing import cores

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
    already NUL-joined and encoded (os.fsencode), when the caller has them."""
    helper = _Helper.start(base, paths, blob) if len(paths) >= HELPED and cores() >= 2 else None
    if helper is None:
        try:
            return _facts(base, paths)
        except (OSError, ValueError):
            return None
    try:
        try:
            mine = _facts(base, paths[helper.count :])
        except (OSError, ValueError):
            return None
        theirs = helper.result()
    finally:
        helper.stop()  # (nothing left to do when it answered; else it is killed and reaped)
    if theirs is None:  # the helper could not answer: its part is done here
        try:
            theirs = _facts(base, paths[: helper.count])
        except (OSError, ValueError):
            return None
    return theirs + mine


def _facts(base: str, paths: Sequence[str]) -> list[int]:
    return list(chain.from_iterable(map(FACTS, map(os.lstat, [base + p for p in paths]))))


class _Helper:
    """The helper process: its input is a memory file (no pipe to keep fed, no SIGPIPE), its
    answer a pipe read once this process has done its own part."""

    def __init__(self, pid: int, answer: int, count: int) -> None:
        self.pid, self._answer, self.count = pid, answer, count
        self._done, self._status = False, -1

    @classmethod
    def start(cls, base: str, paths: Sequence[str], blob: bytes | None) -> _Helper | None:
        if (
            not sys.executable
            or getattr(sys, "frozen", False)
            or not hasattr(os, "posix_spawn")
            or not hasattr(os, "memfd_create")
        ):
            return None
        count = int(len(paths) * SHARE)
        if blob is None:
            blob = os.fsencode("\0".join(paths[:count]))
        fds: list[int] = []
        try:
            data = os.memfd_create("strataml-lstat")
            fds.append(data)
            _write_all(data, b"\0".join((os.fsencode(base), b"%d" % count, blob)))
            os.lseek(data, 0, os.SEEK_SET)
            answer, out = os.pipe()
            fds += (answer, out)
            pid = os.posix_spawn(
                sys.executable,
                [sys.executable, "-I", "-S", "-c", _HELPER],
                os.environ,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, data, 0),
                    (os.POSIX_SPAWN_DUP2, out, 1),
                    (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),  # its failure is an exit code
                    (os.POSIX_SPAWN_CLOSE, answer),
                ],
            )
        except OSError:
            for fd in fds:
                os.close(fd)
            return None
        os.close(data)
        os.close(out)
        return cls(pid, answer, count)

    def result(self) -> list[int] | None:
        """The helper's facts, or None when it failed (its part is then not answered)."""
        expected = 5 * 8 * self.count
        chunks, got = [], 0
        try:
            while got <= expected and (chunk := os.read(self._answer, 1 << 20)):
                chunks.append(chunk)
                got += len(chunk)
        except OSError:
            return None
        if got != expected or self._wait() != 0:
            return None
        facts = array("q")
        facts.frombytes(b"".join(chunks))
        return facts.tolist()

    def stop(self) -> None:
        """Close its answer and reap it, killed first unless it was reaped already."""
        if self._answer >= 0:
            os.close(self._answer)
            self._answer = -1
        if not self._done:
            try:
                os.kill(self.pid, 9)  # SIGKILL (posix_spawn means POSIX)
            except OSError:
                pass
            self._wait()

    def _wait(self) -> int:
        if self._done:
            return self._status
        try:
            _pid, status = os.waitpid(self.pid, 0)
            self._status = os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            self._status = -1
        self._done = True
        return self._status


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
