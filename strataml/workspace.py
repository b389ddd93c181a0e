"""Find the workspace root, walk it once, and hold what was found.

The walk is the only place that lists the tree. It never opens a file that is not a regular
file (FIFOs would block, devices would lie) and never follows a symlink out of the tree.
Every command receives the resulting immutable Workspace.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from strataml.errors import WorkspaceNotFound
from strataml.loading import Loaded, load_file
from strataml.records import Record
from strataml.refs import Ref

CONFIG = "strataml.yaml"
MANAGED = ("datasets", "experiments", "runs", "models")
META = {"dataset": "dataset.yaml", "run": "run.yaml", "model": "model.yaml"}
# Files a managed folder may hold at its top without being a record.
FOLDER_NOTES = {".gitkeep", "README.md"}
LEDGER = "lifecycle.jsonl"
SIGNATURE_SUFFIX = ".asc"


@dataclass(frozen=True)
class Entry:
    """One path under a managed folder, as lstat saw it."""

    path: str  # relative, POSIX
    kind: str  # file | dir | symlink | special
    size: int
    mtime_ns: int
    inode: int
    ctime_ns: int
    link_target: str | None = None  # for symlinks: where it points (as written)
    escapes: bool = False  # for symlinks: resolves outside the workspace (or nowhere)


@dataclass(frozen=True)
class Stray:
    """A path the layout (TFC-0001) has no place for."""

    path: str
    reason: str
    hint: str


@dataclass(frozen=True)
class Workspace:
    root: Path
    config: Loaded
    entries: dict[str, Entry]
    records: tuple[Record, ...]
    strays: tuple[Stray, ...]
    missing_meta: tuple[tuple[str, str], ...]  # (folder, expected metadata file name)
    ledgers: tuple[str, ...]

    @property
    def name(self) -> str:
        data = self.config.data
        return str(data.get("name", self.root.name)) if isinstance(data, dict) else self.root.name

    def of_kind(self, kind: str) -> tuple[Record, ...]:
        return tuple(r for r in self.records if r.kind == kind)

    def get(self, ref: Ref | str) -> Record | None:
        key = str(ref)
        for record in self.records:
            if str(record.ref) == key:
                return record
        return None

    def abspath(self, rel: str) -> Path:
        return self.root / rel

    def under(self, folder: str) -> list[Entry]:
        """Entries strictly below `folder`, in walk order."""
        prefix = folder.rstrip("/") + "/"
        return [e for p, e in self.entries.items() if p.startswith(prefix)]


def find_root(start: Path | None = None) -> Path:
    """The nearest folder holding strataml.yaml, from `start` upward."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG).is_file():
            return folder
    raise WorkspaceNotFound(
        f"no {CONFIG} in {here} or any parent folder",
        "run inside a StrataML workspace, pass -C DIR, or create one with `strataml init`",
    )


def load(root: Path) -> Workspace:
    """Walk the workspace once and build its records."""
    root = Path(root).resolve()
    entries = _walk(root)
    records: list[Record] = []
    strays: list[Stray] = []
    missing: list[tuple[str, str]] = []
    ledgers: list[str] = []
    _classify(root, entries, records, strays, missing, ledgers)
    return Workspace(root, load_file(root / CONFIG), entries, tuple(records), tuple(strays), tuple(missing), tuple(ledgers))


def _walk(root: Path) -> dict[str, Entry]:
    real_root = os.path.realpath(root)
    out: dict[str, Entry] = {}
    stack = [m for m in reversed(MANAGED)]
    while stack:
        rel = stack.pop()
        full = os.path.join(root, rel)
        try:
            st = os.lstat(full)
        except FileNotFoundError:
            continue
        entry = _entry(rel, full, st, real_root)
        if rel not in MANAGED or entry.kind != "dir":
            out[rel] = entry
        if entry.kind != "dir":
            continue
        try:
            names = sorted(os.listdir(full))
        except OSError:
            continue
        stack.extend(f"{rel}/{n}" for n in reversed(names) if n != ".git")
    return out


