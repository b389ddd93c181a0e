"""`strataml list`, `show` and `lineage`: read the index (rebuilt first when the repository changed)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, TextIO

import click

from strataml.cli.choice import Choice
from strataml.cli.given import Given
from strataml.cli.main import State
from strataml.cli.output import complete_refs, from_here, wants_color
from strataml.controls import plain, shown
from strataml.errors import StrataError
from strataml.nogc import keep
from strataml.numbers import number
from strataml.read.query import KIND_OF_LIST, Graph
from strataml.reporters import FORMATS as REPORT_FORMATS
from strataml.shapes import sequence
from strataml.words import counted, listed

FORMATS = Choice(("text", "json"))


class _Kinds(Choice):
    """datasets|runs|models|experiments, also said in the singular (`strataml list run`)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value + "s" in self.choices:
            value += "s"
        if value not in self.choices:
            # click would name the argument by its metavar ('{datasets|runs|...}'): say it plainly.
            from strataml.spelling import nearest

            *first, last = self.choices
            close = nearest(str(value), self.choices)
            meant = f"; did you mean {close[0]}?" if close else ""
            raise click.UsageError(f"{value!r} is not something to list: say {', '.join(first)} or {last}{meant}", ctx)
        return super().convert(value, param, ctx)


def _graph(state: State) -> Graph:
    from strataml.read import saved

    index, _rebuilt = saved.current(state.root())
    graph = Graph(index)
    keep(graph)  # (a graph of 10k runs freed one object at a time as the command returns: ~8 ms)
    return graph


@click.command("list")
@click.argument("what", type=_Kinds(tuple(KIND_OF_LIST)))
@click.option(
    "--sort", "sort", metavar="KEY", help="Sort by a field (created, status, state, name...), a metric or a tag."
)
@click.option("--desc", is_flag=True, help="Sort descending (best first for scores such as accuracy).")
@click.option(
    "--filter",
    "filters",
    metavar="KEY=VALUE",
    multiple=True,
    help="Keep rows whose field, metric or tag equals VALUE (status, state, experiment, gate, signed, tags.X...); repeatable, all must hold.",
)
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Show at most N rows.")
@click.option(
    "--metric",
    "metrics",
    metavar="NAME",
    multiple=True,
    help="Metric columns to show (default: the gated ones, then test_*).",
)
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
@click.pass_obj
def list_command(
    state: State,
    what: str,
    sort: str | None,
    desc: bool,
    filters: tuple[str, ...],
    limit: int | None,
    metrics: tuple[str, ...],
    fmt: str,
) -> int:
    """List datasets, runs, models or experiments as a table.

    \b
    Examples:
      strataml list runs --filter status=succeeded --sort test_accuracy --desc --limit 5
      strataml list models --filter state=production
      strataml list runs --filter experiment=iris-logreg --format json
    """
    from strataml.read import saved
    from strataml.read.query import check_metrics, listed, why_none

    root = state.root()
    # A provably fresh index has its rows saved beside it: no walk, no parsing of the index.
    found_tables = saved.current_rows(root)
    keep(found_tables)
    every = found_tables[what]
    check_metrics(every, list(metrics))
    kept = listed(what, every, filters, sort, desc, limit)
    found = kept.rows  # (with --filter age=3d, each with the age cell it was judged by: the table shows that)
    if fmt == "json":
        click.echo(json.dumps(kept.records, indent=2, sort_keys=True))
        return 0
    if not found:
        if filters:
            why = why_none(kept.judged, list(kept.filters), list(filters))
            click.echo(f"No {what} match" + (f": {shown(why)}." if why else "."))
        else:
            click.echo(f"No {what} in this workspace{_unread(state, what, found_tables['findings'])}.")
        return 0
    _table(found_tables["gates"], what, found, list(metrics), kept.sort, len(every), found_tables["findings"])
    return 0


def _unread(state: State, what: str, counts: dict[str, int]) -> str:
    """Why a kind's folder held nothing when the doctor says it was not read (a symlink, a file
    where the folder belongs): ": ..." naming its finding; else nothing."""
    from strataml.read.query import unread

    if not counts.get("errors"):
        return ""
    index = _graph(state).index
    for finding in index.get("findings", []):
        if finding.get("path") == what:  # (the folder of a kind is named as the kind, in the plural)
            said = shown(str(finding.get("message", "")))
            return f": {said} ({finding.get('code')}; see `strataml doctor`)"
    return not_read(unread(index, what, state.root()), what, ": ")


