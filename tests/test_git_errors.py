"""How git failures reach the user, and what is handed to git: real git, real (broken) repositories."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import POSITIVE, require
from strataml import gitfacts
from strataml.errors import StrataError
from test_git_rules import commit_all, git

pytestmark = pytest.mark.timeout(120)


def need_git() -> None:
    require(shutil.which("git") is not None, "git is not installed")


def committed(root: Path, top: Path) -> Path:
    """The golden positive workspace copied to `root`, committed in the repository at `top`."""
    shutil.copytree(POSITIVE, root, symlinks=True)
    (root / ".gitignore").write_text(".strataml/\n")
    if not (top / ".git").exists():
        git(top, "init", "-q")
    commit_all(top, "workspace")
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    need_git()
    return committed(tmp_path / "repo", tmp_path / "repo")


def strataml(exe: list[str], root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = subprocess.run([*exe, "-C", str(root), *args], capture_output=True, text=True, env=env, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def corrupt_index(root: Path) -> None:
    index = root / ".git" / "index"
    index.write_bytes(b"DIRC" + b"\0" * 40)


def assert_git_failure(code: int, err: str) -> None:
    """Exit 3, one error naming the git command with git's own words, and a hint any command can follow."""
    assert code == 3, err
    assert "internal error" not in err and "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert lines[0].startswith("strataml: error: `git "), err
    assert "index" in lines[0], err  # git's own line about the broken index
    hint = next(line for line in lines if line.strip().startswith("hint:"))
    assert "git status" in hint, err
    assert "--no-git" not in hint and "above" not in hint, err


# 1. Git errors are StrataErrors: the command, git's first error line, a hint that fits every command.


def test_git_error_is_a_strata_error_naming_the_command_and_gits_words(repo: Path) -> None:
    corrupt_index(repo)
    with pytest.raises(StrataError) as caught:
        gitfacts.facts(repo, ["datasets/flowers/1/dataset.yaml"], whole=False)
    assert isinstance(caught.value, gitfacts.GitError)
    assert caught.value.message.startswith("`git ls-files"), caught.value.message
    assert "index" in caught.value.message and "\n" not in caught.value.message


