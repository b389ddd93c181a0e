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

A run with nothing cached (--no-cache, or no cache yet) starts earlier (Stream): the walk
hands over each metadata file as it lists it, and a helper fed through a pipe loads them in
walk order on the core the walk leaves idle; after the walk this process takes records from
the end of that order, and again they stop where they meet (10k records, cold doctor: the
loading after the walk 0.43 -> 0.25-0.33 s).
"""

from __future__ import annotations

import marshal
import os
import sys
from typing import TYPE_CHECKING, Any

from strataml import spawn
from strataml.hashing import PARALLEL_BYTES, HeadStart, cores
from strataml.loading import Loaded, LoadProblem, load_file
from strataml.schemas import plainly_valid

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

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


def preload(workspace: Workspace, cache: Cache | None, hashing: int = 0, stream: Stream | None = None) -> int:
    """Load (and check) every record the rules will load, on two cores; returns how many.

    Nothing happens (the rules load records one by one, as ever) below HELPED records, on one
    core, when a helper cannot start, for a workspace read through a staging folder or another
    tree, or when the `hashing` (bytes) started meanwhile keeps every core busy for longer
    than the loading takes (2,000 records beside 2 GB: a third process only adds its start).
    `stream`: what the walk began loading (Stream); its answers so far count in every case."""
    from strataml.cache import stat_key

    reader = workspace.reader
    if reader is None or workspace.partial or reader.moved is not None or reader.fallback is not None:
        return 0  # (a stream the walk began is stopped by the run)
    todo = []
    for record in workspace.records:
        if "loaded" in record.__dict__:
            continue  # loaded already (a caller looked at it)
        entry = workspace.entries.get(record.meta)
        if entry is None or entry.kind != "file":
            continue  # (none in a full walk: a record's metadata file is a regular file it found)
        if cache is not None and cache.knows(record.meta, stat_key(entry)):
            continue
        todo.append(record)
    busy = outweighed(hashing, len(todo))
    if stream is not None and stream.started:
        # Begun during the walk: what it loaded then is kept even where the rest is not worth a helper.
        results = stream.finish(todo, reader.fspath, go_on=not busy)
    elif len(todo) < HELPED or cores() < 2 or busy:
        return 0
    else:
        items = [(record.kind, reader.fspath(record.meta)) for record in todo]
        results = load_all(items)  # type: ignore[assignment]
    if results is None:
        return 0
    done = 0
    for record, result in zip(todo, results):
        if result is None:
            continue  # (a stream that stopped early: the rules load it as ever)
        loaded, valid = result
        reader.preloaded[record.meta] = loaded
        if valid:
            reader.valid[record.meta] = (record.kind, loaded.data)
        done += 1
    return done


def outweighed(hashing: int, loads: int, ncores: int | None = None) -> bool:
    """Whether hashing `hashing` bytes keeps every core busy for longer than `loads` records take
    to load on one: then a helper loading them only adds its start to the hashing. `ncores`:
    cores(), when the caller has it."""
    return hashing / HASHED_PER_SECOND / (ncores or cores()) > loads / LOADS_PER_SECOND


def load_all(items: list[tuple[str, str]]) -> list[Result] | None:
    """Each (kind, path) loaded as load_file(path, lines=False, regular=True) does, with whether its data
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
    # Every path here is one the walk found a regular file at (Stream.take, preload()).
    loaded = load_file(path, lines=False, regular=True)
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
    done = 0
    for frame, end in _split(pending):
        result = _frame(frame, low - 1, items[low - 1][1]) if low > 0 else None
        if result is None:
            return None
        low -= 1
        out[low] = result
        done = end
    del pending[:done]
    return low


