"""`promote --dry-run` is the move stopped before its first write: what the move refuses, the dry
run refuses too, with the same exit code and message ("would be refused"), and writes nothing.

Found by a new user: with `signing: {require: [{records: ledger, scope: ledger}]}` a dry run
without --sign said "Would move ..." (exit 0, a warning on stderr) where the move was refused
(exit 2); with --sign, the dry run returned before the keys were looked at, so a --key not in the
keyring, an empty --gnupghome or a key without the ledger scope passed the dry run and failed the
move. Real gpg with throw-away keys, each in a GnuPG home of its own, in a real git repository.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import gpgkeys
import pytest
from conftest import edit_yaml, invoke, require

from strataml.errors import StrataError
from strataml.keys import add
from strataml.promote import Refused, promote

REF = "model:sales-model@1"
LEDGER = "models/sales-model/lifecycle.jsonl"
PREFIX = "dry run: the move would be refused: "


def prefix(code: int) -> str:
    """What a dry run says before the move's own error: refused (2), or failing (3: no model, a
    ledger that cannot be written)."""
    return PREFIX if code == 2 else "dry run: the move would fail: "


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, gpgkeys.Key]]:
    require(gpgkeys.available(), "gpg is not installed")
    base = tmp_path_factory.mktemp("gpg")
    made = {name: gpgkeys.make_key(base, name) for name in ("Alice", "Bob", "Mallory")}
    yield made
    gpgkeys.stop_agents([k.home for k in made.values()])


def git(ws: Path, *args: str) -> None:
    env = ["-c", "user.name=T", "-c", "user.email=t@example.org"]
    subprocess.run(["git", *env, *args], cwd=ws, check=True, capture_output=True)


def commit(ws: Path) -> None:
    git(ws, "add", "-A")
    git(ws, "commit", "-qm", "state")


@pytest.fixture
def signed_ws(ws: Path, keys: dict[str, gpgkeys.Key]) -> Path:
    """The workspace in a git repository, Alice pinned for models, production and ledger, Bob for
    datasets only, and a policy that requires the ledger to be signed by the ledger scope."""
    (ws / ".gitignore").write_text(".strataml/\n")  # (as `strataml init` writes it)
    git(ws, "init", "-q", "-b", "main")
    add(ws, keys["Alice"].public, ["models", "production", "ledger"])
    add(ws, keys["Bob"].public, ["datasets"])
    edit_yaml(ws / "strataml.yaml", lambda d: d.update(signing={"require": [{"records": "ledger", "scope": "ledger"}]}))
    commit(ws)
    return ws


def snapshot(ws: Path) -> dict[str, bytes | None]:
    """Every file and folder of the workspace and what each file holds (git's own folder aside)."""
    return {
        str(p.relative_to(ws)): p.read_bytes() if p.is_file() else None
        for p in sorted(ws.rglob("*"))
        if ".git" not in p.relative_to(ws).parts
    }


def both(ws: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[tuple[int, str], tuple[int, str]]:
    """(exit code, stderr) of `promote REF ARGS --dry-run`, then of the move itself: the dry run
    first, and it must write nothing."""
    before = snapshot(ws)
    dry_code, _out, dry_err = invoke(ws, "promote", REF, *args, "--dry-run", capsys=capsys)
    assert snapshot(ws) == before  # (no ledger, signature, lock or folder for one)
    code, _out, err = invoke(ws, "promote", REF, *args, capsys=capsys)
    return (dry_code, dry_err), (code, err)


def test_promote_dry_run_is_refused_when_the_policy_requires_a_signed_ledger(
    signed_ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = signed_ws
    (dry_code, dry_err), (code, err) = both(ws, capsys, "--to", "candidate")
    assert code == 2 and "strataml: error: the signing policy requires the ledger to be signed" in err, err
    assert dry_code == 2, dry_err
    assert "Would move" not in dry_err and "warning" not in dry_err
    assert dry_err == err.replace("strataml: error: ", "strataml: error: " + prefix(dry_code), 1)
    assert not (ws / LEDGER).exists()
    # The library says the same, as the same refusal.
    with pytest.raises(Refused, match="the signing policy requires the ledger to be signed"):
        promote(ws, REF, "candidate", dry_run=True)
    # --format json: the error object, as for the move.
    code, out, _err = invoke(ws, "promote", REF, "--to", "candidate", "--dry-run", "--format", "json", capsys=capsys)
    assert code == 2 and '"exit_code": 2' in out and PREFIX in out


def test_promote_dry_run_with_sign_tries_the_key_and_writes_nothing(
    signed_ws: Path, keys: dict[str, gpgkeys.Key], capsys: pytest.CaptureFixture[str]
) -> None:
    ws = signed_ws
    home = str(keys["Alice"].home)
    before = snapshot(ws)
    code, out, err = invoke(ws, "promote", REF, "--to", "candidate", "--sign", "--gnupghome", home, "--dry-run",
                            capsys=capsys)
    assert code == 0, err
    assert "Would move model:sales-model@1: registered -> candidate" in out
    assert f"ledger would be signed by {keys['Alice'].fingerprint} (Alice <alice@example.org>)" in out
    assert snapshot(ws) == before
    preview = promote(ws, REF, "candidate", dry_run=True, sign=True, gnupghome=home)
    assert not preview.written and preview.signed_by and preview.signed_by.startswith(keys["Alice"].fingerprint)
    assert snapshot(ws) == before
    # ... and the move it previewed goes through.
    code, out, err = invoke(ws, "promote", REF, "--to", "candidate", "--sign", "--gnupghome", home, capsys=capsys)
    assert code == 0 and "ledger signed by" in out, err
    assert (ws / LEDGER).exists() and (ws / f"{LEDGER}.asc").exists()


@pytest.mark.parametrize(
    ("case", "exit_code", "said"),
    [
        ("key not in the keyring", 3, "no secret key 0123456789ABCDEF in the keyring in"),
        ("an empty keyring", 3, "holds no secret key, so there is nothing to sign with"),
        ("a key without the ledger scope", 2, "needs a signature by a key with scope ledger, but none of your pinned keys holds the scope"),
        ("a key not pinned", 2, "is not pinned in tfc/keys/keys.yaml"),
    ],
)
def test_promote_dry_run_with_sign_refuses_what_the_signed_move_refuses(
    signed_ws: Path, keys: dict[str, gpgkeys.Key], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    case: str, exit_code: int, said: str,
) -> None:
    ws = signed_ws
    empty = tmp_path / "empty-home"
    empty.mkdir(mode=0o700)
    args = {
        "key not in the keyring": ["--gnupghome", str(keys["Alice"].home), "--key", "0123456789ABCDEF"],
        "an empty keyring": ["--gnupghome", str(empty)],
        "a key without the ledger scope": ["--gnupghome", str(keys["Bob"].home)],
        "a key not pinned": ["--gnupghome", str(keys["Mallory"].home), "--key", keys["Mallory"].fingerprint],
    }[case]
    try:
        (dry_code, dry_err), (code, err) = both(ws, capsys, "--to", "candidate", "--sign", *args)
    finally:
        gpgkeys.stop_agents([empty])
    assert code == exit_code and said in err, err
    assert dry_code == exit_code, dry_err
    assert dry_err == err.replace("strataml: error: ", "strataml: error: " + prefix(dry_code), 1)
    assert not (ws / LEDGER).exists()


def test_promote_dry_run_of_a_signed_ledger_needs_sign_as_the_move_does(
    signed_ws: Path, keys: dict[str, gpgkeys.Key], capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a policy, a signed ledger still needs --sign (an unsigned append breaks its signature)."""
    ws = signed_ws
    promote(ws, REF, "candidate", sign=True, gnupghome=str(keys["Alice"].home))
    edit_yaml(ws / "strataml.yaml", lambda d: d.pop("signing"))
    commit(ws)
    ledger = (ws / LEDGER).read_bytes()
    dry_code, _out, dry_err = invoke(ws, "promote", REF, "--to", "staging", "--dry-run", capsys=capsys)
    code, _out, err = invoke(ws, "promote", REF, "--to", "staging", capsys=capsys)
    assert code == 2 and f"{LEDGER} is signed: an unsigned append would break its signature" in err, err
    assert dry_code == 2 and dry_err == err.replace("strataml: error: ", "strataml: error: " + prefix(dry_code), 1), dry_err
    assert (ws / LEDGER).read_bytes() == ledger


def test_promote_dry_run_refuses_a_lock_the_move_cannot_take(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The move locks .strataml/locks/NAME.lock first; a dry run takes no lock, but is refused where
    the lock would be: here .strataml is a file, not a folder."""
    (ws / ".strataml").write_text("not a folder\n")
    (dry_code, dry_err), (code, err) = both(ws, capsys, "--to", "candidate")
    assert code == 3 and "refusing to write .strataml/locks/sales-model.lock: .strataml is not a folder" in err, err
    assert dry_code == 3 and dry_err == err.replace("strataml: error: ", "strataml: error: " + prefix(dry_code), 1), dry_err
    assert not (ws / LEDGER).exists()


def test_promote_dry_run_refuses_a_ledger_folder_it_cannot_write(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = ws / "models/sales-model"
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("this user writes a folder of mode 0555 anyway (root)")
        (dry_code, dry_err), (code, err) = both(ws, capsys, "--to", "candidate")
    finally:
        folder.chmod(0o755)
    assert code == 3 and "cannot write models/sales-model/lifecycle.jsonl" in err, err
    assert dry_code == 3 and dry_err == err.replace("strataml: error: ", "strataml: error: " + prefix(dry_code), 1), dry_err
    assert not (ws / LEDGER).exists()


def test_promote_library_dry_run_raises_what_the_move_raises(signed_ws: Path, keys: dict[str, gpgkeys.Key]) -> None:
    """The library's dry run raises the move's own exception (type, message, hint): only the CLI
    words it as a dry run's."""
    ws = signed_ws

    def outcome(**kw: object) -> tuple[type, str, str | None]:
        try:
            promote(ws, REF, "candidate", **kw)  # type: ignore[arg-type]
        except StrataError as exc:
            return type(exc), exc.message, exc.hint
        raise AssertionError(f"not refused: {kw}")

    for kw in ({}, {"sign": True, "gnupghome": str(keys["Bob"].home)},
               {"sign": True, "gnupghome": str(keys["Alice"].home), "key": "0123456789ABCDEF"}):
        assert outcome(dry_run=True, **kw) == outcome(**kw)
    assert not (ws / LEDGER).exists()


def test_a_dry_run_that_cannot_run_is_not_said_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No workspace, no such model: the tool could not do it (exit 3), not a verdict on the move."""
    code, _out, err = invoke(tmp_path, "promote", "model:nosuch@1", "--to", "candidate", "--dry-run", capsys=capsys)
    assert code == 3 and "would be refused" not in err and "would fail" not in err, err
    ws = tmp_path / "ws"
    from conftest import copy_example

    copy_example(ws)
    code, _out, err = invoke(ws, "promote", "model:nosuch@1", "--to", "candidate", "--dry-run", capsys=capsys)
    assert code == 3 and "dry run: the move would fail: " in err and "would be refused" not in err, err
