"""Facts about the Git repository around a workspace that need no git process."""

from __future__ import annotations

from pathlib import Path


def repo_top(start: Path) -> Path | None:
    """The folder holding `.git` (a folder, or a file for worktrees), from `start` upward."""
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return None


def repo_prefix(root: Path) -> str:
    """The workspace's path inside its repository, with a trailing '/', or '' at the top."""
    top = repo_top(root)
    if top is None or top == Path(root).resolve():
        return ""
    return Path(root).resolve().relative_to(top).as_posix() + "/"
