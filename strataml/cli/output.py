"""Where command output goes: stdout, or a file (-o FILE); colour only on a TTY."""

from __future__ import annotations

import errno
import io
import os
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from strataml import atomic
from strataml.controls import shown
from strataml.paths import GIT_CONTROL, inside
from strataml.rootdir import MANAGED  # the folders records live in
from strataml.words import counted, listed

if TYPE_CHECKING:
    import click

# Hashing this much takes about a second here (SHA-NI, page cache warm): worth a bar.
MOMENT_BYTES = 512 * 1024 * 1024


def complete_refs(ctx: Any, _param: Any, incomplete: str, kinds: tuple[str, ...] = ()) -> list[Any]:
    """Shell completion for a REF argument: the refs of a saved index that is provably fresh
    (never a rebuild while the user waits on Tab), else the refs the layout's folders name (a
    listing of a few folders: after any change the index is not fresh, and Tab offered nothing);
    those starting with what was typed, of `kinds` when given."""
    from click.shell_completion import CompletionItem

    from strataml.read import saved
    from strataml.rootdir import find_root

    try:
        state = ctx.find_root().obj
        root = state.root() if state is not None else find_root()
        rows = saved.saved_rows(root)
        if rows:
            refs = sorted(r["id"] for what in ("datasets", "runs", "models", "experiments") for r in rows.get(what, []))
        else:
            refs = _refs_by_layout(root)
    except Exception:  # completion must never print a traceback into the user's shell
        return []
    wanted = tuple(f"{kind}:" for kind in kinds)
    return [CompletionItem(ref) for ref in refs if ref.startswith(incomplete) and ref.startswith(wanted or "")][:200]


def complete_models(ctx: Any, param: Any, incomplete: str) -> list[Any]:
    """complete_refs() of model versions only (what promote takes)."""
    return complete_refs(ctx, param, incomplete, ("model",))


def complete_runs(ctx: Any, param: Any, incomplete: str) -> list[Any]:
    """complete_refs() of runs only (what model register takes)."""
    return complete_refs(ctx, param, incomplete, ("run",))


MAX_LISTED = 100_000  # folder entries a completion lists at most (10k runs: ~10 ms)


def _refs_by_layout(root: Path) -> list[str]:
    """The refs the workspace's folders name by where they stand (datasets/NAME/VERSION,
    models/NAME/VERSION, runs/ID, experiments/NAME.yaml), unchecked; hidden ones (a staging
    folder) left out."""
    out: list[str] = []
    listed = 0

    def folders(path: Path) -> list[str]:
        nonlocal listed
        try:
            with os.scandir(path) as entries:
                names = []
                for entry in entries:
                    listed += 1
                    if listed > MAX_LISTED:
                        break
                    if not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False):
                        names.append(entry.name)
                return names
        except OSError:
            return []

    for kind, top in (("dataset", "datasets"), ("model", "models")):
        for name in folders(root / top):
            out += [f"{kind}:{name}@{version}" for version in folders(root / top / name)]
    out += [f"run:{name}" for name in folders(root / "runs")]
    try:
        out += [f"experiment:{p.stem}" for p in (root / "experiments").glob("*.yaml") if not p.name.startswith(".")]
    except OSError:
        pass
    return sorted(out)


