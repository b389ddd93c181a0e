"""The conformance suite: small workspaces, each with the findings a conforming checker reports
(TFC-0001 section 0), and the runner that holds any checker to them.

A suite folder holds `base/` (a workspace that passes `doctor --strict`) and `cases/*.json`, each
a list of edits that turn a copy of the base into the case, and the findings expected of it:
`{"code", "path", "severity"}`, compared as a multiset (messages, hints and lines are the
checker's own). The edits are data, not code, so a runner in any language can build the cases:
write (text or base64 bytes), delete (a file, or a folder already emptied), mkdir, symlink, fifo.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strataml.controls import shown
from strataml.errors import StrataError

SUITE = Path(__file__).parent / "conformance_suite"
FORMAT = 1


@dataclass(frozen=True)
class Case:
    name: str
    why: str
    edits: list[dict[str, Any]]
    expected: list[tuple[str, str, str]]  # (code, path, severity)


@dataclass
class Outcome:
    case: Case
    found: list[tuple[str, str, str]] = field(default_factory=list)
    error: str | None = None  # the tool could not judge the case (crashed, printed no report)

    @property
    def agrees(self) -> bool:
        return self.error is None and Counter(self.found) == Counter(self.case.expected)

    def as_dict(self) -> dict[str, Any]:
        missing = Counter(self.case.expected) - Counter(self.found)
        extra = Counter(self.found) - Counter(self.case.expected)
        return {
            "case": self.case.name,
            "why": self.case.why,
            "agrees": self.agrees,
            "error": self.error,
            "missing": [list(k) for k in sorted(missing.elements())],
            "unexpected": [list(k) for k in sorted(extra.elements())],
        }


# Bounds on what a suite (which may come from anyone) can make this runner do.
MAX_CASE_BYTES = 4 * 1024 * 1024  # a case file
MAX_FILE_BYTES = 64 * 1024 * 1024  # one file a case writes (the size-limit cases need 5 MiB)
MAX_REPORT_BYTES = 64 * 1024 * 1024  # what a tool may print
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_OPS = ("write", "delete", "mkdir", "symlink", "fifo")


def cases(suite: Path = SUITE) -> list[Case]:
    """The suite's cases in name order; a malformed case file is an error naming it."""
    folder = suite / "cases"
    if not (suite / "base").is_dir() or not folder.is_dir():
        raise StrataError(f"{shown(str(suite))} is not a conformance suite", "a suite holds base/ and cases/*.json")
    return [_case(path) for path in sorted(folder.glob("*.json"))]


def _case(path: Path) -> Case:
    name = path.name[: -len(".json")]

    def bad(why: str) -> StrataError:
        return StrataError(f"{shown(str(path))}: not a conformance case ({why})", "restore the suite from its release")

    if not _NAME.fullmatch(name):
        raise bad("a case is named with letters, digits, '.', '_' and '-'")
    try:
        st = path.lstat()
        if not stat.S_ISREG(st.st_mode):
            raise bad("not a regular file")  # a FIFO would block, /dev/zero would never end
        if st.st_size > MAX_CASE_BYTES:
            raise bad(f"{st.st_size:,} bytes, more than {MAX_CASE_BYTES:,}")
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise bad(str(exc)) from None
    if not isinstance(doc, dict) or type(doc.get("format")) is not int or doc["format"] != FORMAT:
        raise bad(f"expected an object with format {FORMAT}")
    edits, expected = doc.get("edits"), doc.get("expected")
    if not isinstance(edits, list) or not all(_edit_ok(e) for e in edits):
        raise bad("edits is a list of {op, path, ...} with op one of " + ", ".join(_OPS))
    if not isinstance(expected, list) or not all(_finding_ok(f) for f in expected):
        raise bad("expected is a list of {code, path, severity}, each text")
    for edit in edits:
        if edit["op"] == "write":
            try:
                _bytes(edit, limit=MAX_FILE_BYTES)
            except (ValueError, TypeError, KeyError, binascii.Error) as exc:
                raise bad(f"write {edit['path']!r}: {exc}") from None
    found = [(f["code"], f["path"], f["severity"]) for f in expected]
    return Case(name, str(doc.get("why", "")), edits, found)


def _edit_ok(edit: object) -> bool:
    return (
        isinstance(edit, dict)
        and edit.get("op") in _OPS
        and isinstance(edit.get("path"), str)
        and bool(edit["path"])
        and "\0" not in edit["path"]
        and (edit["op"] != "symlink" or (isinstance(edit.get("to"), str) and "\0" not in edit["to"]))
    )


def _finding_ok(finding: object) -> bool:
    return isinstance(finding, dict) and all(isinstance(finding.get(k), str) for k in ("code", "path", "severity"))


