"""Find the workspace root, walk it once, and hold what was found.

The walk is the only place that lists the tree. It never opens a file that is not a regular
file (FIFOs would block, devices would lie) and never follows a symlink out of the tree, never
enters a nested repository (`.git`), and keeps every folder it cannot open as an entry of its
own: nothing is skipped without a finding. Every command receives the resulting immutable Workspace.
"""

from __future__ import annotations

import os
import stat
import sys
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from operator import methodcaller
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from strataml import atomic
from strataml.controls import INVISIBLE_HINT, INVISIBLE_SAID, INVISIBLE_WHY, odd
from strataml.errors import NotARecord, StrataError
from strataml.lfs import pointer_sized
from strataml.loading import MAX_BYTES, SYNTAX, TOO_LARGE, Loaded, LoadProblem, load_bytes, load_file
from strataml.once import once
from strataml.records import SIGNATURE_SUFFIX, Record
from strataml.refs import VERSIONED_KINDS, AmbiguousRef, Ref, RefError, closest, expand, fold, folder_of, parse_ref
from strataml.rootdir import CONFIG, MANAGED
from strataml.words import a

if TYPE_CHECKING:
    from strataml.cache import Cache
    from strataml.doctor.owners import Owners

META = {"dataset": "dataset.yaml", "run": "run.yaml", "model": "model.yaml"}
_METAS = frozenset(META.values())
# Files a managed folder may hold at its top without being a record.
FOLDER_NOTES = {".gitkeep", "README.md"}
LEDGER = "lifecycle.jsonl"
CONFIG_INVALID = "TFC0001-E001"  # workspace-config-invalid: the doctor's layout rule reports it
# Entries the walk did not enter or read: a nested repository's `.git` (folder or gitlink file),
# and a folder (or file) it could not open. The layout rules report them; no other rule reads them.
REPOSITORY, UNREADABLE = "repository", "unreadable"
OPAQUE = (REPOSITORY, UNREADABLE)


class Entry(NamedTuple):
    """One path under a managed folder, as lstat saw it (a tuple: the walk makes tens of thousands)."""

    path: str  # relative, POSIX
    kind: str  # file | dir | symlink | special | repository | unreadable
    size: int
    mtime_ns: int
    inode: int
    ctime_ns: int
    link_target: str | None = None  # for symlinks: where it points (as written); unreadable: why
    # for symlinks: resolves nowhere, or outside its record folder (outside the workspace for
    # one not in a record folder): content elsewhere could change while the link never does
    escapes: bool = False


@dataclass(frozen=True)
class Stray:
    """A path the layout (TFC-0001) has no place for, or cannot trust: `what` is `stray`,
    `control` (its name holds a control character), `invisible` (one that prints as nothing),
    `repository` or `unreadable`."""

    path: str
    reason: str
    hint: str
    what: str = "stray"


