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


GIT_ID = ["-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"]


@pytest.mark.parametrize("layout", ["plain", "linked-worktree", "separate-git-dir"])
def test_a_pre_commit_hook_checks_a_workspace_in_a_folder_as_git_sets_it_up(
    tmp_path: Path, strataml_exe: list[str], layout: str
) -> None:
    """git names the repository to a hook itself: GIT_INDEX_FILE (relative, read from the work
    tree's top) always, GIT_DIR (absolute, without GIT_WORK_TREE) where `.git` is a file (a linked
    worktree, --separate-git-dir). A hook on a workspace in ml/, run from the top (`-C ml`) or
    from ml/, must check it as from a shell: no error, no record "not tracked"."""
    import shlex

    from strataml.cli.main import run

    top = tmp_path / "mono"
    if layout == "separate-git-dir":
        subprocess.run(["git", "init", "-q", f"--separate-git-dir={tmp_path / 'sep.git'}", str(top)], check=True)
    else:
        subprocess.run(["git", "init", "-q", str(top)], check=True)
    assert run(["init", str(top / "ml")]) == 0
    shutil.copytree(Path(__file__).resolve().parent.parent / "datasets/iris", top / "ml/datasets/iris")
    subprocess.run(["git", "-C", str(top), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(top), *GIT_ID, "commit", "-qm", "start", "--no-verify"], check=True)
    hooks = Path(subprocess.run(["git", "-C", str(top), "rev-parse", "--git-common-dir"], capture_output=True,
                                text=True, check=True).stdout.strip())
    hooks = (hooks if hooks.is_absolute() else top / hooks) / "hooks"
    hooks.mkdir(exist_ok=True)
    exe, log = shlex.join(strataml_exe), tmp_path / "hook.log"
    (hooks / "pre-commit").write_text(
        "#!/bin/sh\n"
        f"{exe} -C ml doctor --strict >> {log} 2>&1; echo \"rc=$?\" >> {log}\n"
        f"(cd ml && {exe} doctor --strict --no-cache) >> {log} 2>&1; echo \"rc=$?\" >> {log}\n"
    )
    (hooks / "pre-commit").chmod(0o755)
    where = top
    if layout == "linked-worktree":
        where = tmp_path / "wt"
        subprocess.run(["git", "-C", str(top), "worktree", "add", "-q", str(where), "-b", "wt"], check=True)
    (where / "note.txt").write_text("x\n")
    subprocess.run(["git", "-C", str(where), "add", "note.txt"], check=True)
    subprocess.run(["git", "-C", str(where), *GIT_ID, "commit", "-qm", "a note"], check=True)
    said = log.read_text()
    assert said.count("rc=0") == 2 and "strataml: error" not in said and "W012" not in said, said


def test_a_verdict_made_under_another_index_is_not_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The doctor reused its last report when the files and git's own index had not changed,
    whatever git had been told by its environment: a run under GIT_INDEX_FILE of an index that
    tracks an untracked record passed, and the next plain run reused that pass."""
    from conftest import age, invoke

    from strataml.cli.main import run

    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    assert run(["init", str(repo / "ml")]) == 0
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), *GIT_ID, "commit", "-qm", "start", "--no-verify"], check=True)
    shutil.copytree(Path(__file__).resolve().parent.parent / "datasets/iris", repo / "ml/datasets/iris")
    other = tmp_path / "other.index"
    shutil.copy(repo / ".git/index", other)
    subprocess.run(["git", "-C", str(repo), "add", "ml/datasets"], check=True, env={**os.environ, "GIT_INDEX_FILE": str(other)})
    age(repo)
    monkeypatch.setenv("GIT_INDEX_FILE", str(other))
    code, _out, err = invoke(repo / "ml", "doctor", "--strict", capsys=capsys)
    assert code == 0, err
    monkeypatch.delenv("GIT_INDEX_FILE")
    code, out, _err = invoke(repo / "ml", "doctor", "--strict", capsys=capsys)
    assert code == 2 and "TFC0006-W012" in out, out
