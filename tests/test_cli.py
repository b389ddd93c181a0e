"""The CLI through the real console script: exit codes 0/1/2/3, --strict, formats, output files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, edit_yaml

pytestmark = pytest.mark.timeout(120)


def cli(exe: list[str], *args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full_env.pop("GITHUB_STEP_SUMMARY", None)
    return subprocess.run([*exe, *args], capture_output=True, text=True, cwd=cwd, env=full_env, timeout=100)


def with_warning(ws: Path) -> Path:
    (ws / "datasets/flowers/1/notes.txt").write_text("x\n")
    return ws


def with_error(ws: Path) -> Path:
    (ws / "datasets/flowers/1/flowers.csv").unlink()
    return ws


def test_exit_0_on_a_clean_workspace(ws: Path, strataml_exe: list[str]) -> None:
    proc = cli(strataml_exe, "doctor", "--strict", cwd=ws / "datasets")  # root found upward
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("OK: 0 errors, 0 warnings, 0 infos; 6 records checked")


def test_exit_1_on_warnings_and_2_with_strict(ws: Path, strataml_exe: list[str]) -> None:
    with_warning(ws)
    assert cli(strataml_exe, "-C", str(ws), "doctor").returncode == 1
    strict = cli(strataml_exe, "-C", str(ws), "doctor", "--strict")
    assert strict.returncode == 2
    assert "--strict: warnings fail" in strict.stdout


def test_exit_2_on_errors(ws: Path, strataml_exe: list[str]) -> None:
    proc = cli(strataml_exe, "-C", str(ws), "doctor", "--format", "json")
    assert json.loads(proc.stdout)["summary"]["exit_code"] == 0
    with_error(ws)
    proc = cli(strataml_exe, "-C", str(ws), "doctor", "--format", "json")
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["summary"] == {"errors": 1, "warnings": 0, "infos": 0, "exit_code": 2}


@pytest.mark.parametrize("args,message", [
    (("doctor", "--bogus"), "No such option"),
    (("doctor", "--format", "xml"), "Invalid value for '--format'"),
    (("doctor", "--select", "XYZ"), "no rule code starts with 'XYZ'"),
    (("nope",), "No such command"),
])
def test_exit_3_on_usage_errors(ws: Path, strataml_exe: list[str], args: tuple[str, ...], message: str) -> None:
    proc = cli(strataml_exe, "-C", str(ws), *args)
    assert proc.returncode == 3
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_exit_3_outside_a_workspace(tmp_path: Path, strataml_exe: list[str]) -> None:
    proc = cli(strataml_exe, "doctor", cwd=tmp_path)
    assert proc.returncode == 3
    assert proc.stderr.startswith("strataml: error: no strataml.yaml in")
    assert "strataml init" in proc.stderr


def test_internal_failure_is_one_line_unless_debugging(ws: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from strataml.cli.main import run
    from strataml.doctor import engine

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("rule crashed")

    monkeypatch.setattr(engine, "doctor", boom)
    monkeypatch.delenv("STRATAML_DEBUG", raising=False)
    assert run(["-C", str(ws), "doctor"]) == 3
    err = capsys.readouterr().err
    assert err == "strataml: internal error: RuntimeError: rule crashed (set STRATAML_DEBUG=1 for the traceback)\n"
    monkeypatch.setenv("STRATAML_DEBUG", "1")
    assert run(["-C", str(ws), "doctor"]) == 3
    assert "Traceback" in capsys.readouterr().err


def test_unwritable_output_is_exit_3_in_an_error_and_a_hint(ws: Path, strataml_exe: list[str]) -> None:
    target = "/proc/strataml-report.txt"  # no file can be created there, not even by root
    quiet = cli(strataml_exe, "-C", str(ws), "doctor", "--output", target)
    assert quiet.returncode == 3
    error, hint = quiet.stderr.strip().splitlines()
    assert error.startswith("strataml: error: cannot access") and hint.startswith("  hint: check the path")
    loud = cli(strataml_exe, "-C", str(ws), "doctor", "--output", target, env={"STRATAML_DEBUG": "1"})
    assert loud.returncode == 3 and "Traceback" in loud.stderr


def test_output_is_refused_when_it_is_a_folder(ws: Path, strataml_exe: list[str]) -> None:
    proc = cli(strataml_exe, "-C", str(ws), "doctor", "--output", str(ws / "datasets"))
    assert proc.returncode == 3 and "is a directory" in proc.stderr


def test_output_file_and_formats(ws: Path, strataml_exe: list[str], tmp_path: Path) -> None:
    with_error(ws)
    for fmt in ("text", "json", "sarif", "github", "markdown"):
        out = tmp_path / f"report.{fmt}"
        proc = cli(strataml_exe, "-C", str(ws), "doctor", "--format", fmt, "--output", str(out))
        assert proc.returncode == 2 and proc.stdout == ""
        assert "TFC0006-E001" in out.read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_select_ignore_and_severity_overrides(ws: Path, strataml_exe: list[str]) -> None:
    with_warning(with_error(ws))
    only = cli(strataml_exe, "-C", str(ws), "doctor", "--select", "TFC0006-W", "--format", "json")
    assert [f["code"] for f in json.loads(only.stdout)["findings"]] == ["TFC0006-W001"]
    assert only.returncode == 1
    ignored = cli(strataml_exe, "-C", str(ws), "doctor", "--ignore", "TFC0006-E001,TFC0006-W001")
    assert ignored.returncode == 0
    edit_yaml(ws / "strataml.yaml", lambda d: d["doctor"].update(severity={"TFC0006-E001": "warning", "TFC0006-W001": "off"}))
    relaxed = cli(strataml_exe, "-C", str(ws), "doctor", "--format", "json")
    assert relaxed.returncode == 1
    assert [(f["code"], f["severity"]) for f in json.loads(relaxed.stdout)["findings"]] == [("TFC0006-E001", "warning")]


@pytest.mark.parametrize(
    "doctor_lines",
    [
        "doctor: {ignore: [TFC0001, TFC0006]}\nsigning: {require: [{records: everything, scope: release}]}\n",
        "doctor: {severity: {TFC0001-E001: 'off', TFC0006-E001: 'off'}}\nlfs: {threshold_bytes: -1}\n",
        "doctor: {ignore: [TFC0006, '']}\n",  # '' would be a prefix of every code
        "doctor: {ignore: [TFC0001, TFC0006], rules: 0.0.1}\n",
        "doctor: {severity: {TFC0006-E001: loud}, ignore: [TFC0001, TFC0006]}\n",
        "doctor: {}\ndoctor: {ignore: [TFC0001, TFC0006]}\n",  # the last of two keys would count
    ],
)
def test_an_invalid_strataml_yaml_sets_no_policy(ws: Path, strataml_exe: list[str], doctor_lines: str) -> None:
    """Its ignores would hide its own error and the records' (doctor --strict passing a config that
    sign and promote refuse), and which of its settings were meant is not known."""
    with_error(ws)
    (ws / "strataml.yaml").write_text(f"schema: strataml/workspace/v1\nname: demo\n{doctor_lines}")
    for extra in ((), ("--no-cache",)):  # the saved report of the last run, and a full run
        proc = cli(strataml_exe, "-C", str(ws), "doctor", "--strict", "--format", "json", *extra)
        found = {(f["code"][:7], f["path"], f["severity"]) for f in json.loads(proc.stdout)["findings"]}
        assert proc.returncode == 2, proc.stdout
        assert ("TFC0001", "strataml.yaml", "error") in found
        assert ("TFC0006", "datasets/flowers/1/flowers.csv", "error") in found
    (ws / "strataml.yaml").write_text("schema: strataml/workspace/v1\nname: demo\ndoctor: {ignore: [TFC0006]}\n")
    assert cli(strataml_exe, "-C", str(ws), "doctor", "--strict").returncode == 0  # a valid one does


def test_the_command_line_may_still_ignore_a_config_finding(ws: Path, strataml_exe: list[str]) -> None:
    (ws / "strataml.yaml").write_text("schema: strataml/workspace/v1\nname: demo\nlfs: {threshold_bytes: -1}\n")
    assert cli(strataml_exe, "-C", str(ws), "doctor", "--strict").returncode == 2
    assert cli(strataml_exe, "-C", str(ws), "doctor", "--strict", "--ignore", "TFC0001-E001").returncode == 0


def test_a_negative_lfs_threshold_is_the_schemas_finding_not_a_threshold() -> None:
    """-1 flagged every recorded file as belonging in LFS beside the schema's own error."""
    from strataml import lfs

    assert lfs.threshold({"lfs": {"threshold_bytes": -1}}) is None
    assert lfs.threshold({"lfs": {"threshold_bytes": 0}}) == 0 and lfs.threshold({"lfs": {"threshold_bytes": True}}) is None