@dataclass(frozen=True)
class Workspace:
    root: Path
    config: Loaded
    entries: dict[str, Entry]
    records: tuple[Record, ...]
    strays: tuple[Stray, ...]
    missing_meta: tuple[tuple[str, str], ...]  # (folder, expected metadata file name)
    ledgers: tuple[str, ...]
    # A --since run walks only around what changed: records elsewhere are found on demand by
    # get(), through the same reader (see walk_changed()).
    partial: bool = False
    reader: Any = field(default=None, compare=False, repr=False)
    # Every ref of the workspace when `records` is a view of a few (a run checks its spec and its
    # input alone): what a "did you mean" offers, which the view's records alone did not.
    known: tuple[str, ...] | None = field(default=None, compare=False, repr=False)

    @property
    def name(self) -> str:
        data = self.config.data
        return str(data.get("name", self.root.name)) if isinstance(data, dict) else self.root.name

    @once
    def owners(self) -> Owners:
        """Which records each finding's path is about (the doctor and the index count alike)."""
        from strataml.doctor.owners import Owners

        return Owners(self.records)

    @once
    def signature_like(self) -> list[str]:
        """Walked paths named like a detached signature or a model-signing bundle: one scan of
        the walk in C, for every rule and run that looks for them (few, usually none)."""
        from strataml.modelsigning import SUFFIX as BUNDLE_SUFFIX

        return list(filter(methodcaller("endswith", (SIGNATURE_SUFFIX, BUNDLE_SUFFIX)), self.entries))

    @once
    def model_names(self) -> frozenset[str]:
        """The names of the model versions walked."""
        return frozenset(r.ref.name for r in self._by_kind.get("model", ()))

    @once
    def lone_ledgers(self) -> tuple[str, ...]:
        """The model names whose folder holds a ledger and no version walked (sorted): judged as a
        name and for collisions by themselves, as no record brings them."""
        return tuple(sorted({ledger.split("/")[1] for ledger in self.ledgers} - self.model_names))

    @once
    def _by_ref(self) -> dict[str, Record]:
        return {str(r.ref): r for r in self.records}

    @once
    def _by_kind(self) -> dict[str, tuple[Record, ...]]:
        out: dict[str, list[Record]] = {}
        for r in self.records:
            out.setdefault(r.kind, []).append(r)
        return {k: tuple(v) for k, v in out.items()}

    @once
    def _paths(self) -> list[str]:
        return list(self.entries)  # the walk's order: sorted

    def of_kind(self, kind: str) -> tuple[Record, ...]:
        return self._by_kind.get(kind, ())

    def get(self, ref: Ref | str) -> Record | None:
        key = str(ref)
        if key not in self._by_ref and self.partial:
            # None is remembered too: known absent.
            self._by_ref[key] = self._probe(key)  # type: ignore[assignment]
        return self._by_ref.get(key)

    def _probe(self, text: str) -> Record | None:
        """A record outside the partial walk, by its ref's place in the layout (names are validated refs)."""
        try:
            ref = parse_ref(text)
        except RefError:
            return None
        folder, meta = place(ref)
        reader = self.reader
        if reader is None or (reader.moved is None and reader.fallback is None):
            # Through real folders only, as the walk goes: a committed `datasets/x -> /elsewhere`
            # was read by --since (its columns in a hint) where a full run found no such record.
            if not atomic.is_file(self.root, meta):
                return None
        else:
            # (a staged record's folder, or diff's copy of the base that reads the unchanged files
            # where they are: paths strataml laid out itself)
            try:
                if not stat.S_ISREG(os.lstat(self.fspath(meta)).st_mode):
                    return None
            except OSError:
                return None
        return Record(ref.kind, ref, folder, meta, partial(self.reader, meta))

    def require(self, text: str, kind: str | None = None, usage: str = "") -> Record:
        """The record `text` names (of `kind`), or a StrataError saying what is wrong and what is close.

        `text` may be loose as people type it (refs.expand: a path, a bare run id, a unique prefix)."""
        try:
            loose = expand(text, [str(r.ref) for r in self.records])
        except AmbiguousRef as exc:
            raise StrataError(str(exc), "give more of it, or the whole ref") from None
        text = loose or text
        try:
            ref = parse_ref(text)
        except RefError as exc:
            kind_of, _, name = text.partition(":")
            if loose is None and kind_of in VERSIONED_KINDS and name and "@" not in name:
                # `model:NAME` stands for its latest version: here no version has that name.
                close = self.closest(text, kind_of)
                raise StrataError(
                    f"no {kind_of} named {name} in this workspace",
                    f"did you mean {', '.join(close)}?" if close else f"see `strataml list {kind_of}s`",
                ) from None
            raise StrataError(
                str(exc), usage or "a ref looks like dataset:NAME@VERSION, model:NAME@VERSION, run:ID"
            ) from None
        if kind is not None and ref.kind != kind:
            raise StrataError(f"{text} is {a(ref.kind)} ref; {a(kind)} is needed here", usage or f"name {a(kind)}")
        record = self.get(ref)
        if record is None:
            named = folder_of(text)
            if named is not None and self.entries.get(named[0]) is not None:
                raise NotARecord(text, *named)
            close = self.closest(text, ref.kind)
            raise StrataError(
                f"no {ref.kind} {text} in this workspace",
                f"did you mean {', '.join(close)}?" if close else f"see `strataml list {ref.kind}s`",
            )
        return record

    def closest(self, text: str, kind: str | None = None, n: int = 3) -> list[str]:
        """Existing refs (of `kind`) closest to `text`, for "did you mean" hints."""
        if self.known is not None:
            return closest(text, [r for r in self.known if kind is None or r.startswith(f"{kind}:")], n)
        return closest(text, [str(r.ref) for r in self.records if kind is None or r.kind == kind], n)

    def read_bytes(self, rel: str, *, limit: int = atomic.MAX_READ) -> bytes | None:
        """The content of workspace file `rel` (None when absent), by the confined rules of
        strataml.atomic: never through a symlink, a regular file only, at most `limit` bytes
        (atomic.Refused otherwise). A staged record's files are read from its staging folder."""
        return atomic.read_bytes(self.root, self.reader.rel(rel) if self.reader is not None else rel, limit=limit)

    def abspath(self, rel: str) -> Path:
        return Path(self.fspath(rel))

    def fspath(self, rel: str) -> str:
        """Where the file at workspace path `rel` is on disk (elsewhere only for a staged record, see load_staged())."""
        return self.reader.fspath(rel) if self.reader is not None else os.path.join(self.root, rel)

    def under(self, folder: str) -> list[Entry]:
        """Entries strictly below a folder, in walk order: a range of the sorted paths, found by bisection."""
        folder = folder.rstrip("/")
        paths, entries = self._paths, self.entries
        # Every path below FOLDER starts with "FOLDER/", and "/" sorts just before "0". (Asked once
        # per record: the second search starts where the first ended.)
        lo = bisect_left(paths, folder + "/")
        hi = bisect_left(paths, folder + "0", lo)
        return [entries[p] for p in paths[lo:hi]]


