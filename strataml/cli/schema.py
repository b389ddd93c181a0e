"""`strataml schema KIND`: print a packaged JSON Schema (for editors and reviewers)."""

from __future__ import annotations

import json

import click

from strataml import schemas
from strataml.cli.choice import Choice


@click.command()
@click.argument("kind", type=Choice(schemas.KINDS), metavar="KIND")
def schema(kind: str) -> int:
    """Print the JSON Schema for one metadata file kind.

    \b
    KIND is one of:
      workspace     strataml.yaml
      dataset       datasets/NAME/VERSION/dataset.yaml
      experiment    experiments/NAME.yaml
      run           runs/ID/run.yaml
      model         models/NAME/VERSION/model.yaml
      gate          models/NAME/VERSION/gate.json
      ledger-entry  one line of models/NAME/lifecycle.jsonl
      index         what `strataml index` writes
      keys          tfc/keys/keys.yaml
      diff          what `strataml diff --format json` writes
      federation    what `strataml index --federate` writes

    \b
    Examples:
      strataml schema run | less
      mkdir -p .strataml && strataml schema dataset > .strataml/dataset.schema.json
    (the second for your editor's YAML language server to check dataset.yaml files as you type)
    """
    click.echo(json.dumps(schemas.bundled(kind), indent=2))
    return 0
