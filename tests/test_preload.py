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
    sys.stdout.buffer.write(preload.answer(index, *items[index]))
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
    marker = _plant(many, tmp_path)
    monkeypatch.chdir(many)
    items = _items(many)
    assert preload.load_all(items) == _single(items)
    assert not marker.exists()
    assert os.getcwd() == str(many)


def _plant(ws: Path, tmp_path: Path) -> Path:
    """Modules in the repository that a helper must never import (it would run the repository's
    code): the file each makes when imported."""
    marker = tmp_path / "imported"
    planted = f"open({str(marker)!r}, 'w').close()\n"
    (ws / "yaml.py").write_text(planted)
    (ws / "strataml").mkdir()
    (ws / "strataml" / "__init__.py").write_text(planted)
    (ws / "strataml" / "preload.py").write_text(planted)
    return marker


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


# -- Stream: loading begun while the walk lists the tree ---------------------------------------


@pytest.fixture
def streamed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A Stream for any workspace, fed after every note; the marks of the helper's answers."""
    monkeypatch.setattr(preload, "START", 1)
    monkeypatch.setattr(preload, "FEED_EVERY", 1)
    monkeypatch.setattr(preload, "POLL", 1)
    monkeypatch.setattr(preload, "cores", lambda: 2)
    marks: list[int] = []
    collect = preload.Stream._collect

    def counted(self: preload.Stream) -> None:
        low = len(self.answered)
        collect(self)
        if len(self.answered) > low:
            marks.append(len(self.answered))

    monkeypatch.setattr(preload.Stream, "_collect", counted)
    return marks


def _alone(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, ...]:
    """The findings of a run with no helper of any kind."""
    with monkeypatch.context() as m:
        m.setattr(preload, "HELPED", 10**9)
        m.setattr(engine, "_stream", lambda *a: None)
        return tuple(engine.doctor(root).findings)


def _slowed(monkeypatch: pytest.MonkeyPatch, marks: list[int]) -> list[str]:
    """This process waits for the helper's first answer before each load (however slowly it
    starts on a busy machine), so both sides load records; the paths loaded here."""
    here: list[str] = []
    real = preload._one

    def slow(kind: str, path: str) -> preload.Result:
        here.append(path)
        deadline = time.monotonic() + 0.2
        while not marks and time.monotonic() < deadline:
            time.sleep(0.01)
        return real(kind, path)

    monkeypatch.setattr(preload, "_one", slow)
    return here


