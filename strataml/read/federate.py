"""One view over many workspaces: their indexes merged into a federated index.

A member is a workspace folder (its index as `strataml index` there would give it, built in
memory: nothing is written in a member) or an index file (a CI artifact, another checkout's
`.strataml/index.json`). Every ref is namespaced by its member (`team-a/model:churn@3`); paths
stay the member's own, beside the node's `workspace`. A dataset version whose digest is in two
or more workspaces is one node with every name (`names`), so lineage crosses repositories: team
B's run hangs off team A's dataset. Only copies this run verified are joined: from a workspace
folder indexed here, whose policy relaxes no integrity rule (TFC0002, TFC0006), with no error
finding, and whose digest is the one its files' recorded sha256 give. An index file proves no
sameness (anyone can write one), so its datasets are never joined. A member that is missing,
broken or older than its workspace is listed with its status, never left out. Same members,
same bytes: nothing here reads a clock.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strataml import canonical, schemas
from strataml.controls import shown
from strataml.doctor.rules.lineage import refs_in
from strataml.errors import StrataError
from strataml.numbers import as_float
from strataml.read.query import KIND_OF_LIST
from strataml.refs import RefError, parse_ref
from strataml.shapes import mapping as _map

FORMAT = "strataml/federation/v1"
DEFAULT = ".strataml/federation.json"
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}\Z")
MAX_MEMBERS = 256
MAX_TOTAL_BYTES = 1024 * 1024 * 1024  # every index file together: what one process may hold
MAX_DEPTH = 100  # an index holds metadata of at most 64 levels, in a few of its own
STATUSES = ("fresh", "stale", "unverified", "missing", "invalid")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}\Z")
# The rules that make a dataset's digest mean its bytes: a member that relaxes any of them
# (doctor.severity or doctor.ignore in its strataml.yaml) proves nothing by its digests.
INTEGRITY = ("TFC0002", "TFC0006")


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
    joins: bool = False  # whether its datasets may be joined (verified here, by strict rules)
    # The member's folder when its own saved index was read (its owner can write that, and the
    # cache it was made from), not built here: built again before any dataset of it joins.
    saved_from: Path | None = None


def split_member(text: str) -> tuple[str | None, str]:
    """`NAME=PATH` -> (NAME, PATH); a plain PATH -> (None, PATH). Text before `=` with no `/` in
    it is meant as a name: one that is not a valid name is refused, never taken for a path."""
    name, sep, path = text.partition("=")
    if sep and NAME.match(name):
        return name, path
    if sep and "/" not in name:
        raise StrataError(
            f"member {shown(text)}: {shown(name)} is not a member name"
            if name
            else f"member {shown(text)} has no name",
            "NAME=PATH, NAME of a-z, 0-9, '.', '_' and '-' (at most 63), e.g. team-a=../team-a",
        )
    return None, text


def slug(text: str) -> str:
    """A member name made from a workspace name or a folder name: lowercase, `-` for the rest."""
    out = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._")[:63]
    return out if out and NAME.match(out) else "workspace"


@dataclass
class _Planned:
    name: str
    source: str
    path: Path
    read: Member | None = None  # known before any workspace is indexed (a missing path, an index file)


def read_members(texts: list[str]) -> list[Member]:
    """Every member the user named, read (a broken one is a Member with its status, not an error).
    Names are settled before any workspace is indexed: the same name twice, or the same member
    twice, is refused at once, naming the fix."""
    if not texts:
        raise StrataError(
            "--federate needs the workspaces to join", "e.g. strataml index --federate ../team-a ../team-b"
        )
    if len(texts) > MAX_MEMBERS:
        raise StrataError(f"{len(texts)} members: a federation joins at most {MAX_MEMBERS}", "join fewer")
    planned: list[_Planned] = []
    places: dict[str, str] = {}
    budget = [MAX_TOTAL_BYTES]
    for text in texts:
        name, path = split_member(text)
        if not path.strip():
            raise StrataError(f"member {shown(text)} names no path", "give a workspace folder or an index.json file")
        place = os.path.realpath(path)
        if place in places and os.path.exists(place):
            raise StrataError(
                f"{shown(places[place])} and {shown(text)} are the same member", "name each workspace once"
            )
        places[place] = text
        planned.append(_plan(name, path, budget))
    seen: dict[str, str] = {}
    for p in planned:
        if p.name in seen:
            raise StrataError(
                f"two members are both named {p.name!r} ({shown(seen[p.name])} and {shown(p.source)})",
                f"name them: a={shown(seen[p.name])} b={shown(p.source)} (NAME=PATH; NAME as a-z, 0-9, . _ -)",
            )
        seen[p.name] = p.source
    members = [p.read if p.read is not None else _workspace(p.name, p.source, p.path) for p in planned]
    return sorted(members, key=lambda m: m.name)


def _plan(name: str | None, source: str, budget: list[int]) -> _Planned:
    """A member's name, and what can be known of it without indexing a workspace."""
    path = Path(source)
    fallback = slug(path.resolve().name if path.name in ("", ".", "..") else path.name)
    if path.name == "index.json" and path.parent.name == ".strataml":
        fallback = slug(path.resolve().parent.parent.name)
    try:
        os.stat(path)
    except OSError as exc:
        return _Planned(
            name or fallback, source, path, Member(name or fallback, source, "missing", _cannot(source, exc))
        )
    if path.is_dir():
        return _Planned(name or _config_name(path) or fallback, source, path)
    if not path.is_file():
        why = f"{shown(source)} is neither a folder nor a file"
        return _Planned(name or fallback, source, path, Member(name or fallback, source, "invalid", why))
    read = _index_file(name, source, path, fallback, budget)
    return _Planned(read.name, source, path, read)


