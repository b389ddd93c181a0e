"""The conformance suite (strataml/conformance_suite) and `strataml conformance`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import conformance_gen
import gpgkeys
from conftest import require
from strataml import conformance
from strataml.contracts import registry


def test_the_stored_suite_is_what_the_golden_cases_build() -> None:
    require(gpgkeys.available(), "gpg is not installed (the signature cases are signed anew)")
    stored = {c.name: c for c in conformance.cases()}
    built = conformance_gen.built()
    assert sorted(stored) == sorted(built), "run `python tests/conformance_gen.py` and commit the suite"
    for name, doc in built.items():
        case = stored[name]
        assert (case.why, case.edits) == (doc["why"], doc["edits"]), name
        git = doc.get("git")
        assert (case.commits, case.since) == ((None, None) if git is None else (tuple(git["commits"]), git.get("since"))), name
        assert case.require_content == doc.get("options", {}).get("require_content", False), name
        assert case.expected == [(f["code"], f["path"], f["severity"]) for f in doc["expected"]], name  # type: ignore[index]


def test_every_rule_has_a_case_and_every_clause_its_own() -> None:
    from test_git_rules import GIT_CASES
    from test_signatures import SIGNATURE_CASES

    loaded = conformance.cases()
    covered = {code for case in loaded for code, _p, _s in case.expected}
    enforced = {code for code, rule in registry().items() if rule.enforced}
    # Only a folder the checker cannot read is left to the tests: it depends on who runs the checker.
    assert enforced - covered == conformance_gen.NOT_PORTABLE
    assert set(GIT_CASES) | set(SIGNATURE_CASES) <= covered
    # A rule of several clauses has a case per clause (named CODE-clause).
    clauses = {"TFC0002-E010": 2, "TFC0003-E010": 2, "TFC0004-E010": 2, "TFC0005-E006": 2, "TFC0006-W012": 2,
               "TFC0007-W001": 2, "TFC0007-E005": 2, "TFC0007-E010": 2, "TFC0006-E004": 4, "TFC0006-E006": 2, "TFC0006-E013": 2,
               "TFC0004-E002": 4, "TFC0008-E006": 2, "TFC0002-E003": 3, "TFC0001-E001": 4, "TFC0001-E002": 8,
               "TFC0001-E105": 6, "TFC0001-E108": 4, "TFC0005-E001": 7, "TFC0004-E003": 6, "TFC0007-E009": 6,
               "TFC0007-E001": 4, "TFC0005-E008": 3, "TFC0008-E004": 5, "TFC0006-E002": 2}
    for code, count in clauses.items():
        named = [c for c in loaded if c.name == code or c.name.startswith(code + "-")]
        assert len(named) >= count and all(code in {e[0] for e in c.expected} for c in named), code
    # Pointer rules need no repository (the contract says none): each has a case without one.
    for code in ("TFC0006-E010", "TFC0006-E011", "TFC0006-I010"):
        assert any(c.commits is None for c in loaded if c.name.startswith(code)), code
    # The history rules are judged against a base commit: each such case gives one.
    since_only = {code for code, rule in registry().items() if rule.needs_since}
    for case in loaded:
        if {e[0] for e in case.expected} & since_only:
            assert case.since is not None, case.name
    for clean in ("base", "TFC0007-signed"):
        assert next(c for c in loaded if c.name == clean).expected == []


def write_tool(tmp_path: Path, body: str) -> str:
    script = tmp_path / "tool.py"
    script.write_text(body)
    return f"{sys.executable} {script}"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**(os.environ if env is None else env), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "strataml", "conformance", *args], capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.mark.slow
@pytest.mark.timeout(600)  # (214 cases, a doctor process each: ~55 s alone, past the default 120 s on a busy 2-core CI)
def test_strataml_doctor_agrees_with_every_case(strataml_exe: list[str]) -> None:
    require(gpgkeys.available(), "gpg is not installed (the doctor verifies the signature cases with it)")
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
    assert done.returncode == 3 and "could not be judged on any case" in done.stderr and "could not run" in done.stderr
    crash = write_tool(tmp_path, "raise SystemExit('boom')\n")
    done = cli("--tool", crash, "--case", "base")
    assert done.returncode == 3 and "no JSON report (boom)" in done.stderr
    # Asked for JSON, a tool that could not run is the error object every command prints (it was
    # a report of cases, each "disagreeing").
    done = cli("--tool", crash, "--case", "base", "--format", "json")
    assert done.returncode == 3 and json.loads(done.stdout)["error"]["exit_code"] == 3


def test_an_unknown_case_or_suite_is_a_usage_error(tmp_path: Path) -> None:
    done = cli("--case", "TFC9999-E999")
    assert done.returncode == 3 and "no case TFC9999-E999 in the suite" in done.stderr
    done = cli("--case", "TFC0001-E001-empty.json")  # (named as its file is, with the suffix)
    assert done.returncode == 3 and "did you mean TFC0001-E001-empty?" in done.stderr and "without .json" in done.stderr
    done = cli(str(tmp_path))
    assert done.returncode == 3 and "is not a conformance suite" in done.stderr
    (tmp_path / "base").mkdir()
    (tmp_path / "cases").mkdir()
    done = cli(str(tmp_path))  # agreeing with 0 of 0 cases would pass any checker
    assert done.returncode == 3 and f"{tmp_path} holds no case" in done.stderr, done.stdout


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


def test_a_case_cannot_be_the_checker_it_runs(tmp_path: Path) -> None:
    """The default checker ran `python -m strataml` in the case's folder, which put that folder
    first on the import path: a case that wrote strataml/__main__.py ran its own code, and forged
    an agreeing verdict."""
    import json
    import shutil

    suite = tmp_path / "suite"
    shutil.copytree(conformance.SUITE / "base", suite / "base")
    (suite / "cases").mkdir()
    pwned = tmp_path / "pwned"
    main = f"open({str(pwned)!r}, 'w').close(); print('{{\"findings\": []}}')\n"
    edits = [{"op": "write", "path": "strataml/__init__.py", "text": ""},
             {"op": "write", "path": "strataml/__main__.py", "text": main}]
    case = {"format": 1, "why": "a checker of its own", "expected": [], "edits": edits}
    (suite / "cases/evil.json").write_text(json.dumps(case))
    done = cli(str(suite))
    assert not pwned.exists(), done.stdout + done.stderr
    assert done.returncode == 0 and "agrees with 1 of 1" in done.stdout, done.stdout + done.stderr
    # An empty or relative PYTHONPATH entry (`export PYTHONPATH=$PYTHONPATH:/x` with it unset)
    # names the checker's working directory, the case's folder, all the same.
    for given in (f"{os.pathsep}{tmp_path / 'x'}", "."):
        done = cli(str(suite), env={**os.environ, "PYTHONPATH": given})
        assert not pwned.exists() and done.returncode == 0, (given, done.stdout + done.stderr)


def test_a_case_cannot_reach_into_the_repository_git_runs_in(tmp_path: Path) -> None:
    # git runs what .git/config says (core.fsmonitor, hooks): no edit may write there, directly,
    # through a link, or through a folder it makes on the way.
    for number, edits in enumerate([
        [{"op": "write", "path": ".git/config", "text": "[core]\n\tfsmonitor = touch pwned\n"}],
        [{"op": "mkdir", "path": ".GIT"}],
        [{"op": "symlink", "path": "g", "to": ".git"}, {"op": "write", "path": "g/config", "text": "x"}],
        [{"op": "symlink", "path": "g", "to": ".git"}, {"op": "write", "path": "g/hooks/new/x", "text": "x"}],
    ]):
        case = conformance.Case("evil", "", edits, [], commits=())
        with pytest.raises(conformance.StrataError, match=r"enters the repository's \.git"):
            conformance.build(case, conformance.SUITE / "base", tmp_path / str(number))
        assert not (tmp_path / str(number) / "pwned").exists()
    # A nested repository (TFC0001-E009) is a workspace matter, not the case's own .git.
    nested = conformance.Case("nested", "", [{"op": "mkdir", "path": "datasets/flowers/1/.git"}], [])
    assert conformance.build(nested, conformance.SUITE / "base", tmp_path / "nested") == []
    base = tmp_path / "base-with-git"
    (base / ".git").mkdir(parents=True)
    with pytest.raises(conformance.StrataError, match=r"base holds \.git"):
        conformance.build(nested, base, tmp_path / "never")


def test_a_git_case_is_committed_alike_whatever_the_users_git_says(tmp_path: Path, monkeypatch) -> None:
    # A user's global config that signs commits, runs hooks or cleans through LFS changes nothing.
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[commit]\n\tgpgsign = true\n[core]\n\thooksPath = /nonexistent\n"
                                     "[filter \"lfs\"]\n\tclean = false\n\trequired = true\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    [case] = [c for c in conformance.cases() if c.name == "TFC0006-E013"]
    ids = conformance.build(case, conformance.SUITE / "base", tmp_path / "case")
    assert len(ids) == 2 and case.flags(ids) == []
    [since] = [c for c in conformance.cases() if c.name == "TFC0005-E006-rewritten"]
    ids = conformance.build(since, conformance.SUITE / "base", tmp_path / "since")
    assert since.flags(ids) == ["--since", ids[1]] and len(ids) == 3


@pytest.mark.parametrize("edit,said", [
    ({"op": "write", "path": "f", "text": "a", "repeat": "x"}, "repeat is an object"),
    ({"op": "write", "path": "f", "text": "a", "then": {"text": "b"}}, "then comes after a repeat"),
    ({"op": "write", "path": "f", "text": "", "repeat": {"text": "a" * 1000, "times": 60_000,
      }}, "bytes in all"),
])
def test_a_case_cannot_make_the_runner_build_what_it_never_writes(tmp_path: Path, edit: dict, said: str) -> None:
    edits = [edit, {**edit, "path": "g"}, {**edit, "path": "h"}, {**edit, "path": "i"}, {**edit, "path": "j"}]
    suite = hostile_suite(tmp_path, "big.json", json.dumps({"format": 1, "edits": edits, "expected": []}).encode())
    done = cli(str(suite))
    assert done.returncode == 3 and said in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_a_git_case_or_a_base_holds_no_git_of_any_kind(tmp_path: Path) -> None:
    nested = {"format": 2, "git": {"commits": [[{"op": "write", "path": "sub/.Git/config",
                                                   "text": "[core]\n\tfsmonitor = touch pwned\n"}], []]},
              "edits": [], "expected": []}
    done = cli(str(hostile_suite(tmp_path, "nested.json", json.dumps(nested).encode())))
    assert done.returncode == 3 and "names a .git, which a case with git history may not" in done.stderr
    suite = hostile_suite(tmp_path / "b", "ok.json", b'{"format": 1, "edits": [], "expected": []}')
    (suite / "base/sub/.git").mkdir(parents=True)
    done = cli(str(suite))
    assert done.returncode == 3 and "the suite's base holds sub/.git" in done.stderr
    (suite / "base/sub/.git").rmdir()
    os.mkfifo(suite / "base/sub/pipe")
    done = cli(str(suite), "--timeout", "5")
    assert done.returncode == 3 and "neither a file, a folder nor a symlink" in done.stderr
    assert not list(tmp_path.rglob("pwned"))


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
    ("edits.json", b'{"format": 1, "edits": "rm -rf", "expected": []}', "edits are lists of"),
    ("noop.json", b'{"format": 1, "edits": [{"path": "x"}], "expected": []}', "edits are lists of"),
    ("nul.json", b'{"format": 1, "edits": [{"op": "write", "path": "a\\u0000b", "text": ""}], "expected": []}', "edits are lists of"),
    ("huge.json", b'{"format": 1, "edits": [{"op": "write", "path": "x", "text": "", "repeat": {"text": "a", "times": 1000000000000}}], "expected": []}',
     "more than 67,108,864 bytes"),
    ("b64.json", b'{"format": 1, "edits": [{"op": "write", "path": "x", "base64": "!!!"}], "expected": []}', "write 'x'"),
    ("exp.json", b'{"format": 1, "edits": [], "expected": [{"code": ["X"], "path": "p", "severity": "error"}]}', "expected is a list of"),
    ("deep.json", b"[" * 200_000 + b"]" * 200_000, "not a conformance case"),
    ("evil\x1b[2J.json", b'{"format": 1, "edits": [], "expected": []}', "a case is named with letters"),
    ("git1.json", b'{"format": 1, "git": {"commits": []}, "edits": [], "expected": []}', "git and options need format 2"),
    ("since.json", b'{"format": 2, "git": {"commits": [[]], "since": 2}, "edits": [], "expected": []}', "git.since is a commit number, 0 (the base) to 1"),
    ("sincebool.json", b'{"format": 2, "git": {"commits": [], "since": true}, "edits": [], "expected": []}', "git.since is a commit number"),
    ("gitkeys.json", b'{"format": 2, "git": {"commits": [], "hooks": 1}, "edits": [], "expected": []}', 'git is {"commits"'),
    ("steps.json", b'{"format": 2, "git": {"commits": [{"op": "write"}]}, "edits": [], "expected": []}', "edits are lists of"),
    ("opts.json", b'{"format": 2, "options": {"no_git": true}, "edits": [], "expected": []}', 'options is {"require_content"'),
    ("optval.json", b'{"format": 2, "options": {"require_content": "yes"}, "edits": [], "expected": []}', 'options is {"require_content"'),
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
    assert done.returncode == 3 and "no report within 1 s (stopped)" in done.stderr
    import time

    time.sleep(4)
    assert not marker.exists()  # the grandchild went with the tool's process group


def test_ctrl_c_stops_the_checker_too(tmp_path: Path) -> None:
    """The checker runs in a session of its own (so an overrun ends all it started): Ctrl-C,
    sent to the terminal's process group, reaches strataml alone, which ends the checker."""
    import signal
    import time

    started = tmp_path / "started"
    tool = write_tool(tmp_path, f"import os, time\nopen({str(started)!r}, 'w').write(str(os.getpid()))\ntime.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-m", "strataml", "conformance", "--tool", tool, "--case", "base"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        for _ in range(300):
            if started.exists() and started.read_text():
                break
            time.sleep(0.05)
        checker = int(started.read_text())
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        proc.kill()
        proc.wait()
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.kill(checker, 0)


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
