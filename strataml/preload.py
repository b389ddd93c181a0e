"""Record metadata loaded and schema-checked on two cores before a full doctor run's rules.

Without the cache, most of a full run is loading each record's metadata file (YAML, ~70 us)
and checking it against its schema (~30 us): 10,000 records, one second on one core. A helper
process (strataml.spawn) takes records from the end of the list while this process takes them
from the front, and they stop where they meet: the helper starts ~0.1 s late and either side
may be slowed by the hashing helpers, so no split is guessed. The helper sends each record as
it finishes it (its data, its load problems, whether the compiled schema check passed it).
Whatever it does not answer (it could not start, died, or sent something it never writes) is
done here, so the result is always the one a single pass gives.

Only a full run uses it (every record is loaded there, so nothing is read in vain), only for
records the cache does not answer, and only past HELPED of them with a second core. The
results go through the workspace's reader as before (into the cache, line numbers read again
on demand); the records rule skips the schema check for a document this pass found valid.
"""

from __future__ import annotations

import marshal
import os
import sys
from typing import TYPE_CHECKING, Any

from strataml import spawn
from strataml.hashing import cores
from strataml.loading import Loaded, LoadProblem, load_file
from strataml.schemas import plainly_valid

if TYPE_CHECKING:
    from strataml.cache import Cache
    from strataml.workspace import Workspace

HELPED = 1_500  # records to load below which a helper's start (~0.1 s of a core) saves nothing
# What a core does in a second, to weigh loading against the hashing that runs meanwhile.
LOADS_PER_SECOND = 10_000
HASHED_PER_SECOND = 1_500_000_000
POLL = 16  # records this process loads between looks at what the helper has answered
_HOME = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Its input: marshal of (folders for sys.path, the file system encoding, [(kind, path), ...]); its answer: frames of a
# 4-byte little-endian length and marshal of (index, data, problems, valid, whether the load
# points back to its file), from the last record down.
# Paths are text: the helper must read them in this process's file system encoding, or it
# would open other files (spawn matches UTF-8 mode; serve() refuses to work in any other).
_HELPER = (
    "import sys, marshal; path, encoding, items = marshal.loads(sys.stdin.buffer.read()); sys.path += path; "
    "from strataml.preload import serve; serve(items, encoding)"
)

Result = tuple[Loaded, bool]  # the load, and whether the compiled schema check passed it


def preload(workspace: Workspace, cache: Cache | None, hashing: int = 0) -> int:
    """Load (and check) every record the rules will load, on two cores; returns how many.

    Nothing happens (the rules load records one by one, as ever) below HELPED records, on one
    core, when a helper cannot start, for a workspace read through a staging folder or another
    tree, or when the `hashing` (bytes) started meanwhile keeps every core busy for longer
    than the loading takes (2,000 records beside 2 GB: a third process only adds its start)."""
    from strataml.cache import stat_key

    reader = workspace.reader
    if reader is None or workspace.partial or reader.moved is not None or reader.fallback is not None:
        return 0
    todo = []
    for record in workspace.records:
        if "loaded" in record.__dict__:
            continue  # loaded already (a caller looked at it)
        entry = workspace.entries.get(record.meta)
        if (
            cache is not None
            and entry is not None
            and entry.kind == "file"
            and cache.knows(record.meta, stat_key(entry))
        ):
            continue
        todo.append(record)
    count = cores()
    if len(todo) < HELPED or count < 2 or hashing / HASHED_PER_SECOND / count > len(todo) / LOADS_PER_SECOND:
        return 0
    items = [(record.kind, reader.fspath(record.meta)) for record in todo]
    results = load_all(items)
    if results is None:
        return 0
    for record, (loaded, valid) in zip(todo, results):
        reader.preloaded[record.meta] = loaded
        if valid:
            reader.valid[record.meta] = (record.kind, loaded.data)
    return len(todo)


