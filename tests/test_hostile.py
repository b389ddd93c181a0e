"""Hostile inputs: each becomes a finding, in bounded time and memory, never a traceback."""

from __future__ import annotations

import os
import subprocess
import tracemalloc
from pathlib import Path

import pytest

from conftest import edit_yaml
from strataml.doctor import engine
from strataml.loading import MAX_BYTES, load_bytes

SPEC = "experiments/flowers-logreg.yaml"
HEAD = b"schema: strataml/experiment/v1\nname: flowers-logreg\nplugin: sklearn\ndata: {dataset: 'dataset:flowers@1'}\nmodel: {type: lr}\nseed: 1\n"

ALIAS_BOMB = b"""a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""

HOSTILE = {
    "alias bomb": (ALIAS_BOMB, "TFC0001-E106"),
    "10k-deep nesting": (b"seed: " + b"[" * 10_000 + b"]" * 10_000 + b"\n", "TFC0001-E107"),
    "2k-deep block nesting": (b"".join(b" " * i + b"k:\n" for i in range(2_000)), "TFC0001-E107"),
    "python object tag": (b"x: !!python/object/apply:os.system ['touch /tmp/strataml-pwned']\n", "TFC0001-E109"),
    "python name tag": (b"x: !!python/name:os.system\n", "TFC0001-E109"),
    "binary garbage": (bytes(range(256)) * 64, "TFC0001-E102"),
    "duplicate keys": (HEAD + b"seed: 2\n", "TFC0001-E108"),
}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_metadata_is_a_finding_in_bounded_memory(ws: Path, name: str) -> None:
    content, code = HOSTILE[name]
    tracemalloc.start()
    try:
        loaded = load_bytes(content)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code in {p.code for p in loaded.problems}
    assert peak < 64 * 1024 * 1024, f"{name} used {peak:,} bytes"
    (ws / SPEC).write_bytes(content)
    assert code in {f.code for f in engine.doctor(ws).findings}
    assert not Path("/tmp/strataml-pwned").exists()


@pytest.mark.timeout(20)
def test_50_mb_file_is_refused_without_reading_it(ws: Path) -> None:
    with open(ws / SPEC, "wb") as fh:
        fh.truncate(50 * 1024 * 1024)  # sparse: costs no disk, would cost memory if read
    tracemalloc.start()
    try:
        report = engine.doctor(ws)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [f.code for f in report.findings] == ["TFC0001-E101"]
    assert peak < MAX_BYTES * 2


def test_path_traversal_in_a_record(ws: Path) -> None:
    edit_yaml(ws / "datasets/flowers/1/dataset.yaml", lambda d: d["files"][0].update(path="../../../../etc/passwd"))
    found = {f.code for f in engine.doctor(ws).findings}
    assert "TFC0006-E004" in found
    assert "TFC0006-E002" not in found  # the target was never hashed


@pytest.mark.timeout(20)
def test_symlink_to_etc_passwd_and_fifo_are_never_opened(ws: Path) -> None:
    folder = ws / "datasets/flowers/1"
    os.symlink("/etc/passwd", folder / "passwd")
    os.mkfifo(folder / "queue")
    # Recording the FIFO is the dangerous case: a naive hasher would block on open() forever.
    edit_yaml(folder / "dataset.yaml", lambda d: d["files"].extend([
        {"path": "queue", "sha256": "0" * 64, "size": 0}, {"path": "passwd", "sha256": "0" * 64, "size": 0}]))
    found = {(f.code, f.path) for f in engine.doctor(ws).findings}
    assert ("TFC0006-E006", "datasets/flowers/1/queue") in found
    assert ("TFC0006-E005", "datasets/flowers/1/passwd") in found


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", ["alias bomb", "binary garbage", "python object tag"])
def test_cli_prints_no_traceback(ws: Path, name: str, strataml_exe: list[str]) -> None:
    (ws / SPEC).write_bytes(HOSTILE[name][0])
    os.mkfifo(ws / "datasets/flowers/1/queue")
    proc = subprocess.run([*strataml_exe, "-C", str(ws), "doctor"], capture_output=True, text=True, timeout=50)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    assert HOSTILE[name][1] in proc.stdout


def test_empty_or_broken_config_is_a_finding(ws: Path) -> None:
    (ws / "strataml.yaml").write_text("")
    assert [(f.code, f.line) for f in engine.doctor(ws).findings] == [("TFC0001-E001", 1)]
    (ws / "strataml.yaml").write_text("schema: strataml/workspace/v1\nname: [x\n")
    assert [f.code for f in engine.doctor(ws).findings] == ["TFC0001-E105"]


def test_symlinked_metadata_is_not_read(ws: Path) -> None:
    meta = ws / "datasets/flowers/1/dataset.yaml"
    meta.rename(ws / "elsewhere.yaml")
    os.symlink(ws / "elsewhere.yaml", meta)
    os.symlink("/etc/passwd", ws / "experiments/evil.yaml")
    found = {(f.code, f.path) for f in engine.doctor(ws).findings}
    assert ("TFC0001-E002", "datasets/flowers/1/dataset.yaml") in found
    assert ("TFC0001-E002", "experiments/evil.yaml") in found


def test_file_name_that_is_not_utf8_is_reported_printably(ws: Path, strataml_exe: list[str]) -> None:
    name = os.fsencode(ws / "datasets/flowers/1") + b"/caf\xe9.csv"
    with open(name, "wb") as fh:
        fh.write(b"x\n")
    report = engine.doctor(ws)
    assert [(f.code, f.path) for f in report.findings] == [("TFC0006-W001", "datasets/flowers/1/caf\\xe9.csv")]
    for fmt in ("text", "json", "sarif", "github"):
        proc = subprocess.run([*strataml_exe, "-C", str(ws), "doctor", "--format", fmt], capture_output=True, timeout=60)
        assert proc.returncode == 1, (fmt, proc.stderr)
        assert b"caf\\\\xe9.csv" in proc.stdout or b"caf\\xe9.csv" in proc.stdout or b"caf%5Cxe9.csv" in proc.stdout