def build(case: Case, base: Path, target: Path) -> None:
    """A copy of `base` in `target` with the case's edits applied; an edit never leaves `target`."""
    shutil.copytree(base, target, symlinks=True)
    for edit in case.edits:
        rel = edit["path"]
        if os.path.isabs(rel) or ".." in Path(rel).parts:
            raise StrataError(f"case {case.name}: edit path {rel!r} leaves the workspace", "fix the case file")
        where = target / rel
        # An earlier edit may have made a symlink: nothing is written through one, out of the case.
        parent = where.parent
        while not parent.exists() and parent != target:
            parent = parent.parent
        if not parent.resolve().is_relative_to(target.resolve()):
            raise StrataError(f"case {case.name}: edit path {rel!r} leads out of the workspace", "fix the case file")
        op = edit["op"]
        if op in ("write", "symlink", "fifo") and (where.is_symlink() or where.is_file()):
            where.unlink()  # an edit replaces what is there, and never writes through a link
        if op == "write":
            where.parent.mkdir(parents=True, exist_ok=True)
            where.write_bytes(_bytes(edit))
        elif op == "delete":
            if where.is_dir() and not where.is_symlink():
                where.rmdir()  # emptied by the deletes before it
            else:
                where.unlink()
        elif op == "mkdir":
            where.mkdir(parents=True, exist_ok=True)
        elif op == "symlink":
            where.parent.mkdir(parents=True, exist_ok=True)
            where.symlink_to(edit["to"])
        elif op == "fifo":
            where.parent.mkdir(parents=True, exist_ok=True)
            os.mkfifo(where)
        else:
            raise StrataError(f"case {case.name}: unknown edit {op!r}", "edits are write, delete, mkdir, symlink, fifo")


def _bytes(content: dict[str, Any], limit: int = MAX_FILE_BYTES) -> bytes:
    """A write edit's content: `text` or `base64`, then optionally `repeat` (content and `times`)
    and `then` (content): how a case states a 5 MB file in a few bytes. Never more than `limit`."""
    if "base64" in content:
        data = base64.b64decode(content["base64"], validate=True)
    elif isinstance(content.get("text"), str):
        data = content["text"].encode("utf-8")
    else:
        raise ValueError("content is text or base64")
    if "repeat" in content:
        unit, times = _bytes(content["repeat"], limit), content["repeat"].get("times")
        if type(times) is not int or times < 0 or len(data) + len(unit) * times > limit:
            raise ValueError(f"repeat.times must be a count giving at most {limit:,} bytes")
        data += unit * times
        data += _bytes(content["then"], limit) if "then" in content else b""
    if len(data) > limit:
        raise ValueError(f"more than {limit:,} bytes")
    return data


def default_tool() -> list[str]:
    return [sys.executable, "-m", "strataml", "doctor", "--format", "json", "--no-cache"]


def run(
    tool: list[str] | None = None,
    suite: Path = SUITE,
    chosen: list[Case] | None = None,
    progress: Callable[[Case], None] | None = None,
    timeout: float = 120.0,
) -> Iterator[Outcome]:
    """Each case (`chosen`, default all of `suite`'s) built in a temporary folder and judged by
    `tool` (run there; it prints the JSON report of `strataml doctor --format json`)."""
    command = tool or default_tool()
    with tempfile.TemporaryDirectory(prefix="strataml-conformance-") as scratch:
        for case in cases(suite) if chosen is None else chosen:
            if progress is not None:
                progress(case)
            where = Path(scratch) / case.name
            try:
                build(case, suite / "base", where)
            except OSError as exc:
                raise StrataError(
                    f"case {case.name}: cannot be built ({exc.strerror or exc})", "fix the case file"
                ) from None
            yield _judge(case, command, where, timeout)


def _judge(case: Case, command: list[str], where: Path, timeout: float) -> Outcome:
    # The tool's whole process group goes when it overruns, and it sees no repository above the
    # case (a case is a workspace on its own wherever the temporary folder is).
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(where.parent)}
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.Popen(
                command, cwd=where, stdout=out, stderr=subprocess.PIPE, env=env, start_new_session=True
            )
        except OSError as exc:
            return Outcome(case, error=f"{shlex.join(command)} could not run: {exc.strerror or exc}")
        try:
            _out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            return Outcome(case, error=f"no report within {timeout:g} s (stopped)")
        size = out.tell()
        if size > MAX_REPORT_BYTES:
            return Outcome(case, error=f"printed {size:,} bytes, more than a report ({MAX_REPORT_BYTES:,})")
        out.seek(0)
        raw = out.read()
    try:
        report = json.loads(raw)
        findings = report["findings"]
        if not isinstance(findings, list) or not all(_finding_ok(f) for f in findings):
            raise TypeError("findings is not a list of {code, path, severity}")
        found = [(f["code"], f["path"], f["severity"]) for f in findings]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [str(exc)]
        return Outcome(case, error=f"exit {proc.returncode}, no JSON report ({shown(tail[0][:200])})")
    return Outcome(case, found)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()
    proc.wait()