def load_all(items: list[tuple[str, str]]) -> list[Result] | None:
    """Each (kind, path) loaded as load_file(path, lines=False) does, with whether its data
    passes the compiled schema check of `kind`; None when no helper could start."""
    search = _search_path()
    data = marshal.dumps((search, _encoding(), items))
    helper = spawn.start(_HELPER, data, "strataml-preload") if search else None
    if helper is None:
        return None
    out: list[Result | None] = [None] * len(items)
    low = len(items)  # the helper has answered items[low:]
    pending = bytearray()
    mine = 0
    try:
        while mine < low:
            if helper is not None and mine % POLL == 0:
                answered = _answered(helper, pending, items, out, low)
                if answered is None:  # done, dead, or wrong: whatever it did not answer is done here
                    helper.stop()
                    helper = None
                else:
                    low = answered
                    if mine >= low:
                        break
            out[mine] = _one(*items[mine])
            mine += 1
    finally:
        if helper is not None:
            helper.stop()
    return out  # type: ignore[return-value]  # every slot is filled: [0, mine) here, [low, n) there


def _one(kind: str, path: str) -> Result:
    loaded = load_file(path, lines=False)
    return loaded, loaded.data is not None and plainly_valid(kind, loaded.data)


def _answered(
    helper: spawn.Helper, pending: bytearray, items: list[tuple[str, str]], out: list[Result | None], low: int
) -> int | None:
    """Take the helper's complete frames (each the record just below `low`); the new `low`, or
    None when it has finished or sent what it never writes."""
    more = helper.read_ready()
    if more is None:
        return None
    pending += more
    at = 0
    while len(pending) - at >= 4:
        size = int.from_bytes(pending[at : at + 4], "little")
        if len(pending) - at - 4 < size:
            break
        try:
            frame = marshal.loads(pending[at + 4 : at + 4 + size])
        except (EOFError, ValueError, TypeError):
            return None
        result = _frame(frame, low, items)
        if result is None:
            return None
        low -= 1
        out[low] = result
        at += 4 + size
    del pending[:at]
    return low


def _frame(frame: Any, low: int, items: list[tuple[str, str]]) -> Result | None:
    """A frame as the helper writes it, for the record just below `low`; else None."""
    if type(frame) is not tuple or len(frame) != 5 or frame[0] != low - 1 or {type(frame[3]), type(frame[4])} != {bool}:
        return None
    _index, data, problems, valid, sourced = frame
    if type(problems) is not tuple or not all(type(p) is tuple and len(p) == 4 for p in problems):
        return None
    source = items[low - 1][1] if sourced else None
    return Loaded(data, tuple(LoadProblem(*p) for p in problems), {}, source), valid


def _search_path() -> list[str] | None:
    """The folders a helper imports from: this package's and PyYAML's, nothing else (not the
    current folder, which may be the repository being checked)."""
    from importlib.util import find_spec

    try:
        spec = find_spec("yaml")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith("__init__.py"):
        return None
    return [_HOME, os.path.dirname(os.path.dirname(spec.origin))]


def _encoding() -> tuple[str, str]:
    return sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


def serve(items: list[tuple[str, str]], encoding: tuple[str, str]) -> None:
    """The helper's work: records from the last down, a frame each as it is done."""
    import gc

    if tuple(encoding) != _encoding():
        sys.exit(3)  # its paths would name other files: the caller does the work
    gc.disable()  # nothing it makes is garbage until it exits
    out = sys.stdout.buffer
    for done, index in enumerate(range(len(items) - 1, -1, -1), 1):
        loaded, valid = _one(*items[index])
        problems = tuple((p.code, p.message, p.hint, p.line) for p in loaded.problems)
        frame = marshal.dumps((index, loaded.data, problems, valid, loaded.source is not None))
        out.write(len(frame).to_bytes(4, "little") + frame)
        if done % POLL == 0:
            out.flush()
    out.flush()
