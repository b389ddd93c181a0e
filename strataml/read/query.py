"""Queries over the index every reader shares: find a node, its neighbours, its lineage, tables."""

from __future__ import annotations

import os
import posixpath
import re
import stat
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from strataml.errors import NotARecord, StrataError
from strataml.numbers import number
from strataml.once import once
from strataml.refs import MIN_PREFIX, VERSIONED_KINDS, AmbiguousRef, closest, expand, folder_of
from strataml.shapes import mapping as _map
from strataml.times import parse_time

_NOT_FIELDS = ("metrics", "tags", "signers", "workspaces")  # a row's maps and lists: not fields of their own
KIND_OF_LIST = {"datasets": "dataset", "runs": "run", "models": "model", "experiments": "experiment"}


@dataclass(frozen=True)
class Step:
    """One node reached while following lineage: how far, from where, along which edge kind."""

    depth: int
    node: str
    via: str | None  # the node it was reached from
    kind: str | None  # the edge kind


class UnknownRecord(StrataError):
    """No record by that ref; `closest` holds the refs spelled most like it (for "did you mean")."""

    def __init__(self, text: str, close: list[str]) -> None:
        super().__init__(
            f"no record {text} in this workspace",
            f"did you mean {', '.join(close)}?" if close else "see `strataml list datasets|runs|models|experiments`",
        )
        self.closest = close


def errors_of(node: dict[str, Any]) -> int:
    """The doctor's errors counted on a node (0 when its counts are not what a build writes)."""
    found = node.get("findings")
    count = found.get("errors") if isinstance(found, dict) else 0
    return count if isinstance(count, int) and not isinstance(count, bool) else 0


