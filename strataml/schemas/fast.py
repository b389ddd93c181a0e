"""A yes/no validator compiled from our own schemas, for the common case: a valid document.

jsonschema takes about a millisecond per record, which dominates a cold doctor on thousands
of records. This compiles the keywords our schemas use into closures; it answers only "valid
or not". When it says "not" (or meets a keyword it does not know), the caller asks jsonschema
for the detailed messages, so it never has to word an error. A differential test keeps the
two in agreement.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]
_IGNORED = {"$schema", "$id", "$comment", "title", "description", "$defs", "default", "examples"}


def _exists(text: str) -> bool:
    """Whether a time in the grammar names an instant that exists; text outside the grammar is the
    pattern's to refuse (one message, not two)."""
    from strataml.times import parse_time

    if not isinstance(text, str):
        return True  # a format says nothing of other types (the schema's type does)
    return parse_time(text) is not None or _grammar().search(text) is None


def _grammar() -> re.Pattern[str]:
    global _GRAMMAR
    if _GRAMMAR is None:
        from strataml.schemas import raw_schema

        _GRAMMAR = re.compile(raw_schema("common")["$defs"]["timestamp_text"]["pattern"])
    return _GRAMMAR


_GRAMMAR: re.Pattern[str] | None = None


# The formats our schemas assert (jsonschema is given the same checks: schemas.validator). Any other
# format is an annotation only, as JSON Schema 2020-12 has it by default.
FORMATS: dict[str, Callable[[str], bool]] = {"strataml-time": _exists}


class Unsupported(Exception):
    """The schema uses a keyword this compiler does not handle: use jsonschema alone."""


def _is_type(value: Any, name: str) -> bool:
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if name == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    raise Unsupported(f"type {name}")


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return a == b


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: _is_type(v, "integer"),
    "number": lambda v: _is_type(v, "number"),
}


def _every(checks: list[Check]) -> Check:
    """All of `checks`; a plain loop (a generator per call costs more than the checks)."""

    def run(v: Any) -> bool:
        for check in checks:
            if not check(v):
                return False
        return True

    return run


def _true(v: Any) -> bool:
    return True


# Keywords a fused check below takes over from their separate closures (the common shapes: a
# mapping with known keys, a string with a pattern). A record passes through ~40 schema nodes.
_OBJECT_WORDS = {"type", "properties", "required", "additionalProperties", "patternProperties"}
_STRING_WORDS = {"type", "pattern", "minLength", "maxLength"}


def _fused(node: dict[str, Any], build: Callable[[Any], Check]) -> tuple[Check | None, set[str]]:
    """One closure for a node's object or string keywords, and the keywords it covers."""
    kind = node.get("type")
    if kind == "object" or (kind is None and "properties" in node):
        # patternProperties apply to declared keys too: which patterns match a declared key is
        # known now, so only undeclared keys are matched against them at run time.
        patterns = [(re.compile(p), build(sub)) for p, sub in node.get("patternProperties", {}).items()]
        props: dict[str, Check] = {}
        for k, sub in node.get("properties", {}).items():
            every = [build(sub), *(check for rx, check in patterns if rx.search(k))]
            props[k] = every[0] if len(every) == 1 else _every(every)
        required = tuple(node.get("required", ()))
        extra = node.get("additionalProperties", True)
        closed = extra is False
        other = None if extra in (True, False) else build(extra)
        typed = kind == "object"

        def mapping(v: Any) -> bool:
            if not isinstance(v, dict):
                return not typed
            for k in required:
                if k not in v:
                    return False
            for k, x in v.items():
                check = props.get(k)
                if check is not None:
                    if not check(x):
                        return False
                    continue
                matched = False
                if patterns and isinstance(k, str):
                    for rx, check in patterns:
                        if rx.search(k):
                            matched = True
                            if not check(x):
                                return False
                if not matched and (closed or (other is not None and not other(x))):
                    return False
            return True

        return mapping, _OBJECT_WORDS & node.keys()
    if kind == "string" and "pattern" in node:
        rx = re.compile(node["pattern"])
        low, high = node.get("minLength", 0), node.get("maxLength")

        def string(v: Any) -> bool:
            return (
                isinstance(v, str) and low <= len(v) and (high is None or len(v) <= high) and rx.search(v) is not None
            )

        return string, _STRING_WORDS & node.keys()
    return None, set()