def load(
    root: Path,
    cache: Cache | None = None,
    entries: dict[str, Entry] | None = None,
    deep: set[str] | None = None,
    moved: tuple[str, str] | None = None,
    fallback: Callable[[str], str | None] | None = None,
) -> Workspace:
    """Walk the workspace once and build its records (metadata from `cache` when unchanged).

    With `deep` (entries from walk_changed()), the workspace is partial: record folders not
    in `deep` are assumed to hold their metadata file, read only if a rule asks for the
    record, and records outside the walk are found on demand. `moved`: see load_staged().
    `fallback`: where a workspace path absent under `root` is read instead (None: nowhere), for
    a workspace that holds only what differs from another (strataml.diff.base).
    """
    root = Path(root).resolve()
    entries = walk(root) if entries is None else entries
    records: list[Record] = []
    strays: list[Stray] = []
    missing: list[tuple[str, str]] = []
    ledgers: list[str] = []
    reader = _Reader(root, entries, cache, moved)
    reader.deep = deep
    reader.fallback = fallback
    _classify(reader, entries, records, strays, missing, ledgers)
    return Workspace(
        root,
        reader.config(),
        entries,
        tuple(records),
        tuple(strays),
        tuple(missing),
        tuple(ledgers),
        partial=deep is not None,
        reader=reader,
    )


def load_staged(root: Path, final: str, staging: Path) -> Workspace:
    """The workspace as it will be once `staging`, a folder beside the record folder `final` (a
    workspace path), is renamed to it: what the doctor judges before a command publishes a record.

    The walk is a --since walk around `final` (its name folder, and any whose name folds the
    same, for collisions), with the staged files listed under `final`; reading `final/...`
    reads the staged files. Nothing is published or written.
    """
    root = Path(root).resolve()
    parent = final.rsplit("/", 1)[0]
    entries = walk_changed(root, {final})
    entries.pop(f"{parent}/{staging.name}", None)  # the staging folder itself, seen from its parent
    entries[final] = Entry(final, "dir", 0, 0, 0, 0)
    _scan(str(staging), final, os.path.realpath(root), entries)
    return load(root, None, _sorted(entries), deep={final}, moved=(final, f"{parent}/{staging.name}"))


def load_config(root: Path, cache: Cache | None = None) -> Loaded:
    """The workspace's strataml.yaml, through the cache when one is given (unchanged: not parsed)."""
    return _Reader(Path(root), {}, cache).config()


class _Reader:
    """Loads metadata files, through the cache when one is given."""

    def __init__(
        self, root: Path, entries: dict[str, Entry], cache: Cache | None, moved: tuple[str, str] | None = None
    ) -> None:
        self.root, self.entries, self.cache = root, entries, cache
        if cache is not None:
            # (Imported once here, not per load: an import statement costs ~1 us even when done, 10 ms on 10k records.)
            from strataml.cache import stat_key

            self.stat_key = stat_key
        self.base = os.path.join(root, "")  # the root and a slash: a path is base + rel
        self.deep: set[str] | None = None
        self.fallback: Callable[[str], str | None] | None = None
        # Loads made ahead on two cores (strataml.preload), each taken once; and the documents
        # among them the compiled schema check passed: workspace path -> (kind, that document).
        self.preloaded: dict[str, Loaded] = {}
        self.valid: dict[str, tuple[str, Any]] = {}
        # (folder, where its files are): a staged record's files, read under its final name.
        self.moved = (moved[0] + "/", moved[1] + "/") if moved else None

    def rel(self, rel: str) -> str:
        """Where workspace path `rel` is, relative to the root (a staged record's files: in its staging folder)."""
        if self.moved is not None and rel.startswith(self.moved[0]):
            return self.moved[1] + rel[len(self.moved[0]) :]
        return rel

    def fspath(self, rel: str) -> str:
        # Joined as strings (40,000 times on 10k records: os.path.join cost 1.1 us each); an
        # absolute `rel` no longer replaces the root, as it would in os.path.join.
        path = self.base + self.rel(rel)
        if self.fallback is not None and not os.path.lexists(path):
            return self.fallback(rel) or path
        return path

    def config(self) -> Loaded:
        """strataml.yaml, by the confined rules of strataml.atomic: a symlink or anything but a
        regular file is never opened (its content would come from outside the repository, or
        block), so it sets no policy and is a TFC0001-E001 problem. Unchanged since the last
        run (its lstat key), it comes from the cache without being read."""
        path = self.fspath(CONFIG)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return Loaded(
                None,
                (LoadProblem(SYNTAX, "cannot read file: it does not exist", "create strataml.yaml (`strataml init`)"),),
            )
        except OSError as exc:
            return Loaded(
                None, (LoadProblem(SYNTAX, f"cannot read file: {exc.strerror}", "fix the file's permissions"),)
            )
        if not stat.S_ISREG(st.st_mode):
            kind = "symlink" if stat.S_ISLNK(st.st_mode) else "dir" if stat.S_ISDIR(st.st_mode) else "special"
            return _config_refused(standing(kind))
        key = None
        if self.cache is not None:
            key = self.stat_key(st)
            cached = self.cache.loaded(CONFIG, key, path)
            if cached is not None:
                return cached
        try:
            raw = atomic.read_bytes(self.root, CONFIG, limit=MAX_BYTES)
        except atomic.TooLarge:
            return Loaded(
                None,
                (
                    LoadProblem(
                        TOO_LARGE,
                        f"file is larger than {MAX_BYTES:,} bytes, the cap for metadata files",
                        "keep strataml.yaml small: `strataml init` writes one of a few hundred bytes",
                    ),
                ),
            )
        except atomic.Refused as exc:  # replaced by a link or a FIFO since the lstat above
            return _config_refused(exc.what)
        except OSError as exc:
            return Loaded(
                None, (LoadProblem(SYNTAX, f"cannot read file: {exc.strerror}", "fix the file's permissions"),)
            )
        if raw is None:
            return Loaded(
                None,
                (LoadProblem(SYNTAX, "cannot read file: it does not exist", "create strataml.yaml (`strataml init`)"),),
            )
        loaded = load_bytes(raw)
        if key is not None:
            self.cache.put_loaded(CONFIG, key, loaded)  # type: ignore[union-attr]
        return loaded

    def __call__(self, rel: str) -> Loaded:
        path = self.fspath(rel)
        cache = self.cache
        if cache is None:
            return self._load(rel, path)
        stat_key = self.stat_key
        key = None
        entry = self.entries.get(rel)
        if entry is not None:
            key = stat_key(entry) if entry.kind == "file" else None
        else:  # outside the walk: the config, a record found on demand
            try:
                st = os.lstat(path)
                key = stat_key(st) if stat.S_ISREG(st.st_mode) else None
            except OSError:
                pass
        if key is None:
            return self._load(rel, path)
        cached = cache.loaded(rel, key, path)
        if cached is not None:
            return cached
        loaded = self._load(rel, path)
        # A document strataml.preload found valid is remembered with its verdict (no second put):
        # it checked a record's metadata against that record's kind, the kind the rules check.
        judged = self.valid.get(rel) if self.valid else None
        cache.put_loaded(rel, key, loaded, valid=judged is not None and judged[1] is loaded.data)
        return loaded

    def _load(self, rel: str, path: str) -> Loaded:
        loaded = self.preloaded.pop(rel, None) if self.preloaded else None
        if loaded is not None:
            return loaded
        # The walk's regular file is the one read (not another tree's, through fallback).
        entry = self.entries.get(rel) if self.fallback is None else None
        # Line numbers are read again only for files that get a finding: a line map for
        # every record costs more memory than the records themselves, and time to make.
        return load_file(path, lines=False, regular=entry is not None and entry.kind == "file")