class Graph:
    def __init__(self, index: dict[str, Any]) -> None:
        self.index = index
        self.nodes: dict[str, dict[str, Any]] = {n["id"]: n for n in index["nodes"]}
        # A federated index's other names of joined datasets (read.federate): found like the node.
        self.aliases: dict[str, str] = index.get("aliases") or {}
        self.up: dict[str, list[tuple[str, str]]] = {}
        self.down: dict[str, list[tuple[str, str]]] = {}
        for e in index["edges"]:
            self.down.setdefault(e["from"], []).append((e["to"], e["kind"]))
            self.up.setdefault(e["to"], []).append((e["from"], e["kind"]))

    @once
    def findings_by_node(self) -> dict[str, list[int]]:
        """Node id -> positions in the index's findings of those about it (the same owners the
        build counted them on), computed once for every reader."""
        from strataml.doctor.owners import Owners

        if not self.index.get("findings"):
            return {}  # (no owners to map for a healthy workspace)
        # A federated index holds several workspaces whose paths are each their own: one Owners
        # per workspace (None: a plain index), a joined dataset owning the paths of all its names.
        homes: dict[str | None, list[dict[str, Any]]] = {}
        for n in self.index["nodes"]:
            for name in n.get("names") or ({"workspace": n.get("workspace"), "path": n["path"]},):
                homes.setdefault(name["workspace"], []).append({"id": n["id"], "kind": n["kind"], "path": name["path"]})
        owners = {workspace: Owners(nodes) for workspace, nodes in homes.items()}
        out: dict[str, list[int]] = {}
        for i, f in enumerate(self.index.get("findings", ())):
            mine = owners.get(f.get("workspace"))
            for ref in mine.of(f["path"]) if mine is not None else ():
                out.setdefault(ref, []).append(i)
        return out

    def unowned_findings(self) -> list[int]:
        """Findings about no record: the workspace's config, keys, stray files."""
        owned = {i for found in self.findings_by_node.values() for i in found}
        return [i for i in range(len(self.index.get("findings", ()))) if i not in owned]

    def find(self, text: str) -> dict[str, Any]:
        """The node `text` names (a ref, a path, a bare run id, a unique prefix; `model:NAME` means
        its latest version: refs.expand), else a clear error."""
        text = text.strip()
        if not text:
            raise StrataError("the ref is empty", "name a record, e.g. dataset:iris@1 (`strataml list` shows them)")
        top = text.removeprefix("./").strip("/")
        if top in ("datasets", "runs", "models", "experiments"):  # (`show runs/` said "no record runs")
            raise StrataError(
                f"{top}/ is the folder of every {top[:-1]}, not one record",
                f"`strataml list {top}` lists them; name one (its ref, or its folder)",
            )
        if "/" in text and ":" not in text and ".." in text.split("/"):
            # A path with `..` names where it leads (as `show` takes it), never the record its text
            # begins with: datasets/iris/1/../../x is x. One that leads out names no record.
            normal = posixpath.normpath(text)
            if normal == ".." or normal.startswith(("../", "/")):
                raise UnknownRecord(text, [])
            text = normal
        if text.endswith("@") and ":" in text:  # (read as a prefix, it named the latest version)
            raise self._no_version(text)
        if text in self.nodes:
            return self.nodes[text]
        if text in self.aliases:
            return self.nodes[self.aliases[text]]
        try:
            ref = expand(text, list(self.nodes))
        except AmbiguousRef as exc:
            raise StrataError(str(exc), "give more of it, or the whole ref") from None
        if ref is not None:
            return self.nodes[ref]
        if self.aliases or any("workspace" in n for n in self.index["nodes"][:1]):
            # Federated: a ref without its workspace (run:ID) names the one member's record that has it.
            found = sorted({self.aliases.get(n, n) for n in (*self.nodes, *self.aliases) if n.endswith("/" + text)})
            if len(found) > 1:
                raise StrataError(f"{text} is in several workspaces: {', '.join(found[:5])}", "name the workspace")
            if found:
                return self.nodes[found[0]]
        if text and ":" not in text and len(text) < MIN_PREFIX:
            starts = sum(1 for n in self.nodes if n.startswith(f"run:{text}"))
            if starts:  # (too short to be taken as a run id prefix: one mistyped digit names another run)
                raise StrataError(
                    f"no record {text} in this workspace: a bare run id prefix takes at least {MIN_PREFIX} "
                    f"characters, and {starts} run{'s' if starts > 1 else ''} start{'' if starts > 1 else 's'} with {text}",
                    f"give more of the id (e.g. the date, {MIN_PREFIX} digits), or say run:{text}",
                )
        if "/" in text and ":" not in text:
            # A folder of versions (datasets/iris, models/m): the records in it are what was meant.
            folder = text.strip("/") + "/"
            within = sorted(n["id"] for n in self.nodes.values() if str(n.get("path", "")).startswith(folder))
            if within:
                raise UnknownRecord(text, within[:5])
        named = folder_of(text)
        if named is not None and any(
            f["path"] in (named[0], f"{named[0]}/{named[1]}") for f in self.index.get("findings", ())
        ):
            raise NotARecord(text, *named)  # (the doctor reports the folder, or its metadata file)
        raise UnknownRecord(text, closest(text, list(self.nodes)))

    def _no_version(self, text: str) -> StrataError:
        """`dataset:iris@`: a ref whose @ nothing follows, refused with the ref it may have meant."""
        bare = text.rstrip("@")
        kind, _, name = bare.partition(":")
        kind = kind.rpartition("/")[2]
        if kind not in VERSIONED_KINDS:
            return StrataError(f"{text}: {kind} refs have no @version", f"drop the @: {bare}")
        try:
            latest = expand(bare, list(self.nodes)) if name else None
        except AmbiguousRef:
            latest = None
        said = f"{text} names no version: nothing follows its @"
        if latest is None or "@" not in latest:  # (no such record either: the form, and where to look)
            return StrataError(said, f"a {kind} ref is {kind}:NAME@VERSION (`strataml list {kind}s` lists them)")
        return StrataError(said, f"name one, e.g. {latest}, or {bare} for the latest")

    def lineage(self, start: str, direction: str, depth: int | None = None) -> list[Step]:
        """Every node reachable upstream (`up`) or downstream (`down`) within `depth` steps (all
        the way when None), breadth first, each once."""
        links = self.up if direction == "up" else self.down
        seen, out = {start}, []
        queue = deque([(start, 0)])
        while queue:
            node, far = queue.popleft()
            if depth is not None and far >= depth:
                continue
            for other, kind in sorted(links.get(node, ())):
                if other not in seen:
                    seen.add(other)
                    out.append(Step(far + 1, other, node, kind))
                    queue.append((other, far + 1))
        return out


