"""The saved index (.strataml/index.json): rebuilt when the repository changed since it was built.

Freshness is the doctor's snapshot key (every walked file's stat, config, key manifest, git's
index and HEAD, the tool and schema versions), kept beside the index so index.json itself stays
byte-identical for the same repository state.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strataml import atomic

INDEX = ".strataml/index.json"
KEY = ".strataml/index.key"
# The saved index is read whole; one bigger than this (far past 100,000 records) is rebuilt, never held.
MAX_INDEX_BYTES = 512 * 1024 * 1024
VOLATILE_SECONDS = 60


def make(root: Path, generated_at: str | None = None, entries: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the index now: one walk (or the caller's), records through the cache, the doctor's findings attached."""
    return made(root, generated_at, entries)[0]


def made(
    root: Path, generated_at: str | None = None, entries: dict[str, Any] | None = None, use_cache: bool = True
) -> tuple[dict[str, Any], bool]:
    """(the index, whether its verdicts may change while the files do not: then it is never saved as fresh)."""
    from strataml.cache import Cache
    from strataml.doctor import engine
    from strataml.read.build import build
    from strataml.workspace import Workspace, load, walk

    root = Path(root).resolve()
    entries = walk(root) if entries is None else entries
    # The doctor reuses its last report when nothing changed; records come from the cache.
    report = engine.doctor(root, use_cache=use_cache, entries=entries)
    workspace = (
        report.workspace
        if isinstance(report.workspace, Workspace)
        else load(root, Cache(root, enabled=use_cache), entries)
    )
    return build(workspace, report, generated_at), report.volatile


def freshness(root: Path) -> tuple[dict[str, Any], str | None]:
    """(the walk, the key the saved index must carry to be fresh; None when a file is too new to tell)."""
    from strataml.snapshot import snapshot_key
    from strataml.workspace import walk

    entries = walk(root)
    return entries, snapshot_key(root, entries, "index")


def current(root: Path) -> tuple[dict[str, Any], bool]:
    """(the index for the repository as it is now, whether it had to be rebuilt).

    Readers call this: a stale or missing index is rebuilt and saved without anyone running
    `strataml index`. A workspace that cannot be written to still gets a fresh index in memory.
    """
    root = Path(root).resolve()
    entries, key = freshness(root)
    found = resolve(root, entries, key)
    return found.index, found.rebuilt


@dataclass(frozen=True)
class Resolved:
    index: dict[str, Any]
    text: str  # the index as saved (build.dumps): its sha256 is the index digest
    rebuilt: bool
    volatile: bool  # its verdict may change with the clock alone


def resolve(root: Path, entries: dict[str, Any], key: str | None, writable: bool = True) -> Resolved:
    """The index for this walk and key: the saved one when it is fresh; else built, and saved
    if `writable`."""
    from strataml.read.build import dumps

    if key is not None and writable:  # read-only: nothing in .strataml/ is read either
        try:
            saved = atomic.read_bytes(root, KEY, limit=1024)
            if saved is not None and _fresh(saved.decode("utf-8"), key):
                text = (atomic.read_bytes(root, INDEX, limit=MAX_INDEX_BYTES) or b"").decode("utf-8")
                index = json.loads(text)
                if isinstance(index, dict) and isinstance(index.get("nodes"), list):
                    return Resolved(index, text, False, " until=" in saved.decode("utf-8"))
        except (OSError, ValueError, atomic.TooLarge):
            pass  # missing, damaged or grown past reason: rebuild
    index, volatile = made(root, entries=entries, use_cache=writable)
    text = dumps(index)
    if writable:
        try:
            save(root, text, key, volatile=volatile)
        except OSError:
            pass  # a read-only checkout: the index lives for this command only
    return Resolved(index, text, True, volatile)


def save(root: Path, text: str, key: str | None, *, volatile: bool = False) -> None:
    """Write the index text (and the key it is fresh for) to .strataml/.

    A verdict the clock can change (a key that expires, a ledger entry dated ahead) is fresh for
    VOLATILE_SECONDS only, then judged again: readers stay fast on a signed workspace, and no
    reader shows "signed" for longer than that after a key expired (the doctor, the gate, never
    reuses such a verdict at all)."""
    for rel in (INDEX, KEY):  # both refused before either changes
        atomic.check(root, rel)
    atomic.remove(root, KEY)  # never a fresh key beside an old index
    atomic.write_text(root, INDEX, text)
    if key is not None:
        until = f" until={int(time.time()) + VOLATILE_SECONDS}" if volatile else ""
        atomic.write_text(root, KEY, key + until + "\n")


def _fresh(saved: str, key: str) -> bool:
    found, _, until = saved.strip().partition(" until=")
    if found != key:
        return False
    if not until:
        return True
    try:
        return time.time() < int(until)
    except ValueError:
        return False
