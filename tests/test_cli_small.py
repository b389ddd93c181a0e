"""Small CLI defects, each held to what a user expects: usage errors that say so, refs that mean
what they say, counts in the singular for one, help that names its values as the rest does."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import copy_example, invoke

pytestmark = pytest.mark.timeout(120)


def git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "T",
           "GIT_COMMITTER_EMAIL": "t@example.org"}
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """The repository's example workspace, committed in a git repository of its own."""
    root = copy_example(tmp_path / "ws")
    (root / ".gitignore").write_text(".strataml/\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    return root


def usage_error(err: str) -> tuple[str, str]:
    """(the error line, the hint line) of a refusal on stderr."""
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("strataml: error: ") and lines[1].startswith("  hint: "), err
    return lines[0], lines[1]


# ---- 1, 2: empty sort and tag keys ----------------------------------------------------------


@pytest.mark.parametrize("key,said", [("", "--sort is empty"), ("tags.", "--sort 'tags.' names no tag")])
def test_an_empty_sort_key_is_a_usage_error_with_a_hint(example: Path, capsys: pytest.CaptureFixture[str], key: str, said: str) -> None:
    """`--sort ''` was ignored (exit 0, the rows unsorted), as no other bad sort key is."""
    code, out, err = invoke(example, "list", "runs", "--sort", key, capsys=capsys)
    assert code == 3 and out == "", (code, out, err)
    error, hint = usage_error(err)
    assert said in error and "e.g. --sort " in hint


def test_a_tag_filter_with_no_tag_name_is_a_usage_error(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--filter tags.=` was taken as a filter no row matches (exit 0, "none has tags.=")."""
    for item in ("tags.=", "tags.=vision"):
        code, out, err = invoke(example, "list", "runs", "--filter", item, capsys=capsys)
        assert code == 3 and out == "", (item, code, out, err)
        error, hint = usage_error(err)
        assert f"--filter {item!r} names no tag" in error and "tags.team=vision" in hint
    # A tag no row has is still no error (a script may ask before any row has it).
    code, out, _err = invoke(example, "list", "runs", "--filter", "tags.team=vision", capsys=capsys)
    assert code == 0 and "No runs match" in out


# ---- 3: a ref ending in @ ---------------------------------------------------------------------


@pytest.mark.parametrize("args", [("show", "dataset:iris@"), ("lineage", "dataset:iris@"),
                                  ("compare", "model:iris-classifier@", "model:iris-classifier@1")])
def test_a_ref_ending_in_at_is_refused_not_read_as_the_latest(example: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]) -> None:
    """`show dataset:iris@` showed dataset:iris@1, as if the trailing @ were a prefix of a version."""
    code, out, err = invoke(example, *args, capsys=capsys)
    assert code == 3 and out == "", (code, out, err)
    error, hint = usage_error(err)
    bare = args[1].removesuffix("@")
    assert f"{args[1]} names no version" in error
    assert f"e.g. {bare}@1, or {bare} for the latest" in hint


def test_a_ref_without_at_still_means_the_latest_version(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What the README promises stays: `dataset:iris` names the latest version."""
    code, out, _err = invoke(example, "show", "dataset:iris", capsys=capsys)
    assert code == 0 and out.startswith("dataset:iris@1 ")


def test_expand_takes_no_trailing_at_for_a_version_prefix() -> None:
    from strataml.refs import expand

    known = ["dataset:iris@1", "model:m@2"]
    assert expand("dataset:iris@", known) is None
    assert expand("dataset:iris", known) == "dataset:iris@1"
    assert expand("model:m@", known) is None


# ---- 4: the age column is a key as the README says ------------------------------------------


def test_the_age_header_filters_the_rows_as_the_table_shows_them(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """README: "Column headers are the names --sort, --filter and --metric take"; `--filter
    age=now` was refused (exit 3: no field named 'age'), though `--sort age` was taken."""
    from strataml.read.query import age

    code, out, _err = invoke(example, "list", "runs", "--format", "json", capsys=capsys)
    assert code == 0
    ages: dict[str, str] = {r["id"]: age(r["created"]) for r in json.loads(out)}
    shown = sorted(set(ages.values()))[0]
    code, out, err = invoke(example, "list", "runs", "--filter", f"age={shown}", "--format", "json", capsys=capsys)
    assert code == 0, err
    found = json.loads(out)
    assert sorted(r["id"] for r in found) == sorted(i for i, a in ages.items() if a == shown)
    assert all("age" not in r for r in found)  # (a cell of the table, not a field of the record)
    code, out, err = invoke(example, "list", "runs", "--filter", "age=now", capsys=capsys)
    assert code == 0, err
    if "now" not in ages.values():
        assert out.startswith("No runs match: none has age=now")
    # A misspelt key offers it.
    code, _out, err = invoke(example, "list", "runs", "--filter", "ag=1", capsys=capsys)
    assert code == 3 and "did you mean age?" in err


# ---- 6: counts in the singular ---------------------------------------------------------------


def test_index_says_1_edge_not_1_edges(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from strataml.cli.main import run

    assert run(["init", str(tmp_path / "lab")]) == 0
    lab = tmp_path / "lab"
    git(lab, "init", "-q")
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,2\n")
    assert run(["-C", str(lab), "dataset", "add", "d", str(data), "--version", "1", "--license", "MIT", "--source", "t"]) == 0
    assert run(["-C", str(lab), "experiment", "new", "e", "--dataset", "dataset:d@1", "--target", "b"]) == 0
    capsys.readouterr()
    code, _out, err = invoke(lab, "index", capsys=capsys)
    assert code == 0 and "(2 nodes, 1 edge)." in err, err


# ---- 7: --limit N ---------------------------------------------------------------------------


def test_help_names_a_number_as_n_not_integer_range(capsys: pytest.CaptureFixture[str]) -> None:
    from strataml.cli.main import run

    for args, option in ((["list", "--help"], "--limit N "), (["lineage", "--help"], "--depth N "), (["serve", "--help"], "--port PORT ")):
        assert run(args) == 0
        out = capsys.readouterr().out
        assert option in out and "INTEGER" not in out, out


# ---- 8: -o a file that is there but cannot be replaced ---------------------------------------


@pytest.mark.skipif(not os.path.isfile("/proc/version"), reason="needs Linux's /proc/version")
@pytest.mark.parametrize("args", [("index",), ("dashboard",)])
def test_an_output_that_is_there_is_not_said_to_be_missing(example: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]) -> None:
    """`-o /proc/version` said "No such file or directory": the file is there; its folder takes
    no new file, so it cannot be replaced."""
    code, out, err = invoke(example, *args, "-o", "/proc/version", capsys=capsys)
    assert code == 3, (code, out, err)
    error, hint = usage_error(err)
    assert error.startswith("strataml: error: cannot write /proc/version: the file is there, but /proc takes no new file")
    assert "cannot be replaced" in error and "/proc and /sys" in hint
    assert not error.startswith("strataml: error: cannot access /proc/version: No such file")


# ---- 9: "did you mean" the kind asked for ---------------------------------------------------


@pytest.mark.parametrize("ref", ["model:ïris@1", "model:iris@1"])
def test_did_you_mean_offers_the_kind_asked_for(example: Path, capsys: pytest.CaptureFixture[str], ref: str) -> None:
    """`show model:ïris@1` offered dataset:iris@1, though a model is named iris-classifier."""
    code, _out, err = invoke(example, "show", ref, capsys=capsys)
    assert code == 3
    _error, hint = usage_error(err)
    assert hint == "  hint: did you mean model:iris-classifier@1?", hint


def test_closest_offers_another_kind_only_when_none_of_its_own_is_close() -> None:
    from strataml.refs import closest

    refs = ["dataset:iris@1", "model:iris-classifier@1", "experiment:iris-logreg"]
    assert closest("model:iris@1", refs) == ["model:iris-classifier@1"]
    assert closest("model:ïris@1", refs) == ["model:iris-classifier@1"]
    assert closest("model:irs@1", ["dataset:iris@1", "model:churn@1"]) == ["dataset:iris@1"]
    assert closest("iris", refs)[0] == "dataset:iris@1"  # (no kind asked: every kind)


# ---- 10: the first error is the one to fix first --------------------------------------------


def test_federate_with_no_members_says_so_before_asking_for_o(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Outside a workspace `index --federate` asked where to write (-o) before saying it had
    nothing to join."""
    code, out, err = invoke(tmp_path, "index", "--federate", capsys=capsys)
    assert code == 3 and out == ""
    error, hint = usage_error(err)
    assert error == "strataml: error: --federate needs the workspaces to join", err
    assert "strataml index --federate ../team-a ../team-b" in hint


# ---- 11: the dashboard's state line ----------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from browser import launch_browser

    yield from launch_browser()


@pytest.mark.slow
def test_the_deployed_card_counts_models_by_state_in_words(browser: Any, tmp_path: Path) -> None:
    """The "Production and staging" card read "1 model archived · 1 model production"."""
    from browser import build, new_pages, open_view

    root = copy_example(tmp_path / "ws")
    site = build(root)
    for pages in new_pages(browser):
        page = pages.new()
        overview = open_view(page, site.url, "#/", "overview")
        line = overview.get_by_test_id("deployed").locator("p.muted").first.inner_text()
        assert line == "3 models: 1 in production · 1 candidate · 1 registered", line
        pages.watch.assert_clean(site.page)


@pytest.mark.parametrize("args", [["doctor", "-o", "{long}/x"], ["list", "{long}"], ["doctor", "--since", "{long}"]])
def test_an_error_never_echoes_a_huge_argument_whole(tmp_path: Path, args: list[str]) -> None:
    """A 130,000-character argument came back whole in a usage error or an OS error's file name
    (a finding's text and a StrataError's were bounded; these two paths were not)."""
    import subprocess
    import sys

    long = "a" * 130_000
    ws = copy_example(tmp_path / "ws")
    done = subprocess.run(
        [sys.executable, "-m", "strataml", "-C", str(ws), *[a.format(long=long) for a in args], "--format", "json"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 3, done.stderr[:300]
    assert 0 < len(done.stderr) < 4_000 and 0 < len(done.stdout) < 4_000, (len(done.stderr), len(done.stdout))
    assert "more characters" in done.stderr


def test_run_offers_the_dataset_meant_as_the_doctor_does(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelt dataset in a spec: the doctor said "did you mean dataset:iris@1?", `run` (which
    checks the spec and its input alone) only "fix the ref, or restore datasets/irsi/1/"."""
    ws = copy_example(tmp_path / "ws")
    spec = ws / "experiments/iris-logreg.yaml"
    spec.write_text(spec.read_text().replace("dataset:iris@1", "dataset:irsi@1"))
    code, _out, err = invoke(ws, "run", "iris-logreg", "--dry-run", capsys=capsys)
    assert code == 2 and "did you mean dataset:iris@1?" in err, err


def test_a_refusal_over_a_broken_config_carries_the_advice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The advice a finding's hint has (did you mean, where a bracket opened) was dropped where
    a command refused over the same problem."""
    ws = copy_example(tmp_path / "ws")
    config = ws / "strataml.yaml"
    text = config.read_text()
    config.write_text(text + "signin:\n  require: []\n")
    code, _out, err = invoke(ws, "promote", "model:iris-classifier@1", "--to", "staging", "--dry-run", capsys=capsys)
    assert code == 2 and "did you mean 'signing'?" in err, err
    config.write_text(text + "x: {a: 1\n")
    code, _out, err = invoke(ws, "promote", "model:iris-classifier@1", "--to", "staging", "--dry-run", capsys=capsys)
    assert code == 2 and "is not closed" in err and "(line " in err, err


def test_a_key_file_named_as_a_folder_is_offered_a_key_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`keys add keys/` was offered "e.g. keys/out.json" (what a command writes) for a key it reads."""
    ws = copy_example(tmp_path / "ws")
    code, _out, err = invoke(ws, "keys", "add", "keys/", "--scope", "models", capsys=capsys)
    assert code == 3 and "keys/key.asc" in err and "out.json" not in err, err


@pytest.mark.parametrize("target", ["", "  "])
def test_sign_with_an_empty_target_says_it_is_empty(example: Path, capsys: pytest.CaptureFixture[str], target: str) -> None:
    """Found in a contract audit: `strataml sign ''` said "error:  is outside the workspace"."""
    code, _out, err = invoke(example, "sign", target, capsys=capsys)
    assert code == 3 and err.startswith("strataml: error: the target is empty\n  hint: name a ref"), err
