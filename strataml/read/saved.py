"""The saved index (.strataml/index.json): rebuilt when the repository changed since it was built.

Freshness is the doctor's snapshot key (every walked file's stat, config, key manifest, git's
index and HEAD, the tool and schema versions), kept beside the index so index.json itself stays
byte-identical for the same repository state.

A reader with a saved index does not walk the tree (read.proof: index.walk proves it fresh).
index.rows holds `strataml list`'s rows for the same key, so a fresh `list` never parses the index.
After a change, the previous index lends the nodes and findings of what did not change (Previous).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from operator import itemgetter, methodcaller
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from strataml import atomic
from strataml.aside import Aside
from strataml.nogc import bulk, keep
from strataml.read.proof import (
    WALK,
    Probe,
    Walked,
    encode_listing,
    freshness,
    listing_body,
    probe,
    read_listing,
    tool_id,
    vouched,
)

if TYPE_CHECKING:
    from strataml.preload import Stream
    from strataml.read.build import Previous
    from strataml.read.lend import Lend

T = TypeVar("T")

INDEX = ".strataml/index.json"
KEY = ".strataml/index.key"
ROWS = ".strataml/index.rows"
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
    stream: Stream | None = None,
    lend: bool = True,
    lender: Lend | None = None,
) -> tuple[dict[str, Any], bool, Previous | None]:
    """(the index; whether its verdicts may change while the files do not, when it is never saved
    as fresh; what its nodes were kept from: `previous`, or what read.lend made, else None).

    `previous`: the last saved index and its walk; records unchanged since keep their nodes.
    `stream`: the records the walk that made `entries` began loading (proof.Walked.stream).
    `lend`: a build from nothing may make its nodes in a forked copy (read.lend), which also
    writes the cache; `lender`: that copy's Lend, settled by the caller once it has saved the
    index (the cache is written meanwhile), else here."""
    from strataml.cache import Cache
    from strataml.doctor import engine
    from strataml.doctor.finding import Report
    from strataml.read.build import build
    from strataml.read.lend import Lend, lending
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

    # A build from nothing makes its nodes on the second core while the rules run (read.lend).
    own = Lend() if lender is None and lend and previous is None and Lend.possible() else None
    lender = lender or own
    with lending(own):
        report = engine.doctor(
            root,
            use_cache=use_cache,
            entries=entries,
            again=again,
            stream=stream,
            ready=lender.start if lender is not None else None,
        )
        workspace = (
            report.workspace
            if isinstance(report.workspace, Workspace)
            else load(root, Cache(root, enabled=use_cache), entries)
        )
        if lender is not None:
            previous = lender.take(workspace)
        index = build(workspace, report, generated_at, previous)
    return index, report.volatile, previous


def rebuilt(
    root: Path,
    walked: Walked,
    before: Previous | None,
    finish: Callable[[dict[str, Any], bool, Previous | None], T],
    generated_at: str | None = None,
    use_cache: bool = True,
) -> T:
    """made() from `before` (the previous index), then `finish(index, volatile, what it was built
    from)` (its text, its save); all of it again from nothing when `before` lent a node that is
    not one a build wrote (build.Damaged: its sha256 held, so someone wrote it so)."""
    from strataml.read.build import Damaged
    from strataml.read.lend import Lend, lending

    # A build from nothing: the copy that makes its nodes writes the cache while the index is saved.
    lender = Lend() if before is None and Lend.possible() else None
    try:
        # (Damaged: the cache it was handed is the run's, and the build again finds it written.)
        with lending(lender, settled=(Damaged,)):
            index, volatile, used = made(
                root,
                generated_at,
                walked.entries,
                use_cache=use_cache,
                previous=before,
                stream=walked.stream,
                lender=lender,
            )
            return finish(index, volatile, used)
    except Damaged:
        pass
    index, volatile, used = made(root, generated_at, walked.entries, use_cache=use_cache, lend=False)
    return finish(index, volatile, used)


def previous(root: Path, walked: Walked) -> Previous | None:
    """The saved index with the walk it was built from (stale or not), when the two belong
    together (index.walk holds the index's sha256) and this version of strataml built them;
    else None (everything is built anew). Its findings are an earlier doctor run to start from
    when `walked`'s context (config, keys, git's index and HEAD) is the same and no verdict in
    it depended on the clock; `walked`'s changed paths, when a rewalk knew them, say which
    records kept their files."""
    ahead = walked.ahead if walked.ahead is not None else Ahead(root, threaded=False)
    try:
        return _previous(root, walked, ahead)
    finally:
        ahead.discard()  # what was read ahead for a previous index that lends nothing is let go


def _previous(root: Path, walked: Walked, ahead: Ahead) -> Previous | None:
    context = walked.context
    from strataml.read.build import Previous

    listing = walked.listing or read_listing(root)
    if listing is None or listing.tool != tool_id() or not vouched(root, listing.key):
        return None
    try:
        raw, digest = ahead.get(INDEX)
        if raw is None or digest != listing.index_sha256:
            return None  # not the index this walk was saved with (replaced, damaged, another checkout's)
        text = raw.decode("utf-8")
    except (OSError, ValueError, atomic.Refused):
        return None
    del raw
    mergeable = context is not None and listing.context == context and listing.until is None
    walk = (listing.paths, listing.kinds, listing.stats)
    unparsed = _unparsed(ahead, text, listing.rows_sha256)
    if unparsed is not None:
        return Previous(
            walk,
            unparsed.findings if mergeable else [],
            mergeable,
            unparsed.edges,
            unparsed.lines,
            touched=walked.touched,
            text=text,
            ids=unparsed.ids,
            saved_findings=unparsed.findings,
            rows=unparsed.rows,
            row_lines=unparsed.row_lines,
            sections=unparsed.sections,
        )
    try:
        index = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not _well_formed(index):
        return None
    return Previous(
        walk,
        index["findings"] if mergeable else [],
        mergeable,
        index["edges"],
        _lines_of(text, list(map(itemgetter("id"), index["nodes"])), named=False) or {},
        touched=walked.touched,
        parsed={n["id"]: n for n in index["nodes"]},
        text=text,
        saved_findings=index["findings"],
    )


Read = tuple[bytes | None, str | None]  # a file's content (None: missing) and its sha256


def read_hashed(root: Path, rel: str) -> Read:
    """A saved file (index, rows) read whole, with its sha256: what vouches for it is the digest
    another saved file holds. Raises what atomic.read_bytes raises (a symlink, past MAX_INDEX_BYTES)."""
    raw = atomic.read_bytes(root, rel, limit=MAX_INDEX_BYTES)
    return raw, hashlib.sha256(raw).hexdigest() if raw is not None else None


class Ahead:
    """The saved index and rows with their sha256, as previous() reads them; read in a thread
    from the start of a rewalk (`threaded`), which they overlap: reads and hashing let go of
    the GIL, so they take the other core while the tree is walked again."""

    def __init__(self, root: Path, threaded: bool = True) -> None:
        self._root = root
        self._aside = Aside(self._both) if threaded else None
        self._read: dict[str, Read | Exception] | None = None

    def _both(self) -> dict[str, Read | Exception]:
        return {rel: self._one(rel) for rel in (INDEX, ROWS)}

    def _one(self, rel: str) -> Read | Exception:
        try:
            return read_hashed(self._root, rel)
        except Exception as exc:  # raised where it is asked for, as a read there would
            return exc

    def get(self, rel: str) -> Read:
        """(the content of `rel` or None when missing, its sha256); what reading it raised, raised."""
        if self._read is None:
            self._read = self._aside.result() if self._aside is not None else {}
        found = self._read.pop(rel, None)  # not held past its use: 9 MB on 10k records
        if found is None:  # not read ahead, or asked again: read now
            found = self._one(rel)
        if isinstance(found, Exception):
            raise found
        return found

    def discard(self) -> None:
        """Let go of whatever was read and not asked for (not waiting for it)."""
        self._aside, self._read = None, {}


class Unparsed(NamedTuple):
    ids: list[str]  # every node's, in the saved order
    lines: dict[str, str]  # node id -> its line
    edges: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    rows: dict[str, tuple[str, Any]]  # node id -> (its list, its saved row)
    row_lines: dict[str, str]  # node id -> its row's line in index.rows
    sections: dict[str, str]  # "edges", "findings" -> their lists' text as saved


def _unparsed(ahead: Ahead, text: str, rows_sha256: Any) -> Unparsed | None:
    """The saved index without parsing its nodes: (node ids in order, id -> its line, edges,
    findings, id -> (list, its saved row), id -> its row's line), from the rows saved with it (their ids, in the
    nodes' order) and the edges and findings parsed where they stand; None when any of it is
    not what a save wrote (the caller parses the whole index)."""
    from strataml.read.query import KIND_OF_LIST

    try:
        raw, digest = ahead.get(ROWS)
        if raw is None or digest != rows_sha256:
            return None
        rows_text = raw.decode("utf-8")
        tables = json.loads(rows_text)
    except (OSError, ValueError, RecursionError, atomic.Refused):
        return None
    if not isinstance(tables, dict) or not _rows_well_formed(tables):
        return None
    rows = {row["id"]: (what, row) for what in KIND_OF_LIST for row in tables[what]}
    if len(rows) != sum(len(tables[what]) for what in KIND_OF_LIST):
        return None  # one id twice: lines cannot be told apart by id
    ids = sorted(rows)
    lines = _lines_of(text, ids)
    edges_at, findings_at = _section(text, "edges"), _section(text, "findings")
    if lines is None or edges_at is None or findings_at is None:
        return None
    (edges, edges_text), (findings, findings_text) = edges_at, findings_at
    if not _sections_shaped(edges, findings):
        return None
    sections = {"edges": edges_text, "findings": findings_text}
    return Unparsed(ids, lines, edges, findings, rows, _row_lines(rows_text, tables), sections)


def _lines_of(text: str, ids: list[str], named: bool = True) -> dict[str, str] | None:
    """Node id -> its line in the saved text as it stands there (indented, and with its comma
    unless last: build.dumps writes one node per line, in order, and takes it back as it is),
    for `ids` in the saved order; None when the text is not laid out so. `named`: each line must
    also hold `"id":"ID"` (ids not from the parsed nodes: an id JSON writes escaped is not found)."""
    lines = text.split("\n")  # one split of the whole text: no 9 MB slice copied first
    try:
        first = lines.index('  "nodes": [') + 1
    except ValueError:
        return {} if not ids and '\n  "nodes": []' in text else None
    body = lines[first : first + len(ids)]
    if len(body) != len(ids) or first + len(ids) >= len(lines) or not lines[first + len(ids)].startswith("  ]"):
        return None
    if not all(map(methodcaller("startswith", "    {"), body)):
        return None
    if named and not all(f'"id":"{ref}"' in line for ref, line in zip(ids, body)):
        return None
    return dict(zip(ids, body))


def _section(text: str, key: str) -> tuple[list[Any], str] | None:
    """The list under top-level `key`, parsed where it stands, and its text (build.dumps writes
    each top-level key on a line of its own, two spaces in: no node line holds a raw line break)."""
    at = text.find(f'\n  "{key}": ')
    if at < 0:
        return None
    start = at + len(key) + 7
    try:
        value, end = json.JSONDecoder().raw_decode(text, start)
    except (ValueError, RecursionError):
        return None
    return (value, text[start:end]) if isinstance(value, list) else None


def _well_formed(index: Any) -> bool:
    """Every part of a saved index a build reuses has the shape the build wrote."""
    if not isinstance(index, dict):
        return False
    text: set[type] = {str}
    return _shaped(
        index.get("nodes"), {"id": text, "kind": text, "path": text, "attrs": {dict}, "findings": {dict}}
    ) and _sections_shaped(index.get("edges"), index.get("findings"))


def _sections_shaped(edges: Any, findings: Any) -> bool:
    """The saved edges and findings have the shape a build wrote (a finding's severity one a run gives)."""
    from strataml.doctor.engine import SEVERITIES

    text: set[type] = {str}
    return (
        _shaped(edges, {"from": text, "to": text, "kind": text})
        and _shaped(
            findings,
            {"code": text, "path": text, "message": text, "hint": text, "severity": text, "line": {int, type(None)}},
        )
        and {f["severity"] for f in findings} <= set(SEVERITIES)
    )


def _shaped(items: Any, fields: dict[str, set[type]]) -> bool:
    """Whether `items` is a list of dicts whose `fields` hold values of those types: one pass per
    field, each iterated in C (10,000 nodes in ~3 ms where a loop took ~40)."""
    if not isinstance(items, list) or not set(map(type, items)) <= {dict}:
        return False
    return all(set(map(type, map(methodcaller("get", name), items))) <= types for name, types in fields.items())


def fresh_text(root: Path, looked: Probe | None = None) -> tuple[str, dict[str, int]] | None:
    """(the saved index's text, its node and edge counts) when it is provably fresh; else None."""
    looked = probe(Path(root).resolve()) if looked is None else looked
    rows = saved_rows(root, looked)
    counts = rows.get("counts") if rows is not None else None
    if not isinstance(counts, dict) or not all(type(counts.get(k)) is int for k in ("nodes", "edges")):
        return None
    try:
        raw, digest = read_hashed(root, INDEX)
        if raw is None or digest != looked.index_sha256:
            return None
        return raw.decode("utf-8"), counts
    except (OSError, ValueError, RecursionError, atomic.Refused):
        return None


def judge(root: Path, digest: str) -> bool | None:
    """Whether the index whose sha256 is `digest` is `root`'s as it is now: True, False, or None
    when nothing can say (a file changed a moment ago, something the key cannot cover). No index
    is built: the saved key is compared with a walk's (probe() first, which needs no walk)."""
    root = Path(root).resolve()
    looked = probe(root)
    if looked.key is not None:
        return looked.index_sha256 == digest
    walked = freshness(root, looked)
    if walked.key is None:
        return None
    try:
        raw = atomic.read_bytes(root, KEY, limit=1024)
    except (OSError, atomic.Refused):
        return None
    said = _key_file(raw.decode("utf-8", "replace")) if raw is not None else {}
    if said.get("sha256") != digest or not said.get("key"):
        return None  # saved without a key, or not this index's: nothing to compare with
    return _fresh(said, walked.key)


def saved_rows(root: Path, looked: Probe | None = None) -> dict[str, Any] | None:
    """`strataml list`'s rows (query.tables) when the saved index is provably fresh; else None."""

    looked = probe(Path(root).resolve()) if looked is None else looked
    key = looked.key
    if key is None:
        return None
    try:
        raw, digest = read_hashed(root, ROWS)
        tables = json.loads(raw) if raw is not None and digest == looked.rows_sha256 else None
    except (OSError, ValueError, RecursionError, atomic.Refused):
        return None
    if not isinstance(tables, dict) or tables.get("key") != key:
        return None
    return tables if _rows_well_formed(tables) else None


def _rows_well_formed(tables: dict[str, Any]) -> bool:
    """Every row a list prints has the shape query.rows makes (a damaged file is rebuilt)."""
    from strataml.read.query import KIND_OF_LIST

    gates, totals = tables.get("gates"), tables.get("findings")
    if not isinstance(gates, dict) or not all(isinstance(g, list) for g in gates.values()):
        return False
    if not isinstance(totals, dict) or not all(type(totals.get(k)) is int for k in ("errors", "warnings", "infos")):
        return False
    text: set[type] = {str}
    for what in KIND_OF_LIST:
        fields: dict[str, set[type]] = {"id": text, "name": text, "health": text, "tags": {dict}}
        if what in ("runs", "models"):
            fields["metrics"] = {dict}
        if what == "experiments":
            fields["runs"] = {int}
        if not _shaped(tables.get(what), fields):
            return False
    return True


@bulk
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
        found = resolve(root, freshness(root, looked, ahead=True), hold=True)
        if found.rows is not None:
            return found.rows
        return tables(Graph(found.index))
    return tables(Graph(current(root, looked)[0]))


@bulk
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
            raw, digest = read_hashed(root, INDEX)
            index = json.loads(raw) if raw is not None and digest == looked.index_sha256 else None
            if isinstance(index, dict) and _well_formed(index):
                return index, False
        except (OSError, ValueError, RecursionError, atomic.Refused):
            pass  # damaged under us: the walk below rebuilds it
    found = resolve(root, freshness(root, looked, ahead=True))
    return found.index, found.rebuilt


class Resolved:
    """The index for a walk: its text as saved (build.dumps: its sha256 is the index digest),
    whether it was rebuilt, whether its verdict may change with the clock alone, and query.tables
    of it when they were made on the way. `index` is parsed from the text when a rebuild kept
    nodes as their saved lines (a listing never asks for it)."""

    def __init__(
        self, index: dict[str, Any] | None, text: str, rebuilt: bool, volatile: bool, rows: dict[str, Any] | None = None
    ) -> None:
        self._index, self.text, self.rebuilt, self.volatile, self.rows = index, text, rebuilt, volatile, rows

    @property
    def index(self) -> dict[str, Any]:
        if self._index is None:
            self._index = json.loads(self.text)
        return self._index


@bulk
def resolve(root: Path, walked: Walked, writable: bool = True, hold: bool = False) -> Resolved:
    """The index for this walk: the saved one when it is fresh; else built, and saved if
    `writable`. `hold`: the caller only prints what it returns, so a one-shot process holds the
    walk and the previous index to its end (nogc.keep) rather than free them object by object
    (~10 ms on 10k records); a caller with more work to do (a dashboard) lets them go at once."""
    from strataml.read.build import Saved, dumps

    key = walked.key
    if key is not None and writable:  # read-only: nothing in .strataml/ is read either
        try:
            saved = atomic.read_bytes(root, KEY, limit=1024)
            said = _key_file(saved.decode("utf-8")) if saved is not None else {}
            if _fresh(said, key):
                if walked.stream is not None:
                    walked.stream.stop()  # nothing to load: the saved index is the answer
                ahead = walked.ahead if walked.ahead is not None else Ahead(root, threaded=False)
                try:
                    found, digest = ahead.get(INDEX)
                finally:
                    ahead.discard()  # (the rows: the proof below makes them)
                text = found.decode("utf-8") if found is not None else ""
                index = json.loads(text) if digest is not None and said.get("sha256") == digest else None
                if digest is not None and isinstance(index, dict) and _well_formed(index):
                    until = int(said["until"]) if "until" in said else None
                    rows = None
                    try:  # fresh, yet not provably so without a walk (or we would not be here)
                        rows = _written(root, _proof(index, digest, walked, until))
                    except (OSError, atomic.Refused):
                        pass  # a read-only checkout, a refused path: the next reader walks again
                    return Resolved(index, text, False, until is not None, rows)
        except (OSError, ValueError, RecursionError, atomic.Refused):
            pass  # missing, damaged, refused or grown past reason: rebuild

    def finish(index: dict[str, Any], volatile: bool, before: Previous | None) -> Resolved:
        text = dumps(index, before)
        rows = None
        if writable:
            try:
                rows = save(root, index, text, walked, volatile=volatile, previous=before)
            except OSError:
                pass  # a read-only checkout: the index lives for this command only
            # (a symlink in .strataml/ is refused, exit 3, naming it: nothing is written through it)
        plain = not any(type(n) is Saved for n in index["nodes"])
        return Resolved(index if plain else None, text, True, volatile, rows)

    before = previous(root, walked) if writable else None
    if hold:
        keep(walked, before)
    return rebuilt(root, walked, before, finish, use_cache=writable)


def save(
    root: Path,
    index: dict[str, Any],
    text: str,
    walked: Walked | None,
    *,
    volatile: bool = False,
    previous: Previous | None = None,
) -> dict[str, Any] | None:
    """Write the index text, and what proves it fresh for `walked` (none without a walk), to .strataml/.

    A verdict the clock can change (a key that expires, a ledger entry dated ahead) is fresh for
    VOLATILE_SECONDS only, then judged again: readers stay fast on a signed workspace, and no
    reader shows "signed" for longer than that after a key expired (the doctor, the gate, never
    reuses such a verdict at all). `previous`: what `index` was built from (its kept nodes'
    rows are the saved ones)."""
    for rel in (INDEX, KEY, WALK, ROWS):  # all refused before any changes
        atomic.check(root, rel)
    for rel in (WALK, KEY, ROWS):  # never a fresh key beside an old index
        atomic.remove(root, rel)
    raw = text.encode("utf-8")  # encoded once: 100,000 nodes make ~100 MB
    key = walked.key if walked is not None else None
    until = int(time.time()) + VOLATILE_SECONDS if volatile else None

    held = [raw]  # handed over, so that the text is let go once hashed (100 MB at 100k runs)

    def prove() -> tuple[str, tuple[dict[str, Any], bytes, bytes] | None]:
        digest = hashlib.sha256(held.pop()).hexdigest()
        return digest, _proof(index, digest, walked, until, previous) if walked is not None and key else None

    # The index's sha256 and its proof (rows, listing) are made aside while the index is written
    # and fsynced here, which lets go of the GIL. The write stays in this thread: interrupted,
    # it removes its temp file; what is made aside is only thrown away.
    proving = Aside(prove)
    atomic.write_bytes(root, INDEX, raw)
    del raw
    digest, proof = proving.result()
    if key is None:
        return None
    # The index's sha256 ties the key to the very text it was saved with.
    atomic.write_text(root, KEY, key + (f" until={until}" if until else "") + f" sha256={digest}\n")
    return _written(root, proof)


def _proof(
    index: dict[str, Any],
    digest: str,
    walked: Walked,
    until: int | None,
    previous: Previous | None = None,
) -> tuple[dict[str, Any], bytes, bytes] | None:
    """(the rows, index.rows, index.walk): what lets the next reader skip the walk and the index
    (None when nothing can be proven). (Rows are made anew from the index, 10,000 in ~30 ms,
    but for a rebuild's unchanged nodes: their saved rows.)"""
    from strataml.read.build import tables_of

    body = listing_body(walked, until)
    if body is None:
        return None
    counts = {"nodes": len(index["nodes"]), "edges": len(index["edges"])}
    rows = {"key": walked.key, "counts": counts, **tables_of(index, previous)}
    raw_rows = rows_text(rows, previous).encode("utf-8")
    body.update(index_sha256=digest, rows_sha256=hashlib.sha256(raw_rows).hexdigest())
    return rows, raw_rows, encode_listing(body)


def _written(root: Path, proof: tuple[dict[str, Any], bytes, bytes] | None) -> dict[str, Any] | None:
    """A _proof() written, index.rows then index.walk (the index and its key are already saved);
    its rows (None when nothing could be proven)."""
    if proof is None:
        return None
    rows, raw_rows, listing = proof
    atomic.write_bytes(root, ROWS, raw_rows)
    atomic.write_bytes(root, WALK, listing)
    return rows


_ROW = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode


def row_line(row: dict[str, Any]) -> str:
    """A row's line in index.rows as rows_text() writes it (without the comma after it)."""
    return _ROW(row)


def rows_text(rows: dict[str, Any], previous: Previous | None = None) -> str:
    """index.rows: JSON with sorted keys, each row of a list on a line of its own, so that a
    rebuild writes an unchanged row as the line it was read from (`previous`'s rows)."""
    from strataml.read.build import flat_lines
    from strataml.read.query import KIND_OF_LIST

    saved = previous.rows if previous is not None and previous.rows is not None else {}
    lines = previous.row_lines if previous is not None else {}
    # One list of pieces joined once (100k rows make ~26 MB: each join on the way held another copy).
    pieces = ["{"]
    for key in sorted(rows):
        if len(pieces) > 1:
            pieces.append(",")
        value = rows[key]
        if key not in KIND_OF_LIST or not value:
            pieces += (_ROW(key), ":", _ROW(value))
            continue
        pieces += (_ROW(key), ":[\n")
        body = flat_lines(value, "", _ROW) if not lines else None  # nothing to keep: one encoder call
        if body is not None:
            pieces.append(body)
        else:
            for i, row in enumerate(value):
                if i:
                    pieces.append(",\n")
                kept = saved.get(row["id"])
                line = lines.get(row["id"]) if kept is not None and kept[1] is row else None
                pieces.append(line if line is not None else row_line(row))
        pieces.append("\n]")
    pieces.append("}")
    return "".join(pieces)


def _row_lines(text: str, tables: dict[str, Any]) -> dict[str, str]:
    """Row id -> its line in index.rows as rows_text() wrote it (without its comma); {} when
    the text is not laid out so (an older, one-line file: every row is written anew)."""
    from strataml.read.query import KIND_OF_LIST

    lines = text.split("\n")
    out: dict[str, str] = {}
    at = 0
    for what in sorted(KIND_OF_LIST):
        items = tables[what]
        if not items:
            continue
        if not lines[at].endswith(f'"{what}":['):
            return {}
        body = lines[at + 1 : at + 1 + len(items)]
        if (
            len(body) != len(items)
            or at + 1 + len(items) >= len(lines)
            or not lines[at + 1 + len(items)].startswith("]")
        ):
            return {}
        out.update(zip((row["id"] for row in items), (line.removesuffix(",") for line in body)))
        at += 1 + len(items)
    return out


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
    return until is None or (until.isdecimal() and time.time() < int(until))
