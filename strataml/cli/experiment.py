"""`strataml experiment new`: start an experiment spec."""

from __future__ import annotations

import click

from strataml.cli.choice import Choice
from strataml.cli.main import KindGroup, State
from strataml.cli.output import after_step, say_next
from strataml.controls import json_text, shown
from strataml.experiments import SKLEARN_MODELS, NewExperiment, create


@click.group(cls=KindGroup)
def experiment() -> None:
    """Work with experiment specs (TFC-0003).

    \b
    Examples:
      strataml experiment new iris-logreg --dataset dataset:iris@1 --register iris-classifier
      strataml list experiments
      strataml report experiment:iris-logreg
    """


@experiment.command("new", short_help="Write a commented spec, experiments/NAME.yaml.")
@click.argument("name")
@click.option(
    "--dataset", "dataset", required=True, metavar="REF", help="The input dataset version, e.g. dataset:iris@1."
)
@click.option("--plugin", default="sklearn", show_default=True, help="The plugin that runs it (`strataml plugins`).")
@click.option(
    "--file", "file", metavar="NAME", help="Which CSV file of the dataset version (needed when it records several)."
)
@click.option("--target", metavar="COL", help="The label column (default: the dataset's column with role target).")
@click.option(
    "--model", metavar="TYPE", help=f"The model type (sklearn: {', '.join(SKLEARN_MODELS)}; default the first)."
)
@click.option("--register", "register", metavar="MODEL", help="Register each run's model as a version of MODEL.")
@click.option(
    "--gate", "gates", multiple=True, metavar="EXPR", help="A gate, e.g. 'test_accuracy >= 0.9' (repeatable)."
)
@click.option("--format", "fmt", type=Choice(("text", "json")), default="text", show_default=True)
@click.pass_obj
def new(
    state: State,
    name: str,
    dataset: str,
    plugin: str,
    file: str | None,
    target: str | None,
    model: str | None,
    register: str | None,
    gates: tuple[str, ...],
    fmt: str,
) -> int:
    """Write experiments/NAME.yaml: a commented spec that `strataml run` takes as it is.

    The dataset must exist and record a CSV file (--file picks one of several); its recorded
    columns are checked for the target. Existing specs are never replaced.

    Exit codes: 0 written; 2 refused by a rule (a target the dataset does not record, a gate on
    a metric the plugin never writes, a name that collides with a spec's, no column to train on
    besides the target); 3 a usage error (no such dataset, model type or plugin, no CSV to
    read, an invalid name, a gate that is not METRIC OP NUMBER).

    \b
    Example:
      strataml experiment new iris-logreg --dataset dataset:iris@1 --target species \\
          --register iris-classifier --gate 'test_accuracy >= 0.9'
    """
    from strataml.workspace import load

    ws = load(state.root())
    rel, spec, notes = create(ws, NewExperiment(name, dataset, plugin, target, model, register, gates, file))
    if fmt == "json":
        click.echo(json_text({"path": rel, "spec": spec}, indent=2))
        return 0
    # (The target is a column name from the dataset's data: it may hold anything.)
    said = f"Created experiment:{name} in {rel}: {spec['model']['type']} on {spec['data']['dataset']}, target {spec['data']['target']}"
    click.echo(shown(said))
    for said_too in notes:
        click.echo(shown(f"  note: {said_too}"), err=True)
    path = ws.root / rel
    say_next(
        ws.root, [path], f"experiment:{name}", f"Next: `{{step}}`, then `strataml run {after_step(ws.root, path)}`"
    )
    click.echo("      (`--dry-run` first shows the plan and writes nothing).")
    return 0
