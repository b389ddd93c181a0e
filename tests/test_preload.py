"""Records loaded on two cores (strataml.preload) give what one pass gives, whatever the helper does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import age

from strataml import preload
from strataml.doctor import engine
from strataml.loading import load_file
from strataml.schemas import plainly_valid

RUN = "runs/20260101T000000Z-sales-forecast-a1b2c3"


@pytest.fixture
def helped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preload, "HELPED", 1)  # the helper for any number of records
    monkeypatch.setattr(preload, "cores", lambda: 2)


def _run_id(i: int) -> str:
    return f"20260101T{i // 3600:02}{i // 60 % 60:02}{i % 60:02}Z-sales-forecast-a1b2c3"


@pytest.fixture
def many(ws: Path) -> Path:
    """The positive workspace with 80 more runs, some of them broken in every way a load or a schema can be."""
    text = (ws / RUN / "run.yaml").read_text()
    for i in range(1, 81):
        folder = ws / "runs" / _run_id(i)
        shutil.copytree(ws / RUN, folder)
        run = folder / "run.yaml"
        body = text.replace("20260101T000000Z-sales-forecast-a1b2c3", _run_id(i))
        if i % 9 == 0:
            body = body.replace("status: succeeded", "status: maybe")  # a schema violation
        if i % 13 == 0:
            body += "metrics: [unclosed\n"  # a syntax error
        if i == 5:
            body += "seed: 4\n"  # a duplicate key: its line is needed
        if i == 10:
            body = body.replace("strataml/run/v1", "strataml/run/v1.3") + "x-later: 1\nlater_field: 2\n"
        run.write_bytes(
            {6: b"", 7: b"\xef\xbb\xbf" + body.encode(), 8: body.encode().replace(b"fixture", b"fi\xffture")}.get(
                i, body.encode()
            )
        )
    age(ws)
    return ws


def test_a_full_run_finds_what_one_pass_finds(many: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preload, "HELPED", 10**9)
    alone = engine.doctor(many).findings
    assert {f.code for f in alone} >= {"TFC0001-E105", "TFC0001-E108", "TFC0001-E103", "TFC0001-E102"}

    monkeypatch.setattr(preload, "HELPED", 1)
    monkeypatch.setattr(preload, "cores", lambda: 2)
    here, theirs = both_sides(monkeypatch)
    helped = engine.doctor(many)
    assert helped.findings == alone
    assert theirs and 0 < len(here) < len(many_records(many))  # both sides loaded records


def both_sides(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[int]]:
    """This process slowed until the helper has answered (however slowly it starts on a busy
    machine): (the paths loaded here, the marks of the helper's answers)."""
    here: list[str] = []
    theirs: list[int] = []
    real, answered = preload._one, preload._answered

    def slow(kind: str, path: str) -> preload.Result:
        here.append(path)
        if not theirs:
            time.sleep(0.05)
        return real(kind, path)

    def counted(*args: object) -> int | None:
        low = answered(*args)  # type: ignore[arg-type]
        if low is not None and low < args[-1]:  # type: ignore[operator]
            theirs.append(low)
        return low

    monkeypatch.setattr(preload, "_one", slow)
    monkeypatch.setattr(preload, "_answered", counted)
    monkeypatch.setattr(preload, "POLL", 1)
    return here, theirs


def many_records(root: Path) -> list[object]:
    from strataml.workspace import load

    return list(load(root).records)


def test_the_cache_keeps_what_the_helper_loaded(many: Path, helped: None, monkeypatch: pytest.MonkeyPatch) -> None:
    _here, theirs = both_sides(monkeypatch)
    first = engine.doctor(many, use_cache=True).findings
    assert theirs  # the helper's loads went into the cache
    monkeypatch.undo()
    run = many / "runs" / _run_id(1) / "run.yaml"
    run.write_text(run.read_text().replace("purpose: fixture", "purpose: changed"))
    age(many)
    monkeypatch.setattr(preload, "HELPED", 10**9)
    reused = engine.doctor(many, use_cache=True)  # every other record from the cache
    assert reused.findings == engine.doctor(many).findings == first


def _items(root: Path) -> list[tuple[str, str]]:
    runs = sorted((root / "runs").glob("*/run.yaml"))
    items = [("run", str(p)) for p in runs]
    items += [("run", str(root / "runs" / "gone.yaml")), ("run", str(root / "runs")), ("dataset", str(runs[0]))]
    return items


def _single(items: list[tuple[str, str]]) -> list[preload.Result]:
    out = []
    for kind, path in items:
        loaded = load_file(path, lines=False)
        out.append((loaded, loaded.data is not None and plainly_valid(kind, loaded.data)))
    return out


def test_load_all_is_one_pass(many: Path, helped: None, monkeypatch: pytest.MonkeyPatch) -> None:
    items = _items(many)
    here, theirs = both_sides(monkeypatch)
    assert preload.load_all(items) == _single(items)
    assert theirs and len(here) < len(items)


_FRAMES_THEN_DEATH = """\
import sys, marshal, os
path, items = marshal.loads(sys.stdin.buffer.read())
sys.path[:0] = path
from strataml import preload
for index in range(len(items) - 1, len(items) - 4, -1):
    loaded, valid = preload._one(*items[index])
    problems = tuple((p.code, p.message, p.hint, p.line) for p in loaded.problems)
    frame = marshal.dumps((index, loaded.data, problems, valid, loaded.source is not None))
    sys.stdout.buffer.write(len(frame).to_bytes(4, "little") + frame)
sys.stdout.buffer.write(b"\\xff\\x00\\x00\\x00half a frame")
sys.stdout.flush()
os._exit(1)
"""


@pytest.mark.parametrize(
    "script",
    [
        "import sys; sys.exit(3)",
        "import sys; sys.stdout.buffer.write(b'garbage that is no frame at all')",
        "import sys, marshal; f = marshal.dumps((0, {}, (), True, True)); sys.stdout.buffer.write(len(f).to_bytes(4, 'little') + f)",
        "import sys, marshal; f = marshal.dumps(('x', 1)); sys.stdout.buffer.write(len(f).to_bytes(4, 'little') + f)",
        "raise RuntimeError('a traceback nobody should see')",
        _FRAMES_THEN_DEATH,
    ],
    ids=["refuses", "garbage", "wrong record", "wrong shape", "traceback", "dies mid-frame"],
)
def test_a_broken_helper_is_done_over(
    many: Path, helped: None, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], script: str
) -> None:
    items = _items(many)
    monkeypatch.setattr(preload, "_HELPER", script)
    real = preload._one
    monkeypatch.setattr(preload, "_one", lambda kind, path: time.sleep(0.002) or real(kind, path))
    assert preload.load_all(items) == _single(items)
    assert capfd.readouterr().err == ""


