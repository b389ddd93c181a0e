"""The collector is paused for bulk work and always comes back, also after an error."""

from __future__ import annotations

import gc

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
