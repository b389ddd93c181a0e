"""Co-signing against history, several signers, sign's checks before gpg, and ledger times
(issue 11, item 4). Real gpg with throw-away keys, real git repositories for --since."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import edit_yaml
from strataml import sign as signcmd
from strataml.doctor import engine
from test_signatures import MODEL, found, keys, pin, policy, promote_to  # noqa: F401 (keys: a fixture)


def git(ws: Path, *args: str) -> str:
    env = ["-c", "user.name=T", "-c", "user.email=t@example.org"]
    return subprocess.run(["git", *env, *args], cwd=ws, check=True, capture_output=True, text=True).stdout.strip()


def commit(ws: Path, message: str) -> str:
    if not (ws / ".git").exists():
        git(ws, "init", "-q", "-b", "main")
        (ws / ".gitignore").write_text(".strataml/\n")  # (as `strataml init` writes it: signing takes locks there)
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
    report = engine.doctor(ws, options=engine.Options(since=base))
    assert not report.findings and report.stats["records_checked"] == 1  # seen, and allowed


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


def test_ledger_times_going_backwards_below_the_microsecond_are_errors(ws: Path) -> None:
    """RFC 3339 allows nine digits of a second; datetime holds six: .0000009 then .0000001 read
    as one time and passed."""
    from models_helpers import ref, write_ledger

    moves = [(ref(1), "candidate"), (ref(1), "staging")]
    at = _ago(hours=1).removesuffix("Z")
    write_ledger(ws, moves, [f"{at}.0000009Z", f"{at}.0000001Z"])
    assert _ledger_codes(ws) == [("TFC0005-E008", 2)]
    write_ledger(ws, moves, [f"{at}.0000001Z", f"{at}.00000010Z"])  # the same time, spelt longer
    assert _ledger_codes(ws) == []


@pytest.mark.parametrize("impossible", [
    "2099-02-30T00:00:00Z", "2025-13-01T00:00:00Z", "2025-06-01T24:00:00Z",
    # A day, or a time without its offset: an instant only by a convention (they passed).
    "2025-06-01", "2025-06-01T10:00:00", "2025-06-01 10:00:00Z", "2025-06-01T10:00Z",
])
def test_a_ledger_time_no_clock_shows_is_an_error(ws: Path, impossible: str) -> None:
    """The schema's pattern admits it; the chain (made by make_entry) is valid; it is still no time."""
    from models_helpers import LEDGER, ref, write_ledger
    from strataml.doctor import engine
    from strataml.promote import Refused, promote

    write_ledger(ws, [(ref(1), "candidate"), (ref(1), "staging")], [_ago(hours=1), impossible])
    report = engine.doctor(ws)
    assert [(f.code, f.line) for f in report.findings] == [("TFC0005-E008", 2)]
    assert "not an RFC 3339 time that exists" in report.findings[0].message
    before = (ws / LEDGER).read_bytes()
    with pytest.raises(Refused, match="TFC0005-E008"):
        promote(ws, ref(1), "production")
    assert (ws / LEDGER).read_bytes() == before


def test_the_ledger_writer_never_appends_an_impossible_time(ws: Path) -> None:
    from models_helpers import LEDGER, entries_for, ref, write_ledger
    from strataml import lifecycle
    from strataml.errors import StrataError

    path = write_ledger(ws, [(ref(1), "candidate")], [_ago(hours=1)])
    before = path.read_bytes()
    bad = entries_for(ws, [(ref(1), "candidate"), (ref(1), "staging")], [_ago(hours=1), "2099-02-30T00:00:00Z"])[1:]
    with pytest.raises(StrataError, match="not a valid time"):
        lifecycle.append(ws, "sales-model", len(before), bad)
    assert (ws / LEDGER).read_bytes() == before


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


