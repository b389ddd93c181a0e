"""Small things a new user meets in the first hour: the tools/ scripts, init's boundaries."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT


def test_the_tools_scripts_behave_like_the_commands(ws: Path, strataml_exe: list[str]) -> None:
    script = subprocess.run([sys.executable, str(ROOT / "tools/doctor.py"), "-C", str(ws), "--strict", "--format", "json"],
                            capture_output=True, text=True, timeout=120)
    command = subprocess.run([*strataml_exe, "-C", str(ws), "doctor", "--strict", "--format", "json"],
                             capture_output=True, text=True, timeout=120)
    assert script.returncode == command.returncode == 0, script.stderr
    ours, theirs = json.loads(script.stdout), json.loads(command.stdout)
    assert ours["summary"] == theirs["summary"] and ours["findings"] == theirs["findings"]


def test_a_tools_script_without_the_dependencies_says_which_and_exits_3(ws: Path) -> None:
    # -S: no site-packages, so none of the dependencies can be imported.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-S", str(ROOT / "tools/doctor.py"), "-C", str(ws)],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert done.stderr.startswith("strataml: error: doctor.py needs click") and "pip install" in done.stderr
    # Asked for JSON, the error is JSON on stdout too, as strataml's own (stdout was empty).
    done = subprocess.run([sys.executable, "-S", str(ROOT / "tools/doctor.py"), "-C", str(ws), "--format", "json"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 3 and json.loads(done.stdout)["error"]["exit_code"] == 3
    if Path("/dev/full").exists():  # (a full disk: said on stderr, exit 3; it was a traceback)
        with open("/dev/full", "w") as full:
            done = subprocess.run([sys.executable, "-S", str(ROOT / "tools/doctor.py"), "--format", "json"],
                                  stdout=full, stderr=subprocess.PIPE, text=True, timeout=60, env=env)
        assert done.returncode == 3 and "Traceback" not in done.stderr


def test_a_tools_script_with_stdout_closed_does_nothing_as_strataml(ws: Path) -> None:
    """It ran the whole doctor, then said "internal error: AttributeError: 'NoneType' object has
    no attribute 'write'"."""
    done = subprocess.run([sys.executable, str(ROOT / "tools/doctor.py"), "-C", str(ws)], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, timeout=120, close_fds=True,
                          preexec_fn=lambda: os.close(1))
    assert done.returncode == 3 and "standard output is closed" in done.stderr and "internal error" not in done.stderr


# A copy of the checkout that is not the installed strataml (the one this venv installed is
# elsewhere), run as tools/run.py runs it, without scikit-learn.
_COPY_RUN = """
import sys
sys.path.insert(0, sys.argv.pop(1))
for name in ('sklearn', 'numpy', 'scipy', 'joblib', 'matplotlib'):
    sys.modules[name] = None  # (not installed, as importlib.util.find_spec sees it)
from strataml.cli.main import run_subcommand
sys.exit(run_subcommand('run', sys.argv[1:]))
"""


