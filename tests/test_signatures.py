"""Signatures with the real gpg (TFC-0007): throw-away keys, one test per finding code, keys and sign commands."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import gpgkeys
import models_helpers
from conftest import age, edit_yaml, invoke as cli, require
from strataml.cli.main import run
from strataml.doctor import engine
from strataml.read import saved
from strataml.keys import add

MODEL = "models/sales-model/1/model.yaml"
DATASET = "datasets/sales/1/dataset.yaml"


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, gpgkeys.Key]]:
    require(gpgkeys.available(), "gpg is not installed")
    base = tmp_path_factory.mktemp("gpg")
    made = {name: gpgkeys.make_key(base, name) for name in ("Alice", "Bob", "Mallory", "Rev")}
    made["Sub"] = gpgkeys.make_key(base, "Sub", subkey_signer=True)
    # Created and used in 2020, expired a day later: valid when it signed, expired now.
    made["Old"] = gpgkeys.make_key(base, "Old", expire="1d", faked_time="20200101T000000!")
    yield made
    gpgkeys.stop_agents([k.home for k in made.values()] + [p for p in base.rglob("*home") if p.is_dir()])


@pytest.fixture(autouse=True)
def _stop_copied_homes(tmp_path: Path) -> Iterator[None]:
    """A test that copies a key's home (gpgkeys.copy_home) into its tmp_path leaves an agent: stopped here."""
    yield
    gpgkeys.stop_agents([p for p in tmp_path.glob("*-home") if p.is_dir()])


def node(index: dict, ref: str) -> dict:
    return next(n for n in index["nodes"] if n["id"] == ref)


def pin(ws: Path, key: gpgkeys.Key, *scopes: str) -> None:
    add(ws, key.public, list(scopes), replace_scopes=True)


def pin_raw(ws: Path, key: gpgkeys.Key, *scopes: str, data: bytes | None = None) -> None:
    """Pin as an earlier commit would have (keys add refuses expired keys today)."""
    folder = ws / "tfc/keys"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{key.fingerprint}.asc").write_bytes(key.public.read_bytes() if data is None else data)
    manifest = folder / "keys.yaml"
    body = yaml.safe_load(manifest.read_text()) if manifest.exists() else {"schema": "strataml/keys/v1", "keys": []}
    body["keys"].append({"fingerprint": key.fingerprint, "file": f"{key.fingerprint}.asc", "scopes": list(scopes)})
    manifest.write_text(yaml.safe_dump(body))


def sign(ws: Path, key: gpgkeys.Key, rel: str = MODEL, **kw) -> Path:
    out = ws / f"{rel}.asc"
    gpgkeys.sign_file(key, ws / rel, out, **kw)
    return out


def policy(ws: Path, *require: dict) -> None:
    edit_yaml(ws / "strataml.yaml", lambda d: d.update(signing={"require": list(require)}))


def promote_to(ws: Path, state: str) -> None:
    """A legal ledger that puts model:sales-model@1 in `state`."""
    models_helpers.reach(ws, state)


def found(ws: Path, **options) -> list[tuple[str, str]]:
    return [(f.code, f.path) for f in engine.doctor(ws, options=engine.Options(**options)).findings]


def codes(ws: Path) -> set[str]:
    return {c for c, _ in found(ws)}


# One case per code: each leaves the workspace with exactly that finding.
def case_missing(ws, k):
    pin(ws, k["Alice"], "models")
    policy(ws, {"records": "models", "scope": "models"})


def case_bad(ws, k):
    pin(ws, k["Alice"], "models")
    sign(ws, k["Alice"])
    edit_yaml(ws / MODEL, lambda d: d.update({"x-note": "edited after it was signed"}))  # (no other rule's finding)


def case_unpinned(ws, k):
    pin(ws, k["Alice"], "models")
    sign(ws, k["Mallory"])


def case_out_of_scope(ws, k):
    pin(ws, k["Alice"], "models")
    pin(ws, k["Bob"], "datasets")
    promote_to(ws, "production")
    policy(ws, {"records": "models", "state": "production", "scope": "production"})
    sign(ws, k["Bob"])


def case_expired(ws, k):
    pin_raw(ws, k["Old"], "models")
    sign(ws, k["Old"], faked_time="20200101T010000!")


def case_not_a_signature(ws, k):
    pin(ws, k["Alice"], "models")
    (ws / f"{MODEL}.asc").write_bytes(k["Alice"].public.read_bytes())


def case_orphan(ws, k):
    pin(ws, k["Alice"], "models")
    sign(ws, k["Alice"])
    (ws / f"{MODEL}.asc").rename(ws / "models/sales-model/1/model.yml.asc")


def case_mixed(ws, k):
    pin(ws, k["Alice"], "models")
    pin(ws, k["Sub"], "models")
    old = sign(ws, k["Alice"]).read_bytes()
    edit_yaml(ws / MODEL, lambda d: d.update({"x-note": "edited between the two signatures"}))
    new = sign(ws, k["Sub"]).read_bytes()
    (ws / f"{MODEL}.asc").write_bytes(new + old)


def case_too_few_signers(ws, k):
    pin(ws, k["Alice"], "models")
    pin(ws, k["Bob"], "models")
    policy(ws, {"records": "models", "scope": "models", "min_signers": 2})
    sign(ws, k["Alice"])


def case_key_file_mismatch(ws, k):
    pin(ws, k["Alice"], "models")
    shutil.copy(k["Bob"].public, ws / f"tfc/keys/{k['Alice'].fingerprint}.asc")


def case_trust_path_symlink(ws, k):
    pin(ws, k["Alice"], "models")
    outside = ws.parent / "outside-keys"  # the same keys, reached through a link out of the repository
    shutil.move(ws / "tfc/keys", outside)
    (ws / "tfc/keys").symlink_to(outside)


SIGNATURE_CASES = {
    "TFC0007-E001": case_missing,
    "TFC0007-E002": case_bad,
    "TFC0007-E003": case_unpinned,
    "TFC0007-E004": case_out_of_scope,
    "TFC0007-E005": case_expired,
    "TFC0007-E006": case_not_a_signature,
    "TFC0007-E007": case_orphan,
    "TFC0007-E008": case_mixed,
    "TFC0007-E009": case_key_file_mismatch,
    "TFC0007-E010": case_trust_path_symlink,
    "TFC0007-E011": case_too_few_signers,
}


