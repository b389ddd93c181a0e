"""Standard streams a shell closed (`strataml list runs >&-`, `strataml doctor 2>&-`).

Python starts with sys.stdout (or stderr, stdin) set to None when its descriptor is closed, and
the first write then fails as an internal error. Worse, the descriptor is free: the next file
strataml opens (a temporary index, a cache) would get it, and a child process told to inherit
stdout would write into that file. So each closed descriptor is given /dev/null before anything
runs. A closed stdout, or one open for reading only (`1</dev/null`), is then refused before the
command starts (main()): a command that has done its work (a promotion, a new record) and only
then fails to print would exit 3 with its change made, and a verdict or a listing must not
vanish with exit 0 either. stdout's copy is opened read-only all the same, so that a write that
slips through fails ("Bad file descriptor"). stderr's copy is writable: diagnostics with nowhere
to go are dropped and the exit code still tells the result.
"""

from __future__ import annotations

import codecs
import io
import locale
import os
import sys

_FLAGS = (os.O_RDONLY, os.O_RDONLY, os.O_WRONLY)  # stdin, stdout (writes fail), stderr


def mend_closed() -> bool:
    """Give every closed standard descriptor /dev/null, and Python a stream for it; whether
    stdout cannot be written: closed, or open for reading only (`1</dev/null`)."""
    stdout_closed = not _writable(1)
    for fd, flags in enumerate(_FLAGS):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        try:
            opened = os.open(os.devnull, flags)
        except OSError:
            return stdout_closed  # no /dev/null: leave things as Python made them
        if opened != fd:  # a lower descriptor was closed too and is mended first, so rarely
            os.dup2(opened, fd)
            os.close(opened)
        _attach(fd)
    return stdout_closed


def _writable(fd: int) -> bool:
    """Whether `fd` is open for writing (True where the system cannot say)."""
    try:
        import fcntl

        return fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE != os.O_RDONLY
    except ImportError:  # no fcntl (Windows): only a closed descriptor is known
        try:
            os.fstat(fd)
        except OSError:
            return False
        return True
    except OSError:  # closed
        return False


def _attach(fd: int) -> None:
    encoding = locale.getpreferredencoding(False)
    if fd == 0:
        if sys.stdin is None:
            sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding=encoding)
        return
    stream = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(fd, "w", closefd=False)),
        encoding=encoding,
        errors="backslashreplace" if fd == 2 else "strict",
        line_buffering=fd == 2,
    )
    if fd == 1 and sys.stdout is None:
        sys.stdout = stream
    elif fd == 2 and sys.stderr is None:
        sys.stderr = stream


def stdout_fails(error: OSError) -> bool:
    """Whether `error` (one with no file name) is stdout's: what it kept fails to flush again, or
    an empty write to its descriptor fails the same way (a closed stdout, /dev/full)."""
    stream = sys.stdout
    try:
        if stream is not None:
            stream.flush()
        os.write(1, b"")
    except OSError as again:
        return again.errno == error.errno
    except ValueError:
        return True
    return False


ESCAPE = "strataml-escape"


def _escape(error: UnicodeError) -> tuple[str, int]:
    """Each character the stream's encoding cannot hold, as its `\\uNNNN` escape (a pair past
    the BMP): JSON reads it back as that character, and a person sees which one it was."""
    from strataml.controls import json_escape

    if not isinstance(error, UnicodeEncodeError):
        raise error
    return "".join(map(json_escape, error.object[error.start : error.end])), error.end


def escape_unencodable() -> None:
    """stdout in an encoding that cannot hold every character (PYTHONIOENCODING=ascii, a C locale
    without UTF-8 mode, cp1252 where output is redirected on Windows): a record's é or a file
    name's emoji was an internal error, the findings lost. They are written as escapes instead."""
    codecs.register_error(ESCAPE, _escape)
    stream = sys.stdout
    if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
        try:
            stream.reconfigure(errors=ESCAPE)
        except (ValueError, OSError):  # (a stream already used in a way that forbids it)
            pass


class _Dropping(io.RawIOBase):
    """stderr's descriptor, whose writes never fail: what cannot be written is dropped."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def write(self, data: bytes) -> int:  # type: ignore[override]
        try:
            return os.write(self._fd, data)
        except OSError:
            return len(data)


def forgive_stderr() -> None:
    """Diagnostics with nowhere to go are dropped, as for a closed stderr (mend_closed): a full
    disk or a pipe gone under stderr (`2>/dev/full`) made a command that had done its work an
    exception and exit 1, which reads as "warnings" in the doctor's exit codes."""
    stream = sys.stderr
    if not isinstance(stream, io.TextIOWrapper):
        return
    try:
        if stream.fileno() != 2:
            return
    except (OSError, ValueError):  # (no descriptor of its own: a capture, a test's stream)
        return
    try:
        stream.flush()
    except (OSError, ValueError):
        pass
    sys.stderr = io.TextIOWrapper(
        io.BufferedWriter(_Dropping(2)),
        encoding=stream.encoding,
        errors="backslashreplace",
        line_buffering=True,
    )
