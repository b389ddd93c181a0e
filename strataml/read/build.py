"""The lineage graph (TFC-0008): nodes for records, edges in the direction data flows.

Built from the one Workspace walk plus a doctor Report, so every viewer shows the same graph
with the same health counts. Output is deterministic: sorted, no wall-clock time.

A node carries everything a reader shows about its record: every attribute of its metadata,
the files it pins (and whether each is present, an LFS pointer or missing), for a model its
ledger history and gate receipt, for a run the step-wise metric series its tracking recorded.
The findings are listed once, at the top, and counted on the records they are about.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strataml import atomic, lfs, lifecycle, loading, schemas
from strataml.controls import json_utf8
from strataml.doctor.finding import Finding, Report
from strataml.doctor.incremental import Earlier
from strataml.doctor.rules.lineage import ref_fields, refs_in
from strataml.once import once
from strataml.records import Record
from strataml.refs import RefError, parse_ref
from strataml.workspace import LEDGER, Entry, Workspace, record_folder

_EDGE_KIND = {
    "experiment": "experiment",
    "produced_by": "produced",
    "derived_from": "derived",
    "inputs": "input",
    "source": "derived",
    "data": "input",
}
# Metadata keys a node does not repeat: the file lists become `files`, the rest is in id/kind.
_NOT_ATTRS = {"schema", "ref", "files", "artifacts"}
# Side files read for viewers are small JSON; a bigger one is left out, never held.
MAX_SIDE_FILE = 4 * 1024 * 1024
TRACKING = "summary/tracking.json"


def unsigned() -> dict[str, Any]:
    """The signature status of a record with no signature and no requirement (a fresh copy)."""
    return {"status": "unsigned", "signers": [], "valid_signers": 0, "required_signers": 0}


MAX_SERIES, MAX_POINTS = 64, 10_000


class Damaged(Exception):
    """The previous index lent a node that is not one a build wrote: build from nothing."""


class Saved:
    """A kept node that did not change at all: written back as the line it was read from."""

    __slots__ = ("id", "line")

    def __init__(self, ref: str, line: str) -> None:
        self.id, self.line = ref, line


@dataclass
class Previous:
    """The last saved index and the walk it was built from: a record whose files (its folder's
    every entry, a model's ledger, an experiment's spec) show the same lstat facts keeps its
    node, and is not read. With the same config, keys and git index (`mergeable`), its findings
    are the earlier run an incremental doctor run starts from.

    Read from its text with the rows saved beside it (`rows`), the nodes are not parsed at all
    (`ids` and `lines` say which line is whose): a kept node is written back as its line, and
    its row comes from the rows (see build's `Saved`). `nodes` parses them only when asked."""

    walk: tuple[list[str], str, Sequence[int]]  # index.walk's paths, kinds (f/d) and flat lstat facts
    findings: list[dict[str, Any]] = field(default_factory=list)  # the earlier run's, when mergeable
    mergeable: bool = False
    edges: list[dict[str, Any]] = field(default_factory=list)
    lines: dict[str, str] = field(default_factory=dict)  # node id -> its line in the saved index, as it stands
    touched: set[str] | None = None  # paths new, gone or changed since (when the walk knew them)
    parsed: dict[str, dict[str, Any]] | None = None  # the nodes, when the caller parsed them already
    text: str = ""  # the saved index (to parse the nodes from, when asked)
    ids: list[str] = field(default_factory=list)  # every node's id, in the saved order
    saved_findings: list[dict[str, Any]] = field(default_factory=list)  # every finding saved, mergeable or not
    rows: dict[str, tuple[str, dict[str, Any]]] | None = None  # node id -> (list, its saved row)
    row_lines: dict[str, str] = field(default_factory=dict)  # node id -> its row's line in index.rows
    sections: dict[str, str] = field(default_factory=dict)  # "edges", "findings" -> their saved text
    lent: bool = False  # made for this very workspace (read.lend): every record's node is its line
    _kept: tuple[Workspace, dict[str, dict[str, Any]]] | None = field(default=None, repr=False)

    @once
    def nodes(self) -> dict[str, dict[str, Any]]:
        """Node id -> the saved node, parsed (all of them: a build that cannot keep lines)."""
        if self.parsed is not None:
            return self.parsed
        try:
            index = json.loads(self.text)
        except (ValueError, RecursionError):
            raise Damaged from None
        nodes = index.get("nodes") if isinstance(index, dict) else None
        if not isinstance(nodes, list) or not all(isinstance(n, dict) and isinstance(n.get("id"), str) for n in nodes):
            raise Damaged
        return {n["id"]: n for n in nodes}

    @once
    def idset(self) -> frozenset[str]:
        return frozenset(self.ids) if self.parsed is None else frozenset(self.parsed)

    @property
    def lazy(self) -> bool:
        """Whether kept nodes can stay lines: read from the text, with the rows saved beside it."""
        return self.rows is not None and self.parsed is None

    def node(self, ref: str) -> dict[str, Any]:
        """One saved node, parsed from its line (or taken from the parsed nodes); Damaged when
        the line is not the node it should be (its sha256 held, so it was written so on purpose)."""
        if "nodes" in self.__dict__ or not self.lazy:
            return self.nodes[ref]
        try:
            node = json.loads(self.lines[ref].strip().removesuffix(","))
        except (ValueError, RecursionError):
            raise Damaged from None
        if not isinstance(node, dict) or node.get("id") != ref or not isinstance(node.get("attrs"), dict):
            raise Damaged
        return node

    @once
    def facts(self) -> dict[str, tuple[Any, ...]]:
        """Path -> (kind, size, mtime, inode, ctime) as the last walk saw it (built when asked:
        a rewalk knows the changed paths without it)."""
        paths, kinds, stats = self.walk
        names = {"f": "file", "d": "dir"}
        return {
            path: (names.get(kind, "?"), *stats[4 * i : 4 * i + 4]) for i, (path, kind) in enumerate(zip(paths, kinds))
        }

    def reusable(self, workspace: Workspace) -> dict[str, Any]:
        """Ref -> the previous node (a Saved line while the nodes are not parsed), for every
        record nothing it is built from changed."""
        if self._kept is not None and self._kept[0] is workspace:
            return self._kept[1]
        out: dict[str, Any] = {}
        if self.lent:
            lines = self.lines
            out = {ref: Saved(ref, lines[ref]) for ref in (str(r.ref) for r in workspace.records) if ref in lines}
            self._kept = (workspace, out)
            return out
        same = self._untouched(workspace) if self.touched is not None else self._same_facts(workspace)
        if self.lazy:
            # Unparsed, a node's path and kind are not checked against the record's: a record
            # whose files did not change is the one its node was built from (a record that
            # moved is in folders the walk found new; two records with one ref leave fewer
            # rows than lines, and the nodes are parsed).
            ids, lines = self.idset, self.lines
            for record in workspace.records:
                ref = str(record.ref)
                if ref in ids and same(record):
                    out[ref] = Saved(ref, lines[ref])
            self._kept = (workspace, out)
            return out
        for record in workspace.records:
            ref = str(record.ref)
            node = self.nodes.get(ref)
            if node is not None and _fits(node, record) and same(record):
                out[ref] = node
        self._kept = (workspace, out)
        return out

    def _untouched(self, workspace: Workspace) -> Callable[[Record], bool]:
        """From the paths the walk found changed: a record none of whose files is among them."""
        touched = self.touched or set()
        folders = {record_folder(p) for p in touched}
        models = set()
        for path in touched:
            parts = path.split("/")
            if parts[0] == "models" and (len(parts) == 2 or (len(parts) == 3 and parts[2] == LEDGER)):
                models.add(parts[1])

        def same(record: Record) -> bool:
            if record.folder is None:
                return record.meta in workspace.entries and record.meta not in touched
            if record.folder in folders or record.folder not in workspace.entries:
                return False
            return record.kind != "model" or record.ref.name not in models

        return same

    def _same_facts(self, workspace: Workspace) -> Callable[[Record], bool]:
        """From the facts of every entry: a record whose files all show what they showed."""
        groups: dict[str, list[Entry]] = {}
        for entry in workspace.entries.values():
            folder = record_folder(entry.path)
            if folder is not None:
                groups.setdefault(folder, []).append(entry)
        facts = self.facts

        def same(record: Record) -> bool:
            if record.folder is None:  # an experiment: its spec file
                spec = workspace.entries.get(record.meta)
                deps = [spec] if spec is not None else []
            else:
                deps = list(groups.get(record.folder, ()))
            if record.kind == "model":  # its state and history: the ledger beside its versions
                deps += [
                    workspace.entries.get(p) or Entry(p, "-", 0, 0, 0, 0)
                    for p in (f"models/{record.ref.name}", f"models/{record.ref.name}/{LEDGER}")
                ]
            return bool(deps) and all(
                facts.get(e.path, _GONE) == (e.kind, e.size, e.mtime_ns, e.inode, e.ctime_ns) for e in deps
            )

        return same

    def attributes_changed(self, workspace: Workspace) -> bool:
        """Whether a .gitattributes in the tree came, went or changed since: git routes the files
        below it (LFS) by it, so findings about records that did not change can change too."""

        def named(paths: Iterable[str]) -> set[str]:
            return {p for p in paths if p.endswith(".gitattributes") and p.rpartition("/")[2] == ".gitattributes"}

        if self.touched is not None:
            return bool(named(self.touched))
        now = named(workspace.entries)
        if now != named(self.facts):
            return True
        entries = workspace.entries
        return any(
            self.facts[p]
            != (entries[p].kind, entries[p].size, entries[p].mtime_ns, entries[p].inode, entries[p].ctime_ns)
            for p in now
        )

    def earlier(self) -> Earlier:
        """The previous findings and references, for doctor.incremental."""
        findings = [Finding.from_dict(f) for f in self.findings]
        links = [(e["to"], e["from"]) for e in self.edges]

        def names() -> dict[str, list[str]]:
            return {ref: _named(node["kind"], node.get("attrs")) for ref, node in self.nodes.items()}

        return Earlier(findings, set(self.idset), links, names)


def references(kind: Any, attrs: Any) -> list[tuple[str, str]]:
    """(ref, edge kind) for each record a node's attributes name, as its edges are made."""
    out = []
    for path, text, _kinds in refs_in(str(kind), attrs if isinstance(attrs, dict) else {}):
        try:
            out.append((str(parse_ref(text)), _EDGE_KIND[str(path[0])]))
        except RefError:
            continue
    return out


def _named(kind: Any, attrs: Any) -> list[str]:
    out = []
    for _path, text, _kinds in refs_in(str(kind), attrs if isinstance(attrs, dict) else {}):
        try:
            out.append(str(parse_ref(text)))
        except RefError:
            continue
    return out


_GONE = ("-", 0, 0, 0, 0)


def build(
    workspace: Workspace, report: Report, generated_at: str | None = None, previous: Previous | None = None
) -> dict[str, Any]:
    """The index of `workspace` under `report`; with `previous`, unchanged records keep their
    node (attributes, files, history, curves) and only their finding counts and signature are
    taken anew: byte-identical to a build from scratch, at a fraction of the reading."""
    refs = [str(r.ref) for r in workspace.records]
    # Two records with one ref (the layout rule's finding): a kept node cannot say whose it is.
    kept = previous.reusable(workspace) if previous is not None and len(set(refs)) == len(refs) else {}
    ledgers: dict[str, lifecycle.Ledger] = {}
    # Only the ledgers the walk saw as files: a model without one is registered, and one that is
    # not a file is never read (the doctor reports it); opening 10k absent files costs ~0.2 s.
    walked = set(workspace.ledgers)
    for name in sorted({r.ref.name for r in workspace.of_kind("model") if str(r.ref) not in kept}):
        if lifecycle.ledger_rel(name) in walked:
            ledgers[name] = lifecycle.read(workspace.root, name)
    findings = sorted(report.findings, key=Finding.sort_key)
    counts = _counts(refs, ((f.path, f.severity) for f in findings), workspace)
    ids = set(refs)
    lines = bool(kept) and previous is not None and previous.lazy and ids == previous.idset
    if previous is not None and not lines and any(type(v) is Saved for v in kept.values()):
        kept = _parsed(kept, previous, workspace)  # records came or went: kept nodes are read after all
    if lines:
        assert previous is not None
        # What the saved nodes counted: the saved findings on the same owners (a kept record's
        # path, and so what it owns, is what it was).
        before = _counts(refs, ((f["path"], f["severity"]) for f in previous.saved_findings), workspace)
        nodes = [
            _unchanged(kept[ref], r, report, before.get(ref, _ZERO), counts.get(ref, _ZERO), previous)
            if ref in kept
            else _node(r, report, ledgers, counts.get(ref, _ZERO), workspace)
            for ref, r in zip(refs, workspace.records)
        ]
    else:
        nodes = [
            _kept(kept[ref], r, report, counts.get(ref, _ZERO))
            if ref in kept
            else _node(r, report, ledgers, counts.get(ref, _ZERO), workspace)
            for ref, r in zip(refs, workspace.records)
        ]
    edges = set()
    again = list(workspace.records)
    # Made from this very workspace (read.lend): its edges are this build's, sorted as it sorts them.
    lent = previous.edges if previous is not None and previous.lent and len(kept) == len(refs) else None
    if lent is not None:
        again = []
    elif previous is not None and ids == previous.idset:
        # The same records as before: a kept record's references resolve as they did.
        edges = {(e["from"], e["to"], e["kind"]) for e in previous.edges if e["to"] in kept}
        again = [r for r in workspace.records if str(r.ref) not in kept]
    for record in again:
        old = kept.get(str(record.ref))
        for path, text, kinds in refs_in(record.kind, old["attrs"]) if old is not None else ref_fields(record):
            try:
                ref = parse_ref(text)
            except RefError:
                continue
            if str(ref) in ids and ref.kind in kinds:
                # Records name what they came from; edges point the way data flows.
                edges.add((str(ref), str(record.ref), _EDGE_KIND[str(path[0])]))
    index = {
        "schema": schemas.schema_id("index"),
        "workspace": workspace.name,
        "nodes": sorted(nodes, key=_node_id),
        "edges": lent if lent is not None else [{"from": a, "to": b, "kind": k} for a, b, k in sorted(edges)],
        "findings": [f.as_dict() for f in findings],
    }
    if generated_at:
        index["generated_at"] = generated_at
    return index


def _node_id(node: Any) -> str:
    return node.id if type(node) is Saved else node["id"]


def _counts(refs: list[str], findings: Iterable[tuple[str, str]], workspace: Workspace) -> dict[str, dict[str, int]]:
    """Ref -> its findings counted by severity ((path, severity) pairs, on the records each is
    about), for the records that have any: ask with .get(ref, _ZERO). (100k records without
    findings: no 100k dicts of zeros, twice over in a rebuild. The owners map is made only for
    a finding: a healthy workspace of 10k records never needs it.)"""
    counts: dict[str, dict[str, int]] = {}
    known: set[str] | None = None
    for path, severity in findings:
        key = severity + "s"
        if key not in _ZERO:
            continue
        if known is None:
            known = set(refs)
        for owner in workspace.owners.of(path):
            if owner in known:
                if owner not in counts:
                    counts[owner] = dict(_ZERO)
                counts[owner][key] += 1
    return counts


def _fits(node: dict[str, Any], record: Record) -> bool:
    """Whether a saved node is `record`'s: its path and kind (an unparsed line is known by its ref alone)."""
    return node.get("path") == (record.folder or record.meta) and node.get("kind") == record.kind


def _parsed(kept: dict[str, Any], previous: Previous, workspace: Workspace) -> dict[str, dict[str, Any]]:
    """`kept` with every Saved line read as its node, checked as a parsed node is (_fits)."""
    out = {}
    for record in workspace.records:
        ref = str(record.ref)
        if ref in kept and _fits(node := previous.nodes[ref], record):
            out[ref] = node
    return out


def tables_of(index: dict[str, Any], previous: Previous | None = None) -> dict[str, Any]:
    """query.tables of a built index, whose unchanged nodes may still be Saved lines (`previous`'s)."""
    from strataml.read.query import Graph, tables

    if previous is None or not previous.lazy or not any(type(n) is Saved for n in index["nodes"]):
        return tables(Graph(index))
    return _spliced_tables(index, previous)


class _Lookup:
    """What query.row asks of a graph (a model's run, an experiment's runs), over Saved lines."""

    def __init__(self, index: dict[str, Any], previous: Previous) -> None:
        self._by_id = {_node_id(n): n for n in index["nodes"]}
        self._previous = previous
        self.down: dict[str, list[tuple[str, str]]] = {}
        for e in index["edges"]:
            if e["from"].startswith("experiment:"):
                self.down.setdefault(e["from"], []).append((e["to"], e["kind"]))

    @property
    def nodes(self) -> _Lookup:  # (not an attribute: a reference to itself would make a cycle)
        return self

    def get(self, ref: str) -> dict[str, Any] | None:
        node = self._by_id.get(ref)
        return self._previous.node(ref) if type(node) is Saved else node


def _spliced_tables(index: dict[str, Any], previous: Previous) -> dict[str, Any]:
    """The rows of an unchanged node are its saved row, but for what reads other nodes: every
    experiment (its runs) and a model whose run changed; the rest are made from their nodes."""
    from strataml.read.query import KIND_OF_LIST, gates, row, totals

    saved_rows = previous.rows or {}
    lists = {kind: what for what, kind in KIND_OF_LIST.items()}
    out: dict[str, Any] = {what: [] for what in KIND_OF_LIST}
    changed = {n["id"].split(":", 1)[1] for n in index["nodes"] if type(n) is not Saved}
    lookup = _Lookup(index, previous)
    experiments = []
    for n in index["nodes"]:
        if type(n) is Saved:
            what, old = saved_rows[n.id]
            if what in ("datasets", "runs") or (what == "models" and old.get("run") not in changed):
                out[what].append(old)
                continue
            n = previous.node(n.id)
        if n["kind"] == "experiment":
            experiments.append(n)
        out[lists[n["kind"]]].append(row(n, lookup))
    out["gates"] = gates(experiments)
    out["findings"] = totals(index["findings"])
    return out


def _unchanged(
    saved: Saved, record: Record, report: Report, before: dict[str, int], counts: dict[str, int], previous: Previous
) -> Any:
    """A kept node still a line: the line itself when its counts and signature are what it says
    (`before`: what it counted, from the saved findings); else the node read and taken anew (see
    _kept). The line is asked too, as a guard: it holds those counts."""
    if before == counts and (_NONE if before == _ZERO else f'"findings":{_ENCODER.encode(before)}') in saved.line:
        if record.kind == "experiment":
            return saved
        signature = report.signatures.get(record.meta)
        # "signature" is the last key of every other node (sorted): its value ends the line.
        if signature is None:
            ends = _UNSIGNED
        else:
            end = f'"signature":{_ENCODER.encode(signature)}}}'
            ends = (end, end + ",")
        if saved.line.endswith(ends):
            return saved
    return _kept(previous.node(saved.id), record, report, counts)


# One encoder: json.dumps with options builds a new one per call (~2 us each, 20,000 calls).
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
INDENT = "    "  # of each item of the index's lists, one a line


def node_line(node: dict[str, Any]) -> str:
    """A node's line as dumps() writes it (without the comma after it), as an earlier index's
    lines are kept (Saved): what read.lend hands over."""
    return INDENT + _ENCODER.encode(node)


_UNSIGNED = tuple(
    f'"signature":{_ENCODER.encode(unsigned())}}}{comma}' for comma in ("", ",")
)  # an unsigned node's line's end
_ZERO = {"errors": 0, "warnings": 0, "infos": 0}
_NONE = f'"findings":{_ENCODER.encode(_ZERO)}'  # what a node without findings holds


def dumps(index: dict[str, Any], previous: Previous | None = None) -> str:
    """Sorted keys, one node or edge per line: byte-stable, diffable, and encoded by json's C
    encoder (an indented dump runs the pure-Python one, ~10x slower on 10k records). A node
    that is `previous`'s own (kept unchanged, or Saved) is written as the line it was read from."""

    one = _ENCODER.encode
    parsed = previous is not None and (not previous.lazy or "nodes" in previous.__dict__)

    def saved_line(value: Any) -> str | None:
        """The line `previous` read this very node from (indented, maybe with its comma)."""
        if parsed and previous is not None and isinstance(value, dict):
            line = previous.lines.get(value.get("id"))  # type: ignore[arg-type]
            if line is not None and previous.nodes.get(value["id"]) is value:
                return line
        return None

    # One list of pieces joined once: the text is built a single time (100,000 nodes make it
    # ~100 MB, and each intermediate join would hold another copy at the peak).
    pieces = ["{\n"]
    keys = sorted(index)
    for i, key in enumerate(keys):
        value = index[key]
        if previous is not None and key in previous.sections and value == _saved_list(previous, key):
            # The same edges or findings as saved: their text as it stands (10,000 edges: 7 ms).
            pieces += (f"  {one(key)}: ", previous.sections[key], ",\n" if i < len(keys) - 1 else "\n}\n")
            continue
        if isinstance(value, list) and value:
            pieces.append(f"  {one(key)}: [\n")
            flat = flat_lines(value) if key != "nodes" else None
            if flat is not None:
                pieces += ("    ", flat, "\n  ]", ",\n" if i < len(keys) - 1 else "\n}\n")
                continue
            last = len(value) - 1
            for j, v in enumerate(value):
                line = (v.line if type(v) is Saved else saved_line(v)) if key == "nodes" else None
                if line is None:
                    pieces += (INDENT, one(v), ",\n" if j < last else "\n")
                elif line.endswith(","):  # a line kept as it was read: no copy made of it
                    pieces += (line, "\n") if j < last else (line[:-1], "\n")
                else:
                    pieces += (line, ",\n" if j < last else "\n")
            pieces.append("  ]")
        else:
            pieces.append(f"  {one(key)}: {one(value)}")
        pieces.append(",\n" if i < len(keys) - 1 else "\n}\n")
    text = "".join(pieces)
    if not text.isascii():  # (a flag on the string: no pass over it)
        # A file name that is not UTF-8 on disk is read as surrogate escapes, which UTF-8 cannot
        # hold: each is written as the JSON escape of its code point (\udcff), read back the same.
        text = json_utf8(text).decode("utf-8")
    return text


def _saved_list(previous: Previous, key: str) -> list[dict[str, Any]]:
    return previous.edges if key == "edges" else previous.saved_findings


def flat_lines(items: list[Any], indent: str = "    ", encode: Callable[[Any], str] = _ENCODER.encode) -> str | None:
    """The lines of a list of mappings none of which holds a list of mappings (edges, findings,
    rows), joined as dumps() writes them, from one call to the C encoder instead of one per item
    (10,000 edges: dumps after a change 24 -> 18 ms). None when some text in them holds "},{"
    (the boundary is then not known to be one): each item is encoded on its own."""
    if set(map(type, items)) != {dict}:
        return None  # (mappings only: every boundary is one "},{", and any other makes the count differ)
    text = encode(items)
    if text.count("},{") != len(items) - 1:
        return None
    return text[1:-1].replace("},{", "},\n" + indent + "{")


def _node(
    record: Record,
    report: Report,
    ledgers: dict[str, lifecycle.Ledger],
    counts: dict[str, int],
    workspace: Workspace,
) -> dict[str, Any]:
    path = record.folder or record.meta
    attrs = _attrs(record)
    node: dict[str, Any] = {"id": str(record.ref), "kind": record.kind, "path": path, "attrs": attrs}
    node["findings"] = dict(counts)  # (its own: `counts` may be the shared _ZERO)
    if record.kind == "model":
        ledger = ledgers.get(record.ref.name) or lifecycle.Ledger()
        attrs["state"] = ledger.state(str(record.ref))
        node["history"] = [
            {k: e.get(k) for k in ("seq", "at", "from", "to", "actor", "reason", "gate")}
            for e in ledger.entries
            if e.get("ref") == str(record.ref)
        ]
        receipt = gate_receipt(workspace.root, record)
        if receipt is not None:
            node["receipt"] = receipt
    if record.kind == "run":
        curves = _curves(workspace.root, record)
        if curves:
            node["curves"] = curves
    if record.kind != "experiment":
        node["files"] = _files(record, workspace.root, workspace.entries)
        node["signature"] = report.signatures.get(record.meta, unsigned())
    return node


def _kept(old: dict[str, Any], record: Record, report: Report, counts: dict[str, int]) -> dict[str, Any]:
    """A kept node with this run's counts and signature: the previous node itself when those
    are what it says (then dumps() reuses its saved line)."""
    signature = report.signatures.get(record.meta, unsigned()) if record.kind != "experiment" else None
    if old.get("findings") == counts and (signature is None or old.get("signature") == signature):
        return old
    node = {**old, "findings": dict(counts)}
    if signature is not None:
        node["signature"] = signature
    return node


def _nonfinite_as_text(value: Any) -> Any:
    """`value` with every NaN or infinity as the text that names it: YAML can say `.nan` and
    `.inf`, JSON cannot, and one such number would make the whole index (and the dashboard's
    data) unreadable to every JSON parser but Python's."""
    if isinstance(value, float):
        return (
            value if value - value == 0 else ("NaN" if value != value else ("Infinity" if value > 0 else "-Infinity"))
        )
    if isinstance(value, dict):
        return {k: v if type(v) in _PLAIN else _nonfinite_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [v if type(v) in _PLAIN else _nonfinite_as_text(v) for v in value]
    return value


_PLAIN = frozenset({str, int, bool, type(None)})  # what _nonfinite_as_text() returns as it is: no call for most values


def _attrs(record: Record) -> dict[str, Any]:
    """Every attribute of the record's metadata but the file lists (`files` holds those)."""
    data = record.data
    attrs = (
        {k: v if type(v) in _PLAIN else _nonfinite_as_text(v) for k, v in data.items() if k not in _NOT_ATTRS}
        if isinstance(data, dict)
        else {}
    )
    if record.kind == "dataset":
        attrs["files"] = len(record.files)
    if record.kind == "experiment" and isinstance(attrs.get("model"), dict):
        attrs["model_type"] = attrs["model"].get("type")
    return attrs


def _files(record: Record, root: Path, entries: dict[str, Entry]) -> list[dict[str, Any]]:
    """The pinned files, each with what is on disk: its content, an LFS pointer, or nothing."""
    out = []
    for f in record.files:
        at = f"{record.folder}/{f.path}"
        entry = entries.get(at)
        if entry is not None and entry.kind == "symlink" and not entry.escapes:
            # A link within its record folder stands for its file (TFC-0006 §1): what is there is
            # what the file it leads to holds (the doctor hashes through it).
            led_to = _led_to(root, at)
            entry = entries.get(led_to) if led_to else None
            at = led_to or at
        if entry is None or entry.kind != "file":
            present = "missing"
        else:
            present = "lfs-pointer" if lfs.stands_in(root, at, entry.size, f.size) else "content"
        out.append({"path": f.path, "size": f.size, "sha256": f.sha256, "present": present})
    return out


def _led_to(root: Path, rel: str) -> str | None:
    """The workspace path of the file the link `rel` leads to (the walk found it within its
    record folder), or None where it leads nowhere now."""
    try:
        return Path(os.path.realpath(root / rel)).relative_to(os.path.realpath(root)).as_posix()
    except (OSError, ValueError):
        return None


def _side_json(root: Path, rel: str) -> Any:
    try:
        raw = atomic.read_bytes(root, rel, limit=MAX_SIDE_FILE)
    except (OSError, atomic.Refused):
        return None
    if raw is None:
        return None
    # (NaN read as a float, as an older run's series may hold one: a viewer keeps what is finite.)
    loaded = loading.load_bytes(raw, json_syntax=True, constants=True)
    return None if loaded.problems else loaded.data


def gate_receipt(root: Path, record: Record) -> dict[str, Any] | None:
    """A model version's gate receipt as its `gate.file` holds it (None: none, or not readable JSON)."""
    gate = record.data.get("gate") if isinstance(record.data, dict) else None
    name = gate.get("file") if isinstance(gate, dict) else None
    if not isinstance(name, str) or not record.folder or "/" in name or name.startswith("."):
        return None
    data = _side_json(root, f"{record.folder}/{name}")
    return _nonfinite_as_text(data) if isinstance(data, dict) else None


def _curves(root: Path, record: Record) -> dict[str, list[list[float]]]:
    """Metric series with more than one step, as [step, value] pairs (what a chart needs)."""
    if not record.folder or f"{record.folder}/{TRACKING}" not in record.pinned:
        return {}
    data = _side_json(root, f"{record.folder}/{TRACKING}")
    metrics = data.get("metrics") if isinstance(data, dict) else None
    out: dict[str, list[list[float]]] = {}
    if not isinstance(metrics, dict):
        return out
    for name in sorted(metrics)[:MAX_SERIES]:
        series = metrics[name]
        if not isinstance(series, list) or len(series) < 2:
            continue
        # A chart needs numbers a browser holds exactly: steps within 2**53, finite values.
        points = [
            [p["step"], p["value"]]
            for p in series[:MAX_POINTS]
            if isinstance(p, dict)
            and isinstance(p.get("step"), int)
            and not isinstance(p.get("step"), bool)
            and abs(p["step"]) < 2**53
            and isinstance(p.get("value"), (int, float))
            and not isinstance(p.get("value"), bool)
            and abs(p["value"]) < float("inf")
        ]
        if len(points) >= 2:
            out[str(name)] = points
    return out
