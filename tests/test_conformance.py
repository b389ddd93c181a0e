"""The conformance suite (strataml/conformance_suite) and `strataml conformance`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import conformance_gen
from strataml import conformance
from strataml.contracts import registry


def test_the_stored_suite_is_what_the_golden_cases_build() -> None:
    stored = {c.name: c for c in conformance.cases()}
    built = conformance_gen.built()
    assert sorted(stored) == sorted(built), "run `python tests/conformance_gen.py` and commit the suite"
    for name, doc in built.items():
        case = stored[name]
        assert (case.why, case.edits) == (doc["why"], doc["edits"]), name
        assert case.expected == [(f["code"], f["path"], f["severity"]) for f in doc["expected"]], name  # type: ignore[index]


def test_every_rule_has_a_case_but_those_that_need_git_or_gpg() -> None:
    from test_git_rules import GIT_CASES
    from test_signatures import SIGNATURE_CASES

    covered = {code for case in conformance.cases() for code, _p, _s in case.expected}
    enforced = {code for code, rule in registry().items() if rule.enforced}
    # Git history, routing and keys cannot live in a plain folder; a path beyond PATH_MAX neither.
    assert enforced - covered <= set(GIT_CASES) | set(SIGNATURE_CASES) | conformance_gen.NOT_PORTABLE
    # Those that can live in a plain folder do: pointer rules need no repository (none says otherwise).
    assert {"TFC0006-I010", "TFC0006-W010", "TFC0006-E010", "TFC0006-E011"} <= covered
    assert next(c for c in conformance.cases() if c.name == "base").expected == []


def write_tool(tmp_path: Path, body: str) -> str:
    script = tmp_path / "tool.py"
    script.write_text(body)
    return f"{sys.executable} {script}"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "strataml", "conformance", *args], capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.mark.slow
def test_strataml_doctor_agrees_with_every_case(strataml_exe: list[str]) -> None:
    done = subprocess.run([*strataml_exe, "conformance", "--format", "json"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["cases"] == report["agree"] == len(conformance.cases())


def test_a_checker_that_finds_nothing_disagrees_and_is_told_what_it_missed(tmp_path: Path) -> None:
    tool = write_tool(tmp_path, 'import json; print(json.dumps({"findings": []}))\n')
    done = cli("--tool", tool, "--case", "base", "--case", "TFC0006-E006")
    assert done.returncode == 2, done.stderr
    assert "TFC0006-E006: the golden negative case of TFC0006-E006" in done.stdout
    assert "  missing     error    TFC0006-E006  datasets/flowers/1/pipe" in done.stdout
    assert done.stdout.splitlines()[-1] == "DISAGREES on 1 of 2 cases"


def test_a_checker_that_reports_too_much_disagrees(tmp_path: Path) -> None:
    extra = {"findings": [{"code": "TFC0006-W001", "path": "x", "severity": "warning"}]}
    tool = write_tool(tmp_path, f"import json; print(json.dumps({extra!r}))\n")
    done = cli("--tool", tool, "--case", "base", "--format", "json")
    assert done.returncode == 2
    [outcome] = json.loads(done.stdout)["outcomes"]
    assert outcome["unexpected"] == [["TFC0006-W001", "x", "warning"]] and outcome["missing"] == []


def test_a_checker_that_cannot_run_or_prints_no_report(tmp_path: Path) -> None:
    done = cli("--tool", str(tmp_path / "no-such-tool"), "--case", "base")
    assert done.returncode == 3 and "could not judge" in done.stdout
    crash = write_tool(tmp_path, "raise SystemExit('boom')\n")
    done = cli("--tool", crash, "--case", "base")
    assert done.returncode == 3 and "no JSON report (boom)" in done.stdout


def test_an_unknown_case_or_suite_is_a_usage_error(tmp_path: Path) -> None:
    done = cli("--case", "TFC9999-E999")
    assert done.returncode == 3 and "no case TFC9999-E999 in the suite" in done.stderr
    done = cli(str(tmp_path))
    assert done.returncode == 3 and "is not a conformance suite" in done.stderr


def test_a_case_cannot_write_outside_its_folder(tmp_path: Path) -> None:
    case = conformance.Case("evil", "", [{"op": "write", "path": "../../escaped", "text": "x"}], [])
    with pytest.raises(conformance.StrataError, match="leaves the workspace"):
        conformance.build(case, conformance.SUITE / "base", tmp_path / "evil")
    assert not (tmp_path.parent / "escaped").exists()
    outside = tmp_path / "outside"
    outside.mkdir()
    through = conformance.Case("link", "", [{"op": "symlink", "path": "datasets/out", "to": str(outside)},
                                            {"op": "write", "path": "datasets/out/x", "text": "x"}], [])
    with pytest.raises(conformance.StrataError, match="leads out of the workspace"):
        conformance.build(through, conformance.SUITE / "base", tmp_path / "link")
    assert list(outside.iterdir()) == []


def hostile_suite(tmp_path: Path, name: str, content: bytes | None = None) -> Path:
    suite = tmp_path / "suite"
    (suite / "base").mkdir(parents=True)
    (suite / "cases").mkdir()
    if content is not None:
        (suite / "cases" / name).write_bytes(content)
    return suite


@pytest.mark.parametrize("name,content,said", [
    ("list.json", b"[]", "expected an object with format 1"),
    ("fmt.json", b'{"format": true, "edits": [], "expected": []}', "expected an object with format 1"),
    ("edits.json", b'{"format": 1, "edits": "rm -rf", "expected": []}', "edits is a list of"),
    ("noop.json", b'{"format": 1, "edits": [{"path": "x"}], "expected": []}', "edits is a list of"),
    ("nul.json", b'{"format": 1, "edits": [{"op": "write", "path": "a\\u0000b", "text": ""}], "expected": []}', "edits is a list of"),
    ("huge.json", b'{"format": 1, "edits": [{"op": "write", "path": "x", "text": "", "repeat": {"text": "a", "times": 1000000000000}}], "expected": []}',
     "repeat.times must be a count"),
    ("b64.json", b'{"format": 1, "edits": [{"op": "write", "path": "x", "base64": "!!!"}], "expected": []}', "write 'x'"),
    ("exp.json", b'{"format": 1, "edits": [], "expected": [{"code": ["X"], "path": "p", "severity": "error"}]}', "expected is a list of"),
    ("deep.json", b"[" * 200_000 + b"]" * 200_000, "not a conformance case"),
    ("evil\x1b[2J.json", b'{"format": 1, "edits": [], "expected": []}', "a case is named with letters"),
])
def test_a_hostile_suite_is_refused_naming_the_case(tmp_path: Path, name: str, content: bytes, said: str) -> None:
    done = cli(str(hostile_suite(tmp_path, name, content)))
    assert done.returncode == 3 and said in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert "\x1b" not in done.stderr


def test_a_case_file_that_is_a_fifo_or_a_device_is_not_read(tmp_path: Path) -> None:
    suite = hostile_suite(tmp_path, "x")
    os.mkfifo(suite / "cases" / "pipe.json")
    done = cli(str(suite), "--timeout", "5")
    assert done.returncode == 3 and "not a regular file" in done.stderr
    (suite / "cases" / "pipe.json").unlink()
    (suite / "cases" / "zero.json").symlink_to("/dev/zero")
    done = cli(str(suite))
    assert done.returncode == 3 and "not a regular file" in done.stderr


def test_a_checker_that_hangs_is_stopped_with_what_it_started(tmp_path: Path) -> None:
    marker = tmp_path / "child-alive"
    grandchild = f"import time; time.sleep(3); open({str(marker)!r}, 'w').close()"
    tool = write_tool(tmp_path, f"import subprocess, sys, time\nsubprocess.Popen([sys.executable, '-c', {grandchild!r}])\ntime.sleep(60)\n")
    done = cli("--tool", tool, "--case", "base", "--timeout", "1")
    assert done.returncode == 3 and "no report within 1 s (stopped)" in done.stdout
    import time

    time.sleep(4)
    assert not marker.exists()  # the grandchild went with the tool's process group


def test_a_bad_tool_command_line_is_a_usage_error() -> None:
    done = cli("--tool", 'foo "bar')
    assert done.returncode == 3 and "is not a command line" in done.stderr


def test_cases_are_workspaces_of_their_own_wherever_the_temporary_folder_is(tmp_path: Path) -> None:
    # A temporary folder inside a git repository must not make every record "untracked".
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    inside = tmp_path / "tmp"
    inside.mkdir()
    env = {**os.environ, "TMPDIR": str(inside)}
    done = subprocess.run([sys.executable, "-m", "strataml", "conformance", "--case", "base", "--case", "TFC0006-W001"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