def test_no_interpreter_means_the_rules_load_as_ever(many: Path, helped: None, monkeypatch: pytest.MonkeyPatch) -> None:
    alone = engine.doctor(many).findings
    monkeypatch.setattr(sys, "executable", "")
    assert preload.load_all(_items(many)) is None
    assert engine.doctor(many).findings == alone


def test_the_helper_imports_nothing_from_the_repository(
    many: Path, helped: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    marker = tmp_path / "imported"
    planted = f"open({str(marker)!r}, 'w').close()\n"
    (many / "yaml.py").write_text(planted)
    (many / "strataml").mkdir()
    (many / "strataml" / "__init__.py").write_text(planted)
    (many / "strataml" / "preload.py").write_text(planted)
    monkeypatch.chdir(many)
    items = _items(many)
    assert preload.load_all(items) == _single(items)
    assert not marker.exists()
    assert os.getcwd() == str(many)


def test_a_helper_reading_names_in_another_encoding_refuses(
    many: Path, helped: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its paths would name other files: it does nothing, and this process does it all.
    items = _items(many)
    monkeypatch.setattr(preload, "_encoding", lambda: ("iso8859-1", "surrogateescape"))
    real = preload._one
    monkeypatch.setattr(preload, "_one", lambda kind, path: time.sleep(0.002) or real(kind, path))
    answered = []
    real_answered = preload._answered
    monkeypatch.setattr(preload, "_answered", lambda *a: answered.append(r := real_answered(*a)) or r)  # type: ignore[arg-type]
    assert preload.load_all(items) == _single(items)
    assert set(answered) <= {len(items), None}  # not one record from the helper


@pytest.mark.parametrize("mode", ["0", "1"])
def test_a_helper_runs_in_the_utf8_mode_of_its_caller(mode: str) -> None:
    # -I drops PYTHONUTF8, and the mode decides how file names are encoded.
    script = (
        "from strataml import spawn; h = spawn.start('import sys; print(sys.flags.utf8_mode, "
        "sys.getfilesystemencoding())', b'', 'test'); print(h.read_all(100).decode().strip()); h.stop()"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(preload.__file__).parent.parent)}
    out = subprocess.run([sys.executable, "-X", f"utf8={mode}", "-c", script], capture_output=True, text=True, env=env)
    mine = subprocess.run(
        [
            sys.executable,
            "-X",
            f"utf8={mode}",
            "-c",
            "import sys; print(sys.flags.utf8_mode, sys.getfilesystemencoding())",
        ],
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == mine.stdout.strip() and out.stdout.startswith(mode)


def test_no_helper_while_hashing_keeps_every_core_busy(many: Path, helped: None) -> None:
    from strataml.workspace import load

    # 2 TB to hash beside ~90 records: a third process would only add its start.
    assert preload.preload(load(many), None, hashing=2 * 10**12) == 0
    assert preload.preload(load(many), None, hashing=10**6) == len(load(many).records)
