"""Co-signing against history, several signers, sign's checks before gpg, and ledger times
(issue 11, item 4). Real gpg with throw-away keys, real git repositories for --since."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import edit_yaml
from strataml import sign as signcmd
from test_signatures import MODEL, found, keys, pin, policy, promote_to  # noqa: F401 (keys: a fixture)


def git(ws: Path, *args: str) -> str:
    env = ["-c", "user.name=T", "-c", "user.email=t@example.org"]
    return subprocess.run(["git", *env, *args], cwd=ws, check=True, capture_output=True, text=True).stdout.strip()


def commit(ws: Path, message: str) -> str:
    if not (ws / ".git").exists():
        git(ws, "init", "-q", "-b", "main")
    git(ws, "add", "-A")
    git(ws, "commit", "-qm", message)
    return git(ws, "rev-parse", "HEAD")


def cosign(ws: Path, key, ref: str = "model:sales-model@1") -> signcmd.Signed:
    return signcmd.sign(ws, ref, gnupghome=str(key.home))


# 1. Co-signing works with history.

def test_cosigning_a_committed_record_is_not_an_immutability_violation(ws: Path, keys) -> None:
    pin(ws, keys["Alice"], "models")
    pin(ws, keys["Bob"], "models")
    cosign(ws, keys["Alice"])
    base = commit(ws, "base: signed by Alice")
    done = cosign(ws, keys["Bob"])
    assert done.kept == 1
    commit(ws, "Bob co-signs")
    assert found(ws, since=base) == []


def test_since_dropping_a_required_signature_is_a_signature_error_not_immutability(ws: Path, keys) -> None:
    pin(ws, keys["Alice"], "models")
    policy(ws, {"records": "models", "scope": "models"})
    cosign(ws, keys["Alice"])
    base = commit(ws, "base")
    (ws / f"{MODEL}.asc").unlink()
    commit(ws, "drop the signature")
    assert found(ws, since=base) == [("TFC0007-E001", MODEL)]


def test_since_other_changes_in_a_signed_record_are_still_immutability_violations(ws: Path, keys) -> None:
    pin(ws, keys["Alice"], "models")
    cosign(ws, keys["Alice"])
    base = commit(ws, "base")
    edit_yaml(ws / MODEL, lambda d: d.update(description="edited"))
    cosign(ws, keys["Alice"])  # re-signed over the edit: the signature is fine, the edit is not
    commit(ws, "edit and re-sign")
    assert found(ws, since=base) == [("TFC0004-E010", "models/sales-model/1")]


def test_since_a_recorded_asc_file_is_data_not_a_signature(ws: Path) -> None:
    """A dataset may record a file named *.asc: changing it is changing the data."""
    from strataml.hashing import dataset_digest, sha256_file

    folder = ws / "datasets/flowers/1"
    (folder / "notes.asc").write_text("v1\n")

    def record(d: dict) -> None:
        sha, size = sha256_file(folder / "notes.asc")
        d["files"].append({"path": "notes.asc", "sha256": sha, "size": size})
        d["digest"] = dataset_digest((f["path"], f["sha256"]) for f in d["files"])

    edit_yaml(folder / "dataset.yaml", record)
    assert found(ws) == []
    base = commit(ws, "base")
    (folder / "notes.asc").unlink()
    commit(ws, "remove recorded data")
    assert ("TFC0002-E010", "datasets/flowers/1") in found(ws, since=base)


# 4. Ledger times never go backwards and are not in the future.

def _ago(**delta: float) -> str:
    from datetime import UTC, datetime, timedelta

    from strataml.times import stamp

    return stamp(datetime.now(UTC) - timedelta(**delta))


def _ledger_codes(ws: Path) -> list[tuple[str, int | None]]:
    from strataml.doctor import engine

    return [(f.code, f.line) for f in engine.doctor(ws).findings]


def test_ledger_times_going_backwards_or_into_the_future_are_errors(ws: Path) -> None:
    from models_helpers import ref, write_ledger

    moves = [(ref(1), "candidate"), (ref(1), "staging"), (ref(1), "production")]
    write_ledger(ws, moves, [_ago(hours=2), _ago(hours=1), _ago(hours=1)])  # one append may share a time
    assert _ledger_codes(ws) == []
    write_ledger(ws, moves, [_ago(hours=1), _ago(hours=2), _ago(seconds=1)])
    assert _ledger_codes(ws) == [("TFC0005-E008", 2)]
    write_ledger(ws, moves, [_ago(hours=2), _ago(hours=1), _ago(minutes=-3)])  # within the clock skew
    assert _ledger_codes(ws) == []
    write_ledger(ws, moves, [_ago(hours=2), _ago(hours=1), _ago(minutes=-10)])
    from strataml.doctor import engine

    report = engine.doctor(ws)
    assert [(f.code, f.line) for f in report.findings] == [("TFC0005-E008", 3)]
    assert "in the future" in report.findings[0].message


def test_promote_refuses_to_append_while_the_clock_is_behind_the_ledger(ws: Path) -> None:
    from models_helpers import LEDGER, ref, write_ledger
    from strataml.promote import Refused, promote

    write_ledger(ws, [(ref(1), "candidate")], [_ago(minutes=-2)])  # another machine, 2 minutes ahead
    assert _ledger_codes(ws) == []  # within the skew: the doctor accepts it
    before = (ws / LEDGER).read_bytes()
    with pytest.raises(Refused, match="clock says .* but the ledger's last entry .* backwards"):
        promote(ws, ref(1), "staging")
    assert (ws / LEDGER).read_bytes() == before
    write_ledger(ws, [(ref(1), "candidate")], [_ago(minutes=1)])
    promote(ws, ref(1), "staging")
    assert _ledger_codes(ws) == []


def test_promote_through_the_cli_says_what_is_wrong_with_the_clock(ws: Path, capsys) -> None:
    from conftest import invoke
    from models_helpers import ref, write_ledger

    write_ledger(ws, [(ref(1), "candidate")], [_ago(days=-1)])
    code, _out, err = invoke(ws, "promote", ref(1), "--to", "staging", capsys=capsys)
    assert code == 3 and "backwards in time" in err and "clock" in err and "Traceback" not in err
