"""The collector is paused for bulk work and always comes back, also after an error."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from strataml.nogc import bulk


def test_paused_inside_restored_after_and_after_an_error() -> None:
    seen: list[bool] = []

    @bulk
    def inner() -> None:
        seen.append(gc.isenabled())

    @bulk
    def outer(fail: bool) -> None:
        inner()
        seen.append(gc.isenabled())  # the nested call left it to the outermost
        if fail:
            raise ValueError("boom")

    assert gc.isenabled()
    outer(False)
    assert seen == [False, False] and gc.isenabled()
    with pytest.raises(ValueError):
        outer(True)
    assert gc.isenabled()
    gc.disable()
    try:
        outer(False)
        assert not gc.isenabled()  # paused by someone else: not switched on behind their back
    finally:
        gc.enable()


def test_a_one_shot_process_freezes_what_bulk_work_leaves_and_a_server_does_not() -> None:
    from strataml import nogc

    @bulk
    def work() -> list[dict[str, int]]:
        return [{"n": i} for i in range(1000)]

    before = gc.get_freeze_count()
    try:
        nogc.one_shot()
        kept = work()
        assert gc.isenabled() and gc.get_freeze_count() >= before + len(kept)
        gc.unfreeze()
        nogc.one_shot(False)
        kept = work()
        assert gc.isenabled() and gc.get_freeze_count() == 0
    finally:
        nogc.one_shot(False)
        gc.unfreeze()


def test_the_command_line_is_one_shot_and_serve_is_not(ws, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from importlib.util import find_spec

    from conftest import invoke

    from strataml import nogc
    from strataml.cli import main
    from strataml.errors import StrataError

    seen: list[bool] = []
    monkeypatch.setattr(main, "run", lambda argv=None: seen.append(nogc._one_shot) or 0)
    monkeypatch.setattr(nogc, "end", sys.exit)  # (the real one would end pytest itself)
    try:
        with pytest.raises(SystemExit):
            main.main(["--version"])
        assert seen == [True]
        if find_spec("uvicorn") is None or find_spec("fastapi") is None:
            return  # the core-only job: serve needs its extra (the full job runs the rest)
        from strataml.read import server

        def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
            seen.append(nogc._one_shot)
            raise StrataError("stop here", "a test")

        monkeypatch.setattr(server, "create_app", refuse)
        monkeypatch.undo()
        monkeypatch.setattr(server, "create_app", refuse)
        code, _out, err = invoke(ws, "serve", "--port", "0", capsys=capsys)
        assert code == 3 and "stop here" in err
        assert seen == [True, False]
    finally:
        nogc.one_shot(False)
        gc.unfreeze()


def _ended(body: str, tmp_path: Path, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    """`body` run in a fresh one-shot interpreter that then ends through nogc.end(7)."""
    script = tmp_path / "ending.py"
    script.write_text(
        "import atexit, sys, threading, time\nfrom strataml import nogc\nnogc.one_shot()\n"
        + textwrap.dedent(body)
        + "\nnogc.end(7)\n"
    )
    # Block-buffered output, as a command piped or redirected has (whatever this shell set).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "env": env, **kwargs}
    return subprocess.run([sys.executable, str(script)], timeout=60, **streams)  # type: ignore[call-overload]


def test_a_one_shot_exit_keeps_its_code_its_output_and_its_exit_handlers(tmp_path: Path) -> None:
    """Skipping the teardown loses nothing a normal exit gives: buffered output (here more than
    a pipe holds, unflushed), what atexit was asked to do, the exit code; kept objects are held."""
    done = _ended(
        """
        atexit.register(lambda: print("handler ran", file=sys.stderr))
        nogc.keep([{"n": i} for i in range(10_000)])
        assert len(nogc._kept) == 1
        for i in range(50_000):
            print(i)
        print("last line")
        """,
        tmp_path,
    )
    assert done.returncode == 7, done.stderr
    assert done.stdout == "".join(f"{i}\n" for i in range(50_000)).encode() + b"last line\n"
    assert done.stderr == b"handler ran\n"


def test_a_one_shot_exit_waits_for_a_thread_that_is_not_a_daemon(tmp_path: Path) -> None:
    done = _ended(
        """
        def late():
            time.sleep(0.3)
            print("the thread finished", flush=True)
        threading.Thread(target=late).start()
        """,
        tmp_path,
    )
    assert done.returncode == 7 and done.stdout == b"the thread finished\n", done.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_one_shot_exit_whose_output_cannot_be_written_fails_as_any_exit_does(tmp_path: Path) -> None:
    """stdout on a full disk: the interpreter's own path reports it and exits 120, never 0 (nor 7)
    with the output silently lost."""
    with open("/dev/full", "wb") as full:
        done = _ended('sys.stdout.write("a verdict nobody will read\\n")', tmp_path, stdout=full)
    assert done.returncode == 120 and b"No space left on device" in done.stderr


def test_keep_holds_nothing_outside_a_one_shot_process() -> None:
    from strataml import nogc

    nogc.one_shot(False)
    nogc.keep(object())
    assert nogc._kept == []


def test_a_run_ends_through_the_usual_teardown(monkeypatch: pytest.MonkeyPatch) -> None:
    """`strataml run` executes plugin code, which may leave files open: no skipped teardown there."""
    from strataml import nogc
    from strataml.cli import main

    seen: list[bool] = []
    monkeypatch.setattr(nogc, "end", lambda code: (seen.append(nogc._one_shot), sys.exit(code)))
    try:
        with pytest.raises(SystemExit):
            main.main(["run", "no-such-spec-anywhere"])
        assert seen == [False]
    finally:
        nogc.one_shot(False)
        gc.unfreeze()


def test_a_one_shot_command_holds_what_it_built_to_its_end(ws: Path) -> None:
    """What a command built stays held as it returns, not freed object by object (a cold doctor
    on 10k records: ~22 ms; a cold index ~27 ms; show ~8 ms): the process ends right after."""
    from strataml import nogc
    from strataml.cli.main import run

    def held(*args: str) -> set[str]:
        nogc._kept.clear()
        assert run(["-C", str(ws), *args]) in (0, 1)
        return {type(o).__name__ for o in nogc._kept}

    try:
        nogc.one_shot()
        assert "Report" in held("doctor")
        assert {"Walked", "dict"} <= held("index", "--timestamp")
        assert "dict" in held("list", "runs")
        assert "Graph" in held("show", "run:20260101T000000Z-sales-forecast-a1b2c3")
        nogc.one_shot(False)
        assert held("doctor") == set()  # a server frees as it goes
    finally:
        nogc.one_shot(False)
        nogc._kept.clear()
        gc.unfreeze()
