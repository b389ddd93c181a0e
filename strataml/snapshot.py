"""The snapshot key of a doctor run: when it equals the last run's, so do the findings.

It covers every input the rules read: each walked path with its lstat facts (a folder's taken
before it was listed, so an entry added or removed since changes its row), the config,
git's index and HEAD (tracking and LFS routing), .gitattributes outside the walk, the
options and the tool itself. Runs that cannot be keyed safely get no key: a file changed
within the racy window (by mtime), or a symlink (whose target may change without the link changing).
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from array import array
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from strataml import atomic
from strataml.identity import RACY_NS, identity

# The tree and its repository's place, from the light modules: a fresh reader keys nothing else.
from strataml.rootdir import ATTRIBUTES, CONFIG, KEYS_DIR, repo_top

if TYPE_CHECKING:
    from strataml.workspace import Entry


def snapshot_key(root: Path, entries: dict[str, Entry], options: Any) -> str | None:
    return keyed(context_key(root, options), entries)


def keyed(context: str | None, entries: dict[str, Entry]) -> str | None:
    """The key of a walk (folders' own lstat included) under a context_key()."""
    if context is None:
        return None
    columns = columns_of(entries)
    if columns is None:
        return None
    return hashlib.sha256(f"{context}\0{columns.digest}".encode()).hexdigest()


class Columns(NamedTuple):
    """A walk as columns, in its order, and their digest."""

    paths: tuple[str, ...]
    kinds: tuple[str, ...]
    facts: array[int] | None  # (size, mtime, inode, ctime) per path as int64; None: one does not fit
    digest: str


# The last walk seen: a reader keys one walk twice (its index's context, then the doctor's) and
# lists it for index.walk. Walks are never changed once made, and the dict is held, so its
# identity cannot be reused by another.
_last: tuple[dict[str, Entry], int, Columns] | None = None


def columns_of(entries: dict[str, Entry]) -> Columns | None:
    """The walk's columns; None when it cannot be keyed (a file changed within the racy window,
    a symlink). Each column is made by one pass in C (40,000 entries in ~20 ms; a loop of
    formatted rows took ~40)."""
    global _last
    if _last is not None and _last[0] is entries and _last[1] == len(entries):
        return _last[2]
    values = entries.values()
    kinds = tuple(map(itemgetter(1), values))
    if "symlink" in kinds or "special" in kinds:
        return None
    if entries and max(map(itemgetter(3), values)) > time.time_ns() - RACY_NS:
        return None  # (not remembered: a later look may find the file old enough)
    paths = tuple(entries)
    h = hashlib.sha256("\0".join(paths).encode("utf-8", "surrogateescape"))
    h.update(b"\1" + "\0".join(kinds).encode() + b"\1")
    facts: array[int] | None
    try:
        facts = array("q", chain.from_iterable(map(itemgetter(2, 3, 4, 5), values)))
        h.update(facts.tobytes())
    except OverflowError:  # a number past int64 (an inode on some file systems): as text
        facts = None
        h.update(b"\2" + ",".join(map(str, chain.from_iterable(map(itemgetter(2, 3, 4, 5), values)))).encode())
    columns = Columns(paths, kinds, facts, h.hexdigest())
    _last = (entries, len(entries), columns)
    return columns


# git's environment that changes which repository, index, objects or config it reads.
GIT_ENVIRONMENT = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    "GIT_NAMESPACE",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
)  # (GIT_CONFIG_GLOBAL, _SYSTEM, _NOSYSTEM, HOME, XDG_CONFIG_HOME: the files they name are keyed)


def context_key(root: Path, options: Any) -> str | None:
    """The part of the key outside the walk: the tool, the options, the trusted keys, the config,
    git's index and HEAD, .gitattributes, names folded onto the layout's. Cheap (a dozen lstat
    calls, three small folder listings): a reader that proves the
    walked tree unchanged another way still checks this whole."""
    newest_ok = time.time_ns() - RACY_NS
    h = hashlib.sha256()
    h.update(repr((sorted(identity().items()), options)).encode())
    # The trusted keys: a manifest appearing, or a key re-exported with its revocation, changes
    # verdicts (the doctor never reuses a run that verified signatures; the saved index would).
    keys = _keys_rows(root, newest_ok)
    if keys is None:
        return None
    h.update(keys.encode("utf-8", "surrogateescape"))
    # Names folded onto the layout's (TFC0001-E011) are outside the walk: `Models/` appearing
    # must not reuse the verdict made without it.
    from strataml.layoutnames import folded_onto_layout

    h.update(repr(folded_onto_layout(root)).encode("utf-8", "surrogateescape"))
    extra = [root / CONFIG, root / ".gitattributes"]
    top = repo_top(root)
    # What git is told by its environment (another index, work tree, repository: a hook's or a
    # stray one) is part of what it answers: a verdict made under one is not reused under another.
    told = []
    for name in GIT_ENVIRONMENT:
        value = os.environ.get(name)
        if value is None:
            continue
        if name in ("GIT_DIR", "GIT_WORK_TREE"):
            from strataml.gitfacts import repository

            repository(root)  # (a stray one is an error, cached verdict or not)
        if name == "GIT_INDEX_FILE" and top is not None:
            index = Path(top, value)  # (git reads a relative one from the work tree's top)
            if os.path.realpath(index) == os.path.realpath(top / ".git" / "index"):
                continue  # (a hook's own: the index keyed below)
            extra.append(index)
        told.append(f"{name}={value}")
    if "GIT_CONFIG_COUNT" in os.environ:  # (the settings themselves)
        told += sorted(
            f"{k}={v}" for k, v in os.environ.items() if k.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"))
        )
    h.update(repr(told).encode("utf-8", "surrogateescape"))
    followed: list[Path] = []
    if top is not None:
        git = top / ".git"
        if not git.is_dir():
            return None  # a worktree or submodule: its index lives elsewhere; do not guess
        extra += [git / "index", git / "HEAD", top / ATTRIBUTES, git / "info" / "attributes"]
        # Attributes in the folders between the top and the workspace route its files too
        # (TFC0006-W013, E013), as do git's config and the attributes file it names.
        try:
            between = root.relative_to(top).parts
        except ValueError:
            between = ()
        extra += [top.joinpath(*between[:depth], ATTRIBUTES) for depth in range(1, len(between))]
        followed = _git_config_files(git / "config", top)
        head = git / "HEAD"
        if head.is_file():
            text = head.read_text("utf-8", "replace").strip()
            h.update(text.encode())
            if text.startswith("ref: "):
                extra.append(git / text[5:])
                h.update((git / "packed-refs").read_bytes() if (git / "packed-refs").is_file() else b"")
    now = time.time_ns()
    # The repository's own files by lstat (a link there gives no key); git's config files followed
    # (a dotfile manager's links), and one stamped in the future keyed as it is: any edit changes it.
    for paths, look, follow in ((extra, os.lstat, False), (followed, os.stat, True)):
        for path in paths:
            try:
                st = look(path)
            except OSError:
                h.update(f"{path}\0-\n".encode())
                continue
            if (
                (newest_ok < st.st_mtime_ns <= now)
                if follow
                else (st.st_mtime_ns > newest_ok or stat.S_ISLNK(st.st_mode))
            ):
                return None
            h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\0{st.st_ctime_ns}\n".encode())
    return h.hexdigest()


