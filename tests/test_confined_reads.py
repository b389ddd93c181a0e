"""One confined, bounded reader; one relative-path check (issue 11, items 2 and 3, found by attack).

A repository decides what its files are: a recorded path may climb out with '..', a ledger or
strataml.yaml may be a symlink to /dev/zero or to a file outside the repository. Every command
reads and writes repository files through strataml.atomic (no symlink, regular files only, at
most a bound of bytes) and judges paths with strataml.paths.unsafe: a finding or a one-line
refusal, never a traceback, never a byte from outside, never a folder created outside.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, edit_yaml, invoke

from strataml import atomic, lifecycle
from strataml.doctor import engine
from strataml.errors import StrataError

RUN = "run:20260101T000000Z-sales-forecast-a1b2c3"
RUN_YAML = f"runs/{RUN[4:]}/run.yaml"
LEDGER = "models/sales-model/lifecycle.jsonl"
MODEL = "model:sales-model@1"


def one_line_error(code: int, err: str, expected: int = 3) -> str:
    """An error line (3: the tool could not act; 2: a rule refused, or the record has errors)."""
    lines = [ln for ln in err.splitlines() if ln.startswith("strataml: error:")]
    assert code == expected, err
    assert len(lines) == 1 and "Traceback" not in err and "internal error" not in err, err
    return lines[0]


def capped(args: list[str], cwd: Path, gnupghome: Path) -> subprocess.CompletedProcess[str]:
    """The real CLI under a 1 GiB address-space cap: a reader that follows /dev/zero fails fast
    (MemoryError) instead of eating the machine."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    return subprocess.run(
        [sys.executable, "-m", "strataml", "-C", str(cwd), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit,
        env={**os.environ, "PYTHONPATH": str(ROOT), "GNUPGHOME": str(gnupghome)},
    )


# --- one relative-path check -------------------------------------------------------------------


