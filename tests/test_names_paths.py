"""Names and paths that lie (issue 11, item 3): whole-name matching, control characters, git's
batch protocols, nested repositories, folders the walk cannot open, and text output that a
file name cannot forge."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from strataml import schemas
from strataml.refs import RefError, parse_ref, valid_name, valid_run_id, valid_version

# ---------------------------------------------------------------- names are matched whole


@pytest.mark.parametrize("check", [valid_name, valid_version, valid_run_id])
def test_a_final_newline_is_not_part_of_a_valid_name(check) -> None:
    assert check("iris")
    assert not check("iris\n")
    assert not check("iris\r\n")


@pytest.mark.parametrize("text", ["dataset:iris@1\n", "run:abc\n", "experiment:x\n", "model:m@1\n"])
def test_a_ref_with_a_final_newline_is_not_a_ref(text: str) -> None:
    parse_ref(text.rstrip("\n"))
    with pytest.raises(RefError):
        parse_ref(text)


def test_rule_codes_are_matched_whole() -> None:
    from strataml.contracts import CODE

    assert CODE.fullmatch("TFC0001-E008")
    assert not CODE.fullmatch("TFC0001-E008\n")
    assert not CODE.fullmatch("TFC٠٠٠1-E008")  # Arabic-Indic digits are digits to \d, not to us


# One value each pattern in the packaged schemas accepts: a new pattern must be added here.
PATTERN_SAMPLES = [
    "a" * 64,
    "sha256:" + "a" * 64,
    "2024-01-01T00:00:00Z",
    "test_accuracy >= 0.9",
    "sklearn",
    "team-a/model:churn@3",
    "A" * 40,
    "A" * 64,
    "alice.pem",
    "alice.asc",
    "a" * 40,
    "TFC0001-E008",
    "TFC0001",
    *(f"strataml/{kind}/v1.2" for kind in ("dataset", "experiment", "run", "model")),
    "0.1.0",
]


def _patterns() -> list[str]:
    found = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "pattern" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for kind in (*schemas.KINDS, "common"):
        walk(schemas.raw_schema(kind))
    return sorted(set(found))


@pytest.mark.parametrize("pattern", _patterns())
def test_schema_patterns_do_not_accept_a_final_newline(pattern: str) -> None:
    """JSON Schema patterns are searched (Python's `$` matches before a final newline):
    jsonschema and the compiled fast path must both refuse VALUE + newline."""
    from jsonschema import Draft202012Validator

    from strataml.schemas.fast import compile_schema

    samples = [s for s in PATTERN_SAMPLES if re.search(pattern, s)]
    assert samples, f"no sample in PATTERN_SAMPLES matches {pattern!r}: add one"
    schema = {"type": "string", "pattern": pattern}
    fast = compile_schema(schema, lambda ref: {})
    for sample in samples:
        for bad in (sample + "\n", sample + "\n\n"):
            assert not Draft202012Validator(schema).is_valid(bad), (pattern, bad)
            assert not fast(bad), (pattern, bad)
        assert Draft202012Validator(schema).is_valid(sample) and fast(sample)


def test_a_sha256_with_a_final_newline_breaks_the_dataset_schema(ws: Path) -> None:
    import yaml

    doc = yaml.safe_load((ws / "datasets/flowers/1/dataset.yaml").read_text())
    assert schemas.validate("dataset", doc) == []
    doc["files"][0]["sha256"] += "\n"
    assert [i.path for i in schemas.validate("dataset", doc)] == [("files", 0, "sha256")]


# ---------------------------------------------------------------- control characters (TFC0001-E008)

FLOWERS = "datasets/flowers/1"
RUN = "runs/20260101T000000Z-sales-forecast-a1b2c3"


def _record_file(ws: Path, folder: str, name: str, content: bytes) -> None:
    """Add a file to a dataset version and record it (sha256, size, digest), as `dataset add` would."""
    import hashlib

    from conftest import edit_yaml
    from strataml.hashing import dataset_digest

    (ws / folder / name).write_bytes(content)

    def change(d: dict) -> None:
        d["files"].append({"path": name, "sha256": hashlib.sha256(content).hexdigest(), "size": len(content)})
        d["digest"] = dataset_digest((f["path"], f["sha256"]) for f in d["files"])

    edit_yaml(ws / folder / "dataset.yaml", change)


def _found(ws: Path) -> set[tuple[str, str]]:
    from strataml.doctor import engine

    return {(f.code, f.path) for f in engine.doctor(ws).findings}


@pytest.mark.parametrize("char", ["\n", "\t", "\r", "\x1b", "\x7f", "\x85", "\x9b"])
def test_a_recorded_file_named_with_a_control_character_is_an_error(ws: Path, char: str) -> None:
    name = f"more{char}flowers.csv"
    _record_file(ws, FLOWERS, name, b"sepal,petal\n1,2\n")
    found = _found(ws)
    assert found == {("TFC0001-E008", f"{FLOWERS}/{name}"), ("TFC0001-E008", f"{FLOWERS}/dataset.yaml")}


@pytest.mark.parametrize("twin", ["\u0131nfo.csv", "inf\u200co.csv", "INFO.csv"])
def test_two_recorded_files_that_are_one_on_macos_or_windows_are_an_error(ws: Path, twin: str) -> None:
    """Windows' upcase makes the dotless i an I and HFS+ leaves U+200C out of a name: pinned
    beside info.csv, such a twin was another file to the doctor and the same file to a checkout there."""
    from strataml.refs import fold

    assert fold(twin) == fold("info.csv")
    _record_file(ws, FLOWERS, "info.csv", b"sepal,petal\n1,2\n")
    _record_file(ws, FLOWERS, twin, b"sepal,petal\n3,4\n")
    assert ("TFC0008-E004", f"{FLOWERS}/dataset.yaml") in _found(ws)


def test_the_record_rules_on_one_record_folder_refuse_a_control_character(ws: Path) -> None:
    """What `sign`, `promote` and `dataset add` ask: the errors in one record's folder."""
    from strataml.doctor import engine
    from strataml.workspace import load

    _record_file(ws, FLOWERS, "a\nb.csv", b"x\n")
    workspace = load(ws)
    record = workspace.get("dataset:flowers@1")
    errors = engine.record_errors(workspace, record)
    assert {(f.code, f.path) for f in errors} == {
        ("TFC0001-E008", f"{FLOWERS}/a\nb.csv"),
        ("TFC0001-E008", f"{FLOWERS}/dataset.yaml"),
    }
    # A record pinning such a path is an error even before the file exists.
    (ws / FLOWERS / "a\nb.csv").unlink()
    assert ("TFC0001-E008", f"{FLOWERS}/dataset.yaml") in _found(ws)


def test_a_record_folder_named_with_a_control_character_is_named_once(ws: Path) -> None:
    bad = "runs/20260101T000000Z-x\ty"
    (ws / RUN).rename(ws / bad)
    found = _found(ws)
    assert ("TFC0001-E008", bad) in found
    # Only the entry whose own name holds it: not every path below it.
    assert not [p for c, p in found if c == "TFC0001-E008" and p != bad]


def test_a_record_folder_whose_name_is_not_utf8_owns_its_findings_in_a_listing(ws: Path, capsys) -> None:
    # Findings spell a name's undecodable bytes \\xNN; the record's folder is the walk's name (a
    # surrogate). Counted on its node all the same: `list` must not show such a record healthy.
    import os

    from conftest import invoke
    from strataml.controls import undecodable
    from strataml.doctor import engine

    bad = os.fsencode(ws / RUN) + b"\xff"
    os.rename(os.fsencode(ws / RUN), bad)
    folder = undecodable(os.fsdecode(bad)[len(str(ws)) + 1 :])  # runs/...\xff, as findings say it
    errors = [f for f in engine.doctor(ws).findings if f.path.startswith(folder) and f.severity == "error"]
    assert "TFC0001-E003" in {f.code for f in errors}  # the folder's name, as a run id
    code, out, _err = invoke(ws, "list", "runs", "--format", "json", capsys=capsys)
    assert code == 0
    (row,) = [r for r in json.loads(out) if r["id"].endswith("\udcff")]
    assert row["health"] == f"{len(errors)} error{'s' if len(errors) != 1 else ''}"


# ---------------------------------------------------------------- nested repositories (TFC0001-E009)


@pytest.mark.parametrize("where", [f"{FLOWERS}/.git", f"{RUN}/.git", "datasets/.git", "models/sales-model/.git"])
@pytest.mark.parametrize("shape", ["folder", "gitlink"])
def test_a_nested_repository_is_an_error_and_is_not_entered(ws: Path, where: str, shape: str) -> None:
    if shape == "folder":
        (ws / where / "objects").mkdir(parents=True)
        (ws / where / "HEAD").write_text("ref: refs/heads/main\n")
    else:  # a submodule's (or worktree's) .git file
        (ws / where).write_text("gitdir: ../../.git/modules/x\n")
    assert _found(ws) == {("TFC0001-E009", where)}


# ---------------------------------------------------------------- folders the walk cannot open (TFC0001-E010)


def _without_dac_override() -> None:
    """A preexec_fn that takes from root the capabilities that let it read past permission bits
    (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so a folder another user keeps private stops it, as
    it stops everyone else. (Switching to `nobody` would do too, but this venv's interpreter lives
    under /root, which `nobody` cannot enter.)"""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP: gone from the exec'd process
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_a_folder_the_walk_cannot_open_is_an_error_naming_it(ws: Path, strataml_exe: list[str]) -> None:
    """The real console script, with folders its user may not open: each is a finding naming it."""
    import os
    import subprocess

    root = os.geteuid() == 0
    shut = [ws / FLOWERS / "private", ws / "runs" / "locked"]
    for folder in shut:
        folder.mkdir()
        (folder / "secret.csv").write_text("a\n")
        if root:
            os.chown(folder, 65534, 65534)  # another user's (nobody's) private folder
            os.chmod(folder, 0o700)
        else:
            os.chmod(folder, 0o000)
    try:
        proc = subprocess.run(
            [*strataml_exe, "-C", str(ws), "doctor", "--no-cache", "--no-git", "--format", "json"],
            capture_output=True,
            text=True,
            preexec_fn=_without_dac_override if root else None,
            timeout=120,
        )
    finally:
        for folder in shut:
            os.chmod(folder, 0o755)
    assert proc.returncode == 2, proc.stderr
    found = {(f["code"], f["path"]): f["message"] for f in json.loads(proc.stdout)["findings"]}
    assert set(found) == {("TFC0001-E010", f"{FLOWERS}/private"), ("TFC0001-E010", "runs/locked")}, found
    assert "Permission denied" in found[("TFC0001-E010", "runs/locked")]


def test_a_folder_past_path_max_is_an_error_naming_it(ws: Path) -> None:
    from test_rules_golden import too_long

    too_long(ws / RUN)
    found = _found(ws)
    assert len(found) == 1
    (code, path), = found
    assert code == "TFC0001-E010" and path.startswith(f"{RUN}/d") and len(str(ws / path)) > 4096


# ---------------------------------------------------------------- commands refuse such names


def _refused(code: int, err: str) -> None:
    assert code == 3, err
    lines = err.splitlines()
    assert lines[0].startswith("strataml: error: ") and "control character" in lines[0], err
    assert len(lines) == 2 and lines[1].startswith("  hint: "), err  # one line, and its hint
    assert "\x1b" not in err and "Traceback" not in err


def _spec_refused(code: int, err: str) -> None:
    """A spec's problem (exit 2, as every problem of a spec is: an attacker found exit 3, "could
    not run"), on a line naming the spec's file and line."""
    assert code == 2, err
    lines = err.splitlines()
    assert lines[0].startswith("strataml: error: experiments/") and lines[0].endswith("cannot run:"), err
    assert re.match(r"  - experiments/\S+\.yaml:\d+: .* holds a control character", lines[1]), err
    assert "\x1b" not in err and "Traceback" not in err


@pytest.mark.parametrize("name", ["flowers-lr\n", "flowers\x1b[2Klr", "flowers\x85lr"])
def test_run_refuses_a_spec_named_with_a_control_character(ws: Path, name: str, capsys) -> None:
    from conftest import edit_yaml, invoke

    spec = ws / "experiments" / f"{name}.yaml"
    (ws / "experiments" / "flowers-logreg.yaml").rename(spec)
    edit_yaml(spec, lambda d: d.update(name=name))
    before = sorted(p.name for p in (ws / "runs").iterdir())
    code, _out, err = invoke(ws, "run", str(spec), capsys=capsys)
    _spec_refused(code, err)
    code, _out, err = invoke(ws, "run", str(spec), "--dry-run", capsys=capsys)
    _spec_refused(code, err)
    assert sorted(p.name for p in (ws / "runs").iterdir()) == before


def test_run_refuses_a_spec_registering_a_model_name_with_a_control_character(ws: Path, capsys) -> None:
    from conftest import edit_yaml, invoke

    spec = ws / "experiments" / "flowers-logreg.yaml"
    edit_yaml(spec, lambda d: d.update(register={"model": "flowers\n"}))
    code, _out, err = invoke(ws, "run", str(spec), "--dry-run", capsys=capsys)
    _spec_refused(code, err)


@pytest.mark.parametrize(("flag", "value"), [("--name", "clf\n"), ("--name", "c\tlf"), ("--version", "2\n")])
def test_model_register_refuses_a_control_character(ws: Path, flag: str, value: str, capsys) -> None:
    from conftest import invoke

    before = sorted(p.relative_to(ws) for p in (ws / "models").rglob("*"))
    args = ["--name", "clf", flag, value] if flag == "--version" else [flag, value]
    code, _out, err = invoke(ws, "model", "register", f"run:{RUN.split('/')[1]}", *args, capsys=capsys)
    _refused(code, err)
    assert sorted(p.relative_to(ws) for p in (ws / "models").rglob("*")) == before


# ---------------------------------------------------------------- git hears every path whole


def test_a_path_with_a_newline_does_not_shift_what_git_answers_for_a_pull_request(
    tmp_path: Path, strataml_exe: list[str]
) -> None:
    """A PR whose tree holds a run folder named with a newline, that edits it and rewrites a
    ledger: the rewrite is still caught, and every finding names the path it is about."""
    import shutil
    import subprocess

    import models_helpers
    from conftest import POSITIVE, edit_yaml, require
    from test_git_rules import commit_all, git

    require(shutil.which("git") is not None, "git is not installed")
    repo = tmp_path / "repo"
    shutil.copytree(POSITIVE, repo, symlinks=True)
    (repo / ".gitignore").write_text(".strataml/\n")
    odd = "runs/20260101T000000Z-odd\nrun"
    shutil.copytree(repo / RUN, repo / odd)
    models_helpers.reach(repo, "candidate")
    git(repo, "init", "-q")
    base = commit_all(repo, "base")
    assert f"{odd}/run.yaml" in git(repo, "ls-files", "-z").split("\0")

    edit_yaml(repo / odd / "run.yaml", lambda d: d["tags"].update(purpose="rewritten"))  # a finished run, edited
    models_helpers.write_ledger(repo, [(models_helpers.ref(1), "rejected")])  # another valid chain
    (repo / FLOWERS / "extra\nfile.csv").write_text("a\n")
    commit_all(repo, "pull request")

    proc = subprocess.run(
        [*strataml_exe, "-C", str(repo), "doctor", "--since", base, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    found = [(f["code"], f["path"]) for f in json.loads(proc.stdout)["findings"]]
    assert ("TFC0005-E006", models_helpers.LEDGER) in found, found
    assert ("TFC0003-E010", odd) in found, found
    assert ("TFC0001-E008", odd) in found and ("TFC0001-E008", f"{FLOWERS}/extra\nfile.csv") in found, found
    for _code, path in found:
        assert (repo / path).exists(), f"a finding names {path!r}, which is not there"


def test_read_at_answers_each_path_even_when_one_holds_a_newline(tmp_path: Path) -> None:
    import shutil

    from conftest import require
    from strataml import gitfacts
    from test_git_rules import commit_all, git

    require(shutil.which("git") is not None, "git is not installed")
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q")
    names = ["a", "b\nc", "b", "c", "d\r", " e ", "f missing"]
    for i, name in enumerate(names):
        (repo / name).write_text(f"content {i}\n")
    commit = commit_all(repo, "files")
    asked = ["nope", *names, "b\nc\n", "gone\n"]
    got = gitfacts.read_at(repo, commit, asked)
    assert got == {name: f"content {i}\n".encode() for i, name in enumerate(names)}


def test_one_object_per_call_answers_as_the_batch_does(tmp_path: Path) -> None:
    """What git before 2.36 (no `cat-file --batch -z`) gets: the same answers, one call each."""
    import shutil

    from conftest import require
    from strataml import gitfacts
    from test_git_rules import commit_all, git

    require(shutil.which("git") is not None, "git is not installed")
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q")
    for name in ("a", "b\nc"):
        (repo / name).write_text(name)
    commit = commit_all(repo, "files")
    asked = ["a", "b\nc", "b", "nope"]
    names = [f"{commit}:{p}".encode() for p in asked]
    assert gitfacts._read_each(repo, names, asked) == gitfacts.read_at(repo, commit, asked) == {"a": b"a", "b\nc": b"b\nc"}


# ---------------------------------------------------------------- text output a name cannot forge

FORGED = "x\nOK: 0 errors, 0 warnings, 0 infos; 6 records checked"
ERASER = "e\x1b[2K\x1b[1A\x9b2J"


def _hostile_names(ws: Path) -> None:
    for name in (FORGED, ERASER):
        (ws / FLOWERS / name).write_text("x")


def _clean_text(text: str) -> None:
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", text), repr(text)  # newline alone is allowed


def test_doctor_text_escapes_control_characters_in_paths_and_messages(ws: Path, capsys) -> None:
    from conftest import invoke

    _hostile_names(ws)
    code, out, _err = invoke(ws, "doctor", capsys=capsys)
    assert code == 2
    _clean_text(out)
    assert not [line for line in out.splitlines() if line.startswith("OK")], out
    assert out.splitlines()[-1].startswith("FAILED: ")
    assert f"{FLOWERS}/x\\nOK: 0 errors" in out and f"{FLOWERS}/e\\x1b[2K\\x1b[1A\\u009b2J" in out


def test_a_name_with_a_bidi_control_reads_as_it_is_in_text_and_exactly_in_json(ws: Path, capsys) -> None:
    """U+202E reverses what follows on a terminal or a review page: `notes\u202etxt.exe` would read
    as `notesexe.txt`. Not a control character (no TFC0001-E008), but text output spells it out."""
    from conftest import invoke
    from strataml.controls import shown

    assert shown("a\u202eb\u2066c\u200fd") == "a\\u202eb\\u2066c\\u200fd"
    name = "notes\u202etxt.exe"
    (ws / FLOWERS / name).write_text("x")
    code, out, _err = invoke(ws, "doctor", "--no-git", capsys=capsys)
    assert code == 1 and f"{FLOWERS}/notes\\u202etxt.exe" in out and "\u202e" not in out, out
    code, out, _err = invoke(ws, "doctor", "--no-git", "--format", "json", capsys=capsys)
    assert f"{FLOWERS}/{name}" in {f["path"] for f in json.loads(out)["findings"]}


def test_doctor_text_with_colour_escapes_them_too(ws: Path, capsys, monkeypatch) -> None:
    from conftest import invoke

    monkeypatch.setenv("FORCE_COLOR", "1")
    _hostile_names(ws)
    code, out, _err = invoke(ws, "doctor", capsys=capsys)
    assert code == 2
    plain = re.sub("\x1b\\[[0-9;]*m", "", out)  # rich's own colours are the only escapes left
    _clean_text(plain)
    assert "\\x1b[2K" in plain


def test_json_and_sarif_carry_the_exact_names_and_github_escapes_them(ws: Path, capsys) -> None:
    from urllib.parse import unquote

    from conftest import invoke

    _hostile_names(ws)
    code, out, _err = invoke(ws, "doctor", "--format", "json", capsys=capsys)
    paths = {f["path"] for f in json.loads(out)["findings"]}
    assert {f"{FLOWERS}/{FORGED}", f"{FLOWERS}/{ERASER}"} <= paths
    code, out, _err = invoke(ws, "doctor", "--format", "sarif", capsys=capsys)
    uris = {
        unquote(loc["physicalLocation"]["artifactLocation"]["uri"])
        for result in json.loads(out)["runs"][0]["results"]
        for loc in result["locations"]
    }
    assert {f"{FLOWERS}/{FORGED}", f"{FLOWERS}/{ERASER}"} <= uris
    code, out, _err = invoke(ws, "doctor", "--format", "github", capsys=capsys)
    assert f"file={FLOWERS}/x%0AOK%3A 0 errors%2C" in out  # GitHub's own encoding for a line break
    # The job log renders terminal escapes: every other control is spelled out, as in text output.
    _clean_text(out)
    assert f"file={FLOWERS}/e\\x1b[2K\\x1b[1A\\u009b2J" in out
    assert not [line for line in out.splitlines() if line.startswith("OK")]


POINTER_WITH_ESCAPE = (
    b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"a" * 64 + b"\nsize 1" + ERASER.encode() + b"\n"
)


@pytest.mark.parametrize("where", ["recorded path", "lfs pointer"])
def test_findings_carry_raw_text_and_only_the_text_report_escapes_it(ws: Path, capsys, where: str) -> None:
    """Rules write what they found as it is: JSON carries it exactly, the text report escapes it."""
    from conftest import invoke

    if where == "recorded path":
        _record_file(ws, FLOWERS, ERASER, b"x\n")
        (ws / FLOWERS / ERASER).unlink()  # the record still pins the name: its own finding
        code, path = "TFC0001-E008", f"{FLOWERS}/dataset.yaml"
    else:
        _record_file(ws, FLOWERS, "big.bin", b"the content\n")
        (ws / FLOWERS / "big.bin").write_bytes(POINTER_WITH_ESCAPE)
        code, path = "TFC0006-E011", f"{FLOWERS}/big.bin"
    _status, out, _err = invoke(ws, "doctor", "--no-git", "--format", "json", capsys=capsys)
    (message,) = [f["message"] for f in json.loads(out)["findings"] if (f["code"], f["path"]) == (code, path)]
    assert f"'{'1' if where == 'lfs pointer' else ''}{ERASER}'" in message, message
    assert "9b2J" not in message, message  # the C1 control is never spelled out (\u009b, \x9b)
    _status, out, _err = invoke(ws, "doctor", "--no-git", capsys=capsys)
    _clean_text(out)
    assert "e\\x1b[2K\\x1b[1A\\u009b2J'" in out, out


def test_error_messages_escape_what_they_quote(ws: Path, capsys) -> None:
    from conftest import invoke

    code, _out, err = invoke(ws, "run", f"experiments/{ERASER}.yaml", capsys=capsys)
    assert code == 3 and "no experiment spec at" in err
    _clean_text(err)
    assert len(err.splitlines()) == 2


def test_a_spec_that_cannot_run_lists_each_problem_on_its_own_escaped_line(ws: Path, capsys) -> None:
    from conftest import invoke

    _record_file(ws, FLOWERS, ERASER, b"x\n")
    code, _out, err = invoke(ws, "run", "experiments/flowers-logreg.yaml", "--dry-run", capsys=capsys)
    assert code == 2, err
    _clean_text(err)
    lines = err.splitlines()
    assert lines[0] == "strataml: error: experiments/flowers-logreg.yaml cannot run:"
    assert lines[-1].startswith("  hint: ")
    assert all(line.startswith("  - ") for line in lines[1:-1]) and len(lines) > 2
    assert any("'e\\x1b[2K\\x1b[1A\\u009b2J'" in line and "TFC0001-E008" in line for line in lines), lines


def test_list_show_and_lineage_escape_values_from_the_repository(ws: Path, capsys) -> None:
    from conftest import edit_yaml, invoke

    edit_yaml(ws / FLOWERS / "dataset.yaml", lambda d: d.update(license="MIT\nOK all healthy\x1b[2J"))
    code, out, _err = invoke(ws, "list", "datasets", capsys=capsys)
    assert code == 0
    _clean_text(out)
    assert "MIT\\nOK all healthy\\x1b[2J" in out
    code, out, _err = invoke(ws, "show", "dataset:flowers@1", capsys=capsys)
    assert code == 0
    _clean_text(out)
    assert "license: MIT\\nOK all healthy\\x1b[2J" in out
    code, out, _err = invoke(ws, "list", "datasets", "--format", "json", capsys=capsys)
    assert "MIT\nOK all healthy\x1b[2J" in {r.get("license") for r in json.loads(out)}


def test_shown_spells_every_control_character_and_nothing_else() -> None:
    from strataml.controls import find, shown, undecodable

    assert shown("plain/path-1.csv") == "plain/path-1.csv"
    assert shown("a\nb\tc\rd") == "a\\nb\\tc\\rd"
    assert shown("\x00\x1b\x7f") == "\\x00\\x1b\\x7f"
    assert shown("\x85\x9b") == "\\u0085\\u009b"
    assert shown("caf\xe9 \u2014 \\n") == "caf\xe9 \u2014 \\n"  # letters and a literal backslash stay
    raw = b"bad\xff\x1b".decode("utf-8", "surrogateescape")
    assert shown(raw) == "bad\\xff\\x1b" and undecodable(raw) == "bad\\xff\x1b"
    assert find("ok") is None and find("a\tb") == "\\t"
    for code in [*range(0x20), *range(0x7F, 0xA0)]:
        assert find(f"a{chr(code)}b") is not None and "\n" not in shown(chr(code))


@pytest.mark.parametrize("fmt", ["text", "mermaid", "dot"])
def test_lineage_escapes_a_ref_named_with_a_control_character(ws: Path, fmt: str, capsys) -> None:
    from conftest import invoke

    (ws / RUN).rename(ws / "runs/20260101T000000Z-x\x1b[2K\ny")
    code, out, _err = invoke(ws, "lineage", "dataset:sales@1", "--downstream", "--format", fmt, capsys=capsys)
    assert code == 0
    _clean_text(out)
    assert "run:20260101T000000Z-x\\x1b[2K\\ny" in out.replace("\\\\", "\\")
    code, out, _err = invoke(ws, "lineage", "dataset:sales@1", "--downstream", "--format", "json", capsys=capsys)
    assert "run:20260101T000000Z-x\x1b[2K\ny" in {s["ref"] for s in json.loads(out)["downstream"]}


def test_keys_list_escapes_a_user_id_written_to_rewrite_the_terminal(ws: Path, tmp_path: Path, capsys) -> None:
    """A key's user id is anyone's text: a pinned key cannot print terminal escapes."""
    import gpgkeys
    from conftest import invoke, require

    require(gpgkeys.available(), "gpg is not installed")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    params = ["%no-protection", "Key-Type: EDDSA", "Key-Curve: ed25519", "Key-Usage: sign",
              "Name-Real: Eve\x1b[2J\x1b[1A", "Name-Email: eve@example.org", "Expire-Date: 0", "%commit", ""]
    try:
        gpgkeys.gpg(home, "--gen-key", stdin="\n".join(params).encode())
        public = tmp_path / "eve.asc"
        public.write_bytes(gpgkeys.gpg(home, "--armor", "--export").stdout)
    finally:
        gpgkeys.stop_agents([home])
    code, out, _err = invoke(ws, "keys", "add", str(public), "--scope", "models", capsys=capsys)
    assert code == 0
    _clean_text(out)
    code, out, _err = invoke(ws, "keys", "list", capsys=capsys)
    assert code == 0
    _clean_text(out)
    assert "Eve\\x1b[2J\\x1b[1A <eve@example.org>" in out
    code, out, _err = invoke(ws, "keys", "list", "--format", "json", capsys=capsys)
    assert json.loads(out)[0]["uid"] == "Eve\x1b[2J\x1b[1A <eve@example.org>"


# ---------------------------------------------------------- characters that print as nothing (TFC0001-W004)


def test_every_character_that_prints_as_nothing_is_found_and_shown_escaped() -> None:
    """Unicode's format characters (Cf) and the line and paragraph separators, as this Python's
    Unicode database has them: found by `invisible` and spelled out by `shown` (a zero-width space
    was neither, so `train.csv` and `train.csv` + U+200B printed alike)."""
    import unicodedata

    from strataml.controls import invisible, shown

    hidden = [c for c in map(chr, range(0x110000)) if unicodedata.category(c) in ("Cf", "Zl", "Zp")]
    # Default-ignorable code points that are no format character, some printable to Python,
    # some unassigned: a variation selector, a Hangul filler, the combining grapheme joiner.
    hidden += ["\ufe00", "\ufe0f", "\U000e0100", "\u3164", "\uffa0", "\u034f", "\u2065", "\ufff0", "\U000e0002"]
    assert len(hidden) > 150
    joiners = {"\u200c", "\u200d", *map(chr, range(0xFE00, 0xFE10))}  # Persian, Indic and emoji text needs them
    for char in hidden:
        assert invisible(f"a{char}b") is not None, hex(ord(char))
        assert shown(f"a{char}b").isascii() == (char not in joiners), hex(ord(char))
    assert shown("train.csv\u200b") == "train.csv\\u200b" and shown("y\U000e0069.csv") == "y\\U000e0069.csv"
    assert shown("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 \u2764\ufe0f") == "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 \u2764\ufe0f"
    assert invisible("caf\xe9 \u2014 \u05d0 \u4e2d.csv") is None  # letters of every script stay


def test_the_dashboard_spells_out_what_the_cli_does() -> None:
    """app.js keeps its own copy of the characters text output escapes (the page has no Python):
    the same set, tab and newline aside (the page shows multi-line text), spelled alike."""
    import re

    from conftest import ROOT
    from strataml.controls import _UNSHOWABLE, shown

    js = (ROOT / "strataml/read/site/app.js").read_text("utf-8")
    klass = re.search(r"var UNSHOWABLE = /(\[.*?\])/gu;", js).group(1)
    pattern = re.compile(re.sub(r"\\u\{([0-9a-f]+)\}", lambda m: f"\\U{int(m.group(1), 16):08x}", klass))
    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert set(pattern.findall(every)) == set(_UNSHOWABLE.findall(every)) - {"\t", "\n"}
    spelled = re.search(r"function visible\(s\) \{.*?\n  \}", js, re.S).group(0)
    assert 'n < 0x80) return "\\\\x"' in spelled and 'n > 0xffff) return "\\\\U"' in spelled
    assert shown("\x85\xad\U000e0041") == "\\u0085\\u00ad\\U000e0041"  # (the forms the page must match)


def test_a_look_alike_file_name_is_a_warning_and_reads_as_another_name(ws: Path, capsys) -> None:
    """A record holding `train.csv` and `train.csv` + U+200B passed --strict, and `show` listed two
    files of the same name; a stray one beside the recorded file read as the recorded file."""
    from conftest import invoke

    twin = "flowers.csv\u200b"
    _record_file(ws, FLOWERS, twin, b"sepal,petal\n9,9\n")
    (ws / FLOWERS / "notes\u2028.txt").write_text("x")  # a line separator, unrecorded
    found = _found(ws)
    assert {p for c, p in found if c == "TFC0001-W004"} == {
        f"{FLOWERS}/{twin}",
        f"{FLOWERS}/dataset.yaml",
        f"{FLOWERS}/notes\u2028.txt",
    }
    assert not [c for c, _p in found if c.startswith("TFC0001-E")]
    code, out, _err = invoke(ws, "doctor", "--strict", "--no-git", capsys=capsys)
    assert code == 2 and f"{FLOWERS}/flowers.csv\\u200b" in out and "notes\\u2028.txt" in out
    assert "\u200b" not in out and "\u2028" not in out
    code, out, _err = invoke(ws, "show", "dataset:flowers@1", capsys=capsys)
    assert code == 0 and "flowers.csv\\u200b" in out and "\u200b" not in out
    code, out, _err = invoke(ws, "doctor", "--no-git", "--format", "json", capsys=capsys)
    assert f"{FLOWERS}/{twin}" in {f["path"] for f in json.loads(out)["findings"]}  # JSON: the exact name


def test_dataset_add_notes_a_file_name_that_reads_as_another(ws: Path, tmp_path: Path, capsys) -> None:
    from conftest import invoke

    src = tmp_path / "train.csv\u200b"
    src.write_text("a,y\n1,0\n2,1\n")
    code, out, _err = invoke(ws, "dataset", "add", "twin", str(src), "--version", "1", "--license", "MIT",
                             "--source", "t", capsys=capsys)
    assert code == 0 and "note: train.csv\\u200b holds a character that prints as nothing (\\u200b)" in out, out
    assert "\u200b" not in out
    code, out, _err = invoke(ws, "dataset", "add", "twin", str(src), "--version", "2", "--format", "json",
                             capsys=capsys)
    assert any("TFC0001-W004" in note for note in json.loads(out)["notes"])


def test_keys_list_of_a_symlinked_keys_folder_says_so(ws: Path, tmp_path: Path, capsys) -> None:
    """Found by an attacker: with tfc/keys a symlink, `keys list` said "No keys pinned." and
    exited 0, where the doctor reports TFC0007-E010."""
    import shutil

    from conftest import invoke

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.rmtree(ws / "tfc/keys", ignore_errors=True)
    (ws / "tfc").mkdir(exist_ok=True)
    (ws / "tfc/keys").symlink_to(elsewhere)
    code, out, err = invoke(ws, "keys", "list", capsys=capsys)
    assert code == 3 and "tfc/keys: is a symlink" in err and "No keys pinned" not in out, (out, err)
    (ws / "tfc/keys").unlink()
    shutil.move(str(ws / "tfc"), str(tmp_path / "tfc-elsewhere"))
    (ws / "tfc").symlink_to(tmp_path / "tfc-elsewhere")  # (the folder above it, the same)
    code, out, err = invoke(ws, "keys", "list", capsys=capsys)
    assert code == 3 and "tfc: is a symlink" in err and "No keys pinned" not in out, (out, err)


def test_a_librarys_exception_is_said_in_one_safe_bounded_line() -> None:
    """MLflow's, a signing library's or an HTTP client's exception, in a message: its first line,
    control characters escaped, cut where it is long (whole HTTP bodies came back)."""
    from strataml.controls import ELLIPSIS, said

    assert said(ValueError("\n  no store here\x1b[31m\ntraceback ...")) == "no store here\\x1b[31m"
    assert said(RuntimeError("   ")) == "RuntimeError"
    long = said(OSError("x" * 1000), 200)
    assert len(long) == 200 and long.endswith(ELLIPSIS)


def test_a_ledger_and_its_signature_are_told_by_name_exactly() -> None:
    """One predicate where five copies differed: two took any name starting `lifecycle.jsonl`."""
    from strataml.doctor.rules.history import is_ledger, owner
    from strataml.workspace import ledger_of

    assert ledger_of("models/m/lifecycle.jsonl") == ledger_of("models/m/lifecycle.jsonl.asc") == "models/m/lifecycle.jsonl"
    for other in ("models/m/lifecycle.jsonl.bak", "models/m/1/lifecycle.jsonl", "runs/m/lifecycle.jsonl", "models/m"):
        assert ledger_of(other) is None, other
    assert owner("models/m/lifecycle.jsonl.asc") == "models/m/lifecycle.jsonl" and is_ledger("models/m/lifecycle.jsonl")
    assert owner("models/m/lifecycle.jsonl.bak") == "models/m/lifecycle.jsonl.bak"  # a stray is its own
    assert not is_ledger("models/m/lifecycle.jsonl.asc")
