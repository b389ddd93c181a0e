"""`strataml compare`: runs and model versions side by side, the one comparison every reader shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import models_helpers
from conftest import edit_yaml, invoke
from strataml.read import saved
from strataml.read.compare import compare, values
from strataml.read.query import Graph
from test_diff import new_run, new_version

RUN = "run:20260101T000000Z-sales-forecast-a1b2c3"


@pytest.fixture
def two(ws: Path) -> tuple[Path, str, str]:
    """Model 1 (production) and model 2 from a better run with another param."""
    models_helpers.reach(ws, "production")
    run = new_run(ws, "b0b0b0", 0.875)
    edit_yaml(ws / "runs" / run.split(":", 1)[1] / "run.yaml", lambda d: d["params"].update({"model.n_estimators": 50}))
    new_version(ws, 2, run, 0.875, passed=True)
    return ws, run, "model:sales-model@2"


def cli_json(ws: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code, out, err = invoke(ws, "compare", *args, "--format", "json", capsys=capsys)
    assert code == 0, err
    return json.loads(out)


def rows(result: dict, group: str) -> dict[str, dict]:
    return {r["key"]: r for g in result["groups"] if g["name"] == group for r in g["rows"]}


def test_runs_side_by_side_with_the_best_marked_by_the_gates_direction(two, capsys) -> None:
    ws, run, _model = two
    result = cli_json(ws, capsys, RUN, run)
    assert result["refs"] == [RUN, run]
    accuracy = rows(result, "metrics")["test_accuracy"]
    assert accuracy == {"key": "test_accuracy", "values": [0.75, 0.875], "same": False, "best": [1]}
    assert result["better"]["test_accuracy"] == "higher"
    assert rows(result, "params")["model.n_estimators"]["values"] == [10, 50]
    assert rows(result, "inputs")["dataset:sales@1"]["same"] is True  # the same data, by digest
    assert rows(result, "environment")["packages.scikit-learn"]["values"] == ["1.9.1", "1.9.1"]
    only = cli_json(ws, capsys, RUN, run, "--diff-only")
    assert "dataset:sales@1" not in rows(only, "inputs") and "model.n_estimators" in rows(only, "params")


def test_model_versions_bring_their_runs_params_and_state(two, capsys) -> None:
    ws, _run, model = two
    result = cli_json(ws, capsys, "model:sales-model@1", model)
    record = rows(result, "record")
    assert record["state"]["values"] == ["production", "registered"] and record["gate"]["values"] == ["PASS", "PASS"]
    assert rows(result, "params")["model.n_estimators"]["values"] == [10, 50]
    assert rows(result, "metrics")["test_accuracy"]["best"] == [1]


def test_text_and_markdown(two, capsys) -> None:
    ws, run, _model = two
    code, out, _ = invoke(ws, "compare", RUN, run, capsys=capsys)
    line = next(x for x in out.splitlines() if x.startswith("test_accuracy"))
    assert line.split() == ["test_accuracy", "0.75", "0.875", "*"]
    code, out, _ = invoke(ws, "compare", RUN, run, "--format", "markdown", capsys=capsys)
    from strataml.reporters.github import markdown_text as m

    assert f"| {m('test_accuracy')} | {m('0.75')} | {m('0.875 *')} |" in out and "| **metrics** |" in out


@pytest.mark.parametrize("args,said", [
    ((RUN,), "1 record: compare takes 2 to 20"),
    ((RUN, "dataset:sales@1"), "dataset:sales@1 is a dataset: compare takes runs and model versions"),
    ((RUN, "run:nope"), "no record run:nope"),
    ((RUN, RUN), f"{RUN} is given twice: compare shows different records side by side"),
    ((RUN, "runs/" + RUN.split(":", 1)[1]), f"{RUN} is given twice"),  # a path and its ref: one record
])
def test_refused_with_a_reason(ws: Path, capsys, args: tuple[str, ...], said: str) -> None:
    code, _out, err = invoke(ws, "compare", *args, capsys=capsys)
    assert code == 3 and said in err and "Traceback" not in err


def test_the_dashboard_lays_out_the_same_values(two, capsys) -> None:
    from strataml.read.dashboard import payload

    ws, run, model = two
    graph = Graph(saved.current(ws)[0])
    data = payload(graph, None, None, None)
    for ref in (RUN, run, model):
        assert data["records"][ref]["compare"] == values(graph, graph.nodes[ref])
    assert "compare" not in data["records"]["dataset:sales@1"]
    # Every row the CLI shows comes from those values: the page's union of keys is compare's.
    result = compare(graph, [RUN, model])
    for group in result["groups"]:
        keys = {k for ref in (RUN, model) for k in data["records"][ref]["compare"][group["name"]]}
        assert {r["key"] for r in group["rows"]} == keys


def test_report_of_an_experiment_across_runs_and_seeds(ws: Path, capsys) -> None:
    new_run(ws, "b0b0b0", 0.875, "02")
    third = new_run(ws, "c0c0c0", 0.625, "03")
    edit_yaml(ws / "runs" / third.split(":", 1)[1] / "run.yaml", lambda d: d.update(seed=4))
    code, out, err = invoke(ws, "report", "experiment:sales-forecast", "--format", "json", capsys=capsys)
    assert code == 0, err
    found = json.loads(out)
    assert (found["runs"], found["succeeded"], found["failed"]) == (3, 3, 0)
    accuracy = next(m for m in found["metrics"] if m["name"] == "test_accuracy")
    assert accuracy["gated"] and accuracy["better"] == "higher"
    assert accuracy["mean"] == pytest.approx(0.75) and accuracy["std"] == pytest.approx(0.125)
    assert accuracy["best"]["run"] == "run:20260102T000000Z-sales-forecast-b0b0b0"
    assert (accuracy["first"], accuracy["last"]) == (0.75, 0.625)
    assert [p["value"] for p in accuracy["series"]] == [0.75, 0.875, 0.625]  # in time order
    assert found["best_run"] == {"run": "run:20260102T000000Z-sales-forecast-b0b0b0", "metric": "test_accuracy", "value": 0.875}
    [config] = found["configurations"]  # one configuration, three runs, two seeds
    assert len(config["runs"]) == 3 and config["seeds"] == [3, 4]
    assert config["metrics"]["test_accuracy"]["n"] == 3
    code, out, _ = invoke(ws, "report", "experiment:sales-forecast", capsys=capsys)
    from strataml.reporters.github import markdown_text as m

    assert f"| {m('test_accuracy')} (gate) | higher | 0.8750 | 0.7500 | 0.1250 | 0.6250 | 0.8750 | 0.7500 → 0.6250 ▼ |" in out
    assert f"Best run: **{m('run:20260102T000000Z-sales-forecast-b0b0b0')}**" in out
    code, bare, _ = invoke(ws, "report", "sales-forecast", capsys=capsys)
    assert code == 0 and bare == out  # the experiment's bare name will do
    code, named, _ = invoke(ws, "report", "experiment", "sales-forecast", capsys=capsys)
    assert code == 0 and named == out  # as `report --help` lists it
    code, said, err = invoke(ws, "report", "sales-forecast", "-o", "report.md", capsys=capsys)
    assert code == 0 and said == "" and (ws / "report.md").read_text("utf-8") == out, err
    code, _o, err = invoke(ws, "report", "sales-forecast", "-o", "experiments/report.md", capsys=capsys)
    assert code == 3 and "not writing" in err  # -o's rules, as every command's
    # For a person: the same layout, the ids as they are (`run\\:2026...` cannot be pasted into show).
    code, text, _ = invoke(ws, "report", "sales-forecast", "--format", "text", capsys=capsys)
    assert "Best run: **run:20260102T000000Z-sales-forecast-b0b0b0** (test_accuracy = 0.8750)." in text
    assert "\\" not in text and text.count("\n") == out.count("\n")
    import sys

    with pytest.MonkeyPatch.context() as patch:  # at a terminal, text is what it prints unasked
        patch.setattr(sys.stdout, "isatty", lambda: True)
        assert invoke(ws, "report", "sales-forecast", capsys=capsys)[1] == text
    code, helped, _ = invoke(ws, "report", "--help", capsys=capsys)
    assert [line.split()[0] for line in helped.split("Commands:")[1].splitlines() if line.strip()] == ["experiment", "merge"]
    code, _out, err = invoke(ws, "report", RUN, capsys=capsys)
    assert code == 3 and "is not an experiment" in err


def test_piped_text_holds_every_value_whole_and_a_terminal_cut_shows(two, capsys, monkeypatch) -> None:
    """Piped, `strataml compare` prints each value whole (a config hash is 71 characters); fitted
    to a terminal, a value cut at 48 ends in '…', never looks complete."""
    from strataml.read.compare import text

    monkeypatch.delenv("COLUMNS", raising=False)
    ws, run, _model = two
    code, out, _ = invoke(ws, "compare", RUN, run, capsys=capsys)
    assert code == 0
    result = compare(Graph(saved.current(ws)[0]), [RUN, run])
    hashes = [v for g in result["groups"] for r in g["rows"] for v in r["values"] if str(v).startswith("sha256:")]
    assert hashes and all(h in out for h in hashes)
    cut = text(result, cap=48)
    assert all(h not in cut for h in hashes) and all(h[:47] + "…" in cut for h in hashes)


def test_columns_asks_for_a_terminals_layout_as_for_every_table(two, capsys, monkeypatch) -> None:
    ws, run, _model = two
    monkeypatch.setenv("COLUMNS", "100")
    code, out, _ = invoke(ws, "compare", RUN, run, capsys=capsys)
    assert code == 0 and "…" in out


def test_a_report_of_one_run_says_run(ws: Path, capsys) -> None:
    code, out, err = invoke(ws, "report", "sales-forecast", capsys=capsys)
    assert code == 0, err
    assert "\n1 run: 1 succeeded, 0 failed.\n" in out


def test_identical_runs_have_their_value_as_mean_and_no_spread() -> None:
    from strataml.read.report import _stats

    # (sum() / n gave 0.10036300000000001 and a spread of 1.55e-17.)
    assert _stats([0.100363] * 3) == {"n": 3, "mean": 0.100363, "std": 0.0, "min": 0.100363, "max": 0.100363}


def test_finite_values_whose_sum_is_not_stop_no_report() -> None:
    """Two runs at 1.7e308: each value finite, their sum not; math.fsum raised OverflowError, an
    internal error in `report` and the dashboard."""
    from strataml.read.report import _stats

    assert _stats([1.7e308, 1.7e308]) == {"n": 2, "mean": 1.7e308, "std": 0.0, "min": 1.7e308, "max": 1.7e308}
    spread = _stats([1.7e308, -1.7e308, 1.0])
    assert spread["mean"] == pytest.approx(1 / 3) and spread["std"] in (None, float("inf"))


def test_a_columns_of_digits_int_refuses_is_no_width(two, capsys, monkeypatch) -> None:
    """`COLUMNS=²` passed str.isdigit and int() refused it: an internal error in every table."""
    ws, run, _model = two
    monkeypatch.setenv("COLUMNS", "²")
    code, out, err = invoke(ws, "compare", RUN, run, capsys=capsys)
    assert code == 0 and "internal error" not in err, err
    code, out, err = invoke(ws, "list", "runs", capsys=capsys)
    assert code == 0 and "internal error" not in err, err


def test_params_across_seeds_are_spelt_as_the_spec_spells_them(ws: Path, capsys) -> None:
    from strataml.read.report import markdown

    report = {"experiment": "experiment:e", "runs": 2, "succeeded": 2, "failed": 0, "metrics": [], "best_run": None,
              "configurations": [{"params": {"split.stratify": True, "model.C": None}, "runs": ["run:a", "run:b"],
                                  "seeds": [1, 2], "metrics": {}}]}
    text = markdown(report)
    assert "| metric |" not in text  # (no metric: no empty table)
    assert "split.stratify=true" in text.replace("\\", "") and "True" not in text and "None" not in text, text


def test_a_run_whose_metadata_does_not_load_is_said_not_left_out(two, capsys) -> None:
    """`report experiment` counted 0 runs and `compare` showed a column of dashes, neither saying
    the run's run.yaml does not load (`list runs` did)."""
    ws, run, model = two
    meta = ws / "runs" / run.split(":", 1)[1] / "run.yaml"
    meta.write_text(meta.read_text() + "oops: [\n")
    assert run in cli_json(ws, capsys, run, model)["with_errors"]  # (its model version too: its run is broken)
    code, out, err = invoke(ws, "compare", run, model, capsys=capsys)
    assert code == 0 and run in out.splitlines()[-1] and "doctor errors" in out and "strataml doctor" in out, err
    code, out, err = invoke(ws, "report", "experiment:sales-forecast", "--format", "json", capsys=capsys)
    assert code == 0 and json.loads(out)["unattributed"] == [run], err
    code, out, err = invoke(ws, "report", "experiment:sales-forecast", "--format", "text", capsys=capsys)
    assert code == 0 and "Not counted: 1 run of the workspace whose metadata does not load" in out, err


