"""The saved index (.strataml/index.json): rebuilt when the repository changed since it was built.

Freshness is the doctor's snapshot key (every walked file's stat, config, key manifest, git's
index and HEAD, the tool and schema versions), kept beside the index so index.json itself stays
byte-identical for the same repository state.

A reader with a saved index does not walk the tree: index.walk lists every path the last walk saw
with its lstat facts, folders included (each taken before the folder was listed, so an entry added
or removed since changes its mtime). lstat'ing those paths again, and the dozen files of the
context key, proves the tree unchanged at a fraction of a walk's cost (no folder is opened).
index.rows holds `strataml list`'s rows for the same key, so a fresh `list` never parses the index.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from strataml import atomic

if TYPE_CHECKING:
    from strataml.read.build import Previous
    from strataml.workspace import Seen

INDEX = ".strataml/index.json"
KEY = ".strataml/index.key"
WALK = ".strataml/index.walk"
ROWS = ".strataml/index.rows"
WALK_FORMAT = 1
# The saved index is read whole; one bigger than this (far past 100,000 records) is rebuilt, never held.
MAX_INDEX_BYTES = 512 * 1024 * 1024
VOLATILE_SECONDS = 60


def make(root: Path, generated_at: str | None = None, entries: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the index now: one walk (or the caller's), records through the cache, the doctor's findings attached."""
    return made(root, generated_at, entries)[0]


def made(
    root: Path,
    generated_at: str | None = None,
    entries: dict[str, Any] | None = None,
    use_cache: bool = True,
    previous: Previous | None = None,
) -> tuple[dict[str, Any], bool]:
    """(the index, whether its verdicts may change while the files do not: then it is never saved as fresh).

    `previous`: the last saved index and its walk; records unchanged since keep their nodes."""
    from strataml.cache import Cache
    from strataml.doctor import engine
    from strataml.doctor.finding import Report
    from strataml.read.build import build
    from strataml.workspace import Workspace, load, walk

    root = Path(root).resolve()
    entries = walk(root) if entries is None else entries
    # The doctor reuses its last report when nothing changed; records come from the cache; with
    # a previous index over the same config, keys and git index, only what changed is checked.
    again = None
    if previous is not None and previous.mergeable:
        from strataml.doctor import incremental

        def again(workspace: Workspace, cache: Cache | None) -> Report | None:
            assert previous is not None
            if previous.attributes_changed(workspace):
                return None
            return incremental.recheck(workspace, cache, previous.earlier(), previous.reusable(workspace))

    report = engine.doctor(root, use_cache=use_cache, entries=entries, again=again)
    workspace = (
        report.workspace
        if isinstance(report.workspace, Workspace)
        else load(root, Cache(root, enabled=use_cache), entries)
    )
    return build(workspace, report, generated_at, previous), report.volatile


class Walked(NamedTuple):
    """One walk of the tree and what it proves."""

    entries: dict[str, Any]
    key: str | None  # the snapshot key; None when a file is too new (or a link) to tell
    context: str | None  # its part outside the walk (snapshot.context_key)
    tops: list[tuple[str, str, int, int, int, int]]  # each managed folder's lstat, taken before the walk
    touched: set[str] | None = None  # a rewalk's: the paths new, gone or changed since the last walk


def freshness(root: Path, looked: Probe | None = None) -> Walked:
    """Walk the tree and key it (the managed folders' own lstat first, for index.walk). With what
    probe() saw of the last walk, only folders whose lstat changed are listed again (rewalk)."""
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
            entries, touched = rewalk(root, seen, changed)
            return Walked(entries, keyed(context, entries), context, tops, touched)
    entries = walk(root)
    return Walked(entries, keyed(context, entries), context, tops)


class Probe(NamedTuple):
    """What probe() learned from index.walk."""

    key: str | None  # the saved index's key, when it is provably fresh
    seen: Seen | None  # else every path of the last walk looked at again (None: walk anew)
    tops: list[Any] | None  # the managed folders as the last walk saw them
    index_sha256: str | None = None  # of the index and rows texts the walk was saved with
    rows_sha256: str | None = None


def quick(root: Path) -> str | None:
    """The saved index's key when index.walk proves nothing changed since it was built (every
    listed path lstat'ed again, the context key recomputed); else None, and the caller walks."""
    return probe(root).key


