"""The index and its readers: golden index, determinism, staleness, list / show / lineage output."""

from __future__ import annotations

import json
import re
import os
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, edit_yaml, invoke as cli
from models_helpers import add_version, reach
from strataml import schemas
from strataml.read import saved
from strataml.read.build import dumps

GOLDEN = Path(__file__).parent / "golden" / "example-index.json"
RUN = "run:20260101T000000Z-sales-forecast-a1b2c3"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """The repository's example workspace, copied out of git (so git state cannot change counts)."""
    target = tmp_path / "example"
    target.mkdir()
    for name in ("strataml.yaml", "datasets", "experiments", "runs", "models", "tfc"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, target / name)
    return target


def test_example_index_matches_golden(example: Path) -> None:
    text = dumps(saved.make(example))
    if os.environ.get("STRATAML_UPDATE_GOLDEN"):
        GOLDEN.write_text(text, "utf-8")
    assert text == GOLDEN.read_text("utf-8")
    index = json.loads(text)
    assert schemas.validate("index", index) == []
    kinds = {n["kind"] for n in index["nodes"]}
    assert kinds == {"dataset", "experiment", "run", "model"}
    assert {e["kind"] for e in index["edges"]} >= {"input", "experiment", "produced"}


def test_index_is_deterministic_and_written_atomically(ws: Path, tmp_path: Path, capsys) -> None:
    assert cli(ws, "index", capsys=capsys)[0] == 0
    first = (ws / ".strataml/index.json").read_bytes()
    other = tmp_path / "other"
    shutil.copytree(ws, other)
    assert cli(other, "index", capsys=capsys)[0] == 0
    assert (other / ".strataml/index.json").read_bytes() == first
    code, out, _ = cli(ws, "index", "-o", "-", capsys=capsys)
    assert code == 0 and out.encode() == first
    code, out, _ = cli(ws, "index", "-o", "-", "--timestamp", capsys=capsys)
    assert "generated_at" in json.loads(out)
    assert not [p for p in (ws / ".strataml").iterdir() if p.name.endswith(".tmp")]


def test_readers_rebuild_a_stale_index(ws: Path) -> None:
    index, rebuilt = saved.current(ws)
    assert rebuilt
    old = os.stat(ws / "datasets/sales/1/dataset.yaml")
    os.utime(ws / "datasets/sales/1/dataset.yaml", ns=(old.st_atime_ns - 10**10, old.st_mtime_ns - 10**10))  # out of the racy window
    _, rebuilt = saved.current(ws)
    assert rebuilt  # a file's stat changed
    _, rebuilt = saved.current(ws)
    assert not rebuilt
    reach(ws, "candidate")  # a promotion is a change the readers must see
    index, rebuilt = saved.current(ws)
    assert rebuilt
    assert {n["id"]: n for n in index["nodes"]}["model:sales-model@1"]["attrs"]["state"] == "candidate"


def test_index_keeps_findings_per_node(ws: Path) -> None:
    (ws / "models/sales-model/1/model.bin").write_bytes(b"q" * 120)
    nodes = {n["id"]: n for n in saved.make(ws)["nodes"]}
    assert nodes["model:sales-model@1"]["findings"]["errors"] == 1
    assert nodes["dataset:sales@1"]["findings"] == {"errors": 0, "warnings": 0, "infos": 0}


