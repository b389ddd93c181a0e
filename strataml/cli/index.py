"""`strataml index`: build the lineage graph JSON every viewer reads."""

from __future__ import annotations

from pathlib import Path

import click

from strataml.cli.main import State
from strataml.cli.output import write_output


@click.command()
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="Where to write the index ('-' for stdout). Default: .strataml/index.json in the workspace.",
)
@click.option(
    "--timestamp", is_flag=True, help="Add generated_at (the index is then no longer byte-identical between builds)."
)
@click.pass_obj
def index(state: State, output: str | None, timestamp: bool) -> int:
    """Build the lineage graph: datasets -> runs -> models, with health counts.

    \b
    Nodes are dataset versions, experiments, runs and model versions with every attribute
    of their metadata, lifecycle state, signature, files, ledger history and gate receipt,
    and the doctor's finding counts; the findings are listed once; edges point the way data
    flows. The same repository state always gives byte-identical
    output (TFC-0008, `strataml schema index`). `list`, `show` and `lineage` rebuild the
    saved index themselves when the repository changed, so running this is never required.
    When nothing changed since the saved index was built it is reused ("Up to date"); after
    a change only the records the change can reach are read and checked again.
    """
    from strataml.read import proof, saved
    from strataml.read.build import dumps
    from strataml.times import utc_now

    root = state.root()
    looked = proof.probe(root)
    if not timestamp and (fresh := saved.fresh_text(root, looked)) is not None:
        # Nothing changed since the saved index was built (proven without a walk): it is the build.
        text, counts = fresh
        if output == "-":
            click.echo(text, nl=False)
            return 0
        target = root / saved.INDEX if output is None else Path(output)
        if output is not None:
            write_output(target, text, root)
        verb = "Wrote" if output is not None else "Up to date:"
        click.echo(f"{verb} {target} ({counts['nodes']} nodes, {counts['edges']} edges).", err=True)
        return 0
    # As a reader does: only the folders that changed listed again, the rest kept from the last build.
    walked = proof.freshness(root, looked)
    before = saved.previous(root, walked)
    built, volatile = saved.made(root, utc_now() if timestamp else None, walked.entries, previous=before)
    text = dumps(built, before)
    if output == "-":
        click.echo(text, nl=False)
        return 0
    if output is None:
        saved.save(root, built, text, None if timestamp else walked, volatile=volatile, before=before)
        target = root / saved.INDEX
    else:
        target = Path(output)
        write_output(target, text, root)
    click.echo(f"Wrote {target} ({len(built['nodes'])} nodes, {len(built['edges'])} edges).", err=True)
    return 0