def probe(root: Path) -> Probe:
    """quick(), keeping what it saw for freshness() when the index is stale."""
    from strataml.snapshot import context_key

    nothing = Probe(None, None, None)
    try:
        raw = atomic.read_bytes(root, WALK, limit=MAX_INDEX_BYTES)
        listing = json.loads(raw) if raw is not None else None
    except (OSError, ValueError, atomic.Refused):
        return nothing
    if not isinstance(listing, dict) or listing.get("format") != WALK_FORMAT:
        return nothing
    key, until, tops, paths, kinds, stats = (
        listing.get(k) for k in ("key", "until", "tops", "paths", "kinds", "stats")
    )
    if not (
        isinstance(key, str)
        and isinstance(tops, list)
        and isinstance(paths, list)
        and all(isinstance(p, str) for p in paths)
        and isinstance(kinds, str)
        and set(kinds) <= {"f", "d"}
        and isinstance(stats, list)
        and len(kinds) == len(paths)
        and len(stats) == 4 * len(paths)
        and set(map(type, stats)) <= {int}
    ):
        return nothing
    now, types = _restat(root, paths), None
    if now is not None:
        types = [m & _TYPE for m in now[0::5]]
        del now[0::5]
        if (
            now == stats
            and types == [_TYPES[k] for k in kinds]
            and tops == [list(t) for t in _tops(root)]
            and (until is None or (isinstance(until, int) and time.time() < until))
            and listing.get("context") == context_key(root, "index")
            and _vouched(root, key)
        ):
            return Probe(key, None, tops, listing.get("index_sha256"), listing.get("rows_sha256"))
    return Probe(None, _seen(root, paths, kinds, stats, now, types), tops)


def _vouched(root: Path, key: Any) -> bool:
    """index.key is written after index.json and removed before it changes: it vouches for it."""
    try:
        saved = atomic.read_bytes(root, KEY, limit=1024)
    except (OSError, atomic.Refused):
        return False
    return isinstance(key, str) and saved is not None and saved.decode("utf-8", "replace").split(" ")[0].strip() == key