def test_two_pins_of_one_key_material_count_as_one_signer(ws: Path, keys, tmp_path: Path) -> None:
    """gpg makes a second primary key from another's secret key (`Key-Grip:`): another
    fingerprint and user id, one person. `keys add` refuses the twin; pinned anyway (an earlier
    commit, a hand-edited keys.yaml), its signature and the original's count once."""
    from strataml.errors import Refusal

    twin = gpgkeys.twin_key(tmp_path, keys["Alice"], "Dave")
    assert twin.fingerprint != keys["Alice"].fingerprint
    pin(ws, keys["Alice"], "models")
    with pytest.raises(Refusal, match="holds the same key material as the pinned key"):
        pin(ws, twin, "models")
    pin_raw(ws, twin, "models")
    policy(ws, {"records": "models", "scope": "models", "min_signers": 2})
    sign(ws, keys["Alice"])
    both = (ws / f"{MODEL}.asc").read_bytes()
    sign(ws, twin)
    (ws / f"{MODEL}.asc").write_bytes(both + (ws / f"{MODEL}.asc").read_bytes())
    assert found(ws) == [("TFC0007-E011", f"{MODEL}.asc")]
    pin(ws, keys["Bob"], "models")  # a second person: met
    sign(ws, keys["Bob"], rel=MODEL)
    bob = (ws / f"{MODEL}.asc").read_bytes()
    (ws / f"{MODEL}.asc").write_bytes(both + bob)
    assert found(ws) == []


@pytest.mark.parametrize("code", sorted(SIGNATURE_CASES))
def test_signature_golden_negative_produces_exactly_its_code(ws: Path, keys, code: str) -> None:
    SIGNATURE_CASES[code](ws, keys)
    assert codes(ws) == {code}, found(ws)


def test_signed_workspace_is_clean_and_the_signature_covers_the_record(ws: Path, keys) -> None:
    pin(ws, keys["Alice"], "models", "production")
    pin(ws, keys["Bob"], "datasets")
    policy(ws, {"records": "models", "scope": "models"}, {"records": "datasets", "scope": "datasets"})
    sign(ws, keys["Alice"])
    for rel in ("datasets/sales/1/dataset.yaml", "datasets/flowers/1/dataset.yaml"):
        sign(ws, keys["Bob"], rel)
    assert found(ws) == []
    # The metadata pins the artifact: changing the artifact is caught though the signature still verifies.
    (ws / "models/sales-model/1/model.bin").write_bytes(b"x" * 120)
    assert codes(ws) == {"TFC0006-E002"}


def test_revoked_key_is_rejected_though_gpg_calls_the_signature_valid(ws: Path, keys, tmp_path: Path) -> None:
    key = gpgkeys.copy_home(keys["Rev"], tmp_path / "rev-home")  # revoke a copy: the session's key stays usable
    pin(ws, key, "models")
    sign(ws, key)
    assert found(ws) == []
    age(ws)
    assert node(saved.current(ws)[0], "model:sales-model@1")["signature"]["status"] == "signed"
    assert not saved.current(ws)[1]
    gpgkeys.revoke(key)
    key_file = ws / f"tfc/keys/{key.fingerprint}.asc"
    shutil.copy(key.public, key_file)  # the owner publishes the revocation
    os.utime(key_file, (time.time() - 60, time.time() - 60))
    index, rebuilt = saved.current(ws)  # readers notice a key file changing (nothing else did)
    assert rebuilt and node(index, "model:sales-model@1")["signature"]["status"] == "invalid"
    result = found(ws)
    assert result == [("TFC0007-E005", f"{MODEL}.asc")]
    report = engine.doctor(ws)
    assert "revoked" in report.findings[0].message


def test_subkey_signature_counts_for_its_pinned_primary(ws: Path, keys) -> None:
    sub = keys["Sub"]
    assert sub.subkeys
    pin(ws, sub, "models")
    sign(ws, sub)
    assert found(ws) == []


def test_signers_gpg_conf_and_keyring_change_nothing(ws: Path, keys, tmp_path: Path, monkeypatch) -> None:
    mallory = gpgkeys.copy_home(keys["Mallory"], tmp_path / "mallory-home")
    (mallory.home / "gpg.conf").write_text("trust-model always\n")
    pin(ws, keys["Alice"], "models")
    sign(ws, mallory)
    monkeypatch.setenv("GNUPGHOME", str(mallory.home))  # the user's own keyring trusts Mallory fully
    assert codes(ws) == {"TFC0007-E003"}


def test_junk_and_empty_signature_files(ws: Path, keys) -> None:
    pin(ws, keys["Alice"], "models")
    (ws / f"{MODEL}.asc").write_text("not a signature\n")
    assert codes(ws) == {"TFC0007-E006"}
    (ws / f"{MODEL}.asc").write_bytes(b"")
    assert codes(ws) == {"TFC0007-E006"}


def _with_unhashed_note(sig: bytes) -> bytes:
    """A binary v4 signature packet (gpg's old-format header, one length octet) with a notation in
    its unhashed area, which the signature does not cover: gpg still calls it good."""
    assert sig[0] == 0x88, "a signature packet with a one-octet length"
    body = bytearray(sig[2 : 2 + sig[1]])
    at = 4 + 2 + int.from_bytes(body[4:6], "big")
    size = int.from_bytes(body[at : at + 2], "big")
    note = b"\x14" + b"\x80\x00\x00\x00" + b"\x00\x04\x00\x05" + b"k@x.yhello"  # notation "k@x.y" = "hello"
    body[at : at + 2] = (size + 1 + len(note)).to_bytes(2, "big")
    body[at + 2 + size : at + 2 + size] = bytes([len(note)]) + note
    return bytes([0x88, len(body)]) + bytes(body) + sig[2 + sig[1] :]