def rows(graph: Graph, what: str) -> list[dict[str, Any]]:
    """Flat rows for `strataml list`: every field filters, sorts and shows the same way.

    A row's cells are scalars (metrics and tags: maps of scalars, gates: a list of texts)
    whatever the record holds: a value of the wrong type is the doctor's finding, not a cell."""
    kind = KIND_OF_LIST[what]
    return [row(node, graph) for node in graph.nodes.values() if node["kind"] == kind]


def row(node: dict[str, Any], graph: Any) -> dict[str, Any]:
    """One node's row; `graph` (a Graph, or what has its `nodes.get` and `down`) is asked only
    for a model's run and an experiment's runs."""
    kind = node["kind"]
    a = node["attrs"]
    out: dict[str, Any] = {"id": node["id"], "health": _health(node["findings"])}
    if "workspace" in node:  # a federated index: which member the record comes from
        out["workspace"] = node["workspace"]
        if node.get("names"):  # a joined dataset is every naming member's (filter=workspace=...)
            out["workspaces"] = sorted({n["workspace"] for n in node["names"]})
    name, _, version = node["id"].split(":", 1)[1].partition("@")
    out["name"] = name
    if version:
        out["version"] = version
    if kind == "dataset":
        out.update(
            rows=_cell(a.get("rows")),
            files=_cell(a.get("files")),
            license=_cell(a.get("license")),
            created=_cell(a.get("created_at")),
        )
    elif kind == "run":
        out.update(
            experiment=_short(_cell(a.get("experiment"))),
            status=_cell(a.get("status")),
            created=_cell(a.get("created_at")),
        )
        out["metrics"] = _cells(a.get("metrics"))
    elif kind == "model":
        gate = _map(a.get("gate"))
        produced_by = _cell(a.get("produced_by"))
        run = graph.nodes.get(produced_by) if isinstance(produced_by, str) else None
        out.update(
            state=_cell(a.get("state")),
            gate=_cell(gate.get("status")),
            run=_short(produced_by),
            experiment=_short(_cell(run["attrs"].get("experiment"))) if run else None,
            created=_cell(a.get("created_at")),
        )
        out["metrics"] = _cells(_map(a.get("evaluation")).get("metrics"))
    else:
        gates = a.get("gates")
        out.update(
            plugin=_cell(a.get("plugin")),
            model=_cell(a.get("model_type")),
            gates=[g for g in gates if isinstance(g, str)] if isinstance(gates, list) else [],
        )
        out["runs"] = sum(1 for other, _k in graph.down.get(node["id"], ()) if _kind_of(other) == "run")
    if "signature" in node:
        out["signed"] = node["signature"]["status"]
        out["signers"] = [s["uid"] or s["fingerprint"] for s in node["signature"]["signers"]]
    out["tags"] = _cells(a.get("tags"))
    return out


def tables(graph: Graph) -> dict[str, Any]:
    """Every list's rows, and each experiment's gates (the runs table's default metrics): what
    `strataml list` reads, saved beside the index so a fresh listing never parses the index."""
    out: dict[str, Any] = {what: rows(graph, what) for what in KIND_OF_LIST}
    out["gates"] = gates(n for n in graph.nodes.values() if n["kind"] == "experiment")
    out["findings"] = totals(graph.index.get("findings", ()))
    return out


