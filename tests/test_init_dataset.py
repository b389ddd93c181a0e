"""`strataml init` and `strataml dataset add`: records without hand-written hashes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import unicodedata
from pathlib import Path

import pytest

from conftest import read_yaml
from strataml import loading
from strataml.cli.main import run
from strataml.contracts import documents
from strataml.doctor import engine
from strataml.tabular import MAX_COLUMNS, MAX_ROW_CHARS
from test_hostile import peak_rss

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    assert run(["init", str(tmp_path / "lab")]) == 0
    return tmp_path / "lab"


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n", "utf-8")
    return path


def test_init_creates_a_workspace_that_passes_strict(fresh: Path) -> None:
    for rel in ("strataml.yaml", ".gitignore", ".gitattributes", ".github/workflows/strataml.yml", ".pre-commit-config.yaml",
                "datasets/.gitkeep", "runs/.gitkeep", "models/.gitkeep", "experiments/.gitkeep", "tfc/keys/.gitkeep"):
        assert (fresh / rel).is_file(), rel
    assert sorted(p.name for p in (fresh / "tfc").glob("TFC-*.md")) == sorted(documents())
    assert {".strataml/", "/mlruns/", "/mlflow.db"} <= set((fresh / ".gitignore").read_text().splitlines())
    assert read_yaml(fresh / "strataml.yaml")["name"] == "lab"
    assert engine.doctor(fresh, strict=True).exit_code == 0


def test_init_refuses_to_clobber(fresh: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (fresh / "strataml.yaml").read_bytes()
    assert run(["init", str(fresh)]) == 3
    assert "already holds a workspace" in capsys.readouterr().err
    assert (fresh / "strataml.yaml").read_bytes() == before


def test_init_extends_existing_ignore_files_and_keeps_others(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("node_modules/")
    (tmp_path / ".pre-commit-config.yaml").write_text("repos: []\n")
    assert run(["init", str(tmp_path), "--name", "mine"]) == 0
    assert (tmp_path / ".gitignore").read_text().splitlines()[:2] == ["node_modules/", ".strataml/"]
    assert (tmp_path / ".pre-commit-config.yaml").read_text() == "repos: []\n"


def test_dataset_add_records_hashes_columns_and_time_range(fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = write_csv(tmp_path / "events.csv", ["ts,user,amount,flag,kind", "2024-03-01T10:00:00Z,1,2.5,true,a",
                                              "2024-02-01T09:00:00Z,2,,false,b", "2024-03-05T00:00:00Z,3,4,true,a"])
    readme = tmp_path / "README.txt"
    readme.write_text("about the data\n")
    code = run(["-C", str(fresh), "dataset", "add", "events", str(csv), str(readme), "--version", "2024-03",
                "--license", "CC0-1.0", "--source", "https://example.org/events", "--time-column", "ts", "--target", "flag",
                "--format", "json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["path"] == "datasets/events/2024-03"
    record = read_yaml(fresh / "datasets/events/2024-03/dataset.yaml")
    assert record == out["record"]
    assert record["ref"] == "dataset:events@2024-03"
    assert [f["path"] for f in record["files"]] == ["README.txt", "events.csv"]
    for entry in record["files"]:
        data = (fresh / "datasets/events/2024-03" / entry["path"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["size"] == len(data)
    lines = "".join(f"{f['sha256']}  {f['path']}\n" for f in sorted(record["files"], key=lambda f: f["path"]))
    assert record["digest"] == "sha256:" + hashlib.sha256(lines.encode()).hexdigest()
    assert record["rows"] == 3 and record["files"][1]["rows"] == 3
    assert record["columns"] == [
        {"name": "ts", "type": "datetime", "role": "time"},
        {"name": "user", "type": "integer"},
        {"name": "amount", "type": "float", "nullable": True},
        {"name": "flag", "type": "boolean", "role": "target"},
        {"name": "kind", "type": "category"},
    ]
    assert record["time_range"] == {"column": "ts", "start": "2024-02-01T09:00:00Z", "end": "2024-03-05T00:00:00Z"}
    assert record["source"] == {"kind": "download", "url": "https://example.org/events"}
    assert engine.doctor(fresh, strict=True).exit_code == 0


def test_dataset_digest_matches_sha256sum(fresh: Path, tmp_path: Path) -> None:
    a = write_csv(tmp_path / "b.csv", ["x", "1"])
    b = write_csv(tmp_path / "a.csv", ["x", "2"])
    assert run(["-C", str(fresh), "dataset", "add", "pair", str(a), str(b), "--version", "1", "--license", "MIT", "--source", "t"]) == 0
    folder = fresh / "datasets/pair/1"
    listing = subprocess.run(["sha256sum", "a.csv", "b.csv"], cwd=folder, capture_output=True, check=True).stdout
    assert read_yaml(folder / "dataset.yaml")["digest"] == "sha256:" + hashlib.sha256(listing).hexdigest()


def test_dataset_add_refuses_an_existing_version(fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = write_csv(tmp_path / "d.csv", ["x", "1"])
    assert run(["-C", str(fresh), "dataset", "add", "d", str(csv), "--version", "1"]) == 0
    before = (fresh / "datasets/d/1/dataset.yaml").read_bytes()
    write_csv(csv, ["x", "2"])
    capsys.readouterr()
    assert run(["-C", str(fresh), "dataset", "add", "d", str(csv), "--version", "1"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (fresh / "datasets/d/1/dataset.yaml").read_bytes() == before
    # The same version spelled otherwise: "the latest" and people take the two folders for one.
    for spelled in ("01", "001"):
        assert run(["-C", str(fresh), "dataset", "add", "d", str(csv), "--version", spelled]) == 2
        assert "would sit beside dataset:d@1, the same version spelled otherwise" in capsys.readouterr().err
        assert not (fresh / "datasets/d" / spelled).exists()
    assert run(["-C", str(fresh), "dataset", "add", "d", str(csv), "--version", "1.0"]) == 0  # (another version)


@pytest.mark.parametrize("args,message", [
    (["bad name", "{csv}", "--version", "1"], "not a valid dataset name"),
    (["d", "{csv}", "--version", "1."], "not a valid version"),
    (["d", "{csv}", "--version", "1", "--time-column", "nope"], "--time-column 'nope' is not a column"),
    (["d", "{bad}", "--version", "1", "--time-column", "when"], "is not a date or RFC 3339 time"),
    # Times Python reads but no record may hold: they were an internal error naming no file or row.
    (["d", "{spaced}", "--version", "1", "--time-column", "when"], "spaced.csv:3: '2024-02-01 ' in time column"),
    (["d", "{week}", "--version", "1", "--time-column", "when"], "week.csv:2: '2024-W01-1' in time column"),
    (["d", "{ragged}", "--version", "1"], "row has 3 fields, the header has 2"),
    # A quote left open read the rest of the file as one field: 1 row recorded, exit 0.
    (["d", "{open_quote}", "--version", "1"], "open_quote.csv:2: unreadable CSV: a quoted field opened in this row is never closed"),
    (["d", "{open_header}", "--version", "1"], "open_header.csv:1: unreadable CSV: a quoted field opened"),
    (["d", "{missing}", "--version", "1"], "cannot read"),
    (["d", "{folder}", "--version", "1"], "is not a regular file"),
    (["d", "{unnamed}", "--version", "1"], "header leaves column 1 without a name"),  # (pandas' index)
    (["d", "{twice}", "--version", "1"], "twice.csv: CSV header repeats the column name 'a'"),
    (["d", "{attributes}", "{csv}", "--version", "1"], "which git reads as its own instructions"),
])
def test_dataset_add_failures_leave_nothing_behind(fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   args: list[str], message: str) -> None:
    paths = {
        "csv": write_csv(tmp_path / "ok.csv", ["when,x", "2024-01-01,1"]),
        "bad": write_csv(tmp_path / "bad.csv", ["when,x", "2024-01-01,1", "yesterday,2"]),
        "spaced": write_csv(tmp_path / "spaced.csv", ["when,x", "2024-01-01,1", "2024-02-01 ,2"]),
        "week": write_csv(tmp_path / "week.csv", ["when,x", "2024-W01-1,1"]),
        "ragged": write_csv(tmp_path / "ragged.csv", ["a,b", "1,2,3"]),
        "open_quote": write_csv(tmp_path / "open_quote.csv", ["x,y", '1,"a', "2,b", "3,a", "4,b"]),
        "open_header": write_csv(tmp_path / "open_header.csv", ['"a,b', "1,2"]),
        "missing": tmp_path / "missing.csv",
        "folder": tmp_path,
        "unnamed": write_csv(tmp_path / "unnamed.csv", [",a", "0,1"]),
        "twice": write_csv(tmp_path / "twice.csv", ["a,b,a", "1,2,3"]),
        "attributes": write_csv((tmp_path / "git").mkdir() or tmp_path / "git" / ".gitattributes", ["*.csv text eol=crlf"]),
    }
    argv = [a.format(**{k: str(v) for k, v in paths.items()}) for a in args]
    assert run(["-C", str(fresh), "dataset", "add", *argv]) == 3
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    if "{twice}" in args:  # named by the path given, not only its file name
        assert f"{paths['twice']}: CSV header" in err
    leftovers = [p for p in (fresh / "datasets").rglob("*") if p.name != ".gitkeep"]
    assert leftovers == []
    assert engine.doctor(fresh, strict=True).exit_code == 0


def test_new_user_flow_break_a_file_and_read_the_finding(fresh: Path, tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "iris.csv", ["a,species", "1.0,setosa", "2.0,virginica"])
    assert run(["-C", str(fresh), "dataset", "add", "iris", str(csv), "--version", "1", "--license", "CC-BY-4.0", "--source", "uci"]) == 0
    target = fresh / "datasets/iris/1/iris.csv"
    target.write_text(target.read_text().replace("1.0", "1.5"))
    report = engine.doctor(fresh)
    assert [(f.code, f.path) for f in report.findings] == [("TFC0006-E002", "datasets/iris/1/iris.csv")]
    assert "record a new version" in report.findings[0].hint
    os.remove(target)
    assert [f.code for f in engine.doctor(fresh).findings] == ["TFC0006-E001"]


MiB = 1024 * 1024


def datasets_now(fresh: Path) -> list[str]:
    return sorted(p.relative_to(fresh).as_posix() for p in (fresh / "datasets").rglob("*"))


def _nfd(name: str) -> str:
    return unicodedata.normalize("NFD", name)


REFUSED = {
    # case: (files to add as (name, content), earlier adds as (dataset, version), dataset, version, codes)
    "named like the metadata": ([("dataset.yaml", "x\n")], [], "d", "1", ["TFC0008-E004"]),
    "named like the metadata, case-folded": ([("Dataset.YAML", "x\n")], [], "d", "1", ["TFC0008-E004"]),
    "backslash in a name": ([("a\\b.csv", "x\n1\n")], [], "d", "1", ["TFC0006-E004"]),
    "control character in a name": ([("a\nb.csv", "x\n1\n")], [], "d", "1", ["TFC0001-E008"]),
    # (A dataset name folding onto an existing one is refused before this, naming it: test_cli_options.)
    "version folds onto an existing one": ([("ok.csv", "x\n1\n")], [("d", "v1")], "d", "V1", ["TFC0008-E004"]),
    "more files than the layout allows": ([(f"part{i}.csv", f"x\n{i}\n") for i in range(40)], [], "d", "1",
                                          ["TFC0001-E110"]),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_dataset_add_refuses_what_its_doctor_would_reject_and_publishes_nothing(
        fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    files, earlier, name, version, codes = REFUSED[case]
    for n, v in earlier:
        assert run(["-C", str(fresh), "dataset", "add", n, str(write_csv(tmp_path / "first.csv", ["x", "1"])), "--version", v]) == 0
    if case == "more files than the layout allows":
        monkeypatch.setattr(loading, "MAX_NODES", 300)  # 40 file entries are ~360 nodes
    src = tmp_path / "src"
    src.mkdir()
    paths = []
    for file_name, content in files:
        (src / file_name).write_text(content)
        paths.append(str(src / file_name))
    before = datasets_now(fresh)
    capsys.readouterr()
    assert run(["-C", str(fresh), "dataset", "add", name, *paths, "--version", version]) == 2
    err = capsys.readouterr().err
    assert f"dataset:{name}@{version} was not added: the doctor would reject it" in err
    for code in codes:
        assert f"{code} datasets/{name}/{version}" in err, err
    assert datasets_now(fresh) == before  # nothing published, no staging folder left behind
    assert "Traceback" not in err


def test_dataset_add_refusal_names_every_finding(fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "dataset.yaml").write_text("x\n")
    (tmp_path / "a\\b.csv").write_text("x\n1\n")
    assert run(["-C", str(fresh), "dataset", "add", "d", str(tmp_path / "dataset.yaml"), str(tmp_path / "a\\b.csv"),
                "--version", "1"]) == 2
    err = capsys.readouterr().err
    assert "TFC0006-E004 datasets/d/1/dataset.yaml: files[0].path 'a\\b.csv' uses a backslash" in err
    assert "TFC0008-E004 datasets/d/1/dataset.yaml: files[1].path 'dataset.yaml' is the record's own metadata file" in err
    assert not (fresh / "datasets/d").exists()


def test_dataset_add_refuses_two_names_that_normalise_the_same(fresh: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    nfc, nfd = tmp_path / "a" / "café.csv", tmp_path / "b" / _nfd("café.csv")
    nfc.write_text("x\n1\n")
    nfd.write_text("x\n2\n")
    assert run(["-C", str(fresh), "dataset", "add", "d", str(nfc), str(nfd), "--version", "1"]) == 3
    assert "would have the same name in the dataset" in capsys.readouterr().err
    assert datasets_now(fresh) == ["datasets/.gitkeep"]


def test_a_version_the_doctor_accepts_is_still_added(fresh: Path, tmp_path: Path) -> None:
    assert run(["-C", str(fresh), "dataset", "add", "flowers", str(write_csv(tmp_path / "a.csv", ["x", "1"])),
                "--version", "1", "--license", "MIT", "--source", "t"]) == 0
    assert run(["-C", str(fresh), "dataset", "add", "flowers", str(write_csv(tmp_path / "b.csv", ["x", "2"])),
                "--version", "2", "--license", "MIT", "--source", "t"]) == 0
    assert engine.doctor(fresh, strict=True).exit_code == 0


@pytest.mark.timeout(300)
def test_dataset_add_reads_a_csv_with_a_150_mb_line_in_bounded_memory(fresh: Path, tmp_path: Path,
                                                                      strataml_exe: list[str]) -> None:
    huge = tmp_path / "huge.csv"
    with open(huge, "w") as fh:
        fh.write("a,b\n1,")
        for _ in range(150):
            fh.write("x" * MiB)
        fh.write("\n2,y\n")
    small = write_csv(tmp_path / "small.csv", ["a,b", "1,x", "2,y"])
    base = peak_rss([*strataml_exe, "-C", str(fresh), "dataset", "add", "small", str(small), "--version", "1"])
    assert base["rc"] == 0, base["err"]
    big = peak_rss([*strataml_exe, "-C", str(fresh), "dataset", "add", "big", str(huge), "--version", "1"])
    assert big["rc"] == 3, big["err"]
    assert f"huge.csv:2: a CSV row longer than {MAX_ROW_CHARS:,} characters" in big["err"]
    assert "Traceback" not in big["err"]
    assert big["rss"] - base["rss"] < 100 * MiB, f"peak RSS {big['rss'] / MiB:.0f} MiB, baseline {base['rss'] / MiB:.0f} MiB"
    assert not (fresh / "datasets/big").exists() and (fresh / "datasets/small/1/dataset.yaml").is_file()


@pytest.mark.timeout(120)
def test_long_fields_within_a_row_are_described(fresh: Path, tmp_path: Path) -> None:
    # Past csv's default field limit (128 KiB), and a run of digits that a backtracking number
    # pattern would take quadratic time to reject.
    csv = write_csv(tmp_path / "long.csv", ["text,digits,n", f"{'t' * MiB},{'1' * 200_000}x,1", "short,2x,2"])
    assert run(["-C", str(fresh), "dataset", "add", "long", str(csv), "--version", "1"]) == 0
    record = read_yaml(fresh / "datasets/long/1/dataset.yaml")
    assert record["columns"] == [{"name": "text", "type": "string"}, {"name": "digits", "type": "string"},
                                 {"name": "n", "type": "integer"}]


def test_a_csv_wider_than_the_limit_is_refused(fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wide = write_csv(tmp_path / "wide.csv", [",".join(f"c{i}" for i in range(MAX_COLUMNS + 1)),
                                             ",".join("1" for _ in range(MAX_COLUMNS + 1))])
    assert run(["-C", str(fresh), "dataset", "add", "wide", str(wide), "--version", "1"]) == 3
    assert f"the header names {MAX_COLUMNS + 1:,} columns" in capsys.readouterr().err
    assert datasets_now(fresh) == ["datasets/.gitkeep"]


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r", ""])
def test_a_row_of_exactly_the_limit_is_read_and_one_more_character_is_refused(tmp_path: Path, ending: str) -> None:
    from strataml.errors import StrataError
    from strataml.tabular import describe_csv

    def table(row: str) -> Path:
        path = tmp_path / "t.csv"
        path.write_bytes(f"a,b{ending or chr(10)}{row}{ending}".encode())
        return path

    at_limit = "1," + "x" * (MAX_ROW_CHARS - 2)
    assert describe_csv(table(at_limit)).rows == 1
    quoted = '1,"' + "x\n" * ((MAX_ROW_CHARS - 4) // 2) + '"'  # line breaks inside a field count
    assert len(quoted) == MAX_ROW_CHARS and describe_csv(table(quoted)).rows == 1
    for over in (at_limit + "x", quoted[:-1] + "x" + '"'):
        with pytest.raises(StrataError, match=rf"t\.csv:\d+: a CSV row longer than {MAX_ROW_CHARS:,} characters"):
            describe_csv(table(over))


def test_a_byte_order_mark_is_not_part_of_the_first_column(fresh: Path, tmp_path: Path) -> None:
    csv = tmp_path / "bom.csv"
    csv.write_bytes(b"\xef\xbb\xbfa,b\n1,x\n2,y\n")
    assert run(["-C", str(fresh), "dataset", "add", "bom", str(csv), "--version", "1", "--target", "a"]) == 0
    columns = read_yaml(fresh / "datasets/bom/1/dataset.yaml")["columns"]
    assert [(c["name"], c.get("role")) for c in columns] == [("a", "target"), ("b", None)]


def test_a_refusal_lists_the_first_findings_then_counts_the_rest(fresh: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    names = [f"a\\b{i:02}.csv" for i in range(35)]
    for name in names:
        (tmp_path / name).write_text("x\n1\n")
    assert run(["-C", str(fresh), "dataset", "add", "d", *[str(tmp_path / n) for n in names], "--version", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("TFC0006-E004") == 10, err  # the first ten, then a count
    assert err.splitlines()[0].endswith("; ... and 25 more"), err
    assert len(err) < 10 * 300, err
    assert not (fresh / "datasets/d").exists()


def test_init_refuses_an_empty_directory_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """`strataml init "$DIR"` with DIR unset must not turn the current folder into a workspace."""
    monkeypatch.chdir(tmp_path)
    assert run(["init", ""]) == 3
    assert "DIRECTORY is empty" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("points_to", ["a folder", "nothing"])
def test_init_does_not_write_through_a_symlink_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], points_to: str
) -> None:
    """The link's target could be anywhere (`../../elsewhere`); a dangling one would make that folder."""
    monkeypatch.chdir(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    if points_to == "a folder":
        elsewhere.mkdir()
    os.symlink("elsewhere", tmp_path / "link")
    for given in ("link", "link/"):
        assert run(["init", given]) == 3
        err = capsys.readouterr().err
        assert "link is a symlink (to elsewhere): init does not write through one" in err
        if points_to == "a folder":
            assert f"name the folder it points to: `strataml init {elsewhere}`" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == (["elsewhere", "link"] if points_to == "a folder" else ["link"])
    assert points_to == "nothing" or list(elsewhere.iterdir()) == []


def test_init_does_not_make_the_folder_a_dangling_link_above_it_points_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`init dang/ws` with `dang -> outside/deep`: mkdir -p would make outside/deep/ws wherever it points."""
    monkeypatch.chdir(tmp_path)
    os.symlink(str(tmp_path / "outside" / "deep"), tmp_path / "dang")
    for given in ("dang/ws", "dang/a/b"):
        assert run(["init", given]) == 3
        err = capsys.readouterr().err
        assert "dang is a symlink to nothing" in err and "init does not make the folder it points to" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dang"]
    (tmp_path / "real").mkdir()
    os.symlink("real", tmp_path / "ok")  # a link to a folder above DIR is the user's path: followed
    assert run(["init", "ok/ws"]) == 0
    assert (tmp_path / "real/ws/strataml.yaml").is_file()


def test_data_git_ignores_is_added_with_f_and_said(fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """`*.csv` in .gitignore (common in ML repositories): the printed step must still commit the
    data, or every clone lacks it; run as printed, the doctor passes --strict."""
    env = {"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@b.c", "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@b.c"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    (fresh / ".gitignore").write_text(".strataml/\n*.csv\n", "utf-8")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "start"]):
        subprocess.run(["git", *args], cwd=fresh, check=True)
    csv = write_csv(tmp_path / "iris.csv", ["a,species", "1.0,setosa"])
    monkeypatch.chdir(fresh)
    capsys.readouterr()
    assert run(["dataset", "add", "iris", str(csv), "--version", "1", "--license", "CC0-1.0", "--source", "x"]) == 0
    out, err = capsys.readouterr()
    step = out.split("Next: `")[1].split("`")[0]
    assert step == "git add -f datasets/iris/1 && git commit -qm dataset:iris@1", out
    assert "note: git ignores datasets/iris/1/iris.csv" in err
    subprocess.run(step, shell=True, cwd=fresh, check=True)
    assert engine.doctor(fresh, strict=True).exit_code == 0
    # Nothing ignored: no -f, no note.
    other = write_csv(tmp_path / "other.txt", ["plain"])
    assert run(["dataset", "add", "notes", str(other), "--version", "1", "--license", "CC0-1.0", "--source", "x"]) == 0
    out, err = capsys.readouterr()
    assert "git add datasets/notes/1 &&" in out and "note:" not in err


def _monorepo(tmp_path: Path) -> Path:
    """A repository with an application in it, one change of it not staged: a workspace goes into ml/."""
    top = tmp_path / "mono"
    top.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=top, check=True)
    (top / "app.py").write_text("print('app')\n")
    subprocess.run(["git", "add", "app.py"], cwd=top, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "app"], cwd=top, check=True)
    (top / "app.py").write_text("print('work in progress')\n")
    return top


def _jobs_run_in(workflow: dict, folder: str) -> None:
    """Each job that checks the repository out runs in `folder`; one with no checkout has no such
    folder, and runs where its runner starts. A checkout that may be skipped (an `if:`) is none:
    the folder would not be there, and every step would fail to start."""
    for name, job in workflow["jobs"].items():
        checkouts = [step for step in job["steps"] if str(step.get("uses", "")).startswith("actions/checkout")]
        assert all("if" not in step for step in checkouts), name
        assert job.get("defaults", {}).get("run", {}).get("working-directory") == (folder if checkouts else None), name
        for step in job["steps"]:
            if "upload-sarif" in str(step.get("uses")):
                assert step["with"]["sarif_file"] == "${{ runner.temp }}/strataml.sarif"  # (outside any checkout)
                assert step["with"]["category"] == f"strataml-{folder.replace('/', '-')}"


def test_init_in_a_folder_of_a_repository_writes_its_ci_files_for_the_root_and_says_how_to_move_them(
    tmp_path: Path, strataml_exe: list[str]
) -> None:
    """GitHub reads workflows, and pre-commit its config, only at a repository's root: written in
    ml/ as they were, neither ever ran. They are now written to run from the root on ml/, and the
    next step (run verbatim here) moves them there and commits the workspace, not the rest of
    the repository (`git add -A` alone would have staged app.py's unfinished change)."""
    import shutil

    from conftest import require

    require(shutil.which("git-lfs") is not None, "git-lfs is not installed")
    top = _monorepo(tmp_path)
    (top / "ml/.github").mkdir(parents=True)  # the folder's own GitHub files stay where they are
    (top / "ml/.github/dependabot.yml").write_text("version: 2\n")
    done = subprocess.run([*strataml_exe, "init", "ml"], cwd=top, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "GitHub reads workflows" in done.stdout and "ml/" in done.stdout
    step = done.stdout.split("Next: `", 1)[1].split("`", 1)[0]
    assert step.startswith("cd ml && ") and "git add -A . " in step
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    subprocess.run(["bash", "-ec", step], cwd=top, check=True, env=env, capture_output=True)
    workflow = read_yaml(top / ".github/workflows/strataml.yml")
    _jobs_run_in(workflow, "ml")
    upload = next(s for s in workflow["jobs"]["doctor"]["steps"] if "upload-sarif" in str(s.get("uses")))
    assert upload["with"]["sarif_file"] == "${{ runner.temp }}/strataml.sarif"
    assert upload["if"] == "${{ !cancelled() && steps.sarif.outcome == 'success' }}"
    hook = read_yaml(top / ".pre-commit-config.yaml")["repos"][0]["hooks"][0]
    assert hook["entry"] == "strataml -C ml doctor --strict"
    assert not (top / "ml/.github/workflows").exists() and not (top / "ml/.pre-commit-config.yaml").exists()
    assert (top / "ml/.github/dependabot.yml").is_file()
    status = subprocess.run(["git", "status", "--porcelain"], cwd=top, capture_output=True, text=True, check=True)
    assert status.stdout == " M app.py\n"  # the workspace and the two files committed; the rest untouched
    assert engine.doctor(top / "ml", strict=True).exit_code == 0


def test_init_in_a_folder_moves_nothing_over_the_repositorys_own_ci_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    top = _monorepo(tmp_path)
    (top / ".github/workflows").mkdir(parents=True)
    (top / ".github/workflows/strataml.yml").write_text("name: another workspace's\n")
    (top / ".pre-commit-config.yaml").write_text("repos: []\n")
    assert run(["-C", str(top), "init", "ml", "--ci-shards", "3", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "../.pre-commit-config.yaml exist already" in doc["note"]
    assert "mv .github/workflows/strataml.yml ../.github/workflows/strataml-ml.yml" in doc["next"]
    assert ".pre-commit-config.yaml" not in doc["next"].split("git add", 1)[0]
    _jobs_run_in(read_yaml(top / "ml/.github/workflows/strataml.yml"), "ml")  # the matrix one: every job
    assert (top / ".pre-commit-config.yaml").read_text() == "repos: []\n"


def test_init_at_a_repositorys_root_or_outside_one_writes_the_ci_files_as_they_are(tmp_path: Path) -> None:
    top = _monorepo(tmp_path)
    assert run(["init", str(top), "--name", "mono"]) == 0
    assert "working-directory" not in (top / ".github/workflows/strataml.yml").read_text()
    assert "entry: strataml doctor --strict" in (top / ".pre-commit-config.yaml").read_text()


def test_init_in_a_folder_a_workflow_cannot_name_plainly_says_to_move_them_by_hand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    top = _monorepo(tmp_path)
    assert run(["-C", str(top), "init", "my ml", "--name", "ml", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "move them there by hand" in doc["note"] and " mv " not in doc["next"]
    assert "git add -A . &&" in doc["next"]  # the workspace only, never the repository's other changes


@pytest.mark.parametrize(
    ("recorded", "expected"),
    [
        (None, ""),  # an index, or nothing recorded: no guess at a name someone else may own
        ({"url": "file:///home/me/strataml", "dir_info": {"editable": True}}, ""),
        ({"url": "https://git.example.org/ml/strataml.git", "vcs_info": {"vcs": "git", "commit_id": "a" * 40}},
         "git+https://git.example.org/ml/strataml.git@" + "a" * 40),
        ({"url": "https://tok:secret@git.example.org/ml/strataml.git", "vcs_info": {"vcs": "git", "commit_id": "a" * 40}}, ""),
        ({"url": "https://files.example.org/strataml-0.1.0-py3-none-any.whl", "archive_info": {}},
         "https://files.example.org/strataml-0.1.0-py3-none-any.whl"),
        ({"url": "https://x.example.org/a b.whl", "archive_info": {}}, ""),  # nothing a workflow must quote
    ],
)
def test_init_writes_where_ci_installs_strataml_from_and_never_the_bare_pypi_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], recorded, expected: str
) -> None:
    """`strataml` on PyPI is not this tool: a workflow installing the bare name failed on its
    first push, and would have run the code of whoever registered the name."""
    from importlib import metadata

    class Dist:
        def read_text(self, name: str) -> str | None:
            return json.dumps(recorded) if name == "direct_url.json" and recorded is not None else None

    monkeypatch.setattr(metadata, "distribution", lambda name: Dist())
    assert run(["init", str(tmp_path / "lab")]) == 0
    out = capsys.readouterr().out
    flow = read_yaml(tmp_path / "lab/.github/workflows/strataml.yml")
    assert flow["env"]["STRATAML_INSTALL"] == expected
    assert ("Set STRATAML_INSTALL" in out) == (expected == "")
    install = next(s["run"] for s in flow["jobs"]["doctor"]["steps"] if "pip install" in s.get("run", ""))
    done = subprocess.run(["bash", "-c", f"pip() {{ echo pip \"$@\"; }}\n{install}"], capture_output=True, text=True,
                          env={**os.environ, "STRATAML_INSTALL": expected, "BASE": ""})
    if expected:
        assert done.returncode == 0 and done.stdout.strip() == f"pip install {expected}"
    else:
        assert done.returncode != 0 and "STRATAML_INSTALL: is empty, set it under env" in done.stderr


def test_a_command_at_a_repositorys_root_names_the_workspace_folder_below_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The monorepo's root holds no strataml.yaml: the error said only that, where CI runs."""
    top = _monorepo(tmp_path)
    assert run(["init", str(top / "ml")]) == 0
    capsys.readouterr()
    assert run(["-C", str(top), "doctor"]) == 3
    err = capsys.readouterr().err
    assert "no strataml.yaml in" in err and "ml/ holds a workspace: run `strataml -C ml ...`" in err
    assert run(["init", str(top / "other")]) == 0
    capsys.readouterr()
    assert run(["-C", str(top), "doctor"]) == 3
    assert "ml/, other/ hold workspaces" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("rows", "said"),
    [
        (["5.1,3.5,1.4,0.2,setosa", "4.9,3.0,1.4,0.2,setosa"], "the header of data.csv is mostly numbers ('5.1', '3.5'"),
        (["a;b;label", "1;2;x"], "data.csv has one column, named 'a;b;label': it looks separated by semicolons"),
        (["a\tb\tlabel", "1\t2\tx"], "it looks separated by tabs"),
        (["a,b,label"], "data.csv has a header and no rows of data"),
    ],
    ids=["no-header", "semicolons", "tabs", "no-rows"],
)
def test_dataset_add_notes_a_csv_that_looks_misread(fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   rows: list[str], said: str) -> None:
    """Accepted (nothing is wrong for certain), and said before the commit: these showed only
    when a run failed on them, or as a target the dataset did not have."""
    csv_file = write_csv(tmp_path / "data.csv", rows)
    assert run(["-C", str(fresh), "dataset", "add", "d", str(csv_file), "--version", "1", "--license", "MIT",
                "--source", "x"]) == 0
    out = capsys.readouterr().out
    assert "  note: " in out and said in out, out
    assert run(["-C", str(fresh), "dataset", "add", "d", str(csv_file), "--version", "2", "--license", "MIT",
                "--source", "x", "--format", "json"]) == 0
    assert any(said in note for note in json.loads(capsys.readouterr().out)["notes"])


def test_dataset_add_says_nothing_of_a_well_formed_csv(fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # (A wide table whose header is mostly years would be noted too: the note says "if".)
    csv_file = write_csv(tmp_path / "data.csv", ["sepal,petal,species", "1.0,2.5,setosa", "1.5,3.0,virginica"])
    assert run(["-C", str(fresh), "dataset", "add", "d", str(csv_file), "--version", "1", "--license", "MIT",
                "--source", "x"]) == 0
    assert "note:" not in capsys.readouterr().out


def test_dataset_add_with_a_broken_config_says_what_it_checked_by(
    fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said nothing: the version was checked by the default rules, and the next step's
    doctor then failed on strataml.yaml (promote and sign refuse to act on such a config)."""
    csv_file = write_csv(tmp_path / "data.csv", ["sepal,petal,species", "1.0,2.5,setosa", "1.5,3.0,virginica"])
    (fresh / "strataml.yaml").write_text((fresh / "strataml.yaml").read_text() + "doctor: [unclosed\n")
    assert run(["-C", str(fresh), "dataset", "add", "d", str(csv_file), "--version", "1", "--license", "MIT",
                "--source", "x", "--format", "json"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert any(n.startswith("strataml.yaml has errors (invalid YAML") and "default rules" in n for n in notes), notes


def test_dataset_add_notes_a_file_above_the_lfs_threshold_that_git_lfs_would_not_take(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Said only after the commit before (TFC0006-W011), when moving the file into LFS already
    changes a committed version. A file .gitattributes routes through LFS gets no note."""
    import shutil

    from conftest import require

    require(shutil.which("git") is not None, "git is not installed")
    lab = tmp_path / "lab"
    assert run(["init", str(lab)]) == 0
    subprocess.run(["git", "init", "-q"], cwd=lab, check=True)
    (lab / "strataml.yaml").write_text((lab / "strataml.yaml").read_text().replace("10485760", "100"))
    (lab / ".gitattributes").write_text((lab / ".gitattributes").read_text() + "/datasets/routed/** filter=lfs diff=lfs merge=lfs -text\n")
    data = write_csv(tmp_path / "data.csv", ["a,b"] + [f"{i},{i}" for i in range(50)])
    capsys.readouterr()
    for name, noted in (("big", True), ("routed", False)):
        assert run(["-C", str(lab), "dataset", "add", name, str(data), "--version", "1", "--license", "MIT",
                    "--source", "x"]) == 0
        out = capsys.readouterr().out
        said = f"note: datasets/{name}/1/data.csv is above lfs.threshold_bytes (100) and not routed through Git LFS"
        assert (said in out) == noted, out
        if noted:
            assert "`git lfs track --filename /datasets/big/1/data.csv`" in out


def test_a_column_with_no_value_is_text_not_boolean(tmp_path: Path) -> None:
    """A header-only CSV (or a column left empty) typed every column boolean, from no value at all."""
    from strataml.tabular import describe_csv

    for text in ("a,b\n", "a,b\n,1\n,2\n"):
        path = tmp_path / "t.csv"
        path.write_text(text, "utf-8")
        types = {c["name"]: c["type"] for c in describe_csv(path).columns}
        assert types["a"] == "string", (text, types)
    assert {c["name"]: c["type"] for c in describe_csv(path).columns}["b"] == "integer"
    path.write_text("a\ntrue\n\nfalse\n", "utf-8")
    assert describe_csv(path).columns[0]["type"] == "boolean"


def test_a_target_missing_from_a_semicolon_file_says_why(tmp_path: Path) -> None:
    """`--target target` on a;b;target said only "columns are: a;b;target"; without --target the
    same file got the note on its separator."""
    from strataml.errors import StrataError
    from strataml.tabular import describe_csv

    path = tmp_path / "t.csv"
    path.write_text("a;b;target\n1;2;x\n", "utf-8")
    with pytest.raises(StrataError) as caught:
        describe_csv(path, target="target")
    assert "looks separated by semicolons" in str(caught.value.hint), caught.value.hint


def test_columns_are_typed_alike_in_batches_of_any_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Values are judged a batch at a time; what a column becomes does not depend on where a
    batch ends: a float after many integers, the 51st label, a long label, an empty cell."""
    from strataml import tabular

    lines = ["n,x,label,note,when"]
    for i in range(200):
        lines.append(f"{i},{i if i < 150 else i + 0.5},{'L' + str(i % 60) if i > 100 else 'é'},"
                     f"{'y' * 70 if i == 199 else '短い'},{'' if i == 7 else '2024-01-01'}")
    path = tmp_path / "t.csv"
    path.write_text("\ufeff" + "\n".join(lines) + "\n", "utf-8")
    told: list[int] = []
    whole = tabular.describe_csv(path, tick=told.append)
    assert sum(told) == path.stat().st_size  # every byte, told as read (a bar's total is the size)
    for cells in (1, 5, 7, 64, 1000):
        monkeypatch.setattr(tabular, "BATCH_CELLS", cells)
        assert tabular.describe_csv(path) == whole, cells
    monkeypatch.setattr(tabular, "BATCH_CELLS", 1 << 16)
    monkeypatch.setattr(tabular, "BATCH_CHARS", 100)  # a batch ends at so many characters too
    assert tabular.describe_csv(path) == whole
    types = {c["name"]: (c["type"], c.get("nullable", False)) for c in whole.columns}
    assert types == {"n": ("integer", False), "x": ("float", False), "label": ("string", False),
                     "note": ("string", False), "when": ("date", True)}


def test_dataset_add_that_loses_a_race_for_its_version_is_refused_as_existing(
    fresh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two adds of one version at once: the one that published second said "cannot access
    datasets/d/1: already exists", exit 3, where a version that exists is exit 2."""
    from strataml import datasets

    csv = write_csv(tmp_path / "ok.csv", ["a,b", "1,2"])
    build = datasets._build

    def racing(staging, spec, sources, progress, notes=None):
        made = build(staging, spec, sources, progress, notes)
        (fresh / "datasets/d/1").mkdir(parents=True)  # (the other command's, published meanwhile)
        (fresh / "datasets/d/1/dataset.yaml").write_text("theirs\n")
        return made

    monkeypatch.setattr(datasets, "_build", racing)
    assert run(["-C", str(fresh), "dataset", "add", "d", str(csv), "--version", "1"]) == 2
    err = capsys.readouterr().err
    assert "dataset:d@1 already exists (datasets/d/1): another command added it meanwhile" in err, err
    assert sorted(p.name for p in (fresh / "datasets/d").iterdir()) == ["1"]
    assert (fresh / "datasets/d/1/dataset.yaml").read_text() == "theirs\n"


def test_dataset_add_reads_quotes_as_pandas_does_but_for_one_never_closed(fresh: Path, tmp_path: Path) -> None:
    """Strict reading refused what pandas and the plugin read: a space after a closing quote, a
    quote inside a value (5'11")."""
    # (Last, a row with one unquoted value's quote and a quoted line break: an odd count of quotes.)
    csv = write_csv(tmp_path / "people.csv", ["name,height,note", '"a ""q"" b",5,"x\ny"', '"Smith" ,5\'11",x',
                                               '"O"Brien,6\'2","two\nlines"'])
    assert run(["-C", str(fresh), "dataset", "add", "people", str(csv), "--version", "1"]) == 0
    assert read_yaml(fresh / "datasets/people/1/dataset.yaml")["files"][0]["rows"] == 3


@pytest.mark.parametrize("data,line", [
    (b"id,name\n1,a\n2,b\n3,\"c", 4),  # (the last line, no line break after it: `c` was recorded)
    (b"id,name\r\n1,a\r\n3,\"c\r\n4,d\r\n", 3),
    (b"id,h\n1,5'11\"\n2,\"x\n3,y\n", 3),  # (an unquoted value's quote does not count)
    ("\ufeffid,name\n1,\u00e9\n2,\"\u00e9t\u00e9 \U0001f600\n3,x".encode(), 3),  # (the row read again from the end)
    (b'"a,b\n1,2\n', 1),  # (the header)
])
def test_dataset_add_refuses_a_quote_never_closed_wherever_it_is(
    fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes, line: int
) -> None:
    csv = tmp_path / "open.csv"
    csv.write_bytes(data)
    assert run(["-C", str(fresh), "dataset", "add", "d", str(csv), "--version", "1"]) == 3
    assert f"open.csv:{line}: unreadable CSV: a quoted field opened in this row is never closed" in capsys.readouterr().err