def _split(pending: bytearray) -> Iterator[tuple[Any, int]]:
    """The complete frames at the start of `pending`: each decoded (None when it is not
    marshal), with the offset where it ends."""
    at = 0
    while len(pending) - at >= 4:
        size = int.from_bytes(pending[at : at + 4], "little")
        if len(pending) - at - 4 < size:
            return
        try:
            frame = marshal.loads(pending[at + 4 : at + 4 + size])
        except (EOFError, ValueError, TypeError):
            frame = None
        at += 4 + size
        yield frame, at


def _frame(frame: Any, index: int, path: str) -> Result | None:
    """A frame as the helper writes it, for the record at `index` (its file at `path`); else None."""
    if type(frame) is not tuple or len(frame) != 5 or frame[0] != index or {type(frame[3]), type(frame[4])} != {bool}:
        return None
    _index, data, problems, valid, sourced = frame
    if type(problems) is not tuple or not all(type(p) is tuple and len(p) == 4 for p in problems):
        return None
    source = path if sourced else None
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


# What a Stream's helper runs: its argv holds this package's and PyYAML's folders and the file
# system encoding; its input is a kind letter and a path (os.fsencode), NUL-terminated, per
# record; its answer the frames load_all() reads, numbered in the order the paths came.
_FED = "import sys; sys.path += sys.argv[1:3]; from strataml.preload import serve_fed; serve_fed(sys.argv[3:5])"
KINDS = {"dataset": b"d", "run": b"r", "model": b"m", "experiment": b"e"}
_KIND_OF = {letter[0]: kind for kind, letter in KINDS.items()}
START = 512  # metadata files the walk finds before a helper starts: fewer, and its start costs more
FEED_EVERY = 64  # metadata files found between writes to the helper (and reads of its answers)


