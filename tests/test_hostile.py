"""Hostile inputs: each becomes a finding, in bounded time and memory, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from conftest import edit_yaml
from strataml.doctor import engine
from strataml.doctor.finding import MAX_REPEATS, MAX_TEXT, Finding
from strataml.loading import MAX_BYTES, MAX_DUPLICATES, MAX_NODES, load_bytes

MiB = 1024 * 1024

SPEC = "experiments/flowers-logreg.yaml"
HEAD = b"schema: strataml/experiment/v1\nname: flowers-logreg\nplugin: sklearn\ndata: {dataset: 'dataset:flowers@1'}\nmodel: {type: logistic_regression}\nseed: 1\n"

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
    "10k-deep spaced nesting": (b"seed: " + b"[ " * 10_000 + b"] " * 10_000 + b"\n", "TFC0001-E107"),
    "400k keys": (b"".join(b"k%05x: 0\n" % i for i in range(400_000)), "TFC0001-E110"),
    "400k keys in one line": (b"x: {" + b", ".join(b"k%05x: 0" % i for i in range(350_000)) + b"}\n", "TFC0001-E110"),
    "2k-deep block nesting": (b"".join(b" " * i + b"k:\n" for i in range(2_000)), "TFC0001-E107"),
    "python object tag": (b"x: !!python/object/apply:os.system ['touch CANARY']\n", "TFC0001-E109"),
    "python name tag": (b"x: !!python/name:os.system\n", "TFC0001-E109"),
    "binary garbage": (bytes(range(256)) * 64, "TFC0001-E102"),
    "duplicate keys": (HEAD + b"seed: 2\n", "TFC0001-E108"),
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_metadata_is_a_finding_in_bounded_memory(ws: Path, name: str, tmp_path: Path) -> None:
    content, code = HOSTILE[name]
    canary = tmp_path / "pwned"  # what the object tag would create, were it ever run
    content = content.replace(b"CANARY", str(canary).encode())
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
    assert not canary.exists()


@pytest.mark.timeout(120)
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


@pytest.mark.timeout(120)  # a hasher that opened the FIFO would block here forever
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


@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", ["alias bomb", "binary garbage", "python object tag"])
def test_cli_prints_no_traceback(ws: Path, name: str, strataml_exe: list[str]) -> None:
    (ws / SPEC).write_bytes(HOSTILE[name][0])
    os.mkfifo(ws / "datasets/flowers/1/queue")
    proc = subprocess.run([*strataml_exe, "-C", str(ws), "doctor"], capture_output=True, text=True, timeout=180)
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


@pytest.mark.timeout(600)
def test_file_name_that_is_not_utf8_is_reported_printably(ws: Path, strataml_exe: list[str]) -> None:
    name = os.fsencode(ws / "datasets/flowers/1") + b"/caf\xe9.csv"
    with open(name, "wb") as fh:
        fh.write(b"x\n")
    report = engine.doctor(ws)
    assert [(f.code, f.path) for f in report.findings] == [("TFC0006-W001", "datasets/flowers/1/caf\\xe9.csv")]
    for fmt in ("text", "json", "sarif", "github", "markdown"):
        proc = subprocess.run([*strataml_exe, "-C", str(ws), "doctor", "--format", fmt], capture_output=True, timeout=120)
        assert proc.returncode == 1, (fmt, proc.stderr)
        shown = (b"caf\\\\xe9.csv", b"caf\\xe9.csv", b"caf%5Cxe9.csv", b"caf\\\\xe9\\.csv")  # the last: markdown's
        assert any(name in proc.stdout for name in shown), (fmt, proc.stdout[-500:])


@pytest.mark.parametrize(
    "text,code",
    [
        (b"[" * 10_000 + b"]" * 10_000, "TFC0001-E107"),
        (b'{"a": ' * 65 + b"1" + b"}" * 65, "TFC0001-E107"),
        (b"[" + b"0," * 400_000 + b"0]", "TFC0001-E110"),
        (b"[" + b'{"k": "v"},' * 100_000 + b"{}]", "TFC0001-E110"),
    ],
    ids=["10k-deep", "65-deep", "400k-scalars", "100k-mappings"],
)
def test_json_limits_hold_before_json_builds_anything(text: bytes, code: str) -> None:
    tracemalloc.start()
    try:
        loaded = load_bytes(text, json_syntax=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [p.code for p in loaded.problems] == [code]
    assert peak < 4 * len(text) + 1024 * 1024, f"{peak:,} bytes for {len(text):,} bytes of JSON"


def test_json_within_the_limits_still_loads() -> None:
    text = b'{"a": [' + b'"x,]}\\"", ' * 1000 + b'{"b": {"c": [1, 2.5, true, null]}}]}'
    loaded = load_bytes(text, json_syntax=True)
    assert loaded.ok and len(loaded.data["a"]) == 1001
    nested = b"[" * 64 + b"]" * 64
    assert load_bytes(nested, json_syntax=True).ok
    assert load_bytes(b"[" + b"0," * (MAX_NODES - 2) + b"0]", json_syntax=True).ok


def test_the_node_cap_counts_every_node_and_stops_at_it() -> None:
    # MAX_NODES nodes exactly: a mapping (1) of (MAX_NODES - 1) // 2 key/value pairs.
    pairs = (MAX_NODES - 1) // 2
    at_cap = b"".join(b"k%d: 0\n" % i for i in range(pairs))
    assert load_bytes(at_cap).ok
    over = at_cap + b"k%d: 0\n" % pairs
    loaded = load_bytes(over)
    assert [(p.code, p.line) for p in loaded.problems] == [("TFC0001-E110", pairs + 1)]
    assert loaded.data is None


def test_duplicate_keys_are_listed_up_to_a_bound_then_counted() -> None:
    loaded = load_bytes(HEAD + b"seed: 2\n" * 5000)
    assert [p.code for p in loaded.problems] == ["TFC0001-E108"] * (MAX_DUPLICATES + 1)
    assert loaded.problems[-1].message == f"... and {5000 - MAX_DUPLICATES:,} more duplicate keys"
    as_json = load_bytes(b"{" + b'"a": 1, ' * 5000 + b'"a": 2}', json_syntax=True)
    assert len(as_json.problems) == MAX_DUPLICATES + 1 and "4,980 more" in as_json.problems[-1].message


def test_a_finding_message_and_hint_are_bounded() -> None:
    finding = Finding("TFC0001-E108", "x.yaml", "m" * 4 * MiB, "h" * 2000)
    assert len(finding.message) <= MAX_TEXT and len(finding.hint) <= MAX_TEXT
    assert finding.message.startswith("m" * 900)
    assert finding.message.endswith(f"... and {4 * MiB - (MAX_TEXT - 48):,} more characters")
    assert Finding("X", "p", "short", "hint").message == "short"


def test_one_hostile_record_gives_bounded_findings(ws: Path) -> None:
    head = b"schema: strataml/dataset/v1\nref: dataset:flowers@1\n"
    meta = ws / "datasets/flowers/1/dataset.yaml"
    # Under the node cap, but its schema finding would list 100,000 unknown keys.
    meta.write_bytes(head + b"".join(b"u%05x: 0\n" % i for i in range(100_000)))
    findings = engine.doctor(ws).findings
    assert any("Additional properties" in f.message for f in findings)
    assert all(len(f.message) <= MAX_TEXT and len(f.hint) <= MAX_TEXT for f in findings)
    # 20,000 bad file entries: each rule lists MAX_REPEATS of them and counts the rest.
    meta.write_bytes(head + b"files:\n" + b"- {path: ../x, sha256: nope, size: -1}\n" * 20_000)
    findings = engine.doctor(ws).findings
    unsafe = [f for f in findings if f.code == "TFC0006-E004"]
    assert len(unsafe) == MAX_REPEATS + 1
    assert any(f.message == f"... and {20_000 - MAX_REPEATS:,} more TFC0006-E004 findings in this file, not listed"
               for f in unsafe)
    assert len(findings) < 6 * (MAX_REPEATS + 1)


def hostile_records() -> dict[str, bytes]:
    """Ten metadata files, each at most 4 MiB, each as costly to judge as one file can be made."""
    head = b"schema: strataml/dataset/v1\nref: dataset:NAME@1\n"
    return {
        "keys": head + b"".join(b"k%05x: 0\n" % i for i in range(400_000)),
        "flowkeys": head + b"x: {" + b", ".join(b"k%05x: 0" % i for i in range(350_000)) + b"}\n",
        "longkey": head + b"? " + b"k" * (4 * MiB - 200) + b"\n: 1\n",
        "longdup": head + (b"? " + b"d" * (2 * MiB - 200) + b"\n: 1\n") * 2,
        "dups": head + b"seed: 1\n" * 120_000,
        "badfiles": head + b"files:\n" + b"- {path: ../x, sha256: nope, size: -1}\n" * 30_000,
        "unknown": head + b"".join(b"u%05x: 0\n" % i for i in range(120_000)),
        "deep": head + b"x: " + b"[" * (2 * MiB - 100) + b"]" * (2 * MiB - 100) + b"\n",
        "spaced": head + b"x: " + b"[ " * (MiB - 100) + b"] " * (MiB - 100) + b"\n",
        "garbage": bytes(range(256)) * (4 * MiB // 256 - 1),
    }


_MEASURE = """
import json, resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({"rc": proc.returncode, "out": len(proc.stdout), "err": proc.stderr.decode("utf-8", "replace"), "rss": rss}))
"""


def peak_rss(argv: list[str], timeout: float = 300) -> dict:
    """Run `argv` as the only child of a fresh Python: its exit code, output size, stderr and peak RSS in bytes."""
    proc = subprocess.run([sys.executable, "-c", _MEASURE, *argv], capture_output=True, text=True, timeout=timeout, check=True)
    return json.loads(proc.stdout)


@pytest.mark.timeout(300)
def test_ten_hostile_records_cost_little(ws: Path, strataml_exe: list[str]) -> None:
    for name, body in hostile_records().items():
        folder = ws / "datasets" / name / "1"
        folder.mkdir(parents=True)
        assert len(body) <= MAX_BYTES
        (folder / "dataset.yaml").write_bytes(body.replace(b"NAME", name.encode(), 1))
    for fmt in ("text", "json"):
        run = peak_rss([*strataml_exe, "-C", str(ws), "doctor", "--no-cache", "--format", fmt])
        assert run["rc"] == 2, run["err"]
        assert "Traceback" not in run["err"]
        assert run["rss"] < 300 * MiB, f"{fmt}: peak RSS {run['rss'] / MiB:.0f} MiB"
        assert run["out"] < 512 * 1024, f"{fmt}: {run['out']:,} bytes of output"


@pytest.mark.parametrize("parser", ["CSafeLoader", "SafeLoader"])
def test_limits_hold_with_libyaml_and_with_pure_python(monkeypatch: pytest.MonkeyPatch, parser: str) -> None:
    """PyYAML may be built without libyaml, and libyaml's own limits differ by version: ours come first."""
    from strataml import loading

    yaml = loading._yaml()
    if not hasattr(yaml, parser):  # PyYAML built without libyaml: a real build, nothing to compare
        pytest.skip(f"this PyYAML has no {parser} (built without libyaml)")
    monkeypatch.setattr(loading, "_LOADER", getattr(yaml, parser))
    monkeypatch.setattr(loading, "MAX_NODES", 1000)
    for name in ("10k-deep nesting", "10k-deep spaced nesting", "2k-deep block nesting", "alias bomb", "python object tag"):
        content, code = HOSTILE[name]
        assert [p.code for p in load_bytes(content).problems] == [code], name
    assert [p.code for p in load_bytes(b"".join(b"k%d: 0\n" % i for i in range(600))).problems] == ["TFC0001-E110"]
    assert load_bytes(b"".join(b"k%d: 0\n" % i for i in range(499))).ok


