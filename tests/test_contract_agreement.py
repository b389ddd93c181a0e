"""Where the contracts' text and the doctor once disagreed (issue 16 §1), each settled meaning pinned."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from conftest import edit_yaml
from strataml import lfs
from strataml.contracts import documents, registry
from strataml.doctor import engine
from strataml.doctor.rules import history, promotions
from strataml.times import parse_time

FLOWERS = "datasets/flowers/1"
SALES = "datasets/sales/1/dataset.yaml"
SALES_SPEC = "experiments/sales-forecast.yaml"


def found(ws: Path) -> list[tuple[str, str]]:
    return [(f.code, f.path) for f in engine.doctor(ws).findings]


def test_each_rule_says_must_for_errors_should_for_warnings_and_neither_for_infos() -> None:
    for code, rule in registry().items():
        keywords = set(re.findall(r"\b(MUST|SHOULD|MAY)\b", rule.summary))
        expected = {"error": {"MUST"}, "warning": {"SHOULD"}, "info": set()}[rule.severity]
        assert keywords - {"MAY"} == expected, (code, rule.summary)


def test_no_lowercase_must_in_a_rule() -> None:
    for code, rule in registry().items():
        assert not re.search(r"\b(must|should)\b", rule.summary), (code, rule.summary)


def test_rules_checked_only_with_since_are_the_history_rules_and_say_so() -> None:
    marked = {code for code, rule in registry().items() if rule.needs_since}
    emitted = {
        value
        for module in (history, promotions)
        for name, value in vars(module).items()
        if isinstance(value, str) and re.fullmatch(r"TFC\d{4}-[EWI]\d{3}", value)
    }
    assert marked == emitted
    for code in marked:
        assert "Checked: only with `--since REF`" in registry()[code].body


def test_history_rules_never_fire_without_since(ws: Path) -> None:
    # A working tree cannot show what changed since a base: without --since none of them is reported.
    edit_yaml(ws / SALES, lambda d: d.update(description="edited after commit"))
    assert not {code for code, _p in found(ws)} & {c for c, r in registry().items() if r.needs_since}


def test_an_unrecorded_symlink_inside_its_record_folder_is_an_unrecorded_file(ws: Path) -> None:
    (ws / FLOWERS / "alias.csv").symlink_to("flowers.csv")
    assert found(ws) == [("TFC0006-W001", f"{FLOWERS}/alias.csv")]


def test_a_symlink_to_a_folder_inside_its_record_folder_is_a_special_file(ws: Path) -> None:
    (ws / FLOWERS / "sub").mkdir()
    (ws / FLOWERS / "sub" / "x.txt").write_text("x")
    (ws / FLOWERS / "here").symlink_to("sub")
    assert ("TFC0006-E006", f"{FLOWERS}/here") in found(ws)


def test_a_time_range_without_columns_is_an_error(ws: Path) -> None:
    edit_yaml(ws / SALES, lambda d: d.pop("columns"))
    assert found(ws) == [("TFC0002-E003", SALES)]
    [finding] = engine.doctor(ws).findings
    assert finding.message == "time_range names column 'date', but the dataset lists no columns"


def test_a_date_only_end_is_the_whole_day() -> None:
    assert parse_time("2024-01-09", end=True) == parse_time("2024-01-09T23:59:59.999999Z")
    assert parse_time("2024-01-09") == parse_time("2024-01-09T00:00:00Z")
    assert parse_time("2024-01-09T06:00:00Z", end=True) == parse_time("2024-01-09T06:00:00Z")


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-09T06:00:00Z",
        "2024-02-30T06:00:00Z",
        "2024-01-09T24:00:00Z",
        "2024-01-09T06:00:60Z",
        "2024-01-09T06:0a:00Z",
        "2024-W02-2T06:00:00Z",
        "2024-01-09T06:00: 0Z",
        "\uff12024-01-09T06:00:0Z",
        "  20240109T06:00:00Z",
        "\t\t2024W022T06:00:00Z",
        "\u30002024-01-09T06:00:0Z",
    ],
)
def test_the_written_form_reads_as_any_other(text: str) -> None:
    # The form StrataML writes takes a shorter way; it must read as the same text with +00:00.
    assert parse_time(text) == parse_time(text[:-1] + "+00:00")


def windows(ws: Path, **given: tuple[str, str]) -> None:
    edit_yaml(
        ws / SALES_SPEC,
        lambda d: d["split"]["windows"].update({k: {"start": a, "end": b} for k, (a, b) in given.items()}),
    )


def test_a_train_window_ending_on_a_date_overlaps_a_window_starting_later_that_day(ws: Path) -> None:
    windows(ws, train=("2024-01-01", "2024-01-09"), val=("2024-01-09T12:00:00Z", "2024-01-10"))
    assert found(ws) == [("TFC0008-E006", SALES_SPEC)]
    windows(ws, train=("2024-01-01", "2024-01-08"), val=("2024-01-09T00:00:00Z", "2024-01-10"))
    assert found(ws) == []


def test_a_window_may_end_any_time_on_the_last_day_of_the_data(ws: Path) -> None:
    windows(ws, test=("2024-01-11", "2024-01-12T18:00:00Z"))
    assert found(ws) == []
    windows(ws, test=("2024-01-11", "2024-01-13T00:00:00Z"))
    assert found(ws) == [("TFC0008-E007", SALES_SPEC)]


def test_experiment_specs_are_not_signed(ws: Path) -> None:
    (ws / f"{SALES_SPEC}.asc").write_text("-----BEGIN PGP SIGNATURE-----\n")
    assert found(ws) == [("TFC0001-E002", f"{SALES_SPEC}.asc")]
    [finding] = engine.doctor(ws).findings
    assert finding.message.startswith("experiment specs are not signed")
    text = documents()["TFC-0001-workspace-layout.md"]
    assert "Experiment specs are\n  not signed" in text


def test_a_canonical_pointer_may_carry_extensions_as_the_contract_says() -> None:
    oid, ext = "a" * 64, "b" * 64
    written = lfs.format_pointer(oid, 12, [lfs.Extension(0, "foo", ext)])
    assert (
        written
        == f"version https://git-lfs.github.com/spec/v1\next-0-foo sha256:{ext}\noid sha256:{oid}\nsize 12\n".encode()
    )
    assert lfs.parse(written).canonical
    assert "the extensions by\npriority" in documents()["TFC-0006-integrity.md"]


def test_x_fields_pass_the_doctor_at_the_top_of_a_record_only(ws: Path) -> None:
    edit_yaml(ws / SALES, lambda d: d.update({"x-team": {"owner": "forecasting"}}))
    assert found(ws) == []
    edit_yaml(ws / SALES, lambda d: d["source"].update({"x-team": "nested"}))
    assert found(ws) == [("TFC0002-E001", SALES)]


@pytest.mark.parametrize(
    "declared,codes",
    [
        ("strataml/dataset/v1.0", []),
        ("strataml/dataset/v1.3", ["TFC0001-W002"]),
        ("strataml/dataset/v1.03", ["TFC0001-E007"]),
        ("strataml/dataset/v2", ["TFC0001-E007"]),
        ("strataml/dataset/v1.1\n", ["TFC0001-E007"]),
    ],
)
def test_a_newer_minor_is_a_warning_and_its_known_fields_are_still_checked(
    ws: Path, declared: str, codes: list[str]
) -> None:
    edit_yaml(ws / SALES, lambda d: d.update(schema=declared, added_later={"any": "shape"}))
    expected = [(code, SALES) for code in codes]
    if not codes:
        expected = [("TFC0002-E001", SALES)]  # v1.0 is v1: an unknown field is an error
    assert found(ws) == expected
    if codes == ["TFC0001-W002"]:
        edit_yaml(ws / SALES, lambda d: d.update(rows="many"))  # a field v1 knows is still judged
        assert sorted(found(ws)) == [("TFC0001-W002", SALES), ("TFC0002-E001", SALES)]


def test_every_changelog_names_the_rules_its_next_version_adds() -> None:
    for code, rule in registry().items():
        if rule.enforced_note == "since 0.2.0":
            changelog = documents()[rule.document].split("\n## Changelog\n", 1)[1]
            assert f"`{code}`" in changelog, f"{rule.document}: the changelog does not name {code}"


def test_a_workspace_can_pin_the_rules_its_strict_gate_enforces(ws: Path) -> None:
    edit_yaml(ws / SALES_SPEC, lambda d: d.update(gates=["test_f1 >= 0.5"]))  # TFC0003-E004, since 0.2.0
    assert [(f.code, f.severity) for f in engine.doctor(ws).findings] == [("TFC0003-E004", "error")]
    edit_yaml(ws / "strataml.yaml", lambda d: d.update(doctor={"rules": "0.1.0"}))
    report = engine.doctor(ws, strict=True)
    assert [(f.code, f.severity) for f in report.findings] == [("TFC0003-E004", "info")] and report.exit_code == 0
    # Rules of the pinned version stay what they were; an explicit override still wins.
    edit_yaml(ws / SALES, lambda d: d.update(digest="sha256:" + "ab" * 32))
    assert ("TFC0002-E002", "error") in [(f.code, f.severity) for f in engine.doctor(ws).findings]
    edit_yaml(
        ws / "strataml.yaml", lambda d: d.update(doctor={"rules": "0.1.0", "severity": {"TFC0003-E004": "warning"}})
    )
    assert ("TFC0003-E004", "warning") in [(f.code, f.severity) for f in engine.doctor(ws).findings]
    edit_yaml(ws / "strataml.yaml", lambda d: d.update(doctor={"rules": "latest"}))
    assert ("TFC0001-E001", "strataml.yaml") in found(ws)


def test_pinning_the_version_the_tool_says_keeps_every_rule_it_enforces(ws: Path) -> None:
    """`strataml --version` was 0.1.0 while 22 rules said "since 0.2.0": a team that pinned the
    version it installed turned them into infos (TFC0003-E011 among them) without a word."""
    from strataml import __version__
    from strataml.doctor.engine import policy_for, version
    from strataml.workspace import load_config

    newest = max(version(r.enforced_note.removeprefix("since ").strip()) or (0,) for r in registry().values())
    assert version(__version__) is not None and version(__version__) >= newest
    edit_yaml(ws / "strataml.yaml", lambda d: d.update(doctor={"rules": __version__}))
    assert policy_for(load_config(ws)).severity == {}


def test_a_pin_never_weakens_below_what_that_version_enforced(ws: Path) -> None:
    import models_helpers as ledgers

    # TFC0005-E009 took over from TFC0005-E001 in 0.2.0: pinned at 0.1.0 it stays an error, as it was.
    ledgers.write_ledger(ws, [(ledgers.ref(1), "candidate"), (ledgers.ref(9), "candidate")])
    edit_yaml(ws / "strataml.yaml", lambda d: d.update(doctor={"rules": "0.1.0"}))
    assert [(f.code, f.severity) for f in engine.doctor(ws).findings] == [("TFC0005-E009", "error")]
    # A pin below the first rules pins nothing and says so, rather than silencing every rule.
    edit_yaml(ws / "strataml.yaml", lambda d: d.update(doctor={"rules": "0.0.0"}))
    report = engine.doctor(ws)
    assert {(f.code, f.severity) for f in report.findings} == {("TFC0005-E009", "error"), ("TFC0001-E001", "error")}


def test_a_pin_keeps_the_rules_that_guard_the_gate(ws: Path) -> None:
    """Found in a contract audit: pinned at 0.1.0, a metadata file past the node limit (E110:
    not read further) and a newer minor schema (W002: fields it does not know, unread) were
    infos, and passed --strict where 0.1.0 read and refused them; a policy change (W001) passed
    unreviewed."""
    from strataml.doctor.engine import policy_for
    from strataml.workspace import load_config

    edit_yaml(ws / "strataml.yaml", lambda d: d.update(doctor={"rules": "0.1.0"}))
    kept = policy_for(load_config(ws)).severity
    guards = ("TFC0001-W001", "TFC0001-E110", "TFC0001-E010", "TFC0001-W002", "TFC0006-W013", "TFC0006-W015")
    assert all(code not in kept for code in guards), kept
    assert kept.get("TFC0003-E004") == "info"  # (a rule merely newer than the pin: still seen, not enforced)
    edit_yaml(ws / SALES, lambda d: d.update(schema="strataml/dataset/v1.1"))
    text = (ws / SALES).read_text("utf-8") + "".join(f"x-k{i}: {i}\n" for i in range(130_000))
    (ws / "datasets/sales/1/dataset.yaml").write_text(text, "utf-8")
    report = engine.doctor(ws, strict=True)
    assert ("TFC0001-E110", "error") in [(f.code, f.severity) for f in report.findings] and report.exit_code == 2


@pytest.mark.parametrize("threshold", ["1e999", "9" * 400, "1e-999"])
def test_a_gate_threshold_is_a_finite_number(ws: Path, threshold: str) -> None:
    edit_yaml(ws / SALES_SPEC, lambda d: d.update(gates=[f"test_accuracy >= {threshold}"]))
    assert found(ws) == [("TFC0003-E002", SALES_SPEC)]


def test_each_rule_is_read_whole_where_it_wraps_onto_more_lines() -> None:
    # SARIF's rule descriptions, `--list-rules --format json` and the API's rules carry the
    # summary: a rule cut at its first line ended mid-sentence ("... a version with").
    for code, rule in registry().items():
        assert rule.summary.endswith("."), (code, rule.summary)
    assert registry()["TFC0002-E003"].summary.endswith("MUST have one.")


SALES_RUN = "runs/20260101T000000Z-sales-forecast-a1b2c3/run.yaml"


def test_a_run_whose_params_split_by_time_repeats_its_split(ws: Path) -> None:
    # TFC-0003 §2: the leakage rules read only `split`; a run that dropped it (or called it a
    # ratio split) while its params say time switched them off.
    edit_yaml(ws / SALES_RUN, lambda d: d.pop("split"))
    [issue] = [f for f in engine.doctor(ws).findings if f.path == SALES_RUN]
    assert issue.code == "TFC0003-E001" and "params say `split.kind: time`" in issue.message
    edit_yaml(ws / SALES_RUN, lambda d: d.update(split={"kind": "ratio", "train": 0.8, "val": 0.1, "test": 0.1}))
    assert ("TFC0003-E001", SALES_RUN) in found(ws)


def test_a_spec_registering_a_model_under_a_name_no_ref_holds_is_an_error(ws: Path) -> None:
    """`register: {model: my model}` passed the doctor and `run --dry-run`; the run trained, then
    stopped at registration."""
    spec = "experiments/flowers-logreg.yaml"
    edit_yaml(ws / spec, lambda d: d.update(register={"model": "my model"}))
    assert found(ws) == [("TFC0001-E003", spec)]
    edit_yaml(ws / spec, lambda d: d.update(register={"model": "my-model"}))
    assert found(ws) == []


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        # train ran into the test window, and split kept only the train window the leakage rules read
        (lambda d: d["split"]["windows"].pop("test") and d["split"]["windows"].pop("val"),
         ["the test window is 2024-01-11..2024-01-12 in params but missing in split",
          "the val window is 2024-01-09..2024-01-10 in params but missing in split"]),
        (lambda d: d["split"].update(column="created"), ["split.column is date in params but created in split"]),
        # a window moved to the data (a plugin returns the split it used): what the leakage rules judge
        (lambda d: d["split"]["windows"]["val"].update(end="2024-01-09T12:00:00Z"), []),
    ],
)
def test_a_run_s_split_holds_what_its_params_list(ws: Path, edit: Any, said: list[str]) -> None:
    """TFC-0003 §2: a time split is recorded twice, as the spec set it (params) and as the run
    used it (split), which the leakage rules read; a split that left out a window its params
    list, or moved to another column, passed unchecked (a run trained on its test period passed)."""
    windows = {"train": ("2024-01-01", "2024-01-08"), "val": ("2024-01-09", "2024-01-10"), "test": ("2024-01-11", "2024-01-12")}
    flat = {f"split.windows.{w}.{end}": v for w, pair in windows.items() for end, v in zip(("start", "end"), pair)}
    edit_yaml(ws / SALES_RUN, lambda d: d["params"].update(flat, **{"split.column": "date"}))
    assert found(ws) == []  # (as `strataml run` writes it: both say the same)
    edit_yaml(ws / SALES_RUN, edit)
    findings = [f for f in engine.doctor(ws).findings if f.path == SALES_RUN and f.code == "TFC0003-E001"]
    assert sorted(f.message.split(":")[0] for f in findings) == said, findings
    assert all("the leakage rules (TFC-0008) read split" in f.message for f in findings), findings


def test_a_run_whose_params_train_into_its_test_period_leaks_whatever_its_split_says(ws: Path) -> None:
    """Found by a review: split may narrow a window (a plugin moves it to the data), so a hand
    edit could leave the spec's leaking windows in params and a clean split for the leakage
    rules to read. The windows params list are held to the same order (TFC0008-E006)."""
    windows = {"train": ("2024-01-01", "2024-01-11"), "val": ("2024-01-09", "2024-01-10"), "test": ("2024-01-11", "2024-01-12")}
    flat = {f"split.windows.{w}.{end}": v for w, pair in windows.items() for end, v in zip(("start", "end"), pair)}
    edit_yaml(ws / SALES_RUN, lambda d: d["params"].update(flat, **{"split.column": "date"}))
    said = [f.message for f in engine.doctor(ws).findings if f.path == SALES_RUN and f.code == "TFC0008-E006"]
    assert said == [
        "train window as the run's params list it ends 2024-01-11, not before the val window starts 2024-01-09: "
        "the model can see the period it is evaluated on",
        "train window as the run's params list it ends 2024-01-11, not before the test window starts 2024-01-11: "
        "the model can see the period it is evaluated on",
    ], said


def test_a_run_naming_an_experiment_is_judged_as_its_run_whatever_its_plugin_key(ws: Path) -> None:
    """A run relabelled `plugin: {key: mlflow-import}` (the importer's key: its params are MLflow's
    and say nothing of a split) left its split out and passed; the importer writes no experiment,
    so a run that names one is that experiment's."""
    edit_yaml(ws / SALES_RUN, lambda d: (d.pop("split"), d["plugin"].update(key="mlflow-import")))
    [issue] = [f for f in engine.doctor(ws).findings if f.path == SALES_RUN]
    assert issue.code == "TFC0003-E001" and "params say `split.kind: time`" in issue.message, issue
    edit_yaml(ws / SALES_RUN, lambda d: d.pop("experiment"))
    assert [f for f in engine.doctor(ws).findings if f.path == SALES_RUN and f.code == "TFC0003-E001"] == []


