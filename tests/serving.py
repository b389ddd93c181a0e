"""A real `strataml serve` for the tests: the console script in a subprocess on a free loopback
port, spoken to over real HTTP (the standard library's http.client, or a raw socket where a test
needs bytes no client library would send)."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVING = re.compile(r"^Serving .* at http://(?:127\.0\.0\.1|0\.0\.0\.0):(\d+)/", re.M)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # lower-cased names (uvicorn sends each once)
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()


@dataclass
class Server:
    """`strataml -C WS serve --port 0 ARGS`, started, read until it prints its URL."""

    exe: list[str]
    ws: Path
    logs: Path
    args: tuple[str, ...] = ()
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    stopped: tuple[int, str] | None = field(default=None)

    def start(self, timeout: float = 30.0) -> Server:
        self.logs.mkdir(parents=True, exist_ok=True)
        self._out = self.logs / "stdout.txt"
        self._err = self.logs / "stderr.txt"
        with self._out.open("wb") as out, self._err.open("wb") as err:
            self.proc = subprocess.Popen(
                [*self.exe, "-C", str(self.ws), "serve", "--port", "0", *self.args],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                cwd=self.logs,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = SERVING.search(self._out.read_text("utf-8", "replace"))
            if found:
                self.port = int(found.group(1))
                break
            if self.proc.poll() is not None:
                raise AssertionError(f"strataml serve exited {self.proc.returncode}: {self.stderr()}")
            time.sleep(0.05)
        else:
            self.proc.kill()
            raise AssertionError(f"strataml serve printed no URL in {timeout} s: {self.stderr()}")
        # Listening as soon as it printed (the socket is bound first); wait until it answers.
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("strataml serve does not accept connections")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def stdout(self) -> str:
        return self._out.read_text("utf-8", "replace")

    def stderr(self) -> str:
        return self._err.read_text("utf-8", "replace")

    def request(
        self,
        method: str,
        target: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = 30.0,
    ) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, target, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
        finally:
            conn.close()

    def get(self, target: str, headers: dict[str, str] | None = None) -> Answer:
        return self.request("GET", target, headers)

    def ok_json(self, target: str) -> Any:
        answer = self.get(target)
        assert answer.status == 200, (target, answer.status, answer.body[:500])
        assert answer.type == "application/json", (target, answer.headers)
        return answer.json()

    def raw(self, request: bytes, timeout: float = 10.0) -> bytes:
        """Send bytes as they are; everything the server sends back until it closes."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(request)
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks)

    def stop(self, timeout: float = 15.0) -> tuple[int, str]:
        """Ctrl-C: (exit code, stderr)."""
        if self.stopped is not None:
            return self.stopped
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.stopped = (-1, self.stderr() + f"\n[did not stop within {timeout} s of SIGINT: killed]")
                return self.stopped
        self.stopped = (self.proc.returncode, self.stderr())
        return self.stopped


def listing(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every entry under root (directories too): kind, size, mtime in ns."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            st = path.lstat()
            kind = "dir" if path.is_dir() and not path.is_symlink() else "file"
            out[str(path.relative_to(root))] = (kind, st.st_size if kind == "file" else 0, st.st_mtime_ns)
    return out
