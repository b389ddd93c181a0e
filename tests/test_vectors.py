"""tfc/vectors: inputs and expected outputs another implementation can check itself against.
Each expected value is recomputed here by StrataML's own code, so vectors and code cannot drift."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from conftest import ROOT
from strataml import lfs, lifecycle
from strataml.canonical import NotCanonical, jcs
from strataml.hashing import dataset_digest
from strataml.refs import RefError, parse_ref
from strataml.runner.spec import config_hash

VECTORS = ROOT / "tfc" / "vectors"


def load(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / name).read_text("utf-8"))


def test_every_vector_file_is_checked_here() -> None:
    checked = {"jcs.json", "dataset-digest.json", "config-hash.json", "ledger-chain.json", "lfs-pointer.json", "refs.json"}
    assert {p.name for p in VECTORS.iterdir()} == checked


@pytest.mark.parametrize("case", load("jcs.json")["cases"], ids=lambda c: c["why"])
def test_jcs(case: dict[str, Any]) -> None:
    assert jcs(json.loads(case["input"])).decode("utf-8") == case["canonical"]
    # Canonical text is a fixed point: read back as JSON numbers are (doubles: 1e20 is printed
    # 100000000000000000000, which a JSON parser reads as that double) and canonicalised again.
    as_double = json.loads(case["canonical"], parse_int=lambda t: int(t) if abs(int(t)) < 2**53 else float(t))
    assert jcs(as_double).decode("utf-8") == case["canonical"]


@pytest.mark.parametrize("case", load("jcs.json")["refused"], ids=lambda c: c["why"])
def test_jcs_refuses(case: dict[str, Any]) -> None:
    with pytest.raises(NotCanonical):
        jcs(json.loads(case["input"]))


@pytest.mark.parametrize("case", load("dataset-digest.json")["cases"], ids=lambda c: c["why"])
def test_dataset_digest(case: dict[str, Any]) -> None:
    assert "sha256:" + hashlib.sha256(case["lines"].encode("utf-8")).hexdigest() == case["digest"]
    assert dataset_digest((f["path"], f["sha256"]) for f in case["files"]) == case["digest"]


@pytest.mark.parametrize("case", load("config-hash.json")["cases"], ids=lambda c: c["why"])
def test_config_hash(case: dict[str, Any]) -> None:
    assert jcs(case["spec"]).decode("utf-8") == case["canonical"]
    assert config_hash(case["spec"]) == case["config_hash"]
    assert "sha256:" + hashlib.sha256(case["canonical"].encode("utf-8")).hexdigest() == case["config_hash"]


@pytest.mark.parametrize("case", load("ledger-chain.json")["cases"], ids=lambda c: c["why"])
def test_ledger_chain(case: dict[str, Any]) -> None:
    raw = "".join(line + "\n" for line in case["lines"]).encode("utf-8")
    ledger = lifecycle.parse(raw, case["model"])
    broken = [p.line for p in ledger.problems if p.code == lifecycle.CHAIN]
    assert (not broken) == case["valid"]
    assert (broken[0] if broken else None) == case["first_broken"]
    for line in case["lines"][: (case["first_broken"] or len(case["lines"]) + 1) - 1]:
        entry = json.loads(line)
        # Each line is written in its canonical form, and its hash is over that form without `hash`.
        assert jcs(entry).decode("utf-8") == line
        body = jcs({k: v for k, v in entry.items() if k != "hash"})
        assert entry["hash"] == "sha256:" + hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize("case", load("lfs-pointer.json")["cases"], ids=lambda c: c["why"])
def test_lfs_pointer(case: dict[str, Any]) -> None:
    raw = case["text"].encode("utf-8")
    if not case["pointer"]:
        with pytest.raises(lfs.MalformedPointer):
            lfs.parse(raw)
        return
    pointer = lfs.parse(raw)
    assert (pointer.canonical, pointer.oid, pointer.size) == (case["canonical"], case["oid"], case["size"])


@pytest.mark.parametrize("case", load("refs.json")["cases"], ids=lambda c: c["text"][:40])
def test_refs(case: dict[str, Any]) -> None:
    if not case["valid"]:
        with pytest.raises(RefError):
            parse_ref(case["text"])
        return
    ref = parse_ref(case["text"])
    assert (ref.kind, ref.name, ref.version) == (case["kind"], case["name"], case["version"])


def test_the_vectors_cover_both_outcomes() -> None:
    # A vector file that only ever says "yes" proves little: each holds cases of both kinds.
    assert load("jcs.json")["refused"]
    assert {c["valid"] for c in load("ledger-chain.json")["cases"]} == {True, False}
    assert {c["pointer"] for c in load("lfs-pointer.json")["cases"]} == {True, False}
    assert {c.get("canonical") for c in load("lfs-pointer.json")["cases"] if c["pointer"]} == {True, False}
    assert {c["valid"] for c in load("refs.json")["cases"]} == {True, False}