def _cannot(source: str, exc: OSError) -> str:
    return f"cannot read {shown(source)}: {exc.strerror or exc}"


def _config_name(path: Path) -> str | None:
    """The workspace's own name (strataml.yaml `name`), as a member name; None without one."""
    from strataml.workspace import load_config

    try:
        data = load_config(path.resolve()).data
    except (OSError, StrataError):
        return None
    own = data.get("name") if isinstance(data, dict) else None
    return slug(own) if isinstance(own, str) and own else None


def _workspace(name: str, source: str, path: Path) -> Member:
    """A workspace folder: its index as a reader there gets it, without writing in it: the saved
    index when it is provably fresh (built again if a dataset of it would join: _trusted),
    else built in memory (files hashed afresh: a member's cache is not this run's to trust or
    fill)."""
    from strataml import atomic, gitfacts
    from strataml.read import proof, saved
    from strataml.rootdir import CONFIG

    if not os.path.lexists(path / CONFIG):
        why = f"{shown(source)} is not a workspace: it has no {CONFIG} (run strataml init?)"
        return Member(name, source, "invalid", why)
    root = path.resolve()
    try:
        index = _saved_fresh(root)
        saved_from = root if index is not None else None
        if index is None:
            index = saved.resolve(root, proof.freshness(root), writable=False).index
        relaxed = _relaxes_integrity(root)
    except (StrataError, OSError, atomic.Refused) as exc:
        message = getattr(exc, "message", None) or str(exc)
        return Member(name, source, "invalid", f"{shown(source)}: {shown(message)}")
    note = (
        f"its datasets are not joined: its {CONFIG} relaxes {', '.join(relaxed)} (doctor.severity or doctor.ignore)"
        if relaxed
        else None
    )
    return Member(
        name,
        source,
        "fresh",
        note,
        index,
        _digest(index),
        gitfacts.head_commit(root),
        joins=not relaxed,
        saved_from=saved_from,
    )


def _saved_fresh(root: Path) -> dict[str, Any] | None:
    """The member's saved index when its own freshness proof holds (read, never written)."""
    from strataml import atomic
    from strataml.read import proof, saved

    looked = proof.probe(root)
    if looked.key is None:
        return None
    try:
        raw, digest = saved.read_hashed(root, saved.INDEX)
        if raw is None or digest != looked.index_sha256:
            return None
        index = canonical.loads(raw)
    except (OSError, ValueError, RecursionError, atomic.Refused):
        return None
    return index if _problem(index) is None else None


def _relaxes_integrity(root: Path) -> list[str]:
    """The integrity codes (INTEGRITY, by prefix) the workspace's policy turns down or off."""
    from strataml import contracts
    from strataml.workspace import load_config

    data = load_config(root).data
    doctor = data.get("doctor") if isinstance(data, dict) else None
    doctor = doctor if isinstance(doctor, dict) else {}
    severity = doctor.get("severity")
    ignore = doctor.get("ignore")
    rank = {"off": -1, "info": 0, "warning": 1, "error": 2}
    rules = contracts.registry()
    lowered = [
        str(code)
        for code, level in (severity.items() if isinstance(severity, dict) else ())
        if rank.get(str(level), -1) < rank.get(getattr(rules.get(str(code)), "severity", "error"), 2)
    ]
    touched = lowered + [str(c) for c in (ignore if isinstance(ignore, list) else ())]
    return sorted({c for c in touched if any(c.startswith(p) or p.startswith(c) for p in INTEGRITY)})