def test_promote_refuses_an_entry_dated_before_the_version_was_registered(ws: Path) -> None:
    """A version registered on a machine an hour ahead: an entry dated now would be TFC0005-E008
    for good (the ledger is a hash chain), so none is written."""
    from conftest import edit_yaml
    from models_helpers import LEDGER, ref
    from strataml.promote import Refused, promote

    edit_yaml(ws / "models/sales-model/1/model.yaml", lambda d: d.update(created_at=_ago(hours=-1)))
    assert _ledger_codes(ws) == []
    with pytest.raises(Refused, match="registered at .*: an entry dated before it would be refused"):
        promote(ws, ref(1), "candidate")
    assert not (ws / LEDGER).exists()
    edit_yaml(ws / "models/sales-model/1/model.yaml", lambda d: d.update(created_at=_ago(minutes=-2)))  # within the skew
    promote(ws, ref(1), "candidate")
    assert _ledger_codes(ws) == []


def test_promote_through_the_cli_says_what_is_wrong_with_the_clock(ws: Path, capsys) -> None:
    from conftest import invoke
    from models_helpers import ref, write_ledger

    write_ledger(ws, [(ref(1), "candidate")], [_ago(days=-1)])
    code, _out, err = invoke(ws, "promote", ref(1), "--to", "staging", capsys=capsys)
    assert code == 2 and "backwards in time" in err and "clock" in err and "Traceback" not in err


# 2. Several signers: min_signers distinct pinned keys with the scope.

PRODUCTION_BY_TWO = {"records": "models", "state": "production", "scope": "production", "min_signers": 2}


def _show(ws: Path, capsys, *fmt: str) -> str:
    from conftest import invoke

    code, out, err = invoke(ws, "show", "model:sales-model@1", *fmt, capsys=capsys)
    assert code == 0, err
    return out


def test_min_signers_needs_that_many_distinct_pinned_keys(ws: Path, keys, capsys) -> None:
    import json
    import time

    from strataml.doctor import engine
    from test_signatures import sign as gpg_sign

    pin(ws, keys["Alice"], "models", "production")
    pin(ws, keys["Bob"], "production")
    promote_to(ws, "production")
    policy(ws, PRODUCTION_BY_TWO)
    report = engine.doctor(ws)
    assert [(f.code, f.path) for f in report.findings] == [("TFC0007-E001", MODEL)]
    assert "2 distinct keys with scope production" in report.findings[0].message

    done = cosign(ws, keys["Alice"])  # the first of two signers: written, and says what is missing
    assert (done.signers, done.required, done.missing) == (1, 2, ["1 more signer with scope production"])
    report = engine.doctor(ws)
    assert [(f.code, f.path) for f in report.findings] == [("TFC0007-E011", f"{MODEL}.asc")]
    message = report.findings[0].message
    assert "1 valid signer of the 2 needed with scope production" in message and "missing: 1 more with production" in message
    shown = json.loads(_show(ws, capsys, "--format", "json"))["signature"]
    assert (shown["status"], shown["valid_signers"], shown["required_signers"]) == ("invalid", 1, 2)
    assert "(1 valid signer of 2 required)" in _show(ws, capsys)

    # The same key twice is one signer (and co-signing keeps one of them); the same signature
    # twice is no signer's doing, and the file holds more than its signatures.
    asc = gpg_sign(ws, keys["Alice"])
    asc.write_bytes(asc.read_bytes() * 2)
    assert found(ws) == [("TFC0007-E006", f"{MODEL}.asc"), ("TFC0007-E011", f"{MODEL}.asc")]
    first = gpg_sign(ws, keys["Alice"]).read_bytes()
    time.sleep(1.1)  # (a signature's time is in seconds: the next one differs)
    asc.write_bytes(first + gpg_sign(ws, keys["Alice"]).read_bytes())
    assert found(ws) == [("TFC0007-E011", f"{MODEL}.asc")]

    done = cosign(ws, keys["Bob"])
    assert (done.kept, done.signers, done.missing, done.dropped) == (1, 2, [], [keys["Alice"].fingerprint])
    assert found(ws) == []
    shown = json.loads(_show(ws, capsys, "--format", "json"))["signature"]
    assert (shown["status"], shown["valid_signers"], shown["required_signers"]) == ("signed", 2, 2)
    assert "(2 valid signers of 2 required)" in _show(ws, capsys)


