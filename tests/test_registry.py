"""The rule registry: codes unique and well-formed, documented in their TFC, explained, used."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT
from strataml.cli.main import run
from strataml.contracts import CODE, documents, registry

SOURCE = ROOT / "strataml"


def test_codes_are_unique_and_well_formed() -> None:
    seen: dict[str, str] = {}
    for doc, text in documents().items():
        for code in re.findall(r"^### (TFC\S+)", text, flags=re.M):
            assert CODE.fullmatch(code), f"{doc}: malformed code {code}"
            assert code not in seen, f"{code} defined in {doc} and {seen[code]}"
            seen[code] = doc
    assert set(seen) == set(registry())


def test_each_code_lives_in_its_own_contract() -> None:
    for code, rule in registry().items():
        assert rule.tfc == f"TFC-{code[3:7]}", code
        assert rule.severity == {"E": "error", "W": "warning", "I": "info"}[code[8]], code
        assert rule.summary and rule.name, code
        for part in ("What:", "Why:", "Example:", "Fix:"):
            assert part in rule.body, f"{code} lacks {part}"
        assert rule.enforced or rule.enforced_note.startswith("planned"), code


def test_every_contract_is_present_once() -> None:
    numbers = [name[:8] for name in documents()]
    assert numbers == [f"TFC-000{i}" for i in range(1, 9)]


def test_enforced_codes_are_exactly_the_codes_the_rules_emit() -> None:
    used = set()
    for path in SOURCE.rglob("*.py"):
        used.update(re.findall(r'"(TFC\d{4}-[EWI]\d{3})"', path.read_text("utf-8")))
    enforced = {code for code, rule in registry().items() if rule.enforced}
    assert used == enforced


def test_every_code_is_explained(capsys) -> None:
    for code in registry():
        assert run(["doctor", "--explain", code.lower()]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"# {code} ") and "Fix:" in out


def test_unknown_code_suggests_close_ones(capsys) -> None:
    assert run(["doctor", "--explain", "TFC0006-E02"]) == 3
    err = capsys.readouterr().err
    assert "unknown rule code" in err and "TFC0006-E002" in err
    # A code without its contract: every contract's rule of that number, in order.
    assert run(["doctor", "--explain", "e005"]) == 3
    err = capsys.readouterr().err
    shown = err.split("did you mean ")[1].split("?")[0].split(", ")
    assert shown == sorted(c for c in registry() if c.endswith("-E005")) and "TFC0003-E005" in shown, err
    # A contract's code alone: its rules, not three of other contracts spelled alike.
    assert run(["doctor", "--explain", "TFC0006"]) == 3
    err = capsys.readouterr().err
    assert "TFC0006 is the start of " in err and "TFC0006-E001, TFC0006-E002" in err and "TFC0008" not in err, err
    only = [c for c in registry() if c.startswith("TFC0002-W")]
    assert len(only) == 1 and run(["doctor", "--explain", "TFC0002-W"]) == 0  # the start of one code names it
    assert capsys.readouterr().out.startswith(f"# {only[0]} ")


def test_repository_contracts_match_the_packaged_ones() -> None:
    for name, text in documents().items():
        copy = ROOT / "tfc" / name
        assert copy.is_file(), f"tfc/{name} missing: copy it from strataml/contracts/"
        assert copy.read_text("utf-8") == text, f"tfc/{name} drifted from strataml/contracts/{name}"
    assert sorted(p.name for p in (ROOT / "tfc").glob("TFC-*.md")) == sorted(documents())


def test_schemas_are_not_copied_into_the_repository() -> None:
    copies = [p for p in ROOT.rglob("*.schema.json") if "strataml/schemas" not in p.as_posix() and ".git" not in p.parts]
    assert copies == [], f"second copies of packaged schemas: {copies}"


def test_list_rules_json(capsys) -> None:
    import json

    assert run(["doctor", "--list-rules", "--format", "json"]) == 0
    rules = json.loads(capsys.readouterr().out)
    assert len(rules) == len(registry())
    assert {"code", "name", "severity", "contract", "enforced", "summary"} <= set(rules[0])


def test_list_rules_text_is_one_aligned_line_per_rule(capsys, monkeypatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert run(["doctor", "--list-rules"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["code", "severity", "name", "contract", "enforced"]
    assert len(lines) == len(registry()) + 1
    assert [line for line in lines if line != line.rstrip()] == []  # no padding after the last column
    assert len({line.index("TFC-") for line in lines[1:]}) == 1  # the contract column lines up
    assert any(line.endswith("  with --since") for line in lines)  # piped: never cut
    assert max(len(line) for line in lines) <= 80


def test_a_reserved_code_is_explained_as_reserved(capsys) -> None:
    assert run(["doctor", "--explain", "TFC0001-E006"]) == 3
    err = capsys.readouterr().err
    assert "TFC0001-E006 is a reserved code: no rule was ever given it" in err and "TFC-0001-workspace-layout.md" in err


@pytest.mark.parametrize("group", ["", "dataset", "experiment", "model", "keys", "report", "export", "import"])
def test_command_summaries_fit_80_columns_uncut(group: str, capsys, monkeypatch) -> None:
    """click cuts a summary too long for the terminal with '...': each command says it in full."""
    monkeypatch.setenv("COLUMNS", "80")
    assert run([*([group] if group else []), "--help"]) == 0
    listed = capsys.readouterr().out.split("\nCommands:\n", 1)[1].splitlines()
    assert listed and all(len(line) <= 80 and not line.endswith("...") for line in listed), listed