class Stream:
    """Record metadata loaded on the second core while the walk still lists the tree.

    take() is the walk's `found` hook: it notes each file that stands where a record's metadata
    does (by layout alone: datasets/N/V/dataset.yaml, models/N/V/model.yaml, runs/ID/run.yaml,
    experiments/NAME.yaml), starts a helper once START are found (unless the files found to hash
    outweigh them: preload's own test), feeds it without waiting (a full pipe is fed later) and
    takes its answers as they come. finish() then loads the rest
    from the end of that order while the helper goes on from the front. A note that is not a
    record after all (or not of that kind, or one the cache answers) costs the helper a load
    and nothing else: only answers for the very records preload() asks about, at the same path,
    are used.
    """

    def __init__(self, root: Path | str) -> None:
        from strataml.workspace import hashed_ahead  # (not at the top: a helper imports this module)

        self._hashed_ahead = hashed_ahead
        self._base = os.fsencode(os.path.join(str(root), ""))
        self._root = os.path.join(str(root), "")
        self.found: list[tuple[str, str]] = []  # (kind, workspace path), in walk order
        self.answered: list[Result] = []  # the helper's, for found[: len(answered)]
        self.hashing = 0  # bytes the walk found that the run will hash (until the loading helper has the second core)
        self._queued = 0  # found[:_queued] are in _out or sent
        self._out = bytearray()
        self._pending = bytearray()  # the start of an answer not complete yet
        self._helper: spawn.Fed | None = None
        self._failed = False
        # The files to hash, their hashing begun during the walk where the loading would not
        # gain from the second core (hashing.HeadStart; None once the loading has it).
        self.head_start: HeadStart | None = HeadStart()
        # Asked once: take() weighs the hashing against the loading at every folder that adds a
        # record (1,500 times beside 2 GB), and each cores() is a system call.
        self._cores = cores()

    @property
    def started(self) -> bool:
        return self._helper is not None

    def take(self, listing: list[Any]) -> None:
        """The walk's hook: one folder's entries (folders still to list among them)."""
        hashed_ahead, head_start, root = self._hashed_ahead, self.head_start, self._root
        before = len(self.found)
        for item in listing:
            if item[1] != "file":
                continue
            if item[0].endswith(".yaml"):
                kind = meta_kind(item[0])
                if kind is not None:
                    self.found.append((kind, item[0]))
            elif (head_start is not None or self._helper is None) and hashed_ahead(item[0], "file", item[2]):
                self.hashing += item[2]
                if head_start is not None:
                    head_start.add((item[0], root + item[0], item[2]))
        if head_start is not None and (
            head_start.helpers
            or (self.hashing >= PARALLEL_BYTES and outweighed(self.hashing, len(self.found), self._cores))
        ):
            # (2,000 records beside 2 GB: started after the walk, the hashing left a core idle for 0.05 s.)
            head_start.feed()
        if len(self.found) == before or self._failed:
            return
        if self._helper is None:
            # Not while the hashing found so far outweighs the loading (2,000 records beside 2 GB:
            # the helper's start and loads took 0.09 s of a core from the hashing, for 0.03 s here).
            if len(self.found) >= START and not outweighed(self.hashing, len(self.found), self._cores):
                self._start()
                if head_start is not None and not head_start.helpers:
                    head_start.close()  # (the second core loads records: the hashing waits for the walk's end, as modest)
                    self.head_start = None
                elif head_start is not None:
                    head_start.yield_to_loading()  # (begun on data found before the records)
        elif len(self.found) - self._queued >= FEED_EVERY:
            self._feed(len(self.found))
            self._collect()

    def _start(self) -> None:
        search = _search_path()
        encoding = _encoding()
        helper = spawn.start_fed(_FED, [*search, *encoding]) if search else None
        if helper is None:
            self._failed = True
            return
        self._helper = helper
        self._feed(len(self.found))

    def _feed(self, upto: int) -> None:
        """Queue found[_queued:upto] and write what the pipe takes now."""
        helper = self._helper
        if helper is None:
            return
        if upto > self._queued:
            base, letters = self._base, KINDS
            self._out += b"".join(
                letters[kind] + base + os.fsencode(rel) + b"\0" for kind, rel in self.found[self._queued : upto]
            )
            self._queued = upto
        if self._out:
            wrote = helper.send(self._out)
            if wrote > 0:
                del self._out[:wrote]

    def _collect(self) -> None:
        """Take what the helper has answered so far (the answers for found[len(answered)],
        then the next...). Once it has ended, or sent a frame it never writes, it is stopped:
        what it answered before stands, the rest is loaded here."""
        helper = self._helper
        if helper is None:
            return
        more = helper.read_ready()
        if more is None:
            self.stop()
            return
        pending = self._pending
        pending += more
        answered, found, done = self.answered, self.found, 0
        for frame, end in _split(pending):
            low = len(answered)
            result = _frame(frame, low, self._root + found[low][1]) if low < len(found) else None
            if result is None:
                self.stop()
                return
            answered.append(result)
            done = end
        del pending[:done]

    def stop(self) -> None:
        """No more of this: the helper is stopped, whatever it was doing (and a hashing begun
        during the walk that no Background took over)."""
        if self._helper is not None:
            self._helper.stop()
            self._helper = None
        if self.head_start is not None:
            self.head_start.close()  # (nothing, once taken over)
        self._failed = True
        self._out = self._pending = bytearray()

    def finish(self, todo: list[Any], fspath: Callable[[str], str], go_on: bool = True) -> list[Result | None]:
        """A result per record of `todo` (as load_all gives), loading here what the helper has
        not: from the end of the walk's order down to where its answers reach. `go_on`
        False: only its answers so far are taken (the cores have other work now); the
        records it has not answered are left to the rules (None)."""
        slot = {record.meta: i for i, record in enumerate(todo)}
        out: list[Result | None] = [None] * len(todo)
        # The walk's notes that stand for a record asked about: the same kind, the same path.
        covered: dict[int, int] = {}  # found index -> todo slot
        for index, (kind, rel) in enumerate(self.found):
            i = slot.get(rel)
            if i is not None and todo[i].kind == kind and fspath(rel) == self._root + rel:
                covered[index] = i
        try:
            self._collect()
            if go_on:
                taken = set(covered.values())
                # First the records the walk's notes missed (none, usually), then the notes from the end.
                for n, i in enumerate(i for i in range(len(todo)) if i not in taken):
                    if n % POLL == 0:
                        self._feed(len(self.found))
                        self._collect()
                    out[i] = _one(todo[i].kind, fspath(todo[i].meta))
                at = len(self.found)  # found[at:] is done here
                while True:
                    if (len(self.found) - at) % POLL == 0:
                        self._feed(at)  # (never what this process did already)
                        self._collect()
                    at -= 1
                    if at < len(self.answered):
                        break
                    i = covered.get(at)
                    if i is not None:
                        out[i] = _one(todo[i].kind, fspath(todo[i].meta))
            for index, result in enumerate(self.answered):
                i = covered.get(index)
                if i is not None and out[i] is None:
                    out[i] = result
            return out
        finally:
            self.stop()