def test_sign_command_reports_signers_and_what_is_missing(ws: Path, keys, capsys) -> None:
    import json

    from conftest import invoke

    pin(ws, keys["Alice"], "models", "production")
    pin(ws, keys["Bob"], "production")
    promote_to(ws, "production")
    policy(ws, PRODUCTION_BY_TWO)
    code, out, err = invoke(ws, "sign", "model:sales-model@1", "--gnupghome", str(keys["Alice"].home), capsys=capsys)
    assert code == 0, err
    assert "1 valid signer of 2 required" in out and "still needs 1 more signer with scope production" in out
    code, out, err = invoke(ws, "sign", "model:sales-model@1", "--gnupghome", str(keys["Bob"].home),
                            "--format", "json", capsys=capsys)
    assert code == 0, err
    done = json.loads(out)
    assert (done["kept"], done["valid_signers"], done["required_signers"], done["missing"]) == (1, 2, 2, [])


def test_since_dropping_one_of_the_required_signers_is_an_error(ws: Path, keys) -> None:
    pin(ws, keys["Alice"], "models", "production")
    pin(ws, keys["Bob"], "production")
    promote_to(ws, "production")
    policy(ws, PRODUCTION_BY_TWO)
    alice_only = cosign(ws, keys["Alice"]) and (ws / f"{MODEL}.asc").read_bytes()
    cosign(ws, keys["Bob"])
    base = commit(ws, "base: two signers")
    assert found(ws, since=base) == []
    (ws / f"{MODEL}.asc").write_bytes(alice_only)  # still a valid signature, but one signer short
    commit(ws, "drop Bob's signature")
    assert found(ws, since=base) == [("TFC0007-E011", f"{MODEL}.asc")]


def test_promote_needs_the_policy_s_number_of_signers(ws: Path, keys) -> None:
    from strataml.promote import Refused, promote

    pin(ws, keys["Alice"], "models", "production")
    pin(ws, keys["Bob"], "production")
    policy(ws, PRODUCTION_BY_TWO)
    promote_to(ws, "staging")
    with pytest.raises(Refused, match="2 distinct keys with scope production"):
        promote(ws, "model:sales-model@1", "production")
    cosign(ws, keys["Alice"])
    with pytest.raises(Refused, match="TFC0007-E011"):
        promote(ws, "model:sales-model@1", "production")
    cosign(ws, keys["Bob"])
    promote(ws, "model:sales-model@1", "production")
    assert found(ws) == []


def test_a_ledger_policy_with_two_signers_is_met_by_promote_sign_and_a_cosigner(
    ws: Path, keys, capsys: pytest.CaptureFixture[str]
) -> None:
    """The co-signer comes before the commit: `Next:` said to commit a ledger the doctor fails
    (TFC0007-E011), a contract audit found."""
    from strataml.cli.main import run

    pin(ws, keys["Alice"], "ledger")
    pin(ws, keys["Bob"], "ledger")
    policy(ws, {"records": "ledger", "scope": "ledger", "min_signers": 2})
    capsys.readouterr()
    argv = ["-C", str(ws), "promote", "model:sales-model@1", "--to", "candidate", "--sign", "--gnupghome", str(keys["Alice"].home)]
    assert run([*argv, "--dry-run"]) == 0  # (the dry run says so too: a review found it silent)
    said = "also the ledger signature would still need 1 more signer with scope ledger: `strataml sign ledger:sales-model`"
    assert said in capsys.readouterr().out
    assert run(argv) == 0
    out = capsys.readouterr().out
    assert "Next: co-sign it (`strataml sign ledger:sales-model` by 1 more signer with scope ledger), then `" in out, out
    assert found(ws) == [("TFC0007-E011", "models/sales-model/lifecycle.jsonl.asc")]
    signed = cosign(ws, keys["Bob"], "ledger:sales-model")
    assert (signed.kept, signed.signers, signed.missing) == (1, 2, [])
    assert found(ws) == []


