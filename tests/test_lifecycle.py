"""Promotion and the hash-chained ledger (TFC-0005): legality, refusals, tampering, concurrency."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from models_helpers import LEDGER, MODEL_DIR, add_version, entries_for, fail_gate, reach, ref, write_ledger
from strataml import lifecycle
from strataml.cli.main import run
from strataml.doctor import engine
from strataml.promote import Refused, promote


def found(ws: Path) -> list[tuple[str, str, int | None]]:
    return [(f.code, f.path, f.line) for f in engine.doctor(ws).findings]


def lines(ws: Path) -> list[dict]:
    return [json.loads(line) for line in (ws / LEDGER).read_text().splitlines()]


@pytest.mark.parametrize("start", lifecycle.STATES)
def test_every_transition_is_allowed_exactly_when_the_table_says(ws: Path, start: str) -> None:
    reach(ws, start)
    before = (ws / LEDGER).read_bytes() if (ws / LEDGER).exists() else b""
    for to in lifecycle.STATES:
        legal = to in lifecycle.TRANSITIONS[start]
        try:
            done = promote(ws, ref(1), to, dry_run=True)
        except Refused as exc:
            assert not legal, f"{start} -> {to} refused: {exc}"
        else:
            assert legal, f"{start} -> {to} allowed"
            assert done.entries[-1]["from"] == start and done.entries[-1]["to"] == to
    after = (ws / LEDGER).read_bytes() if (ws / LEDGER).exists() else b""
    assert after == before  # dry runs write nothing


def test_promotion_writes_a_chain_the_doctor_accepts(ws: Path) -> None:
    for to in ("candidate", "staging", "production", "archived"):
        promote(ws, ref(1), to, reason=f"to {to}")
    entries = lines(ws)
    assert [e["seq"] for e in entries] == [1, 2, 3, 4]
    assert entries[0]["prev"] is None and all(b["prev"] == a["hash"] for a, b in zip(entries, entries[1:]))
    assert all(e["hash"] == lifecycle.entry_hash(e) for e in entries)
    assert entries[1]["gate"].startswith("sha256:") and entries[2]["reason"] == "to production"
    assert found(ws) == []
    assert lifecycle.read(ws, "sales-model").state(ref(1)) == "archived"


def test_the_actor_is_the_git_identity(ws: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=ws, check=True)
    subprocess.run(["git", "config", "user.name", "Ada Lovelace"], cwd=ws, check=True)
    subprocess.run(["git", "config", "user.email", "ada@example.org"], cwd=ws, check=True)
    done = promote(ws, ref(1), "candidate")
    assert done.entries[0]["actor"] == "Ada Lovelace <ada@example.org>" == lines(ws)[0]["actor"]


def test_the_actor_is_who_git_would_commit_as(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CI bot sets GIT_COMMITTER_NAME/EMAIL, which git puts before the config: so does the ledger."""
    subprocess.run(["git", "init", "-q"], cwd=ws, check=True)
    subprocess.run(["git", "config", "user.name", "Ada Lovelace"], cwd=ws, check=True)
    subprocess.run(["git", "config", "user.email", "ada@example.org"], cwd=ws, check=True)
    monkeypatch.setenv("GIT_COMMITTER_NAME", "release-bot")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "bot@example.org")
    done = promote(ws, ref(1), "candidate")
    assert done.entries[0]["actor"] == "release-bot <bot@example.org>"


def test_new_production_archives_the_old_in_the_same_append(ws: Path) -> None:
    add_version(ws, 2)
    assert found(ws) == []
    reach(ws, "production")
    promote(ws, ref(2), "candidate")
    promote(ws, ref(2), "staging")
    done = promote(ws, ref(2), "production")
    assert [(e["ref"], e["from"], e["to"]) for e in done.entries] == [(ref(1), "production", "archived"), (ref(2), "staging", "production")]
    assert lifecycle.read(ws, "sales-model").production() == [ref(2)]
    assert found(ws) == []