def test_the_listings_error_is_the_one_told_whatever_else_failed_beside_it(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git ls-files runs in a thread beside check-attr: when both fail, the listing's error is
    raised, as when they ran one after the other (even if the other failed otherwise)."""
    corrupt_index(repo)
    real = gitfacts._git

    def attrs_fail(top: Path, *args: str, stdin: bytes | None = None) -> bytes:
        if args[0] == "check-attr":
            raise OSError(24, "Too many open files")
        return real(top, *args, stdin=stdin)

    monkeypatch.setattr(gitfacts, "_git", attrs_fail)
    with pytest.raises(gitfacts.GitError) as caught:
        gitfacts.facts(repo, ["datasets/flowers/1/dataset.yaml"], whole=False)
    assert caught.value.message.startswith("`git ls-files"), caught.value.message


def test_a_corrupt_index_under_since_is_a_clear_error_not_an_internal_one(
    repo: Path, strataml_exe: list[str]
) -> None:
    corrupt_index(repo)
    code, _out, err = strataml(strataml_exe, repo, "doctor", "--strict", "--no-cache", "--since", "HEAD")
    assert_git_failure(code, err)


def test_a_corrupt_index_without_since_still_fails_closed(repo: Path, strataml_exe: list[str]) -> None:
    corrupt_index(repo)
    code, _out, err = strataml(strataml_exe, repo, "doctor", "--strict", "--no-cache")
    assert_git_failure(code, err)


def test_dataset_add_does_not_offer_a_flag_it_does_not_have(repo: Path, strataml_exe: list[str]) -> None:
    """`dataset add` reaches git through the doctor's record check: its hint must fit it too."""
    corrupt_index(repo)
    csv = repo.parent / "iris.csv"
    csv.write_text("a,b\n1,2\n")
    code, _out, err = strataml(
        strataml_exe, repo, "dataset", "add", "iris", str(csv), "--version", "1", "--license", "MIT", "--source", "t"
    )
    assert_git_failure(code, err)
    assert not (repo / "datasets" / "iris").exists()


def test_files_at_and_read_at_raise_git_errors(repo: Path) -> None:
    commit = git(repo, "rev-parse", "HEAD")
    obj = repo / ".git" / "objects" / commit[:2] / commit[2:]
    obj.chmod(0o644)
    obj.write_bytes(b"garbage")
    for call in (
        lambda: gitfacts.files_at(repo, commit, ["datasets/flowers/1"]),
        lambda: gitfacts.modes_at(repo, commit, "tfc/keys"),
        lambda: gitfacts.read_at(repo, commit, ["strataml.yaml"]),
    ):
        with pytest.raises(gitfacts.GitError) as caught:
            call()
        assert "corrupt" in caught.value.message, caught.value.message


# 2. Path lists: bounded command lines, literal pathspecs, one way to run git.


def test_files_at_takes_more_folders_than_one_command_line_holds(repo: Path) -> None:
    commit = git(repo, "rev-parse", "HEAD")
    # ~3 MB of folder names: over the kernel's limit for one command line (ARG_MAX, 2 MB here).
    folders = [f"datasets/{'x' * 90}{i}/1" for i in range(30_000)] + ["datasets/flowers/1"]
    assert gitfacts.files_at(repo, commit, folders) == {
        "datasets/flowers/1/dataset.yaml",
        "datasets/flowers/1/flowers.csv",
    }


@pytest.mark.parametrize("folder", [":ws", ":(exclude)ws", "w*s", "w[s]"])
def test_a_workspace_in_a_folder_named_like_pathspec_magic(tmp_path: Path, folder: str, strataml_exe: list[str]) -> None:
    """git reads `:ws/...` as the magic-free pathspec `ws/...`; every path handed to git is literal."""
    need_git()
    top = tmp_path / "top"
    top.mkdir()
    root = committed(top / folder, top)
    # A decoy where a misread pathspec would look.
    shutil.copytree(POSITIVE, top / "ws", symlinks=True)
    commit_all(top, "decoy")
    commit = git(top, "rev-parse", "HEAD")
    assert gitfacts.files_at(root, commit, ["datasets/flowers/1"]) == {
        "datasets/flowers/1/dataset.yaml",
        "datasets/flowers/1/flowers.csv",
    }
    assert "datasets/flowers/1/flowers.csv" in gitfacts.modes_at(root, commit, "datasets")
    code, out, err = strataml(strataml_exe, root, "doctor", "--strict", "--no-cache")
    assert code == 0, out + err
    # A pull request that rewrites a committed dataset version is caught.
    with open(root / "datasets/flowers/1/flowers.csv", "a") as f:
        f.write("9,9,9,9,x\n")
    commit_all(top, "rewrite")
    code, out, err = strataml(strataml_exe, root, "doctor", "--strict", "--no-cache", "--since", "HEAD~1")
    assert code == 2 and "TFC0002-E010" in out, out + err


def test_one_object_per_call_fallback_answers_as_the_batch_does(repo: Path) -> None:
    """git before 2.36 has no `cat-file --batch -z`; the fallback goes through the one git runner."""
    (repo / "new\nline.txt").write_text("odd\n")
    commit = commit_all(repo, "odd name")
    names = ["strataml.yaml", "absent.txt", "new\nline.txt", "datasets"]
    objects = [f"{commit}:{n}" for n in names]
    asked = [o.encode() for o in objects]
    assert gitfacts._read_each(repo, asked, names) == gitfacts._read_batch(repo, objects, names)
    assert set(gitfacts._read_each(repo, asked, names)) == {"strataml.yaml", "new\nline.txt", "datasets"}
    # A broken repository is an error, never "the file was absent" (which history rules read as new).
    obj = repo / ".git" / "objects" / commit[:2] / commit[2:]
    obj.chmod(0o644)
    obj.write_bytes(b"garbage")
    with pytest.raises(gitfacts.GitError):
        gitfacts._read_each(repo, asked, names)


# 3. Fail closed without git.


def no_git_env(tmp_path: Path) -> dict[str, str]:
    """The environment with a PATH that holds no git (and no gpg): the console script's
    interpreter is named by its absolute shebang."""
    empty = tmp_path / "bin"
    empty.mkdir(exist_ok=True)
    return {**os.environ, "PATH": str(empty)}


def test_doctor_in_a_repository_without_git_exits_3(repo: Path, tmp_path: Path, strataml_exe: list[str]) -> None:
    env = no_git_env(tmp_path)
    code, out, err = strataml(strataml_exe, repo, "doctor", "--strict", "--no-cache", env=env)
    assert code == 3, out + err
    assert "git is not installed, but this workspace is in a git repository" in err
    assert "install git" in err and "--no-git" in err
    # Asked to, it skips the rules that need git.
    code, out, err = strataml(strataml_exe, repo, "doctor", "--strict", "--no-cache", "--no-git", env=env)
    assert code == 0, out + err


def test_since_in_a_repository_without_git_says_so(repo: Path, tmp_path: Path, strataml_exe: list[str]) -> None:
    env = no_git_env(tmp_path)
    for extra in ((), ("--no-git",)):
        code, out, err = strataml(strataml_exe, repo, "doctor", "--strict", "--since", "HEAD", *extra, env=env)
        assert code == 3, out + err
        assert "git is not installed, but this workspace is in a git repository" in err, err
        assert "not inside a git repository" not in err and "--no-git" not in err, err
        assert "install git" in err, err


def test_doctor_outside_a_repository_needs_no_git(tmp_path: Path, strataml_exe: list[str]) -> None:
    root = tmp_path / "plain"
    shutil.copytree(POSITIVE, root, symlinks=True)
    code, out, err = strataml(strataml_exe, root, "doctor", "--strict", "--no-cache", env=no_git_env(tmp_path))
    assert code == 0, out + err


def test_the_promotion_actor_is_read_through_the_one_git_runner(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ledger entry names who made the change; a git config git cannot read is an error, not a
    silent fall back to the login name."""
    import getpass

    from strataml.promote import _actor

    git(repo, "config", "user.name", "Ada Lovelace")
    git(repo, "config", "user.email", "ada@example.org")
    assert _actor(repo) == ("Ada Lovelace <ada@example.org>", False)
    with open(repo / ".git" / "config", "a") as f:
        f.write("[broken\n")
    with pytest.raises(gitfacts.GitError) as caught:
        _actor(repo)
    assert caught.value.message.startswith("`git config user.name` failed: fatal: bad config"), caught.value.message
    monkeypatch.setenv("PATH", no_git_env(tmp_path)["PATH"])
    assert _actor(repo) == (getpass.getuser(), True)


@pytest.mark.skipif(
    not hasattr(os, "memfd_create"), reason="anonymous memory files are Linux's (elsewhere: pipes only)"
)
def test_git_through_memory_files_answers_as_through_pipes(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On Linux git's input and outputs go through anonymous memory files (no turn of Python's
    loop per 4 KiB, which waits for the GIL beside a busy thread): the same output, the same
    error, for input and output far past what a pipe holds (64 KiB); pipes where the files
    cannot be made."""
    names = [f"datasets/d{i:05d}/{'x' * 40}.bin" for i in range(20_000)]  # ~1 MB in, more out
    stdin = b"".join(name.encode() + b"\0" for name in names)

    def both() -> tuple[bytes, str]:
        out = gitfacts._git(repo, "check-attr", "-z", "--stdin", "filter", stdin=stdin)
        with pytest.raises(gitfacts.GitError) as caught:
            gitfacts._git(repo, "cat-file", "-p", "0" * 40)
        return out, caught.value.message

    through_memory = both()
    monkeypatch.delattr(os, "memfd_create")
    through_pipes = both()
    assert through_memory == through_pipes

    def refused(name: str) -> int:
        raise OSError(38, "Function not implemented")  # a kernel or sandbox without them

    monkeypatch.setattr(os, "memfd_create", refused, raising=False)
    assert both() == through_pipes
    out, error = through_memory
    assert out.count(b"\0") == 3 * len(names) and out.startswith(names[0].encode() + b"\0filter\0")
    assert "0000000000" in error  # git's own words about the object, as through pipes
    assert not any("strataml-git" in _target(fd) for fd in os.listdir("/proc/self/fd"))  # none left open


def _target(fd: str) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""  # (the listing's own descriptor, closed since)