def test_min_signers_written_as_a_whole_float_asks_for_that_many(ws: Path, keys) -> None:
    """`min_signers: 2.0` is an integer to the schema (no finding) and was read as not set: one
    signer passed, and a pull request that wrote 2 as 2.0 turned the policy's two into one
    without a word (the policy "did not change": 2.0 == 2)."""
    from strataml import lfs
    from strataml.doctor import engine

    assert lfs.threshold({"lfs": {"threshold_bytes": 100000.0}}) == 100000  # (TFC0006-W011 went silent)
    assert lfs.threshold({"lfs": {"threshold_bytes": 1.5}}) is None  # (the schema's finding)
    pin(ws, keys["Alice"], "models", "production")
    pin(ws, keys["Bob"], "production")
    promote_to(ws, "production")
    policy(ws, {**PRODUCTION_BY_TWO, "min_signers": 2.0})
    cosign(ws, keys["Alice"])
    report = engine.doctor(ws)
    assert [(f.code, f.path) for f in report.findings] == [("TFC0007-E011", f"{MODEL}.asc")]
    assert "1 valid signer of the 2 needed" in report.findings[0].message


def test_min_signers_must_be_a_positive_integer(ws: Path) -> None:
    policy(ws, {"records": "models", "scope": "models", "min_signers": 0})
    assert ("TFC0001-E001", "strataml.yaml") in found(ws)


# 3. sign checks the key's pin and scope before it asks gpg to sign.



@pytest.fixture
def protected(tmp_path: Path):
    """A secret key behind a passphrase, whose gpg-agent asks a pinentry that logs every time gpg
    needs the secret key: the log tells whether gpg was asked to sign (real gpg, real agent)."""
    import gpgkeys

    log = tmp_path / "pinentry.log"
    key = gpgkeys.protected_key(tmp_path, "Pat", "correct horse", log)
    assert not log.exists()  # making the key asked nothing
    yield key, log
    gpgkeys.stop_agents([key.home])


def test_sign_refuses_a_key_without_the_needed_scope_before_gpg_is_asked(ws: Path, keys, protected, capsys) -> None:
    from conftest import invoke

    pat, log = protected
    pin(ws, pat, "datasets")  # pinned, but a model needs models or production
    code, _out, err = invoke(ws, "sign", "model:sales-model@1", "--gnupghome", str(pat.home), capsys=capsys)
    assert code == 2 and "TFC0007-E004" in err and "nothing was signed" in err
    code, _out, err = invoke(ws, "sign", "model:sales-model@1", "--key", pat.fingerprint,
                             "--gnupghome", str(pat.home), capsys=capsys)
    assert code == 2 and "TFC0007-E004" in err and "holds datasets" in err
    assert not log.exists(), "gpg was asked to sign with a key the doctor would reject"
    assert not (ws / f"{MODEL}.asc").exists()

    # A production policy: a models-only key does not help either.
    pin(ws, pat, "models")
    promote_to(ws, "production")
    policy(ws, {"records": "models", "state": "production", "scope": "production"})
    code, _out, err = invoke(ws, "sign", "model:sales-model@1", "--key", pat.fingerprint,
                             "--gnupghome", str(pat.home), capsys=capsys)
    assert code == 2 and "TFC0007-E004" in err and "production" in err
    assert not log.exists()

    # The control: with the scope, gpg is asked (the pinentry logs it) and the signature is good.
    pin(ws, pat, "production")
    code, out, err = invoke(ws, "sign", "model:sales-model@1", "--gnupghome", str(pat.home), capsys=capsys)
    assert code == 0, err
    assert log.exists() and found(ws) == []