_STANDING = {"dir": "a folder", "special": "a FIFO, socket or device", "symlink": "a symlink"}


def standing(kind: str) -> str:
    """What stands where a file was expected, by its walk kind (Entry.kind), as messages name it."""
    return _STANDING.get(kind, f"a {kind}")


def _config_refused(what: str) -> Loaded:
    link = "symlink" in what
    return Loaded(
        None,
        (
            LoadProblem(
                CONFIG_INVALID,
                f"strataml.yaml is {what}: it was not read, so it sets no policy "
                "(a repository's configuration is a regular file in it"
                + (", never a link to one elsewhere)" if link else ")"),
                "replace it with the file itself (`git rm` the link and commit a regular strataml.yaml)"
                if link
                else "remove it, then restore the file (from the workspace's folder: `rm -r strataml.yaml && git checkout HEAD -- strataml.yaml`)",
            ),
        ),
    )


def walk(root: Path, found: Callable[[list[Any]], None] | None = None) -> dict[str, Entry]:
    """Every path under the managed folders, with lstat facts; the one tree walk (sorted by path).

    `found`: given each folder's entries as it is listed, in walk order (strataml.preload starts
    reading record metadata on another core while the walk goes on); an item whose [1] is not
    an Entry kind is a folder still to list."""
    return _managed(root, None, found)


def walk_top(root: Path) -> dict[str, Entry]:
    """The managed folders' first level only (a --since run starts here while git works)."""
    return _managed(root, 1)


def _managed(root: Path, depth: int | None, found: Callable[[list[Any]], None] | None = None) -> dict[str, Entry]:
    real_root = os.path.realpath(root)
    out: dict[str, Entry] = {}
    for top in sorted(MANAGED, key=lambda top: top + "/"):  # in path order, as everything below them
        full = os.path.join(root, top)
        try:
            st = os.lstat(full)
        except FileNotFoundError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            out[top] = _entry(top, full, st, real_root)
            continue
        _scan(full, top, real_root, out, depth, found)
    return out


class Seen(NamedTuple):
    """An earlier walk's paths looked at again with lstat, as parallel lists (30,000 of each on
    10k records: no object per path)."""

    paths: list[str]
    kinds: list[str]  # what the earlier walk saw: file | dir
    now: list[tuple[int, int, int, int] | None]  # (size, mtime, inode, ctime) now; None: gone or another kind
    before: list[tuple[int, ...]]  # the earlier walk's facts


