"""Where command output goes: stdout, or a file written atomically; colour only on a TTY."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from strataml.atomic import write_text

# Hashing this much takes about a second here (SHA-NI, page cache warm): worth a bar.
MOMENT_BYTES = 512 * 1024 * 1024


def wants_color(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


def emit(output: Path | None, write: Callable[[TextIO, bool], None]) -> None:
    """Run `write(stream, color)` into stdout or, atomically, into `output`."""
    if output is None:
        write(sys.stdout, wants_color(sys.stdout))
        sys.stdout.flush()
        return
    buffer = io.StringIO()
    write(buffer, False)
    write_text(output, buffer.getvalue())


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Callable[[int, int], Callable[[int], None] | None] | None]:
    """A hashing progress bar on a terminal for work that takes more than a moment.

    Yields a factory the doctor calls with (files, bytes) before hashing; it returns a tick
    function, or None when no bar is wanted (not a TTY, CI, machine-readable output, small job).
    """
    if not enabled or not sys.stderr.isatty() or os.environ.get("CI"):
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    bar = Progress(
        TextColumn("hashing {task.fields[files]} files"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        transient=True,
        console=Console(stderr=True),
    )

    def start(files: int, total: int) -> Callable[[int], None] | None:
        if total < MOMENT_BYTES:
            return None
        if not bar.live.is_started:
            bar.start()
        task = bar.add_task("hash", total=total, files=files)
        return lambda n: bar.advance(task, n)

    try:
        yield start
    finally:
        if bar.live.is_started:
            bar.stop()