def totals(findings: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Every finding of the workspace counted by severity, those about no record (the config,
    keys, stray files) included: a listing whose rows are all healthy still says so."""
    out = {"errors": 0, "warnings": 0, "infos": 0}
    for f in findings:
        key = f"{f.get('severity')}s"
        if key in out:
            out[key] += 1
    return out


def gates(experiments: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Each experiment's gates (its name -> the gated metrics), the runs table's default columns."""
    return {n["id"].split(":", 1)[1]: _texts(n["attrs"].get("gates")) for n in experiments}


def _texts(value: Any) -> list[str]:
    """The texts of a list (a spec's gates): a gate of another type is the doctor's finding."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _kind_of(ref: str) -> str:
    """The kind a ref names, namespaced (team-a/run:ID) or not."""
    return ref.partition(":")[0].rpartition("/")[2]


def _cell(value: Any) -> Any:
    return value if value is None or isinstance(value, (str, int, float, bool)) else None


def _cells(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    for v in value.values():  # the common case: every value a scalar, the map used as it is
        if v is not None and not isinstance(v, (str, int, float, bool)):
            return {str(k): _cell(x) for k, x in value.items()}
    return value


def _short(ref: Any) -> Any:
    return ref.split(":", 1)[1] if isinstance(ref, str) and ":" in ref else ref


def _health(counts: dict[str, int]) -> str:
    if counts.get("errors"):
        return f"{counts['errors']} error" + ("s" if counts["errors"] > 1 else "")
    if counts.get("warnings"):
        return f"{counts['warnings']} warning" + ("s" if counts["warnings"] > 1 else "")
    return "ok"


def value(row: dict[str, Any], key: str) -> Any:
    """A row's field, metric (by name or `metrics.NAME`) or tag (`tags.NAME`, or NAME)."""
    if key.startswith("metrics."):
        return row.get("metrics", {}).get(key[8:])
    if key.startswith("tags."):
        return row.get("tags", {}).get(key[5:])
    if key == "workspace" and "workspaces" in row:
        return row["workspaces"]
    if key in row and key not in ("metrics", "tags"):
        return row[key]
    if key in row.get("metrics", {}):
        return row["metrics"][key]
    return row.get("tags", {}).get(key)


def check_metrics(found: list[dict[str, Any]], names: list[str]) -> None:
    """Refuse a metric column no row has, as --sort refuses an unknown key."""
    if not names:
        return  # (the rows' metrics are not gathered: 10,000 runs list with none asked for)
    known = {m for r in found for m in r.get("metrics", {})}
    for name in names:
        if found and name not in known:
            from strataml.spelling import nearest

            close = nearest(name, sorted(known), n=3)
            raise StrataError(
                f"--metric: no row has a metric named {name!r}",
                f"did you mean {', '.join(close)}?" if close else f"metrics: {_some(sorted(known))}",
            )


def _some(names: list[str], most: int = 20) -> str:
    """The first `most` names, and how many more there are."""
    more = len(names) - most
    return ", ".join(names[:most]) + (f", … ({more} more)" if more > 0 else "")


def known_keys(found: list[dict[str, Any]]) -> list[str]:
    keys = {k for r in found for k in r if k not in _NOT_FIELDS}
    keys |= {k for r in found for k in r.get("metrics", {})}
    keys |= {f"tags.{k}" for r in found for k in r.get("tags", {})}
    return sorted(keys)


# How a reader's user spells the filter and sort parameters, for the messages about them:
# (filter, sort, a filter given as an example).
CLI_WORDS = ("--filter", "--sort", "--filter ")
API_WORDS = ("filter", "sort", "filter=")


def select(
    found: list[dict[str, Any]],
    filters: list[str],
    sort: str | None,
    desc: bool,
    limit: int | None,
    words: tuple[str, str, str] = CLI_WORDS,
    also: tuple[tuple[str, ...], tuple[str, ...]] = ((), ()),
) -> list[dict[str, Any]]:
    """Filter (KEY=VALUE, all must hold), sort (missing values last) and limit rows; `words`:
    how the caller's user names the parameters (CLI_WORDS, API_WORDS); `also`: the names the
    caller itself takes beside the rows' (a table's headers), to filter and to sort by, offered
    for a misspelt key."""
    filter_, sort_, example = words
    every = found  # (keys are known from every row, not from what an earlier filter left: the same
    # query was refused or answered [] by the order of its filters)
    for item in filters:
        key, sep, wanted = item.partition("=")
        # (test_accuracy>=0.9 read as the key 'test_accuracy>', and x==1 as the value '=1': no row has them)
        if re.search(r"[<>]|!=|==", item) and not (
            sep and key and re.fullmatch(r"[^<>!=]+", key) and wanted[:1] != "="
        ):
            raise StrataError(
                f"{filter_} {item!r}: a filter keeps the rows whose KEY is VALUE exactly; it does not compare "
                "(<, >, !=, ==)",
                f"e.g. {example}status=succeeded; to rank rows by a metric, sort by it: "
                + ("--sort METRIC --desc --limit 5" if filter_.startswith("-") else "sort=METRIC&desc=true"),
            )
        if not sep or not key:
            raise StrataError(
                f"{filter_} {item!r} is not KEY=VALUE",
                f"e.g. {example}status=succeeded or {example}tags.team=vision",
            )
        if key == "tags.":  # (no tag has an empty name: it matched no row, as if none had the tag)
            raise StrataError(
                f"{filter_} {item!r} names no tag: a tag's filter is tags.NAME=VALUE",
                f"e.g. {example}tags.team=vision",
            )
        # A tag named as one (tags.team) is a question any row may answer "no" to: none has it
        # yet is no error (a script asking for tags.team=vision broke until some row had it).
        if every and not key.startswith("tags.") and not _known(every, key):
            raise _unknown_key(filter_, key, every, also[0])
        found = [r for r in found if _matches(value(r, key), wanted, key)]
    if sort in ("", "tags."):  # (an empty key sorted nothing, and said nothing)
        known = sorted({*known_keys(every), *also[1]})
        said = sort_ + (" " if sort_.startswith("-") else "=")
        if sort:
            raise StrataError(f"{sort_} {sort!r} names no tag to sort by", f"e.g. {said}tags.team")
        raise StrataError(
            f"{sort_} is empty: it takes a field, metric or tag",
            f"e.g. {said}created" + (f"; known: {_some(known)}" if known else ""),
        )
    if sort:
        if every and not sort.startswith("tags.") and not _known(every, sort):
            raise _unknown_key(sort_, sort, every, also[1])
        # Each row's value looked up once (10,000 rows: the lookups were most of a sort's cost).
        keyed = [(value(r, sort), r) for r in found]
        present = [(_sortable(v), r) for v, r in keyed if v is not None]
        # Numbers first either way, then text: a metric's NaN or infinity, which the index holds
        # as text, topped a --desc ranking ("best first") that it is not in.
        numbers = [p for p in present if p[0][0] == 0]
        texts = [p for p in present if p[0][0] == 1]
        numbers.sort(key=_first, reverse=desc)
        texts.sort(key=_first, reverse=desc)
        found = [r for _, r in numbers] + [r for _, r in texts] + [r for v, r in keyed if v is None]
    return found[:limit] if limit is not None else found


def _unknown_key(word: str, key: str, found: list[dict[str, Any]], also: tuple[str, ...] = ()) -> StrataError:
    """A filter or sort key no row has: "did you mean" the known key spelled most like it."""
    from strataml.spelling import nearest

    known = sorted({*known_keys(found), *also})
    close = nearest(key, known)
    hint = f"did you mean {close[0]}? known: {_some(known)}" if close else f"known: {_some(known)}"
    return StrataError(f"{word}: no field, metric or tag named {key!r}", hint)


def why_none(found: list[dict[str, Any]], filters: list[str], typed: list[str] | None = None) -> str | None:
    """Why `filters` (which select() took) leave none of `found`: the first that alone matches no
    row, with the values its key takes when they are few (a misspelt `status=succeded`).
    `typed`: each filter as the user wrote it, when the caller translated it (`run=` for `name=`)."""
    for item, said_as in zip(filters, typed or filters):
        key, _sep, wanted = item.partition("=")
        if any(_matches(value(r, key), wanted, key) for r in found):
            continue
        values: set[str] = set()
        for r in found:
            v = value(r, key)
            for one in v if isinstance(v, list) else [v]:
                if isinstance(one, str):
                    values.add(one)
        said = f"none has {said_as}"
        if not values or len(values) > 12:
            return said
        from strataml.spelling import nearest

        shown_key = said_as.partition("=")[0]
        close = nearest(wanted, sorted(values))
        return (
            said
            + (f"; did you mean {shown_key}={close[0]}?" if close else "")
            + f" ({shown_key}: {', '.join(sorted(values))})"
        )
    return None


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]