def rewalk(root: Path, seen: Seen, tops: set[str]) -> tuple[dict[str, Entry], set[str]]:
    """The walk of `root`, made from an earlier one, and the paths that differ from it (new,
    gone, other facts): the same entries walk() gives, listing again only the folders whose
    lstat changed (`tops`: the managed folders that did) and new ones.

    A folder's mtime changes whenever an entry in it is added, removed or renamed, and the
    earlier walk took each folder's lstat before listing it; so a folder whose facts are the
    same holds the same names, and each of those names is in `seen`."""
    real_root = os.path.realpath(root)
    new = tuple.__new__
    out: dict[str, Entry] = {}
    touched: set[str] = set()
    dropped: set[str] = set()  # folders of the earlier walk no longer there as folders
    again = [top for top in MANAGED if top in tops]
    relisted = set(again)
    for path, kind, now, before in zip(seen.paths, seen.kinds, seen.now, seen.before):
        parent, _, name = path.rpartition("/")
        # Only a tree hangs from the managed folders: a path whose folder is not kept (or a name
        # no walk gives: '..', '.', '') is not taken from the earlier walk, whoever wrote it.
        if name in ("", ".", "..") or (parent not in out and parent not in MANAGED):
            dropped.add(path)
            touched.add(path)
            continue
        if now is None:
            dropped.add(path)  # gone, or now another kind: its folder changed and is listed again
            touched.add(path)
            if parent not in relisted:  # (listed again even if its facts say not: a name the
                relisted.add(parent)  # listing got wrong must not hide the one that is there)
                again.append(parent)
            continue
        out[path] = new(Entry, (path, kind, *now, None, False))
        if now != before:
            touched.add(path)
            if kind == "dir" and path not in relisted:
                relisted.add(path)
                again.append(path)
    if not again:  # no folder changed: the same names, in the earlier walk's (sorted) order
        return out, touched
    children: dict[str, list[str]] = {}
    for path in out:
        children.setdefault(path.rpartition("/")[0], []).append(path)

    def drop_below(folder: str) -> None:
        for child in children.pop(folder, ()):
            if out.pop(child, None) is not None:
                touched.add(child)
                drop_below(child)

    earlier: dict[str, tuple[Any, ...]] | None = None
    for folder in again:
        if folder in dropped or folder.rpartition("/")[0] in dropped:
            continue
        listed: dict[str, Entry] = {}
        _scan(os.path.join(root, folder), folder, real_root, listed, depth=1)
        if folder in listed or not os.path.lexists(os.path.join(root, folder)):
            # unreadable now, or gone since it was looked at: the same answer a walk gives
            drop_below(folder)
            out.pop(folder, None)
            touched.add(folder)
            if folder in listed:
                out[folder] = listed.pop(folder)
            continue
        for path in children.get(folder, ()):
            if path not in listed and out.pop(path, None) is not None:  # removed after its lstat
                touched.add(path)
                drop_below(path)
        if earlier is None:
            earlier = {p: (k, *f) for p, k, f in zip(seen.paths, seen.kinds, seen.before)}
        for path, entry in listed.items():
            before_entry = out.get(path)
            out[path] = entry
            if earlier.get(path) != (entry.kind, *entry[2:6]):
                touched.add(path)
            if entry.kind == "dir" and (before_entry is None or before_entry.kind != "dir"):
                below: dict[str, Entry] = {}
                _scan(os.path.join(root, path), path, real_root, below)  # a new folder: all of it
                out.update(below)
                touched.update(below)
    return _sorted(out), touched


def walk_changed(
    root: Path, folders: set[str], top: dict[str, Entry] | None = None, names: set[str] | frozenset[str] = frozenset()
) -> dict[str, Entry]:
    """The walk of a --since run: the managed folders' first level (`top`, from walk_top()),
    the name folders that hold changed records or changed ledgers (`names`: a ledger, or its
    signature, may change where no version stands), and any whose name folds the same, for
    collisions), and the changed record `folders` in full. Everything else is known from REF
    and read only on demand.
    """
    real_root = os.path.realpath(root)
    out = dict(walk_top(root) if top is None else top)
    parents = {f.rsplit("/", 1)[0] for f in folders if f.count("/") == 2} | set(names)
    if parents:
        folded = {fold(p) for p in parents}
        parents.update(p for p in out if p.count("/") == 1 and fold(p) in folded)
    for parent in sorted(parents):
        if parent in out and out[parent].kind == "dir":
            _scan(os.path.join(root, parent), parent, real_root, out, depth=1)
    for folder in sorted(folders):
        found = out.get(folder)
        if found is not None and found.kind == "dir":
            _scan(os.path.join(root, folder), folder, real_root, out)
    return _sorted(out)


def _sorted(entries: dict[str, Entry]) -> dict[str, Entry]:
    # Sorting the keys alone compares plain strings (timsort's fast path): 4x faster than the items.
    return {path: entries[path] for path in sorted(entries)}


