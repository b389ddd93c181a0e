"""Where the workspace is: the nearest folder holding strataml.yaml.

Kept apart from strataml.workspace (which loads the YAML stack) so a command can find its
workspace, and a `--since` run start git, before the heavier modules load.
"""

from __future__ import annotations

import os
from pathlib import Path

from strataml.errors import WorkspaceNotFound

CONFIG = "strataml.yaml"
MANAGED = ("datasets", "experiments", "runs", "models")  # the folders records live in
TFC_DIR = "tfc"  # the contracts and the trust files (TFC-0007)
KEYS_DIR = f"{TFC_DIR}/keys"
KEYS_MANIFEST = f"{KEYS_DIR}/keys.yaml"  # the pinned signing keys (TFC-0007)
# .gitattributes anywhere in the repository decide what a checkout holds for committed files;
# git-lfs reads .lfsconfig at the repository's top.
ATTRIBUTES = ".gitattributes"
LFSCONFIG = ".lfsconfig"


def find_root(start: Path | None = None) -> Path:
    """The nearest folder holding strataml.yaml, from `start` upward.

    Whatever the entry is (lstat, never followed): a strataml.yaml that is a symlink or a FIFO
    still marks its workspace, whose doctor then reports it (TFC0001-E001) without reading it.
    """
    here = Path(start or Path.cwd()).resolve()
    found = holding(here)
    if found is not None:
        return found
    below = _workspaces_below(here)
    if below:
        import shlex

        named = " or ".join(f"`strataml -C {shlex.quote(name)} ...`" for name in below)
        holds = "holds a workspace" if len(below) == 1 else "hold workspaces"
        hint = f"{', '.join(f'{n}/' for n in below)} {holds}: run {named} (or cd there)"
    else:
        hint = "run inside a StrataML workspace, pass -C DIR, or create one with `strataml init`"
    raise WorkspaceNotFound(f"no {CONFIG} in {here} or any parent folder", hint)


def holding(start: Path) -> Path | None:
    """The workspace `start` is in or is (as find_root looks), or None: no error, no hint."""
    here = Path(start).resolve()
    return next((folder for folder in (here, *here.parents) if os.path.lexists(folder / CONFIG)), None)


def _workspaces_below(here: Path, most: int = 3, looked: int = 1000) -> list[str]:
    """The folders right below `here` holding strataml.yaml (a monorepo's ml/), for the hint of
    a command run from the repository's root; at most `most`, after at most `looked` entries."""
    found: list[str] = []
    try:
        with os.scandir(here) as entries:
            for number, entry in enumerate(entries):
                if number >= looked or len(found) >= most:
                    break
                if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
                    continue
                if os.path.lexists(os.path.join(entry.path, CONFIG)):
                    found.append(entry.name)
    except OSError:
        return []
    return sorted(found)


def repo_top(start: Path) -> Path | None:
    """The folder holding `.git` (a folder, or a file for worktrees), from `start` upward, as git
    looks: never up into a folder GIT_CEILING_DIRECTORIES names."""
    here = Path(start).resolve()
    ceilings = {
        Path(p).resolve() for p in os.environ.get("GIT_CEILING_DIRECTORIES", "").split(os.pathsep) if os.path.isabs(p)
    }
    for folder in (here, *here.parents):
        if folder != here and folder in ceilings:
            return None
        if (folder / ".git").exists():
            return folder
    return None
