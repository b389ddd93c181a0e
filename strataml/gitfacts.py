"""Everything StrataML asks git: the one module that runs git."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from strataml import atomic
from strataml.aside import Aside
from strataml.errors import StrataError
from strataml.rootdir import ATTRIBUTES, LFSCONFIG, repo_top


def identity(root: Path) -> str:
    """The git identity ("name <email>", or either alone) that commits in `root` would carry,
    as git decides it (GIT_COMMITTER_NAME/EMAIL, which CI bots set, before the config); "" when
    none is set or git is not installed."""
    if shutil.which("git") is None:
        return ""
    try:
        ident = _git(Path(root), "var", "GIT_COMMITTER_IDENT").decode("utf-8", "replace").strip()
    except GitError:
        ident = ""  # no email git can settle on: the configured parts, if any
    if ident.count(" ") >= 2:
        return ident.rsplit(" ", 2)[0]  # without the time and zone git puts after it

    def config(key: str) -> str:
        try:
            return _git(Path(root), "config", key).decode("utf-8", "replace").strip()
        except GitError as exc:
            if exc.returncode == 1:  # not set
                return ""
            raise

    name = os.environ.get("GIT_COMMITTER_NAME") or config("user.name")
    email = os.environ.get("GIT_COMMITTER_EMAIL") or config("user.email")
    return f"{name} <{email}>".strip() if email else name


def repo_prefix(root: Path) -> str:
    """The workspace's path inside its repository, with a trailing '/', or '' at the top."""
    top = repo_top(root)
    if top is None or top == Path(root).resolve():
        return ""
    return Path(root).resolve().relative_to(top).as_posix() + "/"


def head_commit(root: Path) -> str | None:
    """The commit HEAD names, or None outside a repository or before its first commit."""
    repo = repository(root)
    if repo is None:
        return None
    try:
        return _git(repo[0], "rev-parse", "--verify", "-q", "HEAD^{commit}").decode().strip() or None
    except GitError:
        return None


def head_state(root: Path, outputs: tuple[str, ...] = ("runs/", "models/")) -> tuple[str | None, bool]:
    """(HEAD commit, whether the work tree has changes) for run provenance.

    New, untracked records under the workspace's `outputs` folders do not count as dirt: they
    are what earlier runs produced, not a change to the code. (None, False) outside a
    repository; (None, True) in a repository without commits.
    """
    repo = repository(root)
    if repo is None:
        return None, False
    top = repo[0]
    try:
        commit = _git(top, "rev-parse", "--verify", "-q", "HEAD^{commit}").decode().strip()
    except GitError:  # no commits yet
        return None, True
    try:
        return commit, bool(_dirt(top, repo_prefix(root), outputs))
    except GitError:
        return commit, True


def tracks(root: Path, rel: str) -> bool:
    """Whether git's index holds anything at or under `rel` (False outside a repository)."""
    repo = repository(root)
    if repo is None:
        return False
    try:
        return bool(_git(repo[0], "--literal-pathspecs", "ls-files", "-z", "--", repo_prefix(root) + rel))
    except GitError:
        return False


def dirt(root: Path, outputs: tuple[str, ...] = ("runs/", "models/")) -> list[str]:
    """What makes the work tree dirty for head_state(): each changed or untracked path (from the
    repository's top), but new records under `outputs`; [] outside a repository."""
    repo = repository(root)
    return [] if repo is None else _dirt(repo[0], repo_prefix(root), outputs)


def _dirt(top: Path, prefix: str, outputs: tuple[str, ...]) -> list[str]:
    ignored = tuple(prefix + o for o in outputs)
    return [path for status, path in _porcelain(top) if not (status == "??" and path.startswith(ignored))]


def _porcelain(top: Path) -> list[tuple[str, str]]:
    """(status, path from the repository's top) of each `git status --porcelain` entry; a rename
    or copy is its new path (the old one, its own NUL-separated field, is skipped)."""
    out = _git(top, "status", "--porcelain", "--untracked-files=all", "-z")
    entries = iter(e for e in out.decode("utf-8", "surrogateescape").split("\0") if e)
    changes = []
    for entry in entries:
        status = entry[:2]
        if status[0] in "RC":
            next(entries, None)
        changes.append((status, entry[3:]))
    return changes


def uncommitted(root: Path) -> list[tuple[str, str]] | None:
    """(status, workspace-relative path) of what git has not committed in the workspace: "??"
    new, " M" changed, and so on; None outside a repository."""
    repo = repository(root)
    if repo is None:
        return None
    prefix = repo_prefix(root)
    return [(status, path[len(prefix) :]) for status, path in _porcelain(repo[0]) if path.startswith(prefix)]