def _index_file(name: str | None, source: str, path: Path, fallback: str, budget: list[int]) -> Member:
    """An index file: checked against the index schema and for refs that are refs; fresh or
    stale when it is a workspace's saved index (judged as a reader there judges it), unverified
    when nothing says its age. Its datasets are never joined: a file proves no sameness."""
    from strataml.read.saved import MAX_INDEX_BYTES

    def bad(why: str) -> Member:
        return Member(name or fallback, source, "invalid", why)

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO swapped in never blocks
        with os.fdopen(fd, "rb") as handle:
            st = os.fstat(handle.fileno())
            if not stat.S_ISREG(st.st_mode):
                return bad(f"{shown(source)} is not a regular file")
            limit = min(MAX_INDEX_BYTES, budget[0])
            too_big = f"{shown(source)} is over {limit >> 20} MiB (for one member, or what is left of 1 GiB for all)"
            if st.st_size > limit:  # (said from its size: a 3 GiB file was read to the limit, 512 MiB, first)
                return bad(too_big)
            raw = handle.read(limit + 1)  # (and read no further: it may grow meanwhile)
        if len(raw) > limit:
            return bad(too_big)
        budget[0] -= len(raw)
        index = canonical.loads(raw.decode("utf-8"))
    except OSError as exc:
        return bad(_cannot(source, exc))
    except canonical.NotFinite as exc:
        return bad(f"{shown(source)} {exc} (an index strataml writes spells such metrics as text)")
    except (ValueError, RecursionError):
        return bad(f"{shown(source)} is not JSON (is it an index.json?)")
    if isinstance(index, dict) and index.get("schema") == FORMAT:
        return bad(f"{shown(source)} is a federated index: join the workspaces themselves (federations do not nest)")
    if not isinstance(index, dict) or index.get("schema") != schemas.schema_id("index"):
        return bad(f"{shown(source)} is not a StrataML index (strataml/index/v1)")
    problem = _problem(index)
    if problem is not None:
        return bad(f"{shown(source)}: {problem}")
    digest = hashlib.sha256(raw).hexdigest()
    own = index.get("workspace")
    member_name = name or (slug(own) if isinstance(own, str) and own else fallback)
    status, commit = "unverified", None
    message: str | None = "an index file: nothing here says whether its workspace changed since"
    top = Path(os.path.abspath(path)).parent.parent
    if path.name == "index.json" and path.parent.name == ".strataml" and os.path.lexists(top / "strataml.yaml"):
        from strataml import gitfacts
        from strataml.read import saved

        rebuild = shown(f"strataml -C {shlex.quote(str(top))} index")  # (pasted anywhere, it rebuilds that one)
        try:
            current = saved.judge(top, digest)
        except (OSError, StrataError):
            current = None
        if current:
            status, message = "fresh", None
        elif current is False:
            status = "stale"
            message = f"built before the last change to its workspace; run `{rebuild}`"
        else:
            message = f"its workspace cannot prove it current (a file changed a moment ago?); run `{rebuild}`"
        commit = gitfacts.head_commit(top)
    return Member(member_name, source, status, message, index, digest, commit)


def _problem(index: Any) -> str | None:
    """Why `index` cannot be a member's index (schema, nesting, refs that are no refs), or None."""
    if _too_deep(index):
        return f"nested more than {MAX_DEPTH} levels deep: not an index strataml wrote"
    issues = schemas.validate("index", index)
    if issues:
        where = "/".join(map(str, issues[0].path)) or "document"
        return f"breaks the index schema at {shown(where)}: {shown(issues[0].message)}"
    seen: set[str] = set()
    for node in index["nodes"]:
        if not _is_ref(node["id"]) or node["id"].split(":", 1)[0] != node["kind"]:
            return f"node {shown(str(node['id'])[:200])} is not a {node['kind']} ref"
        if node["id"] in seen:
            return f"node {shown(node['id'][:200])} is listed twice: not an index strataml wrote"
        seen.add(node["id"])
    for edge in index.get("edges", ()):
        if not (_is_ref(edge["from"]) and _is_ref(edge["to"])):
            return f"an edge {shown(str(edge['from'])[:200])} -> {shown(str(edge['to'])[:200])} joins no refs"
    return None


