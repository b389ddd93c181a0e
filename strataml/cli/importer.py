"""`strataml import`: history from other tools as StrataML records (each source an extra)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from strataml import atomic
from strataml.cli.main import State
from strataml.cli.output import format_option
from strataml.controls import shown
from strataml.errors import EXIT_ERRORS, EXIT_OK, EXIT_WARNINGS, StrataError
from strataml.words import counted


@contextmanager
def _bar() -> Iterator[Callable[[str], Callable[[int, int], None] | None]]:
    """Progress on stderr for an import of many runs, on a terminal only (not in CI)."""
    if not sys.stderr.isatty() or os.environ.get("CI"):
        yield lambda _what: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
        console=Console(stderr=True),
    )

    def task(what: str) -> Callable[[int, int], None]:
        made = progress.add_task(what, total=None)

        def tick(done: int, total: int) -> None:
            progress.update(made, completed=done, total=total)

        return tick

    with progress:
        yield task


@click.group("import")
def import_group() -> None:
    """Bring records in from other tools.

    \b
    strataml import mlflow --tracking-uri URI --experiment NAME   MLflow runs as run records (mlflow extra)
    """


@import_group.command("mlflow")
@click.option(
    "--tracking-uri",
    required=True,
    metavar="URI",
    help="Where MLflow keeps the runs: sqlite:///mlflow.db (an existing store, read only), a tracking server "
    "(http://host:5000), or a folder store (file:///path/mlruns) where your MLflow still reads one.",
)
@click.option("--experiment", required=True, metavar="NAME", help="The MLflow experiment whose runs to import.")
@click.option(
    "--runs",
    "wanted",
    multiple=True,
    metavar="ID[,ID...]",
    help="Only these MLflow run ids (repeat the option or separate ids by commas). Default: every run.",
)
@click.option(
    "--allow-artifact-host",
    "hosts",
    multiple=True,
    metavar="HOST",
    help="Also copy artifacts from HOST (host[:port], or an object store's bucket), which MLflow reaches with "
    "your credentials. Without it, artifacts come only from local folders and, with a tracking server, from "
    "that server and its object store.",
)
@click.option("--dry-run", is_flag=True, help="Say what would be imported; write nothing.")
@format_option("json: one summary object with a row per MLflow run.")
@click.pass_obj
def mlflow_command(
    state: State,
    tracking_uri: str,
    experiment: str,
    wanted: tuple[str, ...],
    hosts: tuple[str, ...],
    dry_run: bool,
    fmt: str,
) -> int:
    """Import an MLflow experiment's runs as run records under runs/.

    \b
    Each ended MLflow run becomes runs/START-EXPERIMENT-XXXXXX/ with run.yaml: params (numbers,
    booleans and lists as such), final metrics, tags, status and times; the step-wise metrics in
    summary/tracking.json; every artifact copied under mlflow/ and pinned by sha256 and size. A
    dataset MLflow logged as an input becomes an input ref when its digest is a dataset
    version's digest here (sha256), and a warning when not. The MLflow run id is recorded
    (tracking.mlflow_run_id), so a run already here is never imported again: importing twice
    changes nothing. Runs still RUNNING in MLflow are skipped. Needs the mlflow extra.

    \b
    Exit codes: 0 done, 1 done with warnings (skipped runs, unmatched inputs, left-out
    metrics), 2 a run could not be imported (the others were), 3 MLflow could not be read.

    \b
    Examples:
      strataml import mlflow --tracking-uri sqlite:///mlflow.db --experiment churn --dry-run
      strataml import mlflow --tracking-uri sqlite:///mlflow.db --experiment churn
      strataml import mlflow --tracking-uri sqlite:///mlflow.db --experiment churn --runs 4eb91b66f8144da8a0126db4b5471cc1
    """
    from strataml.imports.mlflow import client, plan, write
    from strataml.workspace import load

    root = state.root()
    ids = [part.strip() for item in wanted for part in item.split(",") if part.strip()]
    if wanted and not ids:
        raise click.BadParameter(
            "names no run id (an empty variable?); leave --runs out to import every run", param_hint="'--runs'"
        )
    workspace = load(root)
    mlflow = client(tracking_uri)
    with _bar() as bar:
        _exp_id, planned = plan(
            workspace, mlflow, experiment, ids, bar("reading MLflow runs"), store=tracking_uri, hosts=hosts
        )
        todo = [p for p in planned if p.action == "import"] if not dry_run else []
        if todo:
            # A symlinked or misplaced runs/ refuses every run alike: one error (exit 3), not one per run.
            with atomic.folder(root, "runs", shown="runs/"):
                pass
        copied = bar("copying runs")
        for n, item in enumerate(todo, 1):
            try:
                write(workspace, mlflow, item)
            except StrataError as exc:  # this run could not be copied whole: nothing of it is written
                item.action, item.reason = "refuse", exc.message
            except FileExistsError:  # published meanwhile (another import running at once)
                item.action, item.reason = "refuse", f"runs/{item.run_id} appeared while it was copied"
            except OSError as exc:
                item.action, item.reason = "refuse", f"could not be written: {exc.strerror or exc}"
            if copied:
                copied(n, len(todo))
    counts = {a: sum(1 for p in planned if p.action == a) for a in ("import", "present", "skip", "refuse")}
    warnings = sum(len(p.warnings) for p in planned)
    code = EXIT_ERRORS if counts["refuse"] else EXIT_WARNINGS if counts["skip"] or warnings else EXIT_OK
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "experiment": experiment,
                    "dry_run": dry_run,
                    "imported": 0 if dry_run else counts["import"],
                    "would_import": counts["import"] if dry_run else 0,
                    "present": counts["present"],
                    "skipped": counts["skip"],
                    "refused": counts["refuse"],
                    "runs": [p.summary() for p in planned],
                },
                indent=2,
            )
        )
        return code
    verb = "would be imported" if dry_run else "imported"
    # Ids, statuses and reasons come from the MLflow store (another team's server, a file anyone
    # could write): shown with their control characters escaped, as every name from a repository.
    for item in planned:
        label = f"run:{item.run_id}" if item.run_id else "-"
        if item.action == "import":
            size = sum(s or 0 for _p, s in item.artifacts)
            click.echo(
                shown(
                    f"{'would import' if dry_run else 'imported'} MLflow run {item.mlflow_id} as {label} "
                    f"({item.status}, {counted(len(item.record.get('metrics', {})), 'metric')}, "
                    f"{counted(len(item.artifacts), 'artifact')}, {size:,} byte{'' if size == 1 else 's'})"
                )
            )
        elif item.action == "present":
            click.echo(shown(f"already here: MLflow run {item.mlflow_id} ({item.reason})"))
        elif item.action == "skip":
            click.echo(shown(f"skipped MLflow run {item.mlflow_id}: {item.reason}"))
        else:
            click.echo(shown(f"could not import MLflow run {item.mlflow_id}: {item.reason}"), err=True)
        for warning in item.warnings:
            click.echo(shown(f"  warning: {warning}"), err=True)
    done = counts["import"]
    click.echo(
        f"{shown(experiment)}: {counted(done, 'run')} {verb}, {counts['present']} already here, "
        f"{counts['skip']} skipped, {counts['refuse']} could not be imported."
    )
    if done and not dry_run:
        from strataml.cli.output import say_next

        # The imported folders, not runs/ whole: with -f (a file git ignores among them) that
        # would add every ignored file of every other run too.
        folders = [root / "runs" / p.run_id for p in planned if p.action == "import" and p.run_id]
        say_next(
            root, folders, f"import MLflow experiment {experiment}", "Next: `{step}`, then `strataml doctor --strict`."
        )
    return code
