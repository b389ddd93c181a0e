"""The one check of a relative path: does it stay inside the folder it is relative to?

A record's recorded paths (the doctor's TFC0006-E004) and every path the confined writer and
reader in strataml.atomic are handed go through `unsafe`, so what the doctor accepts and what a
command will open are decided by the same lines. Control characters in a name are not this
module's business (strataml.controls finds them, TFC0001-E008), except NUL: no system call can
take it, so a path holding one never names a file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_DRIVE = re.compile(r"^[A-Za-z]:")


def unsafe(path: str, *, portable: bool = True) -> str | None:
    """Why `path` cannot be trusted to name a file inside its folder, or None.

    `portable` also refuses what only another system reads as a way out (a backslash, a drive
    letter): a recorded path must stay inside its folder on every checkout, while a path this
    machine opens needs only the POSIX rules.
    """
    if portable and "\\" in path:
        return "uses a backslash"
    if path.startswith("/") or (portable and _DRIVE.match(path)):
        return "is absolute"
    if "\x00" in path:
        return "contains a NUL byte"
    parts = path.split("/")
    if ".." in parts:
        return "climbs out with '..'"
    if "" in parts or "." in parts:
        return "has an empty or '.' segment"
    return None


# Files git reads in any folder (attributes, ignores, submodules, LFS settings, identities): a
# record that held one would change how its own files, and so every clone's copy of them, are
# checked out. Compared folded (refs.fold): on macOS and Windows `.GitAttributes` is that file.
GIT_CONTROL = frozenset({".gitattributes", ".gitignore", ".gitmodules", ".lfsconfig", ".git", ".mailmap"})


def git_reads(path: str) -> str | None:
    """The part of the `/`-separated `path` named as git's own files are, if any."""
    from strataml.refs import fold  # (the one folding names collide under)

    return next((part for part in path.split("/") if fold(part) in GIT_CONTROL), None)


def inside(path: str | Path, root: Path) -> str | None:
    """`path` (absolute, or from the current folder) relative to the folder `root` if it lies
    there, by its name or by where its folder really is (an absolute path through a symlinked
    folder); None when it lies elsewhere. Its last part is never followed. The one placement of
    a path the user typed: a ref given as a path, a file to sign, a spec to run, an output."""
    path = os.path.abspath(path)
    top = os.path.realpath(root)
    real = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
    for base, candidate in ((str(root), path), (top, path), (top, real)):
        if candidate.startswith(base.rstrip(os.sep) + os.sep):
            return os.path.relpath(candidate, base)
    return None
