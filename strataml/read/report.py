"""An experiment's runs in one report: per metric its best, mean and spread, the best run, the
same configuration across seeds, and how each metric moved over time. `strataml report` prints
it, the dashboard's experiment page shows it."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from strataml.controls import plain
from strataml.errors import StrataError
from strataml.gates import directions, of_spec
from strataml.numbers import as_float, finite
from strataml.read.query import Graph, errors_of
from strataml.shapes import mapping as _map
from strataml.words import counted


def _stats(values: list[float]) -> dict[str, Any]:
    n = len(values)
    # Correctly rounded (fsum): three runs of 0.100363 have the mean 0.100363 and a spread of 0,
    # not 0.10036300000000001 and 1.55e-17.
    try:
        mean = math.fsum(values) / n
    except OverflowError:  # (finite values near the float limit whose sum is not: fsum raises)
        mean = math.fsum(v / n for v in values)
    # The sample spread (n - 1): runs are draws from what the configuration can do; past the
    # float range it is none (finite() makes an infinity None too).
    try:
        std = math.sqrt(math.fsum((v - mean) * (v - mean) for v in values) / (n - 1)) if n > 1 else None
    except OverflowError:
        std = None
    return {"n": n, "mean": mean, "std": std, "min": min(values), "max": max(values)}


def runs_by_experiment(graph: Graph) -> dict[str, list[dict[str, Any]]]:
    """Every run node under the experiment it names, found in one pass (for reports of them all)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for n in graph.nodes.values():
        if n["kind"] == "run":
            out.setdefault(str(_map(n.get("attrs")).get("experiment")), []).append(n)
    return out