def test_an_extra_missing_from_a_checkout_run_is_installed_from_that_checkout(tmp_path: Path) -> None:
    import shutil

    from conftest import copy_example

    # `pip install 'strataml[sklearn]'` from a checkout nothing installed would fetch the index's
    # package of that name: the hint names the checkout the code runs from.
    checkout = tmp_path / "my checkout"
    shutil.copytree(ROOT / "strataml", checkout / "strataml", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", checkout / "pyproject.toml")
    ws = copy_example(tmp_path / "example")
    done = subprocess.run([sys.executable, "-c", _COPY_RUN, str(checkout), "-C", str(ws), "iris-logreg", "--dry-run"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 3 and "Traceback" not in done.stderr, done.stderr
    assert f"hint: pip install -e '{checkout}[sklearn]'" in done.stderr, done.stderr
    # The installed strataml's own hint names the folder it was installed from, if it was.
    from strataml import installed

    origin, source, editable = installed._origin()
    assert origin == "installed"
    extra = f"{source}[sklearn]" if source is not None else "strataml[sklearn]"
    assert installed.extra_hint("sklearn") == f"pip install {'-e ' if editable else ''}{shlex.quote(extra)}"
    assert installed.dependency_hint("python-gnupg") == "pip install python-gnupg"


@pytest.mark.parametrize(
    "direct_url,expected",
    [
        ('{"url": "file:///src/my%20strataml", "dir_info": {"editable": true}}', "pip install -e '/src/my strataml[serve]'"),
        ('{"url": "file:///src/strataml", "dir_info": {}}', "pip install '/src/strataml[serve]'"),
        ('{"url": "https://example.org/strataml-0.2.0-py3-none-any.whl", "archive_info": {}}', "pip install 'strataml[serve]'"),
        ("not json", "pip install 'strataml[serve]'"),
        (None, "pip install 'strataml[serve]'"),
    ],
)
def test_an_extra_hint_names_the_folder_strataml_was_installed_from(monkeypatch, direct_url, expected) -> None:
    """`pip install 'strataml[serve]'` read as "fetch strataml from PyPI", which the README says is
    not this tool: installed from a folder, the hint names it (editable as it was installed)."""
    from importlib import metadata

    from strataml import installed

    class Installed:
        def read_text(self, name: str) -> str | None:
            return direct_url if name == "direct_url.json" else "" if name == "RECORD" else None

        def locate_file(self, rel: str) -> Path:
            return ROOT / rel

    monkeypatch.setattr(metadata, "distributions", lambda **kw: [Installed()])
    monkeypatch.setattr(installed, "_PACKAGE", Path("/src/my strataml/strataml") if "my%20" in (direct_url or "") else
                        Path("/src/strataml/strataml") if "file://" in (direct_url or "") else installed._PACKAGE)
    installed._origin.cache_clear()
    try:
        assert installed.extra_hint("serve") == expected
    finally:
        installed._origin.cache_clear()


def test_a_checkouts_own_egg_info_is_no_install(monkeypatch) -> None:
    """A clone's strataml.egg-info (a build left it, no installer wrote a RECORD) was taken for an
    install from an index: the hint then named PyPI's strataml, which is not this tool."""
    from importlib import metadata

    from strataml import installed

    class EggInfo:
        def read_text(self, name: str) -> str | None:
            return None

        def locate_file(self, rel: str) -> Path:
            return ROOT / rel

    monkeypatch.setattr(metadata, "distributions", lambda **kw: [EggInfo()])
    installed._origin.cache_clear()
    try:
        assert installed.extra_hint("serve") == f"pip install -e {shlex.quote(f'{ROOT}[serve]')}"
    finally:
        installed._origin.cache_clear()


def test_an_extra_hint_without_any_strataml_installed_names_the_checkout(monkeypatch) -> None:
    from importlib import metadata

    from strataml import installed

    monkeypatch.setattr(metadata, "distributions", lambda **kw: [])
    installed._origin.cache_clear()
    try:
        assert installed.extra_hint("serve") == f"pip install -e '{ROOT}[serve]'"
        assert installed.dependency_hint("python-gnupg") == f"pip install -e {shlex.quote(str(ROOT))}"
    finally:
        installed._origin.cache_clear()


def test_init_refuses_a_workspace_inside_another(ws: Path, strataml_exe: list[str]) -> None:
    done = subprocess.run([*strataml_exe, "init", str(ws / "datasets" / "inner")], capture_output=True, text=True)
    assert done.returncode == 3 and "is inside the workspace" in done.stderr
    assert not (ws / "datasets" / "inner").exists()


def test_init_refuses_a_workspace_around_another(tmp_path: Path, strataml_exe: list[str]) -> None:
    """Found by an attacker: init made a workspace around an existing one, whose records the outer
    doctor (and the CI gate init writes) never reads: a corrupted record passed `--strict`."""
    outer = tmp_path / "n1"
    assert subprocess.run([*strataml_exe, "init", str(outer / "deep/inner")], capture_output=True).returncode == 0
    before = sorted(p.relative_to(outer) for p in outer.rglob("*"))
    done = subprocess.run([*strataml_exe, "init", str(outer)], capture_output=True, text=True)
    assert done.returncode == 3 and f"{outer} holds the workspace {outer / 'deep/inner'}" in done.stderr, done.stderr
    assert sorted(p.relative_to(outer) for p in outer.rglob("*")) == before  # nothing was changed
    # strataml installed in a project's virtual environment carries its example workspace: not one.
    project = tmp_path / "project"
    for venv in (".venv", "venv"):
        (project / venv / "lib/site-packages/strataml/base").mkdir(parents=True)
        (project / venv / "lib/site-packages/strataml/base/strataml.yaml").write_text("name: x\n")
    (project / "venv/pyvenv.cfg").write_text("home = /usr/bin\n")
    for vendored in ("vendor/strataml", "__pypackages__/3.11/lib/strataml", "x/dist-packages/strataml"):
        (project / vendored / "base").mkdir(parents=True)
        (project / vendored / "__init__.py").write_text("")
        (project / vendored / "base/strataml.yaml").write_text("name: x\n")
    done = subprocess.run([*strataml_exe, "init", str(project)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_init_finds_a_workspace_below_inside_a_python_package(tmp_path: Path, strataml_exe: list[str]) -> None:
    """Found by a review: every Python package was passed over (to skip strataml's own, vendored),
    so a workspace kept in an application's package was missed."""
    (tmp_path / "p1/app").mkdir(parents=True)
    (tmp_path / "p1/app/__init__.py").write_text("")
    assert subprocess.run([*strataml_exe, "init", str(tmp_path / "p1/app/mlws")], capture_output=True).returncode == 0
    done = subprocess.run([*strataml_exe, "init", str(tmp_path / "p1")], capture_output=True, text=True)
    assert done.returncode == 3 and "holds the workspace" in done.stderr, done.stderr


def test_init_looks_for_a_workspace_below_level_by_level(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by a review: looked for depth first, a workspace one level down was missed once a
    folder beside it held more folders than the look's bound."""
    from strataml import scaffold
    from strataml.cli.main import run

    monkeypatch.setattr(scaffold, "HELD_LOOK", 50)
    top = tmp_path / "p5"
    deep = top / "data"
    for i in range(60):
        deep = deep / f"d{i}"
    deep.mkdir(parents=True)
    (top / "ml").mkdir()
    (top / "ml/strataml.yaml").write_text("schema: strataml/workspace/v1\nname: ml\n")
    assert run(["init", str(top)]) == 3


def test_init_ignores_only_what_strataml_writes(tmp_path: Path, strataml_exe: list[str]) -> None:
    done = subprocess.run([*strataml_exe, "init", str(tmp_path / "lab")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rules = [ln for ln in (tmp_path / "lab/.gitignore").read_text().splitlines() if ln and not ln.startswith("#")]
    assert rules == [".strataml/", "/mlruns/", "/mlflow.db"]  # (and the local MLflow store tracking to it leaves here)


def test_status_shows_the_workspace_on_one_screen(tmp_path: Path, strataml_exe: list[str]) -> None:
    from conftest import copy_example

    ws = copy_example(tmp_path / "example")
    outside = subprocess.run([*strataml_exe, "-C", str(ws), "status"], capture_output=True, text=True)
    assert outside.returncode == 0, outside.stderr
    lines = outside.stdout.splitlines()
    assert lines[0] == f"Workspace strataml-example ({ws}, not in git)"
    assert lines[1] == "  records      3 datasets, 4 runs, 3 models, 4 experiments" and lines[2] == "  health       ok"
    # By the metric its experiment gates on first (test_f1_macro >= 0.85), not the first by name.
    assert "  production   model:iris-classifier@1  test_f1_macro 0.9167" in lines
    wide = {**os.environ, "COLUMNS": "200"}  # (pytest's process may hand its children COLUMNS=80)
    listed = subprocess.run([*strataml_exe, "-C", str(ws), "list", "models"], capture_output=True, text=True,
                            env=wide).stdout
    # Every version by what it is gated on: co2-rise-classifier by test_roc_auc (its accuracy, 0.5577, is no gate).
    assert listed.splitlines()[0].split()[-2:] == ["test_f1_macro", "test_roc_auc"], listed
    assert lines[-4:][0].startswith("    20261122T200055Z-synthetic-logreg-4dedd5  succeeded")  # newest first
    env = {**os.environ, "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@b.c", "GIT_COMMITTER_NAME": "A",
           "GIT_COMMITTER_EMAIL": "a@b.c"}
    (ws / ".gitignore").write_text(".strataml/\n")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "all"]):
        subprocess.run(["git", *args], cwd=ws, check=True, env=env)
    (ws / "datasets/iris/1/notes.txt").write_text("x\n")
    (ws / "experiments/iris-logreg.yaml").write_text((ws / "experiments/iris-logreg.yaml").read_text() + "\n")
    done = subprocess.run([*strataml_exe, "-C", str(ws), "status"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    text = done.stdout.splitlines()
    assert text[0].startswith(f"Workspace strataml-example ({ws}, commit ")
    assert "  health       1 warning: see `strataml doctor`" in text
    start = next(i for i, ln in enumerate(text) if ln.startswith("  uncommitted  "))
    listed = [ln[15:] for ln in text[start : start + 2]]
    # The record is committed: only the file beside it is new (and in no clone until added).
    assert sorted(listed) == ["datasets/iris/1 (1 untracked file)", "experiments/iris-logreg.yaml (changed)"], text
    data = json.loads(subprocess.run([*strataml_exe, "-C", str(ws), "status", "--format", "json"],
                                     capture_output=True, text=True).stdout)
    assert data["counts"] == {"datasets": 3, "experiments": 4, "models": 3, "runs": 4}
    assert {"status": "??", "path": "datasets/iris/1/notes.txt"} in data["uncommitted"]
    assert [m["id"] for m in data["production"]] == ["model:iris-classifier@1"] and len(data["latest_runs"]) == 4
    import shutil

    shutil.copytree(ws / "datasets/iris/1", ws / "datasets/iris/2")  # a new record: its metadata untracked too
    again = subprocess.run([*strataml_exe, "-C", str(ws), "status"], capture_output=True, text=True).stdout
    assert "datasets/iris/2 (new)" in again and "datasets/iris/1 (1 untracked file)" in again, again


def _complete(exe: list[str], cwd: Path, *words: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COMP_WORDS": " ".join(["strataml", *words]), "COMP_CWORD": str(len(words)),
           "_STRATAML_COMPLETE": "bash_complete"}
    return subprocess.run(exe, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def test_shell_completion_offers_commands_and_refs(tmp_path: Path, strataml_exe: list[str]) -> None:
    from conftest import copy_example

    ws = copy_example(tmp_path / "example")
    assert "plain,doctor" in _complete(strataml_exe, ws, "do").stdout.splitlines()
    # No fresh index yet (or any change since): the refs the folders name, never a rebuild to wait for.
    runs = sorted(f"plain,run:{p.name}" for p in (ws / "runs").iterdir() if p.is_dir())
    assert _complete(strataml_exe, ws, "show", "run:").stdout.splitlines() == runs
    assert not (ws / ".strataml").exists()
    # promote takes model versions, model register runs: only those are offered.
    assert _complete(strataml_exe, ws, "promote", "").stdout.splitlines() == [
        "plain,model:breast-cancer-classifier@1", "plain,model:co2-rise-classifier@1", "plain,model:iris-classifier@1"]
    assert _complete(strataml_exe, ws, "model", "register", "").stdout.splitlines() == runs
    assert subprocess.run([*strataml_exe, "-C", str(ws), "list", "runs"], capture_output=True).returncode == 0
    offered = _complete(strataml_exe, ws, "show", "run:20261122T20004").stdout.splitlines()
    assert offered == ["plain,run:20261122T200043Z-breast-cancer-rf-5d9eb0", "plain,run:20261122T200049Z-co2-rise-gbm-3f592c"]
    assert _complete(strataml_exe, ws, "promote", "model:iris").stdout.splitlines() == ["plain,model:iris-classifier@1"]
    wrong = _complete(strataml_exe, ws, "doctr", "x")  # a mistyped command: no error printed into the shell
    assert wrong.returncode == 0 and wrong.stdout.strip() == "" and wrong.stderr == ""


def test_status_says_a_placeholder_beside_the_runs_as_new_like_the_others() -> None:
    """`strataml status` in a fresh workspace said runs/.gitkeep "(1 untracked file)", the other
    folders' .gitkeep "(new)": a file where a run's folder would be was taken for a run."""
    from strataml.cli.status import _by_record

    changes = [{"path": f"{kind}/.gitkeep", "status": "??"} for kind in ("datasets", "runs", "models")]
    changes.append({"path": "runs/R1/notes.txt", "status": "??"})
    assert _by_record(changes) == [
        ("datasets/.gitkeep", "new"),
        ("runs/.gitkeep", "new"),
        ("models/.gitkeep", "new"),
        ("runs/R1", "1 untracked file"),
    ]


@pytest.mark.parametrize(
    "status,said",
    [("??", "new"), (" M", "changed"), ("M ", "staged"), ("MM", "changed"), ("A ", "added"), ("AM", "changed"),
     (" D", "deleted"), ("D ", "deleted"), (" T", "type changed"), ("T ", "type changed"), ("R ", "renamed"),
     ("UU", "conflict"), ("AA", "conflict"), ("DD", "conflict")],
)
def test_status_says_each_git_status_as_a_word(status: str, said: str) -> None:
    """A model.yaml made a symlink was said "(T)", git's own letter."""
    from strataml.cli.status import _said

    assert _said(status) == said


def test_signing_without_python_gnupg_says_how_to_put_it_back(tmp_path: Path) -> None:
    """A core dependency uninstalled beside strataml: the hint installs it (a checkout would name itself)."""
    from conftest import copy_example, without

    ws = copy_example(tmp_path / "example")
    before = sorted(p.relative_to(ws) for p in ws.rglob("*"))
    done = without(("gnupg",), "-C", str(ws), "sign", "model:iris-classifier@1")
    assert done.returncode == 3 and "Traceback" not in done.stderr, done.stderr
    assert "python-gnupg is not installed" in done.stderr and "hint: pip install python-gnupg" in done.stderr
    assert sorted(p.relative_to(ws) for p in ws.rglob("*") if ".strataml" not in p.parts) == before


def test_the_start_here_steps_of_help_run_as_written(tmp_path: Path, strataml_exe: list[str]) -> None:
    """`strataml --help`'s first steps, pasted into a shell beside iris.csv: they stopped at the
    third (the dataset added without --target, so the experiment had no label, and without
    --source, so doctor --strict failed)."""
    from conftest import require_extra

    require_extra("sklearn", "sklearn")
    shown = subprocess.run([*strataml_exe, "--help"], capture_output=True, text=True, check=True).stdout
    block = shown.split("Start here", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    # Each line's description (after two spaces or more) is prose, not shell.
    steps = "\n".join(line.strip().split("   ")[0].rstrip() if not line.rstrip().endswith("\\") else line.strip()
                      for line in block)
    assert steps.count("strataml ") >= 8 and "--target species" in steps, steps
    (tmp_path / "iris.csv").write_bytes((ROOT / "datasets/iris/1/iris.csv").read_bytes())
    script = f"set -e\nstrataml() {{ {shlex.quote(strataml_exe[0])} \"$@\"; }}\n{steps}\n"
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (steps, done.stdout[-2000:], done.stderr[-2000:])
    assert "OK: 0 errors, 0 warnings" in done.stdout + done.stderr
    assert "Moved model:iris-classifier@1: registered -> candidate" in done.stdout + done.stderr


@pytest.mark.parametrize(
    "args,said",
    [
        (("model", "list"), "No such command 'list': models are read with `strataml list models`."),
        (("dataset", "ls"), "No such command 'ls': datasets are read with `strataml list datasets`."),
        (("experiment", "show"), "No such command 'show': experiments are read with `strataml show experiment:...`."),
    ],
)
def test_a_reader_asked_of_a_kind_group_is_named(args: tuple[str, ...], said: str, strataml_exe: list[str]) -> None:
    """`strataml model list` said only "No such command 'list'": listing is `strataml list models`."""
    done = subprocess.run([*strataml_exe, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3 and f"strataml: error: {said}" in done.stderr, done.stderr
