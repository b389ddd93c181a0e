"""The workspace as the base revision holds it, built from git alone (no checkout, no Git LFS
download), and the doctor's verdict there over what the change touched.

Git lists the files at the base. What the change touched (each record folder, spec and ledger
it changed) is written to a scratch folder under `.strataml/diff/` (inside the repository,
removed afterwards) as the base holds it, with the config, keys, specs and ledgers; everything
else is the same at the base as in the working tree, so it is read from there. The doctor then
checks the touched records, as a `--since` run checks them in the working tree, so the two
verdicts cover the same records and can be compared finding by finding. When the change touches
everything (a .gitattributes, a record gone), the whole base is written out and checked.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from strataml import atomic, gitfacts
from strataml.doctor.finding import Report
from strataml.paths import unsafe
from strataml.rootdir import MANAGED
from strataml.workspace import LEDGER, Entry, Workspace, ledger_of, record_folder

SCRATCH = ".strataml/diff"
_FILE_MODES = ("100644", "100755")
# Written out whatever the change touched: what a check of any record may read directly (the
# config, the keys, every spec and every ledger: a version's state comes from its ledger).
_ALWAYS_TOP = ("strataml.yaml", "tfc/", "experiments/", ".gitattributes")


@dataclass
class Base:
    commit: str
    root: Path  # the scratch folder
    workspace: Workspace
    report: Report  # the findings over the records the change touched (all of them with `everything`)
    scope: frozenset[str] | None


def owner(path: str) -> str | None:
    """What a changed `path` belongs to for the base: its record folder, spec or ledger
    (doctor.rules.history.owner), else the entry it is, or lies in, at the first level of a
    managed folder (`datasets/notes.txt`, `models/notes.txt`, `experiments/sub` for
    `experiments/sub/x.yaml`; a managed folder that is not one, itself). The walk lists those
    entries and the layout rule judges them; owned by nobody, the working tree's were taken for
    the base's, and a stray the change added was a finding the base "had"."""
    from strataml.doctor.rules.history import owner as history_owner

    mine = history_owner(path)
    if mine is not None:
        return mine
    parts = path.split("/")
    return "/".join(parts[:2]) if parts[0] in MANAGED else None


def owners(changed: set[str]) -> set[str]:
    """What the `changed` paths belong to (owner()): what the base is rebuilt from git around."""
    return {o for o in map(owner, changed) if o}


@contextmanager
def at(
    root: Path, commit: str, owned: set[str], everything: bool, head_entries: dict[str, Entry] | None = None
) -> Iterator[Base]:
    """The base `commit` of the workspace at `root`; `owned`: the record folders, specs, ledgers
    and other walked entries the change touched (owners()), `everything`: check every record;
    `head_entries`: the working tree's walk around the change (a --since doctor's), if made."""
    scratch = _scratch(root)
    try:
        deep = _materialize(root, commit, scratch, owned, everything)
        yield _checked(commit, Path(root), scratch, owned, deep, everything, head_entries)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _scratch(root: Path) -> Path:
    try:
        with atomic.folder(root, SCRATCH) as fd:
            for old in os.listdir(fd):
                # A scratch folder a killed run left behind: scratch never outlives its run.
                if old.endswith(".base") and not _alive(old):
                    shutil.rmtree(Path(root, SCRATCH, old), ignore_errors=True)
            name = f"{os.getpid()}-{os.urandom(4).hex()}.base"
            os.mkdir(name, 0o700, dir_fd=fd)
    except OSError as exc:  # (named as the folder it is: the bare scratch name said nothing)
        raise OSError(exc.errno, exc.strerror, str(Path(root, SCRATCH))) from None
    return Path(root, SCRATCH, name)


