"""`strataml init`: create a new workspace."""

from __future__ import annotations

import json
from pathlib import Path

import click

from strataml.cli.choice import Choice
from strataml.cli.main import State
from strataml.scaffold import init as scaffold


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
    The new workspace passes `strataml doctor --strict`.

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
    if fmt == "json":
        click.echo(json.dumps({"path": str(target), "files": [{"path": p, "action": a} for p, a in done]}, indent=2))
        return 0
    for path, action in done:
        if action != "created":
            click.echo(f"  {action}: {path}")
    created = sum(1 for _, a in done if a == "created")
    click.echo(f"Created a StrataML workspace in {target} ({created} files).")
    click.echo(f"Next: {_next_step(target)}")
    return 0


def _next_step(target: Path) -> str:
    """The exact commands to start the history (the doctor reads git), from where the user stands."""
    import shlex

    from strataml.cli.output import here, history_start

    where = here(target)
    go = "" if where == "." else f"cd {shlex.quote(where)} && "
    # In a repository already: its LFS filter may still be missing there (TFC0006-E013).
    start = history_start(target) or "git lfs install --local && "
    return (
        f"`{go}{start}git add -A && git commit -qm 'A StrataML workspace'`, then add data with `strataml dataset add`."
    )
