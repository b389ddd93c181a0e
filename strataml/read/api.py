"""`strataml serve`: the read side over HTTP (GET and HEAD only), from the same query layer.

Every answer is what the matching command prints with `--format json` (`list`, `show`,
`lineage`), built by the same functions; the page at `/` is the one `strataml dashboard` writes.
The index is kept live by a watcher thread (see Live); while it rebuilds, requests get the
previous index with `X-StrataML-Index: stale`. FastAPI is the `serve` extra, imported only by
strataml.read.server.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from strataml.controls import shown
from strataml.errors import StrataError
from strataml.read.query import KIND_OF_LIST, Graph, UnknownRecord

API = "/api/v1"
CHECK_SECONDS = 1.0
UNKEYED_SECONDS = 60.0  # a workspace the freshness key cannot cover is rebuilt at least this often
MAX_LIMIT, DEFAULT_LIMIT = 1000, 100
MAX_URL = 8192  # longer request targets get 414: nothing here needs more
MAX_FILTERS = 32
JSON_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"


class Snapshot:
    """One index as served: its graph, digest (the ETag) and what requests asked of it before.

    Answers depend only on the index, so each is computed once per snapshot and kept (a bounded
    number of them): list rows per kind, selections per query, lineage bodies, the page."""

    CACHED = 256

    def __init__(
        self,
        index: dict[str, Any],
        text: str,
        key: str | None,
        expires: float = float("inf"),
        commit: str | None = None,
        fingerprint: int = 0,
    ) -> None:
        self.index, self.text, self.key, self.commit = index, text, key, commit
        self.expires = expires  # monotonic time after which the verdict is judged again
        self.fingerprint = fingerprint  # the walk's stat facts, for a workspace the key cannot cover
        self.data = text.encode("utf-8")  # /api/v1/index sends these bytes: encoded once, not per request
        self.digest = hashlib.sha256(self.data).hexdigest()
        self.graph = Graph(index)
        self._cache: dict[Any, Any] = {}
        self._lock = threading.Lock()

    def cached(self, key: Any, make: Any) -> Any:
        found = self._cache.get(key, _MISSING)
        if found is _MISSING:
            found = make()
            with self._lock:
                if len(self._cache) >= self.CACHED:
                    self._cache.pop(next(iter(self._cache)))  # the oldest: insertion order
                self._cache[key] = found
        return found

    def page(self, root: Path) -> str:
        def make() -> str:
            from strataml.read import dashboard

            # Served, the page reaches no repository file: it links none (repo_link None).
            return dashboard.render(dashboard.payload(self.graph, self.commit, None, None))

        return str(self.cached("page", make))


_MISSING = object()


class Live:
    """The index of a workspace as it is now, kept fresh by a watcher thread.

    Knowing whether the repository changed means walking it (stat of every file: ~0.4 s at
    10,000 records), too much for every request: a watcher checks every max(CHECK_SECONDS, 5x
    the last check's time), so checking costs at most a fifth of a core and no request waits
    for it. A rebuild replaces the snapshot when done; until then answers come from the
    previous one, marked stale.
    """

    def __init__(self, root: Path, writable: bool = True) -> None:
        self.root = Path(root).resolve()
        self.writable = writable
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._rebuilding = False
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._failing: str | None = None  # why the last look could not rebuild (answers stay stale)

    def get(self) -> tuple[Snapshot, bool]:
        """(the snapshot to answer from, whether it is stale because a rebuild is under way)."""
        current = self._snapshot
        if current is None:
            with self._lock:  # the first request waits for the first index
                if self._snapshot is None:
                    self._snapshot = self._fresh(None)
                current = self._snapshot
            self._watch()
        return current, self._rebuilding or self._failing is not None

    def check(self) -> None:
        """Look once: rebuild when the repository changed (the watcher's step; tests call it)."""
        with self._lock:
            self._snapshot = self._fresh(self._snapshot)

    def close(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        if self._watcher is not None:
            return
        self._watcher = threading.Thread(target=self._loop, name="strataml-index-watcher", daemon=True)
        self._watcher.start()

    def _loop(self) -> None:
        wait = CHECK_SECONDS
        while not self._stop.wait(wait):
            started = time.monotonic()
            self.look()
            wait = max(CHECK_SECONDS, 5 * (time.monotonic() - started))

    def look(self) -> None:
        """The watcher's step: check(), and a look that fails (a file vanishing mid-walk, a
        federation member renamed to another's name) is retried at the next while answers go on
        from the last snapshot, marked stale, the reason in the server's log once. Swallowed
        silently, a member's lasting error froze the whole view, still said to be fresh."""
        try:
            self.check()
        except Exception as exc:
            # (Shown as a log line may hold it: a member's file name can carry control characters.)
            why = shown(exc.message if isinstance(exc, StrataError) else f"{type(exc).__name__}: {exc}")
            if why != self._failing:
                print(
                    f"strataml serve: the index could not be rebuilt: {why}; answers come from the last one, "
                    "marked stale",
                    file=sys.stderr,
                    flush=True,
                )
            self._failing = why
        else:
            if self._failing is not None:
                print("strataml serve: the index is rebuilt again", file=sys.stderr, flush=True)
            self._failing = None

    def _fresh(self, previous: Snapshot | None) -> Snapshot:
        from strataml import atomic, gitfacts
        from strataml.read import proof, saved

        now = time.monotonic()
        if (
            self.writable
            and previous is not None
            and previous.key is not None
            and now < previous.expires
            and proof.quick(self.root) == previous.key
        ):
            return previous  # proven unchanged without a walk
        walked = proof.freshness(self.root)
        key = walked.key
        fingerprint = hash(tuple(walked.entries.values()))
        if previous is not None and now < previous.expires:
            if key is not None and key == previous.key:
                return previous
            # No key (a symlink, a file changed a moment ago): the same walk is trusted for a
            # while, rather than rebuilding at every look because of one unkeyable file.
            if key is None and previous.key is None and fingerprint == previous.fingerprint:
                return previous
        self._rebuilding = previous is not None
        try:
            try:
                found = saved.resolve(self.root, walked, self.writable)
            except atomic.Refused:
                # .strataml/ (or the cache, the saved index in it) is a symlink or not a file:
                # serve an index built in memory, as for a checkout that cannot be written.
                found = saved.resolve(self.root, walked, writable=False)
            if found.volatile:
                expires = now + saved.VOLATILE_SECONDS
            elif key is None:
                expires = now + UNKEYED_SECONDS
            else:
                expires = float("inf")
            return Snapshot(found.index, found.text, key, expires, gitfacts.head_commit(self.root), fingerprint)
        finally:
            self._rebuilding = False


class FederatedLive(Live):
    """Live, for a federation (read.federate): joined again when a member changed. A member
    folder's key is its saved index's freshness key (a walk when that cannot be proven); an
    index file's, its stat facts, and its workspace's key when it sits in one (a stale saved
    index is shown stale). Nothing is written in any member."""

    def __init__(self, members: list[str]) -> None:
        super().__init__(Path.cwd(), writable=False)
        self.members = members

    def _key(self) -> str | None:
        from strataml.read import federate, proof

        keys: list[Any] = []
        for text in self.members:
            path = Path(federate.split_member(text)[1])
            try:
                st = os.stat(path)
            except OSError:
                keys.append("missing")  # a member that goes (or comes back) is a change like any other
                continue
            top = path.resolve().parent.parent if path.name == "index.json" else None
            root = path.resolve() if path.is_dir() else top if top and (top / "strataml.yaml").exists() else None
            key: Any = [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns] if not path.is_dir() else []
            if root is not None:
                try:
                    said = proof.quick(root)
                    key = [key, said if said is not None else proof.freshness(root).key]
                except (OSError, StrataError):
                    key = None  # unreadable now: joined again, which says why
            keys.append(key)
        return None if None in keys else json.dumps(keys)

    def _fresh(self, previous: Snapshot | None) -> Snapshot:
        from strataml.read import federate
        from strataml.read.build import dumps

        now = time.monotonic()
        key = self._key()
        if previous is not None and key is not None and key == previous.key:
            return previous
        # No key (a member that cannot be keyed just now): the last join stands for a while, unless
        # it was keyed, so something changed since.
        if previous is not None and key is None and previous.key is None and now < previous.expires:
            return previous
        self._rebuilding = previous is not None
        try:
            joined = federate.federate(federate.read_members(self.members))
            expires = float("inf") if key is not None else now + UNKEYED_SECONDS
            return Snapshot(joined, dumps(joined), key, expires)
        finally:
            self._rebuilding = False


def encode_cursor(after: str, signature: str) -> str:
    raw = json.dumps({"after": after, "q": signature}, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, signature: str) -> str:
    """The id the next page starts after; a cursor from another query or a damaged one is refused."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        after = data["after"]
        if data.get("q") != signature or not isinstance(after, str):
            raise ValueError
        after.encode("utf-8")  # a lone surrogate is no id
    except (ValueError, KeyError, TypeError, UnicodeEncodeError):
        raise Problem(
            400, "bad-cursor", "the cursor is not one this query returned", "start again without `cursor`"
        ) from None
    return after


def page_of(rows: list[dict[str, Any]], limit: int, cursor: str | None, signature: str) -> dict[str, Any]:
    """Keyset paging over rows in query order: the cursor names the last row served, so a page
    never repeats or skips a row when records before it come or go."""
    start = 0
    if cursor:
        after = decode_cursor(cursor, signature)
        position = next((i for i, r in enumerate(rows) if r["id"] == after), None)
        if position is None:
            raise Problem(
                410, "cursor-gone", "the record this cursor continues after is gone", "start again without `cursor`"
            )
        start = position + 1
    chunk = rows[start : start + limit]
    more = start + limit < len(rows)
    return {
        "rows": chunk,
        "total": len(rows),
        "next": encode_cursor(chunk[-1]["id"], signature) if more and chunk else None,
    }


class Problem(Exception):
    """An answer that is an error: RFC 9457 problem+json with a finding-style code, message, hint."""

    def __init__(self, status: int, code: str, message: str, hint: str = "", **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.hint, self.extra = status, code, message, hint, extra

    def body(self) -> dict[str, Any]:
        from http import HTTPStatus

        return {
            "type": f"https://strataml.dev/problems/{self.code}",
            "title": HTTPStatus(self.status).phrase,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            **self.extra,
        }


def not_found(exc: StrataError, what: str) -> Problem:
    """A 404 for a ref the query layer did not find; any other refusal (a bad ref) stays a 400."""
    if not isinstance(exc, UnknownRecord):
        return Problem(400, "bad-ref", exc.message, exc.hint or "")
    return Problem(404, f"unknown-{what}", exc.message, exc.hint or "", closest=exc.closest)


def kinds() -> tuple[str, ...]:
    return tuple(KIND_OF_LIST)
