"""`strataml index`: build the lineage graph JSON every viewer reads."""

from __future__ import annotations

from pathlib import Path

import click

from strataml.atomic import write_text
from strataml.cli.main import State
from strataml.doctor import engine
from strataml.lineage import build, dumps
from strataml.workspace import load

DEFAULT = Path(".strataml") / "index.json"


@click.command()
@click.option("-o", "--output", metavar="FILE", help="Where to write the index ('-' for stdout). Default: .strataml/index.json in the workspace.")
@click.pass_obj
def index(state: State, output: str | None) -> int:
    """Build the lineage graph: datasets -> runs -> models, with health counts.

    \b
    Nodes are dataset versions, experiments, runs and model versions with their key
    attributes and doctor finding counts; edges point the way data flows. The same
    repository state always gives byte-identical output (TFC-0008, `strataml schema index`).
    """
    root = state.root()
    workspace = load(root)
    text = dumps(build(workspace, engine.run(workspace)))
    if output == "-":
        click.echo(text, nl=False)
        return 0
    target = Path(output) if output else root / DEFAULT
    write_text(target, text)
    click.echo(f"Wrote {target} ({len(workspace.records)} nodes).", err=True)
    return 0
