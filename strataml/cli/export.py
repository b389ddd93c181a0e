"""`strataml export`: records in other ecosystems' formats (each format an extra)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from strataml.cli.main import State
from strataml.cli.output import inside, write_output


@click.group()
def export() -> None:
    """Write records in the formats other tools read.

    \b
    strataml export model-card model:NAME@V [-o FILE]   a Hugging Face model card (modelcard extra)
    """


@export.command("model-card")
@click.argument("ref")
@click.option("-o", "--output", metavar="FILE", help="Where to write README.md ('-' or nothing: stdout).")
@click.option("--license", "license_", metavar="SPDX", help="The model's licence (default: its `license` tag).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("text", "json")),
    default="text",
    show_default=True,
    help="json: a summary of what was written (needs -o FILE).",
)
@click.pass_obj
def model_card(state: State, ref: str, output: str | None, license_: str | None, fmt: str) -> int:
    """Write a model version as a Hugging Face model card (README.md with YAML metadata).

    \b
    The metadata: license, datasets, `model-index` with every evaluation metric and the
    dataset it came from (its name, and its digest as the revision); the body: lineage
    (datasets, experiment, run with its code commit), the gate receipt, the lifecycle
    history and the signatures. huggingface_hub's own ModelCard reads the card back before
    it is written. Needs the modelcard extra: pip install 'strataml[modelcard]'.

    \b
    Examples:
      strataml export model-card model:iris-classifier@1 -o card/README.md
      strataml export model-card model:iris-classifier --license MIT -o README.md --format json
    """
    from strataml.export.modelcard import card
    from strataml.read import saved
    from strataml.read.query import Graph

    if fmt == "json" and output in (None, "-"):
        raise click.UsageError("--format json prints a summary: write the card itself with -o FILE")
    root = state.root()
    index, _rebuilt = saved.current(root)
    text, summary = card(Graph(index), ref, license_)
    if output in (None, "-"):
        click.echo(text, nl=False)
        return 0
    target = Path(str(output))
    if inside(os.path.abspath(target), root) is None:
        target.parent.mkdir(parents=True, exist_ok=True)  # a folder the user named, e.g. card/
    write_output(target, text, root)
    summary = {"path": str(target), "bytes": len(text.encode("utf-8")), **summary}
    if fmt == "json":
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(f"Wrote {target}: the model card of {summary['ref']} ({summary['metrics']} metrics).")
        if not summary["license"]:
            click.echo("  note: no licence recorded; pass --license SPDX (or tag the model license=...)", err=True)
    return 0
