"""No write leaves the repository, and files people can read (issue 11, items 2 and 7).

A repository can commit symlinks. Every command that writes is tried with a symlink (a folder on
the way, or the target itself) pointing OUTSIDE a temp repository: it must exit 3 with one clear
line and leave everything outside exactly as it was (listing, bytes, mtimes). Files it creates
get the user's umask, checked with the real console script under umask 022 and 077.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import gpgkeys
import pytest
from conftest import ROOT, edit_yaml, invoke, require, require_extra

from strataml.cli.main import run
from strataml.runner import plugin as plugin_module

RUN = "run:20260101T000000Z-sales-forecast-a1b2c3"
MODEL = "models/sales-model/1/model.yaml"


@pytest.fixture(scope="module")
def alice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gpgkeys.Key]:
    require(gpgkeys.available(), "gpg is not installed")
    base = tmp_path_factory.mktemp("gpg")
    key = gpgkeys.make_key(base, "Alice")
    yield key
    gpgkeys.stop_agents([key.home])


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the repository, with something in it to be left alone."""
    folder = tmp_path / "outside"
    (folder / "sub").mkdir(parents=True)
    (folder / "keep.txt").write_text("nobody writes here\n")
    (folder / "sub" / "keep.bin").write_bytes(b"\0\1\2")
    return folder


def snapshot(folder: Path) -> dict[str, tuple]:
    """Everything under `folder` as lstat sees it: kind, mode, size, mtime, bytes or link target."""
    out: dict[str, tuple] = {}
    for dirpath, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                body: object = Path(path).read_bytes()
            elif stat.S_ISLNK(st.st_mode):
                body = os.readlink(path)
            else:
                body = None
            out[os.path.relpath(path, folder)] = (stat.S_IFMT(st.st_mode), st.st_mode, st.st_size, st.st_mtime_ns, body)
    return out


def link(ws: Path, rel: str, target: Path) -> None:
    """Make ws/REL a symlink to `target` (a folder's content moves there first, so a write would land in it)."""
    path = ws / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir() and not path.is_symlink():
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(path), str(target))
    elif path.exists() or path.is_symlink():
        path.unlink()
    path.symlink_to(target)


def refused(code: int, err: str, where: str, expected: int = 3) -> None:
    """Exit 3 with one clear line that says the write was refused and names the path that is a symlink
    (2 when the doctor's rules refuse first: a ledger that is a symlink is a finding on the model)."""
    lines = [ln for ln in err.splitlines() if ln.startswith("strataml: error:")]
    assert code == expected, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "refusing to" in lines[0] and where in lines[0] and "symlink" in lines[0], err


def check_refused(
    ws: Path, outside: Path, where: str, *args: str, capsys: pytest.CaptureFixture[str], expected: int = 3
) -> None:
    before = snapshot(outside)
    code, _out, err = invoke(ws, *args, capsys=capsys)
    refused(code, err, where, expected)
    assert snapshot(outside) == before


# --- init ----------------------------------------------------------------------------------


