"""`strataml init`: create a new workspace."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from strataml.cli.choice import Choice
from strataml.cli.main import State
from strataml.controls import shown
from strataml.scaffold import AT_ROOT, in_repository, install_source, plain
from strataml.scaffold import init as scaffold
from strataml.words import counted


@click.command(short_help="Create a workspace that passes the doctor.")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("--name", help="Workspace name (default: the folder's name).")
@click.option(
    "--ci-shards",
    type=click.IntRange(2, 256),
    metavar="N",
    help="Write a workflow that checks the workspace in N matrix jobs (each pulls only its shard's "
    "Git LFS content) and merges their reports into one (see `strataml doctor --shard`).",
)
@click.option("--format", "fmt", type=Choice(("text", "json")), default="text", show_default=True)
@click.pass_obj
def init(state: State, directory: str | None, name: str | None, ci_shards: int | None, fmt: str) -> int:
    """Create a StrataML workspace in DIRECTORY (default: the current folder).

    Writes strataml.yaml, the contracts (tfc/), the record folders, .gitignore, .gitattributes
    (Git LFS patterns), a GitHub workflow and a pre-commit config. Existing files are kept;
    .gitignore and .gitattributes are only extended. Refuses to run where strataml.yaml exists,
    inside another workspace, or when DIRECTORY is a symlink (name the folder it points to).
    The new workspace passes `strataml doctor --strict`. In a folder of an existing git
    repository (a monorepo's ml/), the workflow and the pre-commit config are written to run
    from the repository's root on that folder, and the next step printed moves them there.

    \b
    Example:
      strataml init lab && cd lab && git init -q && git lfs install --local && git add -A && \\
          git commit -qm 'A StrataML workspace'
    """
    if directory == "":  # (an unset shell variable, most likely: never the current folder by accident)
        from strataml.errors import StrataError

        raise StrataError("DIRECTORY is empty", "name the folder to create the workspace in, or give none for this one")
    target = (state.start() / directory) if directory else state.start()
    done = scaffold(target, name, ci_shards)
    target = target.resolve()
    created = {p for p, a in done if a == "created"}
    found = in_repository(target)
    moves, note = _to_root(target, found, created)
    if AT_ROOT[0] in created and not install_source():
        note = (note + " " if note else "") + (
            "Set STRATAML_INSTALL in the workflow to where your team installs StrataML from (a wheel's URL, "
            "git+https://HOST/ORG/strataml@TAG): its CI fails until then, and the bare name `strataml` on PyPI "
            "is not this tool."
        )
    if fmt == "json":
        doc = {"path": str(target), "files": [{"path": p, "action": a} for p, a in done]}
        if note:
            doc["note"] = note
        doc["next"] = _next_step(target, found, moves)
        click.echo(json.dumps(doc, indent=2))
        return 0
    for path, action in done:
        if action != "created":
            click.echo(f"  {action}: {path}")
    click.echo(f"Created a StrataML workspace in {shown(str(target))} ({counted(len(created), 'file')}).")
    if note:
        click.echo(f"Note: {note}")
    click.echo(f"Next: `{_next_step(target, found, moves)}`, then add data with `strataml dataset add`.")
    return 0


def _to_root(target: Path, found: tuple[Path, str] | None, created: set[str]) -> tuple[list[tuple[str, str]], str]:
    """For a workspace in a folder of an existing repository: (the moves, from the workspace, of
    the workflow and pre-commit config it wrote to the repository's root, where GitHub and
    pre-commit read them; what to tell the user). `found`: scaffold.in_repository(target).
    Nothing is moved over a file already there."""
    if found is None:
        return [], ""
    top, folder = found
    reads = (
        f"This workspace is the folder {shown(folder)}/ of the git repository {shown(str(top))}, and GitHub reads "
        "workflows, pre-commit its config, only at a repository's root"
    )
    if not plain(folder):
        return [], (
            f"{reads}: move them there by hand, each job of the workflow set to run in the folder "
            "(`defaults: run: working-directory:`) and the hook's entry given `-C` and the folder."
        )
    up = "../" * (folder.count("/") + 1)
    moves, kept = [], []
    for rel in AT_ROOT:
        if rel not in created:
            continue
        dest = rel
        if rel == AT_ROOT[0] and os.path.lexists(top / dest):
            dest = f".github/workflows/strataml-{target.name}.yml"
        if os.path.lexists(top / dest):
            kept.append(f"{up}{dest}")
            continue
        moves.append((rel, up + dest))
    note = f"{reads}: the two are written to run from there on {shown(folder)}/"
    if moves:
        note += ", and the next step moves them there"
    if kept:
        note += f"; {' and '.join(kept)} exist already: merge what init wrote here into them by hand"
    return moves, note + "."


def _next_step(target: Path, found: tuple[Path, str] | None, moves: list[tuple[str, str]]) -> str:
    """The exact commands to start the history (the doctor reads git), from where the user stands."""
    import shlex

    from strataml.cli.output import here, history_start

    where = here(target)
    go = "" if where == "." else f"cd {shlex.quote(where)} && "
    # In a repository already: its LFS filter may still be missing there (TFC0006-E013).
    start = history_start(target) or "git lfs install --local && "
    # `git add -A` with no path stages the whole repository: in a folder of one, only the
    # workspace and what moved.
    if found is None:
        return f"{go}{start}git add -A && git commit -qm 'A StrataML workspace'"
    steps = []
    for rel, dest in moves:
        if os.path.dirname(rel):  # (a folder under the repository's root, which exists)
            steps.append(f"mkdir -p {shlex.quote(os.path.dirname(dest))}")
        steps.append(f"mv {shlex.quote(rel)} {shlex.quote(dest)}")
    if any(rel == AT_ROOT[0] for rel, _ in moves):
        # Only the folders the move leaves empty (a .github/ of the folder's own keeps its files).
        workflows = target / ".github" / "workflows"
        if os.listdir(workflows) == ["strataml.yml"]:
            steps.append(
                "rmdir .github/workflows" + (" .github" if os.listdir(target / ".github") == ["workflows"] else "")
            )
    added = "".join(f" {shlex.quote(dest)}" for _, dest in moves)
    moved = "".join(f"{step} && " for step in steps)
    return f"{go}{moved}{start}git add -A .{added} && git commit -qm 'A StrataML workspace'"
