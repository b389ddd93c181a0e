"""Names and paths that lie (issue 11, item 3): whole-name matching, control characters, git's
batch protocols, nested repositories, folders the walk cannot open, and text output that a
file name cannot forge."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from strataml import schemas
from strataml.refs import RefError, parse_ref, valid_name, valid_run_id, valid_version

# ---------------------------------------------------------------- names are matched whole


@pytest.mark.parametrize("check", [valid_name, valid_version, valid_run_id])
def test_a_final_newline_is_not_part_of_a_valid_name(check) -> None:
    assert check("iris")
    assert not check("iris\n")
    assert not check("iris\r\n")


@pytest.mark.parametrize("text", ["dataset:iris@1\n", "run:abc\n", "experiment:x\n", "model:m@1\n"])
def test_a_ref_with_a_final_newline_is_not_a_ref(text: str) -> None:
    parse_ref(text.rstrip("\n"))
    with pytest.raises(RefError):
        parse_ref(text)


def test_rule_codes_are_matched_whole() -> None:
    from strataml.contracts import CODE

    assert CODE.fullmatch("TFC0001-E008")
    assert not CODE.fullmatch("TFC0001-E008\n")
    assert not CODE.fullmatch("TFC٠٠٠1-E008")  # Arabic-Indic digits are digits to \d, not to us


# One value each pattern in the packaged schemas accepts: a new pattern must be added here.
PATTERN_SAMPLES = [
    "a" * 64,
    "sha256:" + "a" * 64,
    "2024-01-01T00:00:00Z",
    "test_accuracy >= 0.9",
    "sklearn",
    "A" * 40,
    "alice.asc",
    "a" * 40,
    "TFC0001-E008",
    "TFC0001",
]


def _patterns() -> list[str]:
    found = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "pattern" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for kind in (*schemas.KINDS, "common"):
        walk(schemas.raw_schema(kind))
    return sorted(set(found))


@pytest.mark.parametrize("pattern", _patterns())
def test_schema_patterns_do_not_accept_a_final_newline(pattern: str) -> None:
    """JSON Schema patterns are searched (Python's `$` matches before a final newline):
    jsonschema and the compiled fast path must both refuse VALUE + newline."""
    from jsonschema import Draft202012Validator

    from strataml.schemas.fast import compile_schema

    samples = [s for s in PATTERN_SAMPLES if re.search(pattern, s)]
    assert samples, f"no sample in PATTERN_SAMPLES matches {pattern!r}: add one"
    schema = {"type": "string", "pattern": pattern}
    fast = compile_schema(schema, lambda ref: {})
    for sample in samples:
        for bad in (sample + "\n", sample + "\n\n"):
            assert not Draft202012Validator(schema).is_valid(bad), (pattern, bad)
            assert not fast(bad), (pattern, bad)
        assert Draft202012Validator(schema).is_valid(sample) and fast(sample)


def test_a_sha256_with_a_final_newline_breaks_the_dataset_schema(ws: Path) -> None:
    import yaml

    doc = yaml.safe_load((ws / "datasets/flowers/1/dataset.yaml").read_text())
    assert schemas.validate("dataset", doc) == []
    doc["files"][0]["sha256"] += "\n"
    assert [i.path for i in schemas.validate("dataset", doc)] == [("files", 0, "sha256")]
