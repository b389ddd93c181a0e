"""A stat-keyed cache (.strataml/cache/, stdlib sqlite3) so a warm doctor re-reads nothing unchanged.

A file's key is (size, mtime_ns, inode, ctime_ns): editing content and restoring size and mtime
with `os.utime` still changes ctime, and replacing the file changes the inode. Entries younger
than two seconds are not stored (the "racy" window git also guards against). The cache is
advisory: a corrupt, foreign or locked cache is discarded or skipped, never fatal, and a value
damaged on disk is a miss (its checksum). What it holds is believed for a file whose stat key it
holds, so it answers only for the checkout it was made in (a cache committed to the repository
cannot know a clone's inodes and change times, and one whose SQLite schema holds more than its
four tables, such as a trigger that would rewrite what a run stores for the next to believe,
is discarded unread); someone who can write .strataml/ in a checkout can also write the
checkout itself, and is not what it guards against.
"""

from __future__ import annotations

import json
import marshal
import os
import sqlite3
import sys
import time
import zlib
from collections.abc import Callable
from operator import attrgetter
from pathlib import Path
from typing import Any

from strataml import atomic
from strataml.identity import RACY_NS, identity
from strataml.loading import Loaded, LoadProblem

FOLDER = ".strataml/cache"
DB = "strataml.sqlite"
# SQLite opens these by path, following symlinks (Python cannot pass SQLITE_OPEN_NOFOLLOW), so
# the folder chain and every one of them is checked before each connect.
SIDECARS = ("", "-journal", "-wal", "-shm")
BULK_AFTER = 256
# Loads and schema verdicts are stored as marshal, 4-5x quicker both ways than JSON (a first
# fill of 10k records: 0.1 s of one core). marshal is only read back by the Python that wrote
# it (its format may change between versions): the cache says which, and another's is discarded.
# Each value carries the CRC-32 of its marshal: marshal trusts the sizes it reads (a damaged
# length makes it allocate gigabytes before it fails), so a damaged value is never decoded.
RECORDS = f"marshal {marshal.version} crc32, python {sys.version_info[0]}.{sys.version_info[1]}"
Key = tuple[int, int, int, int]
Issue = tuple[tuple[Any, ...], str, str]  # a schema violation: where in the document, what, and advice on it
# A process where a Cache ever opened an SQLite connection may not let a forked copy of itself
# open one: SQLite keeps per-process state about the files it has open (their locks) that a fork
# copies. (The MLflow importer opens its own database, never in a process that indexes.)
_connected = False


_OF_STAT = attrgetter("st_size", "st_mtime_ns", "st_ino", "st_ctime_ns")
_OF_ENTRY = attrgetter("size", "mtime_ns", "inode", "ctime_ns")


def stat_key(st: Any) -> Key:
    """The cache key of a stat result or a workspace Entry."""
    # (Asked once per record and per file of a run: a getattr that fails, as an Entry has no
    # st_size, raised and caught an exception each time.)
    return _OF_STAT(st) if type(st) is os.stat_result else _OF_ENTRY(st)