def _grown(sig: bytes, extra: bytes, *, issuer: bool = False) -> bytes:
    """A one-octet-length signature packet with `extra` after its values (inside the packet), or
    with `extra` in an issuer subpacket of its unhashed area."""
    assert sig[0] == 0x88, "a signature packet with a one-octet length"
    body = bytearray(sig[2 : 2 + sig[1]])
    if issuer:
        at = 4 + 2 + int.from_bytes(body[4:6], "big")
        size = int.from_bytes(body[at : at + 2], "big")
        sub = bytes([1 + 8 + len(extra), 16]) + b"\x00" * 8 + extra
        body[at : at + 2] = (size + len(sub)).to_bytes(2, "big")
        body[at + 2 + size : at + 2 + size] = sub
    else:
        body += extra
    return bytes([0x88, len(body)]) + bytes(body) + sig[2 + sig[1] :]


def _wrong_issuer(sig: bytes) -> bytes:
    """A one-octet-length v4 signature packet whose unhashed issuer key id names no key (eight
    chosen bytes): gpg finds the key by the hashed fingerprint and still calls it good."""
    body = bytearray(sig[2 : 2 + sig[1]])
    at = 4 + 2 + int.from_bytes(body[4:6], "big")
    assert body[at + 2 : at + 4] == b"\x09\x10", "the unsigned part starts with an issuer key id"
    body[at + 4 : at + 12] = b"smuggled"
    return bytes([0x88, len(body)]) + bytes(body) + sig[2 + sig[1] :]