def test_refusals_say_why_and_what_to_do(ws: Path) -> None:
    with pytest.raises(Refused, match="registered -> candidate -> staging -> production"):
        promote(ws, ref(1), "production")
    reach(ws, "candidate")
    fail_gate(ws)
    assert found(ws) == []  # a FAIL receipt is a fact, not an error
    with pytest.raises(Refused, match="gate status FAIL; staging needs a PASS"):
        promote(ws, ref(1), "staging")
    promote(ws, ref(1), "rejected")  # rejecting a failing version is fine
    with pytest.raises(Refused, match="rejected is final"):
        promote(ws, ref(1), "candidate")


def test_a_model_with_doctor_errors_is_not_promoted(ws: Path) -> None:
    (ws / "models/sales-model/1/model.bin").write_bytes(b"z" * 120)
    with pytest.raises(Refused, match="TFC0006-E002"):
        promote(ws, ref(1), "candidate")
    assert not (ws / LEDGER).exists()


def test_a_broken_ledger_is_not_appended_to(ws: Path) -> None:
    reach(ws, "staging")
    path = ws / LEDGER
    path.write_bytes(path.read_bytes()[:-20])  # a torn last line
    with pytest.raises(Refused, match="TFC0005-E005"):
        promote(ws, ref(1), "production")


def test_a_whole_last_entry_without_its_newline_is_not_called_cut_short() -> None:
    """Deleting the last line, as a cut-short write's hint says, would throw away a real
    promotion when only the newline is missing (editors often drop it)."""
    from strataml.lifecycle import TORN, parse

    raw = (Path(__file__).parent.parent / "models/iris-classifier/lifecycle.jsonl").read_bytes()
    [problem] = [p for p in parse(raw[:-1], "iris-classifier").problems if p.code == TORN]
    assert "its entry is whole" in problem.message and "add the final newline back" in problem.hint
    assert "delete" not in problem.hint
    [problem] = [p for p in parse(raw[:-20], "iris-classifier").problems if p.code == TORN]
    assert "cut short" in problem.message and "remove the incomplete last line" in problem.hint


