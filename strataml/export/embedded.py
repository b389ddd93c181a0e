"""Every export of every record, for the dashboard to offer on the record's page
(`strataml dashboard --exports`): a model card per model version, Croissant per dataset version,
OpenLineage events per run, each made by the same code as `strataml export`, for the formats
whose extra is installed.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from strataml.controls import json_text
from strataml.read.query import Graph, errors_of

# format -> (the module its extra brings, the extra, the kind of record it describes)
FORMATS = {
    "model-card": ("huggingface_hub", "modelcard", "model"),
    "croissant": ("mlcroissant", "croissant", "dataset"),
    "openlineage": ("openlineage.client", "openlineage", "run"),
}


def available() -> tuple[list[str], list[str]]:
    """(formats whose extra is installed, the extras of the others)."""
    have: list[str] = []
    missing: list[str] = []
    for name, (module, extra, _kind) in FORMATS.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        (have if found else missing).append(name if found else extra)
    return have, missing


# The formats that describe one record and refuse one the doctor finds errors in (export.refuse_unsound).
_ONE_RECORD = ("model-card", "croissant")


def unsound(graph: Graph, formats: list[str]) -> list[str]:
    """The records a format of `formats` would describe that the doctor finds errors in: none of
    their exports is made."""
    kinds = {FORMATS[f][2] for f in formats if f in _ONE_RECORD}
    return sorted(str(n["id"]) for n in graph.nodes.values() if n["kind"] in kinds and errors_of(n))


def documents(graph: Graph, formats: list[str]) -> dict[str, list[dict[str, str]]]:
    """ref -> its exports: {format, file (a name to save it as), type (media type), text}."""
    out: dict[str, list[dict[str, str]]] = {}
    skipped = set(unsound(graph, formats))
    nodes = sorted((n for n in graph.nodes.values() if n["id"] not in skipped), key=lambda n: str(n["id"]))
    if "model-card" in formats:
        from strataml.export.modelcard import card

        for node in (n for n in nodes if n["kind"] == "model"):
            text, _summary = card(graph, node["id"])
            out.setdefault(node["id"], []).append(_doc("model-card", "README.md", "text/markdown", text))
    if "croissant" in formats:
        from strataml.export.croissant import croissant

        for node in (n for n in nodes if n["kind"] == "dataset"):
            doc, _summary = croissant(graph, node["id"])
            name = node["id"].split(":", 1)[1].replace("@", "-") + ".croissant.json"
            text = json_text(doc, indent=2, sort_keys=True) + "\n"
            out.setdefault(node["id"], []).append(_doc("croissant", name, "application/ld+json", text))
    if "openlineage" in formats:
        from openlineage.client.serde import Serde

        from strataml.export.openlineage import events

        by_run: dict[str, list[str]] = {}
        for event in events(graph):
            by_run.setdefault(str(event.run.facets["strataml"].ref), []).append(Serde.to_json(event) + "\n")
        for ref, lines in sorted(by_run.items()):
            name = ref.split(":", 1)[1] + ".openlineage.jsonl"
            out.setdefault(ref, []).append(_doc("openlineage", name, "application/x-ndjson", "".join(lines)))
    return out


def _doc(fmt: str, file: str, media: str, text: str) -> dict[str, Any]:
    return {"format": fmt, "file": file, "type": media, "text": text}
