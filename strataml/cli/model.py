"""`strataml model register`: turn a run into a model version with a gate receipt."""

from __future__ import annotations

import json
from pathlib import Path

import click

from strataml.cli.choice import Choice
from strataml.cli.main import KindGroup, State
from strataml.cli.output import complete_runs, from_here
from strataml.controls import shown
from strataml.models import register


@click.group(cls=KindGroup)
def model() -> None:
    """Work with model versions (TFC-0004).

    \b
    Examples:
      strataml model register run:ID --name iris-classifier
      strataml list models
      strataml show model:iris-classifier@1
    """


@model.command("register")
@click.argument("run_ref", shell_complete=complete_runs, callback=from_here)
@click.option("--name", required=True, help="Model name, e.g. iris-classifier.")
@click.option("--version", "version", help="Version to create (default: the next integer).")
@click.option("--format", "fmt", type=Choice(("text", "json")), default="text", show_default=True)
@click.pass_obj
def register_command(state: State, run_ref: str, name: str, version: str | None, fmt: str) -> int:
    """Register the model of RUN_REF (run:ID) as models/NAME/VERSION/.

    Copies the run's model files, report and metrics (checked against the run's sha256),
    writes model.yaml and gate.json: every gate of the experiment, the observed value, PASS or
    FAIL. A failing gate still registers; promotion refuses it. Registering the same run again
    names the existing version and changes nothing.

    \b
    Example:
      strataml model register run:20261122T200038Z-iris-logreg-448b2a --name iris-classifier

    Exit codes: 0 registered (or registered already), 2 refused by a rule (a failed run or one
    that saved no model, doctor errors, a version the doctor would reject), 3 it could not be
    done (no such run, a file that cannot be read or written). A signature the signing policy
    asks for is no refusal (only a version that is there can be signed): the output says to
    sign it before committing it.
    """
    result = register(state.root(), run_ref, name, version)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "model": result.ref,
                    "folder": str(result.folder),
                    "created": result.created,
                    "gate": result.gate_status,
                    "metrics_unchecked": result.unchecked,
                    "unsigned": result.unsigned,
                }
            )
        )
    elif result.created:
        from strataml.cli.output import here, say_next

        click.echo(shown(f"Registered {result.ref} in {here(result.folder)}: gate {result.gate_status}"))
        if result.unsigned:
            click.echo(shown(f"  note: {result.unsigned}"))
        if result.unchecked:
            click.echo(
                shown(
                    f"warning: the gate receipt is made from run.yaml's metrics, which were not checked against a "
                    f"file the run wrote: {result.unchecked} (`strataml doctor --strict --since` fails on such a run, "
                    "TFC0003-W001)"
                ),
                err=True,
            )
        say_next(
            state.root(), [Path(result.folder)], str(result.ref), "Next: `{step}`, then `strataml doctor --strict`."
        )
    else:
        click.echo(
            shown(f"{run_ref} is already registered as {result.ref} (nothing changed): gate {result.gate_status}")
        )
    return 0