class Cache:
    DB_PATH = f"{FOLDER}/{DB}"  # relative to the workspace

    def __init__(self, root: Path, *, enabled: bool = True) -> None:
        self.root = Path(root)
        self.path = self.root / self.DB_PATH
        self.enabled = enabled
        self._db: sqlite3.Connection | None = None  # open for lookups while the cache is valid
        self._new_hashes: dict[str, tuple[Key, str]] = {}
        # A load put in this run stays a Loaded until written (its encoding is the writer's work:
        # read.lend hands it to a forked copy that holds the very same loads).
        self._new_records: dict[str, tuple[Key, Loaded | bytes, bytes | None]] = {}
        # Asked by save() first: True when another process writes what this one learned (read.lend).
        self.handoff: Callable[[], bool] | None = None
        self._report: tuple[str, str] | None = None
        self._new_report: tuple[str, str] | None = None
        self._asked: dict[str, int] = {}
        self._bulk: dict[str, dict[str, tuple[Any, ...]]] = {}
        self.discarded: str | None = None  # why an existing cache was thrown away
        if enabled:
            self._read()

    # -- lookups -------------------------------------------------------------------------

    def sha256(self, rel: str, key: Key) -> str | None:
        new = self._new_hashes.get(rel)  # learnt earlier in this run (a --since run may check twice)
        if new is not None and new[0] == key:
            return new[1]
        row = self._row("files", "size, mtime_ns, inode, ctime_ns, sha256", rel)
        return row[4] if row and tuple(row[:4]) == key else None

    def put_sha256(self, rel: str, key: Key, sha: str) -> None:
        if self.enabled and not _racy(key):
            self._new_hashes[rel] = (key, sha)

    def loaded(self, rel: str, key: Key, source: Path | str) -> Loaded | None:
        """A cached load of `rel`; its line numbers are re-read from `source` only when asked for.
        None when it is not cached, or its row is not what put_loaded() writes (a damaged cache
        is a miss, never an error). A load put in this run shares its data (no code edits a
        load in place)."""
        blob = self._loaded_blob(rel, key)
        if isinstance(blob, Loaded):  # put in this run
            return Loaded(blob.data, blob.problems, {}, source)
        doc = _unmarshal(blob) if blob is not None else None
        if type(doc) is not tuple or len(doc) != 2 or type(doc[1]) is not tuple:
            return None
        data, problems = doc
        if not all(type(p) is tuple and len(p) == 4 for p in problems):
            return None
        return Loaded(data, tuple(LoadProblem(*p) for p in problems), {}, source)

    def knows(self, rel: str, key: Key) -> bool:
        """Whether loaded() has `rel` at `key` (asked without decoding it)."""
        return self._loaded_blob(rel, key) is not None

    def _loaded_blob(self, rel: str, key: Key) -> Loaded | bytes | None:
        hit = self._new_records.get(rel) or self._record(rel)
        if not hit or hit[0] != key or not hit[1]:
            return None
        return hit[1] if type(hit[1]) is bytes or type(hit[1]) is Loaded else None

    def put_loaded(self, rel: str, key: Key, loaded: Loaded, valid: bool = False) -> None:
        """Remember `loaded`; `valid`: its document is known to pass its schema (strataml.preload's
        compiled check passed this very document), which is then its remembered verdict too."""
        if self.enabled and not _racy(key):
            self._new_records[rel] = (key, loaded, _NO_ISSUES if valid else None)

    def schema_issues(self, rel: str, key: Key) -> list[Issue] | None:
        hit = self._new_records.get(rel) or self._record(rel)
        if not hit or hit[0] != key or type(hit[2]) is not bytes:
            return None
        if hit[2] == _NO_ISSUES:  # (most records: nothing to decode)
            return []
        issues = _unmarshal(hit[2])
        if type(issues) is not tuple or not all(
            type(i) is tuple and len(i) == 3 and type(i[0]) is tuple and type(i[1]) is str and type(i[2]) is str
            for i in issues
        ):
            return None
        return list(issues)

    def put_schema_issues(self, rel: str, key: Key, issues: list[Issue]) -> None:
        if not self.enabled or _racy(key):
            return
        current = self._new_records.get(rel) or self._record(rel)
        loaded = current[1] if current and current[0] == key else b""  # empty: the document itself is not cached
        verdict = _sealed(marshal.dumps(tuple(issues))) if issues else _NO_ISSUES
        self._new_records[rel] = (key, loaded, verdict)

    def report(self, key: str) -> tuple[list[Any], dict[str, int]] | None:
        """The raw findings and stats of the last run, if it had exactly this snapshot key."""
        if not self.enabled or self._report is None or self._report[0] != key:
            return None
        from strataml.doctor.finding import Finding

        doc = json.loads(self._report[1])
        return [Finding.from_dict(f) for f in doc["findings"]], doc["stats"]

    def put_report(self, key: str, findings: list[Any], stats: dict[str, int]) -> None:
        if self.enabled:
            doc = {"findings": [f.__dict__ for f in findings], "stats": stats}
            self._new_report = (key, json.dumps(doc, separators=(",", ":")))

    # -- storage -------------------------------------------------------------------------

    def _confined(self) -> None:
        """Refuse (UnsafePath) a cache reached through a symlink, or whose files are symlinks."""
        try:
            for suffix in SIDECARS:
                atomic.check(self.root, f"{FOLDER}/{DB}{suffix}")
        except atomic.UnsafePath as exc:
            hint = (
                f"{exc.hint}; StrataML keeps its cache and index in .strataml/ "
                "(`strataml doctor --no-cache` checks without them; list, show and lineage need them); a "
                "commit that tracks it is TFC0001-W006: `git rm -r --cached .strataml` takes it out"
            )
            raise atomic.UnsafePath(exc.message, hint, exc.where, exc.what) from None

    def _connect(self, wal: bool = True) -> sqlite3.Connection:
        global _connected
        _connected = True
        db = sqlite3.connect(self.path, timeout=5, isolation_level=None)
        try:
            db.execute("PRAGMA trusted_schema=OFF")  # (no function of this process runs from the file's schema)
            if wal:
                db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            db.close()
            raise
        return db

    def _read(self) -> None:
        """Check the cache is ours and read the last run's report; rows are looked up one by one later."""
        self._confined()
        if not self.path.exists():
            return
        try:
            db = self._connect()
            schema = db.execute(_SCHEMA).fetchall()
            if not schema:
                # Another doctor's first fill: it made the file when it connected, and makes the
                # tables when it commits. Thrown away as foreign, the file it was writing was
                # deleted under it (six doctors at once left no cache). A miss, not a foreign cache.
                db.close()
                return
            if schema != _expected_schema():
                db.close()
                raise sqlite3.DatabaseError("its schema is not the one strataml makes (a trigger, view or table added)")
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            if meta != _meta():
                db.close()
                raise sqlite3.DatabaseError(
                    f"written by another strataml or format ({meta.get('tool')}/{meta.get('format')})"
                )
            row = db.execute("SELECT key, value FROM report").fetchone()
            self._report = (row[0], row[1]) if row else None
            self._db = db
        except (sqlite3.Error, ValueError, TypeError) as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                # Another doctor's first fill holds it (turning it WAL waits for that): a miss
                # for this run. Discarded, the file it was writing was deleted under it.
                self.close()
                return
            self._discard(str(exc))

    def _row(self, table: str, columns: str, rel: str) -> tuple[Any, ...] | None:
        """One row by path. A run that asks for many (a full check) gets the table in one query
        after BULK_AFTER single lookups; a --since run asks for a few and reads only those."""
        if self._db is None:
            return None
        try:
            rows = self._bulk.get(table)
            if rows is not None:
                return rows.get(rel)
            self._asked[table] = self._asked.get(table, 0) + 1
            if self._asked[table] > BULK_AFTER:
                rows = {r[0]: r[1:] for r in self._db.execute(f"SELECT path, {columns} FROM {table}")}
                self._bulk[table] = rows
                return rows.get(rel)
            if not _storable(rel):
                return None
            row = self._db.execute(f"SELECT {columns} FROM {table} WHERE path = ?", (rel,)).fetchone()
            return tuple(row) if row else None
        except sqlite3.Error as exc:
            self._discard(str(exc))
            return None

    def _record(self, rel: str) -> tuple[Key, bytes, bytes | None] | None:
        row = self._row("records", "size, mtime_ns, inode, ctime_ns, loaded, schema", rel)
        return ((row[0], row[1], row[2], row[3]), row[4], row[5]) if row else None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        self._bulk.clear()

    def _discard(self, why: str) -> None:
        self.discarded = why
        self.close()
        self._report = None
        for suffix in SIDECARS:
            try:
                atomic.remove(self.root, f"{FOLDER}/{DB}{suffix}")
            except OSError:
                pass

    # -- another process writes (read.lend) --------------------------------------------

    def forkable(self) -> bool:
        """Whether a forked copy of this process may write this cache: it is on, and no SQLite
        connection was ever opened here (see _connected)."""
        return self.enabled and not _connected

    def held(self) -> dict[str, tuple[Any, ...]]:
        """The records put and not yet written, (key, load, ...) each: what a copy forked now
        holds. A shallow copy: made right after a fork, a new tuple per record touched (and so
        copied) pages of the loads themselves: 14-15 ms on 10k runs, this 1.5-1.7."""
        return dict(self._new_records)

    def unsaved(self, held: dict[str, tuple[Any, ...]]) -> bytes:
        """What save() would write, as marshal, for a forked copy that holds `held` (held() when
        it forked): the loads it holds as they are now are named, not encoded."""
        records = []
        for rel, (key, value, verdict) in self._new_records.items():
            kept = held.get(rel)
            same = kept is not None and kept[1] is value and type(value) is Loaded and kept[0] == key
            records.append((rel, key, None if same else _stored(value), verdict))
        return marshal.dumps((records, self._new_hashes, self._new_report))

    def adopt(self, blob: bytes, held: dict[str, tuple[Any, ...]]) -> bool:
        """Take unsaved() as what save() writes, the loads it names from `held`; False (nothing
        taken) when it names one `held` does not have at that key."""
        records, hashes, report = marshal.loads(blob)
        new = {}
        for rel, key, value, verdict in records:
            if value is None:
                kept = held.get(rel)
                if kept is None or kept[0] != key or type(kept[1]) is not Loaded:
                    return False
                value = kept[1]
            new[rel] = (key, value, verdict)
        self._new_records, self._new_hashes, self._new_report = new, hashes, report
        return True

    def forget(self) -> None:
        """Let go of what this run learned and did not write (another process writes it)."""
        self._new_hashes, self._new_records, self._new_report = {}, {}, None

    def save(self) -> None:
        """Write what this run learned in one transaction; give up quietly if that fails. The
        folder is made and checked here, then `handoff` (if any) is asked to have another
        process write the rest; what it does not take is written here."""
        self.close()
        if not self.enabled or not (self._new_hashes or self._new_records or self._new_report):
            return
        try:
            with atomic.folder(self.root, FOLDER):
                pass  # made (0o777, umask applied) one folder at a time, never through a symlink
            self._confined()
            handoff, self.handoff = self.handoff, None
            if handoff is not None and handoff():
                return
            # A first fill goes through a rollback journal, which a new file's pages do not need,
            # then turns WAL: in WAL its 10k records were written twice (the log, then the
            # checkpoint at commit), 0.08-0.20 s against 0.05-0.08 s.
            new = not self.path.exists()
            db = self._connect(wal=not new)
            try:
                db.execute("BEGIN IMMEDIATE")
                for statement in TABLES:  # (another doctor may have made the file first: IF NOT EXISTS)
                    db.execute(statement.replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", 1))
                if not _ours(db):  # (replaced since it was read: what it would run on insert is unknown)
                    db.execute("ROLLBACK")
                    raise sqlite3.DatabaseError("its schema is not the one strataml makes")
                db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", sorted(_meta().items()))
                if self._new_report:
                    db.execute("DELETE FROM report")
                    db.execute("INSERT INTO report VALUES (?, ?)", self._new_report)
                # Rows made as they are written: a load is encoded here, and let go once written
                # (100k runs: ~60 MB of encoded loads never held at once).
                db.executemany(
                    "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)",
                    ((p, *k, sha) for p, (k, sha) in self._new_hashes.items() if _storable(p)),
                )
                db.executemany(
                    "INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?, ?)",
                    ((p, *k, _stored(v), issues) for p, (k, v, issues) in self._new_records.items() if _storable(p)),
                )
                db.execute("COMMIT")
                if new:
                    db.execute("PRAGMA journal_mode=WAL")
            finally:
                db.close()
        except sqlite3.DatabaseError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                self._discard(str(exc))
        except OSError:
            pass  # a read-only checkout: run without a cache
        self._new_hashes.clear()
        self._new_records.clear()
        self._new_report = None


# The cache's tables, as save() makes them. A file holding anything else (a trigger, a view,
# another table or index) was not made by strataml and is discarded unread: a trigger committed
# with a cache would rewrite the hashes a run stores, and later runs in the same checkout (the
# steps of one CI job) would believe them.
TABLES = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)",
    "CREATE TABLE files (path TEXT PRIMARY KEY, size INT, mtime_ns INT, inode INT, ctime_ns INT, sha256 TEXT)",
    "CREATE TABLE records (path TEXT PRIMARY KEY, size INT, mtime_ns INT, inode INT, ctime_ns INT, loaded BLOB, "
    "schema BLOB)",
    "CREATE TABLE report (key TEXT, value TEXT)",
)
_SCHEMA = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
_expected: list[tuple[Any, ...]] = []