def test_an_unquoted_off_is_explained(ws: Path, strataml_exe: list[str]) -> None:
    edit_yaml(ws / "strataml.yaml", lambda d: d["doctor"].update(severity={"TFC0006-W001": False}))
    proc = cli(strataml_exe, "-C", str(ws), "doctor")
    assert proc.returncode == 2
    assert "an unquoted off, no or false is read as a boolean (false), not text; quote it, e.g. 'off'" in proc.stdout
    assert "False is not one of" not in proc.stdout


def test_text_output_is_plain_when_piped_and_honours_no_color(ws: Path, strataml_exe: list[str]) -> None:
    with_error(ws)
    proc = cli(strataml_exe, "-C", str(ws), "doctor", env={"NO_COLOR": "1", "FORCE_COLOR": ""})
    assert "\x1b[" not in proc.stdout
    forced = cli(strataml_exe, "-C", str(ws), "doctor", env={"NO_COLOR": "", "FORCE_COLOR": "1"})
    assert "\x1b[" in forced.stdout
    no_color = cli(strataml_exe, "-C", str(ws), "doctor", env={"NO_COLOR": "1", "FORCE_COLOR": "1"})
    assert "\x1b[" not in no_color.stdout


def test_python_dash_m_and_tools_script_behave_like_the_cli(ws: Path, strataml_exe: list[str]) -> None:
    with_warning(ws)
    expected = cli(strataml_exe, "-C", str(ws), "doctor", "--format", "json", "--no-cache")
    via_module = cli([sys.executable, "-m", "strataml"], "-C", str(ws), "doctor", "--format", "json", "--no-cache")
    via_tool = cli([sys.executable, str(ROOT / "tools" / "doctor.py")], "--format", "json", "--no-cache", cwd=ws)
    via_tool_c = cli([sys.executable, str(ROOT / "tools" / "doctor.py")], "-C", str(ws), "--format", "json", "--no-cache")
    # The reference itself is right (a warning: exit 1, the one finding), not only the three alike.
    assert expected.returncode == 1
    assert [(f["code"], f["path"]) for f in json.loads(expected.stdout)["findings"]] == [
        ("TFC0006-W001", "datasets/flowers/1/notes.txt")
    ]
    for proc in (via_module, via_tool, via_tool_c):
        assert (proc.returncode, proc.stdout) == (expected.returncode, expected.stdout)


