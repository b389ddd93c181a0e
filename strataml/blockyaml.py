"""Block YAML as StrataML (and most people) write it, read without PyYAML.

A record is a block mapping of one-line scalars, nested mappings and `- ` lists. PyYAML reads
one in ~40 us, most of it building a parser event per node in Python; reading the lines here
takes about half, and a run that reads only such files never imports PyYAML. `parse` answers
only when every line is in that subset and its meaning is certain; for anything else it
returns None and the loader parses the text with PyYAML, whose answer (and any problem it
reports) stands. Falling back is always correct, so the subset is kept narrow: ASCII text
without tabs or control characters; keys of letters, digits and `_./+-`; plain scalars whose
YAML 1.1 type is plainly a string, a decimal integer, a float in its simple form, a boolean or
null; single-quoted scalars and double-quoted ones without escapes, on one line; `[]` and
`{}`. Flow collections, multi-line and block scalars, anchors, aliases, tags, directives,
document markers, a duplicate key, rarer number forms (octal, hex, `_`, base 60, `.inf`),
unquoted timestamps, and a document near the loader's depth or node limits all fall back.
tests/test_blockyaml.py compares both parsers on generated documents.
"""

from __future__ import annotations

import re
from typing import Any

JsonPath = tuple[str | int, ...]

# Longer integers are left to the loader, which caps their length (YAML 1.1's 64-bit range and more).
MAX_INT_DIGITS = 18
# Longer values are left to PyYAML too: records' values are short, and the patterns here would
# spend up to a second on a hostile 4 MiB one (an unterminated quote) where libyaml takes 0.04 s.
MAX_VALUE_CHARS = 1024

