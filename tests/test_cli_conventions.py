"""One convention for every command, through the real console script: exit codes (0 done,
1 warnings, 2 errors found or refused by a rule, 3 the tool could not run, 130 interrupted,
141 a closed pipe), error lines, "did you mean", and -C anywhere."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, edit_yaml

TESTS = Path(__file__).parent


def cli(exe: list[str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*exe, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_a_mistyped_command_gets_did_you_mean(strataml_exe: list[str]) -> None:
    done = cli(strataml_exe, "doctr")
    assert done.returncode == 3
    assert done.stderr.splitlines() == [
        "strataml: error: No such command 'doctr'. Did you mean 'doctor'?",
        "  hint: see `strataml --help`",
    ]
    far = cli(strataml_exe, "frobnicate")
    assert far.returncode == 3 and "Did you mean" not in far.stderr


def test_a_usage_error_is_an_error_line_and_a_hint(strataml_exe: list[str], ws: Path) -> None:
    done = cli(strataml_exe, "-C", str(ws), "doctor", "--strcit")
    assert done.returncode == 3 and done.stdout == ""
    lines = done.stderr.splitlines()
    # (click's wording varies by version: "No such option: --strcit" or "No such option '--strcit'")
    assert len(lines) == 2 and lines[0].startswith("strataml: error: No such option") and "--strcit" in lines[0]
    assert "--strict" in lines[0] and lines[1] == "  hint: see `strataml doctor --help`"


@pytest.mark.parametrize(
    ("args", "said", "where"),
    [
        (("list", "runs", "--sort"), "Option '--sort' requires an argument.", "strataml list"),
        (("-C", ".", "doctor", "--since"), "Option '--since' requires an argument.", "strataml doctor"),
        (("keys", "add", "--scope"), "Option '--scope' requires an argument.", "strataml keys add"),
        (("list", "runs", "--limit", "abc"), "'abc' is not a whole number.", "strataml list"),
    ],
)
def test_a_usage_error_points_at_its_own_commands_help(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], said: str, where: str
) -> None:
    from strataml.cli.main import run

    assert run(list(args)) == 3
    err = capsys.readouterr().err
    assert said in err and f"hint: see `{where} --help`" in err, err


def test_the_directory_option_works_after_the_command_too(strataml_exe: list[str], ws: Path, tmp_path: Path) -> None:
    before = cli(strataml_exe, "-C", str(ws), "doctor", "--strict", "--format", "json")
    after = cli(strataml_exe, "doctor", "-C", str(ws), "--strict", "--format", "json", cwd=tmp_path)
    assert before.returncode == after.returncode == 0
    assert json.loads(before.stdout)["summary"] == json.loads(after.stdout)["summary"]
    listed = cli(strataml_exe, "list", "models", "--format", "json", "-C", str(ws), cwd=tmp_path)
    assert listed.returncode == 0 and "model:sales-model@1" in listed.stdout
    nested = cli(strataml_exe, "keys", "list", "-C", str(ws), cwd=tmp_path)
    assert nested.returncode == 0, nested.stderr
    twice = cli(strataml_exe, "-C", str(ws), "doctor", "-C", str(tmp_path))
    assert twice.returncode == 3 and "give it once" in twice.stderr
    missing = cli(strataml_exe, "doctor", "-C", str(tmp_path / "nope"))
    assert missing.returncode == 3 and "is not a folder" in missing.stderr


def test_an_error_asked_for_json_is_json_on_stdout_too(strataml_exe: list[str], ws: Path) -> None:
    """A script that parses stdout gets JSON whether the command worked or not; stderr says the
    same as without --format json, and without it stdout stays empty."""
    for args, message in (
        (("show", "run:nope", "--format", "json"), "no record run:nope in this workspace"),
        (("list", "runz", "--format=json"), "'runz' is not something to list"),
        (("doctor", "--format", "json", "--strcit"), "No such option"),
    ):
        done = cli(strataml_exe, "-C", str(ws), *args)
        assert done.returncode == 3, done
        error = json.loads(done.stdout)["error"]
        assert error["message"].startswith(message) and error["exit_code"] == 3, error
        assert error["hint"] and error["details"] == []
        assert done.stderr.startswith(f"strataml: error: {message}")
        plain = cli(strataml_exe, "-C", str(ws), *[a for a in args if "json" not in a and a != "--format"])
        assert plain.returncode == 3 and plain.stdout == "" and plain.stderr == done.stderr
    # After `--`, "--format json" are names, not the option.
    done = cli(strataml_exe, "-C", str(ws), "show", "--", "--format", "json")
    assert done.returncode == 3 and done.stdout == ""


def test_file_arguments_are_read_from_the_directory_option_as_git_reads_them(
    strataml_exe: list[str], ws: Path, tmp_path: Path
) -> None:
    """`strataml -C DIR` runs as if started in DIR: a relative -o, a data file, a key file or a
    shard's report is found there (as refs given as paths already were), wherever -C stands."""
    (tmp_path / "elsewhere").mkdir()
    for args in (("-C", str(ws), "doctor", "-o", "report.json"), ("doctor", "-o", "report2.json", "-C", str(ws))):
        done = cli(strataml_exe, *args, "--format", "json", cwd=tmp_path / "elsewhere")
        assert done.returncode == 0, done.stderr
    assert json.loads((ws / "report.json").read_text())["summary"]["errors"] == 0
    assert (ws / "report2.json").is_file() and list((tmp_path / "elsewhere").iterdir()) == []
    (ws.parent / "more.csv").write_text("a,b\n1,2\n")
    added = cli(strataml_exe, "-C", str(ws / "datasets"), "dataset", "add", "more", "../../more.csv",
                "--version", "1", "--license", "CC0-1.0", cwd=tmp_path / "elsewhere")
    assert added.returncode == 0, added.stderr
    assert (ws / "datasets/more/1/more.csv").is_file()
    index = cli(strataml_exe, "-C", str(ws), "index", "-o", "graph.json", cwd=tmp_path / "elsewhere")
    assert index.returncode == 0 and (ws / "graph.json").is_file(), index.stderr
    same = cli(strataml_exe, "-C", str(ws), "doctor", "-o", str(tmp_path / "abs.json"), cwd=tmp_path / "elsewhere")
    assert (tmp_path / "abs.json").is_file(), same.stderr  # an absolute path is as given


