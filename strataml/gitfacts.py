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


def head_state(root: Path, outputs: tuple[str, ...] = ("runs/", "models/")) -> tuple[str | None, bool]:
    """(HEAD commit, whether the work tree has changes) for run provenance.

    New, untracked records under the workspace's `outputs` folders do not count as dirt: they
    are what earlier runs produced, not a change to the code. (None, False) outside a
    repository; (None, True) in a repository without commits.
    """
    import git  # gitpython; imported here so commands that never ask git do not pay for it

    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None, False
    try:
        commit = repo.head.commit.hexsha
    except ValueError:  # no commits yet
        return None, True
    prefix = repo_prefix(root)
    ignored = tuple(prefix + o for o in outputs)
    try:
        lines = repo.git.status("--porcelain", "--untracked-files=all", "-z").split("\0")
    except git.GitCommandError:
        return commit, True
    dirty = any(line and not (line.startswith("?? ") and line[3:].startswith(ignored)) for line in lines)
    return commit, dirty
