"""`strataml sign` racing other writers of the same signature file: real processes, real gpg
with throw-away keys. Co-signers signing one record at once all end up in its .asc, and a
`sign ledger:` racing a promote never leaves a signature over the old ledger (TFC0007-E002)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import gpgkeys
from conftest import require
from models_helpers import add_version, ref
from strataml import trust
from strataml.doctor import engine
from test_signatures import MODEL, pin
from test_write_safety import check_refused, link, outside  # noqa: F401 (outside: a fixture)

SIGNERS = ("Ann", "Ben", "Cat", "Dan")


@pytest.fixture(scope="module")
def cosigners(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, gpgkeys.Key]]:
    require(gpgkeys.available(), "gpg is not installed")
    base = tmp_path_factory.mktemp("gpg-races")
    made = {name: gpgkeys.make_key(base, name) for name in SIGNERS}
    yield made
    gpgkeys.stop_agents([k.home for k in made.values()])


def found(ws: Path) -> list[tuple[str, str]]:
    return [(f.code, f.path) for f in engine.doctor(ws).findings]


def signers_of(ws: Path, rel: str) -> set[str]:
    """The distinct pinned keys whose signatures in rel.asc verify over rel as it is now."""
    with trust.Verifier(trust.read(ws, {})) as verifier:
        judgement = verifier.judge(ws / f"{rel}.asc", ws / rel, [])
    return {s.fingerprint for s in judgement.signers}


def start(exe: list[str], ws: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([*exe, "-C", str(ws), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, (proc.args, out.decode(), err.decode())


def test_cosigners_signing_one_record_at_once_all_end_up_in_its_signature(
    ws: Path, cosigners: dict[str, gpgkeys.Key], strataml_exe: list[str]
) -> None:
    for key in cosigners.values():
        pin(ws, key, "models")
    for round_ in range(2):  # each round a fresh record: a lost signature shows at once
        target = ref(1) if round_ == 0 else add_version(ws, round_ + 1)
        rel = MODEL if round_ == 0 else MODEL.replace("/1/", f"/{round_ + 1}/")
        finish([start(strataml_exe, ws, "sign", target, "--gnupghome", str(k.home)) for k in cosigners.values()])
        assert signers_of(ws, rel) == {k.fingerprint for k in cosigners.values()}, f"round {round_}"
    assert found(ws) == []




@pytest.fixture
def slow_signer(tmp_path: Path) -> Iterator[tuple[gpgkeys.Key, Path, Path]]:
    """A passphrase-protected key whose pinentry waits, standing for a signer slow to type:
    (key, file made when gpg asks, file that makes it answer)."""
    require(gpgkeys.available(), "gpg is not installed")
    asked, release = tmp_path / "asked", tmp_path / "release"
    key = gpgkeys.protected_key(tmp_path, "Slow", "slow typist", asked, release)
    yield key, asked, release
    release.touch()
    gpgkeys.stop_agents([key.home])


def waiting_for_a_lock(pid: int) -> bool:
    """Whether process `pid` is blocked on a flock (Linux lists waiters in /proc/locks with '->')."""
    try:
        rows = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return False
    return any("->" in row and str(pid) in row.split() for row in rows)


def wait_until(condition, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.02)


@pytest.mark.parametrize("rel", [".strataml/locks/models", f".strataml/locks/{MODEL}.asc.lock"])
def test_sign_refuses_a_symlinked_signature_lock(
    ws: Path, cosigners: dict[str, gpgkeys.Key], outside: Path, rel: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pin(ws, cosigners["Ann"], "models")
    link(ws, rel, outside / ("sub" if rel.endswith("models") else "keep.txt"))
    check_refused(ws, outside, rel, "sign", ref(1), "--gnupghome", str(cosigners["Ann"].home), capsys=capsys)
    assert not (ws / f"{MODEL}.asc").exists()  # refused before anything was signed


def test_a_ledger_signature_racing_a_promote_is_never_left_over_the_old_ledger(
    ws: Path, cosigners: dict[str, gpgkeys.Key], slow_signer, strataml_exe: list[str]
) -> None:
    promoter = cosigners["Ann"]
    slow, asked, release = slow_signer
    pin(ws, promoter, "ledger")
    pin(ws, slow, "ledger")
    add_version(ws, 2)
    promote = ["promote", "--to", "candidate", "--sign", "--gnupghome", str(promoter.home)]
    finish([start(strataml_exe, ws, *promote, ref(1))])
    # The co-signer has read the ledger and waits for its passphrase while a promote appends.
    signer = start(strataml_exe, ws, "sign", "ledger:sales-model", "--gnupghome", str(slow.home))
    wait_until(lambda: asked.exists() or signer.poll() is not None, "gpg asks the co-signer's passphrase")
    promoting = start(strataml_exe, ws, *promote, ref(2))
    wait_until(lambda: promoting.poll() is not None or waiting_for_a_lock(promoting.pid), "the promote ran or waits")
    release.touch()
    finish([signer, promoting])
    assert found(ws) == []  # no signature over the ledger as it was before the promote (TFC0007-E002)
    assert promoter.fingerprint in signers_of(ws, "models/sales-model/lifecycle.jsonl")
