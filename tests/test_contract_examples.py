"""Every file kind has a complete worked example in its contract, and each example is checked
against the code: validated by its schema, byte-equal to the example workspace's file it quotes
(which the doctor passes under --strict, so its hashes are real), and internally consistent."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import ROOT
from strataml import lifecycle
from strataml.cli.main import run
from strataml.contracts import documents
from strataml.hashing import dataset_digest
from strataml.loading import load_bytes
from strataml.schemas import validate

FENCE = re.compile(r"^```(\w+) example=([\w-]+)(?: file=(\S+))?\n(.*?)^```$", re.M | re.S)
KINDS = {"workspace", "dataset", "experiment", "run", "model", "gate", "ledger-entry", "keys", "index"}


def examples() -> list[tuple[str, str, str | None, str, str]]:
    """(contract, kind, quoted file or None, language, text) for every example block."""
    return [(name, m.group(2), m.group(3), m.group(1), m.group(4)) for name, text in documents().items() for m in FENCE.finditer(text)]


def parsed(lang: str, text: str) -> list[object]:
    if lang == "jsonl":
        return [json.loads(line) for line in text.splitlines()]
    if lang == "json":
        return [json.loads(text)]
    loaded = load_bytes(text.encode("utf-8"))
    assert not loaded.problems, loaded.problems
    return [loaded.data]


def test_every_file_kind_has_exactly_one_worked_example() -> None:
    kinds = [kind for _c, kind, *_ in examples()]
    assert sorted(kinds) == sorted(KINDS)


@pytest.mark.parametrize("contract,kind,file,lang,text", examples(), ids=[e[1] for e in examples()])
def test_an_example_validates_and_quotes_the_example_workspace_exactly(contract: str, kind: str, file: str | None,
                                                                       lang: str, text: str) -> None:
    for document in parsed(lang, text):
        assert validate(kind, document) == [], (contract, kind)
    if file is not None:
        assert text == (ROOT / file).read_text("utf-8"), f"{contract}: the {kind} example drifted from {file}"


def test_the_dataset_example_digest_is_the_files_digest() -> None:
    [(_c, _k, _f, lang, text)] = [e for e in examples() if e[1] == "dataset"]
    [data] = parsed(lang, text)
    assert dataset_digest((f["path"], f["sha256"]) for f in data["files"]) == data["digest"]  # type: ignore[index]


def test_the_ledger_example_is_a_verified_chain() -> None:
    [(_c, _k, file, _l, text)] = [e for e in examples() if e[1] == "ledger-entry"]
    assert file is not None
    ledger = lifecycle.parse(text.encode("utf-8"), file.split("/")[1])
    assert ledger.problems == [] and [e["to"] for e in ledger.entries] == ["candidate", "staging", "production"]


def test_the_keys_example_pins_each_key_by_its_file() -> None:
    [(_c, _k, _f, lang, text)] = [e for e in examples() if e[1] == "keys"]
    [data] = parsed(lang, text)
    assert all(k["file"] == f"{k['fingerprint']}.asc" for k in data["keys"])  # type: ignore[index]


def test_the_index_example_is_what_strataml_index_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    [(_c, _k, _f, _l, text)] = [e for e in examples() if e[1] == "index"]
    ws = tmp_path / "ws"
    (ws / "datasets").mkdir(parents=True)
    shutil.copy(ROOT / "strataml.yaml", ws / "strataml.yaml")
    shutil.copytree(ROOT / "datasets/iris", ws / "datasets/iris")
    capsys.readouterr()
    assert run(["-C", str(ws), "index", "-o", "-"]) == 0
    assert capsys.readouterr().out == text
