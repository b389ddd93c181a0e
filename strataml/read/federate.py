"""One view over many workspaces: their indexes merged into a federated index.

A member is a workspace folder (its index as `strataml index` there would give it) or an index
file (a CI artifact, another checkout's `.strataml/index.json`). Every ref is namespaced by its
member (`team-a/model:churn@3`); paths stay the member's own, beside the node's `workspace`.
A dataset version whose recorded digest is in two or more workspaces is one node with every
name (`names`), so lineage crosses repositories: team B's run hangs off team A's dataset. Only
copies whose doctor found no error are joined (a digest a member could not verify proves no
sameness). A member that is missing, broken or older than its workspace is listed with its
status, never left out. Same members, same bytes: nothing here reads a clock.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strataml import schemas
from strataml.controls import shown
from strataml.doctor.rules.lineage import refs_in
from strataml.errors import StrataError
from strataml.numbers import as_float
from strataml.read.query import KIND_OF_LIST

FORMAT = "strataml/federation/v1"
DEFAULT = ".strataml/federation.json"
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}\Z")
MAX_MEMBERS = 256
STATUSES = ("fresh", "stale", "unverified", "missing", "invalid")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}\Z")


@dataclass(frozen=True)
class Member:
    """One workspace of a federation as it was read: its index, or why there is none."""

    name: str
    source: str  # as the user gave it
    status: str  # one of STATUSES
    message: str | None = None
    index: dict[str, Any] | None = None
    digest: str | None = None  # sha256 of the index text read or built
    commit: str | None = None


def split_member(text: str) -> tuple[str | None, str]:
    """`NAME=PATH` -> (NAME, PATH); a plain PATH -> (None, PATH). Text before `=` with no `/` in
    it is meant as a name: one that is not a valid name is refused, never taken for a path."""
    name, sep, path = text.partition("=")
    if sep and NAME.match(name):
        return name, path
    if sep and "/" not in name:
        raise StrataError(
            f"member {shown(text)}: {shown(name)!s} is not a member name"
            if name
            else f"member {shown(text)} has no name",
            "NAME=PATH, NAME of a-z, 0-9, '.', '_' and '-' (at most 63), e.g. team-a=../team-a",
        )
    return None, text


def slug(text: str) -> str:
    """A member name made from a workspace name or a folder name: lowercase, `-` for the rest."""
    out = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._")[:63]
    return out if out and NAME.match(out) else "workspace"


def read_members(texts: list[str], writable: bool = True) -> list[Member]:
    """Every member the user named, read (a broken one is a Member with its status, not an error).
    Names must differ: the same name twice is refused, naming the fix."""
    if not texts:
        raise StrataError(
            "--federate needs the workspaces to join", "e.g. strataml index --federate ../team-a ../team-b"
        )
    if len(texts) > MAX_MEMBERS:
        raise StrataError(f"{len(texts)} members: a federation joins at most {MAX_MEMBERS}", "join fewer")
    members = []
    places: dict[str, str] = {}
    for text in texts:
        name, path = split_member(text)
        if not path.strip():
            raise StrataError(f"member {text!r} names no path", "give a workspace folder or an index.json file")
        place = os.path.realpath(path)
        if place in places and os.path.exists(place):
            raise StrataError(
                f"{shown(places[place])} and {shown(text)} are the same member", "name each workspace once"
            )
        places[place] = text
        members.append(_read(name, path, writable))
    seen: dict[str, str] = {}
    for m in members:
        if m.name in seen:
            raise StrataError(
                f"two members are both named {m.name!r} ({shown(seen[m.name])} and {shown(m.source)})",
                f"name them: a={shown(seen[m.name])} b={shown(m.source)} (NAME=PATH; NAME as a-z, 0-9, . _ -)",
            )
        seen[m.name] = m.source
    return sorted(members, key=lambda m: m.name)


def _read(name: str | None, source: str, writable: bool = True) -> Member:
    path = Path(source)
    fallback = slug(path.resolve().name if path.name in ("", ".", "..") else path.name)
    if path.name == "index.json" and path.parent.name == ".strataml":
        fallback = slug(path.resolve().parent.parent.name)
    try:
        os.stat(path)
    except OSError as exc:
        return Member(name or fallback, source, "missing", f"cannot read {source}: {exc.strerror}")
    if path.is_dir():
        return _workspace(name, source, path, fallback, writable)
    if not path.is_file():
        return Member(name or fallback, source, "invalid", f"{source} is neither a folder nor a file")
    return _index_file(name, source, path, fallback)


def _workspace(name: str | None, source: str, path: Path, fallback: str, writable: bool = True) -> Member:
    """A workspace folder: its index as a reader there gets it (rebuilt and saved in its own
    .strataml/ when stale, as `strataml list` there would; in memory when it cannot be written,
    or when not `writable`: then nothing of the member is written, nor read from its .strataml/)."""
    from strataml import gitfacts
    from strataml.read import saved
    from strataml.read.build import dumps
    from strataml.rootdir import CONFIG

    if not os.path.lexists(path / CONFIG):
        return Member(
            name or fallback, source, "invalid", f"{source} is not a workspace: it has no {CONFIG} (run strataml init?)"
        )
    try:
        if writable:
            index, _rebuilt = saved.current(path)
        else:
            from strataml.read import proof

            index = saved.resolve(path.resolve(), proof.freshness(path.resolve()), writable=False).index
    except (StrataError, OSError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        return Member(name or fallback, source, "invalid", f"{source}: {message}")
    text = dumps(index)
    own = index.get("workspace")
    return Member(
        name or (slug(own) if isinstance(own, str) and own else fallback),
        source,
        "fresh",
        None,
        index,
        hashlib.sha256(text.encode("utf-8")).hexdigest(),
        gitfacts.head_commit(path.resolve()),
    )


def _index_file(name: str | None, source: str, path: Path, fallback: str) -> Member:
    """An index file: checked against the index schema; fresh or stale when it is a workspace's
    saved index (judged as a reader there judges it), unverified when nothing says its age."""
    from strataml.read.saved import MAX_INDEX_BYTES

    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_INDEX_BYTES + 1)
        if len(raw) > MAX_INDEX_BYTES:
            return Member(name or fallback, source, "invalid", f"{source} is over {MAX_INDEX_BYTES >> 20} MiB")
        index = json.loads(raw.decode("utf-8"))
    except OSError as exc:
        return Member(name or fallback, source, "invalid", f"cannot read {source}: {exc.strerror}")
    except (ValueError, RecursionError):
        return Member(name or fallback, source, "invalid", f"{source} is not JSON (is it an index.json?)")
    if not isinstance(index, dict) or index.get("schema") != schemas.schema_id("index"):
        return Member(name or fallback, source, "invalid", f"{source} is not a StrataML index (strataml/index/v1)")
    issues = schemas.validate("index", index)
    if issues:
        where = "/".join(map(str, issues[0].path)) or "document"
        return Member(
            name or fallback, source, "invalid", f"{source} breaks the index schema at {where}: {issues[0].message}"
        )
    digest = hashlib.sha256(raw).hexdigest()
    own = index.get("workspace")
    member_name = name or (slug(own) if isinstance(own, str) and own else fallback)
    status, commit = "unverified", None
    message: str | None = "an index file: nothing here says whether its workspace changed since"
    top = Path(os.path.abspath(path)).parent.parent
    if path.name == "index.json" and path.parent.name == ".strataml" and os.path.lexists(top / "strataml.yaml"):
        from strataml import gitfacts
        from strataml.read import saved

        try:
            current = saved.judge(top, digest)
        except (OSError, StrataError):
            current = None
        if current:
            status, message = "fresh", None
        elif current is False:
            status = "stale"
            message = f"built before the last change to its workspace; run `strataml index` in {top.name}"
        else:
            message = f"its workspace cannot prove it current (a file changed a moment ago?); run `strataml index` in {top.name}"
        commit = gitfacts.head_commit(top)
    return Member(member_name, source, status, message, index, digest, commit)


def federate(members: list[Member]) -> dict[str, Any]:
    """The federated index (strataml/federation/v1) of `members` (read_members' order)."""
    aliases = _joined(members)
    names = _groups(aliases)
    every = {ref: (ws, n) for ref, ws, n in _all_nodes(members)} if names else {}
    nodes = []
    for m in members:
        index = m.index or {}
        for node in index.get("nodes", ()):
            nid = f"{m.name}/{node['id']}"
            if nid in aliases:
                continue  # one of several names of a joined dataset: its node is the canonical one
            out = {**node, "id": nid, "workspace": m.name, "attrs": _namespaced(m.name, node, aliases)}
            if nid in names:
                copies = [(ref, *every[ref]) for ref in names[nid]]
                # Each name with its own metadata: the same bytes may carry another licence or
                # description in another team's record, and a reader must see that, not one of them.
                out["names"] = [
                    {"ref": ref, "workspace": ws, "path": n["path"], "attrs": n["attrs"]} for ref, ws, n in copies
                ]
                differ = sorted(
                    {k for _r, _w, n in copies for k in {*n["attrs"], *node["attrs"]}}
                    - {k for k in node["attrs"] if all(n["attrs"].get(k) == node["attrs"][k] for _r, _w, n in copies)}
                )
                if differ:
                    out["differ"] = differ
                out["findings"] = {
                    k: sum(n["findings"].get(k, 0) for _r, _w, n in copies) for k in ("errors", "warnings", "infos")
                }
            nodes.append(out)
    nodes.sort(key=lambda n: n["id"])
    where = {n["id"]: n["workspace"] for n in nodes}
    edges: dict[tuple[str, str, str], dict[str, Any]] = {}
    for m in members:
        for e in (m.index or {}).get("edges", ()):
            start, end = _name(m.name, e["from"], aliases), _name(m.name, e["to"], aliases)
            if start not in where or end not in where or start == end:
                continue  # an edge to no record (a broken member's), or a copy joined to itself
            edge = {"from": start, "to": end, "kind": e["kind"]}
            if where[start] != where[end]:
                edge["cross"] = True
            edges[(start, end, e["kind"])] = edge
    findings = [
        {**f, "workspace": m.name}
        for m in members
        for f in sorted(
            (m.index or {}).get("findings", ()), key=lambda f: (f["path"], f["line"] or 0, f["code"], f["message"])
        )
    ]
    return {
        "schema": FORMAT,
        "workspaces": [_summary(m) for m in members],
        "nodes": nodes,
        "edges": [edges[k] for k in sorted(edges)],
        "findings": findings,
        "aliases": dict(sorted(aliases.items())),
    }


def _all_nodes(members: list[Member]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(f"{m.name}/{n['id']}", m.name, n) for m in members for n in (m.index or {}).get("nodes", ())]


def _joined(members: list[Member]) -> dict[str, str]:
    """Namespaced dataset id -> the canonical id it is joined to (the smallest of its digest's
    copies), for digests recorded by error-free dataset versions of two or more members."""
    by_digest: dict[str, list[tuple[str, str]]] = {}
    for ref, ws, node in _all_nodes(members):
        digest = node["attrs"].get("digest") if node["kind"] == "dataset" else None
        if isinstance(digest, str) and _DIGEST.match(digest) and not node["findings"].get("errors"):
            by_digest.setdefault(digest, []).append((ref, ws))
    aliases = {}
    for copies in by_digest.values():
        if len({ws for _ref, ws in copies}) < 2:
            continue  # copies inside one workspace are that workspace's own business
        canonical = min(ref for ref, _ws in copies)
        aliases.update({ref: canonical for ref, _ws in copies if ref != canonical})
    return aliases


def _groups(aliases: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for alias, canonical in aliases.items():
        out.setdefault(canonical, [canonical]).append(alias)
    return {k: sorted(v) for k, v in out.items()}


def _name(member: str, ref: str, aliases: dict[str, str]) -> str:
    nid = f"{member}/{ref}"
    return aliases.get(nid, nid)


def _namespaced(member: str, node: dict[str, Any], aliases: dict[str, str]) -> dict[str, Any]:
    """The node's attrs with every reference in them namespaced (and joined datasets named by
    their canonical id), so readers follow them within the federation."""
    attrs = node["attrs"]
    found = list(refs_in(node["kind"], attrs))
    if not found:
        return attrs  # the member's own dict, unchanged and shared: nothing in it names a record
    attrs = copy.deepcopy(attrs)
    for path, text, _kinds in found:
        holder: Any = attrs
        for key in path[:-1]:
            holder = holder[key]
        holder[path[-1]] = _name(member, text, aliases)
    return attrs


def _summary(m: Member) -> dict[str, Any]:
    """A member at a glance: where it came from, its status, counts, health, production models."""
    out: dict[str, Any] = {"name": m.name, "source": m.source, "status": m.status}
    if m.message:
        out["message"] = m.message
    if m.index is None:
        return out
    nodes = m.index.get("nodes", [])
    found = m.index.get("findings", [])
    out["workspace"] = m.index.get("workspace")
    out["commit"] = m.commit
    out["index_sha256"] = m.digest
    if m.index.get("generated_at"):
        out["generated_at"] = m.index["generated_at"]
    out["counts"] = {what: sum(1 for n in nodes if n["kind"] == kind) for what, kind in KIND_OF_LIST.items()}
    out["health"] = {f"{s}s": sum(1 for f in found if f["severity"] == s) for s in ("error", "warning", "info")}
    out["production"] = [
        {
            "ref": f"{m.name}/{n['id']}",
            "gate": _text(_map(n.get("receipt")).get("status") or _map(n["attrs"].get("gate")).get("status")),
            "metrics": {
                str(k): number
                for k, v in _map(_map(n["attrs"].get("evaluation")).get("metrics")).items()
                if (number := as_float(v)) is not None
            },
            "signature": _text(_map(n.get("signature")).get("status")),
        }
        for n in nodes
        if n["kind"] == "model" and n["attrs"].get("state") == "production"
    ]
    return out


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
