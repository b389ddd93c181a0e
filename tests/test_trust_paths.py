"""Trusted key material is reached only through atomic's confined opening (TFC0007-E010): at a
--since base, in the index's freshness key, and before `keys add|remove` changes anything."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import gpgkeys
from conftest import age, invoke, require
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


@pytest.mark.parametrize("rel", ["tfc", "tfc/keys"])
def test_the_index_freshness_key_opens_tfc_keys_as_trust_reads_it(ws: Path, alice: gpgkeys.Key, rel: str) -> None:
    from strataml import trust
    from strataml.read import proof

    pin(ws, alice, "models")
    age(ws)
    assert proof.freshness(ws)[1] is not None  # the control: a clean workspace is keyed
    shutil.rmtree(ws / rel)
    (ws / rel).write_text("not a folder\n")  # what trust refuses (TFC0007-E010) gets no key either
    age(ws)
    assert any(p.code == trust.TRUST_PATH_SYMLINK and p.path == rel for p in trust.read(ws, {}).problems)
    assert proof.freshness(ws)[1] is None


def test_keys_remove_unpins_a_key_whose_file_is_a_symlink_and_removes_only_the_link(
    ws: Path, alice: gpgkeys.Key, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pin(ws, alice, "models")
    key_file = ws / f"tfc/keys/{alice.fingerprint}.asc"
    outside = tmp_path / "outside.asc"
    shutil.move(key_file, outside)
    key_file.symlink_to(outside)  # the doctor refuses it (TFC0007-E010); removing the pin cleans up
    before = outside.read_bytes()
    code, _out, err = invoke(ws, "keys", "remove", alice.fingerprint, capsys=capsys)
    assert code == 0, err
    assert not key_file.is_symlink() and not key_file.exists()
    assert outside.read_bytes() == before
    assert alice.fingerprint not in (ws / "tfc/keys/keys.yaml").read_text()
    assert not [f for f in engine.doctor(ws).findings if f.code.startswith("TFC0007")]
