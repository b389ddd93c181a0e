"""The README's tour, run as written: every console block's commands in order, from a clone
(this checkout, read only) into an empty folder that stands for the README's `/tmp`, through the
installed console script, each output compared with what the README shows.

Only what changes from run to run is masked: run ids, times, ages, metric values (they depend
on the scikit-learn version) and file sizes. Three commands are not run: `pip install` (this
environment has the extras already), `strataml serve` (it serves until stopped; tests/test_api.py
drives a real server) and the `curl` that talks to it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT, require, require_extra

pytestmark = pytest.mark.slow

NOT_RUN = ("pip ", "strataml serve", "curl ")


@dataclass
class Step:
    command: str
    expected: list[str]


def tour_steps(readme: str) -> list[Step]:
    """The commands of every console block in the tour, each with the lines shown after it."""
    tour = readme[readme.index("## A tour") : readme.index("## Large files")]
    steps: list[Step] = []
    for block in re.findall(r"```console\n(.*?)```", tour, flags=re.S):
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            if line.startswith("$ "):
                command = line[2:]
                while command.endswith("\\"):  # a continued command
                    i += 1
                    command = command[:-1].rstrip() + " " + lines[i].strip()
                steps.append(Step(command, []))
            elif steps:
                steps[-1].expected.append(line)
            i += 1
    return steps


MASKS = [
    (re.compile(r"\d{8}T\d{6}Z-[a-z0-9.-]+?-[0-9a-f]{6}\b"), "RUN-ID"),
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"), "TIME"),
    (re.compile(r"\b\d+(\.\d+)? (KB|MB|GB)\b"), "SIZE"),
    (re.compile(r"\b0\.\d{2,4}\b"), "NUMBER"),
    (re.compile(r"(?<=  )(now|\d+[smhdw])(?=  )"), "AGE"),
    (re.compile(r"[ \t]+"), " "),  # tables realign around masked values
]


def normal(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        for pattern, mask in MASKS:
            line = pattern.sub(mask, line)
        out.append(line.rstrip())
    while out and not out[-1]:
        out.pop()
    return out


def test_the_readme_parses_into_the_tour_we_expect() -> None:
    steps = tour_steps((ROOT / "README.md").read_text(encoding="utf-8"))
    commands = [s.command for s in steps]
    # It starts in the clone, where the setup command leaves a user: out of it, with the data.
    assert commands[0] == "CLONE=$PWD && cp datasets/iris/1/iris.csv /tmp/ && cd /tmp"
    assert commands[1] == "strataml init lab && cd lab"
    # ${CLONE}: in zsh (macOS's shell) "$CLONE[sklearn]" is a subscript of the variable, and empty.
    assert [c for c in commands if c.startswith("pip ")] == [
        'pip install -e "${CLONE}[sklearn]"',
        'pip install -e "${CLONE}[serve]"',
    ]
    for shell in ("bash", "zsh"):
        if shutil.which(shell):
            said = subprocess.run([shell, "-c", 'CLONE=/x/y; echo "${CLONE}[sklearn]"'], capture_output=True, text=True)
            assert said.stdout.strip() == "/x/y[sklearn]", shell
    assert any(c.startswith("strataml run experiments/") for c in commands)
    assert any(c.startswith("strataml promote") for c in commands)
    assert len(steps) >= 20


def test_the_readme_tour_runs_as_written(tmp_path: Path, strataml_exe: list[str]) -> None:
    require(shutil.which("git") is not None, "the tour needs git")
    require(shutil.which("git-lfs") is not None, "the tour needs git-lfs")
    require_extra("sklearn", "sklearn")
    base = tmp_path / "tour"  # the README's /tmp
    base.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "STRATAML_", "COLUMNS"))},
        # The installed console script first, as a user's activated venv would have it.
        "PATH": os.path.dirname(strataml_exe[0]) + os.pathsep + os.environ.get("PATH", ""),
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@example.org",
        "GIT_COMMITTER_NAME": "Ada",
        "GIT_COMMITTER_EMAIL": "ada@example.org",
        "GIT_CONFIG_NOSYSTEM": "1",
        "BROWSER": "true",  # `dashboard --open` hands the page to a browser that does nothing
        "NO_COLOR": "1",
    }
    where, last = ROOT, 0  # the clone, where the setup command leaves a user
    record = tmp_path / "cwd"
    for step in tour_steps((ROOT / "README.md").read_text(encoding="utf-8")):
        if step.command.startswith(NOT_RUN):
            continue
        command = step.command.replace("/tmp", str(base))
        script = f'(exit {last}); {command}\nrc=$?; pwd > "$1"; exit $rc'
        done = subprocess.run(
            ["bash", "-c", script, "tour", str(record)],
            cwd=where,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
        )
        last = done.returncode
        where = Path(record.read_text().strip())
        shown = done.stdout.replace(str(base), "/tmp").replace(sys.executable, "python").splitlines()
        assert "Traceback" not in done.stdout, (step.command, done.stdout)
        if normal(shown) != normal(step.expected):
            doctor = subprocess.run(["strataml", "doctor"], cwd=where, env=env, capture_output=True, text=True)
            raise AssertionError(f"$ {step.command}\n{done.stdout}\n--- the doctor now:\n{doctor.stdout}{doctor.stderr}")
