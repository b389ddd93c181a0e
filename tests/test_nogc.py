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