def test_tools_index_matches_the_cli(ws: Path, strataml_exe: list[str]) -> None:
    expected = cli(strataml_exe, "-C", str(ws), "index", "-o", "-")
    via_tool = cli([sys.executable, str(ROOT / "tools" / "index.py")], "-o", "-", cwd=ws)
    assert expected.returncode == via_tool.returncode == 0
    assert expected.stdout == via_tool.stdout


def test_help_teaches(strataml_exe: list[str]) -> None:
    for args in (("--help",), ("doctor", "--help"), ("dataset", "add", "--help"), ("init", "--help"), ("index", "--help")):
        proc = cli(strataml_exe, *args)
        assert proc.returncode == 0 and "Usage: strataml" in proc.stdout
    assert "Exit codes" in cli(strataml_exe, "doctor", "--help").stdout
    assert cli(strataml_exe, "--version").stdout.startswith("strataml, version ")


def test_schema_command_prints_self_contained_schema(strataml_exe: list[str]) -> None:
    proc = cli(strataml_exe, "schema", "dataset")
    doc = json.loads(proc.stdout)
    assert "common.schema.json" not in proc.stdout and "sha256" in doc["$defs"]


def test_an_error_line_is_bounded_like_a_finding(tmp_path: Path, strataml_exe: list[str]) -> None:
    import shutil

    from conftest import POSITIVE

    ws = tmp_path / "ws"
    shutil.copytree(POSITIVE, ws)
    proc = subprocess.run(
        [*strataml_exe, "-C", str(ws), "show", "dataset:" + "x" * 100_000 + "@1"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 3 and "Traceback" not in proc.stderr
    assert len(proc.stderr) < 4096 and "more characters" in proc.stderr


@pytest.mark.parametrize("encoding", ["ascii", "cp1252"])
def test_an_output_encoding_that_cannot_hold_a_character_writes_its_escape(
    ws: Path, strataml_exe: list[str], encoding: str
) -> None:
    """stdout in an encoding without é or an emoji (PYTHONIOENCODING, a C locale, cp1252 where
    Windows redirects output) made a finding that names such a file an internal error, and the
    findings were lost. They are written as \\uNNNN escapes: still JSON, still readable."""
    (ws / "datasets/flowers/1/émoji😀.csv").write_text("a\n1\n")
    env = {**os.environ, "NO_COLOR": "1", "PYTHONIOENCODING": encoding}
    args = [*strataml_exe, "-C", str(ws), "doctor"]
    done = subprocess.run([*args, "--format", "json"], capture_output=True, env=env, timeout=100)
    assert done.returncode == 1, done.stderr
    found = json.loads(done.stdout.decode(encoding))
    assert "datasets/flowers/1/émoji😀.csv" in [f["path"] for f in found["findings"]]
    done = subprocess.run(args, capture_output=True, env=env, timeout=100)
    assert done.returncode == 1 and b"\\ud83d\\ude00" in done.stdout and b"internal error" not in done.stderr


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the umask as Linux reports it")
def test_a_machine_that_cannot_hold_files_is_said_not_blamed_on_the_workspace(ws: Path, strataml_exe: list[str]) -> None:
    """Under umask 0777 gpg could not read its own keyring (good signatures read as "not an
    OpenPGP signature"); with 12 files open at most, records read as "cannot be read: Too many
    open files" with the hint to fix their permissions. Both now stop with what is wrong."""
    import resource

    def run_with(setup: object) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "NO_COLOR": "1"}
        return subprocess.run([*strataml_exe, "-C", str(ws), "doctor", "--format", "json"], capture_output=True,
                              text=True, env=env, timeout=100, preexec_fn=setup)

    masked = run_with(lambda: os.umask(0o777))
    assert masked.returncode == 3 and "the umask is 0777" in masked.stderr and "umask 022" in masked.stderr
    assert json.loads(masked.stdout)["error"]["exit_code"] == 3
    assert run_with(lambda: os.umask(0o077)).returncode == 0
    version = subprocess.run([*strataml_exe, "--version"], capture_output=True, text=True, timeout=100,
                             preexec_fn=lambda: os.umask(0o777))
    assert version.returncode == 0 and "strataml" in version.stdout  # (asking what it is needs nothing)
    few = run_with(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (12, 12)))
    assert few.returncode == 3 and "only 12 files may be open at once" in few.stderr, few.stderr
    # A low soft limit under a higher hard one is raised, as far as the hard one allows.
    soft = run_with(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (12, resource.getrlimit(resource.RLIMIT_NOFILE)[1])))
    assert soft.returncode == 0, soft.stderr


def test_a_dumb_terminal_gets_no_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    """TERM=dumb (Emacs' shell, some CI logs) says escapes show as text: none was held back."""
    import io

    from strataml.cli.output import wants_color

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert wants_color(Terminal())
    monkeypatch.setenv("TERM", "dumb")
    assert not wants_color(Terminal())
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert wants_color(Terminal())


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full: a device every write to fails")
def test_a_stderr_that_cannot_be_written_does_not_change_the_exit_code(ws: Path, strataml_exe: list[str]) -> None:
    """`strataml index 2>/dev/full` did its work, then failed to say so and exited 1, which reads
    as "warnings" where the doctor's codes apply: diagnostics with nowhere to go are dropped."""
    with open("/dev/full", "w") as full:
        done = subprocess.run([*strataml_exe, "-C", str(ws), "index"], stderr=full, stdout=subprocess.PIPE, timeout=100)
        assert done.returncode == 0 and (ws / ".strataml/index.json").is_file()
        refused = subprocess.run([*strataml_exe, "-C", str(ws), "show", "nope"], stderr=full, timeout=100)
        assert refused.returncode == 3