def not_read(folders: list[str], what: str, lead: str) -> str:
    """`lead` and a word on the record folders of `what` that could not be read, if any."""
    if not folders:
        return ""
    named = listed([shown(f) for f in folders], 3)
    return f"{lead}{counted(len(folders), 'folder')} under {what}/ could not be read ({named}; see `strataml doctor`)"


def _text(value: Any) -> str:
    """A cell as text: a field of the wrong type (a run's `experiment: 42`, the doctor's
    finding) is shown as it was recorded, as `show` shows it, not a reason to fail the listing."""
    return "" if value is None else value if isinstance(value, str) else str(value)


def _table(
    gates: dict[str, list[str]],
    what: str,
    found: list[dict[str, Any]],
    metrics: list[str],
    sort: str | None = None,
    total: int = 0,
    workspace: dict[str, int] | None = None,
) -> None:
    from strataml.cli.table import render, width_for
    from strataml.read.query import age, key_metrics

    shown: list[str] = []
    if what == "runs":
        shown = metrics or _sorted_first(key_metrics(found, gates), found, sort)
        # Headers are the names --sort, --filter and --metric take.
        columns = ["run", "experiment", "status", "age", *shown, "health"]
        cells = [
            [
                _text(r["name"]),
                _text(r.get("experiment")),
                _text(r.get("status")),
                r["age"] if "age" in r else age(r.get("created")),  # (as a filter read it: one clock)
                *[number(r["metrics"].get(m)) for m in shown],
                r["health"],
            ]
            for r in found
        ]
    elif what == "models":
        # (Those its experiment gates on first: a version is judged by them, not by test_accuracy.)
        shown = metrics or _sorted_first(key_metrics(found, gates), found, sort)
        columns = ["model", "version", "state", "gate", "signed", *shown, "health"]
        cells = [
            [
                _text(r["name"]),
                _text(r.get("version")),
                _text(r.get("state")),
                _text(r.get("gate")),
                _text(r.get("signed")),
                *[number(r["metrics"].get(m)) for m in shown],
                r["health"],
            ]
            for r in found
        ]
    elif what == "datasets":
        columns = ["dataset", "version", "rows", "files", "license", "signed", "health"]
        cells = [
            [
                _text(r["name"]),
                _text(r.get("version")),
                number(r.get("rows")),
                number(r.get("files")),
                _text(r.get("license")),
                _text(r.get("signed")),
                r["health"],
            ]
            for r in found
        ]
    else:
        columns = ["experiment", "plugin", "model", "runs", "health"]
        cells = [
            [_text(r["name"]), _text(r.get("plugin")), _text(r.get("model")), _text(r["runs"]), r["health"]]
            for r in found
        ]
    if all(r["health"] == "ok" for r in found):
        columns, cells = columns[:-1], [c[:-1] for c in cells]  # a column of "ok" says nothing: the footer does
    numeric = {"rows", "files", "runs", "version", *shown}
    # Ids people copy and short words people read are never cut; only metric and free-text columns may shrink.
    keep = {
        i
        for i, c in enumerate(columns)
        if i == 0 or c in ("status", "state", "gate", "signed", "health", "age", "version")
    }
    right = {i for i, c in enumerate(columns) if c in numeric}
    # Metric columns beyond the first go when the terminal is too narrow for them, unless asked
    # for by name (--metric): those stay, and the line is left for the terminal to wrap.
    optional = {i for i, c in enumerate(columns) if c in shown[1:]} if not metrics else set()
    tty = sys.stdout.isatty()
    table = render(
        columns,
        cells,
        keep=keep,
        right=right,
        width=width_for(tty),
        optional=optional,
        color=_color if wants_color(sys.stdout) else None,
    )
    click.echo(table.text, nl=False)
    if table.left_out:
        them = "it" if len(table.left_out) == 1 else "them"
        click.echo(f"(no room for {', '.join(table.left_out)}: --metric NAME or --format json shows {them})")
    bad = sum(1 for r in found if r["health"] != "ok")
    noun = what if len(found) != 1 else what[:-1]
    shown_of = f"{len(found)} of {total} {what}" if total > len(found) else f"{len(found)} {noun}"
    if bad:
        click.echo(f"{shown_of}, {bad} with doctor findings (see `strataml doctor`)")
        return
    # Healthy rows in an unhealthy workspace (a broken strataml.yaml, a stray file, another
    # record): "all healthy" alone would read as the workspace's verdict.
    elsewhere = _severities(workspace or {})
    click.echo(
        f"{shown_of}, all healthy" + (f"; the workspace has {elsewhere} (see `strataml doctor`)" if elsewhere else "")
    )


