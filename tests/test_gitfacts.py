"""What the runner asks git about the code it runs, against real repositories."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import require
from strataml.gitfacts import head_state
from test_git_rules import commit_all, git


def test_head_state_outside_empty_clean_and_dirty(tmp_path: Path) -> None:
    require(shutil.which("git") is not None, "git is not installed")
    assert head_state(tmp_path) == (None, False)
    git(tmp_path, "init", "-q")
    assert head_state(tmp_path) == (None, True)
    (tmp_path / "train.py").write_text("print(1)\n")
    commit = commit_all(tmp_path, "code")
    assert head_state(tmp_path) == (commit, False)
    # What earlier runs wrote is not dirt, even with a newline in its name.
    (tmp_path / "runs" / "r\n1").mkdir(parents=True)
    (tmp_path / "runs" / "r\n1" / "run.yaml").write_text("x: 1\n")
    assert head_state(tmp_path) == (commit, False)
    (tmp_path / "train.py").write_text("print(2)\n")
    assert head_state(tmp_path) == (commit, True)
