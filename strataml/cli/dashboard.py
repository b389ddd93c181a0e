"""`strataml dashboard`: the lineage dashboard as one static, offline HTML file."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from strataml.cli.choice import Choice
from strataml.cli.given import from_start_members, from_start_option
from strataml.cli.main import State
from strataml.cli.output import write_output
from strataml.controls import shown
from strataml.installed import extra_hint
from strataml.words import counted


@click.command(short_help="Write the lineage dashboard: one HTML file, offline.")
@click.option(
    "-o",
    "--output",
    metavar="PATH",
    callback=from_start_option,
    help="Where to write the page: a file, a folder (index.html in it; `site/` makes one) or '-' for stdout. Default: .strataml/site/index.html in the workspace.",
)
@click.option("--open", "open_", is_flag=True, help="Open the page in the default web browser when written.")
@click.option(
    "--timestamp",
    is_flag=True,
    help="Show when the page was built (it is then no longer byte-identical between builds).",
)
@click.option("--format", "fmt", type=Choice(("text", "json")), default="text", show_default=True)
@click.option(
    "--federate",
    is_flag=True,
    help="One page over many workspaces (folders or index.json files named after it): see `strataml index --help`.",
)
@click.option(
    "--exports",
    is_flag=True,
    help="Offer each record's exports on its page (model cards, Croissant, OpenLineage), for the formats whose "
    "extra is installed.",
)
@click.argument("members", nargs=-1, metavar="[MEMBER]...", callback=from_start_members)
@click.pass_obj
def dashboard(
    state: State,
    output: str | None,
    open_: bool,
    timestamp: bool,
    fmt: str,
    federate: bool,
    exports: bool,
    members: tuple[str, ...],
) -> int:
    """Write the lineage dashboard: one HTML file that works offline, from file://.

    \b
    It shows what `list`, `show` and `lineage` show, from the same fresh index: health by
    contract, tables with search, facets and sort, every record with its files, findings,
    signature, promotion history and gate receipt, focused lineage graphs, run comparison
    and every rule. It loads nothing from anywhere: no server, no CDN, no network. The same
    repository state gives a byte-identical file, so it can be committed or published.

    \b
    Examples:
      strataml dashboard --open
      strataml dashboard -o public/index.html      # e.g. for GitHub Pages
    Views have URLs to paste into a review: index.html#/run/ID, #/lineage/model:NAME@1?depth=2&dir=up,
    #/compare?refs=run:A,run:B, #/rules/TFC0006-E002.

    \b
    With --exports, each record's page offers what `strataml export` writes for it, to show or
    save: a model version's Hugging Face model card, a dataset version's Croissant JSON-LD, a
    run's OpenLineage events; for each format whose extra is installed (modelcard, croissant,
    openlineage), and said for the others.

    \b
    Many workspaces on one page (default output: .strataml/site/federation.html):
      strataml dashboard --federate ../team-a ../team-b ../team-c -o platform.html
    It adds an overview of every workspace (status, health, production models), a workspace
    filter on every table and lineage across repositories (a dataset two teams recorded with
    the same digest is one node). Exit code 1 when a member is missing or broken (it is shown).
    """
    from strataml import gitfacts
    from strataml.read import dashboard as page
    from strataml.read import saved
    from strataml.read.query import Graph
    from strataml.times import utc_now

    if output == "-" and (fmt == "json" or open_):
        raise click.UsageError("-o - writes the page itself to stdout: --format json and --open need a file")
    if output is not None and not output.strip():
        raise click.BadParameter("is empty; name a file (e.g. site/index.html) or '-' for stdout", param_hint="'-o'")
    if output not in (None, "-") and (output.endswith(("/", os.sep)) or os.path.isdir(output)):
        output = os.path.join(output, "index.html")  # a folder: the page is its index, as a web server would serve it
    if exports and federate:
        raise click.UsageError("--exports describes one workspace's records: make them in each workspace")
    formats: list[str] = []
    if exports:
        from strataml.export.embedded import available

        formats, missing = available()
        if not formats:
            raise click.UsageError(f"--exports needs the extra of at least one format: {extra_hint(','.join(missing))}")
        if missing:
            click.echo(f"--exports: not made for the extras not installed: {', '.join(missing)}", err=True)
    if members and not federate:
        raise click.UsageError("MEMBER arguments only go with --federate (e.g. strataml dashboard --federate A B C)")
    broken = False
    if federate:
        from strataml.read import federate as federation

        if not members:
            raise click.UsageError("--federate needs the workspaces to join (e.g. strataml dashboard --federate A B C)")
        root: Path | None = state.root_if_any()
        if output is None and root is None:
            raise click.UsageError("not inside a workspace: say where the page goes with -o FILE")
        with _progress("reading the workspaces"):
            index = federation.federate(federation.read_members(list(members)))
        broken = any(m["status"] in ("missing", "invalid") for m in index["workspaces"])
        default, commit = FEDERATED, None
    else:
        root = state.root()
        with _progress("checking the workspace and building the index"):
            index, _rebuilt = saved.current(root)
        default, commit = page.DEFAULT, gitfacts.head_commit(root)
    target = Path(default) if output is None else Path(output)
    where = root / target if output is None and root is not None else Path(os.path.abspath(target))
    with _progress("writing the page"):
        graph = Graph(index)
        # A federation's records live in other repositories: the page links none of their files.
        link = None if output == "-" or federate or root is None else page.repo_link(root, where)
        data = page.payload(graph, commit, utc_now() if timestamp else None, link)
        if formats:
            from strataml.export.embedded import documents, unsound

            data["exports"] = documents(graph, formats)
            skipped = unsound(graph, formats)
            if skipped:
                click.echo(
                    f"--exports: none for {counted(len(skipped), 'version')} the doctor finds errors in "
                    "(`strataml doctor` lists them)",
                    err=True,
                )
        text = page.render(data)
        if output == "-":
            click.echo(text, nl=False)
            return 0
        if output is None and root is not None:
            from strataml import atomic

            atomic.write_text(root, default, text)
        else:
            write_output(where, text, root)
    size = len(text.encode("utf-8"))
    url = where.resolve().as_uri()
    if fmt == "json":
        summary: dict[str, Any] = {
            "path": str(where),
            "url": url,
            "bytes": size,
            "records": len(index["nodes"]),
            "format": page.FORMAT,
        }
        if formats:
            summary["exports"] = {
                f: sum(1 for docs in data["exports"].values() for d in docs if d["format"] == f) for f in formats
            }
        if federate:
            summary["workspaces"] = [
                {k: m[k] for k in ("name", "source", "status", "message") if k in m} for m in index["workspaces"]
            ]
        click.echo(json.dumps(summary, indent=2))
    else:
        count = len(index["nodes"])
        click.echo(f"Wrote {shown(str(where))} ({size / 1e6:.1f} MB, {counted(count, 'record')}).")
        if where.suffix.lower() not in (".html", ".htm") and where.is_file():  # (not /dev/null, a FIFO)
            # (-o names a file for every command; `-o site` meant as a folder opens in no browser.)
            click.echo(
                f"strataml: note: {shown(where.name)} has no .html extension, so a browser may show it as text; "
                f"-o {shown(str(output))}/ writes {shown(where.name)}/index.html",
                err=True,
            )
        for m in index.get("workspaces", ()) if federate else ():
            if m["status"] != "fresh":
                click.echo(f"{m['name']}: {m['status']}: {m.get('message', '')}", err=True)
    opened = False
    if open_:
        import webbrowser

        opened = webbrowser.open(url)
        if not opened:
            click.echo(f"No web browser to open it here; open {url} in one.", err=True)
    if fmt != "json" and not (open_ and not opened):  # (said once: opened, or where to open it)
        click.echo(f"Opened {url}" if opened else f"Open {url}")
    return 1 if broken else 0


FEDERATED = ".strataml/site/federation.html"


class _progress:
    """A spinner on stderr for a step that may take a while, on a terminal only (not in CI)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.status: Any = None

    def __enter__(self) -> None:
        if sys.stderr.isatty() and not os.environ.get("CI"):
            from rich.console import Console

            self.status = Console(stderr=True).status(self.what + "...")
            self.status.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self.status is not None:
            self.status.__exit__(None, None, None)
