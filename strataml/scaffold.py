"""`strataml init`: lay out a new workspace that passes `strataml doctor --strict`."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from strataml import atomic
from strataml.contracts import documents
from strataml.controls import shown
from strataml.errors import StrataError
from strataml.refs import valid_name
from strataml.rootdir import holding
from strataml.workspace import CONFIG, MANAGED

# Lines these files must hold; existing files are extended, never replaced.
MERGED = {".gitignore", ".gitattributes"}


@dataclass(frozen=True)
class Planned:
    path: str
    text: str


# The files GitHub and pre-commit read only at a repository's root (see in_repository).
AT_ROOT = (".github/workflows/strataml.yml", ".pre-commit-config.yaml")
# A folder a workflow names as it is (in YAML, in a shell word): nothing to quote.
_PLAIN_FOLDER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*")


# What a workflow may carry as STRATAML_INSTALL as it is: a URL or a requirement, no quoting needed.
_INSTALLABLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9+.:/@_~%=-]*")


def install_source() -> str:
    """Where CI installs this very strataml from, when pip recorded it (PEP 610's direct_url.json):
    a git URL pinned to its commit, or an https archive; else "" (an index, a local folder, an
    editable checkout: nothing a CI runner can reach), and the workflow asks for it. Never the
    bare name: `strataml` on PyPI is not this tool, and whoever registered it would run in CI."""
    import json
    from importlib import metadata
    from urllib.parse import urlsplit

    try:
        recorded = json.loads(metadata.distribution("strataml").read_text("direct_url.json") or "null")
    except (metadata.PackageNotFoundError, ValueError, OSError):
        return ""
    if not isinstance(recorded, dict) or not isinstance(recorded.get("url"), str):
        return ""
    url, vcs, archive = recorded["url"], recorded.get("vcs_info"), recorded.get("archive_info")
    parts = urlsplit(url)
    if parts.scheme != "https" or "@" in parts.netloc:  # (a credential in it: never written into a workflow)
        return ""
    if isinstance(vcs, dict) and vcs.get("vcs") == "git" and re.fullmatch(r"[0-9a-f]{40}", str(vcs.get("commit_id"))):
        source = f"git+{url}@{vcs['commit_id']}"
    elif isinstance(archive, dict):
        source = url
    else:
        return ""
    return source if _INSTALLABLE.fullmatch(source) else ""


def in_repository(target: Path) -> tuple[Path, str] | None:
    """(the git repository's root, the workspace's folder in it) when `target` would be a folder
    below the root of an existing repository: a monorepo's `ml/`. Its workflow and pre-commit
    config are then written to run from that root on the folder, for the user to move there
    (init writes only inside its workspace)."""
    from strataml.rootdir import repo_top

    target = target.resolve()
    top = repo_top(target)  # (a folder not made yet: git's lookup upward starts where it would be)
    if top is None or top == target:
        return None
    return top, target.relative_to(top).as_posix()


def plain(folder: str) -> bool:
    """Whether a workflow and a hook can name `folder` as it is (else init leaves them as at a root)."""
    return _PLAIN_FOLDER.fullmatch(folder) is not None


def plan(name: str, ci_shards: int | None = None, folder: str | None = None) -> list[Planned]:
    """Every file a new workspace gets, strataml.yaml last (its presence marks a finished init).
    `ci_shards`: the workflow checks the workspace in that many matrix jobs, merged. `folder`:
    the workspace's folder in its repository (in_repository), where the workflow and the
    pre-commit hook work from the repository's root; None at the root."""
    tpl = resources.files(__package__).joinpath("templates")
    workflow = tpl.joinpath("github/strataml.yml").read_text("utf-8")
    if ci_shards is not None:
        workflow = (
            tpl.joinpath("github/strataml-shards.yml")
            .read_text("utf-8")
            .replace("{shards}", ", ".join(str(k) for k in range(1, ci_shards + 1)))
            .replace("{n}", str(ci_shards))
        )
    workflow = workflow.replace("{install}", install_source())
    pre_commit = tpl.joinpath("pre-commit-config.yaml").read_text("utf-8")
    if folder is not None and plain(folder):
        workflow, pre_commit = (
            _from_root(workflow, folder),
            pre_commit.replace("entry: strataml doctor", f"entry: strataml -C {folder} doctor"),
        )
    files = [Planned(f"{managed}/.gitkeep", "") for managed in MANAGED]
    files += [Planned(f"tfc/{doc}", text) for doc, text in documents().items()]
    files += [
        Planned("tfc/keys/.gitkeep", ""),
        Planned(".gitignore", tpl.joinpath("gitignore").read_text("utf-8")),
        Planned(".gitattributes", tpl.joinpath("gitattributes").read_text("utf-8")),
        Planned(AT_ROOT[0], workflow),
        Planned(AT_ROOT[1], pre_commit),
        Planned(CONFIG, tpl.joinpath("strataml.yaml").read_text("utf-8").replace("{name}", name)),
    ]
    return files


def _from_root(workflow: str, folder: str) -> str:
    """The workflow as it runs from the repository's root on the workspace in `folder`: each job
    that checks the repository out runs its commands there (its SARIF file is written outside
    the checkout); a job with no checkout (the matrix's merge, on the shards' reports) has no
    such folder and keeps its own. Its code scanning category names the folder: two workspaces of one
    repository must not replace each other's results."""
    lines = workflow.splitlines(keepends=True)
    heads = [i for i, line in enumerate(lines) if _JOB.fullmatch(line)]
    out = lines[: heads[0]] if heads else lines
    for n, head in enumerate(heads):
        job = lines[head : heads[n + 1] if n + 1 < len(heads) else len(lines)]
        if any("uses: actions/checkout@" in line for line in job):
            text = "".join(job).replace(
                "    runs-on: ubuntu-latest\n",
                f"    runs-on: ubuntu-latest\n    defaults:\n      run:\n        working-directory: {folder}\n",
                1,
            )
            job = [text]
        out += job
    text = "".join(out).replace("\nname: strataml\n", f"\nname: strataml {folder}\n", 1)
    return text.replace("category: strataml\n", f"category: strataml-{folder.replace('/', '-')}\n")


_JOB = re.compile(r"  [A-Za-z0-9_-]+:\n")  # a job's first line, under `jobs:`


def init(target: Path, name: str | None = None, ci_shards: int | None = None) -> list[tuple[str, str]]:
    """Create the workspace in `target`; returns (path, what happened) for each file."""
    if target.is_symlink():  # (the folders above it are the user's path; the one named must be itself)
        import shlex

        real = target.resolve()
        raise StrataError(
            f"{shown(str(target))} is a symlink (to {shown(os.readlink(target))}): init does not write through one",
            f"name the folder it points to: `strataml init {shlex.quote(str(real))}`"
            if real.is_dir()
            else "it points to no folder; name a folder, or a path that does not exist yet",
        )
    # The nearest part of the path that is there: a link to nothing would have its missing
    # target made (anywhere it points) by the folders created below it, as DIR itself would.
    there = next((p for p in target.parents if os.path.lexists(p)), None)
    if there is not None and there.is_symlink() and not there.exists():
        raise StrataError(
            f"{shown(str(there))} is a symlink to nothing (to {shown(os.readlink(there))}): "
            "init does not make the folder it points to",
            "create that folder first, or name a DIR whose folders exist or are not links",
        )
    target = target.resolve()
    if (target / CONFIG).exists():
        raise StrataError(
            f"{target} already holds a workspace ({CONFIG} exists)", "nothing was changed; run `strataml doctor` there"
        )
    if target.exists() and not target.is_dir():
        raise StrataError(f"{target} exists and is not a folder", "choose another DIR")
    outer = holding(target.parent)  # (a strataml.yaml in a folder above)
    if outer is not None:  # its records would be strays of the outer one, and the outer's readers would never see them
        raise StrataError(
            f"{target} is inside the workspace {outer}: a workspace cannot hold another",
            f"create it outside {outer}, or add records to that workspace; nothing was changed",
        )
    inner = _held(target) if target.is_dir() else None
    if inner is not None:  # its records would be no one's: the outer doctor (and its CI gate) never reads them
        raise StrataError(
            f"{target} holds the workspace {inner}: a workspace cannot hold another",
            f"create it elsewhere, or use {inner} itself; nothing was changed",
        )
    name = name or target.name
    if not valid_name(name):
        raise StrataError(
            f"{name!r} is not a valid workspace name", "pass --name with letters, digits, '.', '_' or '-'"
        )
    repository = in_repository(target)
    planned = plan(name, ci_shards, repository[1] if repository is not None else None)
    if target.is_dir():
        for item in planned:  # checked before anything is written: a refusal leaves nothing half-made
            atomic.check(target, item.path)
    target.mkdir(parents=True, exist_ok=True)  # the folder the user named: its own path is theirs to choose
    done = []
    for item in planned:
        existing = atomic.read_bytes(target, item.path)
        if existing is not None and item.path in MERGED:
            text = existing.decode("utf-8")
            missing = [
                ln
                for ln in item.text.splitlines()
                if ln.strip() and not ln.startswith("#") and ln not in text.splitlines()
            ]
            if missing:
                atomic.write_text(
                    target,
                    item.path,
                    text + ("" if text.endswith("\n") or not text else "\n") + "\n".join(missing) + "\n",
                )
                done.append((item.path, "extended"))
            else:
                done.append((item.path, "kept"))
        elif existing is not None:
            done.append((item.path, "kept (already there)"))
        else:
            atomic.write_text(target, item.path, item.text)
            done.append((item.path, "created"))
    return done


# How many folders init looks through for a workspace below its target (a large checkout is
# looked through this far, then taken as holding none).
HELD_LOOK = 20_000


def _held(target: Path) -> Path | None:
    """A workspace (a strataml.yaml) in a folder below `target`, if any, looked for level by level
    (one beside a deep tree is found). Not entered: hidden folders (.git, .venv), links, and
    installed or vendored code (a virtual environment, site-packages, strataml's own package:
    it carries an example workspace); the look stops after HELD_LOOK folders."""
    from collections import deque

    from strataml.rootdir import CONFIG

    queue, seen = deque([str(target)]), 0
    while queue and seen < HELD_LOOK:
        top = queue.popleft()
        seen += 1
        try:
            entries = list(os.scandir(top))
        except OSError:
            continue  # (a folder it may not read is not looked in)
        names = {e.name for e in entries}
        if top != str(target) and CONFIG in names:
            return Path(top)
        if "pyvenv.cfg" in names or (os.path.basename(top) == "strataml" and "__init__.py" in names):
            continue  # (a virtual environment; strataml's own package, vendored: not another Python package)
        queue.extend(
            e.path
            for e in sorted(entries, key=lambda e: e.name)
            if e.is_dir(follow_symlinks=False) and not e.name.startswith(".") and e.name not in _INSTALLED
        )
    return None


_INSTALLED = frozenset({"site-packages", "dist-packages", "__pypackages__", "node_modules"})