@dataclass(frozen=True)
class GitFacts:
    """What git says about the workspace's files, read in a handful of processes, not one per file."""

    top: Path
    prefix: str  # the workspace's folder inside the repository ("" or "sub/dir/")
    git_dir: Path
    tracked: frozenset[str]  # the asked-about workspace-relative paths that are in the index
    lfs: frozenset[str]  # workspace-relative paths .gitattributes routes through filter=lfs
    blobs: dict[str, tuple[str, int]]  # lfs-routed path -> (index blob id, blob size)
    small_blobs: dict[str, bytes]  # lfs-routed path -> blob content, for blobs small enough to be pointers
    # Workspace-relative paths of the submodules (gitlinks) the index holds among what was listed:
    # git keeps a link to another repository's commit there, and none of its files.
    gitlinks: frozenset[str] = frozenset()
    # What the index holds at LOCAL (a checker's own state, never committed: TFC0001-W006).
    local: frozenset[str] = frozenset()
    # Every workspace-relative path the listing held (the workspace, or the folders asked about):
    # kept as listed, made a set only by who asks (a file the records do not pin: integrity).
    indexed: tuple[str, ...] = ()

    @cached_property
    def lfs_objects(self) -> Path:
        """Where git-lfs keeps this repository's objects: `lfs.storage` (relative to the common git
        dir) or the common dir's lfs/, then objects/. A linked worktree's git dir holds neither:
        its objects were fetched into the repository's common dir."""
        common = self.git_dir
        try:
            named = (self.git_dir / "commondir").read_text("utf-8").strip()
        except (OSError, UnicodeDecodeError):
            named = ""
        if named:
            common = (self.git_dir / named).resolve()
        try:
            storage = _git(self.top, "config", "--get", "lfs.storage").decode("utf-8", "surrogateescape").strip()
        except GitError:  # (1: not set)
            storage = ""
        return (common / storage if storage else common / "lfs") / "objects"

    def pointers_at_head(self, paths: set[str]) -> set[str]:
        """Those of `paths` (files .gitattributes does not route through LFS) whose blob at HEAD is
        Git LFS pointer text while the index holds something else: what `git lfs pull` leaves,
        writing the content over pointers on unrouted paths and staging it, so the checkout shows
        bytes a clone of the commit never gets. Asked only where git-lfs has stored objects (a
        repository without them has no pull to blame), in two git processes when any such path
        was staged: the index against HEAD, then the small blobs at HEAD."""
        if not paths or not self.lfs_objects.is_dir():
            return set()
        from strataml.lfs import looks_like_pointer, pointer_sized

        try:
            # The index against HEAD (what `git lfs pull` stages): no file of the work tree is read,
            # so a big LFS file whose stat git no longer trusts is not cleaned and hashed again.
            [spec] = _paths([self.prefix or "."])
            staged = _git(self.top, "diff", "--cached", "--name-only", "-z", "--no-renames", "HEAD", "--", *spec)
        except GitError:  # (no HEAD yet: nothing committed to differ from)
            return set()
        cut = len(self.prefix)
        names = {n.decode("utf-8", "surrogateescape")[cut:] for n in staged.split(b"\0") if n}
        wanted = sorted(names & paths)
        if not wanted:
            return set()
        heads = _read_batch(self.top, [f"HEAD:{self.prefix}{p}" for p in wanted], wanted)
        # (under git-lfs's cutoff: `git lfs pull` leaves a blob of 1024 bytes or more alone)
        return {p for p, raw in heads.items() if pointer_sized(len(raw)) and looks_like_pointer(raw)}


class GitError(StrataError):
    """git failed, or cannot run: exit 3 like any StrataError.

    Callers that need git let it through: a gate that skipped the rules needing git would pass
    what it never checked. `stderr` and `returncode` are git's own, for the few callers that
    expect a particular failure.
    """

    def __init__(self, message: str, hint: str, stderr: str = "", returncode: int | None = None) -> None:
        super().__init__(message, hint)
        self.stderr = stderr
        self.returncode = returncode


# Fits every command that reaches git (doctor, sign, promote, dataset add, run): none prints more of git than the message.
FAILED_HINT = "run `git status` in this repository to see what git reports, fix that, then run strataml again"
SINCE_HINT = "install git: --since reads the history git keeps"


def _failed(args: Sequence[str], returncode: int, stderr: bytes) -> GitError:
    """The error for a failed git command: its name and options (never its path list) and the
    line git says most about it (its first `fatal:` line, else its first line)."""
    text = stderr.decode("utf-8", "replace").strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    said = next(
        (line for line in lines if line.startswith("fatal:")), lines[0] if lines else f"exit status {returncode}"
    )
    words = list(args[: args.index("--")] if "--" in args else args)
    command = " ".join(words)
    if len(command) > 120:
        command = command[:117] + "..."
    return GitError(f"`git {command}` failed: {said}", FAILED_HINT, text, returncode)


def _argv(top: Path, args: Sequence[str]) -> list[str]:
    # A checkout's own config must not run programs when StrataML only reads it (a workspace
    # from a pull request, a federation's member): no fsmonitor hook.
    return ["git", "-c", "core.fsmonitor=false", "-C", str(top), *args]


def _env(top: Path) -> dict[str, str]:
    """The environment git runs in (from `top`): ours, with git's messages in one language
    (callers match a few of them, such as "unknown switch"), and its output buffered: into a
    pipe, check-attr --stdin otherwise writes (and wakes us) once per path, 0.11 s against
    0.05 s for 20,000 paths. Every git command here is read to its end, none answers one
    request at a time."""
    env = {**os.environ, "LC_ALL": "C", "GIT_FLUSH": "0"}
    # Pathspecs are written here with their magic (`:(literal)`, `:(literal,icase)`, `:/`): under
    # GIT_LITERAL_PATHSPECS=1 git matched none of them, and .strataml or strataml.yaml went unseen.
    for name in ("GIT_LITERAL_PATHSPECS", "GIT_GLOB_PATHSPECS", "GIT_NOGLOB_PATHSPECS", "GIT_ICASE_PATHSPECS"):
        env.pop(name, None)
    # git reads these from the folder it runs in, and it runs in the workspace (-C), not where
    # strataml was started (GIT_DIR=.git exported at a monorepo's top named ml/.git). (A relative
    # GIT_INDEX_FILE git reads from the work tree's top: left as it is.)
    for name in ("GIT_DIR", "GIT_WORK_TREE"):
        value = env.get(name)
        if value and not os.path.isabs(value):
            env[name] = os.path.abspath(value)
    if "GIT_DIR" in env and "GIT_WORK_TREE" not in env and _own_git_dir(str(top)) == _resolved(env["GIT_DIR"]):
        # The repository git finds from the workspace anyway, as git names it to a hook of a linked
        # worktree or a --separate-git-dir checkout: kept, git would take the folder it runs in
        # (a workspace in ml/) for the top of the work tree.
        del env["GIT_DIR"]
    return env


def _own_git_dir(top: str) -> str | None:
    """The git dir of the repository holding `top`, as its `.git` names it (resolved); None if unclear."""
    found = repo_top(Path(top))
    git_dir = _git_dir(found / ".git") if found is not None else None
    return _resolved(str(git_dir)) if git_dir is not None else None