def _ours(db: sqlite3.Connection) -> bool:
    """Whether the database's schema is exactly TABLES (and their primary keys' indexes)."""
    return db.execute(_SCHEMA).fetchall() == _expected_schema()


def _expected_schema() -> list[tuple[Any, ...]]:
    if not _expected:
        made = sqlite3.connect(":memory:")
        try:
            for statement in TABLES:
                made.execute(statement)
            _expected.extend(made.execute(_SCHEMA).fetchall())
        finally:
            made.close()
    return _expected


def _meta() -> dict[str, str]:
    """What the cache's meta table holds: this tool's identity, and how records are stored."""
    return {**identity(), "records": RECORDS}


def _stored(value: Loaded | bytes) -> bytes:
    """A records row's `loaded` value: a load encoded as loaded() decodes it (b"": not cached)."""
    if type(value) is not Loaded:
        return value  # type: ignore[return-value]
    problems = tuple((p.code, p.message, p.hint, p.line) for p in value.problems) if value.problems else ()
    return _sealed(marshal.dumps((value.data, problems)))


def _sealed(payload: bytes) -> bytes:
    return zlib.crc32(payload).to_bytes(4, "little") + payload


_NO_ISSUES = _sealed(marshal.dumps(()))


def _unmarshal(blob: bytes) -> Any:
    """A _sealed() value decoded; None when it is not one (damaged, or not written by this format)."""
    payload = blob[4:]
    if len(blob) < 5 or zlib.crc32(payload) != int.from_bytes(blob[:4], "little"):
        return None
    try:
        return marshal.loads(payload)
    except (EOFError, ValueError, TypeError, MemoryError, OverflowError, RecursionError):
        return None


def _storable(path: str) -> bool:
    """SQLite holds UTF-8 text: a name that is not UTF-8 on disk (read as surrogate escapes) is
    never cached, and checked anew each run."""
    return path.isascii() or not any("\udc80" <= c <= "\udcff" for c in path)


def _racy(key: Key) -> bool:
    return key[1] > time.time_ns() - RACY_NS
