"""Trusted key material is reached only through atomic's confined opening (TFC0007-E010): at a
--since base, in the index's freshness key, and before `keys add|remove` changes anything."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import gpgkeys
from conftest import require
from strataml.doctor import engine
from test_signatures import MODEL, pin
from test_write_safety import alice  # noqa: F401 (a fixture)


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "T",
           "GIT_COMMITTER_EMAIL": "t@example.org"}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout.strip()


def test_since_reports_a_tfc_folder_that_is_a_symlink_at_the_base(ws: Path, alice: gpgkeys.Key) -> None:
    require(shutil.which("git") is not None, "git is not installed")
    pin(ws, alice, "models")
    gpgkeys.sign_file(alice, ws / MODEL, ws / f"{MODEL}.asc")
    shutil.move(ws / "tfc", ws / "elsewhere")
    (ws / "tfc").symlink_to("elsewhere")  # inside the repository, so git carries the link
    git(ws, "init", "-q")
    git(ws, "add", "-A")
    git(ws, "commit", "-qm", "base: tfc is a link")
    base = git(ws, "rev-parse", "HEAD")
    (ws / "tfc").unlink()
    shutil.move(ws / "elsewhere", ws / "tfc")
    git(ws, "add", "-A")
    git(ws, "commit", "-qm", "the real folder")
    found = {(f.code, f.path) for f in engine.doctor(ws, options=engine.Options(since=base)).findings}
    # The base's keys were never read (a link is not a trusted source), and the doctor says why.
    assert ("TFC0007-E010", "tfc") in found, found