def stream_for(root: Path, use_cache: bool) -> Stream | None:
    """A Stream to hand walk() for a full run over `root`: None with one core, no interpreter to
    start, or (`use_cache`) a cache an earlier run left, which answers for the records instead."""
    from strataml.cache import Cache

    if use_cache and os.path.exists(os.path.join(root, Cache.DB_PATH)):
        return None
    if cores() < 2 or not spawn.available():
        return None
    return Stream(root)


def meta_kind(rel: str) -> str | None:
    """The kind of record whose metadata file `rel` would be, by where it stands; else None."""
    parts = rel.split("/")
    n = len(parts)
    if n == 4 and parts[0] in ("datasets", "models"):
        kind = parts[0][:-1]
        return kind if parts[3] == f"{kind}.yaml" else None
    if n == 3 and parts[0] == "runs" and parts[2] == "run.yaml":
        return "run"
    if n == 2 and parts[0] == "experiments":
        return "experiment"
    return None


def answer(index: int, kind: str, path: str) -> bytes:
    """A helper's frame for the record at `index` (its file at `path`): the length, then marshal
    of (index, data, problems, whether the compiled check passed it, whether the load points back
    to its file), as _frame() reads it."""
    loaded, valid = _one(kind, path)
    problems = tuple((p.code, p.message, p.hint, p.line) for p in loaded.problems)
    frame = marshal.dumps((index, loaded.data, problems, valid, loaded.source is not None))
    return len(frame).to_bytes(4, "little") + frame


def serve_fed(encoding: list[str]) -> None:
    """A Stream helper's work: load each record named on stdin as it comes, a frame each."""
    import gc

    if tuple(encoding) != _encoding():
        sys.exit(3)  # its paths would name other files: the caller does the work
    gc.disable()  # nothing it makes is garbage until it exits
    out = sys.stdout.buffer
    kinds = _KIND_OF
    index = 0
    rest = b""
    while chunk := os.read(0, 1 << 16):
        *items, rest = (rest + chunk).split(b"\0")
        for item in items:
            kind = kinds.get(item[0]) if item else None
            if kind is None:
                sys.exit(3)  # not what a Stream sends
            out.write(answer(index, kind, os.fsdecode(item[1:])))
            index += 1
            if index % POLL == 0:
                out.flush()
        out.flush()  # all it has answered is readable before it waits for more


def serve(items: list[tuple[str, str]], encoding: tuple[str, str]) -> None:
    """The helper's work: records from the last down, a frame each as it is done."""
    import gc

    if tuple(encoding) != _encoding():
        sys.exit(3)  # its paths would name other files: the caller does the work
    gc.disable()  # nothing it makes is garbage until it exits
    out = sys.stdout.buffer
    for done, index in enumerate(range(len(items) - 1, -1, -1), 1):
        out.write(answer(index, *items[index]))
        if done % POLL == 0:
            out.flush()
    out.flush()