def compile_schema(schema: dict[str, Any], resolve: Callable[[str], dict[str, Any]]) -> Check:
    """`resolve` turns a $ref into the schema it names."""
    cache: dict[int, list[Check]] = {}
    built: dict[int, Check] = {}

    def build(node: Any) -> Check:
        if node is True:
            return _true
        if node is False:
            return lambda v: False
        key = id(node)
        if key in built:
            return built[key]
        if key in cache:  # a recursive $ref to a node still being built: its list, bound late
            return _every(cache[key])
        checks: list[Check] = []
        cache[key] = checks
        fused, covered = _fused(node, build)
        if fused is not None:
            checks.append(fused)
        for word, arg in node.items():
            if word in _IGNORED or word in covered:
                continue
            checks.append(keyword(word, arg, node))
        # A node of one check is that check: a `$ref` costs no call of its own.
        built[key] = _true if not checks else checks[0] if len(checks) == 1 else _every(checks)
        return built[key]

    def keyword(word: str, arg: Any, node: dict[str, Any]) -> Check:
        if word == "$ref":
            return build(resolve(arg))
        if word == "type":
            names = arg if isinstance(arg, list) else [arg]
            for n in names:
                _is_type(None, n)  # unknown type names raise Unsupported now, not at run time
            if len(names) == 1:
                return _TYPES[names[0]]
            return lambda v: any(_is_type(v, n) for n in names)
        if word == "enum":
            if all(isinstance(x, str) for x in arg):
                allowed = frozenset(arg)  # strings compare exactly: a set answers at once
                return lambda v: isinstance(v, str) and v in allowed
            return lambda v: any(_equal(v, x) for x in arg)
        if word == "const":
            return lambda v: _equal(v, arg)
        if word == "properties":
            props = [(k, build(s)) for k, s in arg.items()]

            def properties(v: Any) -> bool:
                if isinstance(v, dict):
                    for k, check in props:
                        if k in v and not check(v[k]):
                            return False
                return True

            return properties
        if word == "required":
            return lambda v: not isinstance(v, dict) or all(k in v for k in arg)
        if word == "patternProperties":
            matched = [(re.compile(p), build(sub)) for p, sub in arg.items()]
            return lambda v: (
                not isinstance(v, dict)
                or all(check(v[k]) for k in v if isinstance(k, str) for rx, check in matched if rx.search(k))
            )
        if word == "additionalProperties":
            known = set(node.get("properties", {}))
            patterns = [re.compile(p) for p in node.get("patternProperties", {})]
            if arg is False and patterns:
                return lambda v: (
                    not isinstance(v, dict)
                    or all(k in known or (isinstance(k, str) and any(rx.search(k) for rx in patterns)) for k in v)
                )
            if patterns:
                raise Unsupported("patternProperties with an additionalProperties schema")
            if arg is False:
                return lambda v: not isinstance(v, dict) or known.issuperset(v)
            extra = build(arg)
            return lambda v: not isinstance(v, dict) or all(extra(v[k]) for k in v if k not in known)
        if word == "propertyNames":
            name_check = build(arg)
            return lambda v: not isinstance(v, dict) or all(name_check(k) for k in v)
        if word == "items":
            each_item = build(arg)

            def items(v: Any) -> bool:
                if isinstance(v, list):
                    for x in v:
                        if not each_item(x):
                            return False
                return True

            return items
        if word == "minItems":
            return lambda v: not isinstance(v, list) or len(v) >= arg
        if word == "uniqueItems":
            return lambda v: (
                not arg
                or not isinstance(v, list)
                or all(not _equal(v[i], v[j]) for i in range(len(v)) for j in range(i))
            )
        if word == "minLength":
            return lambda v: not isinstance(v, str) or len(v) >= arg
        if word == "maxLength":
            return lambda v: not isinstance(v, str) or len(v) <= arg
        if word == "format":
            asserted = FORMATS.get(arg)
            if asserted is None:
                return lambda v: True
            return lambda v: not isinstance(v, str) or asserted(v)
        if word == "pattern":
            rx = re.compile(arg)
            return lambda v: not isinstance(v, str) or rx.search(v) is not None
        if word == "minimum":
            return lambda v: not _number(v) or v >= arg
        if word == "maximum":
            return lambda v: not _number(v) or v <= arg
        if word == "exclusiveMinimum":
            return lambda v: not _number(v) or v > arg
        if word == "exclusiveMaximum":
            return lambda v: not _number(v) or v < arg
        if word == "oneOf":
            options = [build(s) for s in arg]
            return lambda v: sum(1 for o in options if o(v)) == 1
        if word == "anyOf":
            options = [build(s) for s in arg]
            return lambda v: any(o(v) for o in options)
        if word == "not":
            inner = build(arg)
            return lambda v: not inner(v)
        if word == "allOf":
            parts = [build(s) for s in arg]
            return lambda v: all(p(v) for p in parts)
        if word == "if":
            cond, then = build(arg), build(node.get("then", True))
            other = build(node.get("else", True))
            return lambda v: then(v) if cond(v) else other(v)
        if word in ("then", "else"):
            return lambda v: True  # evaluated with "if"
        raise Unsupported(word)

    return build(schema)