def _seen(
    root: Path, paths: list[str], kinds: str, stats: list[int], now: list[int] | None, types: list[int] | None
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


def _restat(root: Path, paths: list[str]) -> list[int] | None:
    """The listed paths' lstat facts now, flat (mode, size, mtime, inode, ctime each); None when
    one is gone. The hot loop of a fresh reader: one lstat per path (30,000 on 10k records),
    iterated in C; the syscalls are most of its cost."""
    base = os.path.join(root, "")
    try:
        return list(chain.from_iterable(map(_FACTS, map(os.lstat, [base + p for p in paths]))))
    except (OSError, ValueError):
        return None


_FACTS = attrgetter("st_mode", "st_size", "st_mtime_ns", "st_ino", "st_ctime_ns")


def _tops(root: Path) -> list[tuple[str, str, int, int, int, int]]:
    from strataml.workspace import MANAGED

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


def listing(walked: Walked, until: int | None, index_text: str = "", rows_text: str = "") -> str | None:
    """index.walk's text for this walk, vouching for the index and rows texts written beside it
    (by their sha256); None when it cannot prove anything (an entry other than a file or
    folder, a managed folder that is neither, one changed within the racy window)."""
    body = _listing(walked, until)
    if body is None:
        return None
    body.update(index_sha256=_sha256(index_text), rows_sha256=_sha256(rows_text))
    return json.dumps(body, separators=(",", ":"))


def _listing(walked: Walked, until: int | None) -> dict[str, Any] | None:
    from strataml.cache import RACY_NS

    if walked.key is None or walked.context is None:
        return None
    newest_ok = time.time_ns() - RACY_NS
    if any(kind == "?" or mtime > newest_ok for _, kind, _, mtime, _, _ in walked.tops):
        return None
    paths: list[str] = []
    kinds: list[str] = []
    stats: list[int] = []
    for e in walked.entries.values():
        if e.kind not in ("file", "dir"):
            return None
        paths.append(e.path)
        kinds.append(e.kind[0])
        stats += (e.size, e.mtime_ns, e.inode, e.ctime_ns)
    body = {
        "format": WALK_FORMAT,
        "key": walked.key,
        "until": until,
        "context": walked.context,
        "tool": _tool(),
        "tops": walked.tops,
        "kinds": "".join(kinds),
        "paths": paths,
        "stats": stats,
    }
    return body


def previous(root: Path, context: str | None = None) -> Previous | None:
    """The saved index with the walk it was built from (stale or not), when the two belong
    together (index.walk holds the index's sha256) and this version of strataml built them;
    else None (everything is built anew). Its findings are an earlier doctor run to start from
    when `context` (config, keys, git's index and HEAD) is the same and no verdict in it
    depended on the clock."""
    from strataml.read.build import Previous

    try:
        raw = atomic.read_bytes(root, WALK, limit=MAX_INDEX_BYTES)
        listing = json.loads(raw) if raw is not None else None
        if not isinstance(listing, dict) or listing.get("format") != WALK_FORMAT or listing.get("tool") != _tool():
            return None
        if not _vouched(root, listing.get("key")):
            return None
        paths, kinds, stats = listing["paths"], listing["kinds"], listing["stats"]
        if not (isinstance(paths, list) and isinstance(kinds, str) and isinstance(stats, list)):
            return None
        if len(kinds) != len(paths) or len(stats) != 4 * len(paths):
            return None
        raw = atomic.read_bytes(root, INDEX, limit=MAX_INDEX_BYTES)
        if raw is None or hashlib.sha256(raw).hexdigest() != listing.get("index_sha256"):
            return None  # not the index this walk was saved with (replaced, damaged, another checkout's)
        text = raw.decode("utf-8")
        index = json.loads(text)
    except (OSError, ValueError, KeyError, atomic.Refused):
        return None
    if not _well_formed(index):
        return None
    if not all(isinstance(path, str) for path in paths):
        return None
    mergeable = context is not None and listing.get("context") == context and listing.get("until") is None
    nodes = {n["id"]: n for n in index["nodes"]}
    return Previous(
        nodes,
        (paths, kinds, stats),
        index["findings"] if mergeable else [],
        mergeable,
        index["edges"],
        _node_lines(text, index["nodes"]),
        rows=_previous_rows(root, listing.get("rows_sha256")),
    )


def _previous_rows(root: Path, digest: Any) -> dict[str, dict[str, Any]]:
    """Node id -> its row in the saved rows, for datasets and runs (whose rows are their node's alone)."""
    try:
        raw = atomic.read_bytes(root, ROWS, limit=MAX_INDEX_BYTES)
        if raw is None or hashlib.sha256(raw).hexdigest() != digest:
            return {}
        tables = json.loads(raw)
    except (OSError, ValueError, atomic.Refused):
        return {}
    out = {}
    for what in ("datasets", "runs"):
        for row in tables.get(what) or () if isinstance(tables, dict) else ():
            if isinstance(row, dict) and isinstance(row.get("id"), str):
                out[row["id"]] = row
    return out


def _well_formed(index: Any) -> bool:
    """Every part of a saved index a build reuses has the shape the build wrote."""
    if not isinstance(index, dict):
        return False
    nodes, edges, found = index.get("nodes"), index.get("edges"), index.get("findings")
    if not (isinstance(nodes, list) and isinstance(edges, list) and isinstance(found, list)):
        return False
    return (
        all(
            isinstance(n, dict)
            and all(isinstance(n.get(k), str) for k in ("id", "kind", "path"))
            and isinstance(n.get("attrs"), dict)
            and isinstance(n.get("findings"), dict)
            for n in nodes
        )
        and all(isinstance(e, dict) and all(isinstance(e.get(k), str) for k in ("from", "to", "kind")) for e in edges)
        and all(
            isinstance(f, dict)
            and all(isinstance(f.get(k), str) for k in ("code", "path", "message", "hint", "severity"))
            and (f.get("line") is None or type(f.get("line")) is int)
            for f in found
        )
    )


def _node_lines(text: str, nodes: list[dict[str, Any]]) -> dict[str, str]:
    """Node id -> its line in the saved text (build.dumps writes one node per line, in order)."""
    start = text.find('\n  "nodes": [\n')
    if start < 0:
        return {}
    end = text.find("\n  ]", start)
    lines = text[start + len('\n  "nodes": [\n') : end].split("\n")
    if len(lines) != len(nodes):
        return {}
    return {n["id"]: line[4:].removesuffix(",") for n, line in zip(nodes, lines)}


def _tool() -> str:
    from strataml.cache import identity

    return repr(sorted(identity().items()))


def fresh_text(root: Path) -> tuple[str, dict[str, int]] | None:
    """(the saved index's text, its node and edge counts) when it is provably fresh; else None."""
    looked = probe(Path(root).resolve())
    rows = saved_rows(root, looked)
    counts = rows.get("counts") if rows is not None else None
    if not isinstance(counts, dict) or not all(type(counts.get(k)) is int for k in ("nodes", "edges")):
        return None
    try:
        raw = atomic.read_bytes(root, INDEX, limit=MAX_INDEX_BYTES)
        if raw is None or hashlib.sha256(raw).hexdigest() != looked.index_sha256:
            return None
        return raw.decode("utf-8"), counts
    except (OSError, ValueError, atomic.Refused):
        return None


def saved_rows(root: Path, looked: Probe | None = None) -> dict[str, Any] | None:
    """`strataml list`'s rows (query.tables) when the saved index is provably fresh; else None."""
    from strataml.read.query import KIND_OF_LIST

    looked = probe(Path(root).resolve()) if looked is None else looked
    key = looked.key
    if key is None:
        return None
    try:
        raw = atomic.read_bytes(root, ROWS, limit=MAX_INDEX_BYTES)
        vouched = raw is not None and hashlib.sha256(raw).hexdigest() == looked.rows_sha256
        tables = json.loads(raw) if vouched else None  # type: ignore[arg-type]
    except (OSError, ValueError, atomic.Refused):
        return None
    if not isinstance(tables, dict) or tables.get("key") != key:
        return None
    return tables if all(isinstance(tables.get(k), list) for k in KIND_OF_LIST) else None


def current_rows(root: Path) -> dict[str, Any]:
    """query.tables of the index as it is now: the saved rows when provably fresh, else those
    the rebuild made on its way (or made here)."""
    from strataml.read.query import Graph, tables

    root = Path(root).resolve()
    looked = probe(root)
    rows = saved_rows(root, looked)
    if rows is not None:
        return rows
    if looked.key is None:
        found = resolve(root, freshness(root, looked))
        if found.rows is not None:
            return found.rows
        return tables(Graph(found.index))
    return tables(Graph(current(root, looked)[0]))


def current(root: Path, looked: Probe | None = None) -> tuple[dict[str, Any], bool]:
    """(the index for the repository as it is now, whether it had to be rebuilt).

    Readers call this: a stale or missing index is rebuilt and saved without anyone running
    `strataml index`. A workspace that cannot be written to still gets a fresh index in memory.
    `looked`: what probe() saw already (not asked again).
    """
    root = Path(root).resolve()
    looked = probe(root) if looked is None else looked
    if looked.key is not None:
        try:
            raw = atomic.read_bytes(root, INDEX, limit=MAX_INDEX_BYTES)
            vouched = raw is not None and hashlib.sha256(raw).hexdigest() == looked.index_sha256
            index = json.loads(raw) if vouched else None  # type: ignore[arg-type]
            if isinstance(index, dict) and isinstance(index.get("nodes"), list):
                return index, False
        except (OSError, ValueError, atomic.TooLarge, atomic.Refused):
            pass  # damaged under us: the walk below rebuilds it
    found = resolve(root, freshness(root, looked))
    return found.index, found.rebuilt


@dataclass(frozen=True)
class Resolved:
    index: dict[str, Any]
    text: str  # the index as saved (build.dumps): its sha256 is the index digest
    rebuilt: bool
    volatile: bool  # its verdict may change with the clock alone
    rows: dict[str, Any] | None = None  # query.tables of it, when they were made on the way


def resolve(root: Path, walked: Walked, writable: bool = True) -> Resolved:
    """The index for this walk: the saved one when it is fresh; else built, and saved if
    `writable`."""
    from strataml.read.build import dumps

    key = walked.key
    if key is not None and writable:  # read-only: nothing in .strataml/ is read either
        try:
            saved = atomic.read_bytes(root, KEY, limit=1024)
            said = _key_file(saved.decode("utf-8")) if saved is not None else {}
            if _fresh(said, key):
                text = (atomic.read_bytes(root, INDEX, limit=MAX_INDEX_BYTES) or b"").decode("utf-8")
                index = json.loads(text) if said.get("sha256") == _sha256(text) else None
                if isinstance(index, dict) and isinstance(index.get("nodes"), list):
                    until = int(said["until"]) if "until" in said else None
                    rows = None
                    try:  # fresh, yet not provably so without a walk (or we would not be here)
                        rows = _prove(root, index, text, walked, until)
                    except (OSError, atomic.Refused):
                        pass  # a read-only checkout, a refused path: the next reader walks again
                    return Resolved(index, text, False, until is not None, rows)
        except (OSError, ValueError, atomic.TooLarge):
            pass  # missing, damaged or grown past reason: rebuild
    before = previous(root, walked.context) if writable else None
    if before is not None:
        before.touched = walked.touched
    index, volatile = made(root, entries=walked.entries, use_cache=writable, previous=before)
    text = dumps(index, before)
    rows = None
    if writable:
        try:
            rows = save(root, index, text, walked, volatile=volatile, before=before)
        except OSError:
            pass  # a read-only checkout: the index lives for this command only
    return Resolved(index, text, True, volatile, rows)


def save(
    root: Path,
    index: dict[str, Any],
    text: str,
    walked: Walked | None,
    *,
    volatile: bool = False,
    before: Previous | None = None,
) -> dict[str, Any] | None:
    """Write the index text, and what proves it fresh for `walked` (none without a walk), to .strataml/.

    A verdict the clock can change (a key that expires, a ledger entry dated ahead) is fresh for
    VOLATILE_SECONDS only, then judged again: readers stay fast on a signed workspace, and no
    reader shows "signed" for longer than that after a key expired (the doctor, the gate, never
    reuses such a verdict at all)."""
    for rel in (INDEX, KEY, WALK, ROWS):  # all refused before any changes
        atomic.check(root, rel)
    for rel in (WALK, KEY, ROWS):  # never a fresh key beside an old index
        atomic.remove(root, rel)
    atomic.write_text(root, INDEX, text)
    key = walked.key if walked is not None else None
    if key is None:
        return None
    until = int(time.time()) + VOLATILE_SECONDS if volatile else None
    # The index's sha256 ties the key to the very text it was saved with.
    atomic.write_text(root, KEY, key + (f" until={until}" if until else "") + f" sha256={_sha256(text)}\n")
    return _prove(root, index, text, walked, until, before)  # type: ignore[arg-type]


def _prove(
    root: Path, index: dict[str, Any], text: str, walked: Walked, until: int | None, before: Previous | None = None
) -> dict[str, Any] | None:
    """index.rows, then index.walk: what lets the next reader skip the walk and the index.
    Returns the rows (None when nothing can be proven); `before`'s rows serve its kept nodes."""
    from strataml.read.query import Graph, tables

    body = _listing(walked, until)
    if body is None:
        return None
    counts = {"nodes": len(index["nodes"]), "edges": len(index["edges"])}
    rows = {"key": walked.key, "counts": counts, **tables(Graph(index), before.kept_rows(index) if before else None)}
    text_rows = json.dumps(rows, sort_keys=True, separators=(",", ":"))
    body.update(index_sha256=_sha256(text), rows_sha256=_sha256(text_rows))
    atomic.write_text(root, ROWS, text_rows)
    atomic.write_text(root, WALK, json.dumps(body, separators=(",", ":")))
    return rows


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _key_file(text: str) -> dict[str, str]:
    """index.key: `KEY [until=EPOCH] sha256=HEX` -> {"key": ..., "until": ..., "sha256": ...}."""
    words = text.split()
    said = dict(w.split("=", 1) for w in words[1:] if "=" in w)
    said["key"] = words[0] if words else ""
    return said


def _fresh(said: dict[str, str], key: str) -> bool:
    if said.get("key") != key:
        return False
    until = said.get("until")
    return until is None or (until.isdigit() and time.time() < int(until))
    if not until:
        return True
    try:
        return time.time() < int(until)
    except ValueError:
        return False