def _padded_value(sig: bytes) -> bytes:
    """A one-octet-length v4 signature packet whose first value (MPI) is written one octet
    longer than it is (a zero first, its bit count raised to match): gpg still calls it good."""
    body = bytearray(sig[2 : 2 + sig[1]])
    at = 4 + 2 + int.from_bytes(body[4:6], "big")
    at += 2 + int.from_bytes(body[at : at + 2], "big") + 2
    bits = int.from_bytes(body[at : at + 2], "big")
    body[at : at + 2] = (8 * ((bits + 7) // 8) + 8).to_bytes(2, "big")
    body[at + 2 : at + 2] = b"\x00"
    return bytes([0x88, len(body)]) + bytes(body) + sig[2 + sig[1] :]


@pytest.mark.parametrize("tail", ["key", "text", "prefix", "header", "binary", "packet", "unhashed", "in-packet",
                                  "issuer", "checksum", "spaces", "empty-block", "two-issuers", "copy", "value",
                                  "wrong-issuer"])
def test_a_signature_file_holds_signatures_and_nothing_else(ws: Path, keys, capsys, tail: str) -> None:
    """gpg passes over what comes with a valid signature (text before or after its armour, long
    armour headers, a key's block, packets of other kinds, notes in a signature's unsigned part),
    and the doctor believed the file: a change could carry any bytes into a committed record's
    folder, where history lets signature files change. Re-signing cleans it."""
    alice = keys["Alice"]
    pin(ws, alice, "models")
    asc = sign(ws, alice)
    good = asc.read_bytes()
    dearmored = subprocess.run(["gpg", "--dearmor"], input=good, capture_output=True, check=True).stdout
    changed = {
        "key": lambda: good + alice.public.read_bytes(),
        "text": lambda: good + b"\nsmuggled: 1\n",
        "prefix": lambda: b"#!/bin/sh\necho smuggled\n" + good,
        "header": lambda: good.replace(b"-----\n", b"-----\nComment: " + b"smuggled " * 60 + b"\n", 1),
        "binary": lambda: dearmored + b"smuggled, anything at all\n",
        "packet": lambda: dearmored + bytes([0xFC, 9]) + b"smuggled!",  # a private packet (tag 60)
        "unhashed": lambda: _with_unhashed_note(dearmored),
        "in-packet": lambda: _grown(dearmored, b"smuggled"),  # after the signature's values
        "issuer": lambda: _grown(dearmored, b"smuggled", issuer=True),  # an issuer subpacket too long
        "checksum": lambda: good.replace(b"-----END", b"=smug\n=gled\n-----END"),  # lines gpg skips
        "spaces": lambda: good.replace(b"\n", b" \t \t \n", 2),
        # An empty block with its checksum line (gpg says nothing of it), headers to carry text.
        "empty-block": lambda: good + b"\n-----BEGIN PGP SIGNATURE-----\nComment: smuggled\n\n=twTO\n-----END PGP SIGNATURE-----\n",
        "two-issuers": lambda: _grown(dearmored, b"", issuer=True),  # a second issuer id, of its size
        # The same signature again, its unsigned part grown: two packets gpg checks, one signer.
        "copy": lambda: dearmored + _grown(dearmored, b"", issuer=True),
        "value": lambda: _padded_value(dearmored),
        "wrong-issuer": lambda: _wrong_issuer(dearmored),
    }[tail]()
    asc.write_bytes(changed)
    judged = gpgkeys.gpg(alice.home, "--status-fd", "1", "--verify", str(asc), str(ws / MODEL), check=False)
    assert b"GOODSIG" in judged.stdout, judged  # (what gpg alone would accept)
    report = engine.doctor(ws)
    assert [(f.code, f.path) for f in report.findings] == [("TFC0007-E006", f"{MODEL}.asc")], report.findings
    assert "holds more than its signatures" in report.findings[0].message
    code, _out, err = cli(ws, "sign", MODEL, "--gnupghome", str(alice.home), capsys=capsys)
    assert code == 0, err
    assert asc.read_bytes().count(b"BEGIN PGP SIGNATURE") == 1 and b"smuggled" not in asc.read_bytes()
    assert engine.doctor(ws, strict=True).exit_code == 0


def test_production_policy_follows_the_ledger(ws: Path, keys) -> None:
    pin(ws, keys["Alice"], "models", "production")
    policy(ws, {"records": "models", "state": "production", "scope": "production"})
    assert found(ws) == []  # registered: the policy does not cover it yet
    promote_to(ws, "production")
    assert found(ws) == [("TFC0007-E001", MODEL)]
    sign(ws, keys["Alice"])
    assert found(ws) == []


def test_ledger_signature_and_policy(ws: Path, keys) -> None:
    pin(ws, keys["Alice"], "ledger")
    promote_to(ws, "candidate")
    policy(ws, {"records": "ledger", "scope": "ledger"})
    assert found(ws) == [("TFC0007-E001", "models/sales-model/lifecycle.jsonl")]
    sign(ws, keys["Alice"], "models/sales-model/lifecycle.jsonl")
    assert found(ws) == []
    models_helpers.reach(ws, "staging")  # an append needs a new signature
    assert codes(ws) == {"TFC0007-E002"}


def test_missing_key_file_is_reported(ws: Path, keys) -> None:
    pin(ws, keys["Alice"], "models")
    (ws / f"tfc/keys/{keys['Alice'].fingerprint}.asc").unlink()
    assert found(ws) == [("TFC0007-E009", "tfc/keys/keys.yaml")]


# The commands, through the CLI as users run them.

def test_keys_add_list_remove(ws: Path, keys, capsys) -> None:
    alice = keys["Alice"]
    code, out, _ = cli(ws, "keys", "add", str(alice.public), "--scope", "models", "--scope", "production", capsys=capsys)
    assert code == 0 and alice.fingerprint in out
    # The commit the Next line suggests names the key as `keys remove` takes it (its long id).
    assert f"pin key {alice.fingerprint[-16:]}" in out
    assert (ws / f"tfc/keys/{alice.fingerprint}.asc").read_text().startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    code, out, _ = cli(ws, "keys", "list", "--format", "json", capsys=capsys)
    listed = json.loads(out)
    assert listed == [{"fingerprint": alice.fingerprint, "uid": "Alice <alice@example.org>", "scopes": ["models", "production"],
                       "expires": "never", "status": "valid", "file": f"tfc/keys/{alice.fingerprint}.asc",
                       "scheme": "openpgp"}]
    code, out, _ = cli(ws, "keys", "list", capsys=capsys)
    assert code == 0 and "Alice <alice@example.org>" in out and max(map(len, out.splitlines())) <= 100
    code, _, err = cli(ws, "keys", "remove", alice.fingerprint[-8:], capsys=capsys)
    assert code == 3 and "is 8 hex digits; a key is named by at least its last 16" in err
    assert (ws / f"tfc/keys/{alice.fingerprint}.asc").exists()
    # The start, as a list shows a fingerprint first, is no key id: the message says what is.
    code, _, err = cli(ws, "keys", "remove", alice.fingerprint[:16], capsys=capsys)
    assert code == 3 and "these are the start of one" in err and f"strataml keys remove {alice.fingerprint}" in err
    code, out, _ = cli(ws, "keys", "remove", alice.fingerprint[-16:], capsys=capsys)
    assert code == 0 and "Unpinned" in out
    assert not (ws / f"tfc/keys/{alice.fingerprint}.asc").exists()
    assert json.loads(cli(ws, "keys", "list", "--format", "json", capsys=capsys)[1]) == []
    code, _, err = cli(ws, "keys", "remove", "DEADBEEFDEADBEEF", capsys=capsys)
    assert code == 3 and "no pinned key" in err


def test_a_broken_keys_manifest_is_named_at_its_line(ws: Path, capsys) -> None:
    """"fix the file at that line" named no line."""
    (ws / "tfc/keys").mkdir(parents=True, exist_ok=True)
    (ws / "tfc/keys/keys.yaml").write_text("schema: strataml/keys/v1\nkeys:\n  - fingerprint: [\n")
    for args in (("keys", "list"), ("keys", "remove", "ABCDEF0123456789")):
        code, _, err = cli(ws, *args, capsys=capsys)
        assert code in (2, 3) and "error: tfc/keys/keys.yaml:3: invalid YAML" in err and "at that line" in err, err


def test_keys_add_refuses_secret_keys_several_keys_and_bad_scopes(ws: Path, keys, tmp_path: Path, capsys) -> None:
    alice = keys["Alice"]
    secret = tmp_path / "secret.asc"
    secret.write_bytes(gpgkeys.gpg(alice.home, "--armor", "--export-secret-keys", alice.fingerprint).stdout)
    code, _, err = cli(ws, "keys", "add", str(secret), "--scope", "models", capsys=capsys)
    assert code == 2 and "SECRET" in err and not (ws / "tfc/keys/keys.yaml").exists()
    both = tmp_path / "both.asc"
    both.write_bytes(alice.public.read_bytes() + keys["Bob"].public.read_bytes())
    code, _, err = cli(ws, "keys", "add", str(both), "--scope", "models", capsys=capsys)
    assert code == 3 and "holds 2" in err
    code, _, err = cli(ws, "keys", "add", str(alice.public), "--scope", "everything", capsys=capsys)
    assert code == 3 and "everything" in err
    code, _, err = cli(ws, "keys", "add", str(tmp_path / "nope.asc"), "--scope", "models", capsys=capsys)
    assert code == 3 and "cannot read" in err


def test_sign_command_writes_a_signature_the_doctor_accepts(ws: Path, keys, capsys) -> None:
    alice = keys["Alice"]
    pin(ws, alice, "models")
    code, out, err = cli(ws, "sign", "model:sales-model@1", "--gnupghome", str(alice.home), capsys=capsys)
    assert code == 0, err
    assert (ws / f"{MODEL}.asc").read_text().startswith("-----BEGIN PGP SIGNATURE-----")
    assert engine.doctor(ws, strict=True).exit_code == 0
    # Co-signing keeps the other valid signature; signing again replaces one's own.
    pin(ws, keys["Sub"], "models")
    code, out, err = cli(ws, "sign", MODEL, "--gnupghome", str(keys["Sub"].home), "--format", "json", capsys=capsys)
    assert code == 0, err
    assert json.loads(out)["kept"] == 1
    assert (ws / f"{MODEL}.asc").read_text().count("BEGIN PGP SIGNATURE") == 2
    code, out, err = cli(ws, "sign", MODEL, "--key", "alice@example.org", "--gnupghome", str(alice.home), "--format", "json", capsys=capsys)
    assert json.loads(out)["kept"] == 1 and json.loads(out)["dropped"] == [alice.fingerprint]
    assert engine.doctor(ws, strict=True).exit_code == 0


def test_sign_takes_a_path_from_where_the_user_stands(ws: Path, keys, capsys, monkeypatch) -> None:
    """`sign ./model.yaml` inside the model's folder, and `sign ../models/...` from runs/ (once, not
    with the current folder applied twice)."""
    from strataml.cli.main import run

    alice = keys["Alice"]
    pin(ws, alice, "models")
    monkeypatch.chdir(ws / MODEL.rsplit("/", 1)[0])
    assert run(["sign", "./model.yaml", "--gnupghome", str(alice.home)]) == 0, capsys.readouterr().err
    assert f"Signed {MODEL}" in capsys.readouterr().out
    monkeypatch.chdir(ws / "runs")
    assert run(["sign", f"../{MODEL}", "--gnupghome", str(alice.home)]) == 0, capsys.readouterr().err
    assert engine.doctor(ws, strict=True).exit_code == 0


@pytest.mark.parametrize(
    ("target", "said"),
    [
        ("runs/nope/run.yaml", "runs/nope/run.yaml: no such file"),
        ("ledger:../../outside", "ledger:../../outside: '../../outside' is not a valid model name"),
        ("ledger:nope", "ledger:nope: no ledger at models/nope/lifecycle.jsonl"),
    ],
)
def test_sign_says_what_is_wrong_with_a_target_that_is_not_there(ws: Path, capsys, target: str, said: str) -> None:
    """A missing file was "not the metadata of a dataset, run or model version", and a ledger
    named with a path "no ledger at models/../../outside/lifecycle.jsonl" (looked for there)."""
    from conftest import invoke

    code, _out, err = invoke(ws, "sign", target, capsys=capsys)
    assert code == 3 and said in err and "Traceback" not in err, err


def test_sign_refuses_what_the_doctor_would_reject(ws: Path, keys, capsys) -> None:
    pin(ws, keys["Alice"], "models")
    pin(ws, keys["Bob"], "datasets")
    code, _, err = cli(ws, "sign", "model:sales-model@1", "--gnupghome", str(keys["Mallory"].home), capsys=capsys)
    assert code == 2 and "is pinned in tfc/keys/keys.yaml" in err
    code, _, err = cli(ws, "sign", "model:sales-model@1", "--key", keys["Mallory"].fingerprint,
                       "--gnupghome", str(keys["Mallory"].home), capsys=capsys)
    assert code == 2 and "is not pinned" in err
    code, _, err = cli(ws, "sign", "model:sales-model@1", "--gnupghome", str(keys["Bob"].home), capsys=capsys)
    assert code == 2 and "TFC0007-E004" in err and not (ws / f"{MODEL}.asc").exists()
    (ws / "models/sales-model/1/model.bin").write_bytes(b"y" * 120)
    code, _, err = cli(ws, "sign", "model:sales-model@1", "--gnupghome", str(keys["Alice"].home), capsys=capsys)
    assert code == 2 and "doctor errors" in err and "TFC0006-E002" in err and not (ws / f"{MODEL}.asc").exists()
    code, _, err = cli(ws, "sign", "model:nope@1", capsys=capsys)
    assert code == 3 and "no model model:nope@1 in this workspace" in err
    code, _, err = cli(ws, "sign", "models/sales-model/1/model.bin", capsys=capsys)
    assert code == 3 and "not the metadata" in err


def test_sign_with_an_empty_keyring_says_it_holds_no_key(ws: Path, keys, tmp_path: Path, capsys) -> None:
    pin(ws, keys["Alice"], "models")
    empty = tmp_path / "empty-gnupg"
    empty.mkdir(mode=0o700)
    code, _, err = cli(ws, "sign", "model:sales-model@1", "--gnupghome", str(empty), capsys=capsys)
    # (Not "none of the secret keys is pinned": there are none to pin. Exit 3, as for --key of a key not there.)
    assert code == 3 and "holds no secret key" in err and "gpg --quick-generate-key" in err, err


def test_since_uses_the_keys_at_the_base_so_a_change_cannot_authorise_itself(ws: Path, keys) -> None:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ws, check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q", "-b", "main")
    (ws / ".gitignore").write_text(".strataml/\n")  # (as `strataml init` writes it: keys add takes a lock there)
    git("-c", "user.name=T", "-c", "user.email=t@example.org", "add", "-A")
    git("-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-qm", "base")
    base = git("rev-parse", "HEAD")
    pin(ws, keys["Mallory"], "models")  # the pull request pins its own key and signs with it
    sign(ws, keys["Mallory"])
    git("-c", "user.name=T", "-c", "user.email=t@example.org", "add", "-A")
    git("-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-qm", "self-approve")
    result = found(ws, since=base)
    assert ("TFC0007-E003", f"{MODEL}.asc") in result
    assert {c for c, _ in result} == {"TFC0007-E003", "TFC0007-W001"}
    assert found(ws) == []  # once merged (reviewed), the key is in force


def test_missing_gpg_is_a_clear_failure_not_a_pass(ws: Path, keys, monkeypatch, capsys) -> None:
    pin(ws, keys["Alice"], "models")
    sign(ws, keys["Alice"])
    monkeypatch.setenv("PATH", "/nonexistent")
    code = run(["-C", str(ws), "doctor"])
    err = capsys.readouterr().err
    assert code == 3 and "gpg is not installed" in err



def test_index_says_who_signed(ws: Path, keys) -> None:
    from strataml.read.build import build
    from strataml.workspace import load

    pin(ws, keys["Alice"], "models")
    sign(ws, keys["Alice"])
    sign(ws, keys["Mallory"], DATASET)
    nodes = {n["id"]: n for n in build(load(ws), engine.doctor(ws))["nodes"]}
    assert nodes["model:sales-model@1"]["signature"] == {
        "status": "signed", "signers": [{"fingerprint": keys["Alice"].fingerprint, "uid": "Alice <alice@example.org>", "scopes": ["models"], "scheme": "openpgp"}],
        "valid_signers": 1, "required_signers": 0}
    assert nodes["dataset:sales@1"]["signature"]["status"] == "invalid"
    assert nodes["dataset:flowers@1"]["signature"] == {"status": "unsigned", "signers": [], "valid_signers": 0, "required_signers": 0}
    assert "signature" not in nodes["experiment:sales-forecast"]


def test_promote_needs_the_signature_the_policy_requires(ws: Path, keys) -> None:
    from strataml.promote import Refused, promote

    pin(ws, keys["Alice"], "models", "production")
    pin(ws, keys["Bob"], "datasets")
    policy(ws, {"records": "models", "state": "production", "scope": "production"})
    promote_to(ws, "staging")
    with pytest.raises(Refused, match="not signed"):
        promote(ws, "model:sales-model@1", "production")
    sign(ws, keys["Bob"])
    with pytest.raises(Refused, match="TFC0007-E004"):
        promote(ws, "model:sales-model@1", "production")
    sign(ws, keys["Alice"])
    promote(ws, "model:sales-model@1", "production")
    assert found(ws) == []


def test_promote_sign_signs_the_new_ledger(ws: Path, keys, capsys) -> None:
    from strataml.promote import Refused, promote

    pin(ws, keys["Alice"], "ledger", "models")
    policy(ws, {"records": "ledger", "scope": "ledger"})
    with pytest.raises(Refused, match="pass --sign"):
        promote(ws, "model:sales-model@1", "candidate")
    code = run(["-C", str(ws), "promote", "model:sales-model@1", "--to", "candidate", "--sign", "--gnupghome", str(keys["Alice"].home)])
    assert code == 0, capsys.readouterr().err
    assert "ledger signed by" in capsys.readouterr().out
    assert found(ws) == []
    done = promote(ws, "model:sales-model@1", "staging", sign=True, gnupghome=str(keys["Alice"].home))
    assert done.signed_by and found(ws) == []
    policy(ws)  # no policy now, but the ledger is signed: an unsigned append would break that
    with pytest.raises(Refused, match="is signed"):
        promote(ws, "model:sales-model@1", "production")
    # A dry run refuses what the move refuses (found by a new user: it said "Would move", exit 0,
    # where the move was refused, exit 2); with --sign it signs as the move would, and writes nothing.
    with pytest.raises(Refused, match="is signed: an unsigned append would break its signature"):
        promote(ws, "model:sales-model@1", "production", dry_run=True)
    code = run(["-C", str(ws), "promote", "model:sales-model@1", "--to", "production", "--dry-run"])
    assert code == 2 and "dry run: the move would be refused: models/sales-model/lifecycle.jsonl is signed" in (
        capsys.readouterr().err)
    ledger = (ws / "models/sales-model/lifecycle.jsonl").read_bytes()
    preview = promote(ws, "model:sales-model@1", "production", dry_run=True, sign=True,
                      gnupghome=str(keys["Alice"].home))
    assert not preview.written and preview.signed_by == done.signed_by
    assert (ws / "models/sales-model/lifecycle.jsonl").read_bytes() == ledger


def test_since_keeps_the_base_policy_when_a_change_drops_it(ws: Path, keys) -> None:
    def git(*args: str) -> str:
        env = ["-c", "user.name=T", "-c", "user.email=t@example.org"]
        return subprocess.run(["git", *env, *args], cwd=ws, check=True, capture_output=True, text=True).stdout.strip()

    pin(ws, keys["Alice"], "models", "production")
    policy(ws, {"records": "models", "scope": "models"})
    sign(ws, keys["Alice"])
    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-qm", "base")
    base = git("rev-parse", "HEAD")
    policy(ws)  # the change drops the policy ...
    (ws / f"{MODEL}.asc").unlink()
    edit_yaml(ws / MODEL, lambda d: d.update(description="unsigned now"))  # ... and edits a model unsigned
    git("add", "-A")
    git("commit", "-qm", "drop policy")
    result = {c for c, _ in found(ws, since=base)}
    assert "TFC0007-E001" in result and "TFC0007-W001" in result


def test_keys_add_again_widens_freely_and_narrows_only_on_purpose(ws: Path, keys, capsys) -> None:
    alice, bob = keys["Alice"], keys["Bob"]
    cli(ws, "keys", "add", str(alice.public), "--scope", "models", capsys=capsys)
    cli(ws, "keys", "add", str(bob.public), "--scope", "datasets", capsys=capsys)
    sign(ws, alice)
    sign(ws, bob, DATASET)
    manifest = (ws / "tfc/keys/keys.yaml").read_bytes()

    def scopes() -> list[list[str]]:
        listed = json.loads(cli(ws, "keys", "list", "--format", "json", capsys=capsys)[1])
        return [k["scopes"] for k in sorted(listed, key=lambda k: k["uid"])]

    # Dropping models for ledger leaves the signed model with no signer holding a model scope: refused, named.
    code, _, err = cli(ws, "keys", "add", str(alice.public), "--scope", "ledger", capsys=capsys)
    assert code == 2 and (ws / "tfc/keys/keys.yaml").read_bytes() == manifest
    assert f"key {alice.fingerprint} (Alice <alice@example.org>) is pinned for models; the scopes given would drop models" in err
    assert f"1 signed file would stop counting: {MODEL}" in err and DATASET not in err
    assert "--scope models --scope ledger" in err and "--replace-scopes" in err
    code, _, err = cli(ws, "keys", "add", str(bob.public), "--scope", "ledger", capsys=capsys)
    assert code == 2 and "would drop datasets" in err and "1 signed file would stop counting: " + DATASET in err
    # Production may sign models too: narrowing to it costs no signature, but is still a decision.
    code, _, err = cli(ws, "keys", "add", str(alice.public), "--scope", "production", capsys=capsys)
    assert code == 2 and "No signature in the working tree would stop counting." in err
    assert (ws / "tfc/keys/keys.yaml").read_bytes() == manifest
    # Widening needs no flag.
    code, out, _ = cli(ws, "keys", "add", str(alice.public), "--scope", "models", "--scope", "production", capsys=capsys)
    assert code == 0 and scopes() == [["models", "production"], ["datasets"]]
    code, out, _ = cli(ws, "keys", "add", str(alice.public), "--scope", "ledger", "--replace-scopes", "--format", "json",
                       capsys=capsys)
    assert code == 0 and json.loads(out)["previous_scopes"] == ["models", "production"] and json.loads(out)["scopes"] == ["ledger"]
    assert scopes() == [["ledger"], ["datasets"]]
    assert found(ws) == [("TFC0007-E004", f"{MODEL}.asc")]


def test_a_ledger_signature_without_its_ledger_is_an_orphan(ws: Path, keys) -> None:
    pin(ws, keys["Alice"], "ledger")
    promote_to(ws, "candidate")
    sign(ws, keys["Alice"], "models/sales-model/lifecycle.jsonl")
    (ws / "models/sales-model/lifecycle.jsonl").unlink()
    assert found(ws) == [("TFC0007-E007", "models/sales-model/lifecycle.jsonl.asc")]


def test_keys_add_names_a_co_signature_that_would_stop_counting(ws: Path, keys, capsys) -> None:
    # Two signers needed, one signed so far: Alice's signature is half of what the model needs.
    alice = keys["Alice"]
    policy(ws, {"records": "models", "scope": "models", "min_signers": 2})
    cli(ws, "keys", "add", str(alice.public), "--scope", "models", capsys=capsys)
    sign(ws, alice)
    assert ("TFC0007-E011", f"{MODEL}.asc") in found(ws)
    code, _, err = cli(ws, "keys", "add", str(alice.public), "--scope", "ledger", capsys=capsys)
    assert code == 2 and f"1 signed file would stop counting: {MODEL}" in err


def test_keys_add_refuses_to_judge_a_narrowing_under_a_policy_it_cannot_read(ws: Path, keys, capsys) -> None:
    alice = keys["Alice"]
    cli(ws, "keys", "add", str(alice.public), "--scope", "models", capsys=capsys)
    manifest = (ws / "tfc/keys/keys.yaml").read_bytes()
    policy(ws, {"records": "models", "scope": "models", "min_signers": "two"})
    code, _, err = cli(ws, "keys", "add", str(alice.public), "--scope", "ledger", capsys=capsys)
    assert code == 2 and "strataml.yaml has errors, so its signing policy cannot be read" in err
    assert (ws / "tfc/keys/keys.yaml").read_bytes() == manifest


def test_promote_key_chooses_the_signer(ws: Path, keys, capsys) -> None:
    alice, bob = keys["Alice"], keys["Bob"]
    pin(ws, alice, "ledger")
    pin(ws, bob, "ledger")
    policy(ws, {"records": "ledger", "scope": "ledger"})
    base = ["-C", str(ws), "promote", "model:sales-model@1", "--to", "candidate", "--sign", "--gnupghome", str(alice.home)]
    # Bob's key is pinned but its secret is not in Alice's keyring: refused, nothing appended.
    assert run([*base, "--key", bob.fingerprint]) == 3  # the tool cannot act: the secret key is not there
    err = capsys.readouterr().err
    assert f"no secret key {bob.fingerprint} in the keyring in {alice.home}" in err and "Traceback" not in err
    assert not (ws / "models/sales-model/lifecycle.jsonl").exists()
    assert run([*base, "--key", alice.fingerprint, "--format", "json"]) == 0
    assert alice.fingerprint in capsys.readouterr().out
    assert found(ws) == []


def test_twin_pins_make_one_signer_holding_both_scopes() -> None:
    from strataml.trust import Signer, _add

    signers: list[Signer] = []
    _add(signers, Signer("A" * 40, "Alice", ("models",), material="A" * 40))
    _add(signers, Signer("D" * 40, "Dave", ("production",), material="A" * 40))  # the same key material
    _add(signers, Signer("B" * 40, "Bob", ("models",), material="B" * 40))
    assert [(s.fingerprint, s.scopes) for s in signers] == [("A" * 40, ("models", "production")), ("B" * 40, ("models",))]


def test_keys_add_and_sign_say_the_commit_that_finishes_them(ws: Path, keys, capsys) -> None:
    """Neither said what to commit (the README says every writing command does): the doctor then
    failed --strict on the untracked key and signature (TFC0006-W012)."""
    import re

    require(shutil.which("git") is not None, "needs git")
    env = {**os.environ, "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@b.c", "GIT_COMMITTER_NAME": "A",
           "GIT_COMMITTER_EMAIL": "a@b.c"}
    (ws / ".gitignore").write_text(".strataml/\n")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "workspace"]):
        subprocess.run(["git", *args], cwd=ws, check=True, env=env, capture_output=True)
    alice = keys["Alice"]
    for args in (["keys", "add", str(alice.public), "--scope", "models"],
                 ["sign", "model:sales-model@1", "--gnupghome", str(alice.home)]):
        code, out, err = cli(ws, *args, capsys=capsys)
        assert code == 0, err
        step = re.search(r"Next: `([^`]+)`", out)
        assert step is not None, out
        subprocess.run(["bash", "-c", step.group(1)], cwd=ws, check=True, env=env)
    assert subprocess.run(["git", "status", "--porcelain"], cwd=ws, capture_output=True, text=True).stdout == ""
    assert engine.doctor(ws, strict=True).exit_code == 0
    # The same pin again: nothing to commit, so no step that would fail with "nothing to commit".
    code, out, err = cli(ws, "keys", "add", str(alice.public), "--scope", "models", capsys=capsys)
    assert code == 0 and "Next:" not in out, out
    # Narrowing a key's scopes says which of its signatures stop counting.
    code, _out, err = cli(ws, "keys", "add", str(alice.public), "--scope", "ledger", "--replace-scopes", capsys=capsys)
    assert code == 0 and "its signatures on models no longer count" in err, err