def _known(found: list[dict[str, Any]], key: str) -> bool:
    """Whether `key` names a field, a metric or a tag (`tags.X` or X) of some row: known_keys()
    without building it, stopping at the first row that has it."""
    tag = key[5:] if key.startswith("tags.") else key
    for r in found:
        tags = r.get("tags", ())
        if (key in r and key not in _NOT_FIELDS) or key in r.get("metrics", ()) or tag in tags or key in tags:
            return True
    return False


# Fields whose values are words from a fixed set: matched whatever their case (gate=fail).
_WORDS = {"status", "state", "gate", "signed", "health"}
_YES, _NO = {"true", "yes"}, {"false", "no"}


def _matches(actual: Any, wanted: str, key: str = "") -> bool:
    if isinstance(actual, list):
        return any(_matches(a, wanted, key) for a in actual)
    if isinstance(actual, bool):
        return wanted.lower() == str(actual).lower()
    if isinstance(actual, (int, float)):
        # The value as the table shows it matches too: a metric of 0.994444 shows as 0.9944
        # (only a shown fraction: 0.99996 shows as 1, and `=1` means 1).
        # Written with at least the shown digits (0.9130, 0.91304 for 0.913043), it matches the
        # value rounded to as many; with fewer (0.91) only an exact value does.
        shown = number(actual)
        typed = wanted.strip()
        if "." in shown and typed == shown:
            return True
        whole, dot, digits = typed.lstrip("+-").partition(".")
        if dot and "." in shown and whole.isdigit() and digits.isdigit() and len(digits) >= len(shown.split(".")[1]):
            try:
                return round(float(actual), len(digits)) == round(float(typed), len(digits))
            except (ValueError, OverflowError):
                return False
        try:
            return float(wanted) == float(actual)
        except (ValueError, OverflowError):
            return False
    if actual is None:
        return False
    if key == "signed" and wanted.lower() in _YES | _NO:  # signed=true: valid signatures; false: the rest
        return (actual == "signed") == (wanted.lower() in _YES)
    text = str(actual)
    if key in _WORDS:
        return text.casefold() == wanted.casefold()
    # A ref field matches the ref or its name alone, written either way (experiment:NAME or NAME).
    return text == wanted or _short(text) == wanted or _short(text) == _short(wanted)


