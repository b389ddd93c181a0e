"""Helper processes: this interpreter started again on a script, to use a second core.

A helper gets its input whole in a memory file (no pipe to keep fed, so no thread and no
SIGPIPE) and answers on a pipe; one started before its input is known (start_fed) is fed
through a pipe the caller writes without ever waiting. It runs with -I (no user site, no
PYTHON* variables, no current folder) and -S (no site: its .pth files are most of a start); a script that needs
installed packages puts the folders it needs on sys.path itself. Its stderr goes nowhere: a
helper's failure is its exit code, and the caller then does that part of the work itself.
"""

from __future__ import annotations

import os
import sys

from strataml import atomic


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
    try:
        memory = os.memfd_create(name)
    except OSError:
        return None
    try:
        atomic.write_all(memory, data)
        os.lseek(memory, 0, os.SEEK_SET)
        started = _launch(script, [], memory)
    except OSError:
        started = None
    os.close(memory)
    return Helper(*started) if started is not None else None


def _launch(script: str, args: list[str], stdin: int, keep: int = -1) -> tuple[int, int] | None:
    """Spawn the helper reading `stdin`: (its pid, the read end of its answer pipe), or None.
    `keep`: a descriptor of the caller's it must not hold (the feed's write end)."""
    try:
        answer, out = os.pipe()
    except OSError:
        return None
    try:
        widen(answer)
        closes = [(os.POSIX_SPAWN_CLOSE, fd) for fd in (answer, keep) if fd >= 0]
        pid = os.posix_spawn(
            sys.executable,
            # -I drops PYTHONUTF8: UTF-8 mode is passed on as this process has it (it sets the
            # encoding of file names, of paths handed over as text).
            [sys.executable, "-I", "-S", "-X", f"utf8={sys.flags.utf8_mode}", "-c", script, *args],
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, stdin, 0),
                (os.POSIX_SPAWN_DUP2, out, 1),
                (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
                *closes,
            ],
        )
    except OSError:
        os.close(answer)
        return None
    finally:
        os.close(out)
    return pid, answer


class Fed(Helper):
    """A helper whose input comes on a pipe as the caller finds it (start_fed)."""

    def __init__(self, pid: int, answer: int, feed: int) -> None:
        super().__init__(pid, answer)
        self.feed = feed

    def send(self, data: bytes | bytearray) -> int:
        """Write what the pipe takes now without waiting: the bytes written (0 when it is full),
        -1 once the helper cannot take more (it exited, or the feed was ended)."""
        if self.feed < 0:
            return -1
        try:
            return os.write(self.feed, data)
        except BlockingIOError:
            return 0
        except OSError:  # (a broken pipe: SIGPIPE is ignored or only noted, so the write fails instead)
            self._end()
            return -1

    def _end(self) -> None:
        """No more input: the helper sees the end of it once it has read what was sent."""
        if self.feed >= 0:
            os.close(self.feed)
            self.feed = -1

    def stop(self) -> None:
        self._end()
        super().stop()


PIPE_BYTES = 1 << 20  # asked for both pipes of a fed helper, so neither side waits on the other


def start_fed(script: str, args: list[str]) -> Fed | None:
    """`python -I -S -c script ARGS...` reading its input from a pipe fed with Fed.send(); None when it cannot start."""
    if not available():
        return None
    try:
        source, feed = os.pipe()
    except OSError:
        return None
    try:
        widen(feed)
        os.set_blocking(feed, False)
        started = _launch(script, args, source, keep=feed)
    except OSError:
        started = None
    os.close(source)
    if started is None:
        os.close(feed)
        return None
    return Fed(*started, feed)


def widen(fd: int) -> None:
    """A pipe of PIPE_BYTES where the system allows it (Linux); the default (64 KiB) otherwise."""
    import fcntl

    size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if size is not None:
        try:
            fcntl.fcntl(fd, size, PIPE_BYTES)
        except OSError:
            pass  # past /proc/sys/fs/pipe-max-size, or another system's limit: the default serves
