"""The one loader for workspace YAML and JSON, with hard limits.

Metadata files come from pull requests, so they are hostile input until proven otherwise:
the loader caps size and nesting, rejects anchors/aliases (alias bombs) and non-standard tags
(`!!python/object`), reports duplicate keys (PyYAML silently keeps the last one) and encoding
problems with their line. It never raises for bad content: problems come back as values so
the doctor can turn each into a finding with its own code.

Block YAML as records are written (one-line scalars, nested mappings, `- ` lists) is read by
strataml.blockyaml, which answers only when it is sure of every value and leaves anything else
here. Here YAML is read as a stream of PyYAML's parser events and assembled without recursion, so
a 10,000-deep document costs 64 frames before it is refused, never a RecursionError. Depth and
the node count are checked on that stream, as each node starts, so a document past a limit
is refused before the rest of it is built. JSON is counted the same way, on its text, before
`json` builds anything.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strataml import blockyaml
from strataml.atomic import read_upto

# PyYAML, imported on the first document blockyaml leaves to it (see _yaml()): importing it costs
# ~15-50 ms, and most runs read only what blockyaml reads.
yaml: Any = None

MAX_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
# Nodes (every scalar, key or value, and every list or mapping) per document. The largest real
# record is a dataset version listing its files at 7 nodes each (a mapping and three key/value
# pairs): the cap leaves room for tens of thousands of files, and it bounds what one hostile file
# costs to parse and hold, since 4 MiB of `k: 0` lines would be 800,000 nodes.
MAX_NODES = 250_000


def data_nodes(value: object) -> int:
    """The nodes `value`, written as YAML, makes for MAX_NODES: each mapping, list and scalar, keys too."""
    if isinstance(value, dict):
        return 1 + sum(1 + data_nodes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return 1 + sum(data_nodes(v) for v in value)
    return 1


# Duplicate keys listed one by one per file; past this, one problem says how many more there are.
MAX_DUPLICATES = 20
# Characters in one integer's text. Python refuses to convert more than 4,300 digits (less if
# the user lowered it, never below 640), and YAML 1.1's base-60 integers ("1:00:00:...") cost
# quadratic time to build. No record needs an integer this long.
MAX_INT_CHARS = 640

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
TOO_MANY_NODES = "TFC0001-E110"

_STD = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_STD + t for t in ("str", "int", "float", "bool", "null")}
_TIMESTAMP = _STD + "timestamp"
_INT = _STD + "int"
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


@dataclass(frozen=True, init=False)  # (init=False: see refs.Ref)
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

    def __init__(
        self,
        data: Any,
        problems: tuple[LoadProblem, ...] = (),
        lines: dict[JsonPath, int] | None = None,
        source: Path | str | None = None,
    ) -> None:
        d = self.__dict__
        d["data"], d["problems"], d["lines"], d["source"] = data, problems, {} if lines is None else lines, source

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


class _NeedLines(Exception):
    """A load without a line map met a problem whose message needs one (a duplicate key)."""


def load_file(path: Path | str, *, lines: bool = True, regular: bool = False) -> Loaded:
    """Load a `.json` file as JSON and anything else as YAML, within the limits.

    `lines=False`: no line map (Loaded.source points back to the file, so line_of() reads it
    again): most records never get a finding, and the map is a sixth of the parse.
    `regular`: the caller's walk found a regular file at `path` (lstat): it is opened without
    a stat by path first, and what was opened is checked as the stat would have been (a cold
    doctor reads 10,000 records: a path's stat is ~3 us of their ~40). A file that cannot be
    opened then is looked at the usual way, which says why.
    """
    path = os.fspath(path)  # a plain string: thousands of records are read per run
    if not regular:
        try:
            st = os.stat(path)
        except OSError as exc:
            return _unreadable(exc, "check the file exists and is readable")
        unfit = _unfit(st)
        if unfit is not None:
            return unfit
    try:
        # Non-blocking: a FIFO that stands there by the time it is opened never hangs the open,
        # and the fstat below refuses it (as it refuses a device or a file grown past the cap).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if regular:
            return load_file(path, lines=lines)  # (gone or locked since the walk: the stat says which)
        return _unreadable(exc, "fix the file's permissions")
    try:
        opened = os.fstat(fd)
        unfit = _unfit(opened)
        raw = read_upto(fd, MAX_BYTES, opened.st_size) if unfit is None else None
    except OSError as exc:
        return _unreadable(exc, "fix the file's permissions")
    finally:
        os.close(fd)
    if unfit is not None:
        return unfit
    if raw is None:  # it grew past the cap after the stat
        return Loaded(None, (_too_large(MAX_BYTES + 1),))
    loaded = load_bytes(raw, json_syntax=path.endswith(".json"), lines=lines)
    return loaded if lines else Loaded(loaded.data, loaded.problems, {}, path)


def load_bytes(raw: bytes, *, json_syntax: bool = False, lines: bool = True, constants: bool = False) -> Loaded:
    """Load YAML (default) or JSON from bytes; never raises for bad content. `constants`: JSON's
    NaN and Infinity, which are not JSON, read as floats (files a plugin wrote, such as its
    metrics, not records: an older run's summary held a NaN its metrics had)."""
    if len(raw) > MAX_BYTES:
        return Loaded(None, (_too_large(len(raw)),))
    try:
        text = _decode(raw)
        if json_syntax:
            return _load_json(text, constants)
        if not lines:
            try:
                return _load_yaml(text, keep_lines=False)
            except _NeedLines:
                pass
        return _load_yaml(text)
    except _Abort as abort:
        return Loaded(None, (abort.problem,))


def _unreadable(exc: OSError, hint: str) -> Loaded:
    return Loaded(None, (LoadProblem(SYNTAX, f"cannot read file: {exc.strerror}", hint),))


def _unfit(st: os.stat_result) -> Loaded | None:
    """Why a file with these facts is not read: not a regular file, or past the size cap."""
    if not stat.S_ISREG(st.st_mode):
        return Loaded(None, (LoadProblem(SYNTAX, "not a regular file", "replace it with a regular file"),))
    if st.st_size > MAX_BYTES:
        return Loaded(None, (_too_large(st.st_size),))
    return None


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


def _load_json(text: str, constants: bool = False) -> Loaded:
    problems: list[LoadProblem] = []
    _json_limits(text)
    duplicates = 0

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal duplicates
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                duplicates += 1
                if duplicates <= MAX_DUPLICATES:
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
        data = json.loads(
            text,
            object_pairs_hook=pairs,
            parse_constant=None if constants else _not_json,
            parse_float=None if constants else _json_float,
        )
    except _NotJson as exc:
        # Python's json reads NaN and Infinity, which are not JSON: another checker refuses them.
        found = next((m for m in _JSON_TOKEN.finditer(text) if m.group(4) == str(exc)), None)
        raise _Abort(
            LoadProblem(
                SYNTAX,
                f"invalid JSON: {exc} "
                + (
                    "is not a JSON value"
                    if str(exc) in ("NaN", "Infinity", "-Infinity")
                    else "is past what a double holds"
                ),
                "write a number (or null where the field allows it); restore the file from git if a tool wrote it",
                text.count("\n", 0, found.start()) + 1 if found else None,
            )
        ) from None
    except json.JSONDecodeError as exc:
        # (json's own words end in "at" where they name the place: "Unterminated string starting at".)
        where = f"line {exc.lineno}, column {exc.colno}"
        said = f"{exc.msg} {where}" if exc.msg.endswith(" at") else f"{exc.msg} at {where}"
        raise _Abort(
            LoadProblem(
                SYNTAX,
                f"invalid JSON: {said}",
                "fix the JSON syntax there, or restore the file from git if a tool wrote it",
                exc.lineno,
            )
        ) from None
    except RecursionError:
        raise _Abort(_too_deep(None)) from None
    except ValueError as exc:  # an integer past Python's own limit that _json_limits let through
        raise _Abort(LoadProblem(SYNTAX, f"invalid JSON: {exc}", "fix the value")) from None
    if duplicates > MAX_DUPLICATES:
        problems.append(_more_duplicates(duplicates - MAX_DUPLICATES))
    return Loaded(data, tuple(problems))


class _NotJson(ValueError):
    """NaN, Infinity or -Infinity where a JSON value belongs."""


def _not_json(name: str) -> Any:
    raise _NotJson(name)


def _json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # (1e999: a number no double holds, read as infinity)
        raise _NotJson(text)
    return value


# JSON tokens that open a node: 1 a string, 2 a list or mapping, 3 its end, 4 any other scalar.
_JSON_TOKEN = re.compile(r'("[^"\\\n]*(?:\\.[^"\\\n]*)*")|([\[{])|([\]}])|([^\s\[\]{},:"]+)')
_JSON_INT = re.compile(r"-?[0-9]+")


def _json_limits(text: str) -> None:
    """Depth, node count and integer length of a JSON text, measured on its tokens before `json`
    builds the document (it builds all of it before anyone can look). One pass that stops at a
    limit; malformed text is left to `json` to report."""
    depth = nodes = 0
    for token in _JSON_TOKEN.finditer(text):
        kind = token.lastindex
        if kind == 3:
            depth -= 1
            continue
        if kind == 2:
            depth += 1
            if depth > MAX_DEPTH:
                raise _Abort(_too_deep(_line_at(text, token.start())))
        nodes += 1
        if nodes > MAX_NODES:
            raise _Abort(_too_many_nodes(_line_at(text, token.start())))
        if kind == 4 and len(token.group()) > MAX_INT_CHARS and _JSON_INT.fullmatch(token.group()):
            raise _Abort(_integer_too_long(len(token.group()), _line_at(text, token.start())))


def _too_deep(line: int | None) -> LoadProblem:
    return LoadProblem(
        TOO_DEEP,
        f"nesting deeper than {MAX_DEPTH} levels",
        "flatten the structure; metadata never needs this depth",
        line,
    )


def _too_many_nodes(line: int | None) -> LoadProblem:
    return LoadProblem(
        TOO_MANY_NODES,
        f"more than {MAX_NODES:,} nodes (keys, values, lists and mappings); the file was not read further",
        "keep metadata small: split a very large dataset into several versions, or bundle many small "
        "files into one archive and record that",
        line,
    )


def _more_duplicates(count: int) -> LoadProblem:
    return LoadProblem(
        DUPLICATE_KEY,
        f"... and {count:,} more duplicate keys",
        "remove the repeated entries; only one value of each key can count",
    )


class _Frame:
    __slots__ = ("flow", "key", "key_line", "obj", "path")

    def __init__(self, obj: Any, path: JsonPath, flow: Any = None) -> None:
        self.obj = obj
        self.path = path
        self.key: str | None = None
        self.key_line = 0
        self.flow = flow  # where a flow collection (`[`, `{`) opened, for a syntax error in it


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


def _load_yaml(text: str, keep_lines: bool = True) -> Loaded:
    plain = blockyaml.parse(text, keep_lines, MAX_NODES, MAX_DEPTH)
    if plain is not None:
        return Loaded(plain[0], (), plain[1])
    return _load_pyyaml(text, keep_lines)


def _load_pyyaml(text: str, keep_lines: bool = True) -> Loaded:
    """Any YAML, through PyYAML's parser events: the reference blockyaml is tested against."""
    global _LOADER
    if _LOADER is None:
        _LOADER = _loader_class()
    loader = _LOADER(text)
    problems: list[LoadProblem] = []
    lines: dict[JsonPath, int] = {}
    stack: list[_Frame] = []
    root: list[Any] = []
    duplicates = [0]  # beyond MAX_DUPLICATES: counted, not listed
    documents = nodes = 0
    get_event = loader.get_event
    ev: Any = None  # the last event read: a syntax error's message may need it
    scalar_event, mapping_end, sequence_end = yaml.ScalarEvent, yaml.MappingEndEvent, yaml.SequenceEndEvent
    try:
        while True:
            ev = get_event()
            cls = type(ev)
            if cls is scalar_event:  # most events: checked first, by identity, and placed inline
                nodes += 1
                if nodes > MAX_NODES:
                    raise _Abort(_too_many_nodes(ev.start_mark.line + 1))
                if ev.anchor:
                    raise _Abort(_alias(ev.start_mark.line + 1))
                if not stack:
                    root.append(_scalar(loader, ev))
                    lines[()] = ev.start_mark.line + 1
                    continue
                top = stack[-1]
                obj = top.obj
                if type(obj) is dict:
                    key = top.key
                    if key is None:
                        # A mapping key is its source text (`yes:` or `1:` stay strings, as JSON
                        # Schema expects): never resolved, but its tag is still checked.
                        if ev.tag not in (None, "!") and ev.tag not in _SCALAR_TAGS:
                            raise _Abort(_bad_tag(ev.tag, ev.start_mark.line + 1))
                        top.key, top.key_line = ev.value, ev.start_mark.line + 1
                        continue
                    top.key = None
                    if key in obj:
                        if not keep_lines:
                            raise _NeedLines
                        _duplicate(top, key, lines, problems, duplicates)
                    elif keep_lines:
                        lines[top.path + (key,)] = top.key_line
                    obj[key] = _scalar(loader, ev)
                else:
                    if keep_lines:
                        lines[top.path + (len(obj),)] = ev.start_mark.line + 1
                    obj.append(_scalar(loader, ev))
                continue
            if cls is mapping_end or cls is sequence_end:
                stack.pop()
                continue
            if ev is None or cls is yaml.StreamEndEvent:
                break
            line = ev.start_mark.line + 1 if ev.start_mark else None
            if cls is yaml.MappingStartEvent or cls is yaml.SequenceStartEvent:
                if ev.anchor:
                    raise _Abort(_alias(line))
                if ev.tag not in _COLLECTION_TAGS:
                    raise _Abort(_bad_tag(ev.tag, line))
                if len(stack) >= MAX_DEPTH:
                    raise _Abort(_too_deep(line))
                nodes += 1
                if nodes > MAX_NODES:
                    raise _Abort(_too_many_nodes(line))
                obj = {} if cls is yaml.MappingStartEvent else []
                path = _attach(stack, root, obj, line, lines if keep_lines else None, problems, duplicates)
                stack.append(_Frame(obj, path, ev.start_mark if ev.flow_style else None))
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
                raise _Abort(_alias(line))
    except (_Abort, _NeedLines):
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
        raise _Abort(_syntax(text, exc, ev, stack[-1].flow if stack else None)) from None
    except yaml.YAMLError as exc:
        raise _Abort(LoadProblem(SYNTAX, f"invalid YAML: {exc}", "fix the YAML syntax")) from None
    finally:
        loader.dispose()
    if duplicates[0] > MAX_DUPLICATES:
        problems.append(_more_duplicates(duplicates[0] - MAX_DUPLICATES))
    return Loaded(root[0] if root else None, tuple(problems), lines)


def _alias(line: int | None) -> LoadProblem:
    return LoadProblem(
        ALIAS, "YAML anchors and aliases are not allowed", "write the value out in full where it is used", line
    )


def _attach(
    stack: list[_Frame],
    root: list[Any],
    obj: Any,
    line: int | None,
    lines: dict[JsonPath, int] | None,
    problems: list[LoadProblem],
    duplicates: list[int],
) -> JsonPath:
    """Place a new list or mapping under its parent and return its path (`lines`: None, no line map)."""
    if not stack:
        root.append(obj)
        if lines is not None:
            lines[()] = line or 1
        return ()
    top = stack[-1]
    if type(top.obj) is list:
        path = top.path + (len(top.obj),)
        top.obj.append(obj)
        if lines is not None:
            lines[path] = line or 0
        return path
    key = top.key
    if key is None:
        raise _Abort(
            LoadProblem(SYNTAX, "complex (non-scalar) mapping keys are not supported", "use plain text keys", line)
        )
    top.key = None
    path = top.path + (key,)
    if key in top.obj:
        if lines is None:
            raise _NeedLines
        _duplicate(top, key, lines, problems, duplicates)
    elif lines is not None:
        lines[path] = top.key_line
    top.obj[key] = obj
    return path


def _duplicate(
    top: _Frame, key: str, lines: dict[JsonPath, int], problems: list[LoadProblem], duplicates: list[int]
) -> None:
    duplicates[0] += 1
    if duplicates[0] <= MAX_DUPLICATES:
        problems.append(
            LoadProblem(
                DUPLICATE_KEY,
                f"duplicate key {key!r} (first at line {lines.get(top.path + (key,), '?')})",
                "remove one of the two entries; only one value can count",
                top.key_line,
            )
        )


_PLAIN: dict[tuple[str, tuple[bool, bool]], Any] = {}
_UNSEEN = object()


def _scalar(loader: Any, ev: yaml.ScalarEvent) -> Any:
    tag = ev.tag
    if tag in (None, "!"):
        # Keys and values repeat across thousands of records, and a plain scalar's value
        # depends on its text alone, so short ones are remembered (bounded).
        key = (ev.value, ev.implicit)
        value = _PLAIN.get(key, _UNSEEN)
        if value is _UNSEEN:
            value = _construct(loader, ev, loader.resolve(yaml.ScalarNode, ev.value, ev.implicit))
            if len(ev.value) <= 32:  # keys and short values repeat; digests never do
                if len(_PLAIN) > 20_000:
                    _PLAIN.clear()
                _PLAIN[key] = value
        return value
    if tag not in _SCALAR_TAGS:
        raise _Abort(_bad_tag(tag, ev.start_mark.line + 1))
    return _construct(loader, ev, tag)


def _construct(loader: Any, ev: yaml.ScalarEvent, tag: str) -> Any:
    text = ev.value
    if tag == _TIMESTAMP or tag == _STD + "str" or tag not in _SCALAR_TAGS:
        # Times stay text: records compare and validate them as RFC 3339 strings.
        return text
    if tag == _INT and len(text) > MAX_INT_CHARS:
        raise _Abort(_integer_too_long(len(text), ev.start_mark.line + 1))
    if tag == _INT and text.isascii() and text.isdigit() and (text[0] != "0" or len(text) == 1):
        return int(text)  # the common case; YAML 1.1's octal, hex, '_' and sexagesimal go to PyYAML
    node = yaml.ScalarNode(tag, text, ev.start_mark, ev.end_mark, ev.style)
    try:
        return loader.construct_object(node)
    except (ValueError, yaml.YAMLError):
        raise _Abort(
            LoadProblem(
                SYNTAX,
                f"cannot read {text!r} as {tag.rsplit(':', 1)[-1]}",
                "quote the value or fix it",
                ev.start_mark.line + 1,
            )
        ) from None


def _integer_too_long(length: int, line: int) -> LoadProblem:
    return LoadProblem(
        SYNTAX,
        f"integer too long: {length:,} characters; integers are capped at {MAX_INT_CHARS}",
        "quote the value to keep it as text, or shorten it",
        line,
    )


def _bad_tag(tag: str | None, line: int | None) -> LoadProblem:
    return LoadProblem(
        BAD_TAG,
        f"YAML tag {tag!r} is not allowed",
        "remove the tag; only plain strings, numbers, booleans, null, lists and mappings are read",
        line,
    )


def _syntax(text: str, exc: yaml.MarkedYAMLError, last: Any = None, flow: Any = None) -> LoadProblem:
    """`exc` in words, at the line where it is best fixed. `last`: the last event read before it;
    `flow`: where the innermost flow collection open at that point started (None: none is)."""
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    problem = exc.problem or str(exc)
    if "nesting depth" in problem:
        # libyaml 0.2.6 (in PyYAML 6.0.4's wheels) stops at 1,000 levels while its scanner looks
        # ahead through a flow collection, before the parser has handed us those levels.
        return _too_deep(line)
    if (line and "\t" in _leading_ws(text, line)) or "'\\t'" in problem:
        # (First, as before the unclosed-bracket hint: a finding's code and message are what a
        # baseline holds.)
        return LoadProblem(
            TAB_INDENT, "tab character used for indentation", "indent YAML with spaces, never tabs", line
        )
    unclosed = _unclosed(text, exc, last, flow)
    if unclosed is not None:
        return unclosed
    return LoadProblem(SYNTAX, f"invalid YAML: {problem}", "fix the YAML syntax at that line", line)


# Errors whose context mark is where a `[`, `{` or quote opened (the same words in libyaml and
# in PyYAML's own parser).
_OPENED_AT = ("while parsing a flow sequence", "while parsing a flow mapping", "while scanning a quoted scalar")
_OPENER = {"[": ("list", "]"), "{": ("mapping", "}"), '"': ("text", '"'), "'": ("text", "'")}
# A line that starts a key or a list item: quoted text that runs over one has swallowed it.
_KEY_LINE = re.compile(r"\s*(?:- |[^\s#'\"-][^:#]*:(?: |$))")


def _unclosed(text: str, exc: yaml.MarkedYAMLError, last: Any, flow: Any) -> LoadProblem | None:
    """A `[`, `{` or quote left open, told at the line where it opened: the parser stops where
    the text stopped making sense, often lines later, and names that line alone. libyaml and
    PyYAML's own parser word these errors differently: the hint here is the same for both. (The
    message stays the parser's, as before: a baseline's fingerprint holds its words.)"""
    at = exc.problem_mark
    if at is None:
        return None
    said = f"invalid YAML: {exc.problem or exc}"
    after = _after(text, at)
    ended = not after.strip()  # nothing but blanks follows: the parser met the end of the file
    if (
        type(last) is yaml.ScalarEvent
        and last.style in ('"', "'")
        and last.end_mark.line == at.line
        and last.start_mark.line < at.line
        and any(
            _KEY_LINE.match(row) for row in text[_offset(text, last.start_mark) : _offset(text, at)].split("\n")[1:]
        )
    ):
        # A quote closed only by the next quote further down (`a: "x` then `b: "y"`): the
        # quoted text swallowed the lines between, and the YAML breaks right after it.
        return LoadProblem(
            SYNTAX,
            said,
            f"the text quoted with {last.style!r} on line {last.start_mark.line + 1} is not closed on that line "
            f"(a quote on line {at.line + 1} closes it): add the closing quote on that line",
            last.start_mark.line + 1,
        )
    if exc.context in _OPENED_AT and exc.context_mark is not None:
        opened = exc.context_mark
        if exc.context.endswith("quoted scalar") and not ended:
            return None  # (a bad escape in a quoted text, say: told where it is)
    elif flow is not None and ended:
        opened = flow  # the file ended inside a flow collection (`key: [` as its last line)
    else:
        return None
    opener = _after(text, opened)[:1]
    if opener not in _OPENER:
        return None
    noun, closer = _OPENER[opener]
    if ended:
        found = "found the end of the file"
    else:
        token = after.split(None, 1)[0]
        token = token if len(token) <= 20 else token[:20] + "..."
        found = f"found {token!r}" + ("" if at.line == opened.line else f" on line {at.line + 1}")
    how = f"opened with {opener!r}" if noun != "text" else f"quoted with {opener!r}"
    return LoadProblem(
        SYNTAX,
        said,
        f"the {noun} {how} on line {opened.line + 1} is not closed ({found}): add the missing {closer!r} where "
        f"the {noun} ends",
        opened.line + 1,
    )


def _after(text: str, mark: Any) -> str:
    """The text from `mark` to the end ("" past the end)."""
    return text[_offset(text, mark) :]


def _offset(text: str, mark: Any) -> int:
    """Where `mark` is in `text`: its index (both parsers count characters), checked against its
    line; else found from its line and column."""
    index = mark.index
    if 0 <= index <= len(text) and (text.isascii() or text.count("\n", 0, index) == mark.line):
        return int(index)
    rows = text.split("\n", mark.line)
    return len(text) if len(rows) <= mark.line else len(text) - len(rows[-1]) + mark.column


def _leading_ws(text: str, line: int) -> str:
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return ""
    row = lines[line - 1]
    return row[: len(row) - len(row.lstrip(" \t"))]


def _line_at(text: str, position: int) -> int:
    return text.count("\n", 0, max(position, 0)) + 1