def _sortable(v: Any) -> tuple[int, Any]:
    # Numbers as they are: Python orders an int and a float exactly, and an int of 600 digits
    # (the loader allows them) has no float (float() raised OverflowError: exit 3, HTTP 500).
    return (0, v) if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, str(v))


# The table's first column is each row's name, headed by the kind it lists.
_NAME_HEADER = {"runs": "run", "models": "model", "datasets": "dataset", "experiments": "experiment"}


class Listed(NamedTuple):
    """What listed() kept: `rows` in order, `judged` the rows the filters were judged on (with
    their age cells when `aged`), and the sort and filters as the rows name them."""

    rows: list[dict[str, Any]]
    judged: list[dict[str, Any]]
    sort: str | None
    filters: tuple[str, ...]
    aged: bool

    @property
    def records(self) -> list[dict[str, Any]]:
        """`rows` as the records' own fields: an age cell is the table's, not the record's."""
        return [{k: v for k, v in r.items() if k != "age"} for r in self.rows] if self.aged else self.rows


def listed(
    what: str,
    every: list[dict[str, Any]],
    filters: Iterable[str],
    sort: str | None,
    desc: bool,
    limit: int | None = None,
    words: tuple[str, str, str] = CLI_WORDS,
) -> Listed:
    """select() as `strataml list` and the API's lists take it: the table's headers are names too
    (`sort=age`, `filter=run=ID`, `filter=age=3d`, the last judged by the clock now)."""
    sort, desc, kept, aged = _by_headers(what, sort, desc, tuple(filters), every)
    named = headers(what)
    judged = _with_age(every) if aged else every
    return Listed(select(judged, list(kept), sort, desc, limit, words, (named, named)), judged, sort, kept, aged)


def headers(what: str) -> tuple[str, ...]:
    """The headers of `strataml list`'s table that --sort and --filter (the API's sort= and
    filter=) take beside the rows' own names."""
    return (_NAME_HEADER[what], *(("age",) if what == "runs" else ())) if what in _NAME_HEADER else ()


