"""A gate receipt must agree with itself and with its model (TFC0004-E003): a copied or edited
receipt cannot claim PASS for criteria its own numbers fail, nor speak for another run or model."""

from __future__ import annotations

import math
import shutil
import json
from pathlib import Path

import pytest

import models_helpers as ledgers
from conftest import POSITIVE, ROOT, invoke
from strataml import gates
from strataml.doctor import engine

OTHER_RUN = "run:20260102T000000Z-sales-forecast-ffffff"


def passed_false_but_pass(g: dict) -> None:
    g["criteria"][0].update(expression="test_accuracy >= 0.9", passed=False)  # consistent criterion, status says PASS


def low_observed_marked_passed(g: dict) -> None:
    g["criteria"][0].update(expression="test_accuracy >= 0.60", observed=0.30, passed=True)


def another_run(g: dict) -> None:
    g.update(run=OTHER_RUN)


def another_model(g: dict) -> None:
    g.update(model=ledgers.ref(7))


def metric_renamed(g: dict) -> None:
    g["criteria"][0].update(metric="train_accuracy")


def a_pass_the_run_never_reached(g: dict) -> None:
    # Consistent with itself: 0.96 meets >= 0.95. The run recorded test_accuracy 0.75.
    g["criteria"][0].update(expression="test_accuracy >= 0.95", observed=0.96, passed=True)


def observed_dropped(g: dict) -> None:
    g["criteria"][0].update(expression="test_accuracy >= 0.5", observed=None, passed=False)
    g.update(status="FAIL")