def test_cli_promote(ws: Path, capsys) -> None:
    assert run(["-C", str(ws), "promote", "model:sales-model@1", "--to", "candidate", "--reason", "ok", "--dry-run"]) == 0
    assert "dry run" in capsys.readouterr().out and not (ws / LEDGER).exists()
    assert not (ws / ".strataml/locks").exists()  # a dry run writes nothing, its lock neither
    assert run(["-C", str(ws), "promote", "model:sales-model@1", "--to", "candidate", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["from"] == "registered" and out["to"] == "candidate" and out["written"] and len(out["entries"]) == 1
    assert run(["-C", str(ws), "promote", "model:sales-modl@1", "--to", "staging"]) == 3
    assert "did you mean model:sales-model@1" in capsys.readouterr().err
    assert run(["-C", str(ws), "promote", "model:sales-model@1", "--to", "live"]) == 3
    assert "live" in capsys.readouterr().err


# Tampering: each edit is caught, at the line where the chain breaks.

def tamper_edit(ws: Path) -> None:
    text = (ws / LEDGER).read_text().replace('"reason":"test"', '"reason":"edited"', 1)
    (ws / LEDGER).write_text(text)


def tamper_delete(ws: Path) -> None:
    kept = (ws / LEDGER).read_text().splitlines(keepends=True)
    (ws / LEDGER).write_text(kept[0] + kept[2])


def tamper_reorder(ws: Path) -> None:
    kept = (ws / LEDGER).read_text().splitlines(keepends=True)
    (ws / LEDGER).write_text(kept[1] + kept[0] + kept[2])


def tamper_truncate(ws: Path) -> None:
    (ws / LEDGER).write_bytes((ws / LEDGER).read_bytes()[:-30])


@pytest.mark.parametrize("tamper,code,line", [
    (tamper_edit, "TFC0005-E002", 1),
    (tamper_delete, "TFC0005-E002", 2),
    (tamper_reorder, "TFC0005-E002", 1),
    (tamper_truncate, "TFC0005-E005", 3),
])
def test_ledger_tampering_is_caught(ws: Path, tamper, code: str, line: int) -> None:
    reach(ws, "production")
    assert found(ws) == []
    tamper(ws)
    assert (code, LEDGER, line) in found(ws)
    assert {c for c, _, _ in found(ws)} == {code}


def test_illegal_move_with_a_valid_chain_is_caught(ws: Path) -> None:
    write_ledger(ws, [(ref(1), "production")])
    assert found(ws) == [("TFC0005-E003", LEDGER, 1)]


def test_two_production_versions_are_caught(ws: Path) -> None:
    add_version(ws, 2)
    write_ledger(ws, [(ref(v), s) for v in (1, 2) for s in ("candidate", "staging", "production")])
    assert found(ws) == [("TFC0005-E004", LEDGER, None)]


def test_promotion_without_a_pass_receipt_is_caught(ws: Path) -> None:
    reach(ws, "candidate")
    fail_gate(ws)
    entries = entries_for(ws, [(ref(1), "candidate"), (ref(1), "staging")])
    (ws / LEDGER).write_bytes(b"".join(lifecycle.canonical(e) + b"\n" for e in entries))
    assert found(ws) == [("TFC0005-E007", LEDGER, 2)]


@pytest.mark.parametrize("text,state", [("", "did not load"), ("schema: strataml/model/v1\n", "breaks its schema")])
def test_a_promoted_version_whose_model_yaml_is_broken_is_not_said_to_have_a_receipt(ws: Path, text: str,
                                                                                      state: str) -> None:
    """An emptied model.yaml (or one that lost its gate) behind a promotion: still TFC0005-E007
    (nothing shows that the gates passed), but it said "the version's gate receipt says nothing"
    of a receipt that may say PASS, and to restore the ledger."""
    reach(ws, "staging")
    (ws / MODEL_DIR / "1/model.yaml").write_text(text)
    moves = [f for f in engine.doctor(ws).findings if f.code == "TFC0005-E007"]
    assert [(f.path, f.line) for f in moves] == [(LEDGER, 2)]
    assert moves[0].message.endswith(f"but models/sales-model/1/model.yaml {state}, so nothing shows that its gates pass")
    assert moves[0].hint.startswith("restore models/sales-model/1/model.yaml from Git")


def test_not_json_and_not_an_entry(ws: Path) -> None:
    (ws / LEDGER).write_text("{not json\n")
    assert found(ws) == [("TFC0005-E001", LEDGER, 1)]
    (ws / LEDGER).write_text('{"seq": 1}\n')
    assert found(ws) == [("TFC0005-E001", LEDGER, 1)]


@pytest.mark.parametrize("about", ["model:other-model@1", ref(9)])
def test_an_entry_about_a_version_the_ledger_cannot_show_has_its_own_code(ws: Path, about: str) -> None:
    # Well-formed lines (the schema rule, E001, stays silent) about another model, or a version never registered.
    write_ledger(ws, [(ref(1), "candidate"), (about, "candidate")])
    assert found(ws) == [("TFC0005-E009", LEDGER, 2)]
    message = next(f.message for f in engine.doctor(ws).findings)
    assert message == (f"line 2 is about {about}, which is "
                       + ("not a version of sales-model" if "other" in about else "not registered in this workspace"))


def test_concurrent_promotes_lose_nothing_and_duplicate_nothing(ws: Path) -> None:
    versions = list(range(2, 8))
    for v in versions:
        add_version(ws, v)
    script = ("import sys; from strataml.promote import promote; "
              "promote(sys.argv[1], sys.argv[2], 'candidate', reason='race')")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(ws), ref(v)]) for v in [1, *versions]]
    assert [p.wait(timeout=120) for p in procs] == [0] * (len(versions) + 1)
    entries = lines(ws)
    assert [e["seq"] for e in entries] == list(range(1, len(versions) + 2))
    assert sorted(e["ref"] for e in entries) == sorted(ref(v) for v in [1, *versions])
    assert found(ws) == []
    # The same move raced by several processes happens once; the others are refused.
    procs = [subprocess.Popen([sys.executable, "-c", script.replace("'candidate'", "'staging'"), str(ws), ref(1)],
                              stderr=subprocess.DEVNULL) for _ in range(4)]
    assert sorted(p.wait(timeout=120) for p in procs) == [0, 1, 1, 1]
    assert [e["to"] for e in lines(ws)].count("staging") == 1
    assert found(ws) == []