_KEY = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_./+-]{0,127}):(?: +(.*))?$")
_UNSUPPORTED_CHAR = re.compile(r"[^\n -~]")  # anything but newline and printable ASCII
_SINGLE = re.compile(r"'((?:[^']|'')*)'(?: *| +#.*)")
_DOUBLE = re.compile(r'"([^"\\]*)"(?: *| +#.*)')
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?[0-9]+\.[0-9]*(?:[eE][-+][0-9]+)?")
_RADIX = re.compile(r"0(?:x[0-9a-fA-F_]+|b[01_]+)")
# Every character YAML 1.1's int, float and timestamp forms can hold after a leading digit
# (0x and 0b aside): a digit-led scalar with any other character is a string.
_NOT_NUMERIC = re.compile(r"[^0-9_.:+\- eEtTZ]")
_DOTTED = re.compile(r"[0-9]+(?:\.[0-9]+){2,}")  # a version such as 1.9.1: no number form matches
_WORDS: dict[str, Any] = {"~": None, "null": None, "Null": None, "NULL": None}
_WORDS.update(dict.fromkeys(("yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True))
_WORDS.update(dict.fromkeys(("no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False))
_STRING_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_/")
_NUMBER_START = frozenset("0123456789+-")

_UNSURE = object()
_SEEN: dict[str, Any] = {}  # a value's text (as the line holds it) -> its value, for short ones


class _Unsure(Exception):
    """The text is outside the subset: PyYAML reads it."""


def parse(
    text: str, keep_lines: bool, max_nodes: int, max_depth: int
) -> tuple[dict[str, Any], dict[JsonPath, int]] | None:
    """The document and its line map (1-based lines of each key and list item, as the loader
    gives them), or None when the text is not plainly in the subset. A document that could
    come near the loader's limits (`max_nodes`, `max_depth`) is left to it, to count exactly."""
    # A line holds at most three nodes: an item's mapping, a key, a value.
    if (
        max_depth < 2  # the root and an empty `[]` or `{}` in it
        or not text.isascii()
        or _UNSUPPORTED_CHAR.search(text)
        or 3 * text.count("\n") + 4 > max_nodes
    ):
        return None
    try:
        return _parse(text, keep_lines, max_depth)
    except _Unsure:
        return None


def _parse(text: str, keep_lines: bool, max_depth: int) -> tuple[dict[str, Any], dict[JsonPath, int]] | None:
    root: dict[str, Any] = {}
    lines: dict[JsonPath, int] = {}
    # Open blocks, outermost first: (column, container, is a mapping, path). Paths are made only
    # for the line map; without it every path stays ().
    stack: list[tuple[int, Any, bool, JsonPath]] = [(0, root, True, ())]
    column, block, is_map, path = stack[-1]
    pending: tuple[dict[str, Any], str, JsonPath] | None = None  # `key:` with its value below
    seen, unsure = _SEEN, _UNSURE
    for number, line in enumerate(text.split("\n"), 1):
        content = line.lstrip(" ")
        if not content or content[0] == "#":
            continue
        indent = len(line) - len(content)
        dash = content[0] == "-" and content[1:2] in (" ", "")  # a list item
        if pending is not None:
            parent, key, below = pending
            pending = None
            if indent > column or (indent == column and dash):
                nested: Any = [] if dash else {}
                parent[key] = nested
                stack.append((indent, nested, not dash, below))
                if len(stack) >= max_depth:
                    return None
                column, block, is_map, path = stack[-1]
        if indent != column:
            # Back out to the block at this column. A line indented past its block continues a
            # scalar (or is an error): left to PyYAML, as is a column no open block is at.
            while indent < column:
                stack.pop()
                column, block, is_map, path = stack[-1]
            if indent != column:
                return None
        found = None
        if not is_map:
            if not dash:
                # An indentless list (`key:` then `- ...` at the key's column) ends at its
                # mapping's next key; any other list cannot be followed at its own column.
                stack.pop()
                column, block, is_map, path = stack[-1]
                if not is_map or column != indent:
                    return None
            else:
                content = content[1:].lstrip(" ")
                if not content or content[0] == "-":
                    return None  # a nested list, a value on the next lines, or a plain `-x`
                item = (*path, len(block)) if keep_lines else path
                if keep_lines:
                    lines[item] = number
                found = _KEY.match(content)
                if found is None:
                    value = seen.get(content, unsure)
                    block.append(_value(content) if value is unsure else value)
                    continue
                # `- key: value` opens a mapping at the key's column
                mapping: dict[str, Any] = {}
                block.append(mapping)
                stack.append((len(line) - len(content), mapping, True, item))
                if len(stack) >= max_depth:
                    return None
                column, block, is_map, path = stack[-1]
        if found is None:
            found = _KEY.match(content)
            if found is None:
                return None
        key, rest = found.groups()
        if key in block:
            return None  # a duplicate: the loader's PyYAML path reports it
        if keep_lines:
            lines[(*path, key)] = number
        if not rest or rest[0] == "#":
            block[key] = None  # placed now so keys keep their order; a block below replaces it
            pending = (block, key, (*path, key) if keep_lines else path)
            continue
        value = seen.get(rest, unsure)
        block[key] = _value(rest) if value is unsure else value
    if not root:
        return None
    if keep_lines:
        lines[()] = lines[(next(iter(root)),)]  # the root mapping starts at its first key
    return root, lines


def _value(text: str) -> Any:
    """One line's scalar (or empty flow collection), from its first character to the line's end."""
    if len(text) > MAX_VALUE_CHARS:
        raise _Unsure
    first = text[0]
    if first == "'":
        quoted = _SINGLE.fullmatch(text)
        if quoted is None:
            raise _Unsure
        value: Any = quoted.group(1).replace("''", "'")
    elif first == '"':
        quoted = _DOUBLE.fullmatch(text)
        if quoted is None:
            raise _Unsure
        value = quoted.group(1)
    else:
        cut = text.find(" #")
        plain = (text if cut < 0 else text[:cut]).rstrip(" ")
        if plain == "[]":
            return []  # new each time: never remembered
        if plain == "{}":
            return {}
        if ": " in plain or plain[-1] == ":":
            raise _Unsure  # a mapping where a scalar was expected: an error PyYAML words
        value = _WORDS.get(plain, _UNSURE)
        if value is _UNSURE:
            if first in _STRING_START:
                value = plain
            elif first in _NUMBER_START:
                value = _number(plain)
            else:
                raise _Unsure
    if len(text) <= 40:  # keys' values repeat across records; digests never do
        if len(_SEEN) > 20_000:
            _SEEN.clear()
        _SEEN[text] = value
    return value


def _number(plain: str) -> Any:
    """A plain scalar that starts with a digit or a sign: the number it is, or a string when no
    YAML 1.1 number or timestamp form can match it."""
    if _INT.fullmatch(plain):
        if len(plain) > MAX_INT_DIGITS:
            raise _Unsure
        return int(plain)
    if _FLOAT.fullmatch(plain):
        return float(plain)
    digits = plain[1:] if plain[0] in "+-" else plain
    if not digits or not digits[0].isdigit() or _RADIX.fullmatch(digits):
        raise _Unsure
    if _NOT_NUMERIC.search(digits) or _DOTTED.fullmatch(digits):
        return plain
    raise _Unsure
