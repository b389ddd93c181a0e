"""OpenSSF model signing next to OpenPGP (TFC-0007): bundles made by `strataml sign --scheme
model-signing` verify with the model-signing package's own verifier and with the doctor; a
tampered file, manifest or key is caught; pins, scopes and min_signers count both schemes."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import gpgkeys
from conftest import copy_example, invoke, read_yaml, require, require_extra, without, write_yaml

MODEL = "models/iris-classifier/1"
REF = "model:iris-classifier@1"


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "T",
           "GIT_COMMITTER_EMAIL": "t@example.org"}
    return subprocess.run(["git", "-c", "core.fsmonitor=false", *args], cwd=cwd, check=True, capture_output=True,
                          text=True, env=env).stdout


def ec_key(where: Path, name: str, curve: str = "P-256") -> tuple[Path, Path]:
    """A throw-away elliptic-curve key pair as PEM files: (private, public)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    curves = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1()}
    key = ec.generate_private_key(curves[curve])
    private, public = where / f"{name}.pem", where / f"{name}.pub.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


@pytest.fixture
def lab(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[tuple[Path, dict[str, tuple[Path, Path]]]]:
    require_extra("model_signing", "modelsigning")
    ws = copy_example(tmp_path / "ws")
    (ws / ".gitignore").write_text(".strataml/\n")  # (as `strataml init` writes it: signing takes locks there)
    git(ws, "init", "-q")
    git(ws, "add", "-A")
    git(ws, "commit", "-qm", "example")
    keys = {name: ec_key(tmp_path, name) for name in ("alice", "bob", "mallory")}
    for name, scopes in (("alice", ["models", "production"]), ("bob", ["models"])):
        code, _o, err = invoke(ws, "keys", "add", str(keys[name][1]), *[a for s in scopes for a in ("--scope", s)],
                               capsys=capsys)
        assert code == 0, err
    yield ws, keys


def bundles(ws: Path) -> list[Path]:
    return sorted((ws / MODEL / "model-signing").glob("*.sig"))


def package_verify(ws: Path, public: Path, bundle: Path) -> None:
    """The model-signing package's own verifier: hashes the folder and compares with the bundle."""
    from model_signing import verifying

    verifying.Config().use_elliptic_key_verifier(public_key=public).verify(ws / MODEL, bundle)


def doctor(ws: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    git(ws, "add", "-A")
    code, out, _e = invoke(ws, "doctor", "--strict", "--no-cache", "--format", "json", capsys=capsys)
    return code, json.loads(out)


def codes(report: dict) -> set[str]:
    return {f["code"] for f in report["findings"]}


def test_a_bundle_strataml_signs_verifies_with_the_package_and_the_doctor(lab, capsys) -> None:
    ws, keys = lab
    code, out, err = invoke(ws, "sign", REF, "--scheme", "model-signing", "--key", str(keys["alice"][0]),
                            "--format", "json", capsys=capsys)
    assert code == 0, err
    said = json.loads(out)
    assert said["scheme"] == "model-signing" and said["valid_signers"] == 1
    [bundle] = bundles(ws)
    assert said["signature"] == f"{MODEL}/model-signing/{bundle.name}"
    package_verify(ws, keys["alice"][1], bundle)
    signed = json.loads(base64.b64decode(json.loads(bundle.read_text())["dsseEnvelope"]["payload"]))
    names = {r["name"] for r in signed["predicate"]["resources"]}
    record = read_yaml(ws / MODEL / "model.yaml")
    assert names == {"model.yaml", "gate.json", *(a["path"] for a in record["artifacts"])}

    code, report = doctor(ws, capsys)
    assert code == 0, report["findings"]
    code, out, _e = invoke(ws, "show", REF, "--format", "json", capsys=capsys)
    signature = json.loads(out)["signature"]
    assert signature["status"] == "signed" and signature["valid_signers"] == 1
    assert [s["scheme"] for s in signature["signers"]] == ["model-signing"]
    code, out, _e = invoke(ws, "show", REF, capsys=capsys)
    assert "(OpenSSF model signing)" in out

    # An OpenPGP co-signature added afterwards leaves the bundle valid, for both verifiers.
    if gpgkeys.available():
        base = ws.parent / "gpg"
        base.mkdir()
        carol = gpgkeys.make_key(base, "Carol")
        try:
            invoke(ws, "keys", "add", str(carol.public), "--scope", "models", capsys=capsys)
            code, _o, err = invoke(ws, "sign", REF, "--gnupghome", str(carol.home), capsys=capsys)
            assert code == 0, err
            package_verify(ws, keys["alice"][1], bundle)
            code, report = doctor(ws, capsys)
            assert code == 0, report["findings"]
            code, out, _e = invoke(ws, "show", REF, "--format", "json", capsys=capsys)
            schemes = sorted(s["scheme"] for s in json.loads(out)["signature"]["signers"])
            assert schemes == ["model-signing", "openpgp"]
        finally:
            gpgkeys.stop_agents([carol.home])


def test_tampering_with_a_file_the_manifest_or_the_key_is_caught(lab, capsys) -> None:
    from model_signing import verifying  # noqa: F401  (the package verifier below)

    ws, keys = lab
    assert invoke(ws, "sign", REF, "--scheme", "model-signing", "--key", str(keys["alice"][0]), capsys=capsys)[0] == 0
    [bundle] = bundles(ws)
    git(ws, "add", "-A")
    git(ws, "commit", "-qm", "signed")

    # A file: the content changes (the integrity rules catch it; so does the package).
    weights = ws / MODEL / "models" / "model.joblib"
    original = weights.read_bytes()
    weights.write_bytes(original + b"x")
    with pytest.raises(ValueError, match="Hash mismatch"):
        package_verify(ws, keys["alice"][1], bundle)
    code, report = doctor(ws, capsys)
    assert code == 2 and any(c.startswith("TFC0006") for c in codes(report))

    # ... and the record too, re-pinned to the new content: the bundle no longer signs it.
    record = read_yaml(ws / MODEL / "model.yaml")
    import hashlib

    for item in record["artifacts"]:
        if item["path"] == "models/model.joblib":
            item["sha256"], item["size"] = hashlib.sha256(original + b"x").hexdigest(), len(original) + 1
    write_yaml(ws / MODEL / "model.yaml", record)
    code, report = doctor(ws, capsys)
    bad = [f for f in report["findings"] if f["code"] == "TFC0007-E002"]
    assert bad and bad[0]["path"] == f"{MODEL}/model-signing/{bundle.name}"
    assert "changed since it was signed: model.yaml, models/model.joblib" in bad[0]["message"]
    git(ws, "reset", "-q", "--hard")

    # The manifest: a digest in the signed statement edited, the envelope kept.
    doc = json.loads(bundle.read_text())
    statement = json.loads(base64.b64decode(doc["dsseEnvelope"]["payload"]))
    statement["predicate"]["resources"][0]["digest"] = "0" * 64
    doc["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    bundle.write_text(json.dumps(doc))
    code, report = doctor(ws, capsys)
    assert code == 2 and "TFC0007-E002" in codes(report)
    bundle.write_text("{ not a bundle")
    code, report = doctor(ws, capsys)
    assert code == 2 and "TFC0007-E006" in codes(report)
    git(ws, "reset", "-q", "--hard")
    assert doctor(ws, capsys)[0] == 0

    # The key: the pinned key file swapped for Mallory's, or the bundle made by a key not pinned.
    from strataml import modelsigning

    alice = modelsigning.inspect_key(keys["alice"][1].read_bytes()).fingerprint
    pinned = ws / "tfc/keys" / f"{alice}.pem"
    keep = pinned.read_bytes()
    pinned.write_bytes(keys["mallory"][1].read_bytes())
    code, report = doctor(ws, capsys)
    assert code == 2 and {"TFC0007-E009", "TFC0007-E003"} <= codes(report)
    pinned.write_bytes(keep)
    code, _o, err = invoke(ws, "sign", REF, "--scheme", "model-signing", "--key", str(keys["mallory"][0]),
                           capsys=capsys)
    assert code == 2 and "is not pinned" in err and len(bundles(ws)) == 1

    ignored = ["model.yaml.asc"]
    forged = modelsigning.sign(ws / MODEL, keys["mallory"][0], None, ignored)
    (ws / MODEL / "model-signing" / "mallory.sig").write_bytes(forged)
    code, report = doctor(ws, capsys)
    assert code == 2 and [f["code"] for f in report["findings"]] == ["TFC0007-E003"]


def test_min_signers_counts_both_schemes_and_promote_reads_them(lab, capsys) -> None:
    require(gpgkeys.available(), "gpg is not installed")
    ws, keys = lab
    config = read_yaml(ws / "strataml.yaml")
    config["signing"] = {"require": [{"records": "models", "scope": "models", "min_signers": 2}]}
    write_yaml(ws / "strataml.yaml", config)
    assert invoke(ws, "sign", REF, "--scheme", "model-signing", "--key", str(keys["alice"][0]), capsys=capsys)[0] == 0
    code, report = doctor(ws, capsys)
    short = [f for f in report["findings"] if f["code"] == "TFC0007-E011"]
    assert short and short[0]["path"].startswith(f"{MODEL}/model-signing/")
    # Bob's model-signing key and Alice's twice count two and one signers.
    code, out, _e = invoke(ws, "sign", REF, "--scheme", "model-signing", "--key", str(keys["alice"][0]),
                           "--format", "json", capsys=capsys)
    assert json.loads(out)["valid_signers"] == 1 and len(bundles(ws)) == 1
    base = ws.parent / "gpg"
    base.mkdir()
    carol = gpgkeys.make_key(base, "Carol")
    homes = [carol.home]
    try:
        assert invoke(ws, "keys", "add", str(carol.public), "--scope", "models", capsys=capsys)[0] == 0
        code, out, err = invoke(ws, "sign", REF, "--gnupghome", str(carol.home), "--format", "json", capsys=capsys)
        assert code == 0, err
        assert json.loads(out)["valid_signers"] == 2 and json.loads(out)["missing"] == []
        # Alice's bundle signed again keeps the others, counted by signer: two in one .asc.
        dave = gpgkeys.make_key(base, "Dave")
        homes.append(dave.home)
        assert invoke(ws, "keys", "add", str(dave.public), "--scope", "models", capsys=capsys)[0] == 0
        assert invoke(ws, "sign", REF, "--gnupghome", str(dave.home), capsys=capsys)[0] == 0
        code, out, err = invoke(ws, "sign", REF, "--scheme", "model-signing", "--key", str(keys["alice"][0]),
                                "--format", "json", capsys=capsys)
        assert code == 0 and json.loads(out)["kept"] == 2 and json.loads(out)["valid_signers"] == 3, out + err
    finally:
        gpgkeys.stop_agents(homes)
    code, report = doctor(ws, capsys)
    assert not [f for f in report["findings"] if f["path"].startswith(MODEL)], report["findings"]

    # A staging requirement only Alice's model-signing key meets: promote reads the bundle.
    other = "model:breast-cancer-classifier@1"  # a candidate
    config["signing"] = {"require": [{"records": "models", "state": "staging", "scope": "production"}]}
    write_yaml(ws / "strataml.yaml", config)
    git(ws, "add", "-A")
    git(ws, "commit", "-qm", "signed by both schemes")
    code, _o, err = invoke(ws, "promote", other, "--to", "staging", "--reason", "ok", capsys=capsys)
    assert code == 2 and "is not signed" in err
    assert invoke(ws, "sign", other, "--scheme", "model-signing", "--key", str(keys["bob"][0]), capsys=capsys)[0] == 0
    code, _o, err = invoke(ws, "promote", other, "--to", "staging", "--reason", "bob", capsys=capsys)
    assert code == 2 and "TFC0007-E004" in err  # Bob's key holds models, not production
    assert invoke(ws, "sign", other, "--scheme", "model-signing", "--key", str(keys["alice"][0]), capsys=capsys)[0] == 0
    code, out, err = invoke(ws, "promote", other, "--to", "staging", "--reason", "signed", capsys=capsys)
    assert code == 0, err


def test_one_ec_key_pinned_in_both_schemes_is_one_signer(lab, capsys) -> None:
    """One P-256 key as an OpenPGP key and as a PEM model-signing key: `keys add` took both pins
    (keygrips were compared between OpenPGP keys only) and its two signatures met
    `min_signers: 2`, one person counted as two approvers. The PEM key has the keygrip gpg gives
    the same point: the second pin is refused, and pinned by hand (a pull request can write
    keys.yaml) the two count once."""
    require(gpgkeys.available(), "gpg is not installed")
    from strataml import modelsigning

    ws, _keys = lab
    base = ws.parent / "gpg"
    base.mkdir()
    eve, private, public = gpgkeys.ec_twin(base, "Eve")
    try:
        assert invoke(ws, "keys", "add", str(eve.public), "--scope", "models", capsys=capsys)[0] == 0
        code, _o, err = invoke(ws, "keys", "add", str(public), "--scope", "models", capsys=capsys)
        assert code == 2 and f"holds the same key material as the pinned key {eve.fingerprint}" in err, err
        # The other way round is refused too.
        manifest = read_yaml(ws / "tfc/keys/keys.yaml")
        pinned_pgp = manifest["keys"]
        manifest["keys"] = [k for k in pinned_pgp if k["fingerprint"] != eve.fingerprint]
        write_yaml(ws / "tfc/keys/keys.yaml", manifest)
        assert invoke(ws, "keys", "add", str(public), "--scope", "models", capsys=capsys)[0] == 0
        code, _o, err = invoke(ws, "keys", "add", str(eve.public), "--scope", "models", capsys=capsys)
        assert code == 2 and "holds the same key material as the pinned key" in err, err
        # Both pinned by hand: one signer, whichever scheme signed.
        manifest = read_yaml(ws / "tfc/keys/keys.yaml")
        manifest["keys"] += [k for k in pinned_pgp if k["fingerprint"] == eve.fingerprint]
        write_yaml(ws / "tfc/keys/keys.yaml", manifest)
        config = read_yaml(ws / "strataml.yaml")
        config["signing"] = {"require": [{"records": "models", "scope": "models", "min_signers": 2}]}
        write_yaml(ws / "strataml.yaml", config)
        code, _o, err = invoke(ws, "sign", REF, "--gnupghome", str(eve.home), capsys=capsys)
        assert code == 0, err
        code, out, err = invoke(ws, "sign", REF, "--scheme", "model-signing", "--key", str(private),
                                "--format", "json", capsys=capsys)
        assert json.loads(out)["valid_signers"] == 1, out + err
        code, report = doctor(ws, capsys)
        assert code == 2 and "TFC0007-E011" in codes(report), report["findings"]
        assert modelsigning.inspect_key(public.read_bytes()).grip == next(
            line.split(":")[9]
            for line in gpgkeys.gpg(eve.home, "--with-colons", "--with-keygrip", "-k").stdout.decode().splitlines()
            if line.startswith("grp:")
        )
    finally:
        gpgkeys.stop_agents([eve.home])


def test_sign_refuses_what_the_doctor_would_reject(lab, capsys, tmp_path: Path) -> None:
    ws, keys = lab
    code, _o, err = invoke(ws, "sign", "dataset:iris@1", "--scheme", "model-signing", "--key",
                           str(keys["alice"][0]), capsys=capsys)
    assert code == 3 and "model signing signs model versions" in err
    code, _o, err = invoke(ws, "sign", REF, "--scheme", "model-signing", capsys=capsys)
    assert code == 3 and "--key FILE" in err
    config = read_yaml(ws / "strataml.yaml")
    config["signing"] = {"require": [{"records": "models", "scope": "production"}]}
    write_yaml(ws / "strataml.yaml", config)
    code, _o, err = invoke(ws, "sign", REF, "--scheme", "model-signing", "--key", str(keys["bob"][0]), capsys=capsys)
    assert code == 2 and "TFC0007-E004" in err and not bundles(ws)
    code, _o, err = invoke(ws, "sign", REF, "--scheme", "model-signing", "--key", str(keys["alice"][1]), capsys=capsys)
    assert code == 3 and "not a PEM private key" in err
    code, _o, err = invoke(ws, "keys", "add", str(keys["mallory"][0]), "--scope", "models", capsys=capsys)
    assert code == 2 and "PRIVATE key" in err
    assert len(list((ws / "tfc/keys").glob("*.pem"))) == 2  # Alice's and Bob's; Mallory's private key was not pinned
    code, out, _e = invoke(ws, "keys", "list", "--format", "json", capsys=capsys)
    assert {k["scheme"] for k in json.loads(out)} == {"model-signing"}
    manifest = read_yaml(ws / "tfc/keys/keys.yaml")
    assert {k["scheme"] for k in manifest["keys"]} == {"model-signing"}
    assert all(k["file"].endswith(".pem") for k in manifest["keys"])


def test_narrowing_a_model_signing_key_names_the_bundles_that_stop_counting(lab, capsys) -> None:
    ws, keys = lab
    assert invoke(ws, "sign", REF, "--scheme", "model-signing", "--key", str(keys["alice"][0]), capsys=capsys)[0] == 0
    code, _o, err = invoke(ws, "keys", "add", str(keys["alice"][1]), "--scope", "ledger", capsys=capsys)
    assert code == 2 and f"1 signed file would stop counting: {MODEL}/model.yaml" in err, err


@pytest.mark.parametrize("where", ["example", "golden"])
def test_every_model_version_signed_verifies_with_the_package(
    where: str, ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What StrataML signs, for every model version of the example workspace and of the tests'
    golden one, is what the package's own verifier accepts (the files are hashed again there)."""
    require_extra("model_signing", "modelsigning")
    root = copy_example(tmp_path / "example") if where == "example" else ws
    git(root, "init", "-q")
    private, public = ec_key(tmp_path, "signer", curve="P-384")
    assert invoke(root, "keys", "add", str(public), "--scope", "models", "--scope", "production", capsys=capsys)[0] == 0
    folders = sorted(p.parent for p in root.glob("models/*/*/model.yaml"))
    assert folders
    for folder in folders:
        ref = f"model:{folder.parent.name}@{folder.name}"
        code, _o, err = invoke(root, "sign", ref, "--scheme", "model-signing", "--key", str(private), capsys=capsys)
        assert code == 0, err
        [bundle] = sorted((folder / "model-signing").glob("*.sig"))
        package_verify_folder(folder, public, bundle)
    git(root, "add", "-A")
    code, out, _e = invoke(root, "doctor", "--strict", "--no-cache", "--format", "json", capsys=capsys)
    assert not [f for f in json.loads(out)["findings"] if f["code"].startswith("TFC0007")]


def package_verify_folder(folder: Path, public: Path, bundle: Path) -> None:
    from model_signing import verifying

    verifying.Config().use_elliptic_key_verifier(public_key=public).verify(folder, bundle)


def test_an_encrypted_key_signs_with_its_password_and_a_pinned_pem_is_stored_bare(
    lab, capsys, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import serialization

    ws, keys = lab
    key = serialization.load_pem_private_key(keys["alice"][0].read_bytes(), None)
    locked = tmp_path / "alice-locked.pem"
    locked.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.BestAvailableEncryption(b"hunter2")))
    code, _o, err = invoke(ws, "sign", REF, "--scheme", "model-signing", "--key", str(locked), capsys=capsys)
    assert code == 3 and "is encrypted" in err and "STRATAML_SIGNING_KEY_PASSWORD" in err
    monkeypatch.setenv("STRATAML_SIGNING_KEY_PASSWORD", "hunter2")
    code, _o, err = invoke(ws, "sign", REF, "--scheme", "model-signing", "--key", str(locked), capsys=capsys)
    assert code == 0, err
    package_verify(ws, keys["alice"][1], bundles(ws)[0])
    code, _o, err = invoke(ws, "sign", REF, "--scheme", "model-signing", "--key", str(keys["bob"][0]), capsys=capsys)
    assert code == 3 and "is not encrypted, but STRATAML_SIGNING_KEY_PASSWORD is set" in err
    # Text around a pinned key (a terminal escape, a comment) is not kept: the key alone is stored.
    padded = tmp_path / "padded.pem"
    padded.write_bytes(b"\x1b[2Jhello\n" + keys["mallory"][1].read_bytes() + b"trailer\n")
    assert invoke(ws, "keys", "add", str(padded), "--scope", "models", capsys=capsys)[0] == 0
    stored = sorted((ws / "tfc/keys").glob("*.pem"))
    assert any(p.read_bytes() == keys["mallory"][1].read_bytes() for p in stored)
    assert all(p.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----") for p in stored)


def test_without_the_library_bundles_are_unchecked_and_openpgp_goes_on(lab, capsys, tmp_path: Path) -> None:
    """A machine without the modelsigning extra: a pinned model-signing key is no broken key
    (no TFC0007-E009, nothing refused), its bundles are reported as not checkable (E002)."""
    ws, keys = lab

    def blocked(*args: str) -> subprocess.CompletedProcess[str]:
        return without(("cryptography", "model_signing"), "-C", str(ws), *args)

    git(ws, "add", "-A")
    done = blocked("doctor", "--strict", "--format", "json")
    assert done.returncode == 0 and json.loads(done.stdout)["findings"] == [], done.stdout + done.stderr
    listed = blocked("keys", "list", "--format", "json")
    assert all("model-signing package" in k["status"] for k in json.loads(listed.stdout)), listed.stdout
    assert invoke(ws, "sign", REF, "--scheme", "model-signing", "--key", str(keys["alice"][0]), capsys=capsys)[0] == 0
    git(ws, "add", "-A")
    done = blocked("doctor", "--strict", "--format", "json")
    found = json.loads(done.stdout)["findings"]
    assert [f["code"] for f in found] == ["TFC0007-E002"] and "modelsigning" in found[0]["message"], found
    assert "Traceback" not in done.stderr


def test_an_artifact_named_like_the_metadata_cannot_stand_in_for_it(lab, capsys) -> None:
    ws, keys = lab
    assert invoke(ws, "sign", REF, "--scheme", "model-signing", "--key", str(keys["alice"][0]), capsys=capsys)[0] == 0
    import hashlib

    meta = ws / MODEL / "model.yaml"
    signed = hashlib.sha256(meta.read_bytes()).hexdigest()
    record = read_yaml(meta)
    record["evaluation"]["metrics"]["test_accuracy"] = 0.99
    record["artifacts"].append({"path": "model.yaml", "sha256": signed, "size": 1})
    write_yaml(meta, record)
    code, report = doctor(ws, capsys)
    assert code == 2 and "TFC0007-E002" in codes(report)
    code, out, _e = invoke(ws, "show", REF, "--format", "json", capsys=capsys)
    assert json.loads(out)["signature"]["status"] == "invalid"


def test_a_broken_openpgp_file_beside_a_valid_bundle_leaves_the_model_invalid(lab, capsys) -> None:
    ws, keys = lab
    assert invoke(ws, "sign", REF, "--scheme", "model-signing", "--key", str(keys["alice"][0]), capsys=capsys)[0] == 0
    (ws / MODEL / "model.yaml.asc").symlink_to(ws / "strataml.yaml")
    code, report = doctor(ws, capsys)
    assert code == 2 and "TFC0007-E006" in codes(report)
    code, out, _e = invoke(ws, "show", REF, "--format", "json", capsys=capsys)
    assert json.loads(out)["signature"]["status"] == "invalid"


def test_a_key_of_another_algorithm_is_refused_with_a_message(lab, capsys, tmp_path: Path) -> None:
    import shutil

    ws, _keys = lab
    require(shutil.which("openssl") is not None, "openssl is not installed")
    sm2 = tmp_path / "sm2.pem"
    made = subprocess.run(["openssl", "genpkey", "-algorithm", "SM2", "-out", str(sm2)], capture_output=True)
    if made.returncode != 0:
        pytest.skip("this openssl makes no SM2 keys")
    code, _o, err = invoke(ws, "sign", REF, "--scheme", "model-signing", "--key", str(sm2), capsys=capsys)
    assert code == 3 and "internal error" not in err and ("algorithm" in err or "elliptic-curve" in err), err


def test_a_key_that_is_not_a_regular_file_is_refused_unread(lab, capsys, tmp_path: Path) -> None:
    """/dev/zero would be read until memory ran out, a FIFO would block: neither is opened for long."""
    ws, _keys = lab
    fifo = tmp_path / "key.fifo"
    os.mkfifo(fifo)
    for key in ("/dev/zero", str(fifo)):
        code, _o, err = invoke(ws, "sign", REF, "--scheme", "model-signing", "--key", key, capsys=capsys)
        assert code == 3 and f"the private key {key} is not a regular file" in err, err
        assert "Traceback" not in err and not bundles(ws)


def test_diff_reports_a_bundle_as_a_signature_of_the_model_version(lab, capsys) -> None:
    """Found by a new user: the pull request's report listed `.asc` files only, so a model-signing
    bundle (the scheme's own signature) was shown as a changed model, and no signer."""
    ws, keys = lab

    def signed_by(signer: str) -> dict:
        """The diff's one signature entry after committing what is there, then `signer` signing."""
        git(ws, "add", "-A")
        git(ws, "commit", "-qm", f"before {signer}")
        base = git(ws, "rev-parse", "HEAD").strip()
        code, _o, err = invoke(ws, "sign", REF, "--scheme", "model-signing", "--key", str(keys[signer][0]), capsys=capsys)
        assert code == 0, err
        code, out, err = invoke(ws, "diff", base, "--format", "json", capsys=capsys)
        assert code == 0, err
        [signature] = json.loads(out)["signatures"]
        return signature

    signature = signed_by("alice")
    assert (signature["path"], signature["change"], signature["status"]) == (f"{MODEL}/model.yaml", "added", "signed")
    assert [s["scheme"] for s in signature["signers"]] == ["model-signing"]
    signature = signed_by("bob")  # (a second signer's bundle: one entry, the file it signs)
    assert signature["change"] == "changed" and len(signature["signers"]) == 2
    git(ws, "add", "-A")
    git(ws, "commit", "-qm", "both")
    for bundle in bundles(ws):
        bundle.unlink()
    _code, out, _e = invoke(ws, "diff", "HEAD", "--format", "text", capsys=capsys)
    assert f"Signature  removed {MODEL}/model.yaml: unsigned" in out


def test_a_bundle_holds_the_bundle_and_nothing_else_once_per_key(lab, capsys) -> None:
    """Found by an attacker: history lets signature files change, and the doctor accepted a valid
    bundle padded with a megabyte of whitespace, with a key id or a second signature entry
    (which the signature does not cover), and copies of it under any name, or under a name chosen
    freely: bytes nobody signed, riding into a committed record's folder. Each is TFC0007-E006;
    signing again cleans it."""
    ws, keys = lab
    assert invoke(ws, "sign", REF, "--scheme", "model-signing", "--key", str(keys["alice"][0]), capsys=capsys)[0] == 0
    [bundle] = bundles(ws)
    written = bundle.read_bytes()
    doc = json.loads(written)
    entry = doc["dsseEnvelope"]["signatures"][0]
    hint = doc["verificationMaterial"]["publicKey"]["hint"]

    def edited(change) -> bytes:
        copy = json.loads(written)
        change(copy)
        return json.dumps(copy, separators=(",", ":")).encode()

    cases = {
        written + b"\n" + b" " * 4096: "whitespace, escapes or a field twice",
        json.dumps(doc, indent=1).encode(): "whitespace, escapes or a field twice",
        written.replace(b'"keyid":""', b'"keyid":"\\u0041"'): "whitespace, escapes or a field twice",
        edited(lambda d: d["dsseEnvelope"]["signatures"][0].update(keyid="hidden words")): "a key id beside the signature",
        edited(lambda d: d["dsseEnvelope"]["signatures"].append(dict(entry))): "2 signature entries",
        edited(lambda d: d["verificationMaterial"]["publicKey"].update(rawBytes="AAAA")): "by its hint",
        edited(lambda d: d["dsseEnvelope"]["signatures"][0].update(sig=entry["sig"][:8] + "\n" + entry["sig"][8:])): "base64",
    }
    for content, said in cases.items():
        bundle.write_bytes(content)
        code, report = doctor(ws, capsys)
        found = [(f["code"], f["path"], f["message"]) for f in report["findings"]]
        assert code == 2 and len(found) == 1 and found[0][:2] == ("TFC0007-E006", f"{MODEL}/model-signing/{bundle.name}"), found
        assert "holds more than its bundle" in found[0][2] and said in found[0][2], found

    bundle.write_bytes(written)
    assert doctor(ws, capsys)[0] == 0
    # A copy, or the bundle renamed: 127 characters of a name chosen freely. A bundle is named
    # for its key, so a key signs one bundle of a model version.
    for name in ("zz-copy.sig", "Attacker-chosen_text.1234567890.sig"):
        copy = bundle.parent / name
        copy.write_bytes(written)
        code, report = doctor(ws, capsys)
        found = [(f["code"], f["path"], f["message"], f["hint"]) for f in report["findings"]]
        assert code == 2 and [f[:2] for f in found] == [("TFC0007-E006", f"{MODEL}/model-signing/{name}")], found
        assert found[0][2].endswith(f"whose bundle is named {MODEL}/model-signing/{bundle.name}"), found
        assert found[0][3].startswith(f"`git mv {MODEL}/model-signing/{name} {MODEL}/model-signing/{bundle.name}`")
        copy.unlink()
    bundle.rename(bundle.parent / "model.sig")  # (the package's own CLI's default name)
    assert doctor(ws, capsys)[0] == 2
    (bundle.parent / "model.sig").rename(bundle)
    bundle.write_bytes(written + b" ")
    assert invoke(ws, "sign", REF, "--scheme", "model-signing", "--key", str(keys["alice"][0]), capsys=capsys)[0] == 0
    assert doctor(ws, capsys)[0] == 0
