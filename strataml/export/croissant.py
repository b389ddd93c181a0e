"""A dataset version as Croissant JSON-LD (MLCommons), the metadata dataset hubs publish.

Built with mlcroissant's own classes (the `croissant` extra) and checked by its own loader,
mlcroissant.Dataset, before anything is written: an error it reports stops the export. The
files become FileObjects (path, sha256, size, encoding format), the recorded columns a
RecordSet whose fields read those columns from the data files (one FileObject, or a FileSet
when the version is split in parts); licence, source, description, creation time and the
version's digest come from dataset.yaml.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from strataml.errors import StrataError
from strataml.export import need as _need
from strataml.export import refuse_unsound
from strataml.read.query import Graph
from strataml.shapes import mapping as _map
from strataml.shapes import sequence
from strataml.shapes import text as _text

EXTRA = "croissant"
# StrataML column type -> the mlcroissant DataType attribute that means it.
_TYPES = {
    "integer": "INTEGER",
    "float": "FLOAT",
    "boolean": "BOOL",
    "string": "TEXT",
    "category": "TEXT",
    "date": "DATE",
    "datetime": "DATETIME",
}
_FORMATS = {
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "parquet": "application/x-parquet",
    "json": "application/json",
    "jsonl": "application/jsonlines",
    "txt": "text/plain",
    "zip": "application/zip",
}
_TABLES = ("text/csv", "text/tab-separated-values", "application/x-parquet", "application/jsonlines")


def need() -> Any:
    """mlcroissant, or an error naming the extra that brings it."""
    return _need("mlcroissant", EXTRA, "croissant", "mlcroissant")


def encoding(path: str) -> str:
    return _FORMATS.get(path.rsplit(".", 1)[-1].lower() if "." in path else "", "application/octet-stream")


def croissant(graph: Graph, ref: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the Croissant JSON-LD document, a summary of it) for the dataset version `ref` names."""
    node = graph.find(ref)
    if node["kind"] != "dataset":
        raise StrataError(f"{node['id']} is not a dataset version", "e.g. strataml export croissant dataset:NAME@1")
    refuse_unsound(graph, node, "croissant")
    mlc = need()
    attrs = _map(node.get("attrs"))
    name, _, version = node["id"].split(":", 1)[1].partition("@")
    files = [f for f in sequence(node.get("files")) if isinstance(f, dict) and isinstance(f.get("path"), str)]
    if not files:
        raise StrataError(
            f"{node['id']} records no files", "a Croissant dataset describes files: add them (dataset add)"
        )
    ctx = mlc.Context()
    distribution: list[Any] = [
        mlc.FileObject(
            ctx=ctx,
            id=_id(f["path"]),
            name=f["path"],
            content_url=f["path"],
            encoding_formats=[encoding(f["path"])],
            sha256=_text(f.get("sha256")),
            content_size=f"{f['size']} B" if isinstance(f.get("size"), int) else None,
        )
        for f in files
    ]
    tables = [f["path"] for f in files if encoding(f["path"]) in _TABLES]
    columns = [c for c in sequence(attrs.get("columns")) if isinstance(c, dict) and _text(c.get("name"))]
    record_sets = []
    if tables and columns:
        if len(tables) == 1:
            source_of = {"file_object": _id(tables[0])}
        else:  # a version in parts: one FileSet over them, read as one table
            distribution.append(
                mlc.FileSet(ctx=ctx, id="parts", name="parts", encoding_formats=[encoding(tables[0])], includes=tables)
            )
            source_of = {"file_set": "parts"}
        record_sets.append(
            mlc.RecordSet(
                ctx=ctx,
                id=_id(name),
                name=name,
                description=f"The rows of {node['id']}, one field per recorded column.",
                fields=[
                    mlc.Field(
                        ctx=ctx,
                        id=f"{_id(name)}/{_id(c['name'])}",
                        name=c["name"],
                        description=f"role: {c['role']}" if _text(c.get("role")) else None,
                        data_types=[getattr(mlc.DataType, _TYPES.get(str(c.get("type")), "TEXT"))],
                        source=mlc.Source(ctx=ctx, **source_of, extract=mlc.Extract(ctx=ctx, column=c["name"])),
                    )
                    for c in columns
                ],
            )
        )
    source = _map(attrs.get("source"))
    licence = _text(attrs.get("license"))
    created = _text(attrs.get("created_at"))
    metadata = mlc.Metadata(
        ctx=ctx,
        name=name,
        description=_text(attrs.get("description")) or f"{node['id']}, recorded by StrataML.",
        license=[licence] if licence else None,
        url=_web(source.get("url")),
        version=_semver(version),
        cite_as=_text(source.get("citation")) or _text(source.get("url")) or f"{node['id']} ({attrs.get('digest')})",
        date_published=_when(created),
        distribution=distribution,
        record_sets=record_sets,
    )
    doc = metadata.to_json()
    extra = {"strataml:ref": node["id"], "strataml:digest": attrs.get("digest")}
    if source:
        extra["strataml:source"] = {k: v for k, v in source.items() if isinstance(v, (str, list))}
    doc.setdefault("@context", {})["strataml"] = "https://strataml.dev/ns#"
    doc.update({k: v for k, v in extra.items() if v is not None})
    _check(mlc, doc, node["id"])
    summary = {
        "ref": node["id"],
        "files": len(files),
        "fields": sum(len(r.fields) for r in record_sets),
        "license": licence,
        "digest": attrs.get("digest"),
    }
    return doc, summary


def _check(mlc: Any, doc: dict[str, Any], ref: str) -> None:
    """mlcroissant's own loader over the document: its errors stop the export, naming them."""
    import logging

    logging.getLogger("absl").setLevel(logging.ERROR)  # its warnings (recommended fields) are not ours to print
    try:
        mlc.Dataset(jsonld=json.loads(json.dumps(doc)))
    except mlc.ValidationError as exc:
        raise StrataError(
            f"mlcroissant refuses the Croissant document of {ref}: {str(exc)[:800]}",
            "report this: what dataset.yaml records should always make a valid document",
        ) from None


def _id(text: str) -> str:
    """A Croissant @id from a name or path: percent-encoded, so a space or a quote in a column
    or file name (which the contracts allow) does not make an id mlcroissant refuses; the name
    itself stays as recorded in `name`."""
    return quote(text, safe="/._-")


def _web(value: Any) -> str | None:
    """Only an http(s) address is published as the dataset's url (never javascript: or file:)."""
    text = _text(value)
    return text if text and text.lower().startswith(("https://", "http://")) else None


def _semver(version: str) -> str:
    """Croissant versions are semantic versions (MAJOR.MINOR.PATCH, no leading zeros): StrataML's
    `3` is 3.0.0 and `2024.01` is 2024.1.0; any other text is kept as it is."""
    parts = version.split(".")
    if len(parts) > 3 or not all(p.isascii() and p.isdigit() for p in parts):
        return version
    return ".".join(str(int(p)) for p in [*parts, "0", "0"][:3])


def _when(text: str | None) -> Any:
    from strataml.times import parse_time

    return parse_time(text) if text else None
