"""Helper processes: this interpreter started again on a script, to use a second core.

A helper gets its input whole in a memory file (no pipe to keep fed, so no thread and no
SIGPIPE) and answers on a pipe. It runs with -I (no user site, no PYTHON* variables, no
current folder) and -S (no site: its .pth files are most of a start); a script that needs
installed packages puts the folders it needs on sys.path itself. Its stderr goes nowhere: a
helper's failure is its exit code, and the caller then does that part of the work itself.
"""

from __future__ import annotations

import os
import sys


class Helper:
    """A started helper: read its answer (whole, or as it comes), then stop() it, always."""

    def __init__(self, pid: int, answer: int) -> None:
        self.pid, self.answer = pid, answer
        self._done, self._status = False, -1
        self._nonblocking = False

    def read_all(self, limit: int) -> bytes | None:
        """Everything it answers, once it exited with 0; None when it failed or said more than `limit` bytes."""
        chunks, got = [], 0
        try:
            while got <= limit and (chunk := os.read(self.answer, 1 << 20)):
                chunks.append(chunk)
                got += len(chunk)
        except OSError:
            return None
        if got > limit or self.wait() != 0:
            return None
        return b"".join(chunks)

    def read_ready(self) -> bytes | None:
        """What it has answered so far without waiting (b"" when nothing yet); None once it is done."""
        if not self._nonblocking:
            os.set_blocking(self.answer, False)
            self._nonblocking = True
        chunks = []
        try:
            while chunk := os.read(self.answer, 1 << 20):
                chunks.append(chunk)
        except BlockingIOError:
            return b"".join(chunks)
        except OSError:
            return None
        # Its answer ended: what came before the end now, None when asked again.
        return b"".join(chunks) if chunks else None

    def stop(self) -> None:
        """Close its answer and reap it, killed first unless it was reaped already."""
        if self.answer >= 0:
            os.close(self.answer)
            self.answer = -1
        if not self._done:
            try:
                os.kill(self.pid, 9)  # SIGKILL (posix_spawn means POSIX)
            except OSError:
                pass
            self.wait()

    def wait(self) -> int:
        """Its exit code (negative: the signal that ended it)."""
        if self._done:
            return self._status
        try:
            _pid, status = os.waitpid(self.pid, 0)
            self._status = os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            self._status = -1
        self._done = True
        return self._status


def available() -> bool:
    """Whether helpers can start here: an interpreter to run, posix_spawn and memory files."""
    return (
        bool(sys.executable)
        and not getattr(sys, "frozen", False)  # a frozen app's executable is not python
        and hasattr(os, "posix_spawn")
        and hasattr(os, "memfd_create")
    )


def start(script: str, data: bytes, name: str) -> Helper | None:
    """`python -I -S -c script` with `data` on its stdin; None when it cannot start."""
    if not available():
        return None
    fds: list[int] = []
    try:
        memory = os.memfd_create(name)
        fds.append(memory)
        _write_all(memory, data)
        os.lseek(memory, 0, os.SEEK_SET)
        answer, out = os.pipe()
        fds += (answer, out)
        pid = os.posix_spawn(
            sys.executable,
            # -I drops PYTHONUTF8: UTF-8 mode is passed on as this process has it (it sets the
            # encoding of file names, of paths handed over as text).
            [sys.executable, "-I", "-S", "-X", f"utf8={sys.flags.utf8_mode}", "-c", script],
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, memory, 0),
                (os.POSIX_SPAWN_DUP2, out, 1),
                (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_CLOSE, answer),
            ],
        )
    except OSError:
        for fd in fds:
            os.close(fd)
        return None
    os.close(memory)
    os.close(out)
    return Helper(pid, answer)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
