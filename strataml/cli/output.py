"""Where command output goes: stdout, or a file written atomically; colour only on a TTY."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from strataml.atomic import write_text


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