def _by_headers(
    what: str, sort: str | None, desc: bool, filters: tuple[str, ...], rows: list[dict[str, Any]]
) -> tuple[str | None, bool, tuple[str, ...], bool]:
    """A sort and filters as the table's headers name them (`--sort run`, `--sort age`): the
    fields the rows hold (name; created, in the other direction: the youngest is the least age),
    and whether a filter asks for the age column's cells (`--filter age=3d`: the rows need them).
    A header that is also a field, metric or tag of the rows (a tag `age`) means that, as ever."""
    named = set(headers(what))
    asked = {sort, *(item.partition("=")[0] for item in filters)}
    if not named & asked:
        return sort, desc, filters, False
    known = set(known_keys(rows))
    own = {h for h in named if h and h not in known and f"tags.{h}" not in known}
    if sort in own:
        sort, desc = ("created", not desc) if sort == "age" else ("name", desc)
    out = []
    for item in filters:
        key, sep, wanted = item.partition("=")
        out.append(f"name={wanted}" if sep and key in own and key != "age" else item)
    aged = "age" in own and any(item.startswith("age=") for item in filters)
    return sort, desc, tuple(out), aged


def _with_age(rows: list[dict[str, Any]], now: datetime | None = None) -> list[dict[str, Any]]:
    """`rows`, each with its age cell as the table shows it (`age=3d` filters on it): one clock for all."""
    now = now or datetime.now(UTC)
    return [{**r, "age": age(r.get("created"), now)} for r in rows]