def _severities(counts: dict[str, int]) -> str:
    """'1 error and 2 warnings' ('' for none; infos are not a problem)."""
    said = [
        f"{counts[key]} {key[:-1] if counts[key] == 1 else key}" for key in ("errors", "warnings") if counts.get(key)
    ]
    return " and ".join(said)


def _sorted_first(shown: list[str], found: list[dict[str, Any]], sort: str | None) -> list[str]:
    """The metric the rows are sorted by is the first metric column."""
    name = sort.removeprefix("metrics.") if sort else None
    if name and any(name in r.get("metrics", {}) for r in found):
        return [name, *[m for m in shown if m != name]][: max(len(shown), 1)]
    return shown


def _color(text: str) -> str | None:
    if text in ("FAIL", "failed", "invalid", "rejected") or text.endswith(("error", "errors")):
        return "red"
    if text in ("production", "PASS", "succeeded", "signed"):
        return "green"
    if text.endswith(("warning", "warnings")):
        return "yellow"
    return None


@click.command("show", short_help="Everything about one record: health, signature, links.")
@click.argument("ref", shell_complete=complete_refs, callback=from_here)
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
@click.pass_obj
def show(state: State, ref: str, fmt: str) -> int:
    """Everything about one record: attributes, health, signature, and its direct neighbours.

    REF is a ref such as model:iris-classifier@1, run:ID, dataset:iris@1 or experiment:NAME;
    model:NAME (without @VERSION) means its latest version. A record's folder or metadata path
    (runs/ID, models/NAME/1/) and a bare run id or its prefix name it too.

    \b
    Examples:
      strataml show model:iris-classifier
      strataml show runs/20261122T200038Z-iris-logreg-448b2a --format json
    """
    from strataml.read.query import detail

    graph = _graph(state)
    d = detail(graph, graph.find(ref))
    if fmt == "json":
        click.echo(json.dumps(d, indent=2, sort_keys=True))
        return 0
    click.echo("\n".join(map(shown, _show_lines(d))))  # one line each: values from the repository are escaped
    return 0