def _resolved(path: str) -> str:
    return os.path.realpath(os.path.abspath(path))


def _git(top: Path, *args: str, stdin: bytes | None = None) -> bytes:
    """The one way StrataML runs git to completion: its output, or a GitError."""
    answer = _through_memory(_argv(top, args), stdin, _env(top)) if hasattr(os, "memfd_create") else None
    if answer is None:
        proc = subprocess.run(_argv(top, args), input=stdin, capture_output=True, check=False, env=_env(top))
        answer = proc.returncode, proc.stdout, proc.stderr
    returncode, out, err = answer
    if returncode != 0:
        raise _failed(args, returncode, err)
    return out


def _through_memory(argv: list[str], stdin: bytes | None, env: dict[str, str]) -> tuple[int, bytes, bytes] | None:
    """(exit code, stdout, stderr) of `argv`, its input and outputs in anonymous memory files
    (Linux), not pipes: through pipes, each 4 KiB written and 32 KiB read is a turn of Python's
    loop, which waits for the GIL while the doctor's rules hold it. git's facts for 20,000 paths,
    asked in a thread beside a busy one, took 0.43-0.62 s that way against 0.07 s alone.
    None when the files cannot be made (a kernel or sandbox without them): pipes then."""
    fds: list[int] = []
    try:
        try:
            inp = os.memfd_create("strataml-git-in") if stdin is not None else None
            if inp is not None:
                fds.append(inp)
            out = os.memfd_create("strataml-git-out")
            fds.append(out)
            err = os.memfd_create("strataml-git-err")
            fds.append(err)
        except OSError:
            return None
        if inp is not None and stdin is not None:
            atomic.write_all(inp, stdin)
            os.lseek(inp, 0, os.SEEK_SET)
        returncode = subprocess.run(argv, stdin=inp, stdout=out, stderr=err, check=False, env=env).returncode
        return returncode, _read_all(out), _read_all(err)
    finally:
        for fd in fds:
            os.close(fd)


def _read_all(fd: int) -> bytes:
    size = os.lseek(fd, 0, os.SEEK_END)
    os.lseek(fd, 0, os.SEEK_SET)
    parts = []
    while size > 0:
        part = os.read(fd, min(size, 1 << 30))
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _paths(paths: list[str]) -> Iterator[list[str]]:
    """Repository-relative paths as literal pathspecs (no `*`, `?`, `[` or `:(magic)` of their own),
    in command lines of bounded length (a pull request can change tens of thousands of folders)."""
    return _argument_chunks([f":(literal){p}" for p in paths])


def _argument_chunks(args: list[str], budget: int = 100_000) -> Iterator[list[str]]:
    """`args` in runs whose total length stays well under the kernel's argument limit."""
    chunk: list[str] = []
    size = 0
    for arg in args:
        if chunk and size + len(arg) > budget:
            yield chunk
            chunk, size = [], 0
        chunk.append(arg)
        size += len(arg) + 1
    if chunk:
        yield chunk


Started = list[tuple[subprocess.Popen, list[str]]]