def test_list_tables_fit_80_columns(example: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # a terminal 80 columns wide
    for what in ("datasets", "runs", "models", "experiments"):
        code, out, _ = cli(example, "list", what, capsys=capsys)
        assert code == 0
        lines = out.splitlines()
        assert len(lines) >= 3 and max(map(len, lines)) <= 80, out
    code, out, _ = cli(example, "list", "runs", capsys=capsys)
    assert "20261122T200038Z-iris-logreg-448b2a" in out  # ids are never cut
    assert "succeeded" in out and "4 runs, all healthy" in out
    # Too narrow for every column: the numbers and their headers stay whole (a cut number, "0.9…",
    # misleads; "test_…" names no metric); a metric column the width has no room for is named as
    # left out, one asked for by name never is; the line is left longer, for the terminal to wrap.
    monkeypatch.setenv("COLUMNS", "60")
    for what in ("runs", "models"):
        code, out, _ = cli(example, "list", what, capsys=capsys)
        lines = out.splitlines()
        assert code == 0 and re.fullmatch(r"test_[a-z0-9_]+", lines[0].split()[-1]), out
        assert all(re.fullmatch(r"0\.\d{3,4}", line.split()[-1]) for line in lines[1:-2]), out
        assert lines[-2].startswith("(no room for test_") and lines[-2].endswith("or --format json shows it)"), out
    asked = ["--metric", "test_accuracy", "--metric", "test_roc_auc"]
    code, out, _ = cli(example, "list", "models", *asked, capsys=capsys)
    assert out.splitlines()[0].split()[-2:] == ["test_accuracy", "test_roc_auc"] and "no room" not in out, out


@pytest.mark.parametrize("fresh", [False, True], ids=["rebuilt", "saved-rows"])
def test_healthy_rows_in_an_unhealthy_workspace_say_so(example: Path, capsys, fresh: bool) -> None:
    """Findings about no listed record (the config here) are named under an all-healthy table,
    from a rebuild and from the rows saved beside a fresh index alike."""
    (example / "strataml.yaml").write_text((example / "strataml.yaml").read_text() + "not_a_setting: 1\n")
    (example / "datasets" / "stray.txt").write_text("a file outside every record\n")
    if fresh:
        assert cli(example, "index", capsys=capsys)[0] == 0
    code, out, _ = cli(example, "list", "runs", capsys=capsys)
    assert code == 0
    last = out.splitlines()[-1]
    assert last.startswith("4 runs, all healthy; the workspace has 2 errors"), out
    assert last.endswith("(see `strataml doctor`)")


def test_list_filter_sort_limit_json(example: Path, capsys) -> None:
    code, out, _ = cli(example, "list", "runs", "--sort", "test_accuracy", "--desc", "--format", "json", capsys=capsys)
    rows = json.loads(out)
    accuracies = [r["metrics"]["test_accuracy"] for r in rows]
    assert accuracies == sorted(accuracies, reverse=True) and len(rows) == 4
    code, out, _ = cli(example, "list", "runs", "--filter", "experiment=iris-logreg", "--format", "json", capsys=capsys)
    assert [r["experiment"] for r in json.loads(out)] == ["iris-logreg"]
    code, out, _ = cli(example, "list", "runs", "--filter", "purpose=synthetic", "--format", "json", capsys=capsys)
    assert len(json.loads(out)) == 1
    code, out, _ = cli(example, "list", "models", "--limit", "1", "--sort", "name", "--format", "json", capsys=capsys)
    assert [r["name"] for r in json.loads(out)] == ["breast-cancer-classifier"]
    code, out, _ = cli(example, "list", "runs", "--filter", "status=failed", capsys=capsys)
    assert code == 0 and out == "No runs match: none has status=failed (status: succeeded).\n"
    code, _, err = cli(example, "list", "runs", "--sort", "nope", capsys=capsys)
    assert code == 3 and "test_accuracy" in err
    assert err.rstrip().endswith("more)")  # a list cut at 20 names says so (29 keys here)
    # A folder of records named as one: "no record runs".
    code, _, err = cli(example, "show", "runs/", capsys=capsys)
    assert code == 3 and "runs/ is the folder of every run" in err and "strataml list runs" in err, err
    # A comparison read as the key 'test_accuracy>': "no field named" sent the user looking for one.
    for comparison in ("test_accuracy>=0.9", "test_accuracy>0.9", "status==succeeded", "status!=failed"):
        code, _, err = cli(example, "list", "runs", "--filter", comparison, capsys=capsys)
        assert code == 3 and "does not compare" in err and "--sort METRIC --desc --limit 5" in err, err


def test_a_metric_filter_matches_the_value_the_table_shows(example: Path, capsys) -> None:
    from strataml.numbers import number

    code, out, _ = cli(example, "list", "runs", "--format", "json", capsys=capsys)
    raw = json.loads(out)[0]["metrics"]["test_roc_auc"]
    assert number(raw) != repr(raw)  # the table rounds it
    for wanted in (number(raw), repr(raw)):
        code, out, _ = cli(example, "list", "runs", "--filter", f"test_roc_auc={wanted}", "--format", "json", capsys=capsys)
        assert code == 0 and [r["metrics"]["test_roc_auc"] for r in json.loads(out)] == [raw], wanted
    code, out, _ = cli(example, "list", "runs", "--filter", "test_roc_auc=1", capsys=capsys)
    assert out == "No runs match: none has test_roc_auc=1.\n"  # rounding to what was typed would have matched 0.99
    code, _, err = cli(example, "list", "runs", "--filter", "status", capsys=capsys)
    assert code == 3 and "KEY=VALUE" in err
    code, _, err = cli(example, "list", "things", capsys=capsys)
    assert code == 3
    assert err.startswith("strataml: error: 'things' is not something to list: say datasets, runs, models or experiments\n")


def test_list_models_shows_state_gate_and_signature(ws: Path, capsys) -> None:
    add_version(ws, 2)
    reach(ws, "production")
    code, out, _ = cli(ws, "list", "models", "--filter", "state=production", "--format", "json", capsys=capsys)
    rows = json.loads(out)
    assert [(r["id"], r["state"], r["gate"], r["signed"]) for r in rows] == [("model:sales-model@1", "production", "PASS", "unsigned")]
    code, out, _ = cli(ws, "list", "models", capsys=capsys)
    assert "production" in out and "registered" in out


def test_show_names_neighbours_and_suggests_on_typos(ws: Path, capsys) -> None:
    code, out, _ = cli(ws, "show", RUN, capsys=capsys)
    assert code == 0
    assert "<- experiment:sales-forecast  (experiment)" in out and "<- dataset:sales@1  (input)" in out
    assert "-> model:sales-model@1  (produced)" in out and "status: succeeded" in out
    code, out, _ = cli(ws, "show", "model:sales-model", "--format", "json", capsys=capsys)  # latest version
    shown = json.loads(out)
    assert shown["id"] == "model:sales-model@1" and shown["upstream"] and shown["signature"]["status"] == "unsigned"
    assert shown["history"] == []
    reach(ws, "staging")
    code, out, _ = cli(ws, "show", "model:sales-model@1", capsys=capsys)
    assert "registered -> candidate  by Test <t@example.org>: test" in out and "candidate -> staging" in out
    code, _, err = cli(ws, "show", "model:sales-modle@1", capsys=capsys)
    assert code == 3 and "did you mean model:sales-model@1" in err


def test_lineage_formats(ws: Path, capsys) -> None:
    code, out, _ = cli(ws, "lineage", "model:sales-model@1", "--upstream", capsys=capsys)
    assert code == 0 and out.splitlines()[0] == "model:sales-model@1"
    assert f"<- {RUN}  (produced)" in out and "<- experiment:sales-forecast  (experiment)" in out and "downstream" not in out
    code, out, _ = cli(ws, "lineage", "dataset:sales@1", "--downstream", "--format", "json", capsys=capsys)
    body = json.loads(out)
    assert {s["ref"] for s in body["downstream"]} == {RUN, "model:sales-model@1", "experiment:sales-forecast"}
    assert all(e["kind"] in ("input", "experiment", "produced", "derived") for e in body["edges"])
    code, out, _ = cli(ws, "lineage", RUN, "--format", "mermaid", capsys=capsys)
    assert out.startswith("graph LR\n") and "-->|produced|" in out
    code, out, _ = cli(ws, "lineage", RUN, "--format", "dot", capsys=capsys)
    assert out.startswith("digraph lineage {") and f'"{RUN}" -> "model:sales-model@1" [label="produced"];' in out
    code, _, err = cli(ws, "lineage", "dataset:sale@1", capsys=capsys)
    assert code == 3 and "dataset:sales@1" in err


def test_lineage_depth_stops_after_n_steps(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = "model:iris-classifier@1"
    code, out, _ = cli(example, "lineage", model, "--upstream", "--format", "json", capsys=capsys)
    every = json.loads(out)["upstream"]
    assert code == 0 and max(s["depth"] for s in every) == 2  # the experiment, through the run
    code, out, _ = cli(example, "lineage", model, "--upstream", "--depth", "1", "--format", "json", capsys=capsys)
    assert code == 0 and json.loads(out)["upstream"] == [s for s in every if s["depth"] == 1]


def test_show_prints_a_record_alike_from_a_fresh_build_and_from_the_saved_index(
    example: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a new user: a dataset's columns printed `name, type, role` from a fresh build and
    `name, role, type` from the saved index (its keys sorted), so `show` output could not be diffed."""
    import time

    from strataml.read import build

    old = time.time() - 3600  # (out of the racy window: the saved index is then believed)
    for path in [example, *example.rglob("*")]:
        os.utime(path, (old, old), follow_symlinks=False)
    fresh = [cli(example, "show", ref, capsys=capsys)[1] for ref in ("dataset:iris@1", RUN_OF_EXAMPLE)]
    monkeypatch.setattr(build, "build", lambda *a, **k: pytest.fail("rebuilt: the saved index was not read"))
    again = [cli(example, "show", ref, capsys=capsys)[1] for ref in ("dataset:iris@1", RUN_OF_EXAMPLE)]
    assert again == fresh and "- name: species, role: target, type: category" in fresh[0], fresh


RUN_OF_EXAMPLE = "run:20261122T200038Z-iris-logreg-448b2a"


def test_lineage_shows_an_input_that_is_no_record_as_missing(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A deleted dataset left the upstream path shorter, exit 0, and nothing said so (the doctor
    and `show` report TFC0008-E001)."""
    shutil.rmtree(example / "datasets/iris")
    model, run = "model:iris-classifier@1", "run:20261122T200038Z-iris-logreg-448b2a"
    code, out, _ = cli(example, "lineage", model, "--upstream", capsys=capsys)
    assert code == 0 and "<- dataset:iris@1  (input, missing: no such record)" in out, out
    code, out, _ = cli(example, "lineage", model, "--upstream", "--format", "json", capsys=capsys)
    missing = json.loads(out)["missing"]
    assert {"ref": "dataset:iris@1", "depth": 2, "via": run, "edge": "input"} in missing
    assert all(m["ref"] == "dataset:iris@1" for m in missing)
    code, out, _ = cli(example, "lineage", model, "--upstream", "--format", "mermaid", capsys=capsys)
    assert out.count("(missing)") == 1 and "-.->|input|" in out
    code, out, _ = cli(example, "lineage", model, "--upstream", "--format", "dot", capsys=capsys)
    assert '"dataset:iris@1" [style=dashed' in out
    code, out, _ = cli(example, "lineage", model, "--downstream", "--format", "json", capsys=capsys)
    assert "missing" not in json.loads(out)  # (only what the upstream path names)


def test_a_folder_of_versions_suggests_its_versions(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`show datasets/iris` said only "no record", with no version to try."""
    for given, meant in (("datasets/iris", "dataset:iris@1"), ("models/iris-classifier/", "model:iris-classifier@1")):
        code, _out, err = cli(example, "show", given, capsys=capsys)
        assert code == 3 and f"did you mean {meant}" in err, err


def test_piped_tables_are_never_cut_and_headers_are_the_names_sort_takes(example: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    code, out, _ = cli(example, "list", "runs", "--sort", "test_roc_auc", "--desc", capsys=capsys)
    assert code == 0 and "…" not in out, out
    header = out.splitlines()[0].split()
    assert header[:4] == ["run", "experiment", "status", "age"] and header[4] == "test_roc_auc"
    for name in header[4:]:  # every metric header is a name --sort accepts
        assert cli(example, "list", "runs", "--sort", name, capsys=capsys)[0] == 0
    # Every header of every table is one: `run` was "no field named 'run'" (the field is name).
    for what in ("datasets", "runs", "models", "experiments"):
        code, out, _ = cli(example, "list", what, capsys=capsys)
        for name in out.splitlines()[0].split():
            code, _o, err = cli(example, "list", what, "--sort", name, capsys=capsys)
            assert code == 0, (what, name, err)

    def first_column(*args: str) -> list[str]:
        code, out, err = cli(example, "list", *args, capsys=capsys)
        assert code == 0, err
        return [line.split()[0] for line in out.splitlines()[1:-1]]

    runs = first_column("runs", "--sort", "created")  # oldest first
    assert first_column("runs", "--sort", "age") == runs[::-1]  # the least age first: the youngest
    assert first_column("runs", "--sort", "run", "--desc") == sorted(runs, reverse=True)
    assert first_column("models", "--filter", "model=iris-classifier") == ["iris-classifier"]
    assert first_column("runs", "--filter", "experiment=iris-logreg") == [runs[0]]  # (a field of runs: as it was)
    # A header misspelt is offered as one; a filter that matches nothing says it as typed.
    code, _o, err = cli(example, "list", "runs", "--sort", "agee", capsys=capsys)
    assert code == 3 and "did you mean age?" in err, err
    code, _o, err = cli(example, "list", "runs", "--filter", "rnu=x", capsys=capsys)
    assert code == 3 and "did you mean run?" in err and "known: age, created," in err, err  # (age filters too)
    code, out, _e = cli(example, "list", "runs", "--filter", f"run={runs[0][:-1]}", capsys=capsys)
    assert code == 0 and out.startswith(f"No runs match: none has run={runs[0][:-1]}; did you mean run={runs[0]}? (run: ")
    # A header that is also a tag of the rows means the tag: one key, one meaning.
    for i, meta in enumerate(sorted(example.glob("runs/*/run.yaml"))):
        edit_yaml(meta, lambda d, i=i: d.setdefault("tags", {}).update(age=str(i)))
    assert first_column("runs", "--sort", "age") == runs  # by the tag (0, 1, 2, 3), not youngest first
    assert first_column("runs", "--filter", "age=0") == [runs[0]]


def test_index_format_json_says_what_was_written(example: Path, capsys, tmp_path: Path) -> None:
    code, out, err = cli(example, "index", "--format", "json", capsys=capsys)
    first = json.loads(out)
    assert code == 0 and err == ""
    assert first == {"path": str(example / ".strataml/index.json"), "nodes": first["nodes"], "edges": first["edges"],
                     "rebuilt": True}
    saved_index = json.loads((example / ".strataml/index.json").read_text())
    assert (first["nodes"], first["edges"]) == (len(saved_index["nodes"]), len(saved_index["edges"]))
    out_file = tmp_path / "copy.json"
    code, out, _ = cli(example, "index", "--format", "json", "-o", str(out_file), capsys=capsys)
    assert code == 0 and json.loads(out)["path"] == str(out_file) and out_file.is_file()
    code, _, err = cli(example, "index", "--format", "json", "-o", "-", capsys=capsys)
    assert code == 3 and "--format json needs a file" in err


def test_a_shown_whole_number_is_not_a_rounded_match() -> None:
    """0.99996 shows as 1 and 1e-05 as 0: `=1` and `=0` mean those numbers, not what rounds to them."""
    from strataml.read.query import _matches

    assert not _matches(0.99996, "1") and not _matches(1e-05, "0")
    assert _matches(0.994444, "0.9944") and _matches(1.0, "1") and _matches(0.0, "0")


def test_a_number_written_with_the_shown_digits_or_more_matches_its_rounding() -> None:
    """0.913043 shows as 0.913: `=0.9130` and `=0.91304` name it too (they matched nothing while
    `=0.913` did); `=0.91`, fewer digits than shown, does not, nor does a different number."""
    from strataml.read.query import _matches

    for typed in ("0.913", "0.9130", "0.91304", "0.913043", "+0.91304"):
        assert _matches(0.913043, typed), typed
    for typed in ("0.91", "0.9131", "0.91305", "-0.91304", "1"):
        assert not _matches(0.913043, typed), typed
    assert not _matches(0.99996, "1.0000")  # (shown as 1: no digits to round to)


def test_a_ref_given_as_a_path_is_taken_from_where_the_user_stands(ws: Path, capsys, monkeypatch) -> None:
    """As a shell completes it: `show ../models/x/1` from runs/, `show .` in a record folder, and a
    path from the -C folder; a path typed from the root still works from anywhere below it."""
    from strataml.cli.main import run

    def shown_id(*args: str) -> str:
        assert run([*args, "--format", "json"]) == 0, capsys.readouterr().err
        return json.loads(capsys.readouterr().out)["id"]

    monkeypatch.chdir(ws / "runs")
    assert shown_id("show", "../models/sales-model/1") == "model:sales-model@1"
    assert shown_id("show", "models/sales-model/1/") == "model:sales-model@1"  # from the root, as before
    assert shown_id("show", "../datasets/sales/1/dataset.yaml") == "dataset:sales@1"
    assert run(["compare", "../models/sales-model/1", RUN, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["refs"] == ["model:sales-model@1", RUN]
    monkeypatch.chdir(ws / "models/sales-model/1")
    assert shown_id("show", ".") == "model:sales-model@1"
    assert run(["promote", ".", "--to", "candidate", "--reason", "r", "--dry-run"]) == 0
    assert "model:sales-model@1" in capsys.readouterr().out
    monkeypatch.chdir(ws.parent)
    assert shown_id("-C", str(ws / "datasets"), "show", "sales/1") == "dataset:sales@1"
    # An absolute path through a symlink to the workspace (macOS's /tmp, a linked home folder).
    (ws.parent / "link").symlink_to(ws)
    monkeypatch.chdir(ws / "runs")
    assert shown_id("show", str(ws.parent / "link/runs/../models/sales-model/1")) == "model:sales-model@1"
    monkeypatch.chdir(ws.parent)
    # Outside the workspace, or not there at all: looked up as typed, and not found.
    assert run(["-C", str(ws), "show", str(ws.parent)]) == 3
    assert "no record" in capsys.readouterr().err
    monkeypatch.chdir(ws / "runs")
    assert run(["show", "../models/sales-model/7"]) == 3
    assert "no record ../models/sales-model/7 in this workspace" in capsys.readouterr().err
    for empty in ("", " "):  # (an unset variable): said so, not "no record  in this workspace"
        assert run(["-C", str(ws), "show", empty]) == 3
        assert "the ref is empty" in capsys.readouterr().err
    # One part, as a shell completes a name in the folder: a path there, not a run id.
    monkeypatch.chdir(ws / "models/sales-model")
    assert shown_id("show", "1") == "model:sales-model@1"
    monkeypatch.chdir(ws / "runs")
    assert shown_id("show", RUN.split(":", 1)[1]) == RUN
    assert shown_id("show", RUN.split(":", 1)[1][:16]) == RUN  # a prefix: not there, so a run id
    monkeypatch.chdir(ws)
    assert shown_id("show", RUN.split(":", 1)[1][:16]) == RUN  # at the root a name is never a path


def test_show_dataset_lists_its_files_once(ws: Path, capsys) -> None:
    code, out, _ = cli(ws, "show", "dataset:sales@1", capsys=capsys)
    assert code == 0 and "  files:" in out.splitlines()
    assert not [line for line in out.splitlines() if line.startswith("  files: ")], out


def test_a_metric_too_big_for_a_float_sorts_among_the_others() -> None:
    """The loader allows a 600-digit integer; sorting by it raised OverflowError (exit 3, HTTP 500)."""
    from strataml.read.query import select

    rows = [{"id": "a", "metrics": {"m": 0.5}}, {"id": "b", "metrics": {"m": 10**600}}, {"id": "c", "metrics": {"m": 2}},
            {"id": "d", "metrics": {}}]
    assert [r["id"] for r in select(rows, [], "m", False, None)] == ["a", "c", "b", "d"]
    assert [r["id"] for r in select(rows, [], "m", True, None)] == ["b", "c", "a", "d"]


def test_a_path_with_dot_dot_names_where_it_leads(example: Path) -> None:
    """The API answered the record a path's text began with (datasets/iris/1/../../breast-cancer/1
    was iris), where `show` follows the `..`: one query layer, one answer."""
    from strataml.read.query import Graph, UnknownRecord

    graph = Graph(saved.make(example))
    assert graph.find("datasets/iris/1/../../breast-cancer/1")["id"] == "dataset:breast-cancer@1"
    assert graph.find("runs/x/../../datasets/iris/1/iris.csv")["id"] == "dataset:iris@1"
    for outside in ("datasets/iris/1/../../../../etc/passwd", "datasets/iris/1/../../../.git/config", ".."):
        with pytest.raises(UnknownRecord):
            graph.find(outside)


@pytest.mark.parametrize("meta", ["fifo", "folder", "missing"])
def test_a_record_folder_without_a_readable_metadata_file_is_said_so(example: Path, capsys, meta: str) -> None:
    """It was "no record model:iris-classifier@1 in this workspace", with other models offered."""
    path = example / "models/iris-classifier/1/model.yaml"
    path.unlink()
    if meta == "fifo":
        os.mkfifo(path)
    elif meta == "folder":
        path.mkdir()
    said = ("is not a record: models/iris-classifier/1/ holds no readable model.yaml", "`strataml doctor` says")
    for args in (("show", "model:iris-classifier@1"), ("show", "models/iris-classifier/1"),
                 ("lineage", "model:iris-classifier@1"), ("promote", "model:iris-classifier@1", "--to", "staging")):
        code, _out, err = cli(example, *args, capsys=capsys)
        assert code == 3 and all(s in err for s in said) and "did you mean" not in err, (args, err)


def test_a_metric_that_is_no_number_ranks_after_the_numbers_either_way() -> None:
    """Found by a review: the index holds a NaN or infinite metric as text, and text sorted after
    numbers ascending, so `--sort METRIC --desc` ("best first") put a diverged run on top."""
    from strataml.read.query import select

    rows = [{"id": name, "metrics": {"acc": acc}} for name, acc in
            (("a", 0.5), ("b", "Infinity"), ("c", 0.9), ("d", None), ("e", "NaN"), ("f", 10**400))]
    rows.append({"id": "g", "metrics": {}})
    assert [r["id"] for r in select(rows, [], "acc", True, None)] == ["f", "c", "a", "e", "b", "d", "g"]
    assert [r["id"] for r in select(rows, [], "acc", False, None)] == ["a", "c", "f", "b", "e", "d", "g"]
    assert [r["id"] for r in select(rows, [], "acc", True, 2)] == ["f", "c"]


def test_lineage_text_shows_a_loop_the_tree_would_hide(ws: Path, capsys) -> None:
    """Found in a contract audit: `lineage` prints each node once, so a dataset derived from itself
    (or two versions derived from each other: the doctor's TFC0008-E009) showed `upstream: (none)`."""
    edit_yaml(ws / "datasets/sales/1/dataset.yaml", lambda d: d["source"].update(kind="derived", **{"from": ["dataset:sales@1"]}))
    code, out, _ = cli(ws, "lineage", "dataset:sales@1", "--upstream", capsys=capsys)
    assert code == 0 and "(none)" not in out, out
    assert "    <- dataset:sales@1  (derived, a loop: back to dataset:sales@1)" in out.splitlines(), out


def test_a_recorded_link_within_its_folder_is_shown_present(ws: Path, capsys) -> None:
    """Found in a contract audit: a link within its record folder stands for its file (TFC-0006
    §1) and the doctor passes it, but the index said `missing` (and a federation never joined
    such a dataset)."""
    import hashlib

    folder = ws / "datasets/sales/1"
    (folder / "same.csv").symlink_to("sales.csv")
    content = (folder / "sales.csv").read_bytes()
    entry = {"path": "same.csv", "sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
    edit_yaml(folder / "dataset.yaml", lambda d: d["files"].append(entry))
    code, out, _ = cli(ws, "show", "dataset:sales@1", "--format", "json", capsys=capsys)
    files = {f["path"]: f["present"] for f in json.loads(out)["files"]}
    assert code == 0 and files == {"sales.csv": "content", "same.csv": "content"}, files
