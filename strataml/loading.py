"""The one loader for workspace YAML and JSON, with hard limits.

Metadata files come from pull requests, so they are hostile input until proven otherwise:
the loader caps size and nesting, rejects anchors/aliases (alias bombs) and non-standard tags
(`!!python/object`), reports duplicate keys (PyYAML silently keeps the last one) and encoding
problems with their line. It never raises for bad content: problems come back as values so
the doctor can turn each into a finding with its own code.

YAML is read as a stream of parser events and assembled here without recursion, so a
10,000-deep document costs 64 frames before it is refused, never a RecursionError.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# PyYAML, imported on the first parse (see _yaml()): a warm run takes every document from the
# cache, and importing PyYAML costs ~50 ms (its pure-Python reader compiles a large regex).
yaml: Any = None

MAX_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64

# Finding codes for files that cannot be loaded (documented in TFC-0001).
TOO_LARGE = "TFC0001-E101"
BAD_ENCODING = "TFC0001-E102"
BYTE_ORDER_MARK = "TFC0001-E103"
TAB_INDENT = "TFC0001-E104"
SYNTAX = "TFC0001-E105"
ALIAS = "TFC0001-E106"
TOO_DEEP = "TFC0001-E107"
DUPLICATE_KEY = "TFC0001-E108"
BAD_TAG = "TFC0001-E109"

_STD = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_STD + t for t in ("str", "int", "float", "bool", "null")}
_TIMESTAMP = _STD + "timestamp"
_COLLECTION_TAGS = {None, "!", _STD + "map", _STD + "seq"}
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True)
class LoadProblem:
    """Why (part of) a file could not be loaded; becomes a finding with `code`."""

    code: str
    message: str
    hint: str
    line: int | None = None


@dataclass(frozen=True)
class Loaded:
    """The result of loading one file.

    `data` is None when the file could not be read at all; `lines` maps a path into the
    data (keys and list indexes) to the 1-based line where it starts, for YAML sources.
    """

    data: Any
    problems: tuple[LoadProblem, ...] = ()
    lines: dict[JsonPath, int] = field(default_factory=dict)
    # Set when `lines` was not kept (a cached load): line numbers are read again from here,
    # only if a finding needs one.
    source: Path | str | None = None

    @property
    def ok(self) -> bool:
        return self.data is not None and not self.problems

    def line_of(self, path: JsonPath) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        lines = self.lines
        if not lines and self.source is not None:
            lines = load_file(self.source).lines
            self.lines.update(lines)
        path = tuple(path)
        while path:
            if path in lines:
                return lines[path]
            path = path[:-1]
        return lines.get((), None)


class _Abort(Exception):
    def __init__(self, problem: LoadProblem) -> None:
        self.problem = problem


def load_file(path: Path | str) -> Loaded:
    """Load a `.json` file as JSON and anything else as YAML, within the limits."""
    path = os.fspath(path)  # a plain string: thousands of records are read per run
    try:
        st = os.stat(path)
    except OSError as exc:
        return Loaded(
            None, (LoadProblem(SYNTAX, f"cannot read file: {exc.strerror}", "check the file exists and is readable"),)
        )
    if not stat.S_ISREG(st.st_mode):
        return Loaded(None, (LoadProblem(SYNTAX, "not a regular file", "replace it with a regular file"),))
    if st.st_size > MAX_BYTES:
        return Loaded(None, (_too_large(st.st_size),))
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        return Loaded(None, (LoadProblem(SYNTAX, f"cannot read file: {exc.strerror}", "fix the file's permissions"),))
    return load_bytes(raw, json_syntax=path.endswith(".json"))


def load_bytes(raw: bytes, *, json_syntax: bool = False) -> Loaded:
    """Load YAML (default) or JSON from bytes; never raises for bad content."""
    if len(raw) > MAX_BYTES:
        return Loaded(None, (_too_large(len(raw)),))
    try:
        text = _decode(raw)
        if json_syntax:
            return _load_json(text)
        return _load_yaml(text)
    except _Abort as abort:
        return Loaded(None, (abort.problem,))


def _too_large(size: int) -> LoadProblem:
    return LoadProblem(
        TOO_LARGE,
        f"file is {size:,} bytes; metadata files are capped at {MAX_BYTES:,} bytes",
        "keep metadata small: move bulk content into a data file and record its sha256",
    )


def _decode(raw: bytes) -> str:
    if raw.startswith(_BOMS):
        raise _Abort(
            LoadProblem(BYTE_ORDER_MARK, "file starts with a byte-order mark", "save the file as UTF-8 without BOM", 1)
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise _Abort(
            LoadProblem(
                BAD_ENCODING,
                f"not valid UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start}",
                "save the file as UTF-8 text (is it a binary file in a metadata slot?)",
                line,
            )
        ) from None


def _load_json(text: str) -> Loaded:
    problems: list[LoadProblem] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                problems.append(
                    LoadProblem(
                        DUPLICATE_KEY,
                        f"duplicate key {key!r}",
                        "remove one of the two entries; only one value can count",
                    )
                )
            out[key] = value
        return out

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise _Abort(
            LoadProblem(SYNTAX, f"invalid JSON: {exc.msg}", "fix the JSON syntax at that line", exc.lineno)
        ) from None
    except RecursionError:
        raise _Abort(_too_deep(None)) from None
    if _depth(data) > MAX_DEPTH:
        raise _Abort(_too_deep(None))
    return Loaded(data, tuple(problems))


def _depth(data: Any) -> int:
    deepest, todo = 0, [(data, 1)]
    while todo:
        node, depth = todo.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            deepest = max(deepest, depth)
            todo.extend((child, depth + 1) for child in node)
    return deepest


def _too_deep(line: int | None) -> LoadProblem:
    return LoadProblem(
        TOO_DEEP,
        f"nesting deeper than {MAX_DEPTH} levels",
        "flatten the structure; metadata never needs this depth",
        line,
    )


class _Frame:
    __slots__ = ("key", "key_line", "obj", "path")

    def __init__(self, obj: Any, path: JsonPath) -> None:
        self.obj = obj
        self.path = path
        self.key: str | None = None
        self.key_line = 0


def _yaml() -> Any:
    global yaml
    if yaml is None:
        import yaml as module

        yaml = module
    return yaml


def _loader_class() -> Any:
    yaml = _yaml()
    try:  # libyaml parses several times faster; the limits below apply to both parsers.
        return yaml.CSafeLoader
    except AttributeError:  # pragma: no cover - depends on how PyYAML was built
        return yaml.SafeLoader


_LOADER: Any = None


def _load_yaml(text: str) -> Loaded:
    global _LOADER
    if _LOADER is None:
        _LOADER = _loader_class()
    loader = _LOADER(text)
    problems: list[LoadProblem] = []
    lines: dict[JsonPath, int] = {}
    stack: list[_Frame] = []
    root: list[Any] = []
    documents = 0
    get_event = loader.get_event
    scalar_event, mapping_end, sequence_end = yaml.ScalarEvent, yaml.MappingEndEvent, yaml.SequenceEndEvent
    try:
        while True:
            ev = get_event()
            cls = type(ev)
            if cls is scalar_event:  # most events: checked first, by identity
                line = ev.start_mark.line + 1
                if ev.anchor:
                    raise _Abort(
                        LoadProblem(
                            ALIAS,
                            "YAML anchors and aliases are not allowed",
                            "write the value out in full where it is used",
                            line,
                        )
                    )
                top = stack[-1] if stack else None
                if top is not None and top.key is None and type(top.obj) is dict:
                    # A mapping key is its source text (`yes:` or `1:` stay strings, as JSON
                    # Schema expects): never resolved, but its tag is still checked.
                    if ev.tag not in (None, "!") and ev.tag not in _SCALAR_TAGS:
                        raise _Abort(_bad_tag(ev.tag, line))
                    top.key, top.key_line = ev.value, line
                    continue
                _attach(stack, root, _scalar(loader, ev, line), line, lines, problems, is_scalar=True, raw=ev.value)
                continue
            if cls is mapping_end or cls is sequence_end:
                stack.pop()
                continue
            if ev is None or cls is yaml.StreamEndEvent:
                break
            line = ev.start_mark.line + 1 if ev.start_mark else None
            if cls is yaml.MappingStartEvent or cls is yaml.SequenceStartEvent:
                if ev.anchor:
                    raise _Abort(
                        LoadProblem(
                            ALIAS,
                            "YAML anchors and aliases are not allowed",
                            "write the value out in full where it is used",
                            line,
                        )
                    )
                if ev.tag not in _COLLECTION_TAGS:
                    raise _Abort(_bad_tag(ev.tag, line))
                if len(stack) >= MAX_DEPTH:
                    raise _Abort(_too_deep(line))
                obj: Any = {} if cls is yaml.MappingStartEvent else []
                path = _attach(stack, root, obj, line, lines, problems, is_scalar=False, raw=None)
                stack.append(_Frame(obj, path))
                continue
            if cls is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise _Abort(
                        LoadProblem(
                            SYNTAX,
                            "more than one YAML document in the file",
                            "keep one document per file (remove the extra '---')",
                            line,
                        )
                    )
                continue
            if cls is yaml.AliasEvent:
                raise _Abort(
                    LoadProblem(
                        ALIAS,
                        "YAML anchors and aliases are not allowed",
                        "write the value out in full where it is used",
                        line,
                    )
                )
    except _Abort:
        raise
    except yaml.reader.ReaderError as exc:
        raise _Abort(
            LoadProblem(
                BAD_ENCODING,
                f"unreadable character: {exc.reason}",
                "remove control characters; save as UTF-8 text",
                _line_at(text, exc.position),
            )
        ) from None
    except yaml.MarkedYAMLError as exc:
        raise _Abort(_syntax(text, exc)) from None
    except yaml.YAMLError as exc:
        raise _Abort(LoadProblem(SYNTAX, f"invalid YAML: {exc}", "fix the YAML syntax")) from None
    finally:
        loader.dispose()
    return Loaded(root[0] if root else None, tuple(problems), lines)


def _attach(
    stack: list[_Frame],
    root: list[Any],
    value: Any,
    line: int | None,
    lines: dict[JsonPath, int],
    problems: list[LoadProblem],
    *,
    is_scalar: bool,
    raw: str | None,
) -> JsonPath:
    """Place a new node under its parent and return its path."""
    if not stack:
        root.append(value)
        lines[()] = line or 1
        return ()
    top = stack[-1]
    if isinstance(top.obj, list):
        path = top.path + (len(top.obj),)
        top.obj.append(value)
        lines[path] = line or 0
        return path
    if top.key is None:
        if not is_scalar:
            raise _Abort(
                LoadProblem(SYNTAX, "complex (non-scalar) mapping keys are not supported", "use plain text keys", line)
            )
        # Keys are their source text: `yes:` or `1:` stay strings, as JSON Schema expects.
        top.key = raw if raw is not None else ""
        top.key_line = line or 0
        return top.path
    key, top.key = top.key, None
    if key in top.obj:
        problems.append(
            LoadProblem(
                DUPLICATE_KEY,
                f"duplicate key {key!r} (first at line {lines.get(top.path + (key,), '?')})",
                "remove one of the two entries; only one value can count",
                top.key_line,
            )
        )
    else:
        lines[top.path + (key,)] = top.key_line
    top.obj[key] = value
    return top.path + (key,)


_RESOLVED: dict[tuple[str, tuple[bool, bool]], str] = {}


def _scalar(loader: Any, ev: yaml.ScalarEvent, line: int | None) -> Any:
    tag = ev.tag
    if tag in (None, "!"):
        # Keys and values repeat across thousands of records; resolving a plain scalar's
        # implicit type is pure, so remember it (bounded).
        key = (ev.value, ev.implicit)
        tag = _RESOLVED.get(key)
        if tag is None:
            tag = loader.resolve(yaml.ScalarNode, ev.value, ev.implicit)
            if len(ev.value) <= 32:  # keys and short values repeat; digests never do
                if len(_RESOLVED) > 20_000:
                    _RESOLVED.clear()
                _RESOLVED[key] = tag
    elif tag not in _SCALAR_TAGS:
        raise _Abort(_bad_tag(tag, line))
    if tag == _TIMESTAMP or tag == _STD + "str":
        # Times stay text: records compare and validate them as RFC 3339 strings.
        return ev.value
    if tag not in _SCALAR_TAGS:
        return ev.value
    node = yaml.ScalarNode(tag, ev.value, ev.start_mark, ev.end_mark, ev.style)
    try:
        return loader.construct_object(node)
    except (ValueError, yaml.YAMLError):
        raise _Abort(
            LoadProblem(
                SYNTAX, f"cannot read {ev.value!r} as {tag.rsplit(':', 1)[-1]}", "quote the value or fix it", line
            )
        ) from None


def _bad_tag(tag: str | None, line: int | None) -> LoadProblem:
    return LoadProblem(
        BAD_TAG,
        f"YAML tag {tag!r} is not allowed",
        "remove the tag; only plain strings, numbers, booleans, null, lists and mappings are read",
        line,
    )


def _syntax(text: str, exc: yaml.MarkedYAMLError) -> LoadProblem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    problem = exc.problem or str(exc)
    if (line and "\t" in _leading_ws(text, line)) or "'\\t'" in problem:
        return LoadProblem(
            TAB_INDENT, "tab character used for indentation", "indent YAML with spaces, never tabs", line
        )
    return LoadProblem(SYNTAX, f"invalid YAML: {problem}", "fix the YAML syntax at that line", line)


def _leading_ws(text: str, line: int) -> str:
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return ""
    row = lines[line - 1]
    return row[: len(row) - len(row.lstrip(" \t"))]


def _line_at(text: str, position: int) -> int:
    return text.count("\n", 0, max(position, 0)) + 1