def restore_ledger(rel: str) -> str:
    """How to put back a ledger that is not a regular file (a symlink, a folder, a FIFO)."""
    import shlex

    return (
        f"replace it with the ledger from git: `git checkout HEAD -- {shlex.quote(rel)}` in the workspace's "
        "folder (a ledger is a regular file StrataML appends to)"
    )


def hashed_ahead(path: str, kind: str, size: int) -> bool:
    """Whether a full run hashes this walked entry in the background, while it reads and checks
    the metadata (doctor.engine): a regular file in a record folder, past an LFS pointer's size,
    other than the folder's metadata. Every such file is recorded (or is a rare finding);
    smaller ones may be pointers, and the integrity rule reads those itself."""
    return (
        kind == "file"
        and not pointer_sized(size)
        and path.rsplit("/", 1)[-1] not in _METAS
        and record_folder(path) is not None
    )


def place(ref: Ref) -> tuple[str | None, str]:
    """(its folder, None for an experiment; its metadata file) of the record `ref` names, by the layout (TFC-0001)."""
    if ref.kind == "experiment":
        return None, f"experiments/{ref.name}.yaml"
    folder = f"runs/{ref.name}" if ref.kind == "run" else f"{ref.kind}s/{ref.name}/{ref.version}"
    return folder, f"{folder}/{META[ref.kind]}"


def ledger_of(path: str) -> str | None:
    """The ledger `path` is, or signs (models/NAME/lifecycle.jsonl and its .asc), else None: by
    name exactly (a `lifecycle.jsonl.bak` beside it is a stray, not the ledger)."""
    parts = path.split("/")
    if len(parts) == 3 and parts[0] == "models" and parts[2] in (LEDGER, LEDGER + SIGNATURE_SUFFIX):
        return f"models/{parts[1]}/{LEDGER}"
    return None


def record_folder(path: str) -> str | None:
    """The record folder a path is, or lies in, by layout alone (None for other paths)."""
    parts = path.split("/")
    if parts[0] in ("datasets", "models") and len(parts) >= 3:
        return "/".join(parts[:3])
    if parts[0] == "runs" and len(parts) >= 2:
        return "/".join(parts[:2])
    return None


def _scan(
    full: str,
    rel: str,
    real_root: str,
    out: dict[str, Entry],
    depth: int | None = None,
    found: Callable[[list[Any]], None] | None = None,
) -> None:
    """Add everything below `rel` to `out` in path order (sorted as strings: walk()'s order),
    each folder's lstat taken before it is listed; with `depth`, only that many levels down.

    Folders are listed in name order, depth first, and a folder's contents take the place of
    the key `name/` among its siblings (every path below it starts with it, and no other
    name does): made in that order, a walk needs no sort at the end (0.3 s for 400,000
    paths, most of it cache misses), and its entries lie in memory in the order every later
    pass reads them. In name order the kernel also finds each inode near the last one (they
    were created in that order, usually): the warm doctor on 100,000 runs 3.75 -> 2.88 s."""
    # One iterator per folder being emitted, deepest last (no recursion: a tree may be
    # thousands of folders deep). A folder's own entry is emitted before its `_Enter`, so
    # _listed() can still drop it (gone) or mark it unreadable in `out`, in its place.
    listing = _listed(full, rel, 1, depth, real_root, out)
    if found is not None:
        found(listing)
    levels = [iter(listing)]
    cut = len(rel)
    while levels:
        for item in levels[-1]:
            if isinstance(item, _Enter):  # its contents come here: list it and emit them first
                listing = _listed(full + item.rel[cut:], item.rel, item.level, depth, real_root, out)
                if found is not None:
                    found(listing)
                levels.append(iter(listing))
                break
            out[item[0]] = item
        else:  # this folder is done: back to its parent's next entry
            levels.pop()


class _Enter(NamedTuple):
    """A folder to list, in its place among its parent's entries."""

    rel: str
    level: int


_Todo = list["Entry | _Enter"]


def _listed(folder: str, rel: str, level: int, depth: int | None, real_root: str, out: dict[str, Entry]) -> _Todo:
    """One folder listed and lstat'ed: its entries and the folders to enter, in path order."""
    # The hot loop of every run (400,000 entries for 100,000 records): names bound locally.
    # tuple.__new__ skips the namedtuple's Python-level __new__: a third of the cost per entry.
    intern, lstat, new, is_file, is_dir = sys.intern, os.lstat, tuple.__new__, stat.S_ISREG, stat.S_ISDIR
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        out.pop(rel, None)  # removed while we walked: it is not there to check
        return []
    except OSError as exc:  # permission denied, a path longer than PATH_MAX...
        out[rel] = new(Entry, (rel, UNREADABLE, 0, 0, 0, 0, exc.strerror or str(exc), False))
        return []
    prefix, folder = rel + "/", folder + "/"
    todo: _Todo = []
    waiting: list[tuple[str, _Enter]] = []  # folders to enter, by key `name/`: smallest last
    enter = depth is None or level < depth
    for name in names:
        while waiting and waiting[-1][0] < name:  # (`x/` waits past `x-1` and `x.txt`, not `x0`)
            todo.append(waiting.pop()[1])
        child = intern(prefix + name)  # rules rebuild these paths; interned, they share one copy
        if name == ".git":  # git will not carry a nested repository's files: never entered
            todo.append(new(Entry, (child, REPOSITORY, 0, 0, 0, 0, None, False)))
            continue
        path = folder + name
        try:  # free unless raised: lstat (and a link's readlink) fail only past PATH_MAX or in a race
            st = lstat(path)
            mode = st.st_mode
            if is_file(mode):
                todo.append(
                    new(Entry, (child, "file", st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns, None, False))
                )
            elif is_dir(mode):
                # A folder's own lstat, taken here before it is listed: an entry added or removed
                # after that changes its mtime, which lets readers prove a tree unchanged unlisted.
                todo.append(
                    new(Entry, (child, "dir", st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns, None, False))
                )
                if enter:
                    waiting.append((name + "/", new(_Enter, (child, level + 1))))
            else:
                todo.append(_entry(child, path, st, real_root))
        except FileNotFoundError:
            continue  # removed since it was listed: not there to check
        except OSError as exc:
            todo.append(new(Entry, (child, UNREADABLE, 0, 0, 0, 0, exc.strerror or str(exc), False)))
    while waiting:
        todo.append(waiting.pop()[1])
    return todo


