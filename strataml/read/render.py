"""Lineage as text trees, JSON, Mermaid or Graphviz dot; edges always point the way data flows."""

from __future__ import annotations

import json
from typing import Any

from strataml.controls import shown
from strataml.read.query import Graph, Step

SHAPES = {"dataset": "cylinder", "experiment": "note", "run": "box", "model": "component"}


def body(graph: Graph, start: str, steps: dict[str, list[Step]], missing: list[Step] | None = None) -> dict[str, Any]:
    """The lineage as data: `strataml lineage --format json` prints it, the API answers it.
    `missing`: what the upstream path names that is no record (query.lineage_of's third part),
    listed whenever upstream was followed."""
    edges = _edges(graph, start, steps)
    out = {
        "ref": start,
        **{
            ("upstream" if d == "up" else "downstream"): [
                {"ref": s.node, "depth": s.depth, "via": s.via, "edge": s.kind} for s in found
            ]
            for d, found in steps.items()
        },
        "edges": [{"from": a, "to": b, "kind": k} for a, b, k in edges],
    }
    if "up" in steps:
        out["missing"] = [{"ref": s.node, "depth": s.depth, "via": s.via, "edge": s.kind} for s in missing or ()]
    return out


def _edges(graph: Graph, start: str, steps: dict[str, list[Step]]) -> list[tuple[str, str, str]]:
    """The edges on a followed path: both ends upstream of `start` (or it), or both downstream."""
    up = {start} | {s.node for s in steps.get("up", [])}
    down = {start} | {s.node for s in steps.get("down", [])}
    out = set()
    for node in up | down:
        for other, kind in graph.down.get(node, ()):
            if (node in up and other in up) or (node in down and other in down):
                out.add((node, other, kind))
    return sorted(out)


def render(graph: Graph, start: str, steps: dict[str, list[Step]], fmt: str, missing: list[Step] | None = None) -> str:
    missing = missing or []
    if fmt == "json":
        return json.dumps(body(graph, start, steps, missing), indent=2) + "\n"
    members = {start} | {s.node for found in steps.values() for s in found}
    edges = _edges(graph, start, steps)
    # Text formats escape control characters in refs (controls.shown): one line per node and edge.
    if fmt == "mermaid":
        ids = {n: f"n{i}" for i, n in enumerate(sorted(members))}
        lines = ["graph LR"]
        lines += [f'  {ids[n]}["{_label(n)}"]' for n in sorted(members)]
        lines += [f"  {ids[a]} -->|{k}| {ids[b]}" for a, b, k in edges]
        gone = {ref: f"m{i}" for i, ref in enumerate(sorted({m.node for m in missing}))}
        for ref, mid in gone.items():  # (no record: one dashed node, an edge to each that names it)
            lines += [f'  {mid}["{_label(ref)} (missing)"]', f"  style {mid} stroke-dasharray:4"]
        lines += [f"  {gone[m.node]} -.->|{m.kind}| {ids[m.via or start]}" for m in missing]
        lines.append(f"  style {ids[start]} stroke-width:3px")
        return "\n".join(lines) + "\n"
    if fmt == "dot":
        lines = ["digraph lineage {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
        for n in sorted(members):
            kind = graph.nodes[n]["kind"]
            bold = ", penwidth=2" if n == start else ""
            lines.append(f"  {_q(n)} [shape={SHAPES.get(kind, 'box')}{bold}];")
        lines += [f"  {_q(a)} -> {_q(b)} [label={_q(k)}];" for a, b, k in edges]
        for m in missing:
            lines.append(f"  {_q(m.node)} [style=dashed, label={_q(m.node + ' (missing)')}];")
            lines.append(f"  {_q(m.node)} -> {_q(m.via or start)} [label={_q(m.kind or '')}, style=dashed];")
        lines.append("}")
        return "\n".join(lines) + "\n"
    return _text(graph, start, steps, missing)


def _label(text: str) -> str:
    """A Mermaid node label: one line, its quotes as Mermaid's entity."""
    return shown(text).replace('"', "#quot;")


def _q(text: str) -> str:
    return '"' + shown(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(graph: Graph, start: str, steps: dict[str, list[Step]], missing: list[Step]) -> str:
    out = [start]
    for direction, found in steps.items():
        arrow, title = (
            ("<-", "upstream (what it came from)") if direction == "up" else ("->", "downstream (what came from it)")
        )
        gone = missing if direction == "up" else []
        loops = _loops(graph.up if direction == "up" else graph.down, start, found)
        out.append(f"  {title}:" + ("" if found or gone or loops.get(start) else " (none)"))
        children: dict[str, list[Step]] = {}
        for s in [*found, *gone]:
            children.setdefault(s.via or start, []).append(s)
        absent = {id(s) for s in gone}
        out += [f"    {arrow} {other}  ({kind}, a loop: back to {other})" for other, kind in loops.get(start, ())]
        stack = [(s, 2) for s in reversed(children.get(start, []))]
        while stack:  # each node once, under the node it was first reached from
            s, level = stack.pop()
            said = f"{s.kind}, missing: no such record" if id(s) in absent else s.kind
            out.append(f"{'  ' * level}{arrow} {s.node}  ({said})")
            if id(s) not in absent:
                out += [
                    f"{'  ' * (level + 1)}{arrow} {other}  ({kind}, a loop: back to {other})"
                    for other, kind in loops.get(s.node, ())
                ]
                stack += [(c, level + 1) for c in reversed(children.get(s.node, []))]
    return "\n".join(map(shown, out)) + "\n"


def _loops(links: dict[str, Any], start: str, found: list[Step]) -> dict[str, list[tuple[str, str]]]:
    """For each node of the tree, its links back to itself or to a node on its path from `start`:
    the tree shows each node once, so a loop (the doctor's TFC0008-E009) would show as nothing.
    A node is on another's path when the walk entered it before and left it after (linear in
    the tree: a chain of 10k versions walked each path again, 4 s)."""
    children: dict[str, list[str]] = {}
    for s in found:
        children.setdefault(s.via or start, []).append(s.node)
    entered: dict[str, int] = {}
    left: dict[str, int] = {}
    clock = 0
    stack: list[tuple[str, bool]] = [(start, False)]
    while stack:
        node, done = stack.pop()
        clock += 1
        if done:
            left[node] = clock
            continue
        entered[node] = clock
        stack.append((node, True))
        stack += [(child, False) for child in children.get(node, ()) if child not in entered]
    out: dict[str, list[tuple[str, str]]] = {}
    for node in entered:
        back = sorted(
            (other, kind)
            for other, kind in links.get(node, ())
            if other in entered and entered[other] <= entered[node] and left[node] <= left[other]
        )
        if back:
            out[node] = back
    return out