def test_a_stream_finds_what_one_pass_finds(many: Path, streamed: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    alone = _alone(many, monkeypatch)
    here = _slowed(monkeypatch, streamed)
    assert engine.doctor(many).findings == alone
    assert streamed and 0 < len(here) < len(many_records(many))  # both sides loaded records


def test_a_stream_fills_an_empty_cache_and_a_warm_run_agrees(
    many: Path, streamed: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = _alone(many, monkeypatch)
    _slowed(monkeypatch, streamed)
    assert engine.doctor(many, use_cache=True).findings == alone
    assert streamed
    streamed.clear()
    run = many / "runs" / _run_id(2) / "run.yaml"
    run.write_text(run.read_text().replace("purpose: fixture", "purpose: changed"))
    age(many)
    again = engine.doctor(many, use_cache=True)  # a cache is there now: no stream, the rest from it
    assert not streamed
    assert again.findings == _alone(many, monkeypatch)


@pytest.mark.parametrize(
    "script",
    [
        "import sys; sys.exit(3)",
        "import sys; sys.stdout.buffer.write(b'garbage that is no frame at all')",
        "import sys, marshal; f = marshal.dumps((5, {}, (), True, True)); sys.stdout.buffer.write(len(f).to_bytes(4, 'little') + f)",
        "import sys, marshal; f = marshal.dumps(('x', 1)); sys.stdout.buffer.write(len(f).to_bytes(4, 'little') + f)",
        "raise RuntimeError('a traceback nobody should see')",
        "import time; time.sleep(30)",  # reads nothing, answers nothing: its pipe fills
        "import sys; sys.path += sys.argv[1:3]; from strataml import preload; preload.serve_fed(['x', 'y'])",
    ],
    ids=["refuses", "garbage", "wrong record", "wrong shape", "traceback", "silent", "another encoding"],
)
def test_a_broken_stream_helper_is_done_over(
    many: Path, streamed: list[int], monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], script: str
) -> None:
    alone = _alone(many, monkeypatch)
    monkeypatch.setattr(preload, "_FED", script)
    started = time.monotonic()
    assert engine.doctor(many).findings == alone
    assert time.monotonic() - started < 20  # never waits for a helper that does not answer
    assert not streamed
    assert capfd.readouterr().err == ""


@pytest.fixture
def weighed(many: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[tuple[object, ...], list[int]]:
    """4096 bytes to hash in the record folder the walk lists first (found with the first note):
    one pass's findings, and the notes made each time a Stream started its helper."""
    folder = min(p.parent for p in many.glob("datasets/*/*/dataset.yaml"))
    (folder / "weights.bin").write_bytes(b"w" * 4096)
    age(many)
    alone = _alone(many, monkeypatch)
    starts: list[int] = []
    start = preload.Stream._start

    def counted(self: preload.Stream) -> None:
        starts.append(len(self.found))
        start(self)

    monkeypatch.setattr(preload.Stream, "_start", counted)
    return alone, starts


def test_no_stream_helper_while_the_files_to_hash_outweigh_the_records(
    many: Path, streamed: list[int], weighed: tuple[tuple[object, ...], list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # One byte hashed a second: nothing outweighs the file, no helper starts, the rules load every record.
    alone, starts = weighed
    monkeypatch.setattr(preload, "HASHED_PER_SECOND", 1)
    assert engine.doctor(many).findings == alone
    assert starts == [] and not streamed


def test_a_stream_helper_starts_once_the_records_outweigh_the_hashing(
    many: Path, streamed: list[int], weighed: tuple[tuple[object, ...], list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The file weighs as much as 40.5 records' loads: the helper starts at the 41st note (asked
    # again as the walk finds more), and the findings are one pass's.
    alone, starts = weighed
    monkeypatch.setattr(preload, "HASHED_PER_SECOND", 4096 * preload.LOADS_PER_SECOND / 2 / 40.5)
    _slowed(monkeypatch, streamed)
    assert engine.doctor(many).findings == alone
    assert starts == [41] and streamed


_ANSWERS_THEN_DEATH = """\
import sys, os
sys.path += sys.argv[1:3]
from strataml import preload
items = sys.stdin.buffer.read(4096).split(b"\\0")[:3]
for index, item in enumerate(items):
    sys.stdout.buffer.write(preload.answer(index, preload._KIND_OF[item[0]], os.fsdecode(item[1:])))
sys.stdout.buffer.write(b"\\xff\\x00\\x00\\x00half a frame")
sys.stdout.flush()
os._exit(1)
"""


def test_what_a_stream_helper_answered_before_it_died_stands(
    many: Path, streamed: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = _alone(many, monkeypatch)
    monkeypatch.setattr(preload, "_FED", _ANSWERS_THEN_DEATH)
    _slowed(monkeypatch, streamed)
    assert engine.doctor(many).findings == alone
    assert streamed and max(streamed) <= 3


def test_no_stream_without_an_interpreter_or_with_a_cache(
    many: Path, streamed: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = _alone(many, monkeypatch)
    engine.doctor(many, use_cache=True)
    streamed.clear()
    assert engine.doctor(many, use_cache=True).findings == alone  # answered from the cache
    monkeypatch.setattr(sys, "executable", "")
    assert engine.doctor(many).findings == alone
    assert not streamed


def test_the_stream_helper_imports_nothing_from_the_repository(
    many: Path, streamed: list[int], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    alone = _alone(many, monkeypatch)
    marker = _plant(many, tmp_path)
    monkeypatch.chdir(many)
    _slowed(monkeypatch, streamed)
    assert engine.doctor(many).findings == alone
    assert streamed and not marker.exists()


@pytest.mark.parametrize(
    "rel, kind",
    [
        ("datasets/sales/1/dataset.yaml", "dataset"),
        ("models/churn/3/model.yaml", "model"),
        ("runs/20260101T000000Z-x/run.yaml", "run"),
        ("experiments/baseline.yaml", "experiment"),
        ("datasets/sales/1/model.yaml", None),
        ("datasets/sales/dataset.yaml", None),
        ("runs/20260101T000000Z-x/inner/run.yaml", None),
        ("runs/run.yaml", None),
        ("experiments/nested/baseline.yaml", None),
        ("tfc/keys/keys.yaml", None),
    ],
)
def test_a_note_is_made_where_a_record_s_metadata_stands(rel: str, kind: str | None) -> None:
    assert preload.meta_kind(rel) == kind


def test_the_stream_notes_only_regular_files(many: Path, streamed: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    # A metadata file that is a link, a folder where one should be: not noted, and the rules say why.
    (many / "runs" / _run_id(3) / "run.yaml").unlink()
    (many / "runs" / _run_id(3) / "run.yaml").symlink_to("../../outside.yaml")
    (many / "runs" / _run_id(4) / "run.yaml").unlink()
    (many / "runs" / _run_id(4) / "run.yaml").mkdir()
    age(many)
    alone = _alone(many, monkeypatch)
    noted: list[str] = []
    take = preload.Stream.take

    def watched(self: preload.Stream, listing: list[object]) -> None:
        take(self, listing)  # type: ignore[arg-type]
        noted[:] = [rel for _kind, rel in self.found]

    monkeypatch.setattr(preload.Stream, "take", watched)
    assert engine.doctor(many).findings == alone
    assert noted and not any(_run_id(3) in rel or _run_id(4) in rel for rel in noted)
