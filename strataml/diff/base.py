"""The workspace as the base revision holds it, built from git alone (no checkout, no Git LFS
download), and the doctor's verdict there over what the change touched.

Git lists the files at the base; the metadata of every record, the specs, keys, ledgers and
config are written to a scratch folder under `.strataml/diff/` (inside the repository, removed
afterwards), with the whole folder of each record the change touched. The doctor then checks
the touched records there, as a `--since` run checks them in the working tree, so the two
verdicts cover the same records and can be compared finding by finding.
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
from strataml.workspace import LEDGER, META, Workspace, record_folder

SCRATCH = ".strataml/diff"
_FILE_MODES = ("100644", "100755")
# What a record folder holds that the base needs even when the change did not touch the record:
# its metadata (references, names, lineage), its signature (trust), a model's gate receipt.
_ALWAYS = {*META.values(), *(f"{m}.asc" for m in META.values()), "gate.json"}


@dataclass
class Base:
    commit: str
    root: Path  # the scratch folder
    workspace: Workspace
    report: Report  # the findings over the records the change touched (all of them with `everything`)
    scope: frozenset[str] | None


@contextmanager
def at(root: Path, commit: str, owned: set[str], everything: bool) -> Iterator[Base]:
    """The base `commit` of the workspace at `root`; `owned`: the record folders, specs and
    ledgers the change touched (doctor.rules.history.owners), `everything`: check every record."""
    scratch = _scratch(root)
    try:
        deep = _materialize(root, commit, scratch, owned, everything)
        yield _checked(commit, scratch, owned, deep, everything)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _scratch(root: Path) -> Path:
    with atomic.folder(root, SCRATCH) as fd:
        for old in os.listdir(fd):
            # A scratch folder a killed run left behind: scratch never outlives its run.
            if old.endswith(".base") and not _alive(old):
                shutil.rmtree(Path(root, SCRATCH, old), ignore_errors=True)
        name = f"{os.getpid()}-{os.urandom(4).hex()}.base"
        os.mkdir(name, 0o700, dir_fd=fd)
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
    tree = gitfacts.tree_at(root, commit, (*gitfacts.WATCHED, ".gitattributes"))
    deep = {o for o in owned if record_folder(o) == o}
    for ledger in (o for o in owned if o.endswith("/" + LEDGER)):
        name_folder = ledger.rsplit("/", 1)[0]  # every version of a model whose ledger changed
        deep.update(f for f in (record_folder(p) for p in tree) if f and f.startswith(name_folder + "/"))
    wanted = []
    for rel, mode in tree.items():
        if mode not in _FILE_MODES or unsafe(rel, portable=False):
            continue  # symlinks and submodules are not written out; git never names a path that climbs
        folder = record_folder(rel)
        if everything or folder is None or folder in deep or rel.rsplit("/", 1)[-1] in _ALWAYS:
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
    return deep if not everything else {f for f in (record_folder(p) for p in contents) if f}


def _checked(commit: str, scratch: Path, owned: set[str], deep: set[str], everything: bool) -> Base:
    from strataml.doctor.engine import Options, apply, check, policy_for
    from strataml.workspace import load, walk, walk_changed

    if everything:
        workspace = load(scratch, None, walk(scratch))
        scope = None
        ledgers = None
    else:
        workspace = load(scratch, None, walk_changed(scratch, deep), deep)
        scope = frozenset(str(r.ref) for r in workspace.records if (r.folder in deep if r.folder else r.meta in owned))
        ledgers = frozenset(o for o in owned if o.endswith("/" + LEDGER))
    # Git's view of the base (what is tracked, what LFS routes) is its commit: the rules that ask
    # git about a working tree are left to the working tree.
    raw, stats, _ctx = check(workspace, Options(use_git=False), scope=scope, ledgers=ledgers)
    report = Report(apply(policy_for(workspace), raw), stats)
    return Base(commit, scratch, workspace, report, scope)