def _entry(rel: str, full: str, st: os.stat_result, real_root: str) -> Entry:
    mode = st.st_mode
    common = dict(size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino, ctime_ns=st.st_ctime_ns)
    if stat.S_ISLNK(mode):
        target = os.readlink(full)
        resolved = os.path.realpath(full)
        inside = resolved == real_root or resolved.startswith(real_root + os.sep)
        escapes = not inside or not os.path.exists(resolved)
        return Entry(rel, "symlink", link_target=target, escapes=escapes, **common)
    if stat.S_ISDIR(mode):
        return Entry(rel, "dir", **common)
    if stat.S_ISREG(mode):
        return Entry(rel, "file", **common)
    return Entry(rel, "special", **common)


def _classify(root: Path, entries: dict[str, Entry], records: list[Record], strays: list[Stray],
              missing: list[tuple[str, str]], ledgers: list[str]) -> None:
    for rel, entry in entries.items():
        parts = rel.split("/")
        top = parts[0]
        depth = len(parts)
        if depth == 2 and parts[1] in FOLDER_NOTES and entry.kind == "file":
            continue
        if top == "experiments":
            _experiment(root, rel, entry, parts, records, strays)
        elif top in ("datasets", "models") and depth <= 3:
            _versioned(root, rel, entry, parts, records, strays, missing, ledgers)
        elif top == "runs" and depth == 2:
            _folder_record(root, rel, entry, "run", Ref("run", parts[1]), records, strays, missing)


def _experiment(root: Path, rel: str, entry: Entry, parts: list[str], records: list[Record], strays: list[Stray]) -> None:
    if len(parts) > 2:
        return  # reported with its parent folder
    name = parts[1]
    if entry.kind == "file" and name.endswith(".yaml"):
        records.append(Record("experiment", Ref("experiment", name[: -len(".yaml")]), None, rel, load_file(root / rel)))
    elif entry.kind != "file" and name.endswith(".yaml"):
        strays.append(Stray(rel, f"experiment spec is a {entry.kind}, not a regular file; it was not read",
                            "replace it with the spec file itself"))
    else:
        strays.append(Stray(rel, "experiments/ holds only experiment specs named NAME.yaml",
                            "move it elsewhere, or rename it to NAME.yaml if it is a spec"))


def _versioned(root: Path, rel: str, entry: Entry, parts: list[str], records: list[Record], strays: list[Stray],
               missing: list[tuple[str, str]], ledgers: list[str]) -> None:
    top = parts[0]
    kind = "dataset" if top == "datasets" else "model"
    if len(parts) == 2:
        if entry.kind != "dir":
            strays.append(Stray(rel, f"{top}/ holds one folder per {kind} name, not files",
                                f"move it into {top}/NAME/VERSION/ and record it, or remove it"))
        return
    name, version = parts[1], parts[2]
    if kind == "model" and version == LEDGER and entry.kind == "file":
        ledgers.append(rel)
        return
    if kind == "model" and version == LEDGER + SIGNATURE_SUFFIX and entry.kind == "file":
        return
    if entry.kind != "dir":
        strays.append(Stray(rel, f"{top}/{name}/ holds one folder per version" + (" and lifecycle.jsonl" if kind == "model" else ""),
                            f"move it into {top}/{name}/VERSION/ and record it, or remove it"))
        return
    _folder_record(root, rel, entry, kind, Ref(kind, name, version), records, strays, missing)


def _folder_record(root: Path, rel: str, entry: Entry, kind: str, ref: Ref, records: list[Record],
                   strays: list[Stray], missing: list[tuple[str, str]]) -> None:
    if entry.kind != "dir":
        strays.append(Stray(rel, f"{rel.split('/')[0]}/ holds one folder per {kind}", "move it into a record folder or remove it"))
        return
    meta = f"{rel}/{META[kind]}"
    if (root / meta).is_symlink() or ((root / meta).exists() and not (root / meta).is_file()):
        strays.append(Stray(meta, "metadata file is not a regular file (a symlink, folder or special file); it was not read",
                            "replace it with the metadata file itself"))
        return
    if not (root / meta).is_file():
        missing.append((rel, META[kind]))
        return
    records.append(Record(kind, ref, rel, meta, load_file(root / meta)))