def test_a_time_range_names_the_dataset_s_time_column(ws: Path) -> None:
    """TFC-0002 §2: a time range is "the column holding time" and the range found in it. One
    naming an integer feature beside a column of role `time` passed, and the leakage rules held
    runs' windows to the range of that feature."""
    edit_yaml(ws / SALES, lambda d: d["time_range"].update(column="units"))
    said = [f for f in engine.doctor(ws).findings if f.path == SALES]
    assert [f.code for f in said] == ["TFC0002-E003"], said
    assert "time_range names column 'units', but the dataset's time column (role: time) is 'date'" in said[0].message
    assert "--time-column date" in said[0].hint, said[0]


@pytest.mark.parametrize(("file", "inside"), [("data", "DATA/part.csv"), ("data", "data/part.csv"), ("\u00e1b", "a\u0301b/x/y.csv")])
def test_a_file_named_as_the_folder_of_another_is_a_duplicate(ws: Path, file: str, inside: str) -> None:
    """TFC-0001 §3 / TFC0008-E004: names are compared case- and accent-folded; `data` and
    `DATA/part.csv` in one version passed, and no checkout on a case-insensitive disk holds both."""
    import hashlib

    folder = ws / "datasets/sales/1"
    entries = []
    for rel in (file, inside):
        if (folder / rel).parent.exists() and not (folder / rel).parent.is_dir():
            continue  # (a case-sensitive disk cannot hold `data` and `data/part.csv` either: pinned, not written)
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(rel.encode())
    for rel in (file, inside):
        entries.append({"path": rel, "sha256": hashlib.sha256(rel.encode()).hexdigest(), "size": len(rel.encode())})
    edit_yaml(ws / SALES, lambda d: d["files"].extend(entries))
    said = [f for f in engine.doctor(ws).findings if f.code == "TFC0008-E004"]
    assert [(f.path, f.message.split(" is a file")[0]) for f in said] == [(SALES, f"files[1].path '{file}'")], said
    assert f"'{inside}' needs a folder of that name" in said[0].message, said


def test_only_a_record_s_first_misspellings_get_a_did_you_mean(ws: Path) -> None:
    """Found by an attacker: each missing ref and unknown column was compared with every name for
    its "did you mean": 2,000 near-miss refs in one run held the gate 16 s, 1,000 features 105 s.
    Every one is still found; the first ten of a record are told what was meant."""
    from strataml.spelling import SUGGESTED_PER_RECORD

    edit_yaml(ws / SALES_SPEC, lambda d: d["data"].update(features=[f"unitz{i}" for i in range(25)]))
    said = [f.message for f in engine.doctor(ws).findings if f.code == "TFC0003-E005" and "unitz" in f.message]
    assert len(said) == 25 and sum("did you mean" in m for m in said) == SUGGESTED_PER_RECORD - 1, said
    edit_yaml(ws / SALES_RUN, lambda d: d["inputs"].extend({"ref": f"dataset:sale{i}@1", "digest": "sha256:" + "0" * 64} for i in range(25)))
    hints = [f.hint for f in engine.doctor(ws).findings if f.code == "TFC0008-E001" and f.path == SALES_RUN]
    assert len(hints) == 25 and sum(h.startswith("did you mean") for h in hints) == SUGGESTED_PER_RECORD, hints
