"""`strataml serve`: the read side over HTTP (GET and HEAD only), from the same query layer.

Every answer is what the matching command prints with `--format json` (`list`, `show`,
`lineage`), built by the same functions; the page at `/` is the one `strataml dashboard` writes.
The index is kept live: a request checks the repository's freshness key (at most once per
CHECK_SECONDS, since computing it walks the workspace) and the first request to see a change
rebuilds; one rebuild at a time, and meanwhile other requests get the previous index with
`X-StrataML-Index: stale`. FastAPI is the `serve` extra, imported only here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strataml.errors import StrataError
from strataml.read.query import KIND_OF_LIST, Graph

API = "/api/v1"
CHECK_SECONDS = 1.0
MAX_LIMIT, DEFAULT_LIMIT = 1000, 100
MAX_URL = 8192  # longer request targets get 414: nothing here needs more
MAX_FILTERS = 32
JSON_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"


@dataclass
class Snapshot:
    """One index as served: the graph over it, its digest (the ETag) and the page, made on demand."""

    index: dict[str, Any]
    key: str | None
    expires: float = float("inf")  # monotonic time after which a clock-dependent verdict is judged again
    digest: str = ""
    graph: Graph = field(init=False)
    _page: str | None = None
    _text: str | None = None

    def __post_init__(self) -> None:
        from strataml.read.build import dumps

        self.graph = Graph(self.index)
        self._text = dumps(self.index)
        self.digest = hashlib.sha256(self._text.encode("utf-8")).hexdigest()

    @property
    def text(self) -> str:
        return self._text or ""

    def page(self, root: Path) -> str:
        if self._page is None:
            from strataml import gitfacts
            from strataml.read import dashboard

            # Served, the page reaches no repository file: it links none (repo_link None).
            self._page = dashboard.render(dashboard.payload(self.graph, gitfacts.head_commit(root), None, None))
        return self._page


class Live:
    """The index of a workspace as it is now, rebuilt when the repository changes."""

    def __init__(self, root: Path, writable: bool = True) -> None:
        self.root = Path(root).resolve()
        self.writable = writable
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._checked = 0.0
        self._rebuilding = False

    def get(self) -> tuple[Snapshot, bool]:
        """(the snapshot to answer from, whether it is stale because a rebuild is under way)."""
        current = self._snapshot
        if current is not None and time.monotonic() - self._checked < CHECK_SECONDS:
            return current, False
        # One check or rebuild at a time; meanwhile the others answer from the index they have,
        # marked stale only while a rebuild (not a mere check) is under way.
        if not self._lock.acquire(blocking=current is None):
            assert current is not None
            return current, self._rebuilding
        try:
            if self._snapshot is not None and self._snapshot is not current:
                return self._snapshot, False  # rebuilt by the request we waited for
            self._snapshot = self._fresh(self._snapshot)
            self._checked = time.monotonic()
            return self._snapshot, False
        finally:
            self._lock.release()

    def _fresh(self, previous: Snapshot | None) -> Snapshot:
        from strataml.read import saved

        entries, key = saved.freshness(self.root)
        if previous is not None and key is not None and key == previous.key and time.monotonic() < previous.expires:
            return previous
        self._rebuilding = previous is not None
        try:
            index, _rebuilt, volatile = saved.resolve(self.root, entries, key, self.writable)
            expires = time.monotonic() + saved.VOLATILE_SECONDS if volatile else float("inf")
            return Snapshot(index, key, expires)
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
    except (ValueError, KeyError, TypeError):
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
            raise Problem(410, "cursor-gone", f"{after} is no longer in this workspace", "start again without `cursor`")
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
    close: list[str] = []
    if exc.hint and exc.hint.startswith("did you mean "):
        close = [c.strip() for c in exc.hint.removeprefix("did you mean ").rstrip("?").split(",") if c.strip()]
    return Problem(404, f"unknown-{what}", exc.message, exc.hint or "", closest=close)


def kinds() -> tuple[str, ...]:
    return tuple(KIND_OF_LIST)