def age(timestamp: Any, now: datetime | None = None) -> str:
    """'3d', '5h', '12m' since `timestamp`: short enough for an 80-column table."""
    when = parse_time(timestamp) if isinstance(timestamp, str) else None
    if when is None:
        return ""
    seconds = ((now or datetime.now(UTC)) - when).total_seconds()
    for unit, size in (("y", 365 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return "now"


def gated_metrics(row: dict[str, Any], gates_by_experiment: dict[str, list[str]]) -> list[str]:
    """The metrics a run's or model version's row holds that its experiment gates on, in the gates' order."""
    gates = _texts(gates_by_experiment.get(str(row.get("experiment"))))  # (an older index.rows held any)
    names = [expr.split()[0] for expr in gates if expr.split()]
    return [m for m in dict.fromkeys(names) if m in row.get("metrics", {})]


def key_metrics(found: list[dict[str, Any]], gates_by_experiment: dict[str, list[str]], limit: int = 2) -> list[str]:
    """The metrics worth a column: those the experiments gate on, then test_* ones, most common first."""
    counts: dict[str, int] = {}
    for r in found:
        for m in r.get("metrics", {}):
            counts[m] = counts.get(m, 0) + 1
    gated_counts: dict[str, int] = {}
    for r in found:
        for metric in gated_metrics(r, gates_by_experiment):
            gated_counts[metric] = gated_counts.get(metric, 0) + 1
    gated = sorted(gated_counts, key=lambda m: (-gated_counts[m], m))
    rest = sorted((m for m in counts if m.startswith("test_") and m not in gated), key=lambda m: (-counts[m], m))
    return (gated + rest)[:limit]


def detail(graph: Graph, node: dict[str, Any]) -> dict[str, Any]:
    """Everything about one record, as `strataml show --format json` prints it and the dashboard's
    record page shows it: the node, its direct neighbours, the findings about it."""
    findings = graph.index.get("findings", [])
    return {
        **node,
        "upstream": [{"ref": other, "edge": kind} for other, kind in sorted(graph.up.get(node["id"], ()))],
        "downstream": [{"ref": other, "edge": kind} for other, kind in sorted(graph.down.get(node["id"], ()))],
        "reported": [findings[i] for i in graph.findings_by_node.get(node["id"], ())],
    }


def overview(graph: Graph) -> dict[str, Any]:
    """The workspace at a glance: its name, records per kind, health (findings by severity and
    by contract): what `strataml status` prints and the API's /workspace answers."""
    findings = graph.index.get("findings", [])
    kinds: dict[str, int] = {}
    for node in graph.nodes.values():
        kinds[node["kind"]] = kinds.get(node["kind"], 0) + 1
    return {
        "name": graph.index.get("workspace"),
        "counts": {what: kinds.get(kind, 0) for what, kind in KIND_OF_LIST.items()},
        "health": {
            "errors": sum(1 for f in findings if f["severity"] == "error"),
            "warnings": sum(1 for f in findings if f["severity"] == "warning"),
            "infos": sum(1 for f in findings if f["severity"] == "info"),
            "by_contract": health_by_contract(findings),
        },
    }


def unread(index: dict[str, Any], what: str, root: Path) -> list[str]:
    """The record folders under `what`/ (runs, datasets, models) that findings are about and no
    node is: their metadata file missing, not a file, or not readable (the doctor says which). A
    reader that left them out would say the workspace holds none of them. Only what stands in
    `root` as a folder (or a link where one belongs) is one: a stray file where a version folder
    would be, or a model's ledger, is no record left out."""
    from strataml.workspace import record_folder

    held = {n.get("path") for n in index.get("nodes", [])}
    folders = {record_folder(str(f.get("path", ""))) for f in index.get("findings", [])}
    out = []
    for folder in sorted(f for f in folders if f is not None and f.startswith(f"{what}/") and f not in held):
        try:
            mode = os.lstat(root / folder).st_mode
        except (OSError, ValueError):
            continue
        if stat.S_ISDIR(mode) or stat.S_ISLNK(mode):
            out.append(folder)
    return out


def health_by_contract(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Errors, warnings and infos per contract (TFC-0006 for TFC0006-E002), in contract order."""
    out: dict[str, dict[str, Any]] = {}
    for f in findings:
        code = str(f.get("code", ""))
        tfc = f"TFC-{code[3:7]}" if code.startswith("TFC") and len(code) >= 7 else "other"
        row = out.setdefault(tfc, {"contract": tfc, "errors": 0, "warnings": 0, "infos": 0})
        key = f"{f.get('severity')}s"
        if key in row:
            row[key] += 1
    return [out[k] for k in sorted(out)]


def lineage_of(
    graph: Graph, ref: str, direction: str = "both", depth: int | None = None
) -> tuple[str, dict[str, list[Step]], list[Step]]:
    """(the node REF names, its lineage per followed direction, what its upstream names that is
    no record: missing_upstream): what `strataml lineage` prints."""
    node = graph.find(ref)
    directions = ["up", "down"] if direction == "both" else [direction]
    steps = {d: graph.lineage(node["id"], d, depth) for d in directions}
    return node["id"], steps, missing_upstream(graph, node["id"], steps, depth)


def missing_upstream(graph: Graph, start: str, steps: dict[str, list[Step]], depth: int | None = None) -> list[Step]:
    """What the upstream path names that is no record (a dataset a run read, deleted since):
    each as a step under the node that names it, so that a lineage shows the gap, not a
    shorter path (the doctor's TFC0008-E001). Nothing when upstream is not followed, or in a
    federated view (its members resolve their own names)."""
    if "up" not in steps or any("workspace" in node for node in graph.nodes.values()):
        return []
    from strataml.read.build import references

    out: dict[tuple[str, str], Step] = {}
    for node_id, far in [(start, 0), *((s.node, s.depth) for s in steps["up"])]:
        node = graph.nodes.get(node_id)
        if node is None or (depth is not None and far >= depth):
            continue
        for ref, kind in references(node.get("kind"), node.get("attrs")):
            if ref not in graph.nodes:
                out.setdefault((node_id, ref), Step(far + 1, ref, node_id, kind))
    return sorted(out.values(), key=lambda s: (s.depth, s.via or "", s.node))


def rules(body: bool = True) -> list[dict[str, Any]]:
    """Every rule as readers show it (`--list-rules`, the dashboard, the API), in code order;
    without its text (`body`) for a listing."""
    from strataml import contracts

    return [rule_of(r, body) for r in contracts.registry().values()]


def rule_of(rule: Any, body: bool = True) -> dict[str, Any]:
    """One rule, the same document for `doctor --explain/--list-rules --format json`, the API and
    the dashboard."""
    out = {
        "code": rule.code,
        "name": rule.name,
        "severity": rule.severity,
        "contract": rule.tfc,
        "document": rule.document,
        "enforced": rule.enforced,
        "enforced_note": rule.enforced_note,
        "checked": rule.checked,
        "since_only": rule.needs_since,
        "summary": rule.summary,
    }
    if body:
        out["body"] = rule.body
    return out