@pytest.mark.parametrize("rel", ["../x", "a/../../x", "/etc/x", "a//b", "./a", "a/\x00b", ""])
def test_the_confined_writer_refuses_a_path_that_is_not_inside_with_a_clear_error(tmp_path: Path, rel: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(atomic.UnsafePath) as caught:
        atomic.write_bytes(root, rel, b"x")
    assert isinstance(caught.value, StrataError) and "\n" not in caught.value.message
    assert os.listdir(tmp_path) == ["root"] and os.listdir(root) == []


def test_the_doctor_and_the_writer_judge_paths_by_the_same_check() -> None:
    from strataml import paths
    from strataml.doctor.rules import integrity

    assert integrity.unsafe is paths.unsafe


def test_model_register_refuses_a_run_whose_artifact_climbs_out(ws: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "outside"
    depth = len(ws.parts) + 4
    climb = "models/" + "../" * depth + str(outside / "x" / "model.bin").lstrip("/")

    def change(data: dict) -> None:
        entry = next(a for a in data["artifacts"] if a["path"] == "models/model.bin")
        entry["path"] = climb

    edit_yaml(ws / RUN_YAML, change)
    code, _out, err = invoke(ws, "model", "register", RUN, "--name", "other", capsys=capsys)
    line = one_line_error(code, err, expected=2)
    assert "TFC0006-E004" in line and "doctor" in line, line
    assert not outside.exists()
    assert not (ws / "models/other").exists()


def copy(src, root: Path, rel: str) -> tuple[str, int]:
    from strataml.hashing import sha256_stream

    with atomic.create(root, rel) as out:
        return sha256_stream(src, out.write)


def test_a_file_is_copied_in_only_through_real_folders(tmp_path: Path) -> None:
    """The copy register makes: folders opened one by one, the file created O_EXCL|O_NOFOLLOW."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "src").mkdir(parents=True)
    outside.mkdir()
    (root / "src/a.bin").write_bytes(b"abc" * 1000)
    (root / "dest").mkdir()
    (root / "dest/models").symlink_to(outside)
    with atomic.open_file(root, "src/a.bin") as src, pytest.raises(atomic.UnsafePath, match="symlink"):
        copy(src, root, "dest/models/a.bin")
    assert os.listdir(outside) == []
    with atomic.open_file(root, "src/a.bin") as src:
        sha, size = copy(src, root, "dest/new/deeper/a.bin")
    assert (size, (root / "dest/new/deeper/a.bin").read_bytes()) == (3000, b"abc" * 1000)
    import hashlib

    assert sha == hashlib.sha256(b"abc" * 1000).hexdigest()
    (root / "dest/exists.bin").write_bytes(b"old")
    with atomic.open_file(root, "src/a.bin") as src, pytest.raises(FileExistsError):
        copy(src, root, "dest/exists.bin")
    assert (root / "dest/exists.bin").read_bytes() == b"old"


# --- one confined, bounded reader --------------------------------------------------------------


def test_the_reader_refuses_links_special_files_and_too_much(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "small").write_bytes(b"12345")
    (root / "zero").symlink_to("/dev/zero")
    (tmp_path / "secret").write_bytes(b"TOPSECRET")
    (root / "link").symlink_to(tmp_path / "secret")
    os.mkfifo(root / "fifo")
    assert atomic.read_bytes(root, "small", limit=5) == b"12345"
    assert atomic.read_bytes(root, "absent", limit=5) is None
    with pytest.raises(atomic.TooLarge, match="too large"):
        atomic.read_bytes(root, "small", limit=4)
    for name, what in (("zero", "a symlink"), ("link", "a symlink"), ("fifo", "not a regular file")):
        with pytest.raises(atomic.UnsafePath) as caught:
            atomic.read_bytes(root, name, limit=5)
        assert caught.value.what == what


def test_a_bounded_read_takes_what_is_there_and_never_more_than_the_bound(tmp_path: Path) -> None:
    """read_upto reads what fstat says plus what arrives after it (a pipe's fstat says 0 bytes:
    every byte of it came later), and gives up past the bound instead of holding more."""
    for size, limit in ((0, 5), (5, 5), (6, 5), (70_000, 70_000), (70_001, 70_000)):
        path = tmp_path / f"f{size}"
        path.write_bytes(os.urandom(size))
        fd = os.open(path, os.O_RDONLY)
        try:
            got = atomic.read_upto(fd, limit)
        finally:
            os.close(fd)
        assert got == (path.read_bytes() if size <= limit else None), (size, limit)
    for size, limit in ((0, 5), (200_000, 200_000), (200_001, 200_000)):
        read_end, write_end = os.pipe()
        writer = subprocess.Popen([sys.executable, "-c", f"import os; os.write(1, bytes({size}))"], stdout=write_end)
        os.close(write_end)
        try:
            got = atomic.read_upto(read_end, limit)
        finally:
            os.close(read_end)
            writer.wait()
        assert got == (bytes(size) if size <= limit else None), (size, limit)


def test_a_ledger_that_is_a_symlink_outside_is_never_read(ws: Path, tmp_path: Path) -> None:
    from models_helpers import entries_for

    real = tmp_path / "outside.jsonl"
    real.write_bytes(b"".join(lifecycle.canonical(e) + b"\n" for e in entries_for(ws, [(MODEL, "candidate")])))
    (ws / LEDGER).symlink_to(real)
    ledger = lifecycle.read(ws, "sales-model")
    assert ledger.entries == [] and ledger.states == {}
    assert ledger.problems and "symlink" in ledger.problems[0].message


POLICY = {"require": [{"records": "models", "scope": "production", "state": "production"}]}


@pytest.mark.parametrize("command", [["doctor"], ["index"], ["sign", MODEL], ["list", "models"]])
def test_a_ledger_linked_to_dev_zero_is_a_finding_not_a_memory_error(ws: Path, tmp_path: Path,
                                                                     command: list[str]) -> None:
    edit_yaml(ws / "strataml.yaml", lambda d: d.update(signing=POLICY))
    (ws / LEDGER).symlink_to("/dev/zero")
    (tmp_path / "gnupg").mkdir(mode=0o700)
    done = capped(command, ws, tmp_path / "gnupg")
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr, done.stderr[-2000:]
    assert "internal error" not in done.stderr, done.stderr
    if command == ["doctor"]:
        assert done.returncode == 2, done.stdout + done.stderr
        assert "TFC0001-E002" in done.stdout and LEDGER in done.stdout, done.stdout
    elif command[0] == "sign":  # the ledger is read for the model's state; then the keyring holds no key
        assert done.returncode == 3 and "holds no secret key" in done.stderr, done.stderr


def test_an_oversized_ledger_is_a_finding_and_is_not_read(ws: Path) -> None:
    with open(ws / LEDGER, "wb") as fh:
        fh.truncate(lifecycle.MAX_LEDGER_BYTES + 1)  # sparse: costs no disk
    findings = [(f.code, f.path, f.message) for f in engine.doctor(ws).findings if f.path == LEDGER]
    assert len(findings) == 1, findings
    code, _path, message = findings[0]
    assert code == lifecycle.SCHEMA and "too large" in message, findings
    assert lifecycle.read(ws, "sales-model").problems[0].code == lifecycle.SCHEMA


def test_the_ledger_rule_reads_through_the_confined_reader(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The walk saw a regular file; what is there when the rule reads it is checked again."""
    from models_helpers import write_ledger

    write_ledger(ws, [(MODEL, "candidate")])
    calls: list[str] = []
    real = atomic.read_bytes

    def spy(root: Path, rel: str, *, limit: int = atomic.MAX_READ) -> bytes | None:
        calls.append(str(rel))
        return real(root, rel, limit=limit)

    monkeypatch.setattr(atomic, "read_bytes", spy)
    assert [f.code for f in engine.doctor(ws).findings] == []
    assert LEDGER in calls and "models/sales-model/1/gate.json" in calls


# --- strataml.yaml ------------------------------------------------------------------------------


SECRET = "schema: TOPSECRET1\nname: TOPSECRET2\nsigning: {require: []}\n"


@pytest.mark.parametrize("command", [["doctor"], ["doctor", "--format", "json"], ["index"], ["list", "models"]])
def test_a_symlinked_config_is_an_error_and_is_never_read(ws: Path, tmp_path: Path, command: list[str],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "outside.yaml").write_text(SECRET)
    (ws / "strataml.yaml").unlink()
    (ws / "strataml.yaml").symlink_to(tmp_path / "outside.yaml")
    code, out, err = invoke(ws, *command, capsys=capsys)
    assert "TOPSECRET" not in out + err
    assert "Traceback" not in err
    if command[0] == "doctor":
        assert code == 2
        assert "TFC0001-E001" in out and "symlink" in out, out
    if command == ["index"]:
        index = json.loads((ws / ".strataml/index.json").read_text())
        assert "TOPSECRET" not in json.dumps(index)


def test_the_config_is_found_and_refused_when_it_is_a_fifo(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (ws / "strataml.yaml").unlink()
    os.mkfifo(ws / "strataml.yaml")  # would block a plain open(): never opened
    code, out, _err = invoke(ws, "doctor", capsys=capsys)
    assert code == 2 and "TFC0001-E001" in out and "is a FIFO, socket or device" in out, out


def test_a_symlinked_config_sets_no_policy(ws: Path, tmp_path: Path) -> None:
    from strataml.workspace import load, load_config

    (tmp_path / "outside.yaml").write_text("doctor: {ignore: [TFC0001]}\n")
    (ws / "strataml.yaml").unlink()
    (ws / "strataml.yaml").symlink_to(tmp_path / "outside.yaml")
    assert load_config(ws).data is None and load(ws).config.data is None
    assert "TFC0001-E001" in {f.code for f in engine.doctor(ws).findings}


def test_the_warm_run_still_takes_the_config_from_the_cache(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import age

    from strataml import loading
    from strataml.cache import Cache
    from strataml.workspace import load_config

    age(ws)
    engine.doctor(ws, use_cache=True)
    parsed: list[object] = []
    real = loading.load_bytes
    monkeypatch.setattr(loading, "load_bytes", lambda *a, **k: parsed.append(a) or real(*a, **k))
    cache = Cache(ws)
    assert load_config(ws, cache).data["name"] == "fixture-positive"
    assert parsed == []


# --- promote and sign refuse a configuration they cannot read ----------------------------------


@pytest.mark.parametrize("text", ["schema: [\n", "- a list\n", "", "signing: {require: [{records: model}]}\n"])
@pytest.mark.parametrize("command", [["promote", MODEL, "--to", "candidate"], ["sign", MODEL]])
def test_promote_and_sign_refuse_when_the_config_has_errors(ws: Path, tmp_path: Path, text: str, command: list[str],
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "gnupg").mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(tmp_path / "gnupg"))  # never the user's keyring
    (ws / "strataml.yaml").write_text(text)
    code, _out, err = invoke(ws, *command, capsys=capsys)
    line = one_line_error(code, err, expected=2)
    assert "strataml.yaml has errors" in line and "strataml doctor" in line, line
    assert not (ws / LEDGER).exists() and not (ws / "models/sales-model/1/model.yaml.asc").exists()


@pytest.mark.parametrize("what", ["a folder", "a FIFO, socket or device"])
def test_a_config_that_is_no_file_is_named_for_what_it_is(
    ws: Path, what: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (ws / "strataml.yaml").unlink()
    if what == "a folder":
        (ws / "strataml.yaml").mkdir()
    else:
        os.mkfifo(ws / "strataml.yaml")
    code, out, err = invoke(ws, "doctor", capsys=capsys)
    assert code == 2 and "Traceback" not in err
    assert f"strataml.yaml is {what}: it was not read, so it sets no policy" in out, out
    assert "link" not in out and "rm -r strataml.yaml && git checkout HEAD -- strataml.yaml" in out, out
