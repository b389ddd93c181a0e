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
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


def cases(suite: Path = SUITE) -> list[Case]:
    """The suite's cases in name order; a malformed case file is an error naming it."""
    folder = suite / "cases"
    if not (suite / "base").is_dir() or not folder.is_dir():
        raise StrataError(f"{suite} is not a conformance suite", "a suite holds base/ and cases/*.json")
    out = []
    for path in sorted(folder.glob("*.json")):
        try:
            doc = json.loads(path.read_text("utf-8"))
            if doc.get("format") != FORMAT:
                raise ValueError(f"format {doc.get('format')!r}, expected {FORMAT}")
            expected = [(f["code"], f["path"], f["severity"]) for f in doc["expected"]]
            out.append(Case(path.stem, str(doc.get("why", "")), list(doc["edits"]), expected))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StrataError(f"{path}: not a conformance case ({exc})", "restore the suite from the release") from None
    return out


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


def _bytes(content: dict[str, Any]) -> bytes:
    """A write edit's content: `text` or `base64`, then optionally `repeat` (content and `times`)
    and `then` (content): how a case states a 5 MB file in a few bytes."""
    data = base64.b64decode(content["base64"]) if "base64" in content else content["text"].encode("utf-8")
    if "repeat" in content:
        data += _bytes(content["repeat"]) * int(content["repeat"]["times"])
        data += _bytes(content["then"]) if "then" in content else b""
    return data


def default_tool() -> list[str]:
    return [sys.executable, "-m", "strataml", "doctor", "--format", "json", "--no-cache"]


def run(
    tool: list[str] | None = None,
    suite: Path = SUITE,
    only: Callable[[Case], bool] | None = None,
    progress: Callable[[Case], None] | None = None,
) -> Iterator[Outcome]:
    """Each case built in a temporary folder and judged by `tool` (run there; it prints the JSON
    report of `strataml doctor --format json`)."""
    command = tool or default_tool()
    with tempfile.TemporaryDirectory(prefix="strataml-conformance-") as scratch:
        for case in cases(suite):
            if only is not None and not only(case):
                continue
            if progress is not None:
                progress(case)
            where = Path(scratch) / case.name
            build(case, suite / "base", where)
            yield _judge(case, command, where)


def _judge(case: Case, command: list[str], where: Path) -> Outcome:
    try:
        done = subprocess.run(command, cwd=where, capture_output=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Outcome(case, error=f"{shlex.join(command)} could not run: {exc}")
    try:
        report = json.loads(done.stdout)
        found = [(f["code"], f["path"], f["severity"]) for f in report["findings"]]
    except (ValueError, KeyError, TypeError):
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        return Outcome(case, error=f"exit {done.returncode}, no JSON report ({tail[0][:200]})")
    return Outcome(case, found)
