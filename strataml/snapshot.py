"""The snapshot key of a doctor run: when it equals the last run's, so do the findings.

It covers every input the rules read: each walked path with its lstat facts, the config,
git's index and HEAD (tracking and LFS routing), .gitattributes outside the walk, the
options and the tool itself. Runs that cannot be keyed safely get no key: a file changed
within the racy window (by mtime), or a symlink (whose target may change without the link changing).
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from pathlib import Path
from typing import Any

from strataml.cache import RACY_NS, identity
from strataml.gitfacts import repo_top
from strataml.workspace import CONFIG, KEYS_MANIFEST, Entry


def snapshot_key(root: Path, entries: dict[str, Entry], options: Any) -> str | None:
    newest_ok = time.time_ns() - RACY_NS
    h = hashlib.sha256()
    h.update(repr((sorted(identity().items()), options)).encode())
    rows = []
    for e in entries.values():
        if e.mtime_ns > newest_ok or e.kind in ("symlink", "special"):
            return None
        rows.append(f"{e.path}\0{e.kind}\0{e.size}\0{e.mtime_ns}\0{e.inode}\0{e.ctime_ns}\n")
    h.update("".join(rows).encode("utf-8", "surrogateescape"))
    # The trusted keys: a manifest appearing, or a key re-exported with its revocation, changes
    # verdicts (the doctor never reuses a run that verified signatures; the saved index would).
    keys = root / KEYS_MANIFEST
    for folder in (keys.parent.parent, keys.parent):
        # A tfc/keys moved aside and linked back holds the same files (inodes, times), but the
        # doctor no longer trusts them (TFC0007-E010): a symlink on the way gets no key.
        if os.path.islink(folder):
            return None
    extra = [root / CONFIG, root / ".gitattributes", keys]
    if keys.parent.is_dir():
        extra += sorted(p for p in keys.parent.iterdir() if p != keys)
    top = repo_top(root)
    if top is not None:
        git = top / ".git"
        if not git.is_dir():
            return None  # a worktree or submodule: its index lives elsewhere; do not guess
        extra += [git / "index", git / "HEAD", top / ".gitattributes", git / "info" / "attributes"]
        head = git / "HEAD"
        if head.is_file():
            text = head.read_text("utf-8", "replace").strip()
            h.update(text.encode())
            if text.startswith("ref: "):
                extra.append(git / text[5:])
                h.update((git / "packed-refs").read_bytes() if (git / "packed-refs").is_file() else b"")
    for path in extra:
        try:
            st = os.lstat(path)
        except OSError:
            h.update(f"{path}\0-\n".encode())
            continue
        if st.st_mtime_ns > newest_ok or stat.S_ISLNK(st.st_mode):
            return None
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\0{st.st_ctime_ns}\n".encode())
    return h.hexdigest()
