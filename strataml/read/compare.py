"""Runs and model versions side by side: the one comparison `strataml compare`, the API's
/compare and the dashboard's compare view show.

A record's comparable values come in groups: the record itself, its metrics, its params, its
inputs (by digest), its code and its environment; a model version brings its producing run's
params, code and environment. A metric's better direction comes from the experiment's gates,
else from its plugin (strataml.gates.directions); where the records disagree, none is marked.
"""

from __future__ import annotations

from typing import Any

from strataml.errors import StrataError
from strataml.gates import directions
from strataml.numbers import as_float, finite
from strataml.read.query import Graph, errors_of
from strataml.shapes import mapping as _map
from strataml.words import counted

GROUPS = ("record", "metrics", "params", "inputs", "code", "environment")
MAX_REFS = 20


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    """Nested maps as dotted keys (environment.packages.scikit-learn), so each is a row."""
    if isinstance(value, dict):
        for key in sorted(value, key=str):
            _flat(f"{prefix}.{key}" if prefix else str(key), value[key], out)
    else:
        out[prefix] = value


def values(graph: Graph, node: dict[str, Any]) -> dict[str, Any]:
    """One record's groups of comparable values, and which way each of its metrics is better."""
    attrs = _map(node.get("attrs"))
    run = node if node.get("kind") == "run" else graph.nodes.get(str(attrs.get("produced_by")))
    run_attrs = _map(run.get("attrs")) if run else {}
    if node.get("kind") == "model":
        receipt = _map(node.get("receipt"))
        record = {
            "state": attrs.get("state"),
            "gate": receipt.get("status") or _map(attrs.get("gate")).get("status"),
            "produced_by": attrs.get("produced_by"),
            "created_at": attrs.get("created_at"),
            "config_hash": attrs.get("config_hash"),
        }
        metrics = _map(_map(attrs.get("evaluation")).get("metrics"))
        inputs_of = attrs.get("inputs")
    else:
        record = {
            "experiment": attrs.get("experiment"),
            "status": attrs.get("status"),
            "created_at": attrs.get("created_at"),
            "seed": attrs.get("seed"),
            "config_hash": attrs.get("config_hash"),
        }
        metrics = _map(attrs.get("metrics"))
        inputs_of = attrs.get("inputs")
    inputs = (
        {str(i.get("ref")): i.get("digest") for i in inputs_of if isinstance(i, dict)}
        if isinstance(inputs_of, list)
        else {}
    )
    code: dict[str, Any] = {}
    _flat("", _map(run_attrs.get("code")), code)
    environment: dict[str, Any] = {}
    _flat("", _map(run_attrs.get("environment")), environment)
    experiment = graph.nodes.get(str(run_attrs.get("experiment")))
    better = directions(_map(experiment.get("attrs"))) if experiment else {}
    return {
        "record": record,
        "metrics": metrics,
        "params": _map(run_attrs.get("params")),
        "inputs": inputs,
        "code": code,
        "environment": environment,
        "better": {k: v for k, v in better.items() if k in metrics},
    }


