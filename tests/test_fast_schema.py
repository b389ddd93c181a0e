"""The compiled yes/no validator must agree with jsonschema on every document we can make."""

from __future__ import annotations

import copy
import json
import random

import pytest

from conftest import POSITIVE, ROOT, read_yaml
from strataml import schemas


def documents() -> list[tuple[str, object]]:
    docs: list[tuple[str, object]] = []
    for root in (ROOT, POSITIVE):
        docs += [("dataset", read_yaml(p)) for p in root.glob("datasets/*/*/dataset.yaml")]
        docs += [("experiment", read_yaml(p)) for p in root.glob("experiments/*.yaml")]
        docs += [("run", read_yaml(p)) for p in root.glob("runs/*/run.yaml")]
        docs += [("model", read_yaml(p)) for p in root.glob("models/*/*/model.yaml")]
        docs += [("gate", json.loads(p.read_text())) for p in root.glob("models/*/*/gate.json")]
        docs.append(("workspace", read_yaml(root / "strataml.yaml")))
    docs.append(("keys", {"schema": "strataml/keys/v1", "keys": [
        {"fingerprint": "A" * 40, "file": "A.asc", "scopes": ["models", "production"]},
        {"fingerprint": "B" * 64, "file": "b-key.asc", "scopes": ["ledger"]}]}))
    docs.append(("workspace", {"schema": "strataml/workspace/v1", "signing": {"require": [
        {"records": "models", "state": "production", "scope": "production"}, {"records": "ledger", "scope": "ledger"}]}}))
    return docs


JUNK = [None, True, 0, -1, 1.5, "", "x", "sha256:" + "a" * 64, "a" * 64, [], [1], {}, {"a": 1}, "2024-01-01", 10**12,
        "2023-02-29", "2024-01-01T23:59:60Z", "2024-02-29T10:00+0100", float("nan"), float("inf")]


def mutations(doc: object, rng: random.Random, n: int) -> list[object]:
    out = []
    for _ in range(n):
        d = copy.deepcopy(doc)
        node, parent, key = d, None, None
        for _depth in range(rng.randint(0, 4)):  # walk somewhere into the document
            if isinstance(node, dict) and node:
                key = rng.choice(list(node))
            elif isinstance(node, list) and node:
                key = rng.randrange(len(node))
            else:
                break
            parent, node = node, node[key]
        if parent is None:
            if isinstance(d, dict) and d and rng.random() < 0.5:
                d[rng.choice(["x-team", "x-a.b", "x", "team-x"])] = rng.choice(JUNK)
            elif isinstance(d, dict) and d:
                d.pop(rng.choice(list(d)))
            out.append(d)
            continue
        action = rng.random()
        if action < 0.3 and isinstance(parent, dict):
            parent.pop(key)
        elif action < 0.4 and isinstance(parent, dict):
            parent["unexpected_" + str(rng.randrange(9))] = rng.choice(JUNK)
        elif action < 0.5 and isinstance(parent, dict):
            # Extension fields: allowed at a record's top level only, so a nested one is an error.
            parent[rng.choice(["x-team", "x-", "X-team", "x_team", "xx-a"])] = rng.choice(JUNK)
        else:
            parent[key] = rng.choice(JUNK)
        out.append(d)
    return out


def jsonschema_valid(kind: str, doc: object) -> bool:
    return not list(schemas.validator(kind).iter_errors(doc))


@pytest.mark.parametrize("kind", schemas.KINDS)
def test_every_schema_compiles(kind: str) -> None:
    assert schemas._fast(kind) is not None


def test_agrees_with_jsonschema_on_real_and_mutated_documents() -> None:
    rng = random.Random(20261122)
    checked = disagreements = invalid = 0
    for kind, doc in documents():
        for candidate in [doc, *mutations(doc, rng, 60)]:
            expected = jsonschema_valid(kind, candidate)
            if schemas._fast(kind)(candidate) != expected:
                disagreements += 1
                print(kind, json.dumps(candidate)[:300])
            checked += 1
            invalid += not expected
    assert checked > 1000 and disagreements == 0
    assert invalid > checked // 4  # the mutations really do break documents


def test_nan_meets_no_bound_and_validate_says_where() -> None:
    """YAML's .nan in a bounded field: jsonschema compared `nan < 0` (False) and found nothing, so
    validate() returned no issue for a spec the compiled check knew was invalid (the doctor passed
    `split.train: .nan`, which `strataml run` refuses)."""
    doc = read_yaml(ROOT / "experiments/iris-logreg.yaml")
    doc["split"]["train"] = float("nan")  # (two bounds, exclusive 0 and 1: said once)
    assert schemas._fast("experiment")(doc) is False and not jsonschema_valid("experiment", doc)
    [issue] = schemas.validate("experiment", doc)
    assert issue.path == ("split", "train") and "nan (YAML's .nan) is not a number" in issue.message, issue