def _start(top: Path, *commands: list[str]) -> Started:
    """Several git commands (without input) started side by side."""
    return [
        (subprocess.Popen(_argv(top, args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(top)), args)
        for args in commands
    ]


def _finish(started: Started) -> list[bytes]:
    """The outputs of _start()'s commands, in order."""
    outs = [proc.communicate() for proc, _args in started]
    for (proc, args), (_out, err) in zip(started, outs):
        if proc.returncode != 0:
            raise _failed(args, proc.returncode, err)
    return [out for out, _err in outs]


# What changed, started early by prefetch_changes(): (workspace root, ref) -> the listing under way.
_PREFETCHED: dict[tuple[str, str], Changes] = {}


# What the doctor reads (the managed folders, the config, the trusted keys): a repository's other
# folders (code, notebooks) need not be walked for untracked files.
WATCHED = ("datasets", "experiments", "runs", "models", "strataml.yaml", "tfc/keys")
LOCAL = ".strataml"  # the workspace's local state: the cache, the index, locks
# .gitattributes anywhere in the repository: they decide what a checkout holds for committed
# files (line endings, encodings, LFS routing), so a change to one changes files no diff names.
# Folded as macOS and Windows fold names (refs.fold): they read .GITATTRIBUTES, .gıtattributes or
# one with an ignorable code point as .gitattributes, which git's icase matching does not: every
# dot-file is listed, and those that fold onto it kept (_collect).
# The LFS config is kept at the repository's top only: git-lfs reads it there, where it says
# where every clone fetches and pushes Git LFS content.
_DOT_FILES_SPEC = ":(top,glob)**/.*"


def git_control(name: str) -> str | None:
    """ATTRIBUTES or LFSCONFIG when the file name `name` is either, as a checkout that folds names reads it."""
    from strataml.refs import fold

    folded = fold(name)
    return folded if folded in (ATTRIBUTES, LFSCONFIG) else None


def _watched(rel: str) -> bool:
    return any(rel == w or rel.startswith(w + "/") for w in WATCHED)


class Changes:
    """What changed in a workspace since a revision, as git lists it in processes of its own:
    the diff against the commit (quick: git stats the tracked files) and the untracked files
    (slow: git reads every folder). They are collected apart, so a caller can start on the
    diff while git still walks."""

    def __init__(self, root: Path, ref: str) -> None:
        repo = repository(root)
        if repo is None:
            resolve_commit(root, ref)  # raises the "not a repository" error with its hint
        top = repo[0]  # type: ignore[index]
        self.prefix = repo_prefix(root)
        [spec] = _paths([self.prefix + p for p in WATCHED])
        spec += [_DOT_FILES_SPEC]
        # The walk first: it needs no commit, and it is the long pole.
        [self._walk] = _start(top, ["ls-files", "-z", "--others", "--exclude-standard", "--", *spec])
        try:
            # REF's tip and where the change left it, from one resolution of REF: the tip's
            # policy judges, the merge base decides what changed (one rev-parse, not two).
            self.tip = resolve_commit(root, ref)
            self.commit = merge_base(root, self.tip)
        except Exception:
            self._walk[0].kill()
            self._walk[0].communicate()
            raise
        # --ignore-submodules=none: a `.gitmodules` the pull request brings (`ignore = all`) must
        # not hide a gitlink it adds inside a record folder.
        diff = ["diff", "--name-only", "-z", "--no-renames", "--ignore-submodules=none"]
        # The work tree against the commit, and the index too: a gitlink committed or staged
        # without its folder in the work tree is no change of the work tree's.
        [self._diff, self._staged] = _start(
            top, [*diff, self.commit, "--", *spec], [*diff, "--cached", self.commit, "--", *spec]
        )
        self._listed: dict[str, set[str]] = {}

    def tracked(self) -> set[str]:
        """Workspace-relative paths git tracks that were added, changed or deleted since the
        commit: committed, staged, or only edited in the work tree."""
        return self._collect("diff", self._diff) | self._collect("staged", self._staged)

    def untracked(self) -> set[str]:
        """Workspace-relative paths of files git does not track and does not ignore."""
        return self._collect("walk", self._walk)

    def _collect(self, name: str, started: tuple[subprocess.Popen, list[str]]) -> set[str]:
        if name not in self._listed:
            [out] = _finish([started])
            listed = set()
            for p in out.decode("utf-8", "surrogateescape").split("\0"):
                if not p:
                    continue
                base = p.rsplit("/", 1)[-1]
                control = git_control(base)
                control = control if control == ATTRIBUTES or (control == LFSCONFIG and "/" not in p) else None
                if p.startswith(self.prefix) and p != self.prefix:
                    rel = p[len(self.prefix) :]
                    # (the watched paths, and of the dot-files the spec lists, those git reads)
                    if _watched(rel) or control is not None:
                        listed.add(rel)
                elif control is not None and self.prefix.startswith(folder := p[: -len(base)]):
                    # An attributes file (or the LFS config) above the workspace applies to it too:
                    # named from the workspace.
                    listed.add("../" * (self.prefix.count("/") - folder.count("/")) + base)
            self._listed[name] = listed
        return self._listed[name]


def prefetch_changes(root: Path, ref: str) -> None:
    """Start git listing what changed since `ref` now, so that it runs while Python imports the
    rest of the doctor; changes_since() collects it. Errors are left for the real call to report."""
    key = (str(Path(root).resolve()), ref)
    if key not in _PREFETCHED:
        try:
            _PREFETCHED[key] = Changes(root, ref)
        except Exception:
            return


def share_changes(root: Path, ref: str, listing: Changes) -> None:
    """Hand a listing already collected to the next changes_since() for (root, ref): a command that
    lists the changes itself and then runs a --since doctor has git list them once."""
    _PREFETCHED[(str(Path(root).resolve()), ref)] = listing


def changes_since(root: Path, ref: str) -> Changes:
    """The listing prefetch_changes() started for (root, ref), or a new one."""
    return _PREFETCHED.pop((str(Path(root).resolve()), ref), None) or Changes(root, ref)


def ignored(root: Path, paths: list[Path]) -> list[str]:
    """The files at or under `paths` that git ignores (untracked, matched by an ignore pattern),
    workspace-relative; [] outside a repository or when git cannot say."""
    repo = repository(root)
    if repo is None or not paths:
        return []
    top = repo[0].resolve()
    rels = [os.path.relpath(Path(p).resolve(), top) for p in paths]
    if any(rel == ".." or rel.startswith(".." + os.sep) for rel in rels):
        return []
    try:
        out = _git(top, "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--", *rels)
    except GitError:
        return []
    prefix = repo_prefix(root)
    names = [name for name in out.decode("utf-8", "surrogateescape").split("\0") if name]
    return [name[len(prefix) :] if name.startswith(prefix) else name for name in names]


def repository(root: Path) -> tuple[Path, Path] | None:
    """(top level, absolute git dir) of the repository holding `root`, or None.

    Read from the `.git` folder (or a worktree's `.git` file) as git itself finds it: a doctor
    run asks this several times, and a `git rev-parse` process each time cost ~4 ms a call.
    git answers when its environment points elsewhere (GIT_DIR, GIT_WORK_TREE).
    None too when git is not installed: a command that must not run without it (the doctor's
    git rules, --since) calls need_git() first, the others (the index, a run's provenance) do
    without.
    """
    if shutil.which("git") is None:
        return None
    top = repo_top(root)
    if top is None:
        return None
    if not ("GIT_DIR" in os.environ or "GIT_WORK_TREE" in os.environ):
        git_dir = _git_dir(top / ".git")
        if git_dir is not None:
            return top, git_dir
    try:
        out = _git(Path(root), "rev-parse", "--show-toplevel", "--absolute-git-dir").decode().splitlines()
    except GitError:
        out = []
    told = [name for name in ("GIT_DIR", "GIT_WORK_TREE") if name in os.environ]
    if told == ["GIT_DIR"] and _own_git_dir(str(root)) == _resolved(os.environ["GIT_DIR"]):
        told = []  # (this very repository, as git names it to a hook: _env() lets git find it itself)
    if not told:
        return (Path(out[0]), Path(out[1])) if out else None  # (a .git that is no repository: none)
    expected = _git_dir(top / ".git")  # (None: not plain to see; git's answer is then taken)
    if (
        not out
        or Path(out[0]).resolve() != top.resolve()
        or (expected is not None and Path(out[1]).resolve() != expected.resolve())
    ):
        # A stray GIT_DIR or GIT_WORK_TREE (git sets them right in a hook) made git read another
        # repository, or none: git's checks would be skipped, or run on another tree, in silence.
        said = ", ".join(f"{name}={os.environ[name]}" for name in told)
        where = f"the repository {out[1]} with its top level at {out[0]}" if out else "no repository"
        raise GitError(
            f"the workspace is in the git repository at {top}, but git, told by {said}, reads {where}",
            "unset them (`env -u GIT_DIR -u GIT_WORK_TREE strataml ...`), or name this repository in both "
            f"(GIT_DIR={expected or top / '.git'} GIT_WORK_TREE={top})",
        )
    return Path(out[0]), Path(out[1])


def need_git(root: Path, hint: str) -> None:
    """Fail closed when `root` lies in a git repository (a `.git` upward) but git is not installed:
    rules that need git must not be skipped as if there were no repository. `hint`: what the
    calling command offers (the doctor: --no-git)."""
    if shutil.which("git") is None and repo_top(root) is not None:
        raise GitError("git is not installed, but this workspace is in a git repository", hint)


def _git_dir(dotgit: Path) -> Path | None:
    """The git dir a `.git` entry names, if it looks like one (HEAD and objects present); None to ask git."""
    found = dotgit
    if dotgit.is_file():
        try:
            text = dotgit.read_text("utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        if not text.startswith("gitdir:"):
            return None
        found = Path(text[len("gitdir:") :].strip())
        found = found if found.is_absolute() else (dotgit.parent / found)
        found = found.resolve()
        # A linked worktree keeps HEAD here and its objects in the common dir.
        return (
            found
            if (found / "HEAD").is_file() and ((found / "commondir").is_file() or (found / "objects").is_dir())
            else None
        )
    return found if (found / "HEAD").is_file() and (found / "objects").is_dir() else None


_ATTR = re.compile(rb"([^\0]*)\0filter\0([^\0]*)\0")


def _routed(attrs: bytes, cut: int) -> set[str]:
    """The paths (less their first `cut` characters: the repository prefix) whose filter is lfs
    in `git check-attr -z filter` output."""
    if b"\0lfs\0" not in attrs:  # (else no value is "lfs": each stands between NULs)
        return set()
    # Every (path, "filter", value) triple matches, so the scan moves record by record: linear.
    # (A pattern matching only "lfs" rescans each other path from every byte: quadratic.)
    return {m.group(1).decode("utf-8", "surrogateescape")[cut:] for m in _ATTR.finditer(attrs) if m.group(2) == b"lfs"}


def lfs_routed(root: Path, rels: list[str]) -> set[str] | None:
    """Which of the workspace paths `rels` .gitattributes routes through Git LFS; None outside a
    repository (or when git fails): no attributes apply yet."""
    repo = repository(root)
    if repo is None:
        return None
    prefix = repo_prefix(root)
    try:
        attrs = _git(
            repo[0],
            "check-attr",
            "-z",
            "--stdin",
            "filter",
            stdin=b"".join((prefix + p).encode("utf-8", "surrogateescape") + b"\0" for p in rels),
        )
    except GitError:
        return None
    return _routed(attrs, len(prefix))


def facts(
    root: Path,
    paths: list[str],
    expected: dict[str, tuple[str, int]] | None = None,
    *,
    pointer_limit: int = 1024,
    whole: bool = True,
    folders: Sequence[str] = (),
) -> GitFacts | None:
    """Index state, LFS routing and committed blob shape for `paths` (workspace-relative).

    `expected` maps recorded files to their (sha256, size): when the index holds exactly the
    canonical pointer for them (same blob id), git need not be asked for the blob at all.
    `whole`: the index is listed for the whole workspace folder, else for `paths` and `folders`
    only (whatever the index holds under them: a submodule among it is in `gitlinks`).
    """
    repo = repository(root)
    if repo is None:
        return None
    top, git_dir = repo
    prefix = repo_prefix(root)
    # The index listing runs aside while git checks the attributes here: two processes at once,
    # and each of our threads waits on its pipes without the GIL.
    listing = Aside(
        lambda: b"".join(
            # As arguments (git ls-files has no --pathspec-from-file): a newline in a path cannot split them.
            _git(top, "ls-files", "-z", "--stage", "--", *chunk)
            # whole: the workspace's folder; else a few records: their paths only, and .strataml in
            # any case (a checkout that folds case writes .Strataml there: TFC0001-W006)
            for chunk in (
                _paths([prefix or "."])
                if whole
                else [*_paths([prefix + p for p in (*paths, *folders)]), [f":(literal,icase){prefix}{LOCAL}"]]
            )
        )
    )
    attrs, failed = b"", None
    try:
        # Routing first: only LFS-routed paths need their blob id kept; for the rest, being in
        # the index is all that matters. (100,000 files make these outputs tens of MB.)
        attrs = _git(
            top,
            "check-attr",
            "-z",
            "--stdin",
            "filter",
            # Sorted: git keeps the attributes of the folders it is in and changes them as paths move
            # on; in the rules' order (every metadata file, then every data file) it went through each
            # folder twice: 0.09 s against 0.05 s for 20,000 paths.
            stdin=b"".join((prefix + p).encode("utf-8", "surrogateescape") + b"\0" for p in sorted(paths)),
        )
    except Exception as exc:  # (an interrupt goes up at once)
        failed = exc
    # When both fail, the listing's error is the one told (as when they ran one after the other).
    listed = listing.result()
    if failed is not None:
        raise failed
    # This thread holds the GIL while it reads these, and the rules wait for it (20,000 paths:
    # facts() 22-23 -> 16 ms of CPU): each row split in bytes, only its path decoded (a decode of
    # the whole listing holds it all as text at once: 100,000 paths, up to 4 bytes a character),
    # the paths matched to those asked in one set operation, git's attributes read only when some
    # value is "lfs".
    cut = len(prefix)
    lfs = _routed(attrs, cut)
    del attrs
    # A submodule's row has mode 160000 (searched for in the bytes first: most indexes hold none).
    linked = listed.startswith(b"160000 ") or b"\x00160000 " in listed
    rows = listed.split(b"\0")  # each "MODE OID STAGE\tPATH"
    del listed
    gitlinks: set[str] = set()
    if linked:
        links = (
            row.partition(b"\t")[2].decode("utf-8", "surrogateescape") for row in rows if row.startswith(b"160000 ")
        )
        gitlinks = {name[cut:] for name in links if name.startswith(prefix)}
    names = [row.partition(b"\t")[2].decode("utf-8", "surrogateescape") for row in rows if row]
    if prefix:
        names = [name[cut:] for name in names if name.startswith(prefix)]
    tracked = set(paths).intersection(names)
    # In any case: a checkout on a file system that folds case (macOS, Windows) writes .STRATAML/ into .strataml/.
    cut_local = len(LOCAL)
    local = frozenset(
        n
        for n in names
        if n[:1] == "." and n[:cut_local].lower() == LOCAL and (len(n) == cut_local or n[cut_local] == "/")
    )
    indexed = tuple(names)
    del names
    index: dict[str, str] = {}
    if lfs:
        for row in rows:
            meta, _, path = row.decode("utf-8", "surrogateescape").partition("\t")
            rel = path[cut:]
            if rel in lfs and rel in tracked and path.startswith(prefix):
                index[rel] = meta.split()[1]
    del rows
    blobs: dict[str, tuple[str, int]] = {}
    small: dict[str, bytes] = {}
    expected = expected or {}
    routed = sorted(p for p in lfs if p in index and not (p in expected and index[p] == pointer_blob_id(*expected[p])))
    if routed:
        checked = _git(
            top, "cat-file", "--batch-check", stdin="".join(f"{index[p]}\n" for p in routed).encode()
        ).splitlines()
        for path, line in zip(routed, checked):
            oid, _kind, size = line.decode().split()
            blobs[path] = (oid, int(size))
        want = [p for p in routed if blobs[p][1] < pointer_limit]
        if want:
            small = _read_batch(top, [blobs[p][0] for p in want], want)
    return GitFacts(
        top, prefix, git_dir, frozenset(tracked), frozenset(lfs), blobs, small, frozenset(gitlinks), local, indexed
    )


def pointer_blob_id(sha256: str, size: int) -> str:
    """The git (SHA-1) blob id of the canonical LFS pointer for this content."""
    from strataml.lfs import format_pointer

    body = format_pointer(sha256, size)
    return hashlib.sha1(b"blob %d\0" % len(body) + body).hexdigest()


def _read_batch(top: Path, objects: list[str], keys: list[str]) -> dict[str, bytes]:
    """Contents of `objects` (blob ids or REV:PATH) by one `git cat-file --batch`; missing ones absent.

    Names go in NUL-terminated (`-z`): a path holding a newline would otherwise end its name
    early and shift the answer of every object after it.
    """
    names = [o.encode("utf-8", "surrogateescape") for o in objects]
    try:
        out = _git(top, "cat-file", "--batch", "-z", stdin=b"".join(n + b"\0" for n in names))
    except GitError as exc:
        if "unknown switch" not in exc.stderr:
            raise
        return _read_each(top, names, keys)  # git before 2.36 has no -z
    return _answers(out, names, keys)


def _answers(out: bytes, names: list[bytes], keys: list[str]) -> dict[str, bytes]:
    """`git cat-file --batch` output, by key. git echoes a name it cannot find ("NAME missing"),
    so answers are matched against the name asked, never split at newlines."""
    result: dict[str, bytes] = {}
    pos = 0
    for key, name in zip(keys, names):
        echoed = next(
            (name + tail for tail in (b" missing\n", b" ambiguous\n") if out.startswith(name + tail, pos)), None
        )
        if echoed is not None:
            pos += len(echoed)
            continue
        end = out.index(b"\n", pos)
        _oid, _kind, size = out[pos:end].split()
        pos = end + 1
        result[key] = out[pos : pos + int(size)]
        pos += int(size) + 1
    return result


def _read_each(top: Path, names: list[bytes], keys: list[str]) -> dict[str, bytes]:
    """_read_batch() for git without `cat-file --batch -z`: each name is resolved on a command line
    of its own (a newline stays inside it), then the object ids (which hold none) are read in one batch."""
    found: dict[str, str] = {}
    for key, name in zip(keys, names):
        try:
            # (decoded as the file system does: the argument git gets is `name`, byte for byte)
            found[key] = _git(top, "rev-parse", "--verify", "--quiet", os.fsdecode(name)).decode().strip()
        except GitError as exc:
            if exc.returncode != 1:  # 1, silently: no such object; anything else is git failing
                raise
    if not found:
        return {}
    oids = list(found.values())
    out = _git(top, "cat-file", "--batch", stdin="".join(o + "\n" for o in oids).encode())
    return _answers(out, [o.encode() for o in oids], list(found))


def resolve_commit(root: Path, ref: str) -> str:
    """The commit `ref` names; a clear error when it is unknown (e.g. not fetched in a shallow clone)."""
    need_git(root, SINCE_HINT)
    if repository(root) is None:
        raise StrataError(
            f"--since {ref}: {root} is not inside a git repository", "history rules compare against git history"
        )
    try:
        commit = _git(Path(root), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()
        if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", commit):
            # (^HEAD is a range's exclusion: rev-parse answers ^SHA, which names no commit to compare with)
            raise StrataError(
                f"--since {ref}: names no single commit", "name a branch, tag or commit (e.g. HEAD, main)"
            )
        _refuse_ambiguous(Path(root), ref)
        return commit
    except GitError:
        try:  # (HEAD^{tree}, a tag of a blob: git knows it, and it is not a commit)
            kind = _git(Path(root), "cat-file", "-t", "--", ref).decode().strip()
        except GitError:
            kind = ""
        if kind and kind != "commit":
            raise StrataError(
                f"--since {ref}: it names a {kind}, not a commit", "name a branch, tag or commit (e.g. HEAD, main)"
            ) from None
        if not _has_head(Path(root)) and not _git(Path(root), "rev-list", "-n", "1", "--all").strip():
            raise StrataError(
                f"--since {ref}: this repository has no commits yet, so there is nothing to compare with",
                "commit the workspace first (git add -A && git commit -m 'Start'); changes after that commit are compared with it",
            ) from None
        shallow = is_shallow(Path(root))
        close = _close_refs(Path(root), ref)
        hint = (
            f"this is a shallow clone: fetch the base first, then run again: {_fetch_for(Path(root), ref)}"
            if shallow
            else f"did you mean {close}? (`git branch -a` and `git tag` list them)"
            if close
            else "check the name (a branch, tag or commit); `git fetch` it if it lives on a remote"
        )
        raise StrataError(f"--since {ref}: git does not know this revision", hint) from None


def _close_refs(root: Path, ref: str) -> str:
    """The branch or tag names spelled most like `ref` ('' when none is close): `main` in a
    repository whose first branch is `master`, `mian` for `main`."""
    from strataml.spelling import nearest

    try:  # (%(refname), cut here: git's :short form took 4 s over 225k refs, this 0.2)
        listed = _git(root, "for-each-ref", "--format=%(refname)", "refs/heads", "refs/remotes", "refs/tags")
    except GitError:
        return ""
    found: set[str] = set()
    for line in listed.decode("utf-8", "surrogateescape").split("\n"):  # (git's separator, not U+2028's)
        for prefix in ("refs/heads/", "refs/remotes/", "refs/tags/"):
            if line.startswith(prefix) and not line.endswith("/HEAD"):
                found.add(line[len(prefix) :])
    # (A name that is not UTF-8 could not be typed back as it would be shown.)
    names = sorted(n for n in found if not any("\udc80" <= c <= "\udcff" for c in n))
    close = nearest(ref, names, 2) or (
        [n for n in ("main", "master", "origin/main", "origin/master") if n in names and ref in ("main", "master")]
    )
    return " or ".join(close)


def _refuse_ambiguous(root: Path, ref: str) -> None:
    """A short name that two refs answer to with other commits (a tag `origin/main` beside the
    branch: git takes the tag, and says so only in a warning) is refused: whoever can push a tag
    would choose the base a change is judged against."""
    name = re.split(r"[~^@:]", ref, maxsplit=1)[0]
    if not name or name == "HEAD" or name.startswith("refs/") or re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", name):
        return  # (a full ref name, a full commit id: one meaning)
    # Where git looks for a short name, in its order (git-rev-parse(1), "Specifying revisions").
    candidates = [
        f"refs/{name}",
        f"refs/tags/{name}",
        f"refs/heads/{name}",
        f"refs/remotes/{name}",
        f"refs/remotes/{name}/HEAD",
    ]
    listed = _git(root, "for-each-ref", "--format=%(refname)%00%(objectname)%00%(*objectname)", "--", *candidates)
    found: dict[str, str] = {}
    for line in listed.decode("utf-8", "surrogateescape").splitlines():
        refname, objectname, peeled = (line.split("\0") + ["", ""])[:3]
        if refname in candidates:
            found[refname] = peeled or objectname
    short = (
        _git(root, "rev-parse", f"--disambiguate={name}").decode().split()
        if found and re.fullmatch(r"[0-9a-f]{4,39}", name)
        else []
    )
    if set(short) - set(found.values()):
        # A ref named like a short id of another object (a commit): git takes the ref, whoever made it.
        refname = next(iter(sorted(found, key=candidates.index)))
        raise StrataError(
            f"--since {ref}: the name is ambiguous: {refname} is named like the short commit id, and git takes the ref",
            "name the base by its full commit id (in CI: the pull request's base SHA)",
        )
    if len(set(found.values())) > 1:
        ordered = sorted(found, key=candidates.index)
        raise StrataError(
            f"--since {ref}: the name is ambiguous: {' and '.join(ordered)} answer to it with other commits, "
            f"and git takes {ordered[0]}",
            f"name the base in full ({ordered[-1]}, if that is the one) or by its commit id (in CI: the "
            "pull request's base SHA)",
        )


def _fetch_for(root: Path, ref: str) -> str:
    """The fetch that makes `ref` known in a shallow clone, in backticks as a hint shows it, with
    the history that holds where the change left it (the merge base: `--depth=1` fetched the
    base's tip alone, and what the base gained since the change began was judged as changed). A clone of one branch (CI's, and
    `clone --depth`) fetches nothing else by name: `git fetch origin main` leaves neither
    `main` nor `origin/main` behind, so the ref is written where `ref` names it. Quoted for a
    shell: a branch name may hold `;` or `$`, and the hint is made to be pasted."""
    import shlex

    try:
        remotes = _git(root, "remote").decode("utf-8", "replace").split()
    except GitError:
        remotes = []
    ref = re.split(r"[~^]", ref, maxsplit=1)[0]  # main~1, HEAD^: the history of what it starts from
    if not ref or ref == "HEAD":
        return "`git fetch --unshallow`"  # (HEAD's own history)
    remote, _, name = ref.partition("/")
    if remote in remotes and name:  # origin/main: the remote-tracking ref
        return f"`git fetch --unshallow {shlex.quote(remote)} {shlex.quote(f'{name}:refs/remotes/{remote}/{name}')}`"
    remote = "origin" if "origin" in remotes or not remotes else remotes[0]
    if re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", ref):  # a commit: fetched by its id, where the server allows it
        return f"`git fetch --unshallow {shlex.quote(remote)} {ref}`"
    branch = (
        f"`git fetch --unshallow {shlex.quote(remote)} {shlex.quote(f'{ref}:{ref}')}`"  # (main:main: a branch main)
    )
    if re.fullmatch(r"[0-9a-f]{4,39}", ref):  # a short commit id (no server fetches by one), or a branch so named
        return f"`git fetch --unshallow` (for a branch named {ref}: {branch})"
    return branch


def merge_base(root: Path, commit: str) -> str:
    """The commit a change is judged against: where it left `commit` (REF's tip, resolved), the
    merge base of it and HEAD. When the base branch moved on (a new version, a ledger entry on
    main), its tip holds work the change never saw, and comparing with it would call that work
    "changed". `commit` itself when it is an ancestor of HEAD (the same commit), or when no merge
    base is known (a shallow clone that fetched the base alone: the base as it is is all there is
    to compare with)."""
    try:
        found = _git(Path(root), "merge-base", commit, "HEAD").decode().strip()
    except GitError as exc:
        if exc.returncode == 1 or not _has_head(Path(root)):  # 1: no common ancestor known
            return commit
        raise
    return found or commit


def _has_head(root: Path) -> bool:
    try:
        _git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    except GitError:
        return False
    return True


def head_parents(root: Path) -> list[str]:
    """HEAD's parents as its commit names them (known in a shallow clone too, where the commits
    themselves may be absent); [] when git cannot say."""
    try:  # (the raw commit: a shallow clone's graft shows HEAD with no parents to `git show`)
        raw = _git(root, "cat-file", "commit", "HEAD").decode("utf-8", "replace")
    except GitError:
        return []
    head, _, _body = raw.partition("\n\n")
    return [line[7:].strip() for line in head.splitlines() if line.startswith("parent ")]


def is_shallow(root: Path) -> bool:
    """Whether the repository of `root` is a shallow clone."""
    return (Path(root) / ".git" / "shallow").exists() or _is_shallow(Path(root))


def _is_shallow(root: Path) -> bool:
    try:
        return _git(root, "rev-parse", "--is-shallow-repository").strip() == b"true"
    except GitError:
        return False


def files_at(root: Path, commit: str, folders: list[str]) -> set[str]:
    """Workspace-relative paths under `folders` as they were at `commit`."""
    top, _ = repository(root) or (None, None)
    assert top is not None
    prefix = repo_prefix(root)
    listed = b"".join(
        _git(top, "ls-tree", "-r", "-z", "--name-only", commit, "--", *chunk)
        for chunk in _paths([prefix + f for f in folders])
    ).split(b"\0")
    return {p.decode("utf-8", "surrogateescape")[len(prefix) :] for p in listed if p}


def modes_at(root: Path, commit: str, folder: str) -> dict[str, str]:
    """Git's mode (100644, 100755, 120000 symlink, 040000 tree, ...) of every entry under the
    workspace-relative `folder` at `commit`, the folders on the way included, in one git process.
    A folder that is a symlink at `commit` appears as one entry (git never follows it)."""
    top, _ = repository(root) or (None, None)
    assert top is not None
    prefix = repo_prefix(root)
    [spec] = _paths([prefix + folder])
    listed = _git(top, "ls-tree", "-r", "-t", "-z", "--full-tree", commit, "--", *spec).split(b"\0")
    out = {}
    for line in listed:
        head, _tab, path = line.partition(b"\t")
        if path:
            name = path.decode("utf-8", "surrogateescape")
            if name.startswith(prefix):
                out[name[len(prefix) :]] = head.split(b" ", 1)[0].decode()
    return out


def read_in_repository(root: Path, commit: str, repo_path: str) -> bytes | None:
    """A file at `commit` by its path from the repository's top (None when the commit has none)."""
    top, _ = repository(root) or (None, None)
    assert top is not None
    return _read_batch(top, [f"{commit}:{repo_path}"], [repo_path]).get(repo_path)


def read_at(root: Path, commit: str, paths: list[str]) -> dict[str, bytes]:
    """Contents of workspace-relative `paths` at `commit` (absent ones left out), in one git process."""
    top, _ = repository(root) or (None, None)
    assert top is not None
    prefix = repo_prefix(root)
    return _read_batch(top, [f"{commit}:{prefix}{p}" for p in paths], paths) if paths else {}


def tree_at(root: Path, commit: str, watched: Sequence[str] = WATCHED) -> dict[str, str]:
    """Git's mode of every file under the workspace's `watched` paths at `commit` (workspace-relative
    paths; folders are not listed), in one git process."""
    top, _ = repository(root) or (None, None)
    assert top is not None
    prefix = repo_prefix(root)
    [spec] = _paths([prefix + w for w in watched])
    listed = _git(top, "ls-tree", "-r", "-z", "--full-tree", commit, "--", *spec).split(b"\0")
    out = {}
    for line in listed:
        head, _tab, path = line.partition(b"\t")
        name = path.decode("utf-8", "surrogateescape")
        if name.startswith(prefix):
            out[name[len(prefix) :]] = head.split(b" ", 1)[0].decode()
    return out


def listed_at(root: Path, commit: str, folder: str = "") -> dict[str, str]:
    """Git's mode of every entry in the workspace's `folder` ('' for its top) at `commit`,
    folders and links included."""
    top, _ = repository(root) or (None, None)
    assert top is not None
    prefix = repo_prefix(root) + (folder + "/" if folder else "")
    spec = [f":(literal){prefix}"] if prefix else []  # (a folder named with its '/': what it holds)
    out = {}
    for line in _git(top, "ls-tree", "-z", "--full-tree", commit, "--", *spec).split(b"\0"):
        head, _tab, path = line.partition(b"\t")
        name = path.decode("utf-8", "surrogateescape")
        if name.startswith(prefix) and len(name) > len(prefix):
            out[name[len(prefix) :]] = head.split(b" ", 1)[0].decode()
    return out


def default_base(root: Path) -> str | None:
    """The branch a change is usually judged against: the remote's default branch as the clone
    knows it (origin/HEAD), else origin/main, main, origin/master or master, whichever exists."""
    top, _ = repository(root) or (None, None)
    if top is None:
        return None
    try:
        named = _git(top, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD").decode().strip()
        if named:
            return named
    except GitError:
        pass
    for candidate in ("origin/main", "main", "origin/master", "master"):
        try:
            _git(top, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}")
            return candidate
        except GitError:
            continue
    return None


def is_ancestor(root: Path, commit: str) -> bool:
    """Whether `commit` is an ancestor of HEAD (HEAD itself included), as far as the clone knows."""
    top, _ = repository(root) or (None, None)
    if top is None:
        return False
    try:
        _git(top, "merge-base", "--is-ancestor", commit, "HEAD")
    except GitError:
        return False
    return True
