"""`dataset add` says when a column of numbers is read as text because of a few values that are
not numbers (a typo: 'abc' where 5.1 was meant), and records the column as the file has it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, read_yaml

from strataml import tabular
from strataml.cli.main import run
from strataml.tabular import describe_csv

pytestmark = pytest.mark.timeout(120)

IRIS = ROOT / "datasets" / "iris" / "1" / "iris.csv"
SAID = (
    "iris-typo.csv:31: column sepal_length_cm is read as text (category) because of 'abc'; its other 149 values "
    "are numbers"
)


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    assert run(["init", str(tmp_path / "lab")]) == 0
    return tmp_path / "lab"


def iris_typo(tmp_path: Path) -> Path:
    """The iris CSV with its 31st line's first value (sepal_length_cm) typed 'abc'."""
    lines = IRIS.read_text("utf-8").splitlines()
    lines[30] = "abc," + lines[30].split(",", 1)[1]
    path = tmp_path / "iris-typo.csv"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def add(root: Path, path: Path, *extra: str) -> list[str]:
    return ["-C", str(root), "dataset", "add", "iris", str(path), "--version", "1", "--license", "MIT",
            "--source", "https://x", "--target", "species", *extra]


def test_a_typo_in_a_numeric_column_is_said_with_its_line(
    fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One 'abc' among 150 measurements made the column a category, exit 0 and nothing said; a run
    then one-hot encoded it. The version is still recorded as the file is; the note is said with
    the command's other notes."""
    assert run(add(fresh, iris_typo(tmp_path))) == 0
    out, _err = capsys.readouterr()
    assert SAID in out and "fix it and add the file again" in out, out
    assert "Created dataset:iris@1" in out
    columns = {c["name"]: c["type"] for c in read_yaml(fresh / "datasets/iris/1/dataset.yaml")["columns"]}
    assert columns["sepal_length_cm"] == "category" and columns["sepal_width_cm"] == "float"


def test_the_note_is_one_of_the_json_notes(fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(add(fresh, iris_typo(tmp_path), "--format", "json")) == 0
    out, err = capsys.readouterr()
    notes = json.loads(out)["notes"]
    assert [n for n in notes if SAID in n] == [n for n in notes if "sepal_length_cm" in n] and len(notes) == 1, notes
    assert SAID not in err


def test_clean_and_textual_columns_stay_silent(fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The iris file as it is (its species is text), and columns that are text by nature: codes
    of letters and digits, many values that are not numbers, a column of labels with a few numbers."""
    assert run(add(fresh, IRIS, "--format", "json")) == 0
    assert json.loads(capsys.readouterr().out)["notes"] == []
    rows = ["id,code,mostly,label"]
    rows += [f"{i},{'A' if i % 2 else ''}{i},{'NA' if i % 10 == 0 else i},{'x' if i > 3 else i}" for i in range(200)]
    path = tmp_path / "text.csv"
    path.write_text("\n".join(rows) + "\n", "utf-8")
    table = describe_csv(path)
    assert {c["name"]: c["type"] for c in table.columns} == {"id": "integer", "code": "string",
                                                            "mostly": "string", "label": "category"}
    assert table.notes == ()  # (code: half not numbers; mostly: 10% NA; label: 196 of 200 not numbers)


def test_what_is_a_number_is_what_typing_reads_as_one(tmp_path: Path) -> None:
    """Empty cells are missing values, and nan, NaN, inf are floats (as pandas writes them): no
    note, a float column. 'NA' is no number to the typing (the column is text): it is the value named."""
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1.5,1\n,2\nnan,3\nNaN,4\ninf,5\n-inf,6\n2,NA\n3,7\n4,8\n", "utf-8")
    table = describe_csv(path)
    assert {c["name"]: c["type"] for c in table.columns} == {"a": "float", "b": "string"}
    assert table.notes == (
        "t.csv:8: column b is read as text (string) because of 'NA'; its other 8 values are numbers: if it is a "
        "typo, fix it and add the file again (as a new version)",
    )


@pytest.mark.parametrize("bad,noted", [(5, True), (6, True), (7, False)])
def test_a_few_is_five_values_or_one_in_a_hundred_rows(tmp_path: Path, bad: int, noted: bool) -> None:
    """600 rows: up to 6 (1%) values that are not numbers are a few; 7 are not."""
    values = [str(i) for i in range(600)]
    for i in range(bad):
        values[100 + i * 50] = "?" if i % 2 else "-"
    path = tmp_path / "t.csv"
    path.write_text("x\n" + "\n".join(values) + "\n", "utf-8")
    notes = describe_csv(path).notes
    assert bool(notes) == noted, notes
    if noted:
        assert notes[0].startswith(f"t.csv:102: column x is read as text (string) because of '-' and {bad - 1} more "
                                   f"values that are not numbers ('?'); its other {600 - bad} values are numbers"), notes


def test_the_note_is_alike_in_batches_of_any_size_and_names_the_right_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lines are told right past empty lines (skipped as rows) wherever a batch ends, and the
    first value that is not a number is the first in the file, whichever batch holds it."""
    lines = ["n,x,y"]
    for i in range(120):
        lines.append(f"{i},{ {70: 'oops', 90: 'N/A'}.get(i, str(i / 3))},{i}")
        if i % 17 == 0:
            lines.append("")  # (an empty line: no row)
    lines.append("120,,121")
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n\n", "utf-8")
    whole = describe_csv(path)
    line = lines.index("70,oops,70") + 1
    assert whole.notes == (
        f"t.csv:{line}: column x is read as text (string) because of 'oops' and 1 more value that is not a number "
        "('N/A'); its other 118 values are numbers: if they are typos, fix them and add the file again (as a new "
        "version)",
    )
    for cells in (1, 3, 5, 7, 64, 1000):
        monkeypatch.setattr(tabular, "BATCH_CELLS", cells)
        assert describe_csv(path) == whole, cells
    monkeypatch.setattr(tabular, "BATCH_CELLS", 1 << 16)
    monkeypatch.setattr(tabular, "BATCH_CHARS", 50)
    assert describe_csv(path) == whole


def test_a_column_with_many_distinct_words_is_text_by_nature(tmp_path: Path) -> None:
    """Past ODD_MAX distinct values that are not numbers the column is text, not a typo: none is
    kept, whatever the share of numbers."""
    values = [str(i) for i in range(5000)]
    for i in range(tabular.ODD_MAX + 1):
        values[i * 100] = f"w{i}"
    path = tmp_path / "t.csv"
    path.write_text("x\n" + "\n".join(values) + "\n", "utf-8")
    assert describe_csv(path).notes == ()
    values[tabular.ODD_MAX * 100] = "w0"  # (ODD_MAX distinct, 11 cells of 5,000: a few)
    path.write_text("x\n" + "\n".join(values) + "\n", "utf-8")
    assert len(describe_csv(path).notes) == 1


@pytest.mark.parametrize("first", [True, False], ids=["words-first", "words-last"])
def test_the_note_does_not_depend_on_where_the_words_come(
    tmp_path: Path, first: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counting stopped once the words were as many as the numbers seen so far: 64 words first in
    a column of 6,936 numbers went unsaid (judged 64 rows a batch), the same words last were said."""
    from strataml import tabular

    monkeypatch.setattr(tabular, "BATCH_CELLS", 128)
    words = ["pending"] * 64
    numbers = [str(i) for i in range(6936)]
    values = words + numbers if first else numbers + words
    path = tmp_path / "order.csv"
    path.write_text("c0,c1\n" + "".join(f"{v},{i}\n" for i, v in enumerate(values)), "utf-8")
    table = describe_csv(path)
    assert [n for n in table.notes if "column c0 is read as text" in n and "'pending'" in n], table.notes