@pytest.mark.parametrize("kind", ["workspace", "dataset", "experiment", "run", "model", "keys"])
def test_a_record_may_carry_x_fields_at_its_top_level_only(kind: str) -> None:
    doc = next(d for k, d in documents() if k == kind)
    assert isinstance(doc, dict)
    for extended, ok in (({**doc, "x-team": {"owner": "fraud", "tags": [1, 2]}}, True), ({**doc, "x_team": 1}, False),
                         ({**doc, "team": 1}, False)):
        assert schemas.validate(kind, extended) == [] if ok else schemas.validate(kind, extended) != [], (kind, ok)
        assert schemas._fast(kind)(extended) is ok and jsonschema_valid(kind, extended) is ok


@pytest.mark.parametrize("value,exists", [
    ("2024-02-29", True), ("2023-02-29", False), ("2024-04-31", False), ("2024-13-01", False),
    ("2024-01-09T10:00", True), ("2024-01-09 10:00:00.123456789Z", True), ("2024-01-09T10:00+0100", True),
    ("2024-01-09T24:00:00Z", False), ("2024-01-09T23:60:00Z", False), ("2024-12-31T23:59:60Z", False),
    ("2024-01-09T10:00:00+24:00", False), ("2024-01-09T10:00:00-23:59", True),
    ("2024-01-09T10:00+00:60", False), ("2024-01-09T10:00+0099", False),
])
def test_a_time_must_exist_and_both_validators_say_so(value: str, exists: bool) -> None:
    """TFC-0001 section 3: the pattern is the grammar, the format strataml-time says the time exists."""
    doc = read_yaml(POSITIVE / "models/sales-model/1/model.yaml") | {"created_at": value}
    assert jsonschema_valid("model", doc) is exists
    assert schemas._fast("model")(doc) is exists
    if not exists:
        [issue] = schemas.validate("model", doc)
        assert issue.message == (f"created_at: {value!r} is not a time that exists (a real calendar date; hours 00-23, "
                                 "minutes and seconds 00-59 (no leap second); an offset of at most 23:59 (TFC-0001 section 3))")
    # The ledger's time is judged by its own rule (TFC0005-E008), not by the schema.
    entry = {"schema": "strataml/ledger-entry/v2"}
    assert not any("at:" in i.message for i in schemas.validate("ledger-entry", {**entry, "at": value}))


def test_text_outside_the_time_grammar_gets_one_message_not_two() -> None:
    doc = read_yaml(POSITIVE / "models/sales-model/1/model.yaml") | {"created_at": "yesterday"}
    [issue] = schemas.validate("model", doc)
    assert "is not valid here: expected RFC 3339" in issue.message


# Shapes the fused object and string checks take over (compile_schema._fused), some that no
# schema of ours has yet: a declared key a pattern also matches, an additionalProperties schema
# beside patterns, properties without a type, a recursive $ref, bounds on a patterned string.
SYNTHETIC = [
    {"type": "object", "properties": {"x-a": {"type": "integer"}, "b": {"type": "string"}},
     "patternProperties": {"^x-": {"minimum": 0}}, "additionalProperties": False, "required": ["b"]},
    {"type": "object", "properties": {"a": {"type": "string"}}, "patternProperties": {"^n": {"type": "number"}},
     "additionalProperties": {"type": "boolean"}},
    {"properties": {"a": {"type": "string", "pattern": "^[a-z]+$", "minLength": 2, "maxLength": 4}}, "required": ["a"]},
    {"$defs": {"tree": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/tree"}},
                                                         "name": {"type": "string", "pattern": "^n"}},
                        "additionalProperties": False}},
     "$ref": "#/$defs/tree"},
]  # fmt: skip
VALUES = [None, True, 0, -1, 2, 1.5, "", "a", "ab", "abcde", "nx", "Ab", [], {}, {"a": "ab"}]


def _instance(rng: random.Random, depth: int = 0) -> object:
    if depth < 3 and rng.random() < 0.4:
        keys = rng.sample(["a", "b", "x-a", "x-b", "n1", "nq", "kids", "name", "z"], rng.randint(0, 4))
        return {k: ([_instance(rng, depth + 1)] if k == "kids" and rng.random() < 0.7 else _instance(rng, depth + 1))
                for k in keys}
    return rng.choice(VALUES)


@pytest.mark.parametrize("schema", SYNTHETIC, ids=range(len(SYNTHETIC)))
def test_fused_checks_agree_with_jsonschema(schema: dict) -> None:
    from jsonschema import Draft202012Validator

    from strataml.schemas.fast import compile_schema

    def resolve(ref: str) -> dict:
        return schema["$defs"][ref.rsplit("/", 1)[-1]]

    fast, slow = compile_schema(schema, resolve), Draft202012Validator(schema)
    rng = random.Random(7)
    verdicts = [(fast(doc), slow.is_valid(doc)) for doc in (_instance(rng) for _ in range(3000))]
    assert all(a == b for a, b in verdicts)
    assert 5 < sum(b for _a, b in verdicts) < 2995  # both answers occur


def test_a_misspelt_code_in_the_policy_is_told_in_words_not_a_regular_expression() -> None:
    doc = read_yaml(POSITIVE / "strataml.yaml")
    doc["doctor"] = {"ignore": ["TFC0006_W001"]}
    [issue] = schemas.validate("workspace", doc)
    assert issue.message == (
        "doctor/ignore/0: 'TFC0006_W001' is not valid here: expected a rule code or a prefix of one, "
        "e.g. TFC0006-W001 or TFC0006"
    )