def experiment(graph: Graph, text: str, runs_of: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    """The report of the experiment `text` names, with or without `experiment:` in front (`runs_of`:
    runs_by_experiment(), when made)."""
    bare = text.strip()
    node = graph.nodes.get(f"experiment:{bare}") if ":" not in bare else None
    node = node if node is not None else graph.find(text)
    if node["kind"] != "experiment":
        raise StrataError(f"{node['id']} is not an experiment", "e.g. strataml report experiment:NAME")
    spec = _map(node.get("attrs"))
    better = directions(spec)
    gated = [gate.metric for gate in of_spec(spec)]
    by_experiment = runs_of if runs_of is not None else runs_by_experiment(graph)
    mine = by_experiment.get(node["id"], [])
    runs = sorted(mine, key=lambda n: (str(_map(n["attrs"]).get("created_at") or ""), n["id"]))
    succeeded = [r for r in runs if _map(r["attrs"]).get("status") == "succeeded"]
    by_name = _by_name(succeeded)
    metrics = []
    for name in sorted(by_name):
        series = [{"run": r["id"], "at": r["attrs"].get("created_at"), "value": v} for r, v in by_name[name]]
        values = [p["value"] for p in series]
        way = better.get(name)
        best = None
        if way is not None:
            top = max(values) if way == "higher" else min(values)
            best = next(p for p in series if p["value"] == top)
        metrics.append(
            {
                "name": name,
                "better": way,
                "gated": name in gated,
                **_stats(values),
                "best": best,
                "first": series[0]["value"],
                "last": series[-1]["value"],
                "series": series,
            }
        )
    key = next((m for m in metrics if m["gated"] and m["best"]), None) or next((m for m in metrics if m["best"]), None)
    return finite(
        {
            "experiment": node["id"],
            "runs": len(runs),
            "succeeded": len(succeeded),
            "failed": sum(1 for r in runs if _map(r["attrs"]).get("status") == "failed"),
            "best_run": {"run": key["best"]["run"], "metric": key["name"], "value": key["best"]["value"]}
            if key
            else None,
            "metrics": metrics,
            "configurations": _configurations(succeeded),
            # Runs whose metadata does not load name no experiment: not counted here, and said.
            "unattributed": sorted(n["id"] for n in by_experiment.get(str(None), ()) if errors_of(n)),
        }
    )


def _by_name(runs: list[dict[str, Any]]) -> dict[str, list[tuple[dict[str, Any], float]]]:
    """Metric name -> (run, value) for each of `runs` (in their order) that recorded it as a number,
    in one pass over each run's metrics: a pass over every run for each name was runs x names (a
    thousand runs with a hundred names each of their own: a minute for the dashboard)."""
    out: dict[str, list[tuple[dict[str, Any], float]]] = {}
    for run in runs:
        for name, value in _map(run["attrs"].get("metrics")).items():
            if (v := as_float(value)) is not None:
                out.setdefault(str(name), []).append((run, v))
    return out


def _seeds(seeds: Iterable[Any]) -> list[Any]:
    """Each seed once, as the runs recorded it (an integer, by TFC-0003), in numeric order; a
    value a hand-edited record holds otherwise comes after the numbers, ordered by its JSON."""
    numbers: set[int] = set()
    others: set[str] = set()
    for seed in seeds:
        if isinstance(seed, int) and not isinstance(seed, bool):
            numbers.add(seed)
        else:
            others.add(json.dumps(seed, sort_keys=True, default=str))
    return [*sorted(numbers), *(json.loads(o) for o in sorted(others))]


def _configurations(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs of the same params but their seed, together: what a configuration does across seeds."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        config = {k: v for k, v in _map(run["attrs"].get("params")).items() if k != "seed"}
        groups.setdefault(json.dumps(config, sort_keys=True, default=str), []).append(run)
    out = []
    for params, members in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        found = _by_name(members)
        stats = {name: _stats([v for _r, v in found[name]]) for name in sorted(found)}
        out.append(
            {
                "params": json.loads(params),
                "runs": [r["id"] for r in members],
                "seeds": _seeds(r["attrs"].get("seed") for r in members),
                "metrics": stats,
            }
        )
    return out


def _f(value: Any) -> str:
    return "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def markdown(report: dict[str, Any], for_terminal: bool = False) -> str:
    """The report as Markdown, its repository text escaped (a pull request, a wiki, a job
    summary); `for_terminal`: the same layout with that text as it is (controls still made
    visible), for a person at a terminal, where `run\\:2026...` could not be pasted into `show`."""
    from strataml.controls import shown
    from strataml.reporters.github import markdown_text

    def esc(value: Any) -> str:
        return shown(str(value)) if for_terminal else markdown_text(str(value))

    lines = [f"## {esc(report['experiment'])}", ""]
    runs = report["runs"]
    lines.append(f"{counted(runs, 'run')}: {report['succeeded']} succeeded, {report['failed']} failed.")
    unknown = report.get("unattributed") or []
    if unknown:
        them = "it belongs" if len(unknown) == 1 else "they belong"
        lines.append(
            f"Not counted: {counted(len(unknown), 'run')} of the workspace whose metadata does not load, so which "
            f"experiment {them} to is unknown ({esc(', '.join(unknown))}; see `strataml doctor`)."
        )
    best = report["best_run"]
    if best:
        lines.append(f"Best run: **{esc(best['run'])}** ({esc(best['metric'])} = {_f(best['value'])}).")
    if report["metrics"]:  # (no run recorded a metric: no table of nothing)
        lines += [
            "",
            "| metric | better | best | mean | std | min | max | first → last |",
            "|---|---|---|---|---|---|---|---|",
        ]
    for m in report["metrics"]:
        arrow = (
            ""
            if m["last"] == m["first"] or m["better"] is None
            else (" ▲" if (m["last"] > m["first"]) == (m["better"] == "higher") else " ▼")
        )
        lines.append(
            f"| {esc(m['name'])}{' (gate)' if m['gated'] else ''} | {m['better'] or '?'} | "
            f"{_f(m['best']['value']) if m['best'] else '-'} | {_f(m['mean'])} | {_f(m['std'])} | {_f(m['min'])} | "
            f"{_f(m['max'])} | {_f(m['first'])} → {_f(m['last'])}{arrow} |"
        )
    several = [c for c in report["configurations"] if len(c["runs"]) > 1]
    if several:
        lines += ["", "### Across seeds", ""]
        for c in several:
            # (Spelt as the spec spells them: true, not Python's True.)
            shown_params = ", ".join(f"{k}={plain(v)}" for k, v in sorted(c["params"].items())) or "(no params)"
            lines.append(
                f"- {esc(shown_params)}: {len(c['runs'])} runs, seed{'s' if len(c['seeds']) != 1 else ''} "
                f"{esc(', '.join(plain(x) for x in c['seeds']))}"
            )
            gated = {m["name"] for m in report["metrics"] if m["gated"]}
            for name, s in sorted(c["metrics"].items()):
                if name in gated or not gated:  # the gates' metrics decide; the JSON has every one
                    lines.append(f"  - {esc(name)}: {_f(s['mean'])} ± {_f(s['std'])}")
    return "\n".join(lines) + "\n"