def format_option(help_: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--format text|json` (as `fmt`), text by default; `help_` says what json prints."""
    import click

    from strataml.cli.choice import Choice

    return click.option("--format", "fmt", type=Choice(("text", "json")), default="text", show_default=True, help=help_)


def written(output: str, text: str, root: Path) -> Path:
    """Write `text` to the -o FILE a user named (write_output's rules: a folder that does not
    exist yet is made, e.g. card/), and return the path."""
    target = Path(output)
    write_output(target, text, root)
    return target


def from_here(ctx: click.Context, _param: click.Parameter, value: str | tuple[str, ...]) -> str | tuple[str, ...]:
    """A REF argument (or a tuple of them) with a path taken from where the user stands, as a
    shell completes it (`show ../models/x/2` from runs/): the path from the workspace root that
    the ref lookups read paths as. Anything else, or a path that is not there from here (a
    path typed from the root), is left as it was: the lookup says what is wrong with it."""
    if isinstance(value, tuple):
        return tuple(_from_here(ctx, v) for v in value)
    return _from_here(ctx, value)


def _from_here(ctx: click.Context, text: str) -> str:
    if ":" in text or not text:
        return text  # a ref (team-a/model:x@1 too)
    state = ctx.find_root().obj
    try:
        start, root = state.start(), state.root()
    except Exception:  # (outside a workspace: the command says so itself)
        return text
    full = os.path.normpath(os.path.join(start, text))
    if "/" not in text and text not in (".", "..") and (Path(start).resolve() == root or not os.path.lexists(full)):
        return text  # a bare run id or prefix; in a record's folder, a name there (`show 2` in models/x/) is a path
    # Inside by name or by where its folder really is (an absolute path through a symlink).
    rel = inside(full, root) if os.path.lexists(full) else None
    return Path(rel).as_posix() if rel is not None else text


def here(path: Path | str) -> str:
    """`path` as the user would type it: relative below where they stand, else absolute."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix() or "."
    except ValueError:
        return str(path)


def commit_step(root: Path, paths: list[Path], message: str) -> tuple[str, str | None]:
    """The exact git commands that record `paths` in the workspace `root`: what a command that
    wrote records says next, so that the doctor (which reads git) sees them committed. From
    inside the workspace the paths are as the user would type them; from elsewhere (-C) the
    commands go there first. Second, a note when git ignores files among them: the commands
    then add with -f (`*.csv` in .gitignore would leave the data out of the commit, and out of
    every clone)."""
    import shlex

    from strataml import gitfacts

    cwd = Path.cwd().resolve()
    top = Path(root).resolve()
    start = history_start(top)
    within = _stays(top, start)
    base = cwd if within else top
    # A history begun here holds the whole workspace (strataml.yaml, tfc/, .gitattributes), not just the record.
    names = ["-A"] if start else [shlex.quote(os.path.relpath(Path(p).resolve(), base)) for p in paths]
    go = "" if within else f"cd {shlex.quote(here(top))} && "
    hidden = gitfacts.ignored(top, paths)
    force = "-f " if hidden else ""
    step = f"{go}{start}git add {force}{' '.join(names)} && git commit -qm {shlex.quote(message)}"
    if not hidden:
        return step, None
    named = listed([shown(f) for f in hidden], 3)
    return step, (
        f"note: git ignores {named} (`git check-ignore -v` names the pattern); the add uses -f, as every "
        "clone needs them (else TFC0006-W014)"
    )


def say_next(root: Path, paths: list[Path], message: str, line: str, *, err: bool = False) -> None:
    """Print `line`, its `{step}` the git commands that commit `paths` (commit_step), and on
    stderr the note on files git ignores among them, if any: what every command that wrote
    records says last."""
    import click

    step, note = commit_step(root, paths, message)
    click.echo(shown(line.replace("{step}", step)), err=err)
    if note:
        click.echo(note, err=True)


def uncommitted_records(root: Path, rel: str) -> list[Path]:
    """The record folder `rel` lies in, when git tracks nothing of it yet, and for a model version
    the run that produced it, when git tracks nothing of that either: what a commit of a ledger
    or a signature must carry too (a clone of that commit alone has no such version)."""
    from strataml import atomic, gitfacts, loading
    from strataml.refs import RefError, parse_ref
    from strataml.workspace import LEDGER, record_folder

    folder = record_folder(rel)
    if folder is None or gitfacts.repository(root) is None or gitfacts.tracks(root, folder):
        return []
    out = [root / folder]  # (a ledger is its own "folder" here: a new one goes with its signature)
    if folder.startswith("models/") and not folder.endswith(f"/{LEDGER}"):
        try:
            raw = atomic.read_bytes(root, f"{folder}/model.yaml")
        except (OSError, atomic.Refused):
            raw = None
        data = loading.load_bytes(raw).data if raw is not None else None
        run = data.get("produced_by") if isinstance(data, dict) else None
        try:
            ref = parse_ref(run) if isinstance(run, str) else None
        except RefError:
            ref = None
        if ref is not None and ref.kind == "run" and not gitfacts.tracks(root, f"runs/{ref.name}"):
            out.append(root / "runs" / ref.name)
    return out


def _stays(top: Path, start: str) -> bool:
    """Whether commit_step's commands run where the user stands (else they `cd` to `top` first)."""
    cwd = Path.cwd().resolve()
    return cwd == top or (not start and top in cwd.parents)


def after_step(root: Path, path: Path) -> str:
    """`path` as the user types it once commit_step's commands ran (they may have gone to the workspace)."""
    top = Path(root).resolve()
    base = Path.cwd().resolve() if _stays(top, history_start(top)) else top
    return Path(os.path.relpath(Path(path).resolve(), base)).as_posix()


def history_start(top: Path) -> str:
    """What starts the history of the workspace at `top` when it is in no git repository yet (else
    nothing): run at `top` (`git init` in a subfolder would start it there), with the LFS filter
    that .gitattributes routes files through (without it, TFC0006-E013)."""
    from strataml.rootdir import repo_top

    return "" if repo_top(top) is not None else "git init -q && git lfs install --local && "


def wants_color(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":  # (a terminal that says it shows no escapes: Emacs' shell, some CI logs)
        return False
    return hasattr(stream, "isatty") and stream.isatty()


def emit(
    output: Path | None, write: Callable[[TextIO, bool], None], root: Path | None = None, summary: str = ""
) -> None:
    """Run `write(stream, color)` into stdout or into `output` (see write_output; `root`: the
    workspace); a file written is said on stderr, with `summary` (what a terminal would have shown
    last, such as the doctor's verdict), as index and dashboard say theirs."""
    if output is None or os.fspath(output) == "-":  # (`-o -`: stdout, as every -o takes it)
        write(sys.stdout, wants_color(sys.stdout))
        sys.stdout.flush()
        return
    buffer = io.StringIO()
    write(buffer, False)
    write_output(Path(output), buffer.getvalue(), root)
    import click

    click.echo(shown(f"Wrote {output}." + (f" {summary}" if summary else "")), err=True)


def write_output(output: Path, text: str, root: Path | None) -> None:
    """Write `text` to the file a user named with -o.

    Inside the workspace `root`, or the git repository it is a folder of, the file is written
    like every other file there (no symlink on the way, refused otherwise; missing folders made):
    what a repository holds is what a pull request wrote. Elsewhere the path is the user's explicit
    choice: its missing folders are made too (`-o "$RUNNER_TEMP/site/index.html"`); a character
    device or FIFO, or a symlink to one (`/dev/stdout`), is written through, never replaced by a
    regular file; anything else is replaced atomically (a symlink's target, not the link).
    """
    data = text.encode("utf-8")
    path = os.path.abspath(output)
    refuse_managed(path, root)  # (first: a folder of them must not be offered a file name inside it)
    if os.path.isdir(path):  # (`-o ''` is the current folder too: click makes it '.')
        from strataml.errors import StrataError

        hint = f"name a file, e.g. -o {os.path.join(str(output), 'report.json')}"
        raise StrataError(f"-o {output} is a folder: it needs the name of a file to write", hint)
    rel = inside(path, root) if root is not None else None
    if rel is not None:
        atomic.write_bytes(root, rel, data)  # type: ignore[arg-type]
        return
    # A git repository (the one a workspace is a folder of, a monorepo's ml/, or any other the
    # path lies in) holds what a pull request wrote: a symlink committed there (docs/notes.txt ->
    # ~/.bashrc) is never written through.
    from strataml.rootdir import repo_top

    link = _link_in_repository(path)
    if link is not None:
        from strataml.errors import StrataError

        raise StrataError(
            f"refusing to write {path}: {link[0]} on its way is a symlink the git repository at {link[1]} holds, "
            "which a pull request may have written",
            f"write to a path with no such link on it (where it leads: {os.path.realpath(path)}, if you trust it)",
        )
    for repo in (_repository_of(path), repo_top(root) if root is not None else None):
        rel = inside(path, repo) if repo is not None else None
        if repo is not None and rel is not None:
            atomic.write_bytes(repo, rel, data)
            return
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = 0
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        except OSError as exc:  # named as the user gave it
            raise OSError(exc.errno, exc.strerror, str(output)) from None
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
        except OSError as exc:  # (/dev/full: a write that fails names no file of its own)
            raise OSError(exc.errno, exc.strerror, str(output)) from None
        return
    real = os.path.realpath(path)
    try:
        atomic.write_bytes(Path(os.path.dirname(real)), os.path.basename(real), data)
    except OSError as exc:  # named as the user gave it, and where a symlink led
        named = f"{output} (a symlink to {real})" if os.path.islink(path) else str(output)
        if exc.errno == errno.ENOENT and os.path.lexists(real) and os.path.isdir(os.path.dirname(real)):
            raise _not_replaced(named, os.path.dirname(real)) from None
        raise OSError(exc.errno, exc.strerror, named) from None


def _not_replaced(named: str, folder: str) -> Exception:
    """-o FILE that is there, in a folder that takes no new file (/proc, /sys), where the file is
    written first: the system's "No such file or directory" was said of /proc/version."""
    from strataml.errors import StrataError

    return StrataError(
        f"cannot write {named}: the file is there, but {folder} takes no new file beside it, so it cannot "
        f"be replaced (the system says: {os.strerror(errno.ENOENT)})",
        "write to a folder that holds ordinary files: /proc and /sys hold only what the kernel puts there",
    )


def _link_in_repository(path: str) -> tuple[str, str] | None:
    """(the first symlink on `path`, its last part too, that lies in a git repository's folders;
    that repository's top), or None. A link outside every repository is the user's own (~/proj
    -> ~/code/proj, /proc/self/cwd) and is followed, its target checked the same way."""
    current = Path(os.path.abspath(path)).anchor
    for part in Path(os.path.abspath(path)).parts[1:]:
        step = os.path.join(current, part)
        if os.path.islink(step):
            holder = _holding_repository(os.path.realpath(current))
            if holder is not None:
                return step, holder
            step = os.path.realpath(step)
        current = step
    return None


def _holding_repository(folder: str) -> str | None:
    """The nearest folder at or above the real folder `folder` holding `.git` (no ceiling: a
    repository is what it is, whatever git is told to look for)."""
    return _upward(folder, _has_git)


def _repository_of(path: str) -> Path | None:
    """The nearest folder above `path`, by its name (no symlink followed: a linked folder there is
    what a repository may hold), that holds `.git`; None when there is none."""
    found = _upward(os.path.dirname(os.path.abspath(path)), _has_git, past_links=False)
    return Path(found) if found is not None else None


def _has_git(folder: str) -> bool:
    return os.path.lexists(os.path.join(folder, ".git"))


def _upward(folder: str, holds: Callable[[str], bool], past_links: bool = True) -> str | None:
    """The nearest folder at or above `folder` (by name) for which `holds` is true; with not
    `past_links`, a folder that is a symlink is never the one."""
    current = folder
    while True:
        if (past_links or not os.path.islink(current)) and holds(current):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


# What -o must never replace: the records, keys and policy the doctor judges, and git's own
# files (a report written over model.yaml or .git/config is a broken workspace, exit 0).
# Names compared case-folded: on macOS and Windows `TFC/keys` and `Strataml.yaml` are those files.
# CI's own folders (GitHub, Gitea, Forgejo, CircleCI): a report written there is a workflow.
CI_FOLDERS = (".github", ".gitea", ".forgejo", ".circleci")
NEVER = ("tfc", *CI_FOLDERS)  # trusted keys and contracts; CI workflows: not even a new file
STATE = ("locks", "cache")  # .strataml/'s folders that no output belongs in
# Policy and git's control files, by name in any folder: a new one there changes what git
# checks out or where a workspace begins.
MANAGED_FILES = (GIT_CONTROL - {".git"}) | {
    "strataml.yaml",
    ".pre-commit-config.yaml",
    "codeowners",  # (who must review a change: GitHub reads it at the top, in docs/ and .github/)
    # CI configurations read by name (GitLab, Travis, Azure Pipelines, Bitbucket, Jenkins)
    ".gitlab-ci.yml",
    ".travis.yml",
    "azure-pipelines.yml",
    "bitbucket-pipelines.yml",
    "jenkinsfile",
}


def refuse_managed(path: str, root: Path | None) -> None:
    """An error (exit 3: the report was not written, as for any output that cannot be; 2 would
    read as "errors found" to the CI script that runs the doctor) for an output path that is, or whose real target is, anything in the
    folders records live in (datasets/, experiments/, runs/, models/), a file named as policy or
    git's control files are, anything under tfc/ (trusted keys, contracts) or .github/ (CI
    workflows), or anything in a .git folder. In a record folder even a new file is refused: a
    record folder holds exactly what its record pins (else TFC0006-W001, and a changed version
    under --since), a stray file in models/ or runs/ breaks the layout (TFC0001-E002), and a
    new one could pass for a record, a spec, a ledger or a signature that every reader lists.
    Before, the first -o there wrote and the second was refused as a file of the records."""
    from strataml.errors import StrataError

    real = (
        os.path.realpath(path)
        if os.path.lexists(path)
        else os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
    )
    why = None
    if any(part.casefold() == ".git" for part in (*Path(real).parts, *Path(path).parts)):
        why = "it is inside a .git folder"
    else:
        # The workspace the file is in, whichever it is: -C names one, the path may lie in another.
        bases = {os.path.realpath(root), os.path.abspath(root)} if root is not None else set()
        bases |= {b for b in (_workspace_of(os.path.dirname(real)), _workspace_of(os.path.dirname(path))) if b}
        for base in bases:
            for candidate in {real, path}:
                if not candidate.startswith(base.rstrip(os.sep) + os.sep):
                    continue
                rel = Path(os.path.relpath(candidate, base))
                top = rel.parts[0].casefold()
                if top in NEVER or rel.name.casefold() in MANAGED_FILES or top in MANAGED:
                    why = f"it is {rel.as_posix()} in the workspace, where records, keys and policy live"
                elif top == ".strataml" and len(rel.parts) >= 2 and rel.parts[1].casefold() in STATE:
                    # (A lock replaced while a promote holds the old one no longer keeps the next out.)
                    why = f"it is {rel.as_posix()}, where strataml keeps its locks and cache"
        # The repository a workspace is a folder of (a monorepo's ml/): its CI workflows and git's
        # control files govern the workspace's checkouts as much as the workspace's own do.
        from strataml.rootdir import repo_top

        for candidate in {real, path} if why is None else ():
            repo = repo_top(
                Path(os.path.dirname(candidate))
            )  # (its folder may not exist yet: looked up from where it would be)
            if repo is None:
                continue
            rel = Path(os.path.relpath(candidate, repo))
            if rel.parts[0].casefold() in CI_FOLDERS or rel.name.casefold() in MANAGED_FILES:
                why = f"it is {rel.as_posix()} in the git repository {repo}, which CI and git read"
    if why:
        raise StrataError(
            f"not writing {path}: {why}",
            "write reports and exports to a new file outside datasets/, experiments/, runs/, models/, tfc/, .git/, "
            ".strataml/locks/, .strataml/cache/ and CI's folders (.github/, ...), not named as git's, CI's or "
            "StrataML's own files (strataml.yaml, .gitignore, CODEOWNERS, .gitlab-ci.yml, ...), e.g. -o report.json",
        )


def _workspace_of(folder: str) -> str | None:
    """The nearest folder at or above `folder` holding strataml.yaml, if any."""
    return _upward(os.path.abspath(folder), lambda f: os.path.isfile(os.path.join(f, "strataml.yaml")))


@contextmanager
def progress_bar(
    enabled: bool = True, label: str = "hashing {files} files", moment: int = MOMENT_BYTES
) -> Iterator[Callable[[int, int], Callable[[int], None] | None] | None]:
    """A progress bar on a terminal for work that takes more than a moment (`moment` bytes).

    Yields a factory called with (files, bytes) before the work (the doctor's hashing, what
    `dataset add` reads); it returns a tick function, or None when no bar is wanted (not a TTY,
    CI, machine-readable output, small job).
    """
    if not enabled or not sys.stderr.isatty() or os.environ.get("CI"):
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        transient=True,
        console=Console(stderr=True),
    )

    def start(files: int, total: int) -> Callable[[int], None] | None:
        if total < moment:
            return None
        if not bar.live.is_started:
            bar.start()
        # ("hashing {files} files" said "hashing 1 files")
        said = label.replace("{files} files", counted(files, "file")).replace("{files}", str(files))
        task = bar.add_task(said, total=total, files=files)
        return lambda n: bar.advance(task, n)

    try:
        yield start
    finally:
        if bar.live.is_started:
            bar.stop()
