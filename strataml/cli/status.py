"""`strataml status`: the workspace on one screen."""

from __future__ import annotations

import json
from typing import Any

import click

from strataml.cli.choice import Choice
from strataml.cli.main import State
from strataml.cli.readers import not_read
from strataml.controls import shown
from strataml.numbers import number

LATEST = 5  # runs shown
LISTED = 10  # uncommitted paths shown before "... and N more"


@click.command("status", short_help="The workspace on one screen: health, work, production.")
@click.option("--format", "fmt", type=Choice(("text", "json")), default="text", show_default=True)
@click.pass_obj
def status(state: State, fmt: str) -> int:
    """The workspace on one screen: records per kind, health, what git has not committed, the
    models in production and staging, the latest runs.

    Reads the same index as `list` (rebuilt first when the repository changed). Exit 0 whatever
    the health: `strataml doctor` is the check.

    \b
    Examples:
      strataml status
      strataml -C ../other-workspace status --format json
    """
    from strataml import gitfacts
    from strataml.read import saved
    from strataml.read.query import Graph, gated_metrics, gates, overview, rows, select, unread

    root = state.root()
    index, _rebuilt = saved.current(root)
    graph = Graph(index)
    seen = overview(graph)
    models = rows(graph, "models")
    by_experiment = gates(n for n in graph.nodes.values() if n["kind"] == "experiment")
    report: dict[str, Any] = {
        **seen,
        "root": str(root),
        "commit": gitfacts.head_commit(root),
        # .strataml/ is derived (caches, the index): never something to commit.
        "uncommitted": [
            {"status": s, "path": p} for s, p in gitfacts.uncommitted(root) or [] if not p.startswith(".strataml/")
        ],
        "production": [m for m in models if m.get("state") == "production"],
        "staging": [m for m in models if m.get("state") == "staging"],
        # Each of those by the metric its experiment gates on (else the first by name).
        "gated": {
            m["id"]: gated_metrics(m, by_experiment) for m in models if m.get("state") in ("production", "staging")
        },
        "latest_runs": select(rows(graph, "runs"), [], "created", True, LATEST),
        # Record folders the index holds no node for, the doctor's findings being about them.
        "unread": {what: unread(index, what, root) for what in ("datasets", "runs", "models")},
    }
    if fmt == "json":
        click.echo(json.dumps(report, indent=2, sort_keys=True))
        return 0
    for line in _lines(report, gitfacts.repository(root) is not None):
        click.echo(shown(line))
    return 0


def _lines(r: dict[str, Any], in_git: bool) -> list[str]:
    counts = ", ".join(f"{n} {what if n != 1 else what[:-1]}" for what, n in r["counts"].items())
    health = r["health"]
    bad = [f"{health[k]} {k if health[k] != 1 else k[:-1]}" for k in ("errors", "warnings") if health[k]]
    commit = f", commit {r['commit'][:12]}" if r["commit"] else (", no commits yet" if in_git else ", not in git")
    out = [
        f"Workspace {r['name']} ({r['root']}{commit})",
        f"  records      {counts}",
        "  health       " + (f"{', '.join(bad)}: see `strataml doctor`" if bad else "ok"),
    ]
    out += [f"  not read     {not_read(folders, what, '')}" for what, folders in r["unread"].items() if folders]
    if in_git:
        changes = _by_record(r["uncommitted"])
        listed = [f"{path} ({said})" for path, said in changes[:LISTED]]
        more = [f"... and {len(changes) - LISTED} more"] if len(changes) > LISTED else []
        out.append("  uncommitted  " + ("nothing" if not changes else listed[0]))
        out += [f"               {x}" for x in [*listed[1:], *more]]
    for state in ("production", "staging"):
        for m in r[state]:
            metrics = m.get("metrics", {})
            name = next(iter(r["gated"].get(m["id"]) or sorted(metrics)), None)
            metric = (name, metrics[name]) if name is not None else None
            out.append(f"  {state:<12} {m['id']}" + (f"  {metric[0]} {number(metric[1])}" if metric else ""))
    none = "  none read (see `not read` above)" if r["unread"]["runs"] else "  none yet (`strataml run SPEC`)"
    out.append("  latest runs" + ("" if r["latest_runs"] else none))
    # (A field of the wrong type is the doctor's finding: shown here as text, never a crash.)
    cells = [
        (str(run["name"]), str(run.get("status") or ""), str(run.get("created") or "")) for run in r["latest_runs"]
    ]
    wide = max((len(name) for name, _s, _c in cells), default=0)
    states = max((len(status) for _n, status, _c in cells), default=0)
    for name, status, created in cells:
        out.append(f"    {name:<{wide}}  {status:<{states}}  {created}".rstrip())
    return out


def _by_record(changes: list[dict[str, str]]) -> list[tuple[str, str]]:
    """A record folder once (`runs/ID (new)`), not each of its files; other paths as they are.
    A folder is new when its metadata is; untracked files beside committed metadata are said
    as such (the record is not new, and those files are in no clone)."""
    from strataml.workspace import META, record_folder

    out: dict[str, str] = {}
    added: dict[str, int] = {}  # folder -> untracked files in it besides its metadata
    new_meta = {c["path"] for c in changes if c["status"] == "??" and c["path"].rsplit("/", 1)[-1] in META.values()}
    for change in changes:
        folder = record_folder(change["path"])
        if folder == change["path"]:
            folder = None  # (a file where a run's folder would be, runs/.gitkeep: a path, said as one)
        where = folder or change["path"]
        said = _said(change["status"])
        if folder is not None and said == "new" and not any(m.startswith(folder + "/") for m in new_meta):
            added[where] = added.get(where, 0) + 1
            said = "files"
        out[where] = said if out.get(where, said) == said else "changed"
    return [
        (where, f"{added[where]} untracked file{'s' if added[where] != 1 else ''}" if said == "files" else said)
        for where, said in out.items()
    ]


_WORDS = {"M": "changed", "T": "type changed", "A": "added", "D": "deleted", "R": "renamed", "C": "copied"}


def _said(status: str) -> str:
    """git's two status letters (index, work tree) as a word: the work tree's when it changed."""
    if status == "??":
        return "new"
    if "U" in status or status in ("AA", "DD"):
        return "conflict"
    padded = status + "  "
    staged, worktree = padded[0], padded[1]
    if worktree != " ":
        return _WORDS.get(worktree, "changed")
    return "staged" if staged == "M" else _WORDS.get(staged, "changed")