def compare(graph: Graph, refs: list[str], diff_only: bool = False) -> dict[str, Any]:
    """2 to 20 runs or model versions side by side: per group, a row per key with each record's
    value, whether they are all the same, and (metrics) which records hold the best value."""
    if not 2 <= len(refs) <= MAX_REFS:
        raise StrataError(
            f"{counted(len(refs), 'record')}: compare takes 2 to {MAX_REFS}",
            "e.g. strataml compare run:A run:B",
        )
    nodes = [graph.find(r) for r in refs]
    twice = sorted({n["id"] for n in nodes if sum(m["id"] == n["id"] for m in nodes) > 1})
    if twice:  # (two spellings of one record, e.g. a path and its ref, name it twice too)
        raise StrataError(
            f"{twice[0]} is given twice: compare shows different records side by side",
            "name each record once; `strataml show REF` shows one",
        )
    for node in nodes:
        if node["kind"] not in ("run", "model"):
            raise StrataError(
                f"{node['id']} is a{'n' if node['kind'][0] in 'aeiou' else ''} {node['kind']}: compare takes runs and model versions",
                "see `strataml list runs` and `strataml list models`",
            )
    each = [values(graph, n) for n in nodes]
    better: dict[str, str] = {}
    for key in sorted({k for v in each for k in v["better"]}):
        said = {v["better"][key] for v in each if key in v["better"]}
        if len(said) == 1:
            better[key] = said.pop()
    groups = []
    for group in GROUPS:
        rows = []
        for key in sorted({k for v in each for k in v[group]}, key=str):
            cells = [v[group].get(key) for v in each]
            same = all(c == cells[0] and type(c) is type(cells[0]) for c in cells)
            if diff_only and same:
                continue
            best: list[int] = []
            numbers = [as_float(c) for c in cells]
            known = [n for n in numbers if n is not None]
            if group == "metrics" and not same and key in better and len(known) >= 2:
                top = max(known) if better[key] == "higher" else min(known)
                best = [i for i, n in enumerate(numbers) if n == top]
            rows.append({"key": key, "values": cells, "same": same, "best": best})
        groups.append({"name": group, "rows": rows})
    # A record the doctor finds errors in may hold nothing it could read (its metadata broken):
    # its dashes are then no values, and the comparison says so rather than show blanks.
    broken = [n["id"] for n in nodes if errors_of(n)]
    return finite(
        {
            "refs": [n["id"] for n in nodes],
            "better": better,
            "diff_only": diff_only,
            "groups": groups,
            "with_errors": broken,
        }
    )


def _cell(value: Any) -> str:
    import json

    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list, bool)):
        return json.dumps(value)
    return str(value)


def text(result: dict[str, Any], markdown: bool = False, cap: int | None = None) -> str:
    """The comparison as a table: a terminal's, or a markdown one (a pull request, a report).
    `cap`: the widest a column may be (a terminal's); a longer value is cut with a visible '…'.
    None (a pipe or a file): every value whole, as every table here prints them."""
    from strataml.controls import shown

    def esc(value: str) -> str:
        from strataml.reporters.github import markdown_text

        return markdown_text(value) if markdown else shown(value)

    header = ["", *result["refs"]]
    lines: list[list[str]] = []
    heads: set[int] = set()  # the lines that name a group
    for group in result["groups"]:
        if not group["rows"]:
            continue
        heads.add(len(lines))
        lines.append([f"[{group['name']}]"] + [""] * len(result["refs"]))
        for row in group["rows"]:
            cells = [_cell(v) + (" *" if i in row["best"] else "") for i, v in enumerate(row["values"])]
            lines.append([row["key"], *cells])
    if markdown:
        out = ["| " + " | ".join(esc(h) for h in header) + " |", "|" + "---|" * len(header)]
        out += [
            "| "
            + " | ".join(f"**{esc(c[1:-1])}**" if n in heads and i == 0 else esc(c) for i, c in enumerate(line))
            + " |"
            for n, line in enumerate(lines)
        ]
        out.append("")
        out.append("\\* the best value (the direction from the experiment's gates, else its plugin)")
        out += _broken_note(result, esc)
        return "\n".join(out) + "\n"
    from strataml.controls import cut

    widths = [max(len(shown(r[i])) for r in [header, *lines]) for i in range(len(header))]
    widths = [min(cap, w) for w in widths] if cap is not None else widths
    out = ["  ".join(cut(shown(h), w).ljust(w) for h, w in zip(header, widths)).rstrip()]
    for line in lines:
        out.append("  ".join(cut(shown(c), w).ljust(w) for c, w in zip(line, widths)).rstrip())
    if not lines:
        out.append("no differences" if result["diff_only"] else "nothing to compare")
    out.append("* the best value (the direction from the experiment's gates, else its plugin)")
    out += _broken_note(result, shown)
    return "\n".join(out) + "\n"


def _broken_note(result: dict[str, Any], esc: Any) -> list[str]:
    """The line saying which records have doctor errors (their refs through `esc`, the format's)."""
    broken = result.get("with_errors") or []
    if not broken:
        return []
    verb = "has" if len(broken) == 1 else "have"
    return [
        f"{', '.join(esc(r) for r in broken)} {verb} doctor errors: a '-' may be a value not read (see `strataml doctor`)"
    ]