def test_keys_remove_names_the_signatures_that_would_stop_counting_and_needs_force(ws: Path, keys, capsys) -> None:
    """Narrowing a key's scopes was refused with the signed files named; removing the key, which
    costs more (each of its signatures becomes an error), went through silently and said no next step."""
    alice, bob = keys["Alice"], keys["Bob"]
    cli(ws, "keys", "add", str(alice.public), "--scope", "models", capsys=capsys)
    cli(ws, "keys", "add", str(bob.public), "--scope", "datasets", capsys=capsys)
    sign(ws, alice)
    manifest = (ws / "tfc/keys/keys.yaml").read_bytes()
    code, _, err = cli(ws, "keys", "remove", alice.fingerprint, capsys=capsys)
    assert code == 2 and "1 file holds a signature by it" in err and f"TFC0007-E003): {MODEL}" in err, err
    assert "--force" in err and "was not unpinned" in err
    assert (ws / "tfc/keys/keys.yaml").read_bytes() == manifest and (ws / f"tfc/keys/{alice.fingerprint}.asc").exists()
    code, out, _ = cli(ws, "keys", "remove", bob.fingerprint, capsys=capsys)  # signs nothing: no flag needed
    assert code == 0 and "Unpinned" in out
    code, out, err = cli(ws, "keys", "remove", alice.fingerprint, "--force", capsys=capsys)
    assert code == 0 and "Unpinned" in out and not (ws / f"tfc/keys/{alice.fingerprint}.asc").exists()
    assert "Next: `" in out and "unpin key" in out
    assert [p for c, p in found(ws) if c.startswith("TFC0007")] == [f"{MODEL}.asc"]  # (made by a key not pinned)


