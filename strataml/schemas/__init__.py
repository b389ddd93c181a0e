"""The packaged JSON Schemas: the one source of truth for every metadata file kind.

`strataml schema KIND` prints them for editors; the TFC documents refer to them by kind.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

# Schema problems collected per document; past this, checking stops and one more issue says so.
MAX_ISSUES = 100

KINDS = (
    "workspace",
    "dataset",
    "experiment",
    "run",
    "model",
    "gate",
    "ledger-entry",
    "index",
    "keys",
    "diff",
    "federation",
)
_BASE = "https://strataml.dev/schemas/"


@dataclass(frozen=True)
class SchemaIssue:
    """One way a document breaks its schema; `path` points into the document."""

    path: tuple[str | int, ...]
    message: str
    # What to do, beside the caller's hint ("did you mean 'split'?"): never in the message, whose
    # words a baseline's fingerprint holds, and which must not change as the advice gets better.
    advice: str = ""


def advised(issue: SchemaIssue, hint: str) -> str:
    """A finding's hint for `issue`: its advice first ("did you mean 'split'?"), then `hint`."""
    return f"{issue.advice}; {hint}" if issue.advice else hint


def schema_id(kind: str) -> str:
    """The value a document's `schema:` field carries for `kind`, e.g. strataml/run/v1."""
    return f"strataml/{kind}/v1"


# Record kinds that may declare a minor version (strataml/run/v1.2): additive fields a later
# StrataML writes. Configuration (strataml.yaml, keys.yaml) and evidence (ledger entries, gate
# receipts, the index) have none: an old doctor must never ignore policy it cannot read.
MINOR_KINDS = ("dataset", "experiment", "run", "model")
KNOWN_MINOR = 0  # the newest minor of v1 this StrataML knows, for every kind in MINOR_KINDS


def minor_of(kind: str, declared: object) -> int | None:
    """The minor version `declared` names for `kind` (strataml/run/v1 is 0, v1.3 is 3); None when
    it names no version 1 of that kind."""
    if not isinstance(declared, str) or kind not in MINOR_KINDS:
        return 0 if declared == schema_id(kind) else None
    prefix = schema_id(kind)
    if declared == prefix:
        return 0
    rest = declared[len(prefix) :] if declared.startswith(prefix + ".") else ""
    digits = rest[1:]
    if digits.isascii() and digits.isdigit() and len(digits) <= 6 and (digits == "0" or not digits.startswith("0")):
        return int(digits)
    return None


@cache
def known_fields(kind: str) -> frozenset[str]:
    """The top-level fields the schema of `kind` defines (what a newer minor's record is judged by)."""
    return frozenset(raw_schema(kind).get("properties", {}))


# The schema files beside this module (a plain path: importlib.resources costs ~45 ms of imports
# on every run, and StrataML is never imported from a zip).
_FOLDER = Path(__file__).parent


def schema_bytes(kind: str) -> bytes:
    if kind not in KINDS and kind != "common":
        raise KeyError(kind)
    return (_FOLDER / f"{kind}.schema.json").read_bytes()


def raw_schema(kind: str) -> dict[str, Any]:
    return json.loads(schema_bytes(kind))


@cache
def _registry() -> Any:
    from referencing import Registry, Resource

    pairs = [(_BASE + f"{k}.schema.json", Resource.from_contents(raw_schema(k))) for k in (*KINDS, "common")]
    return Registry().with_resources(pairs)


@cache
def validator(kind: str) -> Any:
    # jsonschema is imported on first use: a warm doctor takes its verdicts from the cache.
    from jsonschema import FormatChecker

    from strataml.schemas.fast import FORMATS

    checker = FormatChecker(formats=())
    for name, check in FORMATS.items():
        checker.checks(name)(check)
    return _bounded()(raw_schema(kind), registry=_registry(), format_checker=checker)


