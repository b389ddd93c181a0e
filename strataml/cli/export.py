"""`strataml export`: records in other ecosystems' formats (each format an extra)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from strataml.cli.given import from_start_file
from strataml.cli.main import State
from strataml.cli.output import complete_refs, format_option, from_here, written
from strataml.controls import json_text, shown
from strataml.words import counted, listed


@click.group()
def export() -> None:
    """Write records in the formats other tools read.

    \b
    strataml export openlineage [-o FILE | --url URL]   every run as OpenLineage events (openlineage extra)
    strataml export model-card model:NAME@V [-o FILE]   a Hugging Face model card (modelcard extra)
    strataml export croissant dataset:NAME@V [-o FILE]  Croissant JSON-LD (croissant extra)
    """


@export.command("croissant", short_help="A dataset version as Croissant JSON-LD.")
@click.argument("ref", shell_complete=complete_refs, callback=from_here)
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    callback=from_start_file,
    help="Where to write the JSON-LD ('-' or nothing: stdout).",
)
@format_option("json: a summary of what was written (needs -o FILE).")
@click.pass_obj
def croissant(state: State, ref: str, output: str | None, fmt: str) -> int:
    """Write a dataset version as Croissant JSON-LD (MLCommons), as dataset hubs publish it.

    \b
    The files are FileObjects (path, sha256, size, encoding format); the recorded columns a
    RecordSet whose fields read them from the data files; licence, source, description,
    creation time and the version's digest come from dataset.yaml. Built with mlcroissant's
    classes and checked by its own loader before it is written. Needs the croissant extra.

    \b
    Example:
      strataml export croissant dataset:iris@1 -o iris.croissant.json
    """
    from strataml.export.croissant import croissant as document
    from strataml.read import saved
    from strataml.read.query import Graph

    if fmt == "json" and output in (None, "-"):
        raise click.UsageError("--format json prints a summary: write the document itself with -o FILE")
    root = state.root()
    index, _rebuilt = saved.current(root)
    doc, summary = document(Graph(index), ref)
    text = json_text(doc, indent=2, sort_keys=True) + "\n"
    delivered = _deliver(text, output, root, summary)
    if delivered is None:
        return 0
    summary, target = delivered, delivered["path"]
    if fmt == "json":
        click.echo(json.dumps(summary, indent=2))
    else:
        files, fields = int(str(summary["files"])), int(str(summary["fields"]))
        click.echo(
            f"Wrote {shown(str(target))}: {summary['ref']} ({counted(files, 'file')}, {counted(fields, 'field')})."
        )
    return 0


@export.command("openlineage", short_help="Every run as OpenLineage RunEvents.")
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    callback=from_start_file,
    help="Write the events as JSON lines ('-' or nothing: stdout).",
)
@click.option("--url", metavar="URL", help="Post them to a catalogue instead (URL/api/v1/lineage, e.g. Marquez's).")
@click.option("--since", metavar="REF", help="Only the runs whose records changed since REF (as doctor --since).")
@format_option("json: a summary of what was written or sent (needs -o FILE or --url).")
@click.pass_obj
def openlineage(state: State, output: str | None, url: str | None, since: str | None, fmt: str) -> int:
    """Every run as OpenLineage RunEvents: START, then COMPLETE or FAIL.

    \b
    The job is the run's experiment; the inputs its dataset versions (version facet: the
    digest; schema facet: the recorded columns; dataSource: the recorded source); the outputs
    the model versions it registered; the `strataml` run facet the ref, status, seed, params,
    metrics and code commit. Run ids are UUIDs derived from the run ids: exporting again sends
    the same events, so a catalogue updates what it has instead of doubling it. Built and sent
    with openlineage-python's own classes and HTTP transport. Needs the openlineage extra. A run
    whose run.yaml does not load (nothing places its events in time) is left out and named on
    stderr, and the exit code is then 1.

    \b
    Examples:
      strataml export openlineage -o lineage.jsonl
      strataml export openlineage --url http://localhost:5000 --since origin/main
    """
    from strataml.errors import StrataError
    from strataml.export import openlineage as ol
    from strataml.read import saved
    from strataml.read.query import Graph

    if output is not None and url is not None:
        raise click.UsageError("give -o FILE or --url URL, not both")
    if fmt == "json" and output in (None, "-") and url is None:
        raise click.UsageError("--format json prints a summary: write the events with -o FILE, or send them with --url")
    if since is not None and not since.strip():
        raise click.BadParameter("is empty; name a revision (e.g. origin/main)", param_hint="'--since'")
    if url is not None:
        try:
            ol.endpoint_base(url)
        except StrataError as exc:
            raise click.BadParameter(f"{exc.message} ({exc.hint})", param_hint="'--url'") from None
    root = state.root()
    index, _rebuilt = saved.current(root)
    graph = Graph(index)
    only = _changed_runs(root, graph, since) if since is not None else None
    left_out: list[str] = []
    found = ol.events(graph, only, left_out)
    runs = len({e.run.runId for e in found})
    summary: dict[str, object] = {"events": len(found), "runs": runs, "left_out": left_out}
    if left_out:
        click.echo(
            shown(
                f"strataml: warning: left out {counted(len(left_out), 'run')} whose run.yaml does not load or "
                f"records no time: {listed(left_out, 5)} (`strataml doctor` says what is wrong)"
            ),
            err=True,
        )
    if url is not None:
        summary.update(sent=ol.post(found, url), url=ol.redacted(url))
        said = f"Sent {counted(len(found), 'event')} ({counted(runs, 'run')}) to {ol.redacted(url)}."
    elif output in (None, "-"):
        click.echo(ol.lines(found), nl=False)
        return 1 if left_out else 0
    else:
        text = ol.lines(found)
        target = written(str(output), text, root)
        summary.update(path=str(target), bytes=len(text.encode("utf-8")))
        said = f"Wrote {shown(str(target))}: {counted(len(found), 'event')} of {counted(runs, 'run')}."
    click.echo(json.dumps(summary, indent=2) if fmt == "json" else said)
    return 1 if left_out else 0


def _changed_runs(root: Path, graph: object, since: str) -> set[str]:
    """The ids of the run records with a file changed since REF (committed, staged or not)."""
    from strataml import gitfacts
    from strataml.read.query import Graph
    from strataml.workspace import record_folder

    assert isinstance(graph, Graph)
    gitfacts.need_git(root, "--since compares with a git revision: install git")
    listing = gitfacts.changes_since(root, since)
    folders = {record_folder(p) for p in listing.tracked() | listing.untracked()}
    return {n["id"] for n in graph.nodes.values() if n["kind"] == "run" and n["path"] in folders}


@export.command("model-card", short_help="A model version as a Hugging Face model card.")
@click.argument("ref", shell_complete=complete_refs, callback=from_here)
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    callback=from_start_file,
    help="Where to write README.md ('-' or nothing: stdout).",
)
@click.option("--license", "license_", metavar="SPDX", help="The model's licence (default: its `license` tag).")
@format_option("json: a summary of what was written (needs -o FILE).")
@click.pass_obj
def model_card(state: State, ref: str, output: str | None, license_: str | None, fmt: str) -> int:
    """Write a model version as a Hugging Face model card (README.md with YAML metadata).

    \b
    The metadata: license, datasets, `model-index` with every evaluation metric and the
    dataset it came from (its name, and its digest as the revision); the body: lineage
    (datasets, experiment, run with its code commit), the gate receipt, the lifecycle
    history and the signatures. huggingface_hub's own ModelCard reads the card back before
    it is written. Needs the modelcard extra.

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
    if license_ is not None and not license_.strip():
        raise click.BadParameter(
            "is empty; name a licence (e.g. --license MIT), or leave it out for the model's own",
            param_hint="'--license'",
        )
    root = state.root()
    index, _rebuilt = saved.current(root)
    text, summary = card(Graph(index), ref, license_)
    delivered = _deliver(text, output, root, summary)
    if delivered is None:
        return 0
    summary, target = delivered, delivered["path"]
    if fmt == "json":
        click.echo(json.dumps(summary, indent=2))
    else:
        said = f"the model card of {summary['ref']} ({counted(summary['metrics'], 'metric')})"
        click.echo(f"Wrote {shown(str(target))}: {said}.")
        if not summary["license"]:
            click.echo("  note: no licence recorded; pass --license SPDX (or tag the model license=...)", err=True)
    return 0


def _deliver(text: str, output: str | None, root: Path, summary: dict[str, Any]) -> dict[str, Any] | None:
    """The document to stdout (None: nothing more to say), or written to -o FILE: the summary
    with its path and size."""
    if output in (None, "-"):
        click.echo(text, nl=False)
        return None
    target = written(str(output), text, root)
    return {"path": str(target), "bytes": len(text.encode("utf-8")), **summary}