def _is_ref(text: str) -> bool:
    try:
        return str(parse_ref(text)) == text
    except RefError:
        return False


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def federate(members: list[Member]) -> dict[str, Any]:
    """The federated index (strataml/federation/v1) of `members` (read_members' order)."""
    members = _trusted(members)
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
    copies), for digests of two or more members' dataset versions this run verified: a member
    that may join (Member.joins), no error finding, the digest its files' sha256 give, its files
    there as content (_held), its index built here (_trusted)."""
    aliases = {}
    for found in _candidates(members).values():
        copies = [(ref, ws) for ref, ws, _node in found]
        if len({ws for _ref, ws in copies}) < 2:
            continue  # copies inside one workspace are that workspace's own business
        canonical = min(ref for ref, _ws in copies)
        aliases.update({ref: canonical for ref, _ws in copies if ref != canonical})
    return aliases


def _candidates(members: list[Member]) -> dict[str, list[tuple[str, str, dict[str, Any]]]]:
    """Digest -> the dataset nodes that may join under it: (namespaced ref, member, node)."""
    by_digest: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for ref, ws, node in _all_nodes([m for m in members if m.joins]):
        digest = node["attrs"].get("digest") if node["kind"] == "dataset" else None
        if (
            isinstance(digest, str)
            and _DIGEST.match(digest)
            and not node["findings"].get("errors")
            and _files_digest(node) == digest
            and _held(node)
        ):
            by_digest.setdefault(digest, []).append((ref, ws, node))
    return by_digest


def _trusted(members: list[Member]) -> list[Member]:
    """`members`, each whose saved index would join a dataset built here instead. A member's
    saved index, and the cache it was made from, are its owner's to write: a forged one claimed
    another team's dataset (sha256 and digest copied, other bytes, a file left out, its own
    licence) and headed the joined node. Built read-only, nothing of .strataml/ is read."""
    from dataclasses import replace

    from strataml import atomic
    from strataml.read import proof, saved

    sharing = {
        ws for found in _candidates(members).values() if len({w for _r, w, _n in found}) > 1 for _r, ws, _n in found
    }
    out = []
    for m in members:
        if m.saved_from is None or m.name not in sharing:
            out.append(m)
            continue
        try:
            index = saved.resolve(m.saved_from, proof.freshness(m.saved_from), writable=False).index
        except (StrataError, OSError, atomic.Refused):
            out.append(replace(m, joins=False, saved_from=None))  # (its saved index shown, nothing of it joined)
            continue
        out.append(replace(m, index=index, digest=_digest(index), saved_from=None))
    return out


def _digest(index: dict[str, Any]) -> str:
    """sha256 of an index's text as a reader writes it (Member.digest)."""
    from strataml.read.build import dumps

    return hashlib.sha256(dumps(index).encode("utf-8")).hexdigest()


def _held(node: dict[str, Any]) -> bool:
    """Whether every file the node pins is there as content, which the doctor hashed: an LFS
    pointer proves nothing here, since anyone can write one from a published sha256 (a member
    with no data took over another team's dataset, its metadata heading the joined node)."""
    files = node.get("files")
    return isinstance(files, list) and all(isinstance(f, dict) and f.get("present") == "content" for f in files)


def _files_digest(node: dict[str, Any]) -> str | None:
    """The digest the node's files give (their recorded sha256, as TFC-0002 defines it)."""
    from strataml.hashing import dataset_digest

    files = node.get("files")
    if not isinstance(files, list) or not files:
        return None
    pairs = [(f.get("path"), f.get("sha256")) for f in files if isinstance(f, dict)]
    if len(pairs) != len(files) or not all(isinstance(p, str) and isinstance(h, str) for p, h in pairs):
        return None
    return dataset_digest(pairs)  # type: ignore[arg-type]


def _groups(aliases: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for alias, target in aliases.items():
        out.setdefault(target, [target]).append(alias)
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
    attrs = dict(attrs)
    copied: set[int] = {id(attrs)}
    for path, text, _kinds in found:
        # Only the containers on the way to a ref are copied (the rest is shared, whatever its depth).
        holder: Any = attrs
        for key in path[:-1]:
            inner = holder[key]
            if id(inner) not in copied:
                inner = dict(inner) if isinstance(inner, dict) else list(inner)
                copied.add(id(inner))
                holder[key] = inner
            holder = inner
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


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
