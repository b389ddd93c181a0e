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
from array import array
from collections.abc import Sequence
from itertools import chain
from operator import attrgetter

from strataml import spawn
from strataml.hashing import cores

FACTS = attrgetter("st_mode", "st_size", "st_mtime_ns", "st_ino", "st_ctime_ns")
HELPED = 16_384  # below this many paths a helper's start costs more than it saves
SHARE = 0.4  # of the paths, for the helper: it starts ~10 ms late

# Input: the base, NUL, the count, NUL, the paths NUL-joined. Output: the
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


def lstat_facts(base: str, paths: Sequence[str], blob: bytes | None = None) -> array[int] | None:
    """(mode, size, mtime, inode, ctime) of each of `paths` (relative to `base`, which ends with
    a separator), flat and in order, as int64 (no int object kept per number: 200,000 of them on
    10k records); None when one of them cannot be lstat'ed or holds a number past int64.
    `blob`: the paths already NUL-joined and encoded (os.fsencode), when the caller has them."""
    helper = _Helper.start(base, paths, blob) if len(paths) >= HELPED and cores() >= 2 else None
    if helper is None:
        try:
            return _facts(base, paths)
        except (OSError, ValueError, OverflowError):
            return None
    try:
        try:
            mine = _facts(base, paths[helper.count :])
        except (OSError, ValueError, OverflowError):
            return None
        theirs = helper.result()
    finally:
        helper.stop()  # (nothing left to do when it answered; else it is killed and reaped)
    if theirs is None:  # the helper could not answer: its part is done here
        try:
            theirs = _facts(base, paths[: helper.count])
        except (OSError, ValueError, OverflowError):
            return None
    return theirs + mine


def _facts(base: str, paths: Sequence[str]) -> array[int]:
    return array("q", chain.from_iterable(map(FACTS, map(os.lstat, [base + p for p in paths]))))


class _Helper:
    """The helper process (strataml.spawn): the first `count` paths are its part."""

    def __init__(self, helper: spawn.Helper, count: int) -> None:
        self._helper, self.count = helper, count

    @classmethod
    def start(cls, base: str, paths: Sequence[str], blob: bytes | None) -> _Helper | None:
        if not spawn.available():
            return None
        count = int(len(paths) * SHARE)
        if blob is None:
            blob = os.fsencode("\0".join(paths[:count]))
        helper = spawn.start(_HELPER, b"\0".join((os.fsencode(base), b"%d" % count, blob)), "strataml-lstat")
        return cls(helper, count) if helper is not None else None

    def result(self) -> array[int] | None:
        """The helper's facts, or None when it failed (its part is then not answered)."""
        expected = 5 * 8 * self.count
        raw = self._helper.read_all(expected)
        if raw is None or len(raw) != expected:
            return None
        facts = array("q")
        facts.frombytes(raw)
        return facts

    def stop(self) -> None:
        self._helper.stop()
