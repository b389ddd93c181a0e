"""What git says about a workspace (gitfacts), against real repositories."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import require
from test_git_rules import commit_all, git

from strataml import gitfacts
from strataml.gitfacts import head_state


def test_head_state_outside_empty_clean_and_dirty(tmp_path: Path) -> None:
    require(shutil.which("git") is not None, "git is not installed")
    assert head_state(tmp_path) == (None, False)
    git(tmp_path, "init", "-q")
    assert head_state(tmp_path) == (None, True)
    (tmp_path / "train.py").write_text("print(1)\n")
    commit = commit_all(tmp_path, "code")
    assert head_state(tmp_path) == (commit, False)
    # What earlier runs wrote is not dirt, even with a newline in its name.
    (tmp_path / "runs" / "r\n1").mkdir(parents=True)
    (tmp_path / "runs" / "r\n1" / "run.yaml").write_text("x: 1\n")
    assert head_state(tmp_path) == (commit, False)
    (tmp_path / "train.py").write_text("print(2)\n")
    assert head_state(tmp_path) == (commit, True)


def test_facts_agree_with_git_asked_path_by_path(tmp_path: Path) -> None:
    """facts() reads git's listing and attributes for every path at once; each path's answer must
    be git's own for it alone: in a workspace below the repository's top, for LFS-routed and plain
    files, untracked ones, other filters and an unset one, and names holding a tab, a newline, the
    word 'lfs' itself, bytes that are not UTF-8, or a character that is not ASCII."""
    require(shutil.which("git") is not None, "git is not installed")
    repo = tmp_path / "repo"
    ws = repo / "ml"
    git(tmp_path, "init", "-q", str(repo))
    (repo / ".gitattributes").write_text(
        "*.bin filter=lfs diff=lfs merge=lfs -text\nlfs filter=lfs\n*.lfsx filter=lfsx\nunset.bin -filter\n"
    )
    folder = "datasets/d/1"
    names = ["a.bin", "tab\there.bin", "new\nline.bin", "lfs", "plain.csv", "lfs.csv", "dataset.yaml"]
    names += ["other.lfsx", "unset.bin", os.fsdecode(b"not-utf8-\xff\xfe.bin"), "caf\u00e9.bin"]
    for name in names:
        (ws / folder).mkdir(parents=True, exist_ok=True)
        (ws / folder / name).write_bytes(os.fsencode(name) * 3)
    (repo / "elsewhere").mkdir()
    (repo / "elsewhere" / "x.bin").write_bytes(b"x")  # tracked, but outside the workspace
    commit_all(repo, "data")
    (ws / folder / "later.bin").write_bytes(b"later")  # never added
    paths = [f"{folder}/{name}" for name in [*names, "later.bin"]]

    found = gitfacts.facts(ws, paths, whole=True)

    assert found is not None and found.prefix == "ml/"
    routed, tracked, blobs = set(), set(), {}
    for path in paths:
        answer = subprocess.run(
            ["git", "check-attr", "-z", "filter", "--", os.fsencode(f"ml/{path}")],
            cwd=repo,
            capture_output=True,
            check=True,
        ).stdout.split(b"\0")
        if answer[2] == b"lfs":
            routed.add(path)
        listed = git(repo, "ls-files", "--", f"ml/{path}")
        if listed:
            tracked.add(path)
            if path in routed:
                oid = git(repo, "rev-parse", f":ml/{path}")
                blobs[path] = (oid, int(git(repo, "cat-file", "-s", oid)))
    lfs_names = ("a.bin", "tab\there.bin", "new\nline.bin", "lfs", "later.bin", names[-2], names[-1])
    assert routed == {f"{folder}/{n}" for n in lfs_names}
    assert found.lfs == routed
    assert found.tracked == tracked == set(paths) - {f"{folder}/later.bin"}
    assert found.blobs == blobs


def test_dirt_names_a_renamed_file_by_its_new_path(tmp_path: Path) -> None:
    """`-z` porcelain gives a rename's old path as a field of its own: read as an entry, it lost
    its first three characters ('src/train.py' said as '/train.py')."""
    from test_git_rules import commit_all, git

    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    (root / "src/train.py").write_text("print('train')\n")
    git(root, "init", "-q")
    commit_all(root, "code")
    git(root, "mv", "src/train.py", "src/fit.py")
    assert gitfacts.dirt(root) == ["src/fit.py"]
    assert gitfacts.uncommitted(root) == [("R ", "src/fit.py")]


def test_git_told_by_its_environment_to_read_another_repository_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stray GIT_DIR (one that names nothing, or another repository) made git find no
    repository, and `doctor --strict` passed with git's checks skipped; or read another
    repository's index (untracked-file warnings about tracked files). As git sets them in a
    hook (the same repository), they are fine."""
    from strataml import gitfacts

    repo, other = tmp_path / "repo", tmp_path / "other"
    for folder in (repo, other):
        folder.mkdir()
        subprocess.run(["git", "init", "-q", str(folder)], check=True)
    (repo / "strataml.yaml").write_text("schema: strataml/workspace/v1\nname: x\n")
    monkeypatch.chdir(repo)
    for value, said in ((str(tmp_path / "nowhere"), "reads no repository"), (str(other / ".git"), str(other / ".git"))):
        monkeypatch.setenv("GIT_DIR", value)
        with pytest.raises(gitfacts.GitError) as raised:
            gitfacts.repository(repo)
        assert f"GIT_DIR={value}" in raised.value.message and said in raised.value.message
    monkeypatch.setenv("GIT_DIR", ".git")  # (a hook's)
    assert gitfacts.repository(repo) == (repo, repo / ".git")
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.setenv("GIT_WORK_TREE", str(tmp_path))
    with pytest.raises(gitfacts.GitError):
        gitfacts.repository(repo)


def test_relative_git_paths_are_read_from_where_strataml_was_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git runs in the workspace (-C), not where strataml was started: GIT_DIR=.git and
    GIT_WORK_TREE=. exported at a monorepo's top named ml/.git and ml/ for a workspace in ml/
    (no repository there: git's checks were skipped as if there were none)."""
    from strataml import gitfacts

    repo = tmp_path / "mono"
    (repo / "ml").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "ml/tracked.txt").write_text("x\n")
    subprocess.run(["git", "-C", str(repo), "add", "ml/tracked.txt"], check=True)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("GIT_DIR", ".git")
    monkeypatch.setenv("GIT_WORK_TREE", ".")
    assert gitfacts.repository(repo / "ml") == (repo, repo / ".git")
    assert gitfacts._git(repo / "ml", "ls-files").decode().split() == ["tracked.txt"]