HUGE_INT = b"1" * 5000  # past Python's int-from-text limit (4,300 digits by default)


@pytest.mark.timeout(240)
@pytest.mark.parametrize(
    "path,content,line",
    [
        (SPEC, HEAD.replace(b"seed: 1\n", b"seed: " + HUGE_INT + b"\n"), 6),
        (SPEC, HEAD + b"other: [1, 2:" + b"00:" * 3000 + b"00]\n", 7),  # YAML 1.1 base 60
        ("models/sales-model/1/gate.json", None, 6),
    ],
    ids=["yaml", "yaml-sexagesimal", "gate.json"],
)
def test_a_huge_integer_is_a_finding_not_a_crash(
    ws: Path, strataml_exe: list[str], path: str, content: bytes | None, line: int
) -> None:
    if content is None:
        text = (ws / path).read_bytes()
        content = text.replace(b'"observed": 0.75', b'"observed": ' + HUGE_INT)
        assert content != text
    (ws / path).write_bytes(content)
    found = [(f.code, f.path, f.line) for f in engine.doctor(ws).findings if "integer too long" in f.message]
    assert found == [("TFC0001-E105", path, line)]
    proc = subprocess.run([*strataml_exe, "-C", str(ws), "doctor"], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "internal error" not in proc.stdout + proc.stderr
    assert path in proc.stdout and "integer too long" in proc.stdout


def test_integers_up_to_the_cap_still_load() -> None:
    from strataml.loading import MAX_INT_CHARS

    digits = b"9" * MAX_INT_CHARS
    assert load_bytes(b"x: " + digits).data == {"x": int(digits)}
    assert load_bytes(b'{"x": -' + digits[1:] + b"}", json_syntax=True).data == {"x": -int(digits[1:])}
    assert load_bytes(b'{"x": 1.' + digits + b"}", json_syntax=True).ok  # floats have no text limit
    assert [p.code for p in load_bytes(b"x: " + digits + b"9").problems] == ["TFC0001-E105"]
    assert [p.code for p in load_bytes(b'{"x": ' + digits + b"9}", json_syntax=True).problems] == ["TFC0001-E105"]


@pytest.mark.parametrize(
    "text",
    [
        b"a: 1\nb:\n  - x\n  - {c: 2}\n",
        b"a: 1\nb: 2\na: 3\n",  # a duplicate: its message names the first line
        b"a:\n  b: 1\n  b: {c: 1}\nd: [1, 2]\n",
        b"- 1\n- [a, b]\n",
        b"a: [1\n",  # a syntax error
        b"k: &x 1\nj: *x\n",  # an alias
    ],
)
def test_a_load_without_line_map_finds_what_a_load_with_one_does(tmp_path: Path, text: bytes) -> None:
    from strataml.loading import load_file

    path = tmp_path / "r.yaml"
    path.write_bytes(text)
    full, lean = load_file(path), load_file(path, lines=False)
    assert (lean.data, lean.problems) == (full.data, full.problems)
    assert lean.lines == {} and lean.source == str(path)
    for where in full.lines:
        assert lean.line_of(where) == full.line_of(where)  # read again from the file when asked


@pytest.mark.parametrize(
    "what", ["record", "broken", "empty", "too large", "fifo", "socket", "folder", "gone", "link"]
)
def test_a_load_told_the_walk_saw_a_regular_file_finds_what_a_load_that_looks_first_does(
    tmp_path: Path, what: str
) -> None:
    """load_file(regular=True) skips the stat by path (the walk's lstat saw a regular file): a
    path that is something else by the time it is read (a FIFO, a folder, gone) or that is past
    the cap gives the same answer as a load that looks first. (A socket cannot be opened, by root
    either: its failed open is looked at the usual way.)"""
    from strataml.loading import load_file

    path = tmp_path / "run.yaml"
    if what == "record":
        path.write_bytes(HEAD)
    elif what == "broken":
        path.write_bytes(b"a: [1\nb: 2\n")
    elif what == "empty":
        path.write_bytes(b"")
    elif what == "too large":
        path.write_bytes(b"a: 1\n" + b"#" * MAX_BYTES)
    elif what == "fifo":
        os.mkfifo(path)
    elif what == "socket":
        import socket

        listening = socket.socket(socket.AF_UNIX)
        listening.bind(str(path))
        listening.close()
    elif what == "folder":
        path.mkdir()
    elif what == "link":
        (tmp_path / "real.yaml").write_bytes(HEAD)
        path.symlink_to(tmp_path / "real.yaml")
    looked = load_file(path, lines=False)
    trusted = load_file(path, lines=False, regular=True)
    assert (trusted.data, trusted.problems, trusted.source) == (looked.data, looked.problems, looked.source)
    if what in ("fifo", "socket", "folder"):
        assert [p.message for p in trusted.problems] == ["not a regular file"]
    if what == "gone":
        assert trusted.problems and "check the file exists" in trusted.problems[0].hint


def test_only_a_metadata_file_the_walk_saw_as_a_regular_file_skips_the_stat(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rules' own loads tell load_file `regular` only for a walked regular file read where
    the walk saw it: not for a record outside the walk, nor through another tree (fallback)."""
    from strataml import workspace

    asked: dict[str, bool] = {}
    real = workspace.load_file

    def spy(path: str, *, lines: bool = True, regular: bool = False) -> workspace.Loaded:
        asked[os.path.relpath(path, ws)] = regular
        return real(path, lines=lines, regular=regular)

    monkeypatch.setattr(workspace, "load_file", spy)
    loaded = workspace.load(ws)
    for record in loaded.records:
        assert record.loaded is not None
    assert asked and all(asked.values())
    assert all(loaded.entries[rel].kind == "file" for rel in asked)
    asked.clear()
    elsewhere = workspace.load(ws, fallback=lambda rel: str(ws / rel))
    for record in elsewhere.records:
        assert record.loaded is not None
    assert asked and not any(asked.values())


@pytest.mark.parametrize("top", ["datasets", "experiments", "runs", "models"])
@pytest.mark.parametrize("kind", ["symlink", "file"])
def test_a_managed_folder_that_is_not_a_folder_is_a_finding(ws: Path, tmp_path: Path, top: str, kind: str) -> None:
    moved = tmp_path / f"elsewhere-{top}"
    (ws / top).rename(moved)
    if kind == "symlink":
        (ws / top).symlink_to(moved)
    else:
        (ws / top).write_text("not a folder\n")
    report = engine.doctor(ws)
    found = [(f.code, f.path) for f in report.findings if f.path == top]
    assert found == [("TFC0001-E002", top)] and report.exit_code == 2
    assert f"is a {kind}, not a folder" in next(f.message for f in report.findings if f.path == top)


@pytest.mark.parametrize(
    "command",
    [("keys", "add", "{}", "--scope", "models"), ("report", "merge", "{}", "{}")],
    ids=["keys add", "report merge"],
)
def test_a_named_file_that_never_ends_or_blocks_is_refused_unread(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    from conftest import invoke

    fifo = tmp_path / "named.fifo"
    os.mkfifo(fifo)
    for given in ("/dev/zero", str(fifo)):
        code, _out, err = invoke(ws, *(a.format(given) for a in command), capsys=capsys)
        assert code == 3 and f"{given} is not a regular file" in err, err
        assert "Traceback" not in err


def test_a_shard_report_over_the_limit_is_refused_before_it_is_parsed(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import invoke
    from strataml.doctor import merge

    big = tmp_path / "shard.json"
    big.write_bytes(b" " * 2000)
    monkeypatch.setattr(merge, "MAX_REPORT", 1000)
    code, _out, err = invoke(ws, "report", "merge", str(big), str(big), capsys=capsys)
    assert code == 3 and f"the shard report {big} is larger than 1,000 bytes" in err, err


@pytest.mark.timeout(240)
def test_json_output_escapes_c1_and_bidi_controls(ws: Path, strataml_exe: list[str]) -> None:
    """JSON escapes only U+0000-001F: a file named with U+009B (a terminal reads it as ESC [) and
    U+202E reached the terminal raw from `doctor --format json`, `--format sarif` and `index -o -`.
    Each is now its \\u escape: the same name to a parser, nothing a terminal acts on."""
    name = "x\u009b31mRED\u202e.txt"
    (ws / "datasets/flowers/1" / name).write_text("stray\n")
    for args in (("doctor", "--format", "json"), ("doctor", "--format", "sarif"), ("index", "-o", "-")):
        done = subprocess.run([*strataml_exe, "-C", str(ws), *args], capture_output=True)
        out = done.stdout.decode("utf-8")
        assert "\u009b" not in out and "\u202e" not in out, args
        # (The exact name, once parsed; SARIF names it by URI, percent-encoded.)
        assert "x%C2%9B31mRED%E2%80%AE.txt" in out if "sarif" in args else name in json.dumps(json.loads(out), ensure_ascii=False)


def test_dataset_add_of_a_file_whose_name_is_not_utf8_is_refused_by_name(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A source file named with a byte that is not UTF-8 was an internal error (its name could
    not be hashed into the version's digest); it is now refused before anything is written."""
    from conftest import invoke

    odd = os.fsencode(tmp_path) + b"/data\xff.csv"
    with open(odd, "wb") as f:
        f.write(b"a,b\n1,2\n")
    code, _out, err = invoke(ws, "dataset", "add", "odd", os.fsdecode(odd), "--version", "1", capsys=capsys)
    assert code == 3 and "its name is not UTF-8 text" in err and "data\\xff.csv" in err, err
    assert not (ws / "datasets/odd").exists()