CASES = {
    "status PASS with a failed criterion": (passed_false_but_pass, "status is PASS but 1 of 1 criteria failed"),
    "observed fails the expression but passed": (low_observed_marked_passed, "observed 0.3 fails it"),
    "run is not produced_by": (another_run, f"'{OTHER_RUN}', but the model was produced by"),
    "model is another ref": (another_model, "the receipt is for 'model:sales-model@7'"),
    "metric is not the expression's": (metric_renamed, "names metric 'train_accuracy'"),
    "observed is not the run's metric": (
        a_pass_the_run_never_reached,
        "says observed 0.96, but run:20260101T000000Z-sales-forecast-a1b2c3 recorded test_accuracy = 0.75",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_receipt_that_contradicts_itself_or_its_model_is_a_mismatch(ws: Path, case: str, capsys) -> None:
    change, expected = CASES[case]
    ledgers.edit_gate(ws, 1, change)  # re-pins the digest: only the contents are wrong
    report = engine.doctor(ws, strict=True)
    assert [f.code for f in report.findings] == ["TFC0004-E003"], [(f.code, f.message) for f in report.findings]
    assert expected in report.findings[0].message, report.findings[0].message
    ledgers.reach(ws, "candidate")
    before = (ws / ledgers.LEDGER).read_bytes()
    code, _out, err = invoke(ws, "promote", ledgers.ref(1), "--to", "staging", capsys=capsys)
    assert code == 2 and "TFC0004-E003" in err, err
    assert (ws / ledgers.LEDGER).read_bytes() == before


def test_a_copied_version_keeps_the_receipt_of_the_version_it_was_copied_from(ws: Path, capsys) -> None:
    """Copy version 1 to 2 and mark a low score passed: the digest is re-pinned, the numbers still fail."""
    ledgers.add_version(ws, 2)
    ledgers.edit_gate(ws, 2, low_observed_marked_passed)
    found = [(f.code, f.path) for f in engine.doctor(ws).findings]
    assert found == [("TFC0004-E003", "models/sales-model/2/model.yaml")]
    code, _out, err = invoke(ws, "promote", ledgers.ref(2), "--to", "candidate", capsys=capsys)
    assert code == 2 and "TFC0004-E003" in err


def test_consistent_fail_and_pass_receipts_are_clean(ws: Path) -> None:
    ledgers.fail_gate(ws)  # FAIL with a failed criterion: consistent
    assert engine.doctor(ws, strict=True).findings == ()


@pytest.mark.parametrize("root", [POSITIVE, ROOT], ids=["fixture", "example workspace"])
def test_the_shipped_workspaces_stay_clean(root: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".git", ".strataml", "tests", "strataml", "*.egg-info",
                                                               "benchmarks", "tools", "README.md", "pyproject.toml"))
    assert [(f.code, f.message) for f in engine.doctor(copy, strict=True).findings] == []


def test_receipts_are_written_and_checked_by_one_evaluator() -> None:
    receipt = gates.evaluate(["test_accuracy >= 0.6", "loss < 1"], {"test_accuracy": 0.3, "loss": 0.5})
    assert [c["passed"] for c in receipt["criteria"]] == [False, True] and receipt["status"] == "FAIL"
    from strataml.doctor.rules import records

    assert records._receipt_disagrees({**receipt, "model": ledgers.ref(1)}) == []
    assert records._receipt_disagrees({**receipt, "status": "PASS"})


@pytest.mark.parametrize("replace", ["delete", "folder", "symlink"])
def test_a_model_without_a_readable_receipt_is_an_error_and_is_not_promoted(ws: Path, replace: str, capsys) -> None:
    receipt = ws / "models/sales-model/1/gate.json"
    receipt.unlink()
    if replace == "folder":
        receipt.mkdir()
    elif replace == "symlink":
        receipt.symlink_to("/dev/zero")
    code, out, _err = invoke(ws, "doctor", "--format", "json", capsys=capsys)
    found = [(f["code"], f["path"]) for f in json.loads(out)["findings"] if f["code"] == "TFC0004-E002"]
    assert code == 2 and found == [("TFC0004-E002", "models/sales-model/1/gate.json")]
    code, _out, err = invoke(ws, "promote", "model:sales-model@1", "--to", "candidate", capsys=capsys)
    assert code == 2 and "TFC0004-E002" in err and not (ws / "models/sales-model/lifecycle.jsonl").exists()


def test_a_receipt_must_be_its_runs_gates_on_its_runs_metrics(ws: Path) -> None:
    """Registration evaluates the run's recorded gates on its recorded metrics: a receipt whose
    criteria are other gates, or whose observed values are not the run's, was not written so."""
    run = next((ws / "runs").glob("*/run.yaml"))
    from conftest import edit_yaml

    edit_yaml(run, lambda d: d.update(gates=["test_accuracy >= 0.5"]))
    assert engine.doctor(ws, strict=True).findings == ()  # the receipt is what the run gives
    ledgers.edit_gate(ws, 1, lambda g: g["criteria"][0].update(expression="test_accuracy >= 0.7", passed=True))
    [found] = engine.doctor(ws, strict=True).findings
    assert found.code == "TFC0004-E003" and "records the gates ['test_accuracy >= 0.5']" in found.message
    ledgers.edit_gate(ws, 1, lambda g: g["criteria"][0].update(expression="test_accuracy >= 0.5"))
    ledgers.edit_gate(ws, 1, observed_dropped)
    ledgers.edit_gate(ws, 1, lambda g: None)
    edit_yaml(ws / ledgers.MODEL_DIR / "1" / "model.yaml", lambda d: d["gate"].update(status="FAIL"))
    [found] = engine.doctor(ws, strict=True).findings
    assert "says observed None" in found.message and "recorded test_accuracy = 0.75" in found.message


def test_a_run_without_metrics_has_nothing_a_receipt_may_claim_it_observed(ws: Path) -> None:
    """Registration reads an absent `metrics` as none: such a run's receipt observed nothing, and
    one edited to a passing number contradicts it (the check was skipped for such a run)."""
    from conftest import edit_yaml

    run = next((ws / "runs").glob("*/run.yaml"))
    edit_yaml(run, lambda d: (d.pop("metrics"), d.update(gates=["test_accuracy >= 0.5"])))
    ledgers.edit_gate(ws, 1, lambda g: g["criteria"][0].update(observed=0.95, passed=True))
    messages = [f.message for f in engine.doctor(ws).findings if f.code == "TFC0004-E003"]
    assert any("says observed 0.95" in m and "recorded test_accuracy = nothing" in m for m in messages), messages


def test_a_nan_metric_is_the_nan_its_receipt_observed(ws: Path) -> None:
    """A diverged run's NaN is written into the receipt as NaN (FAIL): the same number."""
    from conftest import edit_yaml

    run = next((ws / "runs").glob("*/run.yaml"))
    edit_yaml(run, lambda d: d["metrics"].update(test_accuracy=float("nan")))
    ledgers.edit_gate(ws, 1, lambda g: (g["criteria"][0].update(observed=float("nan"), passed=False),
                                        g.update(status="FAIL")))
    edit_yaml(ws / ledgers.MODEL_DIR / "1" / "model.yaml", lambda d: d["gate"].update(status="FAIL"))
    assert [f for f in engine.doctor(ws).findings if f.code == "TFC0004-E003"] == []


def test_the_bar_a_version_is_held_to() -> None:
    """gates.bar: its experiment's own where it registers the model; else any one registering
    experiment's in full; else any one of the experiments whose versions were served (its own
    where it is one); else its own."""
    from strataml.gates import bar, short_of

    specs = {
        "own": {"gates": ["acc >= 0.5"], "register": {"model": "m"}},
        "other": {"gates": ["acc >= 0.8", "auc >= 0.5"], "register": {"model": "m"}},
        "third": {"gates": ["acc >= 0.7"], "register": {"model": "m"}},
        "loose": {"gates": []},
        "served": {"gates": ["acc >= 0.9"]},
    }
    names = lambda sets: [n for n, _g in sets]  # noqa: E731
    assert names(bar(specs, "m", "own")) == ["own"]
    assert names(bar(specs, "m", "loose")) == ["other", "own", "third"]
    assert short_of(bar(specs, "m", "loose"), {"acc": 0.6}) == []  # (own's gate in full)
    assert [u.gate.expression for u in short_of(bar(specs, "m", "loose"), {"acc": 0.4})] == [
        "acc >= 0.8", "auc >= 0.5", "acc >= 0.5", "acc >= 0.7"]
    by_hand = {k: v for k, v in specs.items() if k in ("loose", "served")}
    assert names(bar(by_hand, "m", "loose", served=["served"])) == ["served"]
    assert names(bar(by_hand, "m", "served", served=["served", "gone"])) == ["served"]
    assert names(bar(by_hand, "m", "loose")) == ["loose"]
    assert bar(by_hand, "m", "nowhere") == [] and short_of([], {}) == []
    assert [u.said() for u in short_of([("x", bar(specs, "m", "own")[0][1])], {"acc": "0.9"})] == ["did not record it"]


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_a_metric_that_is_no_finite_number_passes_no_gate(value: float) -> None:
    """Found by an attacker: a run that recorded `test_accuracy: .inf` passed every `>=` gate where
    promote and TFC0005-E010 hold a version to its experiments' gates as they stand (gates.short_of,
    the one check both use), where its receipt already said such a value was not recorded."""
    from strataml.gates import evaluate, parse_gate, short_of

    gate = parse_gate("acc <= 0.5" if value < 0 else "acc >= 0.5")
    (unmet,) = short_of([("own", [gate])], {"acc": value})
    assert unmet.observed is None
    assert unmet.told() == f"{gate.expression} (experiment own's; the version's run recorded {value}, which is no finite number)"
    assert evaluate([gate.expression], {"acc": value})["status"] == "FAIL"
    assert short_of([("own", [gate])], {"acc": 0.4 if value < 0 else 0.6}) == []


def test_an_integer_beyond_floats_passes_no_gate_and_stops_nothing() -> None:
    """The loader takes an integer of 400 digits; math.isfinite raised OverflowError on it, an
    internal error in promote and in a --since doctor, the whole report lost."""
    from strataml.gates import evaluate, parse_gate, short_of

    gate = parse_gate("ece <= 0.5")
    (unmet,) = short_of([("own", [gate])], {"ece": 10**400})
    assert unmet.said() == "recorded an integer of 401 digits, beyond what a gate compares"
    assert evaluate([gate.expression], {"ece": 10**400})["status"] == "FAIL"
    assert short_of([("own", [parse_gate("n >= 3")])], {"n": 3}) == []  # (an integer that is one)


@pytest.mark.parametrize("text", [" acc >= 0.9", "acc\t>= 0.9", "acc >= 0.9 ", "acc >= 0.9\n", "acc >= 1e999", "acc => 1"])
def test_a_gate_the_schema_refuses_is_no_gate_to_its_readers(text: str) -> None:
    """The grammar is the schema's: a copy in gates took the whitespace the schema refuses, so
    `list`, `show` and the reports showed gates the doctor rejects (TFC0001-E001 on the spec)."""
    from strataml import schemas
    from strataml.gates import of_spec, parse_gate

    with pytest.raises(ValueError):
        parse_gate(text)
    assert of_spec({"gates": [text, "acc >= 0.9"]}) == [parse_gate("acc >= 0.9")]
    said = [i.message for i in schemas.validate("experiment", {"gates": [text]}) if i.message.startswith("gates/0:")]
    assert said and "expected METRIC OP NUMBER" in said[0], said


@pytest.mark.parametrize("value", [float("inf"), float("nan")])
def test_a_run_whose_metric_is_no_finite_number_can_be_registered(ws, capsys, value: float) -> None:
    """Registration writes such a metric as null (no gate passes on it), and TFC0004-E003
    compared the receipt with the raw value: the version was refused ("says observed None, but
    the run recorded inf"), and no receipt could pass."""
    from conftest import invoke
    from test_diff import new_run

    from strataml.doctor import engine

    from conftest import edit_yaml

    run = new_run(ws, "0c0c0c", value)
    edit_yaml(ws / "runs" / run.removeprefix("run:") / "run.yaml", lambda d: d.update(gates=["test_accuracy >= 0.5"]))
    code, _out, err = invoke(ws, "model", "register", run, "--name", "diverged", capsys=capsys)
    assert code == 0, err
    receipt = json.loads((ws / "models/diverged/1/gate.json").read_text())
    assert receipt["status"] == "FAIL" and receipt["criteria"][0]["observed"] is None, receipt
    found = [(f.code, f.path) for f in engine.doctor(ws).findings if f.path.startswith("models/diverged")]
    assert found == [], found


def test_a_move_on_a_receipt_that_says_fail_is_the_ledger_s_finding_too(ws: Path, capsys) -> None:
    """model.yaml said PASS, its (re-pinned) receipt FAIL: only TFC0004-E003 on the version was
    reported, so a policy that ignores E003 let a promotion to staging on a failing receipt pass."""
    from conftest import edit_yaml

    from strataml.doctor import engine

    ledgers.edit_gate(ws, 1, lambda g: g.update(status="FAIL"))
    ledgers.reach(ws, "staging")
    codes = {(f.code, f.path) for f in engine.doctor(ws).findings}
    assert ("TFC0004-E003", f"{ledgers.MODEL_DIR}/1/model.yaml") in codes, codes
    assert ("TFC0005-E007", ledgers.LEDGER) in codes, codes
    edit_yaml(ws / "strataml.yaml", lambda d: d.setdefault("doctor", {}).update(ignore=["TFC0004-E003"]))
    report = engine.doctor(ws, strict=True)
    [moved] = [f for f in report.findings if f.code == "TFC0005-E007"]
    assert "its gate receipt does not hold (TFC0004-E003: gate.status is 'PASS' but the receipt says 'FAIL')" in moved.message
    assert report.exit_code == 2
    # promote refuses such a move under that policy too (it made it, and the doctor then failed).
    ledgers.reach(ws, "candidate")
    code, _out, err = invoke(ws, "promote", "model:sales-model@1", "--to", "staging", "--reason", "x", capsys=capsys)
    assert code == 2 and "gate receipt does not hold (TFC0004-E003" in err, err