def _show_lines(d: dict[str, Any]) -> list[str]:
    out = [f"{d['id']}  ({d['kind']}, {d['path']})"]
    counts = d["findings"]
    health = (
        "ok"
        if not any(counts.values())
        # (In this order whichever way the index was read: built here, or its saved keys sorted.)
        else ", ".join(
            f"{v} {k if v != 1 else k.removesuffix('s')}"
            for k in ("errors", "warnings", "infos")
            if (v := counts.get(k))
        )
    )
    out.append(f"  health: {health}")
    out += [
        f"    {f['severity']:<8} {f['code']}  {f['path']}"
        + (f":{f['line']}" if f.get("line") else "")
        + f"  {f['message']}"
        for f in d["reported"]
    ]
    if "signature" in d:
        sig = d["signature"]
        who = ", ".join(
            f"{s['uid'] or s['fingerprint']} [{', '.join(s['scopes'])}]"
            + (" (OpenSSF model signing)" if s.get("scheme") == "model-signing" else "")
            for s in sig["signers"]
        )
        count = sig.get("valid_signers", len(sig["signers"]))
        needed = sig.get("required_signers") or 0
        tally = counted(count, "valid signer") + (f" of {needed} required" if needed else "")
        out.append(
            f"  signature: {sig['status']}" + (f" by {who}" if who else "") + (f" ({tally})" if count or needed else "")
        )
    for key, val in sorted(d["attrs"].items()):
        if key == "files" and "files" in d:
            continue  # (a dataset's file count, for `list`: the files section below lists them)
        out += _attr_lines(key, val, "  ")
    if d.get("files"):
        out.append("  files:")
        out += [
            f"    {f['path']}  {number(f['size'])} byte{'' if f['size'] == 1 else 's'}  sha256:{(f['sha256'] or '?')[:16]}"
            + ("" if f["present"] == "content" else f"  ({f['present']})")
            for f in d["files"]
        ]
    if "receipt" in d:
        out += receipt_lines(d["receipt"])
    if d["kind"] == "run" and d["attrs"].get("status") in ("failed", "cancelled"):
        error = d["attrs"].get("error")
        if isinstance(error, dict):
            first = str(error.get("message", "")).splitlines()[:3]
            out.append(f"  {d['attrs']['status']}: {error.get('type', '?')}: " + (" / ".join(first) or "(no message)"))
        if any(f["path"] == "errors/exception.txt" for f in sequence(d.get("files")) if isinstance(f, dict)):
            out.append(f"  traceback: {d['path']}/errors/exception.txt")
    if "curves" in d:
        out.append("  curves: " + ", ".join(f"{k} ({counted(len(v), 'step')})" for k, v in sorted(d["curves"].items())))
    if d["kind"] == "model":
        history = sequence(d.get("history"))
        out.append("  history:" + ("" if history else " (registered; never promoted)"))
        out += [
            f"    #{h['seq']} {h['at']}  {h['from']} -> {h['to']}  by {h['actor']}"
            + (f": {h['reason']}" if h["reason"] else "")
            for h in history
        ]
    out.append("  upstream:" + ("" if d["upstream"] else " (none)"))
    out += [f"    <- {u['ref']}  ({u['edge']})" for u in d["upstream"]]
    out.append("  downstream:" + ("" if d["downstream"] else " (none)"))
    out += [f"    -> {x['ref']}  ({x['edge']})" for x in d["downstream"]]
    return out


def receipt_lines(receipt: dict[str, Any]) -> list[str]:
    """A gate receipt as `show` and `run` print it: the verdict, then each criterion with what was
    observed and, for one that failed, why."""
    criteria = [c for c in sequence(receipt.get("criteria")) if isinstance(c, dict)]
    # (PASS on no criteria passes nothing: said, as `promote` says it before staging or production)
    vacuous = " (no criteria: the experiment declares no gates)" if receipt.get("criteria") == [] else ""
    out = [f"  gate receipt: {receipt.get('status', '?')}{vacuous}"]
    reasons = sequence(receipt.get("reasons"))
    for i, c in enumerate(criteria):
        verdict = "PASS" if c.get("passed") else "FAIL"
        observed = "not recorded" if c.get("observed") is None else number(c.get("observed"))
        why = f": {reasons[i]}" if not c.get("passed") and len(reasons) == len(criteria) else ""
        out.append(f"    {verdict}  {c.get('expression')}  (observed {observed}){why}")
    return out


def _attr_lines(key: str, val: Any, indent: str, within: str = "") -> list[str]:
    if isinstance(val, dict) and val:
        lines = [f"{indent}{key}:"]
        for k, v in sorted(val.items()):
            lines += _attr_lines(k, v, indent + "  ", within=key)
        return lines
    if within == "metrics" and isinstance(val, float):
        return [f"{indent}{key}: {number(val)}"]  # as `run` and `list` print metrics
    if within == "params":
        return [f"{indent}{key}: {plain(val)}"]  # exactly as the spec gave it: a list stays [..]
    if isinstance(val, list) and any(isinstance(v, dict) for v in val):
        return [f"{indent}{key}:"] + [
            # (Sorted, as a mapping's keys are above: a fresh build kept the record's order, one read back from
            # the saved index, sorted keys, so `show` printed the same record two ways.)
            f"{indent}  - "
            + (", ".join(f"{k}: {plain(x)}" for k, x in sorted(v.items())) if isinstance(v, dict) else plain(v))
            for v in val
        ]
    if isinstance(val, list):
        return [f"{indent}{key}: {', '.join(map(plain, val)) if val else '(none)'}"]
    return [f"{indent}{key}: {plain(val)}"]