def test_keys_remove_counts_every_signature_and_says_force_when_it_cannot_check(ws: Path, keys, capsys) -> None:
    """A co-signature, or a signature no policy asks for, becomes an error too once its key is
    unpinned; a policy that cannot be read, where something is signed, refuses with --force named;
    where nothing is signed, no policy is asked."""
    alice, bob = keys["Alice"], keys["Bob"]
    cli(ws, "keys", "add", str(alice.public), "--scope", "models", "--scope", "datasets", capsys=capsys)
    cli(ws, "keys", "add", str(bob.public), "--scope", "models", capsys=capsys)
    sign(ws, alice, DATASET)  # (no policy needs a dataset signed)
    alices = sign(ws, alice).read_bytes()
    sign(ws, bob).write_bytes(alices + (ws / f"{MODEL}.asc").read_bytes())  # a co-signature beside Alice's
    assert found(ws) == []
    code, _, err = cli(ws, "keys", "remove", alice.fingerprint, capsys=capsys)
    assert code == 2 and "2 files hold signatures by it" in err and DATASET in err and MODEL in err, err
    config = (ws / "strataml.yaml").read_text()
    (ws / "strataml.yaml").write_text("schema: [broken\n")
    code, _, err = cli(ws, "keys", "remove", bob.fingerprint, capsys=capsys)
    assert code in (2, 3) and "which files it signed could not be checked" in err and "--force" in err, err
    for asc in ws.rglob("*.yaml.asc"):
        asc.unlink()
    code, out, err = cli(ws, "keys", "remove", bob.fingerprint, capsys=capsys)  # nothing signed: nothing asked
    assert code == 0 and "Unpinned" in out, err
    (ws / "strataml.yaml").write_text(config)