@pytest.mark.parametrize(
    "args",
    [
        ("doctor", "--format", "json"),
        ("doctor",),
        ("list", "models", "--format", "json"),
        ("schema", "run"),
    ],
)
def test_a_closed_pipe_is_141_and_quiet_never_a_verdict(strataml_exe: list[str], ws: Path, args: tuple[str, ...]) -> None:
    # An error in the workspace: the doctor's own verdict would be 2, never "warnings only".
    (ws / "strataml.yaml").write_text((ws / "strataml.yaml").read_text() + "\nnot_a_setting: 1\n")
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first byte is written, as `| head -0` would be
    try:
        proc = subprocess.run(
            [*strataml_exe, "-C", str(ws), *args], stdout=write, stderr=subprocess.PIPE, text=True, timeout=120
        )
    finally:
        os.close(write)
    assert proc.returncode == 141
    assert proc.stderr == ""  # no traceback, no "Exception ignored" from the interpreter's exit


def test_a_reader_that_leaves_in_the_middle_of_a_big_write_is_141(strataml_exe: list[str], ws: Path) -> None:
    """The page (hundreds of KB) is one write; the reader takes one chunk and goes. The write
    returns the part that went, and Python's text layer dropped the rest silently: exit 0 for a
    page that never arrived. It is 141, quietly."""
    import select

    proc = subprocess.Popen(
        [*strataml_exe, "-C", str(ws), "dashboard", "-o", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    select.select([proc.stdout], [], [], 60)  # the writer has filled the pipe and waits in its write
    assert proc.stdout.read1(4096)
    proc.stdout.close()
    assert proc.wait(timeout=120) == 141
    assert proc.stderr.read() == b""


def test_a_reader_that_takes_everything_is_0(strataml_exe: list[str], ws: Path) -> None:
    proc = subprocess.run([*strataml_exe, "-C", str(ws), "dashboard", "-o", "-"], capture_output=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.rstrip().endswith(b"</html>")


def _closing(fd: int) -> object:
    return lambda: os.close(fd)  # in the child, after its streams are set: as a shell's `>&-`


@pytest.mark.parametrize("args", [("list", "runs"), ("doctor",), ("doctor", "--format", "json")])
def test_a_closed_stdout_is_an_error_never_a_silent_verdict(strataml_exe: list[str], ws: Path, args: tuple[str, ...]) -> None:
    proc = subprocess.run(
        [*strataml_exe, "-C", str(ws), *args], stderr=subprocess.PIPE, text=True, timeout=120, preexec_fn=_closing(1)
    )
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.startswith("strataml: error: standard output is closed or not open for writing; nothing was done\n")
    assert "/dev/null" in proc.stderr and "internal error" not in proc.stderr


def test_with_stdout_closed_nothing_is_done(strataml_exe: list[str], ws: Path, tmp_path: Path) -> None:
    """Refused before the command starts: a promotion made and then its printout failing would
    leave a change behind an exit 3."""
    import models_helpers

    models_helpers.reach(ws, "candidate")
    ledger = (ws / models_helpers.LEDGER).read_bytes()
    out = tmp_path / "index.json"
    for args in (("promote", models_helpers.ref(1), "--to", "staging", "--reason", "ok"), ("index", "-o", str(out))):
        proc = subprocess.run(
            [*strataml_exe, "-C", str(ws), *args], stderr=subprocess.PIPE, text=True, timeout=120, preexec_fn=_closing(1)
        )
        assert proc.returncode == 3 and "nothing was done" in proc.stderr, proc.stderr
    assert (ws / models_helpers.LEDGER).read_bytes() == ledger and not out.exists()


def test_a_stdout_open_for_reading_only_is_refused_before_anything_runs(strataml_exe: list[str], ws: Path) -> None:
    import models_helpers

    models_helpers.reach(ws, "candidate")
    ledger = (ws / models_helpers.LEDGER).read_bytes()
    with open(os.devnull) as read_only:  # `1</dev/null`
        proc = subprocess.run(
            [*strataml_exe, "-C", str(ws), "promote", models_helpers.ref(1), "--to", "staging", "--reason", "ok"],
            stdout=read_only, stderr=subprocess.PIPE, text=True,
        )
    assert proc.returncode == 3
    assert proc.stderr.startswith("strataml: error: standard output is closed or not open for writing; nothing was done")
    assert (ws / models_helpers.LEDGER).read_bytes() == ledger


def test_a_closed_stderr_still_exits_with_the_verdict(strataml_exe: list[str], ws: Path) -> None:
    def doctor() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*strataml_exe, "-C", str(ws), "doctor", "--strict"],
            stdout=subprocess.PIPE, text=True, timeout=120, preexec_fn=_closing(2),
        )

    healthy = doctor()
    assert healthy.returncode == 0 and healthy.stdout.startswith("OK"), healthy.stdout
    (ws / "strataml.yaml").write_text((ws / "strataml.yaml").read_text() + "\nnot_a_setting: 1\n")
    broken = doctor()
    assert broken.returncode == 2, broken.stdout


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_full_disk_under_stdout_is_named(strataml_exe: list[str], ws: Path) -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run([*strataml_exe, "-C", str(ws), "doctor"], stdout=full, stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 3
    assert proc.stderr.startswith("strataml: error: cannot write to standard output: No space left on device\n")
    assert "only what it printed was lost" in proc.stderr


def test_an_illegal_promotion_is_refused_with_2(strataml_exe: list[str], ws: Path) -> None:
    done = cli(strataml_exe, "-C", str(ws), "promote", "model:sales-model@1", "--to", "archived", "--reason", "x")
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("strataml: error: model:sales-model@1 is ") and "legal" in done.stderr


def test_a_record_that_exists_is_refused_with_2(strataml_exe: list[str], ws: Path, tmp_path: Path) -> None:
    data = tmp_path / "x.csv"
    data.write_text("a,b\n1,2\n")
    first = cli(strataml_exe, "-C", str(ws), "dataset", "add", "fresh", str(data), "--version", "1", "--license", "MIT")
    assert first.returncode == 0, first.stderr
    again = cli(strataml_exe, "-C", str(ws), "dataset", "add", "fresh", str(data), "--version", "1", "--license", "MIT")
    assert again.returncode == 2 and "already exists" in again.stderr


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc: a folder nobody can create files in")
def test_an_unwritable_output_is_named_as_the_user_gave_it(strataml_exe: list[str], ws: Path) -> None:
    done = cli(strataml_exe, "-C", str(ws), "doctor", "--format", "json", "-o", "/proc/out.json")
    assert done.returncode == 3
    assert done.stderr.startswith("strataml: error: cannot access /proc/out.json:") and ".tmp" not in done.stderr


@pytest.mark.parametrize(
    "args",
    [("index", "-o"), ("doctor", "--format", "json", "-o"), ("dashboard", "-o")],
)
def test_every_output_option_makes_missing_folders_outside_the_workspace(
    strataml_exe: list[str], ws: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    """One rule for every -o: a path in a folder yet to exist (a CI job's $RUNNER_TEMP/site/...)."""
    target = tmp_path / "ci" / "out" / "file"
    done = cli(strataml_exe, "-C", str(ws), *args, str(target))
    assert done.returncode in (0, 1), done.stderr
    assert target.is_file() and target.stat().st_size > 0
    assert not list(target.parent.glob("*.tmp*"))


def test_diff_output_makes_missing_folders_too(strataml_exe: list[str], ws: Path, tmp_path: Path) -> None:
    from test_git_rules import commit_all, git

    git(ws, "init", "-q")
    commit_all(ws, "the workspace")
    target = tmp_path / "ci" / "summary" / "diff.md"
    done = cli(strataml_exe, "-C", str(ws), "diff", "HEAD", "--format", "markdown", "-o", str(target))
    assert done.returncode in (0, 1), done.stderr
    assert target.is_file() and target.read_text().startswith("#")


def test_an_output_through_a_dangling_symlink_names_where_it_leads(strataml_exe: list[str], ws: Path, tmp_path: Path) -> None:
    link = tmp_path / "report.json"
    link.symlink_to(tmp_path / "no-such-folder" / "target.json")
    done = cli(strataml_exe, "-C", str(ws), "index", "-o", str(link))
    assert done.returncode == 3
    assert done.stderr.startswith(f"strataml: error: cannot access {link} (a symlink to {tmp_path}/no-such-folder/target.json):")


def _lab_with_iris(tmp_path: Path) -> Path:
    """A workspace from `strataml init` with the example's iris dataset and iris-logreg spec."""
    import shutil

    from strataml.cli.main import run

    lab = tmp_path / "lab"
    assert run(["init", str(lab)]) == 0
    shutil.copytree(ROOT / "datasets" / "iris", lab / "datasets" / "iris")
    shutil.copy(ROOT / "experiments" / "iris-logreg.yaml", lab / "experiments")
    return lab


def _run_stopped(lab: Path, entry: str, ready: Path, signum: int, env: dict[str, str] | None = None,
                 extra: tuple[str, ...] = ()) -> tuple[int, str]:
    """`strataml run iris-logreg` in `lab` through `entry` (the real entry point, patched), sent
    `signum` once it has written `ready`: (its exit code, its stderr; with `extra` options, its
    stdout after it)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", entry, "-C", str(lab), "run", "iris-logreg", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # A suite started as a background job of a shell without job control inherits SIGINT
        # ignored, and Python then leaves it ignored: the child gets Ctrl-C as a terminal gives it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready.exists(), proc.communicate()[1]
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, err + (f"\n{out}" if extra else "")


def test_ctrl_c_while_a_run_registers_its_model_says_how_to_register_it(tmp_path: Path) -> None:
    """Interrupted after the run was recorded, while its model was being registered: it said
    `strataml: interrupted` alone, and the run that succeeded had no model nor a word about it."""
    pytest.importorskip("sklearn")
    lab = _lab_with_iris(tmp_path)
    ready = tmp_path / "ready"
    # The registration stopped where its version is written, its staging folder made.
    entry = (
        "import time; import strataml.doctor.engine as e\n"
        "def held(*args, **kwargs):\n"
        f"    open({str(ready)!r}, 'w').close(); time.sleep(60)\n"
        "e.refuse_staged = held\n"
        "from strataml.cli.main import main; main()"
    )
    code, err = _run_stopped(lab, entry, ready, signal.SIGINT)
    assert code == 130, err
    (folder,) = [f for f in (lab / "runs").iterdir() if f.is_dir()]
    assert err.splitlines()[-1] == (
        f"strataml: interrupted; the run succeeded and is recorded in runs/{folder.name}, but its model was not "
        f"registered: `strataml model register run:{folder.name} --name iris-classifier` registers it"
    )
    assert "status: succeeded" in (folder / "run.yaml").read_text()
    assert not (lab / "models/iris-classifier").exists()  # (its staging folder removed, and the name's folder)
    assert not [p for p in lab.rglob("*.staging")]


@pytest.mark.parametrize(
    ("signum", "code", "said"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "stopped by signal 15"),
     (signal.SIGHUP, 129, "stopped by signal 1")],
    ids=["ctrl-c", "sigterm", "sighup"],
)
def test_ctrl_c_or_termination_in_a_run_names_the_cancelled_run(tmp_path: Path, signum: int, code: int, said: str) -> None:
    """SIGTERM (a CI job cancelled, `timeout`, `docker stop`) and SIGHUP stop a command as Ctrl-C
    does: by their default they killed it, its staging folder left behind, and the doctor then
    reported a record without metadata until someone deleted it."""
    lab = _lab_with_iris(tmp_path)
    edit_yaml(lab / "experiments/iris-logreg.yaml", lambda d: d.update(plugin="sleepy"))
    ready = tmp_path / "ready"
    # The real entry point, with the test plugin known to it (as an installed plugin would be).
    entry = (
        f"import sys; sys.path.insert(0, {str(TESTS)!r}); from strataml.runner import plugin; "
        "plugin.BUILTIN['sleepy'] = 'plugins.sleepy:SleepyPlugin'; from strataml.cli.main import main; main()"
    )
    returned, err = _run_stopped(lab, entry, ready, signum, {**os.environ, "SLEEPY_READY": str(ready)})
    assert returned == code, err
    (folder,) = [f for f in (lab / "runs").iterdir() if f.is_dir()]  # (no staging folder left: hidden ones too)
    assert err.splitlines()[-1] == (
        f"strataml: {said}; the run was recorded as cancelled in runs/{folder.name}: commit it to keep the "
        "attempt on record, or delete the folder (nothing refers to it yet)"
    )
    assert "status: cancelled" in (folder / "run.yaml").read_text()
    if signum == signal.SIGINT:  # with --format json, stdout says so too: a script reads JSON however it ended
        shutil.rmtree(folder)
        ready.unlink()
        returned, both = _run_stopped(lab, entry, ready, signum, {**os.environ, "SLEEPY_READY": str(ready)},
                                      ("--format", "json"))
        error = json.loads(both.splitlines()[-1])["error"]
        assert returned == 130 and error["exit_code"] == 130 and error["message"].startswith("interrupted; the run"), both


def test_a_bare_group_prints_its_help(strataml_exe: list[str]) -> None:
    for args in ((), ("keys",), ("experiment",)):
        done = cli(strataml_exe, *args)
        assert done.returncode == 0 and done.stdout.startswith("Usage: strataml"), done.stderr
        assert "\\n" not in done.stdout and done.stderr == ""


def test_help_into_a_closed_pipe_is_141_too(strataml_exe: list[str]) -> None:
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run([*strataml_exe, "--help"], stdout=write, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write)
    assert proc.returncode == 141 and proc.stderr == ""


def test_the_same_folder_twice_is_one_folder(strataml_exe: list[str], ws: Path) -> None:
    done = cli(strataml_exe, "-C", str(ws), "doctor", "-C", str(ws / "datasets" / ".."))
    assert done.returncode == 0, done.stderr


def test_a_missing_choice_reads_as_one_line_not_escaped_layout(capsys: pytest.CaptureFixture[str]) -> None:
    """click lays out the choices of a missing argument or option on lines of their own; escaped
    for the terminal, that layout read as a literal '\\n\\t' between each. One line, commas."""
    from strataml.cli.main import run

    assert run(["list"]) == 3
    err = capsys.readouterr().err
    assert "Choose from: datasets, runs, models, experiments" in err and "\\n" not in err and "\\t" not in err
    assert run(["promote", "model:iris-classifier@1"]) == 3
    err = capsys.readouterr().err
    assert "Missing option '--to'. Choose from: candidate, staging" in err and "\\n" not in err


def test_every_command_help_shows_an_example_to_copy() -> None:
    """--help that teaches: each command's help holds at least one command line to copy."""
    import click

    from strataml.cli.main import cli as group

    def leaves(command: click.Group, ctx: click.Context, path: list[str]):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if isinstance(sub, click.Group):
                yield from leaves(sub, ctx, [*path, name])
            elif sub is not None:
                yield " ".join([*path, name]), sub

    ctx = click.Context(group)
    without = [name for name, command in leaves(group, ctx, [])
               if not any(line.strip().startswith("strataml ") for line in (command.help or "").splitlines())]
    assert without == []


def test_the_read_only_examples_of_help_run_in_the_example_workspace(tmp_path: Path) -> None:
    """An example pasted from --help into a clone of this repository works: compare's named a run
    and a model version the example workspace never held (exit 3)."""
    import re
    import shlex
    import subprocess
    import sys

    import click

    from conftest import copy_example
    from strataml.cli.main import cli as group

    example = copy_example(tmp_path / "example")
    ctx = click.Context(group)
    readers = ("list", "show", "lineage", "compare", "status", "report experiment", "plugins", "keys list", "doctor")
    tried = []
    for name in readers:
        command = group
        for word in name.split():
            command = command.get_command(ctx, word)  # type: ignore[union-attr, assignment]
        for line in (command.help or "").splitlines():
            text = line.strip()
            if not text.startswith("strataml ") or re.search(r" -o |\$|--since|baseline|-C |--federate|\|", text):
                continue
            args = shlex.split(re.split(r"\s{2,}|\s\(|\s#", text)[0])[1:]
            done = subprocess.run([sys.executable, "-m", "strataml", "-C", str(example), *args],
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, (text, done.stderr)
            tried.append(text)
    assert len(tried) >= 12 and any(t.startswith("strataml compare model:") for t in tried), tried


@pytest.mark.parametrize("args", [
    ("index", "-o"), ("doctor", "--format", "json", "-o"), ("diff", "HEAD", "-o"),
    ("export", "croissant", "dataset:flowers@1", "-o"),
    ("report", "experiment", "experiment:sales-forecast", "-o"), ("doctor", "--write-baseline"),
])
def test_an_output_named_with_a_trailing_slash_is_a_folder_never_a_file(
    strataml_exe: list[str], ws: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    """`-o reports/` (a folder not made yet) wrote a file named `reports`: the path lost its slash."""
    target = tmp_path / "reports"
    for named in (f"{target}/", f"{target}/."):  # (`reports/.` too: the same folder)
        proc = cli(strataml_exe, "-C", str(ws), *args, named)
        assert proc.returncode == 3, proc.stderr
        assert "names a folder, not a file" in proc.stderr
        assert not target.exists()
    site = tmp_path / "site"
    assert cli(strataml_exe, "-C", str(ws), "dashboard", "-o", f"{site}/").returncode == 0  # (a folder it fills)
    assert (site / "index.html").is_file()