@click.command("lineage", short_help="Where REF came from, and what came from it.")
@click.argument("ref", shell_complete=complete_refs, callback=from_here)
@click.option("--upstream", is_flag=True, help="What REF came from (alone: only that).")
@click.option("--downstream", is_flag=True, help="What came from REF (alone: only that).")
@click.option("--depth", type=click.IntRange(min=1), metavar="N", help="Follow at most N steps (default: all the way).")
@click.option("--format", "fmt", type=Choice(("text", "json", "mermaid", "dot")), default="text", show_default=True)
@click.pass_obj
def lineage(state: State, ref: str, upstream: bool, downstream: bool, depth: int | None, fmt: str) -> int:
    """The records REF came from and the records that came from it, all the way.

    \b
    Formats: text (indented trees), json, mermaid (paste into Markdown), dot (Graphviz):
      strataml lineage model:iris-classifier@1 --upstream
      strataml lineage dataset:iris@1 --downstream --format mermaid
    """
    from strataml.read.query import lineage_of
    from strataml.read.render import render

    graph = _graph(state)
    direction = "up" if upstream and not downstream else "down" if downstream and not upstream else "both"
    start, steps, missing = lineage_of(graph, ref, direction, depth)
    click.echo(render(graph, start, steps, fmt, missing), nl=False)
    return 0


@click.command("compare", short_help="Runs or model versions side by side.")
@click.argument("refs", nargs=-1, required=True, shell_complete=complete_refs, callback=from_here)
@click.option("--diff-only", is_flag=True, help="Only the rows where the records differ.")
@click.option("--format", "fmt", type=Choice(("text", "markdown", "json")), default="text", show_default=True)
@click.pass_obj
def compare(state: State, refs: tuple[str, ...], diff_only: bool, fmt: str) -> int:
    """2 to 20 runs or model versions side by side: the record (status, state, gate), metrics
    (the best marked *, the better direction from the experiment's gates, else its plugin),
    params, inputs by digest, code commit and environment. A model version brings its
    producing run's params, code and environment. The API's /compare and the dashboard's
    compare view show the same comparison.

    \b
    Examples:
      strataml compare run:20261122T200038Z-iris-logreg-448b2a run:20261122T200055Z-synthetic-logreg-4dedd5
      strataml compare model:iris-classifier@1 model:breast-cancer-classifier@1 --diff-only --format markdown
    """
    from strataml.read.compare import compare as side_by_side
    from strataml.read.compare import text

    result = side_by_side(_graph(state), list(refs), diff_only)
    if fmt == "json":
        click.echo(json.dumps(result, indent=2, sort_keys=True))
    else:
        from strataml.cli.table import NO_LIMIT, width_for

        # A terminal's columns stay readable (48 wide at most); piped, every value is whole,
        # unless COLUMNS asks for a terminal's layout (as for every other table).
        cap = 48 if width_for(sys.stdout.isatty()) != NO_LIMIT else None
        click.echo(text(result, markdown=fmt == "markdown", cap=cap), nl=False)
    return 0