def test_sign_refuses_an_unpinned_or_revoked_key_before_gpg_is_asked(ws: Path, keys, protected, capsys, tmp_path) -> None:
    import gpgkeys
    from conftest import invoke

    pat, log = protected
    pin(ws, keys["Alice"], "models")
    code, _out, err = invoke(ws, "sign", "model:sales-model@1", "--key", pat.fingerprint,
                             "--gnupghome", str(pat.home), capsys=capsys)
    assert code == 2 and "is not pinned" in err
    pin(ws, pat, "models")
    gpgkeys.revoke(pat)  # revoked in the signer's own keyring and in the published key
    (ws / f"tfc/keys/{pat.fingerprint}.asc").write_bytes(pat.public.read_bytes())
    code, _out, err = invoke(ws, "sign", "model:sales-model@1", "--key", pat.fingerprint,
                             "--gnupghome", str(pat.home), capsys=capsys)
    assert code == 2 and "revoked" in err and "TFC0007-E005" in err
    assert not log.exists()


def test_since_a_key_unpinned_on_main_after_the_branch_forked_no_longer_counts(ws: Path, keys) -> None:
    """The gate's keys are the base's as it stands now: a pull request forked while a key was
    pinned, signing with it after main unpinned it (a compromised key), fails, though the pull
    request itself touched no key file."""
    from strataml.keys import remove

    pin(ws, keys["Alice"], "models", "production")
    pin(ws, keys["Mallory"], "models", "production")
    policy(ws, {"records": "models", "state": "production", "scope": "production"})
    promote_to(ws, "staging")
    commit(ws, "base: two production keys")
    git(ws, "checkout", "-q", "-b", "pr")
    promote_to(ws, "production")
    cosign(ws, keys["Mallory"])
    commit(ws, "production, signed by Mallory")
    assert found(ws, since="main") == []  # as main stands, Mallory's key is pinned
    git(ws, "checkout", "-q", "main")
    remove(ws, keys["Mallory"].fingerprint)
    commit(ws, "Mallory's key is compromised: unpinned")
    git(ws, "checkout", "-q", "pr")
    assert (ws / f"tfc/keys/{keys['Mallory'].fingerprint}.asc").exists()  # still pinned in the branch
    assert found(ws, since="main") == [("TFC0007-E003", f"{MODEL}.asc")]
    (ws / f"{MODEL}.asc").unlink()  # the fix: signed anew, by a key main still trusts
    cosign(ws, keys["Alice"])
    commit(ws, "signed by Alice instead")
    assert found(ws, since="main") == []


@pytest.mark.parametrize("records", ["datasets", "models"])
def test_a_policy_over_every_record_still_lets_one_be_made_and_says_it_needs_signing(
    ws: Path, records: str, capsys
) -> None:
    """Only a record that is there can be signed: `dataset add` and `model register` refused
    every new record under such a policy (TFC0007-E001, with a hint to rename files), so the
    workspace could take no new one. They make it, and say it needs a signature first; a record
    that breaks another rule is still refused."""
    import json

    from conftest import invoke
    from test_diff import new_run

    policy(ws, {"records": records, "scope": records})
    (ws / "new.csv").write_text("a,b\n1,2\n3,4\n")

    def make(version: str, *fmt: str) -> tuple[int, str, str]:
        if records == "datasets":
            return invoke(ws, "dataset", "add", "fresh", str(ws / "new.csv"), "--version", version, *fmt, capsys=capsys)
        run = new_run(ws, f"00000{version}", 0.8)
        return invoke(ws, "model", "register", run, "--name", "fresh", "--version", version, *fmt, capsys=capsys)

    code, out, err = make("1")
    assert code == 0, err
    ref = f"{records[:-1]}:fresh@1"
    said = f"{ref} is unsigned, but the signing policy (the working tree) says"
    assert said in out and f"sign it (`strataml sign {ref}`) before committing it" in out, out
    code, out, err = make("2", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    told = doc["unsigned"] if records == "models" else " ".join(doc["notes"])
    assert f"{records[:-1]}:fresh@2 is unsigned, but the signing policy" in told, doc
    if records == "datasets":  # another rule still refuses (a file name with a backslash, TFC0006-E004)
        odd = ws / "a\\b.csv"
        odd.write_text("a,b\n1,2\n")
        code, _out, err = invoke(ws, "dataset", "add", "odd", str(odd), "--version", "1", capsys=capsys)
        assert code == 2 and "TFC0006-E004" in err and "TFC0007-E001" not in err, err