def _git_config_files(local: Path, top: Path) -> list[Path]:
    """The repository's, the user's and the system's git config files, those they include, and
    every attributes file a config names (core.attributesFile) or git reads by default: what git
    answers about routing follows them. Read loosely, erring towards more files (an includeIf
    is followed whatever its condition): a file keyed for nothing only costs a cache miss."""
    env = os.environ
    home = Path(env.get("HOME") or os.path.expanduser("~"))
    xdg = Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "git"
    configs = [local]
    configs += (
        [Path(env["GIT_CONFIG_GLOBAL"])] if env.get("GIT_CONFIG_GLOBAL") else [home / ".gitconfig", xdg / "config"]
    )
    if not env.get("GIT_CONFIG_NOSYSTEM"):
        configs.append(Path(env.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig"))
    named = {xdg / "attributes"}
    seen = set(configs)
    todo = list(configs)
    while todo:
        config = todo.pop()
        for section, key, value in dict.fromkeys(_config_entries(config)):  # (each line once)
            where = Path(os.path.expanduser(value))
            if section == "core" and key == "attributesfile":
                named.add(where if where.is_absolute() else top / where)  # (git reads it from the work tree's top)
            elif (section == "include" or section.startswith("includeif")) and key == "path":
                where = where if where.is_absolute() else config.parent / where  # (from the including file)
                if where not in seen and len(seen) < 64:
                    seen.add(where)
                    todo.append(where)
    return [*sorted(seen, key=str), *sorted(named, key=str)]


def _config_entries(config: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) of a git config file, names lowercased (a subsection dropped); []
    for one that is not a regular file under 1 MiB (a FIFO is never opened)."""
    try:
        # Judged on what was opened (O_NONBLOCK: a FIFO swapped in after a stat never blocks the open).
        fd = os.open(config, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with open(fd, "rb") as f:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size >= 1 << 20:
                return []
            text = f.read(1 << 20).decode("utf-8", "replace")
    except OSError:
        return []
    out = []
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            head, _, line = line[1:].partition("]")
            section = head.split('"', 1)[0].strip().lower().replace(" ", "")
            line = line.strip()
        key, eq, value = line.partition("=")
        if not eq:
            continue
        out.append((section, key.strip().lower(), _config_value(value)))
    return out


def _config_value(text: str) -> str:
    """A config value as git reads it: quotes and escapes undone, a comment (# or ;) cut."""
    if not any(ch in text for ch in '"\\#;'):
        return text.strip()  # (most values: read character by character, a 1 MiB config took 0.7 s)
    out, quoted, i = [], False, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append({"n": "\n", "t": "\t"}.get(text[i + 1], text[i + 1]))
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch in "#;" and not quoted:
            break
        else:
            out.append(ch)
        i += 1
    return "".join(out).strip()


def _keys_rows(root: Path, newest_ok: int) -> str | None:
    """The lstat facts of every file in tfc/keys, opened the way trust reads it (atomic's confined
    opening); None when it cannot be keyed. A tfc/keys moved aside and linked back holds the same
    files (inodes, times) but is no longer trusted (TFC0007-E010): a symlink or non-folder on the
    way, or a symlinked file in it, gets no key."""
    try:
        with atomic.folder(root, KEYS_DIR, create=False, action="read") as fd:
            return _rows(fd, newest_ok)
    except atomic.UnsafePath:
        return None
    except FileNotFoundError:
        return f"{KEYS_DIR}\0-\n"


def _rows(fd: int, newest_ok: int) -> str | None:
    rows = []
    for name in sorted(os.listdir(fd)):
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return None  # changing while we look
        if st.st_mtime_ns > newest_ok or stat.S_ISLNK(st.st_mode):
            return None
        rows.append(f"{KEYS_DIR}/{name}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\0{st.st_ctime_ns}\n")
    return "".join(rows) or f"{KEYS_DIR}\0empty\n"