class _Report(click.Group):
    """`report experiment:NAME` (the default) or `report merge SHARD.json...`."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            from strataml.spelling import nearest

            # A ref has a kind (`experiment:NAME`); a word without one that resembles a
            # subcommand is a slip of it (`report merg a.json`), not an experiment's name.
            close = nearest(args[0], sorted(self.commands)) if ":" not in args[0] else []
            if close and not _spec_named(ctx, args[0]):
                ctx.fail(
                    f"No such command {args[0]!r}. Did you mean {close[0]!r}? "
                    f"(For an experiment named so: report experiment:{args[0]})"
                )
            return "experiment", self.commands["experiment"], args
        return super().resolve_command(ctx, args)


def _spec_named(ctx: click.Context, name: str) -> bool:
    """Whether the workspace holds experiments/NAME.yaml (`report e` for an experiment named e)."""
    state = ctx.find_object(State)
    try:
        root = state.root() if state is not None else None
    except StrataError:
        return False
    return root is not None and (root / "experiments" / f"{name}.yaml").is_file()


@click.group("report", cls=_Report, short_help="An experiment's runs, or a doctor run's shards merged.")
def report() -> None:
    """Reports made of many parts.

    \b
      strataml report experiment:NAME          every run of an experiment: best, mean, spread, trend
      strataml report merge SHARD.json...      the reports of `doctor --shard K/N` as one report
    """


@report.command("experiment", short_help="Every run of an experiment, per metric.")
@click.argument("ref", shell_complete=complete_refs, callback=from_here)
@click.option(
    "--format",
    "fmt",
    type=Choice(("text", "markdown", "json")),
    help="text: the report's text as it is; markdown: escaped for a pull request or a wiki; json for scripts "
    "[default: text on a terminal, else markdown]",
)
@click.option("-o", "--output", type=Given(dir_okay=False, path_type=Path), help="Write to FILE (atomically).")
@click.pass_obj
def report_experiment(state: State, ref: str, fmt: str | None, output: Path | None) -> int:
    """Every run of an experiment in one report: per metric its best value (the direction from
    the experiment's gates, else its plugin), mean, standard deviation, range, and how it moved
    from the first run to the last; the best run; runs of the same params grouped across seeds.
    Markdown for a pull request or a wiki page, JSON for scripts (with each metric's series).

    Exit codes: 0 reported (an experiment without runs too); 3 no such experiment, or no
    workspace here.

    \b
    Examples:
      strataml report experiment:iris-logreg
      strataml report experiment:iris-logreg --format markdown -o report.md
    """
    from strataml.cli.output import emit
    from strataml.read.report import experiment, markdown

    if fmt is None:  # (markdown for what is kept or read by a program: a file, a pipe, a job summary)
        fmt = "text" if output in (None, Path("-")) and sys.stdout.isatty() else "markdown"
    found = experiment(_graph(state), ref)
    text = json.dumps(found, indent=2, sort_keys=True) + "\n" if fmt == "json" else markdown(found, fmt == "text")

    def write(stream: TextIO, _color: bool) -> None:
        stream.write(text)

    emit(output, write, state.root())
    return 0


@report.command("merge", short_help="The reports of doctor --shard K/N as one.")
@click.argument("reports", nargs=-1, required=True, type=Given(dir_okay=False, exists=True, path_type=Path))
@click.option("--format", "fmt", type=Choice(REPORT_FORMATS), default="text", show_default=True)
@click.option("--strict", is_flag=True, help="Warnings fail too (exit 2), whatever the shards were run with.")
@click.option("-o", "--output", type=Given(dir_okay=False, path_type=Path), help="Write to FILE (atomically).")
@click.option(
    "--commit",
    metavar="SHA",
    help="Refuse reports of any other commit (in CI: the commit the jobs checked out, e.g. $GITHUB_SHA).",
)
@click.option(
    "--shards",
    type=click.IntRange(1, 256),
    metavar="N",
    help="Refuse reports of any other shard count (in CI: the matrix's size).",
)
def report_merge(
    reports: tuple[Path, ...], fmt: str, strict: bool, output: Path | None, commit: str | None, shards: int | None
) -> int:
    """Merge the JSON reports of `strataml doctor --shard K/N` (one per CI job) into one report
    and one exit code, as one full run would give: refused unless they are shards 1 to N of one
    commit, run with the same options, each once. A report names the commit it checked, not the
    working tree: shards of checkouts with uncommitted changes (not CI's clean checkouts) are
    not told apart, so merge only the shards of one clean checkout of that commit.

    Exit codes, as one full doctor run's: 0 clean, 1 warnings only, 2 errors (or warnings with
    --strict); 3 the reports are not the shards of one run, or one cannot be read.

    \b
    Examples (the merge job of a matrix):
      strataml report merge shard-*.json --format sarif -o strataml.sarif
      strataml report merge shard-*.json --strict --format markdown >> "$GITHUB_STEP_SUMMARY"
    """
    from strataml.cli.output import emit
    from strataml.doctor.merge import merge
    from strataml.reporters import RenderOptions, render

    if commit is not None:
        commit = commit.lower()
        if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", commit):
            # (A report names the full id it checked: a short or symbolic one could only ever differ.)
            raise click.BadParameter(
                f"{shown(commit)} is not a full commit id: give all its hex digits, 40 (64 in a SHA-256 "
                "repository): `git rev-parse HEAD`, $GITHUB_SHA",
                param_hint="'--commit'",
            )
    merged, folder = merge(list(reports), strict, commit, shards)
    prefix = folder if fmt in ("sarif", "github") else ""  # (as doctor names files in those formats)
    emit(output, lambda stream, c: render(merged, fmt, stream, RenderOptions(color=c, repo_prefix=prefix)), None)
    return merged.exit_code
