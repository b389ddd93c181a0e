"""The dashboard: one self-contained HTML file built from the index through the query layer.

The page is a small app (site/app.js, site/app.css) over one JSON block. Nothing in it loads
anything: scripts and styles are inline and allowed by their hashes in a Content-Security-Policy
that forbids every other load. Repository content only ever travels as JSON data, escaped so
that no string can end the block (`</script>`, `<!--`) or break a script (U+2028, U+2029).
The same repository state gives a byte-identical file: no clock unless asked for.
"""

from __future__ import annotations

import base64
import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

from strataml import __version__, contracts
from strataml.read.query import KIND_OF_LIST, Graph, detail, health_by_contract, rows

FORMAT = "strataml/dashboard/v1"
DEFAULT = ".strataml/site/index.html"
# Characters that could end or confuse the data block in HTML, or a script if it were one.
_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def payload(graph: Graph, commit: str | None, generated_at: str | None, repo_link: str | None) -> dict[str, Any]:
    """What the page shows, every part of it from the query layer the CLI reads."""
    index = graph.index
    findings = index.get("findings", [])
    records = {}
    for node in index["nodes"]:
        d = detail(graph, node)
        # Neighbours are the edges, findings their positions in the one list: not repeated per record.
        del d["upstream"], d["downstream"]
        d["reported"] = graph.findings_by_node.get(node["id"], [])
        records[node["id"]] = d
    totals = {s: sum(1 for f in findings if f.get("severity") == s) for s in ("error", "warning", "info")}
    return {
        "format": FORMAT,
        "workspace": {
            "name": index.get("workspace"),
            "commit": commit,
            "generated_at": generated_at,
            "tool": __version__,
            "repo_link": repo_link,
        },
        "health": {
            "errors": totals["error"],
            "warnings": totals["warning"],
            "infos": totals["info"],
            "by_contract": health_by_contract(findings),
            "unowned": graph.unowned_findings(),
        },
        "counts": {what: sum(1 for n in index["nodes"] if n["kind"] == kind) for what, kind in KIND_OF_LIST.items()},
        "tables": {what: rows(graph, what) for what in KIND_OF_LIST},
        "records": records,
        "edges": [[e["from"], e["to"], e["kind"]] for e in index["edges"]],
        "findings": findings,
        "rules": [
            {
                "code": r.code,
                "name": r.name,
                "severity": r.severity,
                "enforced": r.enforced_note,
                "summary": r.summary,
                "contract": r.tfc,
                "document": r.document,
                "body": r.body,
            }
            for r in contracts.registry().values()
        ],
    }


def data_block(data: dict[str, Any]) -> str:
    """JSON that is inert inside <script type="application/json">, whatever the strings hold."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    for char, escape in _ESCAPES:  # str.replace runs in C; str.translate with a table is ~10x slower here
        text = text.replace(char, escape)
    return text


def _asset(name: str) -> str:
    return resources.files("strataml.read").joinpath("site", name).read_text("utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def render(data: dict[str, Any]) -> str:
    """The page: template, inline style and script, the data block, and a CSP naming their hashes."""
    import jinja2

    script, style = _asset("app.js"), _asset("app.css")
    csp = "; ".join(
        (
            "default-src 'none'",
            f"script-src {_csp_hash(script)}",
            f"style-src {_csp_hash(style)}",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
        )
    )
    env = jinja2.Environment(autoescape=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(_asset("page.html"))
    return template.render(
        csp=csp,
        title=f"{data['workspace']['name']} · StrataML",
        style=style,  # the template marks these three |safe: the page's own code, and data_block's escaped JSON
        script=script,
        data=data_block(data),
    )


def repo_link(root: Path, output: Path) -> str | None:
    """How the page reaches the repository's files (plots, reports): a relative link when the
    page lives inside the repository, none otherwise (a copy published elsewhere)."""
    import os

    try:
        rel = Path(os.path.relpath(root.resolve(), output.resolve().parent))
    except ValueError:
        return None
    inside = output.resolve().is_relative_to(root.resolve())
    return (rel.as_posix().rstrip("/") + "/") if inside else None
