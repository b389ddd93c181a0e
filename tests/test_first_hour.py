"""Small things a new user meets in the first hour: the tools/ scripts, init's boundaries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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


def test_init_refuses_a_workspace_inside_another(ws: Path, strataml_exe: list[str]) -> None:
    done = subprocess.run([*strataml_exe, "init", str(ws / "datasets" / "inner")], capture_output=True, text=True)
    assert done.returncode == 3 and "is inside the workspace" in done.stderr
    assert not (ws / "datasets" / "inner").exists()


def test_init_ignores_only_what_strataml_writes(tmp_path: Path, strataml_exe: list[str]) -> None:
    done = subprocess.run([*strataml_exe, "init", str(tmp_path / "lab")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rules = [ln for ln in (tmp_path / "lab/.gitignore").read_text().splitlines() if ln and not ln.startswith("#")]
    assert rules == [".strataml/"]