def test_a_signers_name_beyond_ascii_is_read_as_gpg_writes_it(tmp_path: Path) -> None:
    """`sign` said "Signed ... (JosÃ© ...)": the signer's own keyring was read as Latin-1."""
    from strataml import signing

    require(gpgkeys.available(), "gpg is not installed")
    key = gpgkeys.make_key(tmp_path, "José")
    try:
        [mine] = signing.secret_keys(str(key.home))
        assert mine.fingerprint == key.fingerprint and mine.uid.startswith("José <"), mine.uid
    finally:
        gpgkeys.stop_agents([key.home])


def test_a_gpg_that_does_not_run_is_said_with_its_own_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A gpg on PATH that fails (a broken install: `libgcrypt is too old`) made every command of
    a signed workspace an internal error (python-gnupg's ValueError)."""
    from strataml import signing

    broken = tmp_path / "bin" / "gpg"
    broken.parent.mkdir()
    broken.write_text("#!/bin/sh\necho 'gpg: fatal: libgcrypt is too old' >&2\nexit 2\n")
    broken.chmod(0o755)
    monkeypatch.setenv("PATH", f"{broken.parent}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(signing.GpgMissing) as raised:
        signing.Keyring()
    assert f"gpg ({broken}) does not run" in raised.value.message and "libgcrypt is too old" in raised.value.message
    assert "gpg --version" in (raised.value.hint or "")


def test_without_gpg_a_reader_says_why_it_needs_it(
    ws: Path, keys: dict[str, gpgkeys.Key], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without gpg, `list runs` of a workspace with pinned keys said only "gpg is not installed":
    nothing said why listing runs needs it."""
    pin(ws, keys["Alice"], "models")
    empty = tmp_path / "nothing-here"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    code, _out, err = cli(ws, "list", "runs", capsys=capsys)
    assert code == 3 and "gpg is not installed" in err and "this workspace pins signing keys" in err, err


def test_keys_added_and_removed_at_once_are_all_applied(
    ws: Path, keys: dict[str, gpgkeys.Key], strataml_exe: list[str]
) -> None:
    """Found by an attacker: `keys add` and `keys remove` read the pins and wrote them back with
    no lock, so run at once one undid the other: three of four adds lost (their key files left
    unpinned), and a key removed with --force (a leaked one) pinned again."""
    names = ("Alice", "Bob", "Mallory", "Rev")
    pin(ws, keys["Sub"], "models")
    procs = [
        subprocess.Popen([*strataml_exe, "-C", str(ws), "keys", "add", str(keys[n].public), "--scope", "models"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for n in names
    ]
    procs.append(subprocess.Popen([*strataml_exe, "-C", str(ws), "keys", "remove", keys["Sub"].fingerprint, "--force"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()  # type: ignore[union-attr]
    pinned = {k["fingerprint"] for k in yaml.safe_load((ws / "tfc/keys/keys.yaml").read_text())["keys"]}
    assert pinned == {keys[n].fingerprint for n in names}
    assert sorted(p.name for p in (ws / "tfc/keys").glob("*.asc")) == sorted(f"{f}.asc" for f in pinned)


def test_keys_refusals_come_before_the_lock(ws: Path, keys: dict[str, gpgkeys.Key], monkeypatch, capsys) -> None:
    """Found by a review: with the lock taken first, a read-only checkout was told "cannot write
    .strataml/locks" where it had been told why (an unknown key, a key with signatures)."""
    from strataml import atomic

    pin(ws, keys["Alice"], "models")
    sign(ws, keys["Alice"])

    def read_only(root: Path, rel: str) -> None:
        raise atomic.Refused(f"cannot write {rel}: Read-only file system", "a read-only checkout")

    monkeypatch.setattr(atomic, "locked", read_only)
    code, _out, err = cli(ws, "keys", "remove", "0" * 40, capsys=capsys)
    assert code == 3 and "no pinned key matches" in err, err
    code, _out, err = cli(ws, "keys", "remove", keys["Alice"].fingerprint, capsys=capsys)
    assert code == 2 and "was not unpinned" in err, err
    code, _out, err = cli(ws, "keys", "add", str(keys["Old"].public), "--scope", "models", capsys=capsys)
    assert code == 2 and "expired" in err, err