def test_a_report_reads_each_runs_metrics_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by an attacker: the report went over every run for each metric name (and each
    configuration's runs for every name), runs x names; a thousand runs with a hundred names of
    their own each took the dashboard a minute. Counted, not timed: each value is read twice
    (the metric's series and its configuration's), whatever the number of runs."""
    from strataml.read import report
    from strataml.read.query import Graph

    runs, names = 60, 5
    nodes = [{"id": "experiment:e", "kind": "experiment", "attrs": {"gates": ["m0_0 >= 0.1"]}}]
    for i in range(runs):
        metrics = {f"m{i}_{j}": j / 10 for j in range(names)}
        attrs = {"experiment": "experiment:e", "status": "succeeded", "created_at": f"2026-01-01T00:00:{i:02d}Z",
                 "metrics": metrics, "params": {"p": i % 30, "seed": i}, "seed": i}
        nodes.append({"id": f"run:r{i:02d}", "kind": "run", "attrs": attrs})
    graph = Graph({"nodes": nodes, "edges": [], "findings": []})
    calls = 0
    real = report.as_float

    def counted(value: object) -> float | None:
        nonlocal calls
        calls += 1
        return real(value)

    monkeypatch.setattr(report, "as_float", counted)
    done = report.experiment(graph, "experiment:e")
    assert calls == 2 * runs * names, calls
    assert len(done["metrics"]) == runs * names and done["best_run"]["metric"] == "m0_0"
    assert [m["n"] for m in done["metrics"]] == [1] * runs * names
    (first, *_rest) = done["configurations"]
    assert first["runs"] == ["run:r00", "run:r30"] and sorted(first["metrics"]) == sorted(
        [f"m0_{j}" for j in range(names)] + [f"m30_{j}" for j in range(names)]
    )
