"""`strataml index`: build the lineage graph JSON every viewer reads."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from strataml.cli.choice import Choice
from strataml.cli.given import from_start_file, from_start_members
from strataml.cli.main import State
from strataml.cli.output import write_output
from strataml.controls import json_safe, shown
from strataml.nogc import bulk
from strataml.words import counted

if TYPE_CHECKING:
    from strataml.read.build import Previous


@click.command(short_help="Build the lineage graph: datasets -> runs -> models.")
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    callback=from_start_file,
    help="Where to write the index ('-' for stdout). Default: .strataml/index.json in the workspace.",
)
@click.option(
    "--timestamp", is_flag=True, help="Add generated_at (the index is then no longer byte-identical between builds)."
)
@click.option(
    "--federate",
    is_flag=True,
    help="Join the workspaces (folders or index.json files) named after it into one federated index.",
)
@click.option(
    "--format",
    "fmt",
    type=Choice(("text", "json")),
    default="text",
    show_default=True,
    help="json: what was written (path, nodes, edges, whether it was up to date) on stdout.",
)
@click.argument("members", nargs=-1, metavar="[MEMBER]...", callback=from_start_members)
@click.pass_obj
@bulk
def index(state: State, output: str | None, timestamp: bool, federate: bool, fmt: str, members: tuple[str, ...]) -> int:
    """Build the lineage graph: datasets -> runs -> models, with health counts.

    \b
    Nodes are dataset versions, experiments, runs and model versions with every attribute
    of their metadata, lifecycle state, signature, files, ledger history and gate receipt,
    and the doctor's finding counts; the findings are listed once; edges point the way data
    flows. The same repository state always gives byte-identical
    output (TFC-0008, `strataml schema index`). `list`, `show` and `lineage` rebuild the
    saved index themselves when the repository changed, so running this is never required.
    When nothing changed since the saved index was built it is reused ("Up to date"); after
    a change only the records the change can reach are read and checked again. (A file changed
    in the last two seconds could change again within the same timestamp, as git knows: until
    it is older, each run checks again rather than trust the saved index.)

    \b
    With --federate, one view over many workspaces (`strataml schema federation`):
      strataml index --federate ../team-a ../team-b platform=../ml/.strataml/index.json -o fed.json
    Each MEMBER is a workspace folder (indexed in memory unless its saved index is provably
    fresh: nothing is written in a member) or an index file; NAME=PATH names it (default: the
    workspace's name). Refs get the member's name in front (team-a/model:churn@3); a dataset
    version whose digest two workspace folders record, verified here, becomes one node with both
    names, so lineage crosses repositories (index files are never joined: anyone can write one).
    A missing, broken or stale member is listed with its status, never dropped;
    the exit code is 1 when a member is missing or broken (the index is written all the same).
    Default output: .strataml/federation.json of the workspace you are in.
    """
    if members and not federate:
        raise click.UsageError("MEMBER arguments only go with --federate (e.g. strataml index --federate A B C)")
    if fmt == "json" and output == "-":
        raise click.UsageError("-o - writes the index itself to stdout: --format json needs a file")
    if federate:
        return _federate(state, list(members), output, fmt)
    from strataml.nogc import keep
    from strataml.read import proof, saved
    from strataml.read.build import dumps
    from strataml.times import utc_now

    root = state.root()
    looked = proof.probe(root)
    if not timestamp and (fresh := saved.fresh_text(root, looked)) is not None:
        # Nothing changed since the saved index was built (proven without a walk): it is the build.
        text, counts = fresh
        if output == "-":
            click.echo(json_safe(text), nl=False)  # (only .strataml/index.json keeps every character as it is)
            return 0
        target = root / saved.INDEX if output is None else Path(output)
        if output is not None:
            write_output(target, json_safe(text), root)
        _said(target, counts["nodes"], counts["edges"], fmt, rebuilt=False, saved_only=output is None)
        return 0
    # As a reader does: only the folders that changed listed again, the rest kept from the last build.
    walked = proof.freshness(root, looked, ahead=True)
    keep(walked)  # (held by this command to its end anyway; freed object by object, ~10 ms on 10k runs)

    def finish(built: dict[str, Any], volatile: bool, before: Previous | None) -> int:
        keep(built, before)  # (a build of 10k runs freed one object at a time as it returns: ~17 ms)
        text = dumps(built, before)
        if output == "-":
            click.echo(json_safe(text), nl=False)
            return 0
        if output is None:
            saved.save(root, built, text, None if timestamp else walked, volatile=volatile, previous=before)
            target = root / saved.INDEX
        else:
            target = Path(output)
            write_output(target, json_safe(text), root)
        _said(target, len(built["nodes"]), len(built["edges"]), fmt, rebuilt=True, saved_only=False)
        return 0

    return saved.rebuilt(root, walked, saved.previous(root, walked), finish, utc_now() if timestamp else None)


def _said(target: Path, nodes: int, edges: int, fmt: str, *, rebuilt: bool, saved_only: bool) -> None:
    """What was written: a line on stderr, or with --format json a summary on stdout (`rebuilt`:
    false when the saved index was provably fresh and is what was written, or left as it was)."""
    if fmt == "json":
        import json

        summary = {"path": str(target), "nodes": nodes, "edges": edges, "rebuilt": rebuilt}
        click.echo(json.dumps(summary, indent=2))
        return
    verb = "Up to date:" if saved_only else "Wrote"
    click.echo(f"{verb} {shown(str(target))} ({counted(nodes, 'node')}, {counted(edges, 'edge')}).", err=True)


def _federate(state: State, members: list[str], output: str | None, fmt: str) -> int:
    from strataml.read import federate
    from strataml.read.build import dumps

    if not members:  # (first: outside a workspace, "say where it goes with -o" was said before this)
        from strataml.errors import StrataError

        raise StrataError(
            "--federate needs the workspaces to join", "e.g. strataml index --federate ../team-a ../team-b"
        )
    if output is not None and not output.strip():
        raise click.BadParameter("is empty; name a file or '-' for stdout", param_hint="'-o'")
    root = state.root_if_any()
    if output is None and root is None:
        raise click.UsageError(
            "not inside a workspace: say where the federated index goes with -o FILE (or -o - for stdout)"
        )
    joined = federate.federate(federate.read_members(members))
    text = dumps(joined)
    if output == "-":
        click.echo(json_safe(text), nl=False)
    else:
        target = root / federate.DEFAULT if output is None and root is not None else Path(str(output))
        write_output(target, json_safe(text), root)
        count, cross = len(joined["workspaces"]), sum(1 for e in joined["edges"] if e.get("cross"))
        if fmt == "json":
            import json

            summary = {
                "path": str(target),
                "nodes": len(joined["nodes"]),
                "edges": len(joined["edges"]),
                "edges_across": cross,
                "workspaces": [
                    {k: m[k] for k in ("name", "source", "status", "message") if k in m} for m in joined["workspaces"]
                ],
            }
            click.echo(json.dumps(summary, indent=2))
        else:
            click.echo(
                f"Wrote {shown(str(target))} ({counted(count, 'workspace')}, {counted(len(joined['nodes']), 'node')}, "
                f"{counted(cross, 'edge')} across workspaces).",
                err=True,
            )
    for member in joined["workspaces"]:
        if member["status"] != "fresh":
            click.echo(f"{member['name']}: {member['status']}: {member.get('message', '')}", err=True)
    return 1 if any(m["status"] in ("missing", "invalid") for m in joined["workspaces"]) else 0