def _entry(rel: str, full: str, st: os.stat_result, real_root: str) -> Entry:
    mode = st.st_mode
    if stat.S_ISREG(mode):
        return Entry(rel, "file", st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
    if stat.S_ISDIR(mode):
        return Entry(rel, "dir", st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
    if stat.S_ISLNK(mode):
        target = os.readlink(full)
        try:
            resolved = os.path.realpath(full)
        except RecursionError:  # a chain of links longer than Python resolves: it leads nowhere sure
            return Entry(rel, "symlink", st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns, target, True)
        # (the walk never enters a linked folder: the record folder's own path holds no link)
        folder = record_folder(rel)
        bound = real_root if folder is None or folder == rel else os.path.join(real_root, folder)
        inside = resolved == bound or resolved.startswith(bound + os.sep)
        escapes = not inside or not os.path.exists(resolved)
        return Entry(rel, "symlink", st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns, target, escapes)
    return Entry(rel, "special", st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)


def _classify(
    root: _Reader,
    entries: dict[str, Entry],
    records: list[Record],
    strays: list[Stray],
    missing: list[tuple[str, str]],
    ledgers: list[str],
) -> None:
    _controls(entries, strays)
    for rel, entry in entries.items():
        if entry.kind in OPAQUE:
            strays.append(_opaque(entry))  # nothing below it was read: no record, no other finding
            continue
        slashes = rel.count("/")
        if slashes > 2 or (slashes == 2 and not rel.startswith(("datasets/", "models/"))):
            continue  # inside a record's folder (most entries): none of the cases below
        parts = rel.split("/")
        top = parts[0]
        depth = len(parts)
        if depth == 1:  # a managed folder that is not one (the walk lists a folder's contents, never the folder)
            strays.append(
                Stray(
                    rel,
                    f"{rel}/ is a {entry.kind}, not a folder: nothing in it was read",
                    f"make {rel}/ a real folder in the repository (a link would bring in files from elsewhere)",
                )
            )
            continue
        if depth == 2 and parts[1] in FOLDER_NOTES and entry.kind == "file":
            continue
        if top == "experiments":
            _experiment(root, rel, entry, parts, records, strays)
        elif top in ("datasets", "models") and depth <= 3:
            _versioned(root, rel, entry, parts, records, strays, missing, ledgers)
        elif top == "runs" and depth == 2:
            _folder_record(root, rel, entry, "run", Ref("run", parts[1]), records, strays, missing)


def _controls(entries: dict[str, Entry], strays: list[Stray]) -> None:
    """Entries whose own name holds a control character, or one that prints as nothing."""
    # One check over every path at once (every name printable ASCII is the common case, and one
    # pass in C costs less than a check per entry); "/" joins them, being printable.
    if odd("/".join(entries)) is None:
        return
    for rel in entries:
        found = odd(rel.rsplit("/", 1)[-1])  # the entry whose own name holds it: the one to rename
        if found is None:
            continue
        kind, spelled = found
        if kind == "control":
            strays.append(
                Stray(
                    rel,
                    f"the name holds a control character ({spelled}): listings, "
                    "git's batch protocols and terminals would split or rewrite it",
                    "rename it to letters, digits, '.', '_' and '-' (and re-record it if a record pins it)",
                    "control",
                )
            )
        else:
            strays.append(
                Stray(rel, f"the name holds {INVISIBLE_SAID} ({spelled}): {INVISIBLE_WHY}", INVISIBLE_HINT, "invisible")
            )


def _opaque(entry: Entry) -> Stray:
    if entry.kind == REPOSITORY:
        return Stray(
            entry.path,
            "a nested Git repository (or submodule) inside a managed folder: "
            "git does not commit its files, so a clone would not have them",
            "remove the `.git` (keep the files and commit them here), or move the repository out",
            REPOSITORY,
        )
    return Stray(
        entry.path,
        f"the walk could not open it ({entry.link_target}): nothing in it was checked",
        "make it readable for the user running the doctor (or shorten the path), then run it again",
        UNREADABLE,
    )


def _experiment(
    root: _Reader, rel: str, entry: Entry, parts: list[str], records: list[Record], strays: list[Stray]
) -> None:
    if len(parts) > 2:
        return  # reported with its parent folder
    name = parts[1]
    if entry.kind == "file" and name.endswith(".yaml"):
        records.append(Record("experiment", Ref("experiment", name[: -len(".yaml")]), None, rel, partial(root, rel)))
    elif entry.kind != "file" and name.endswith(".yaml"):
        strays.append(
            Stray(
                rel,
                f"experiment spec is a {entry.kind}, not a regular file; it was not read",
                "replace it with the spec file itself",
            )
        )
    elif name.endswith(".yaml.asc"):
        strays.append(
            Stray(
                rel,
                "experiment specs are not signed: experiments/ holds only specs named NAME.yaml",
                "remove the signature; a spec is reviewed as code, and each run records its config_hash (TFC-0001)",
            )
        )
    else:
        strays.append(
            Stray(
                rel,
                "experiments/ holds only experiment specs named NAME.yaml",
                "move it elsewhere, or rename it to NAME.yaml if it is a spec",
            )
        )


def _versioned(
    root: _Reader,
    rel: str,
    entry: Entry,
    parts: list[str],
    records: list[Record],
    strays: list[Stray],
    missing: list[tuple[str, str]],
    ledgers: list[str],
) -> None:
    top = parts[0]
    kind = "dataset" if top == "datasets" else "model"
    if len(parts) == 2:
        if entry.kind != "dir":
            strays.append(
                Stray(
                    rel,
                    f"{top}/ holds one folder per {kind} name, not files",
                    f"move it into {top}/NAME/VERSION/ and record it, or remove it",
                )
            )
        return
    name, version = parts[1], parts[2]
    if kind == "model" and version == LEDGER:
        if entry.kind == "file":
            ledgers.append(rel)
        else:
            what = standing(entry.kind)
            strays.append(
                Stray(rel, f"the lifecycle ledger is {what}, not a file; it was not read", restore_ledger(rel))
            )
        return
    if kind == "model" and version == LEDGER + SIGNATURE_SUFFIX and entry.kind == "file":
        return
    if entry.kind != "dir":
        strays.append(
            _misplaced(rel, top, name, kind, version)
            or Stray(
                rel,
                f"{top}/{name}/ holds one folder per version" + (" and lifecycle.jsonl" if kind == "model" else ""),
                f"move it into {top}/{name}/VERSION/ and record it, or remove it",
            )
        )
        return
    _folder_record(root, rel, entry, kind, Ref(kind, name, version), records, strays, missing)


# Where a record of each kind lives, for a metadata file found one folder too high.
_HOME = {"dataset": "datasets/NAME/VERSION/", "run": "runs/ID/", "model": "models/NAME/VERSION/"}


def _misplaced(rel: str, top: str, name: str, kind: str, file: str) -> Stray | None:
    """A record's metadata file right in `top`/`name`/: that folder is a record folder put one
    level too high (a run folder copied into models/), said as such; None for any other file."""
    held = next((k for k, meta in META.items() if meta == file), None)
    if held is None:
        return None
    if held == kind:
        fix = f"move what {top}/{name}/ holds into a version folder, {top}/{name}/VERSION/"
    else:
        fix = f"{held} records live in {_HOME[held]}: move the folder there (`git mv`), or remove it"
    return Stray(
        rel, f"{top}/{name}/ holds {a(held)}'s metadata ({file}) where {top}/{name}/VERSION/ folders belong", fix
    )


def _folder_record(
    root: _Reader,
    rel: str,
    entry: Entry,
    kind: str,
    ref: Ref,
    records: list[Record],
    strays: list[Stray],
    missing: list[tuple[str, str]],
) -> None:
    if entry.kind != "dir":
        strays.append(
            Stray(rel, f"{rel.split('/')[0]}/ holds one folder per {kind}", "move it into a record folder or remove it")
        )
        return
    meta = f"{rel}/{META[kind]}"
    if atomic.is_staging(rel.rsplit("/", 1)[-1]):
        # A command's hidden staging folder is no record, metadata or not (one writes it before it
        # publishes): the layout rule says whether one is building in it or it was left behind.
        missing.append((rel, META[kind]))
        return
    if root.deep is not None and rel not in root.deep:
        records.append(Record(kind, ref, rel, meta, partial(root, meta)))  # not entered: see load()
        return
    found = root.entries.get(meta)
    if found is not None and found.kind != "file":
        strays.append(
            Stray(
                meta,
                "metadata file is not a regular file (a symlink, folder or special file); it was not read",
                "replace it with the metadata file itself",
            )
        )
        return
    if found is None:
        missing.append((rel, META[kind]))
        return
    records.append(Record(kind, ref, rel, meta, partial(root, meta)))