@pytest.mark.parametrize("rel", ["datasets", "tfc", "tfc/keys", ".github/workflows", ".gitignore", "strataml.yaml"])
def test_init_refuses_a_symlink_and_writes_nothing(tmp_path: Path, outside: Path, rel: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "new"
    target.mkdir()
    victim = outside / "sub" if rel in ("datasets", "tfc", "tfc/keys", ".github/workflows") else outside / "keep.txt"
    if rel == "strataml.yaml":
        victim = outside / "strataml.yaml"  # dangling: not yet a workspace, and nothing may appear there
    (target / rel).parent.mkdir(parents=True, exist_ok=True)
    (target / rel).symlink_to(victim)
    made = snapshot(target)
    before = snapshot(outside)
    code = run(["init", str(target)])
    refused(code, capsys.readouterr().err, rel)
    assert snapshot(outside) == before
    assert snapshot(target) == made  # checked before anything was written: no half-made workspace


# --- dataset add ---------------------------------------------------------------------------


@pytest.mark.parametrize("rel", ["datasets", "datasets/fresh"])
def test_dataset_add_refuses_a_symlinked_folder(ws: Path, tmp_path: Path, outside: Path, rel: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    link(ws, rel, outside / "datasets" if rel == "datasets" else outside / "sub")
    check_refused(ws, outside, rel, "dataset", "add", "fresh", str(data), "--version", "1", capsys=capsys)


# --- run -----------------------------------------------------------------------------------


def test_run_refuses_a_symlinked_runs_folder(ws: Path, outside: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(plugin_module.BUILTIN, "boom", "plugins.boom:BoomPlugin")
    edit_yaml(ws / "experiments/flowers-logreg.yaml", lambda d: d.update(plugin="boom"))
    link(ws, "runs", outside / "runs")
    check_refused(ws, outside, "runs", "run", "flowers-logreg", capsys=capsys)


# --- model register ------------------------------------------------------------------------


def unregistered(ws: Path) -> None:
    """The fixture's run is registered as sales-model@1 already; a run is registered once, so the
    write paths of a new registration are reached only once that model is gone."""
    shutil.rmtree(ws / "models/sales-model")


def test_model_register_refuses_a_symlinked_model_folder(ws: Path, outside: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    unregistered(ws)
    link(ws, "models/other", outside / "sub")
    check_refused(ws, outside, "models/other", "model", "register", RUN, "--name", "other", capsys=capsys)


@pytest.mark.parametrize("inside", [False, True])
def test_model_register_never_copies_a_run_file_through_a_symlink(ws: Path, outside: Path, inside: bool,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A link out of its record folder is a doctor error (TFC0006-E005), refused before anything is
    made; a link inside it passes the doctor, and the copy itself refuses to read through it."""
    unregistered(ws)
    model = ws / f"runs/{RUN[4:]}/models/model.bin"
    if inside:
        target: Path | str = "real.bin"  # the same bytes: the sha256 still matches
        model.rename(model.parent / "real.bin")
    else:
        shutil.move(model, outside / "model.bin")  # the same bytes, so the recorded sha256 still matches
        target = outside / "model.bin"
    model.symlink_to(target)
    before = snapshot(outside)
    code, _out, err = invoke(ws, "model", "register", RUN, "--name", "other", capsys=capsys)
    if inside:
        refused(code, err, "models/model.bin")
    else:
        lines = [ln for ln in err.splitlines() if ln.startswith("strataml: error:")]
        assert code == 2 and len(lines) == 1 and "TFC0006-E005" in lines[0] and "models/model.bin" in lines[0], err
    assert snapshot(outside) == before
    assert not (ws / "models/other").exists() or not any((ws / "models/other").iterdir())


# --- promote: the ledger and its lock --------------------------------------------------------


@pytest.mark.parametrize("rel", [".strataml", ".strataml/locks", ".strataml/locks/sales-model.lock",
                                 "models/sales-model/lifecycle.jsonl"])
def test_promote_refuses_a_symlinked_lock_or_ledger(ws: Path, outside: Path, rel: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    if rel.endswith((".lock", ".jsonl")):
        (outside / "empty").write_bytes(b"")
        link(ws, rel, outside / "empty")
    else:
        link(ws, rel, outside / "sub")
    check_refused(ws, outside, rel, "promote", "model:sales-model@1", "--to", "candidate", capsys=capsys,
                  expected=2 if rel.endswith(".jsonl") else 3)


def test_promote_sign_refuses_a_symlinked_ledger_signature(ws: Path, outside: Path, alice: gpgkeys.Key,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert invoke(ws, "keys", "add", str(alice.public), "--scope", "ledger", capsys=capsys)[0] == 0
    link(ws, "models/sales-model/lifecycle.jsonl.asc", outside / "keep.txt")
    check_refused(ws, outside, "lifecycle.jsonl.asc", "promote", "model:sales-model@1", "--to", "candidate",
                  "--sign", "--gnupghome", str(alice.home), capsys=capsys)


# --- sign ----------------------------------------------------------------------------------


def test_sign_refuses_a_ledger_in_a_symlinked_model_folder(ws: Path, outside: Path, alice: gpgkeys.Key,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert invoke(ws, "keys", "add", str(alice.public), "--scope", "ledger", capsys=capsys)[0] == 0
    (outside / "sub" / "lifecycle.jsonl").write_bytes(b"")
    link(ws, "models/evil", outside / "sub")
    check_refused(ws, outside, "models/evil", "sign", "ledger:evil", "--gnupghome", str(alice.home), capsys=capsys)


def test_sign_refuses_a_symlinked_signature_file(ws: Path, outside: Path, alice: gpgkeys.Key,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert invoke(ws, "keys", "add", str(alice.public), "--scope", "models", capsys=capsys)[0] == 0
    link(ws, f"{MODEL}.asc", outside / "keep.txt")
    check_refused(ws, outside, f"{MODEL}.asc", "sign", "model:sales-model@1", "--gnupghome", str(alice.home),
                  capsys=capsys)


# --- keys add / remove ---------------------------------------------------------------------


@pytest.mark.parametrize("rel", ["tfc", "tfc/keys"])
def test_keys_add_refuses_a_symlinked_keys_folder(ws: Path, outside: Path, alice: gpgkeys.Key, rel: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    link(ws, rel, outside / "linked")
    check_refused(ws, outside, rel, "keys", "add", str(alice.public), "--scope", "models", capsys=capsys)


def test_keys_remove_refuses_a_symlinked_keys_folder(ws: Path, outside: Path, alice: gpgkeys.Key,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert invoke(ws, "keys", "add", str(alice.public), "--scope", "models", capsys=capsys)[0] == 0
    link(ws, "tfc/keys", outside / "keys")  # the pinned key and keys.yaml now live outside
    check_refused(ws, outside, "tfc/keys", "keys", "remove", alice.fingerprint, capsys=capsys)


def test_keys_add_refuses_a_symlinked_manifest(ws: Path, outside: Path, alice: gpgkeys.Key,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    (outside / "keys.yaml").write_text("schema: strataml/keys/v1\nkeys: []\n")
    link(ws, "tfc/keys/keys.yaml", outside / "keys.yaml")
    check_refused(ws, outside, "tfc/keys/keys.yaml", "keys", "add", str(alice.public), "--scope", "models",
                  capsys=capsys)


# --- the index, the cache ------------------------------------------------------------------


@pytest.mark.parametrize("command", [["index"], ["list", "models"]])
@pytest.mark.parametrize("rel", [".strataml", ".strataml/index.json", ".strataml/index.key"])
def test_index_refuses_a_symlinked_strataml_folder_or_file(ws: Path, outside: Path, rel: str, command: list[str],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    link(ws, rel, outside / "sub" if rel == ".strataml" else outside / "keep.txt")
    check_refused(ws, outside, rel, *command, capsys=capsys)


@pytest.mark.parametrize("rel", [".strataml", ".strataml/cache", ".strataml/cache/strataml.sqlite",
                                 ".strataml/cache/strataml.sqlite-wal", ".strataml/cache/strataml.sqlite-shm"])
def test_cache_refuses_a_symlinked_folder_or_database(ws: Path, outside: Path, rel: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    link(ws, rel, outside / "sub" if not rel.startswith(".strataml/cache/") else outside / "keep.txt")
    check_refused(ws, outside, rel, "doctor", capsys=capsys)
    assert invoke(ws, "doctor", "--no-cache", capsys=capsys)[0] == 0  # without the cache nothing is written


# --- -o FILE -------------------------------------------------------------------------------


@pytest.mark.timeout(300)
@pytest.mark.parametrize("command", [["doctor", "--format", "json"], ["index"]])
@pytest.mark.parametrize("via_link", [False, True])
def test_output_to_a_fifo_is_written_through(ws: Path, tmp_path: Path, command: list[str], via_link: bool,
                                             strataml_exe: list[str]) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    target = fifo
    if via_link:
        target = tmp_path / "to-pipe"
        target.symlink_to(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    try:
        done = subprocess.run([*strataml_exe, "-C", str(ws), *command, "-o", str(target)], capture_output=True,
                              text=True, timeout=180)
        received, _ = reader.communicate(timeout=60)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    assert done.returncode == 0, done.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and (not via_link or target.is_symlink())
    assert "nodes" in json.loads(received) or "findings" in json.loads(received)


@pytest.mark.timeout(300)
def test_output_to_dev_stdout_is_written_through(ws: Path, tmp_path: Path, strataml_exe: list[str]) -> None:
    # What /dev/stdout is (a link to the process's fd 1), made here: a build that replaces the
    # target with a regular file would otherwise replace /dev/stdout itself when run as root.
    stdout = tmp_path / "stdout"
    stdout.symlink_to("/dev/fd/1")
    done = subprocess.run([*strataml_exe, "-C", str(ws), "doctor", "--format", "json", "-o", str(stdout)],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["findings"] == [] and stdout.is_symlink()


@pytest.mark.parametrize("command", [["doctor", "--format", "json"], ["index"]])
def test_output_inside_the_workspace_follows_the_confined_rules(ws: Path, outside: Path, command: list[str],
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    link(ws, "reports", outside / "sub")
    check_refused(ws, outside, "reports", *command, "-o", str(ws / "reports" / "report.json"), capsys=capsys)
    link(ws, "report.json", outside / "keep.txt")
    check_refused(ws, outside, "report.json", *command, "-o", str(ws / "report.json"), capsys=capsys)


def test_output_outside_the_workspace_replaces_the_file_a_link_names(ws: Path, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "reports" / "doctor.json"
    report.parent.mkdir()
    report.write_text("old\n")
    alias = tmp_path / "latest.json"
    alias.symlink_to(report)
    assert invoke(ws, "doctor", "--format", "json", "-o", str(alias), capsys=capsys)[0] == 0
    assert alias.is_symlink() and json.loads(report.read_text())["findings"] == []


# --- reading follows the same rule -----------------------------------------------------------


def test_trust_files_reached_through_a_symlink_are_not_read(ws: Path, outside: Path, alice: gpgkeys.Key) -> None:
    from strataml.doctor import engine

    assert run(["-C", str(ws), "keys", "add", str(alice.public), "--scope", "models"]) == 0
    gpgkeys.sign_file(alice, ws / MODEL, ws / f"{MODEL}.asc")
    assert engine.doctor(ws).findings == ()
    manifest = ws / "tfc/keys/keys.yaml"
    shutil.move(manifest, outside / "keys.yaml")
    manifest.symlink_to(outside / "keys.yaml")
    found = {(f.code, f.path) for f in engine.doctor(ws).findings}
    assert ("TFC0007-E010", "tfc/keys/keys.yaml") in found and ("TFC0007-E003", f"{MODEL}.asc") in found
    manifest.unlink()
    shutil.move(outside / "keys.yaml", manifest)
    key_file = ws / f"tfc/keys/{alice.fingerprint}.asc"
    shutil.move(key_file, outside / "key.asc")
    key_file.symlink_to(outside / "key.asc")
    found = {(f.code, f.path) for f in engine.doctor(ws).findings}
    assert ("TFC0007-E010", f"tfc/keys/{alice.fingerprint}.asc") in found
    assert not any(code == "TFC0007-E009" for code, _ in found)  # refused, not "missing"


def test_the_saved_index_is_rebuilt_once_the_keys_folder_became_a_symlink(ws: Path, outside: Path,
                                                                          alice: gpgkeys.Key) -> None:
    from strataml.read import saved

    assert run(["-C", str(ws), "keys", "add", str(alice.public), "--scope", "models"]) == 0
    gpgkeys.sign_file(alice, ws / MODEL, ws / f"{MODEL}.asc")
    past = time.time() - 60
    for path in [ws, *ws.rglob("*")]:  # old enough for the saved index to count as fresh
        os.utime(path, (past, past), follow_symlinks=False)
    signature = lambda index: next(n for n in index["nodes"] if n["id"] == "model:sales-model@1")["signature"]  # noqa: E731
    assert signature(saved.current(ws)[0])["status"] == "signed"
    assert saved.current(ws)[1] is False
    shutil.move(ws / "tfc/keys", outside / "keys")  # the same files (inodes, times), reached through a link
    (ws / "tfc/keys").symlink_to(outside / "keys")
    os.utime(ws / "tfc", (past, past))
    index, rebuilt = saved.current(ws)
    assert rebuilt and signature(index)["status"] == "invalid"  # no key is trusted through the link


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "T",
           "GIT_COMMITTER_EMAIL": "t@example.org"}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout.strip()


@pytest.mark.parametrize("rel", ["tfc", "tfc/keys", "tfc/keys/keys.yaml", "key file"])
def test_since_never_reads_key_material_from_a_symlink_at_ref(ws: Path, alice: gpgkeys.Key, rel: str) -> None:
    from strataml import trust

    require(shutil.which("git") is not None, "git is not installed")
    assert run(["-C", str(ws), "keys", "add", str(alice.public), "--scope", "models"]) == 0
    rel = f"tfc/keys/{alice.fingerprint}.asc" if rel == "key file" else rel
    real = ws / "real-keys" / Path(rel).name
    real.parent.mkdir()
    shutil.move(ws / rel, real)
    (ws / rel).symlink_to(os.path.relpath(real, (ws / rel).parent))  # inside the repository, so git carries it
    git(ws, "init", "-q")
    git(ws, "add", "-A")
    git(ws, "commit", "-qm", "base")
    base = git(ws, "rev-parse", "HEAD")
    at_ref = trust.read(ws, {}, base)
    assert any(p.code == trust.TRUST_PATH_SYMLINK and p.path == rel for p in at_ref.problems)
    assert not trust.checked_keys(at_ref)  # nothing read through the link is trusted


# --- files people can read -----------------------------------------------------------------


@pytest.mark.slow
def test_created_files_and_folders_follow_the_umask(tmp_path: Path, alice: gpgkeys.Key,
                                                    strataml_exe: list[str]) -> None:
    require_extra("sklearn", "sklearn")
    for mask in (0o022, 0o077):  # one test: under 077 the old 0600/0700 happened to be right
        _every_write_under(tmp_path / f"umask-{mask:03o}", mask, alice, strataml_exe)


def _every_write_under(base: Path, mask: int, alice: gpgkeys.Key, strataml_exe: list[str]) -> None:
    lab = base / "lab"
    outside_report = base / "out" / "report.sarif"
    outside_report.parent.mkdir(parents=True)

    def cli(*args: str, ok: tuple[int, ...] = (0,)) -> str:
        done = subprocess.run([*strataml_exe, *args], capture_output=True, text=True, timeout=300,
                              preexec_fn=lambda: os.umask(mask))
        assert done.returncode in ok, (args, done.stderr)
        return done.stdout

    cli("init", str(lab))
    home = ["--gnupghome", str(alice.home)]
    cli("-C", str(lab), "dataset", "add", "iris", str(ROOT / "datasets/iris/1/iris.csv"), "--version", "1",
        "--target", "species")
    shutil.copy(ROOT / "experiments/iris-logreg.yaml", lab / "experiments")
    os.chmod(lab / "experiments/iris-logreg.yaml", 0o666 & ~mask)  # copied by the test, not by strataml
    cli("-C", str(lab), "run", "iris-logreg")
    cli("-C", str(lab), "keys", "add", str(alice.public), "--scope", "models", "--scope", "ledger")
    cli("-C", str(lab), "promote", "model:iris-classifier@1", "--to", "candidate", "--sign", *home)
    cli("-C", str(lab), "sign", "model:iris-classifier@1", *home)
    cli("-C", str(lab), "index")
    cli("-C", str(lab), "doctor", "--format", "json", "-o", str(lab / "report.json"), ok=(0, 1, 2))
    cli("-C", str(lab), "doctor", "--format", "sarif", "-o", str(outside_report), ok=(0, 1, 2))

    wrong = []
    for path in [*lab.rglob("*"), outside_report]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        want = (0o777 if path.is_dir() else 0o666) & ~mask
        if mode != want:
            wrong.append(f"{path.relative_to(base)}: {mode:o}, want {want:o}")
    assert not wrong, wrong
    for must in ("datasets/iris/1/dataset.yaml", "models/iris-classifier/lifecycle.jsonl",
                 "models/iris-classifier/lifecycle.jsonl.asc", "models/iris-classifier/1/model.yaml.asc",
                 "models/iris-classifier/1/gate.json", ".strataml/index.json", "tfc/keys/keys.yaml", "report.json"):
        assert (lab / must).is_file(), must
    assert len(list((lab / "runs").glob("*/run.yaml"))) == 1


@pytest.mark.parametrize(
    "shape,where",
    [(shape, "folder on the way") for shape in ("symlink", "fifo", "file")]
    + [(shape, "the file itself") for shape in ("symlink", "fifo", "folder")],
)
def test_the_refusal_hint_names_what_was_found(tmp_path: Path, outside: Path, shape: str, where: str) -> None:
    """A symlink is something a repository carries; a FIFO, device or stray file is not a symlink:
    the hint says which it found, so nobody hunts for a link that is not there."""
    from strataml.atomic import UnsafePath, write_bytes

    root = tmp_path / "repo"
    root.mkdir()
    at = root / ("sub" if where == "folder on the way" else "out.json")
    if shape == "symlink":
        at.symlink_to(outside / "sub")
    elif shape == "fifo":
        os.mkfifo(at)
    elif shape == "file":
        at.write_text("x\n")
    else:
        at.mkdir()
    rel = "sub/out.json" if where == "folder on the way" else "out.json"
    before = snapshot(outside)
    with pytest.raises(UnsafePath) as refusal:
        write_bytes(root, rel, b"{}")
    assert snapshot(outside) == before
    hint = refusal.value.hint or ""
    assert ("symlink" in hint) == (shape == "symlink"), hint
    if shape != "symlink":
        assert "FIFO" in hint, hint


@pytest.mark.parametrize(
    ("command", "where", "call"),
    [
        (("index",), ".strataml/index.json", "open"),  # a new temp file in .strataml/ (exists already)
        (("promote", "model:sales-model@1", "--to", "candidate", "--reason", "r"), ".strataml/locks", "mkdir"),
    ],
)
def test_a_read_only_workspace_is_named_whole_with_what_still_works(
    ws: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: tuple[str, ...],
    where: str, call: str,
) -> None:
    """A read-only mount (no privilege to make one here, so the system calls answer as one does):
    the error names the path from the workspace's top, not its last part, and says what works."""
    import errno

    from strataml import atomic

    assert run(["-C", str(ws), "index"]) == 0  # .strataml/ exists, as after any earlier command
    capsys.readouterr()
    real = getattr(os, call)

    def read_only(name, *args, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("dir_fd") is not None and (call == "mkdir" or args and args[0] & os.O_CREAT):
            raise OSError(errno.EROFS, "Read-only file system", name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(atomic.os, call, read_only)
    if command[0] == "index":
        (ws / "datasets/sales/1/dataset.yaml").write_text((ws / "datasets/sales/1/dataset.yaml").read_text() + "\n")
    assert run(["-C", str(ws), *command]) == 3
    err = capsys.readouterr().err
    assert f"cannot write {where}" in err, err  # (EROFS: only a write meets it)
    if call == "mkdir":  # the folder that refuses is the one it would be made in: that one is named
        assert f"(making a folder in {where.rsplit('/', 1)[0]})" in err, err
    assert "hint: nothing can be written there: commands that only read" in err


@pytest.mark.parametrize("what", ["a symlink", "a FIFO", "a folder"])
def test_a_ledger_that_is_no_file_gets_one_code_and_a_hint_that_works(
    ws: Path, outside: Path, what: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The doctor and promote both cite TFC0001-E002 (promote said TFC0005-E001), name what stands
    there, and give the command that restores the ledger (it replaces a link, FIFO or folder)."""
    ledger = ws / "models/sales-model/lifecycle.jsonl"
    if what == "a symlink":
        ledger.symlink_to(outside / "empty")
    elif what == "a FIFO":
        os.mkfifo(ledger)
    else:
        ledger.mkdir()
    code, out, _err = invoke(ws, "doctor", capsys=capsys)
    said = {"a symlink": "a symlink", "a FIFO": "a FIFO, socket or device", "a folder": "a folder"}[what]
    assert code == 2 and f"TFC0001-E002  the lifecycle ledger is {said}, not a file" in out, out
    assert "`git checkout HEAD -- models/sales-model/lifecycle.jsonl` in the workspace's folder" in out
    code, _out, err = invoke(ws, "promote", "model:sales-model@1", "--to", "candidate", "--reason", "r", capsys=capsys)
    assert code == 2 and "has a problem (TFC0001-E002)" in err and "git checkout HEAD -- " in err, err


def test_a_full_disk_names_the_file_being_written(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A write that fails for want of room names no file (index: "cannot access: No space left"),
    and a copy names its source (dataset add named the CSV it read, on a disk with room): the error
    names the file being written, with the full-disk hint; no temp file or staging folder stays."""
    import errno

    from strataml import atomic, datasets

    real_write = os.write

    def full(fd: int, data: bytes) -> int:
        if len(data) > 1000:  # (the index's text; the small writes of a run go through)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(atomic.os, "write", full)
    assert run(["-C", str(ws), "index"]) == 3
    err = capsys.readouterr().err
    assert "cannot write .strataml/index.json: No space left on device" in err, err
    assert "hint: the disk is full" in err
    assert not [p for p in (ws / ".strataml").iterdir() if p.name.endswith(".tmp")]
    monkeypatch.undo()

    source = tmp_path / "big.csv"
    source.write_text("a,b\n1,2\n")

    def no_room(src: object, sink: object) -> None:  # (the copy: a failure that names its source)
        raise OSError(errno.ENOSPC, "No space left on device", str(source))

    monkeypatch.setattr(datasets, "sha256_stream", no_room)
    before = sorted(p.name for p in (ws / "datasets").iterdir())
    assert run(["-C", str(ws), "dataset", "add", "big", str(source), "--version", "1", "--license", "MIT"]) == 3
    err = capsys.readouterr().err
    assert "No space left on device" in err and str(source) not in err and "datasets/big/1/big.csv" in err, err
    assert sorted(p.name for p in (ws / "datasets").iterdir()) == before


def test_keys_add_leaves_no_unpinned_key_when_the_manifest_cannot_be_written(
    ws: Path, alice: gpgkeys.Key, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A full disk while keys.yaml is written: exit 3 naming it, and the key file it had just
    written is taken back (it stayed in tfc/keys/, pinned by nothing)."""
    import errno

    from strataml import keys

    keys_dir = ws / "tfc/keys"
    before = sorted(p.name for p in keys_dir.iterdir()) if keys_dir.exists() else []

    def full(root: Path, pins: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "tfc/keys/keys.yaml")

    monkeypatch.setattr(keys, "_save", full)
    code, _o, err = invoke(ws, "keys", "add", str(alice.public), "--scope", "models", capsys=capsys)
    assert code == 3 and "keys.yaml" in err
    assert (sorted(p.name for p in keys_dir.iterdir()) if keys_dir.exists() else []) == before


@pytest.mark.parametrize(
    "rel", [".strataml/locks/sales-model.lock", ".strataml/cache/strataml.sqlite", ".strataml/locks", ".strataml/cache"]
)
def test_no_output_replaces_strataml_s_locks_or_cache(ws: Path, rel: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Found by an attacker: `index -o .strataml/locks/NAME.lock` replaced a lock file, and a
    promote holding the old one no longer kept the next out; in a fresh clone, `-o .strataml/locks`
    made a file there, and every command that locks failed."""
    shutil.rmtree(ws / ".strataml", ignore_errors=True)
    code, _out, err = invoke(ws, "index", "-o", rel, capsys=capsys)
    assert code == 3 and "where strataml keeps its locks and cache" in err, err
    assert invoke(ws, "index", "-o", ".strataml/elsewhere.json", capsys=capsys)[0] == 0
