"""What proves a saved index fresh without walking the tree: .strataml/index.walk.

It lists every path the last walk saw with its lstat facts, folders included (each taken before
the folder was listed, so an entry added or removed since changes its mtime), the managed
folders' own facts, the context key, and the sha256 of the index and rows saved with it.
lstat'ing those paths again, and the dozen files of the context key, proves the tree unchanged
at a fraction of a walk's cost (no managed folder is opened: the context key lists the workspace
folder, tfc/ and tfc/keys/ for names folded onto the layout's); when it is not, what was seen
tells the rewalk which folders to list again.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from array import array
from collections.abc import Sequence
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from strataml import atomic
from strataml.lstats import lstat_facts
from strataml.rootdir import MANAGED

if TYPE_CHECKING:
    from strataml.preload import Stream
    from strataml.read.saved import Ahead
    from strataml.workspace import Seen

WALK = ".strataml/index.walk"
WALK_FORMAT = 2  # encode_listing()'s layout


class Walked(NamedTuple):
    """One walk of the tree and what it proves."""

    entries: dict[str, Any]
    key: str | None  # the snapshot key; None when a file is too new (or a link) to tell
    context: str | None  # its part outside the walk (snapshot.context_key)
    tops: list[tuple[str, str, int, int, int, int]]  # each managed folder's lstat, taken before the walk
    touched: set[str] | None = None  # a rewalk's: the paths new, gone or changed since the last walk
    listing: Listing | None = None  # the saved listing probe() read (read once: previous() takes it from here)
    ahead: Ahead | None = None  # the saved index and rows a rewalk's rebuild starts from, read meanwhile
    stream: Stream | None = None  # records a first walk began loading, for the doctor's run after it


def freshness(root: Path, looked: Probe | None = None, ahead: bool = False) -> Walked:
    """Walk the tree and key it (the managed folders' own lstat first, for index.walk). With what
    probe() saw of the last walk, only folders whose lstat changed are listed again (rewalk).
    `ahead`: the caller goes on to saved.resolve(), which reads the saved index and rows: read
    them meanwhile (saved.Ahead), when this strataml wrote them."""
    from strataml.snapshot import context_key, keyed
    from strataml.workspace import rewalk, walk

    tops = _tops(root)
    context = context_key(root, "index")
    if looked is not None and looked.seen is not None and all(kind in ("d", "-") for _n, kind, *_f in tops):
        before = {t[0]: list(t) for t in looked.tops or () if isinstance(t, list) and t}
        changed = {name for name, *facts in tops if before.get(name) != [name, *facts]}
        seen = looked.seen
        # Past a tenth of the paths changed, one walk is as cheap and simpler.
        if sum(a != b for a, b in zip(seen.now, seen.before)) <= max(100, len(seen.paths) // 10):
            from strataml.read.saved import Ahead

            listing = looked.listing
            reading = Ahead(root) if ahead and listing is not None and listing.tool == tool_id() else None
            entries, touched = rewalk(root, seen, changed)
            return Walked(entries, keyed(context, entries), context, tops, touched, listing, reading)
    stream = None
    if ahead and (looked is None or looked.listing is None):
        # No saved index to start from: the rebuild after this walk is a full run.
        from strataml.preload import stream_for

        stream = stream_for(root, use_cache=True)
    entries = walk(root, stream.take if stream is not None else None)
    return Walked(
        entries,
        keyed(context, entries),
        context,
        tops,
        listing=looked.listing if looked is not None else None,
        stream=stream,
    )


class Probe(NamedTuple):
    """What probe() learned from index.walk."""

    key: str | None  # the saved index's key, when it is provably fresh
    seen: Seen | None  # else every path of the last walk looked at again (None: walk anew)
    tops: list[Any] | None  # the managed folders as the last walk saw them
    index_sha256: str | None = None  # of the index and rows texts the walk was saved with
    rows_sha256: str | None = None
    listing: Listing | None = None  # index.walk as read


class Listing(NamedTuple):
    """index.walk, read and checked for shape."""

    key: str
    until: Any
    context: Any
    tool: Any
    tops: list[Any]
    paths: list[str]
    kinds: str  # f or d per path
    stats: array[int]  # (size, mtime, inode, ctime) per path, flat, int64
    index_sha256: Any
    rows_sha256: Any
    blob: bytes = b""  # the paths as stored (NUL-joined), for the lstat helper


def read_listing(root: Path) -> Listing | None:
    """index.walk when it is one this format wrote (any damage: None, and the caller walks)."""
    from strataml.read.saved import MAX_INDEX_BYTES

    try:
        raw = atomic.read_bytes(root, WALK, limit=MAX_INDEX_BYTES)
        body = decode_listing(raw) if raw is not None else None
    except (OSError, ValueError, RecursionError, atomic.Refused):
        return None
    if body is None:
        return None
    key, tops, kinds = body.get("key"), body.get("tops"), body.get("kinds")
    paths: list[str] = body["paths"]
    facts: array[int] = body["stats"]
    if not (
        isinstance(key, str)
        and isinstance(tops, list)
        and all(isinstance(t, list) and t and isinstance(t[0], str) for t in tops)
        and isinstance(kinds, str)
        and set(kinds) <= {"f", "d"}
        and len(kinds) == len(paths)
        and len(facts) == 4 * len(paths)
        and _walkable(body.get("blob", b""), len(paths))
    ):
        return None
    return Listing(
        key,
        body.get("until"),
        body.get("context"),
        body.get("tool"),
        tops,
        paths,
        kinds,
        facts,
        body.get("index_sha256"),
        body.get("rows_sha256"),
        body.get("blob", b""),
    )


_STARTS = tuple(f"\0{top}/".encode() for top in MANAGED)


def _walkable(blob: bytes, count: int) -> bool:
    """Whether every one of the `count` NUL-joined paths in `blob` stays in the workspace: each
    below a managed folder, none with a '..' component. Checked before any of them is lstat'ed
    (a planted listing names nothing outside), each test one scan in C: no path holds a NUL, so
    each match of a start marks one path. (Empty or '.' components cannot climb out; the rewalk
    never makes them entries.)"""
    if not count:
        return True
    padded = b"\0" + blob + b"\0"
    if sum(padded.count(start) for start in _STARTS) != count:
        return False
    return b"/../" not in padded and b"/..\0" not in padded


def encode_listing(body: dict[str, Any]) -> bytes:
    """index.walk's bytes: one JSON line (everything but the paths and their facts), then the
    paths joined by NUL, then the facts as little-endian int64. Parsing 30,000 paths and
    120,000 numbers as JSON took ~20 ms of every fresh reader; this, ~5 ms."""
    # The file system's encoding, as os.lstat encodes these names (a name read under one locale
    # must come back as the same string; the header says which encoding wrote it).
    paths = os.fsencode("\0".join(body["paths"]))
    facts = array("q", body["stats"])  # a list, or listing_body's array (copied in C)
    if sys.byteorder != "little":
        facts.byteswap()
    head = {k: v for k, v in body.items() if k not in ("paths", "stats", "blob")}
    head.update(paths_bytes=len(paths), count=len(body["paths"]), encoding=sys.getfilesystemencoding())
    return json.dumps(head, separators=(",", ":")).encode("utf-8") + b"\n" + paths + facts.tobytes()


def decode_listing(raw: bytes) -> dict[str, Any] | None:
    """encode_listing() undone, with "paths" a list and "stats" an int64 array (and "blob", the paths as
    stored); None when `raw` is not what this format writes."""
    cut = raw.find(b"\n")
    head = json.loads(raw[:cut]) if cut >= 0 else None
    if not isinstance(head, dict) or head.get("format") != WALK_FORMAT:
        return None
    size, count = head.pop("paths_bytes", None), head.pop("count", None)
    if type(size) is not int or type(count) is not int or not 0 <= size <= len(raw) - cut - 1:
        return None
    if head.pop("encoding", None) != sys.getfilesystemencoding():
        return None  # written under another locale: its names may not be these
    blob, packed = raw[cut + 1 : cut + 1 + size], raw[cut + 1 + size :]
    if len(packed) != 32 * count:
        return None
    paths = os.fsdecode(blob).split("\0") if count else []
    if len(paths) != count or (not count and blob):
        return None
    facts = array("q", packed)
    if sys.byteorder != "little":
        facts.byteswap()
    return {**head, "paths": paths, "stats": facts, "blob": blob}


def quick(root: Path) -> str | None:
    """The saved index's key when index.walk proves nothing changed since it was built (every
    listed path lstat'ed again, the context key recomputed); else None, and the caller walks."""
    return probe(root).key


def probe(root: Path) -> Probe:
    """quick(), keeping what it saw for freshness() when the index is stale."""
    from strataml.snapshot import context_key

    listing = read_listing(root)
    if listing is None:
        return Probe(None, None, None)
    key, until, tops, paths, kinds, stats = (
        listing.key,
        listing.until,
        listing.tops,
        listing.paths,
        listing.kinds,
        listing.stats,
    )
    now, types = lstat_facts(os.path.join(root, ""), paths, listing.blob), None
    if now is not None:
        types = list(map(_TYPE.__and__, now[0::5]))
        del now[0::5]
        if (
            now == stats
            and types == list(map(_TYPES.__getitem__, kinds))
            and tops == [list(t) for t in _tops(root)]
            and (until is None or (isinstance(until, int) and time.time() < until))
            and listing.context == context_key(root, "index")
            and vouched(root, key)
        ):
            return Probe(key, None, tops, listing.index_sha256, listing.rows_sha256, listing)
    if not _a_walk(paths):
        return Probe(None, None, None)
    return Probe(None, _seen(root, paths, kinds, stats, now, types), tops, listing=listing)


def _a_walk(paths: list[str]) -> bool:
    """Whether `paths` can be a walk's: each once, in order, none in or naming a nested
    repository (the walk never lists one). A rewalk trusts the order and the names."""
    if not all(map(str.__lt__, paths, islice(paths, 1, None))):
        return False
    joined = "\0" + "\0".join(paths) + "\0"  # no path holds a NUL: each test is one C scan
    return not any(part in joined for part in ("\0.git\0", "/.git\0", "/.git/", "\0.git/"))


def vouched(root: Path, key: Any) -> bool:
    """index.key is written after index.json and removed before it changes: it vouches for it."""
    from strataml.read.saved import KEY

    try:
        saved = atomic.read_bytes(root, KEY, limit=1024)
    except (OSError, atomic.Refused):
        return False
    return isinstance(key, str) and saved is not None and saved.decode("utf-8", "replace").split(" ")[0].strip() == key


def _seen(
    root: Path, paths: list[str], kinds: str, stats: Sequence[int], now: Sequence[int] | None, types: list[int] | None
) -> Seen:
    """Each listed path with its facts now (None when gone or no longer of its kind); `now` and
    `types` from the fast pass when every path was there."""
    from strataml.workspace import Seen

    before = list(zip(*[iter(stats)] * 4))
    nows: list[tuple[int, int, int, int] | None]
    if now is not None and types is not None:
        expected = list(map(_TYPES.__getitem__, kinds))
        nows = [f if t == e else None for f, t, e in zip(zip(*[iter(now)] * 4), types, expected)]
    else:
        nows = []
        base = os.path.join(root, "")
        for path, kind in zip(paths, kinds):
            try:
                st = os.lstat(base + path)
            except (OSError, ValueError):
                nows.append(None)
                continue
            same_kind = st.st_mode & _TYPE == _TYPES[kind]
            nows.append((st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns) if same_kind else None)
    return Seen(paths, list(map(_NAMES.__getitem__, kinds)), nows, before)


_NAMES = {"f": "file", "d": "dir"}


_TYPE = 0o170000  # stat.S_IFMT's mask
_TYPES = {"f": stat.S_IFREG, "d": stat.S_IFDIR}


def _tops(root: Path) -> list[tuple[str, str, int, int, int, int]]:
    out = []
    for top in MANAGED:
        try:
            st = os.lstat(os.path.join(root, top))
        except FileNotFoundError:
            out.append((top, "-", 0, 0, 0, 0))
            continue
        except OSError:
            out.append((top, "?", 0, 0, 0, 0))
            continue
        kind = "d" if stat.S_ISDIR(st.st_mode) else "?"
        out.append((top, kind, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns))
    return out


def listing_body(walked: Walked, until: int | None) -> dict[str, Any] | None:
    from strataml.identity import RACY_NS
    from strataml.snapshot import columns_of

    if walked.key is None or walked.context is None:
        return None
    newest_ok = time.time_ns() - RACY_NS
    if any(kind == "?" or mtime > newest_ok for _, kind, _, mtime, _, _ in walked.tops):
        return None
    columns = columns_of(walked.entries)
    if columns is None or columns.facts is None or not set(columns.kinds) <= {"file", "dir"}:
        return None  # (a number past int64 too: the next reader walks)
    paths, kinds, stats = columns.paths, columns.kinds, columns.facts
    return {
        "format": WALK_FORMAT,
        "key": walked.key,
        "until": until,
        "context": walked.context,
        "tool": tool_id(),
        "tops": walked.tops,
        "kinds": "".join(map(itemgetter(0), kinds)),
        "paths": paths,
        "stats": stats,
    }


def tool_id() -> str:
    from strataml.identity import identity

    return repr(sorted(identity().items()))
