"""The dashboard: one self-contained HTML file built from the index through the query layer.

The page is a small app (site/app.js, site/app.css) over one data block (see data_block). Nothing in it loads
anything: scripts and styles are inline and allowed by their hashes in a Content-Security-Policy
that forbids every other load. Repository content only ever travels as data: JSON, gzip'd and
base64-encoded, so no string of it can end the block (`</script>`, `<!--`) or become markup.
The same repository state gives a byte-identical file: no clock unless asked for.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import json
import string
from importlib import resources
from pathlib import Path
from typing import Any

from strataml import __version__
from strataml.controls import json_utf8, undecodable
from strataml.read.build import unsigned
from strataml.read.compare import values
from strataml.read.query import KIND_OF_LIST, Graph, detail, health_by_contract, rows, rules
from strataml.read.report import experiment, runs_by_experiment
from strataml.words import listed

FORMAT = "strataml/dashboard/v1"
ENCODING = "gzip+base64"
BLOCK_ID = "strataml-data"
DEFAULT = ".strataml/site/index.html"
# Characters that could end or confuse the data block in HTML, or a script if it were one.
_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def payload(graph: Graph, commit: str | None, generated_at: str | None, repo_link: str | None) -> dict[str, Any]:
    """What the page shows, every part of it from the query layer the CLI reads."""
    index = graph.index
    findings = index.get("findings", [])
    records = {}
    runs_of = runs_by_experiment(graph)
    for node in index["nodes"]:
        d = detail(graph, node)
        # Neighbours are the edges, findings their positions in the one list: not repeated per record.
        del d["upstream"], d["downstream"]
        d["reported"] = graph.findings_by_node.get(node["id"], [])
        if node["kind"] in ("run", "model"):
            d["compare"] = values(graph, node)  # the compare view lays out what strataml compare compares
        if node["kind"] == "experiment":
            # strataml report's summary; each metric's series is the compare view's chart already.
            found = experiment(graph, node["id"], runs_of)
            found["metrics"] = [{k: v for k, v in m.items() if k != "series"} for m in found["metrics"]]
            found["configurations"] = [{**c, "runs": len(c["runs"])} for c in found["configurations"]]
            del found["unattributed"]  # (the same list for every experiment; the page lists findings)
            d["report"] = found
        records[node["id"]] = d
    totals = {s: sum(1 for f in findings if f.get("severity") == s) for s in ("error", "warning", "info")}
    members = index.get("workspaces")  # a federated index (read.federate): one view over many workspaces
    extra: dict[str, Any] = {}
    if members is not None:
        extra = {"workspaces": members, "aliases": graph.aliases}
    return {
        "format": FORMAT,
        **extra,
        "workspace": {
            "name": index.get("workspace") if members is None else federation_title(members),
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
        # A fourth item, true, marks an edge between two workspaces of a federation.
        "edges": [[e["from"], e["to"], e["kind"], *((True,) if e.get("cross") else ())] for e in index["edges"]],
        "findings": findings,
        "rules": rules(),
    }


def federation_title(members: list[dict[str, Any]]) -> str:
    names = [m["name"] for m in members]
    return f"{len(names)} workspaces: {listed(names, 4)}"


def data_block(data: dict[str, Any]) -> str:
    """The payload as the page carries it: gzip'd JSON in base64, inside a JSON object.

    A fifth of the bytes or less (benchmarks/bench_dashboard.py at 10,000 records: 2.8 MB where the
    JSON is ~14 MB), decoded by the browser's own
    DecompressionStream. No string from the repository appears in the page as text at all, and
    the wrapper is still escaped as if it could (defence in depth, and the same rule everywhere).
    gzip's header carries no clock (mtime 0), so the same payload gives the same bytes.
    """
    # Sorted keys: an index read back from disk and one just built hold their keys in different
    # orders, and the page must not depend on which one it was made from.
    text = json.dumps(compact(data), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    # Level 1: a quarter of level 6's time for ~12% more bytes.
    packed = base64.b64encode(gzip.compress(json_utf8(text), compresslevel=1, mtime=0)).decode("ascii")
    wrapper = json.dumps({"encoding": ENCODING, "data": packed}, separators=(",", ":"))
    for char, escape in _ESCAPES:
        wrapper = wrapper.replace(char, escape)
    return wrapper


# What a record says when nothing is to be said: left out of the page, filled in again by the app
# (site/app.js, expand) and by read_payload, so 10,000 healthy unsigned records cost no bytes for it.
_DEFAULTS: dict[str, Any] = {
    "findings": {"errors": 0, "warnings": 0, "infos": 0},
    "reported": [],
    "signature": unsigned(),
    "history": [],
}


def compact(data: dict[str, Any]) -> dict[str, Any]:
    """The payload without what expand() restores: each record's id (its key) and default values."""
    records = {
        ref: {k: v for k, v in record.items() if k != "id" and not (k in _DEFAULTS and v == _DEFAULTS[k])}
        for ref, record in data["records"].items()
    }
    return {**data, "records": records}


def expand(data: dict[str, Any]) -> dict[str, Any]:
    for ref, record in data["records"].items():
        record["id"] = ref
        record.setdefault("findings", dict(_DEFAULTS["findings"]))
        record.setdefault("reported", [])
        if record.get("kind") != "experiment":
            record.setdefault("signature", unsigned())
        if record.get("kind") == "model":
            record.setdefault("history", [])
    return data


def read_payload(html: str) -> dict[str, Any]:
    """The payload of a page this module wrote, defaults restored as site/app.js's expand()
    restores them: the writer's inverse, kept beside it so the two cannot drift (the tests read
    every page they check through it)."""
    start = html.index(">", html.index(f'id="{BLOCK_ID}"')) + 1
    wrapper = json.loads(html[start : html.index("</script>", start)])
    if wrapper.get("encoding") != ENCODING:
        raise ValueError(f"not a StrataML dashboard payload ({ENCODING} expected)")
    return expand(json.loads(gzip.decompress(base64.b64decode(wrapper["data"]))))


def _asset(name: str) -> str:
    return resources.files("strataml.read").joinpath("site", name).read_text("utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def policy() -> str:
    """The page's Content-Security-Policy: nothing loads; the one script and style by their hashes.
    The page carries it in a meta tag; `strataml serve` sends it as a header too."""
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {_csp_hash(_asset('app.js'))}",
            f"style-src {_csp_hash(_asset('app.css'))}",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
        )
    )


def render(data: dict[str, Any]) -> str:
    """The page: the shell, inline style and script, the data block, and a CSP naming their hashes."""
    script, style = _asset("app.js"), _asset("app.css")
    csp = policy()
    # Five slots do not need a template engine (importing jinja2 alone took ~90 ms of a build
    # whose goal is one second). The two that carry text are escaped for HTML; the other three
    # are the page's own code and data_block's base64, which holds no markup character.
    fill = {
        "csp": html.escape(csp, quote=True),
        "title": html.escape(undecodable(f"{data['workspace']['name']} · StrataML"), quote=True),
        "style": style,
        "script": script,
        "data": data_block(data),
    }
    return string.Template(_asset("page.html")).substitute(fill)


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