def _alive(name: str) -> bool:
    try:
        os.kill(int(name.split("-", 1)[0]), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _materialize(root: Path, commit: str, scratch: Path, owned: set[str], everything: bool) -> set[str]:
    """Write the base's files a check needs into `scratch`; the record folders written whole."""
    # Only where the base can differ, or what a check reads directly: never every record's listing.
    where = (
        (*gitfacts.WATCHED, ".gitattributes")
        if everything
        else (
            "strataml.yaml",
            "tfc",
            "experiments",
            ".gitattributes",
            "models",
            *sorted(o for o in owned if not o.startswith("models/")),
        )
    )
    tree = gitfacts.tree_at(root, commit, where)
    deep = {o for o in owned if record_folder(o) == o}
    for ledger in (o for o in owned if o.endswith("/" + LEDGER)):
        name_folder = ledger.rsplit("/", 1)[0]  # every version of a model whose ledger changed
        deep.update(f for f in (record_folder(p) for p in tree) if f and f.startswith(name_folder + "/"))
    wanted = []
    for rel, mode in tree.items():
        if mode not in _FILE_MODES or unsafe(rel, portable=False):
            continue  # symlinks and submodules are not written out; git never names a path that climbs
        folder = record_folder(rel)
        if (
            everything
            or folder in deep
            or rel.startswith(_ALWAYS_TOP)
            or ledger_of(rel) is not None
            or (folder is None and rel in owned)
        ):
            wanted.append(rel)
    contents = gitfacts.read_at(root, commit, wanted)
    made: set[str] = set()
    for rel in sorted(contents):
        parent = rel.rsplit("/", 1)[0] if "/" in rel else ""
        if parent and parent not in made:
            os.makedirs(scratch / parent, exist_ok=True)  # a fresh folder: nothing on the way is a link
            made.add(parent)
        fd = os.open(scratch / rel, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(contents[rel])
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    _folded_names(root, commit, scratch)
    return deep if not everything else {f for f in (record_folder(p) for p in contents) if f}


def _folded_names(root: Path, commit: str, scratch: Path) -> None:
    """The base's entries spelled like a name the layout fixes in their folder (`Models/`,
    `tfc/Keys`), as empty stand-ins where nothing of theirs was written out (a folder elsewhere
    than tfc/, a link): the layout rule lists those folders for them (TFC0001-E011), and one the
    base already had was reported as new. Nothing reads them."""
    from strataml.layoutnames import FOLDERS, folds_onto

    for folder in FOLDERS:
        for name, mode in gitfacts.listed_at(root, commit, folder).items():
            rel = f"{folder}/{name}" if folder else name
            if folds_onto(folder, name) is None or unsafe(rel, portable=False):
                continue
            try:
                os.makedirs(scratch / folder, exist_ok=True)  # (a tfc/ that holds only links was not written)
                if mode == "040000":
                    os.mkdir(scratch / rel, 0o700)
                else:
                    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
                    os.close(os.open(scratch / rel, flags, 0o600))
            except FileExistsError:
                pass  # (written out already, or a case-folding file system: the real name's entry)


def _entries(
    head: Path, scratch: Path, owned: set[str], deep: set[str], head_entries: dict[str, Entry] | None
) -> dict[str, Entry]:
    """The walk of the base: the working tree's first level and the name folders of the touched
    records (what the change did not touch is the same at the base), less what the change
    touched, plus the touched records as the base holds them."""
    from strataml.workspace import walk_changed, walk_top

    touched = tuple(o + "/" for o in owned) + tuple(d + "/" for d in deep)

    def untouched(path: str) -> bool:
        # (A ledger's signature is owned by its ledger: signed for the first time by the change,
        # the working tree's .asc is not the base's.)
        return path not in owned and path not in deep and not path.startswith(touched) and owner(path) not in owned

    walked = head_entries if head_entries is not None else walk_changed(head, deep, walk_top(head))
    entries = {p: e for p, e in walked.items() if untouched(p)}
    entries.update(walk_changed(scratch, deep))
    return dict(sorted(entries.items()))


def _checked(
    commit: str,
    head: Path,
    scratch: Path,
    owned: set[str],
    deep: set[str],
    everything: bool,
    head_entries: dict[str, Entry] | None = None,
) -> Base:
    from strataml.doctor.engine import Options, apply, check, policy_for
    from strataml.workspace import load, walk

    if everything:
        workspace = load(scratch, None, walk(scratch))
        scope = None
        ledgers = None
    else:
        base = str(head)

        def fallback(rel: str) -> str | None:
            # Untouched by the change: the base holds what the working tree holds.
            mine = owner(rel)
            return None if (mine in owned or mine in deep or rel.startswith(_ALWAYS_TOP)) else os.path.join(base, rel)

        workspace = load(scratch, None, _entries(head, scratch, owned, deep, head_entries), deep, fallback=fallback)
        scope = frozenset(str(r.ref) for r in workspace.records if (r.folder in deep if r.folder else r.meta in owned))
        ledgers = frozenset(o for o in owned if o.endswith("/" + LEDGER))
    # Git's view of the base (what is tracked, what LFS routes) is its commit: the rules that ask
    # git about a working tree are left to the working tree.
    raw, stats, _ctx = check(workspace, Options(use_git=False), scope=scope, ledgers=ledgers)
    if not os.path.lexists(os.path.join(scratch, "strataml.yaml")):
        # The base holds no workspace (this change adds it): nothing was there to find, and its
        # "missing strataml.yaml" is no error the change fixed.
        raw = []
    report = Report(apply(policy_for(workspace), raw), stats)
    return Base(commit, scratch, workspace, report, scope)