@pytest.mark.parametrize("respell", [
    lambda line: line.replace('"seq":1', '"seq":1.0'),
    lambda line: line.replace('","', '", "'),
    lambda line: "\ufeff" + line,
    lambda line: line.replace('"to":"candidate"', '"to":"rejected","to":"candidate"'),
    lambda line: line.replace('"reason":"test"', '"reason":"\\u0074est"'),
])
def test_a_ledger_line_has_one_spelling(ws: Path, respell) -> None:
    # Each variant reads as the same entry (its hash still matches), yet only the canonical spelling passes.
    [entry] = entries_for(ws, [(ref(1), "candidate")])
    line = lifecycle.canonical(entry).decode()
    (ws / LEDGER).write_text(respell(line) + "\n", encoding="utf-8")
    assert found(ws) == [("TFC0005-E001", LEDGER, 1)]


def test_promote_without_a_git_identity_says_whom_the_ledger_names(
    ws: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The audit trail took the login name ('root') and said nothing."""
    from conftest import invoke

    for name in ("GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "EMAIL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    # (git would otherwise make one up from the host's name where it has a domain)
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "user.useConfigOnly")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "true")
    subprocess.run(["git", "init", "-q"], cwd=ws, check=True)
    code, _out, err = invoke(ws, "promote", ref(1), "--to", "candidate", capsys=capsys)
    assert code == 0, err
    assert "note: git has no user.name and user.email here: the ledger records the actor as" in err, err
    subprocess.run(["git", "config", "user.email", "ada@example.org"], cwd=ws, check=True)
    code, _out, err = invoke(ws, "promote", ref(1), "--to", "staging", capsys=capsys)
    assert code == 0 and "note: git has no" not in err, err


def test_the_hint_for_an_edited_ledger_restores_it_when_pasted(ws: Path) -> None:
    """The hint said `git checkout REF -- FILE`, literally: it now names the ledger, and pasted
    into a shell in the workspace it takes the committed ledger back."""
    reach(ws, "production")
    subprocess.run(["git", "init", "-q"], cwd=ws, check=True)
    subprocess.run(["git", "add", "-A"], cwd=ws, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "ledger"], cwd=ws, check=True
    )
    committed = (ws / LEDGER).read_bytes()
    tamper_edit(ws)
    [finding] = [f for f in engine.doctor(ws).findings if f.path == LEDGER]
    assert "REF" not in finding.hint and f"git log -p -- {LEDGER}" in finding.hint
    command = finding.hint.split("`")[1]
    assert command == f"git checkout HEAD -- {LEDGER}"
    subprocess.run(command, shell=True, cwd=ws, check=True)
    assert (ws / LEDGER).read_bytes() == committed
    assert found(ws) == []


def test_a_line_that_is_not_json_says_where(ws: Path) -> None:
    """json's message for an unterminated string ends in "starting at": it was shown cut off."""
    (ws / LEDGER).write_text('{"bad json\n')
    [finding] = engine.doctor(ws).findings
    assert finding.message == "line 1 is not JSON: Unterminated string starting at column 2"


def test_a_gate_that_measured_nothing_is_said_before_staging_and_in_show(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by a new user: an experiment without gates gives a receipt that passes on no
    criteria; `list`, `show` and `promote --to staging` read it as a plain PASS."""
    from models_helpers import edit_gate

    original = json.loads((ws / MODEL_DIR / "1/gate.json").read_text())
    edit_gate(ws, 1, lambda g: g.update(criteria=[], status="PASS", reasons=["the experiment declares no gates"]))
    assert engine.doctor(ws).findings == ()  # (a valid receipt: the run records no gates)
    assert promote(ws, ref(), "candidate").warnings == []
    done = promote(ws, ref(), "staging", dry_run=True)
    assert len(done.warnings) == 1 and "passes on no criteria" in done.warnings[0], done.warnings
    assert run(["-C", str(ws), "promote", ref(), "--to", "staging", "--dry-run"]) == 0
    assert "warning: model:sales-model@1's gate receipt passes on no criteria" in capsys.readouterr().err
    assert run(["-C", str(ws), "promote", ref(), "--to", "staging", "--dry-run", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == done.warnings
    assert run(["-C", str(ws), "show", ref()]) == 0
    assert "gate receipt: PASS (no criteria: the experiment declares no gates)" in capsys.readouterr().out
    edit_gate(ws, 1, lambda g: g.update(original))  # (a receipt with criteria: no such word)
    assert run(["-C", str(ws), "show", ref()]) == 0
    assert "no criteria" not in capsys.readouterr().out


def test_a_version_below_its_experiments_gates_as_they_stand_is_not_promoted(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The receipt holds the gates the run recorded when it ran: a spec raised since (or weakened
    for the run and put back) is the bar staging and production are held to now."""
    spec = ws / "experiments/sales-forecast.yaml"
    spec.write_text(spec.read_text().replace("test_accuracy >= 0.5", "test_accuracy >= 0.9\n  - test_f1_macro >= 0.5"))
    assert promote(ws, ref(), "candidate").written  # (needs no PASS)
    with pytest.raises(Refused) as refused:
        promote(ws, ref(), "staging", dry_run=True)
    assert str(refused.value).startswith(
        "model:sales-model@1 fails the gates its experiments set now: test_accuracy >= 0.9 (experiment "
        "sales-forecast's; the version's run recorded 0.75); test_f1_macro >= 0.5 (experiment sales-forecast's; the "
        "version's run did not record it); staging needs a version that passes them (its receipt holds the gates its "
        "run recorded when it ran)"
    )
    assert run(["-C", str(ws), "promote", ref(), "--to", "staging"]) == 2
    assert "promote a version that passes them: run an experiment that holds those gates" in capsys.readouterr().err
    spec.write_text(spec.read_text().replace("test_accuracy >= 0.9\n  - test_f1_macro >= 0.5", "test_accuracy >= 0.7"))
    assert promote(ws, ref(), "staging").written


def test_promote_warns_of_the_gates_the_base_branch_sets(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Found by a new user: promote judged the working tree's specs, the CI gate also the base
    branch's (TFC0005-E010), so a gate lowered on a branch let promote pass what CI then failed."""
    def sh(*args: str) -> None:
        env = {**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "T",
               "GIT_COMMITTER_EMAIL": "t@example.org"}
        subprocess.run(["git", *args], cwd=ws, check=True, capture_output=True, env=env)

    spec = ws / "experiments/sales-forecast.yaml"
    spec.write_text(spec.read_text().replace("test_accuracy >= 0.5", "test_accuracy >= 0.9"))
    (ws / ".gitignore").write_text(".strataml/\n")
    sh("init", "-q", "-b", "main")
    sh("add", "-A")
    sh("commit", "-qm", "the bar: 0.9")
    sh("checkout", "-q", "-b", "lower")
    spec.write_text(spec.read_text().replace("test_accuracy >= 0.9", "test_accuracy >= 0.5"))
    promote(ws, ref(), "candidate")
    done = promote(ws, ref(), "staging", dry_run=True)
    assert done.warnings == [
        "model:sales-model@1 fails gates main sets for sales-model: test_accuracy >= 0.9 (experiment sales-forecast's; "
        "the version's run recorded 0.75). `strataml doctor --strict --since main` (the CI gate) holds this move to "
        "staging to them too (TFC0005-E010): promote a version that passes them, or merge the spec's change first"
    ]
    assert run(["-C", str(ws), "promote", ref(), "--to", "staging"]) == 0
    assert "warning: model:sales-model@1 fails gates main sets for sales-model" in capsys.readouterr().err
    sh("add", "-A")
    sh("commit", "-qm", "lowered and promoted")
    assert [f.code for f in engine.doctor(ws, options=engine.Options(since="main")).findings] == ["TFC0005-E010"]
    sh("checkout", "-q", "main")
    assert promote(ws, ref(), "candidate").warnings == []  # (candidate needs no PASS: no bar to warn of)