@cache
def _bounded() -> Any:
    """Draft 2020-12 where NaN meets no bound. jsonschema compares `nan < 0` (False) and finds
    nothing wrong with `split.train: .nan`; the compiled check (fast) refuses it, and validate()
    returned no issue for a document it knew was invalid."""
    from jsonschema import Draft202012Validator, ValidationError
    from jsonschema.validators import extend

    def bound(word: str) -> Any:
        keep = Draft202012Validator.VALIDATORS[word]

        def check(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
            if isinstance(instance, float) and instance != instance:
                # (one wording for every bound: a field with two says it once, validate() dedupes)
                yield ValidationError("nan (YAML's .nan) is not a number; write one within the schema's bounds")
                return
            yield from keep(validator, value, instance, schema)

        return check

    return extend(Draft202012Validator, {word: bound(word) for word in _BOUNDS})


_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


@cache
def _fast(kind: str) -> Any:
    from strataml.schemas.fast import Unsupported, compile_schema

    common, schema = raw_schema("common"), raw_schema(kind)
    own = schema.get("$defs", {})
    loaded: dict[str, Any] = {}

    def resolve(ref: str) -> dict[str, Any]:
        where, _, pointer = ref.partition("#")
        other = where.removesuffix(".schema.json")
        if other in KINDS and pointer.startswith("/"):  # another kind's part (the federation's index fields)
            # Loaded once: the compiler caches by the identity of each part it is given.
            if other not in loaded:
                loaded[other] = raw_schema(other)
            target: Any = loaded[other]
            for part in pointer[1:].split("/"):
                target = target[part]
            return target
        if where not in ("", "common.schema.json") or not pointer.startswith("/$defs/"):
            raise Unsupported(ref)
        name = pointer[len("/$defs/") :]
        # Only common.schema.json has $defs, and its own refs are local ones: "" means common too.
        return own[name] if where == "" and name in own else common["$defs"][name]

    try:
        return compile_schema(schema, resolve)
    except Unsupported:
        return None


def plainly_valid(kind: str, document: Any) -> bool:
    """Whether the compiled check finds `document` valid (then validate() is []); False says
    only that validate() has to look (without jsonschema, which a helper process never imports)."""
    fast = _fast(kind)
    return fast is not None and bool(fast(document))


def validate(kind: str, document: Any) -> list[SchemaIssue]:
    """All schema violations of `document`, most specific first, in document order."""
    if plainly_valid(kind, document):
        return []  # the compiled check agrees with jsonschema on valid documents (tested)
    issues = []
    for err in validator(kind).iter_errors(document):
        issues.extend(_leaves(err))
        if len(issues) >= MAX_ISSUES:  # a hostile file can break its schema 100,000 times
            issues.append(SchemaIssue((), f"document: checking stopped after {len(issues)} schema problems"))
            break
    issues.sort(key=lambda i: [str(p) for p in i.path])
    seen: set[tuple[tuple[str | int, ...], str]] = set()
    unique = []
    for issue in issues:
        key = (issue.path, issue.message)
        if key not in seen:
            seen.add(key)
            unique.append(issue)
    return unique


def _leaves(err: Any) -> list[SchemaIssue]:
    # oneOf/anyOf errors are useless at the top ("is not valid under any of the given schemas");
    # the best-matching branch says what is actually wrong.
    if err.context:
        from jsonschema.exceptions import best_match

        return _leaves(best_match(err.context))
    path = tuple(err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        # The message names the mapping (`data: Additional properties ...`); the issue points at
        # its first unexpected key, so the line given is the key's own, not the mapping's.
        extra = _unexpected(err.schema, err.instance)
        if extra:
            path += (extra[0],)
    said, advice = _describe(err)
    why = err.schema.get("$comment") if isinstance(err.schema, dict) else None
    # (A rule that holds only given another field, if/then, says which: "'split' is a required
    # property" alone puzzles where the schema lists split as optional.)
    return [SchemaIssue(path, f"{said} ({why})" if isinstance(why, str) else said, advice)]


def _unexpected(schema: Any, instance: dict[Any, Any]) -> list[Any]:
    """The keys of `instance` that `schema` (additionalProperties: false) has no place for, in order."""
    schema = schema if isinstance(schema, dict) else {}
    known = set(schema.get("properties", {}))
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    return [k for k in instance if k not in known and not (isinstance(k, str) and any(p.search(k) for p in patterns))]


# Unexpected keys named one by one in a message; "did you mean" is asked for these only.
_SHOWN = 20
# The fields a mapping takes are listed when no name is close to an unexpected key, up to this many.
_LISTED = 12


def _meant(extra: list[Any], known: list[str]) -> list[str]:
    """Advice on the unexpected keys `extra` of a mapping that takes the fields `known`: the field
    spelled most like each key, else the fields it takes when they are few. A key that starts
    with x- is an extension field (TFC-0001 section 0), meant as it is: no field is offered for it."""
    from strataml.spelling import nearest

    guesses = []
    unmatched = False
    for key in extra:
        if isinstance(key, str) and key.startswith("x-"):
            continue
        close = nearest(key, known) if isinstance(key, str) and len(key) <= 256 else []
        if close:
            guesses.append((key, close[0]))
        else:
            unmatched = True
    notes = []
    if unmatched and known and len(known) <= _LISTED:
        notes.append(f"allowed here: {', '.join(known)}")
    if len(extra) == 1 and guesses:
        notes.append(f"did you mean {guesses[0][1]!r}?")
    elif guesses:
        notes.append("did you mean " + ", ".join(f"{name!r} for {key!r}" for key, name in guesses) + "?")
    return notes


def _describe(err: Any) -> tuple[str, str]:
    """The issue's message, and advice on it for the hint ("" for none)."""
    where = "/".join(str(p) for p in err.absolute_path) or "document"
    if err.validator == "additionalProperties" and isinstance(err.schema, dict) and isinstance(err.instance, dict):
        extra = _unexpected(err.schema, err.instance)
        if extra:
            advice = "; ".join(_meant(extra[:_SHOWN], list(err.schema.get("properties", {}))))
            if not err.schema.get("patternProperties"):
                return f"{where}: {err.message}", advice
            # (jsonschema says "'k' does not match any of the regexes: '^x-'" where extension
            # fields are taken, and names no field that was meant: said in words here.)
            shown = ", ".join(repr(k) for k in extra[:_SHOWN]) + (
                f" and {len(extra) - _SHOWN:,} more" if len(extra) > _SHOWN else ""
            )
            return (
                f"{where}: Additional properties are not allowed ({shown} "
                f"{'was' if len(extra) == 1 else 'were'} unexpected; a field of your own starts with x-)"
            ), advice
    return _said(err, where), ""


def _said(err: Any, where: str) -> str:
    if err.validator in ("required", "additionalProperties"):
        return f"{where}: {err.message}"
    if isinstance(err.instance, bool) and err.validator in ("enum", "type", "pattern") and _wants_text(err.schema):
        # YAML 1.1 reads an unquoted off/no/on/yes as a boolean: "False is not one of" would puzzle.
        words = "off, no or false" if err.instance is False else "on, yes or true"
        return f"{where}: an unquoted {words} is read as a boolean ({str(err.instance).lower()}), not text; quote it, e.g. '{'off' if err.instance is False else 'on'}'"
    if err.validator == "const" and list(err.absolute_path) == ["schema"]:
        return f"schema: expected {err.validator_value!r}, found {err.instance!r}"
    if err.validator == "format" and isinstance(err.schema, dict) and err.schema.get("description"):
        shown = repr(err.instance) if len(str(err.instance)) <= 80 else repr(str(err.instance)[:77] + "...")
        return f"{where}: {shown} is not a time that exists ({err.schema['description']})"
    if err.validator == "pattern" and isinstance(err.schema, dict) and err.schema.get("description"):
        # In words, not the regular expression: "METRIC OP NUMBER, e.g. test_f1_macro >= 0.90".
        shown = repr(err.instance) if len(str(err.instance)) <= 80 else repr(str(err.instance)[:77] + "...")
        return f"{where}: {shown} is not valid here: expected {err.schema['description']}"
    return f"{where}: {err.message}"


def bundled(kind: str) -> dict[str, Any]:
    """`kind`'s schema made self-contained (shared definitions inlined) for editors."""
    common = raw_schema("common")["$defs"]
    text = json.dumps(_inline_other_kinds(raw_schema(kind))).replace('"common.schema.json#/$defs/', '"#/$defs/')
    doc = json.loads(text)
    doc.setdefault("$defs", {}).update(common)
    return doc


def _inline_other_kinds(node: Any) -> Any:
    """`node` with each reference into another kind's schema (the federation reuses the index's
    node fields: `index.schema.json#/properties/...`) replaced by the part it points at."""
    if isinstance(node, list):
        return [_inline_other_kinds(v) for v in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and not ref.startswith(("#", "common.schema.json#")):
        where, _, pointer = ref.partition("#")
        target: Any = raw_schema(where.removesuffix(".schema.json"))
        for part in pointer.strip("/").split("/"):
            target = target[part]
        return _inline_other_kinds(target)
    return {k: _inline_other_kinds(v) for k, v in node.items()}


def _wants_text(schema: Any) -> bool:
    """Whether `schema` accepts strings only (so a boolean in its place was meant as a word)."""
    if not isinstance(schema, dict):
        return False
    if "enum" in schema:
        return all(isinstance(v, str) for v in schema["enum"])
    return schema.get("type") == "string"
