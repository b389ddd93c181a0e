"""The conformance suite: small workspaces, each with the findings a conforming checker reports
(TFC-0001 section 0), and the runner that holds any checker to them.

A suite folder holds `base/` (a workspace that passes `doctor --strict`) and `cases/*.json`, each
a list of edits that turn a copy of the base into the case, and the findings expected of it:
`{"code", "path", "severity"}`, compared as a multiset (messages, hints and lines are the
checker's own). The edits are data, not code, so a runner in any language can build the cases:
write (text or base64 bytes), delete (a file, or a folder already emptied), mkdir, symlink, fifo.

The format is described for other implementations in the suite's README.md. Format 2 adds what a
plain folder cannot hold. `git: {"commits": [[edits]...], "since": N}`: the
base is committed (commit 0), each list of edits is applied and committed in turn (commits 1..),
then `edits` are applied to the working tree, uncommitted; with `since` the checker is given
`--since` and commit N's id. `options: {"require_content": true}` gives it `--require-content`.
Signatures and pinned keys are plain files (made once with throw-away keys), so they need no field.
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
FORMAT = 2
FORMATS = (1, 2)  # format 1: no git, no options


@dataclass(frozen=True)
class Case:
    name: str
    why: str
    edits: list[dict[str, Any]]
    expected: list[tuple[str, str, str]]  # (code, path, severity)
    commits: tuple[list[dict[str, Any]], ...] | None = None  # None: not a git repository
    since: int | None = None  # the commit the checker compares with (--since)
    require_content: bool = False

    def flags(self, ids: list[str]) -> list[str]:
        """What the checker is given beyond its own command, once the case is built (`ids`: its commits)."""
        out = ["--since", ids[self.since]] if self.since is not None else []
        return out + (["--require-content"] if self.require_content else [])


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
MAX_CASE_WRITES = 256 * 1024 * 1024  # everything one case writes, all edits of all commits together
GIT_TIMEOUT = 120.0  # one git command of the runner's own
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_OPS = ("write", "delete", "mkdir", "symlink", "fifo")


def cases(suite: Path = SUITE) -> list[Case]:
    """The suite's cases in name order; a malformed case file is an error naming it."""
    folder = suite / "cases"
    if not (suite / "base").is_dir() or not folder.is_dir():
        raise StrataError(f"{shown(str(suite))} is not a conformance suite", "a suite holds base/ and cases/*.json")
    found = [_case(path) for path in sorted(folder.glob("*.json"))]
    if not found:  # (agreeing with 0 of 0 cases would pass a checker nothing was asked of)
        raise StrataError(f"{shown(str(suite))} holds no case", "a suite holds its cases as cases/*.json")
    return found


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
    if not isinstance(doc, dict) or type(doc.get("format")) is not int or doc["format"] not in FORMATS:
        raise bad(f"expected an object with format {' or '.join(map(str, FORMATS))}")
    if doc["format"] == 1 and ("git" in doc or "options" in doc):
        raise bad("git and options need format 2")
    edits, expected = doc.get("edits"), doc.get("expected")
    if not isinstance(expected, list) or not all(_finding_ok(f) for f in expected):
        raise bad("expected is a list of {code, path, severity}, each text")
    git, options = doc.get("git"), doc.get("options", {})
    commits: list[object] | None = None
    since = None
    if git is not None:
        if not isinstance(git, dict) or set(git) - {"commits", "since"} or not isinstance(git.get("commits", []), list):
            raise bad('git is {"commits": [[edits]...], "since": N}')
        commits, since = git.get("commits", []), git.get("since")
        if since is not None and (type(since) is not int or not 0 <= since <= len(commits)):
            raise bad(f"git.since is a commit number, 0 (the base) to {len(commits)}")
    if (
        not isinstance(options, dict)
        or set(options) - {"require_content"}
        or not all(type(v) is bool for v in options.values())
    ):
        raise bad('options is {"require_content": true|false}')
    total = 0
    for step in [edits, *(commits or [])]:
        if not isinstance(step, list) or not all(_edit_ok(e) for e in step):
            raise bad("edits are lists of {op, path, ...} with op one of " + ", ".join(_OPS))
        for edit in step:
            if commits is not None and _names_git(edit["path"]):
                # git reads a nested repository's config when it adds the folder around it
                # (core.fsmonitor, filters): a case with a history holds no .git of any kind.
                raise bad(f"edit path {edit['path']!r} names a .git, which a case with git history may not")
            if edit["op"] == "write":
                try:
                    total += _size(edit, limit=MAX_FILE_BYTES)
                    _bytes(edit, limit=MAX_FILE_BYTES)
                except (ValueError, TypeError, KeyError, AttributeError, binascii.Error) as exc:
                    raise bad(f"write {edit['path']!r}: {exc}") from None
                if total > MAX_CASE_WRITES:
                    raise bad(f"its edits write more than {MAX_CASE_WRITES:,} bytes in all")
    found = [(f["code"], f["path"], f["severity"]) for f in expected]
    return Case(
        name,
        str(doc.get("why", "")),
        edits,  # type: ignore[arg-type]
        found,
        None if commits is None else tuple(commits),  # type: ignore[arg-type]
        since,
        bool(options.get("require_content", False)),
    )


def _edit_ok(edit: object) -> bool:
    return (
        isinstance(edit, dict)
        and edit.get("op") in _OPS
        and isinstance(edit.get("path"), str)
        and bool(edit["path"])
        and "\0" not in edit["path"]
        and (edit["op"] != "symlink" or (isinstance(edit.get("to"), str) and "\0" not in edit["to"]))
    )


def _names_git(path: str) -> bool:
    return any(part.casefold() == ".git" for part in path.replace("\\", "/").split("/"))


def _finding_ok(finding: object) -> bool:
    return isinstance(finding, dict) and all(isinstance(finding.get(k), str) for k in ("code", "path", "severity"))


def build(case: Case, base: Path, target: Path) -> list[str]:
    """A copy of `base` in `target` with the case's commits and edits applied; the commit ids, in
    order (none when the case is not a repository). An edit never leaves `target` or enters its
    `.git` (a suite may come from anyone, and git runs what its configuration says)."""
    _check_base(base)
    shutil.copytree(base, target, symlinks=True)
    ids: list[str] = []
    if case.commits is not None:
        _git(target, "init", "-q")
        ids.append(_commit(target, "base"))
        for number, step in enumerate(case.commits, 1):
            _apply(case, step, target)
            ids.append(_commit(target, f"commit {number}"))
    _apply(case, case.edits, target)
    return ids


def _check_base(base: Path) -> None:
    """A base holds folders, regular files and symlinks only (a device would be copied forever, a
    FIFO would block), and no .git anywhere (git would run what its config says)."""
    for folder, dirs, files in os.walk(base):
        for name in dirs + files:
            path = Path(folder) / name
            rel = path.relative_to(base)
            if name.casefold() == ".git":
                raise StrataError(
                    f"the suite's base holds {shown(str(rel))}", "a base is a plain folder: cases say their history"
                )
            mode = path.lstat().st_mode
            if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
                raise StrataError(
                    f"the suite's base holds {shown(str(rel))}, which is neither a file, a folder nor a symlink",
                    "a base holds files, folders and symlinks only: restore the suite from its release",
                )


# The case's own repository, made alike everywhere: no user or system configuration (no hooks,
# no signing, no LFS filters: what a case commits is stored as it is), fixed names and dates.
_GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "conformance",
    "GIT_AUTHOR_EMAIL": "conformance@example.org",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_NAME": "conformance",
    "GIT_COMMITTER_EMAIL": "conformance@example.org",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}


def _git(where: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    # No fsmonitor, no hooks whatever a config says; no command of the runner's own runs forever.
    command = ["git", "-c", "core.fsmonitor=false", "-c", f"core.hooksPath={os.devnull}", *args]
    try:
        done = subprocess.run(
            command,
            cwd=where,
            env={**env, **_GIT_ENV},
            capture_output=True,
            text=True,
            check=False,
            timeout=GIT_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise StrataError(f"git {args[0]} took more than {GIT_TIMEOUT:g} s", "fix the case file") from None
    except OSError as exc:
        raise StrataError(f"git could not run ({exc.strerror or exc})", "cases with a git history need git") from None
    if done.returncode != 0:
        raise StrataError(f"git {args[0]} failed: {shown(done.stderr.strip()[-300:])}", "fix the case file")
    return done.stdout.strip()


def _commit(where: Path, message: str) -> str:
    _git(where, "add", "-A")
    _git(where, "commit", "-q", "--allow-empty", "--no-verify", "-m", message)
    return _git(where, "rev-parse", "HEAD")


def _apply(case: Case, edits: list[dict[str, Any]], target: Path) -> None:
    for edit in edits:
        rel = edit["path"]
        if os.path.isabs(rel) or ".." in Path(rel).parts:
            raise StrataError(f"case {case.name}: edit path {rel!r} leaves the workspace", "fix the case file")
        where = target / rel
        # An earlier edit may have made a symlink: nothing is written through one, out of the case.
        parent = where.parent
        while not parent.exists() and parent != target:
            parent = parent.parent
        inside = parent.resolve()
        if not inside.is_relative_to(target.resolve()):
            raise StrataError(f"case {case.name}: edit path {rel!r} leads out of the workspace", "fix the case file")
        top = (inside / where.relative_to(parent)).relative_to(target.resolve()).parts[:1]
        if top and top[0].casefold() == ".git":
            raise StrataError(f"case {case.name}: edit path {rel!r} enters the repository's .git", "fix the case file")
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


def _size(content: Any, limit: int = MAX_FILE_BYTES, depth: int = 0) -> int:
    """How many bytes a write edit's content makes, worked out without making them (so a case
    cannot ask the runner to build and drop terabytes); an error past `limit`."""
    if not isinstance(content, dict) or depth > 16:
        raise ValueError("content is an object (text or base64, then repeat and then), nested at most 16 deep")
    if "base64" in content:
        if not isinstance(content["base64"], str):
            raise ValueError("base64 is text")
        size = len(content["base64"]) * 3 // 4
    elif isinstance(content.get("text"), str):
        size = len(content["text"].encode("utf-8"))
    else:
        raise ValueError("content is text or base64")
    if "then" in content and "repeat" not in content:
        raise ValueError("then comes after a repeat")
    if "repeat" in content:
        times = content["repeat"].get("times") if isinstance(content["repeat"], dict) else None
        if type(times) is not int or times < 0:
            raise ValueError("repeat is an object with a content and a count, times")
        size += _size(content["repeat"], limit, depth + 1) * times
        size += _size(content["then"], limit, depth + 1) if "then" in content else 0
    if size > limit:
        raise ValueError(f"more than {limit:,} bytes")
    return size


def _bytes(content: dict[str, Any], limit: int = MAX_FILE_BYTES) -> bytes:
    """A write edit's content: `text` or `base64`, then optionally `repeat` (content and `times`)
    and `then` (content): how a case states a 5 MB file in a few bytes. Never more than `limit`
    (_size() says so before anything is built)."""
    _size(content, limit)
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
    # -P: the case folder it runs in is never on the import path (a suite may come from anyone,
    # and a case that writes strataml/__main__.py would otherwise be the checker it runs).
    return [sys.executable, "-P", "-m", "strataml", "doctor", "--format", "json", "--no-cache"]


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
                ids = build(case, suite / "base", where)
            except OSError as exc:
                raise StrataError(
                    f"case {case.name}: cannot be built ({exc.strerror or exc})", "fix the case file"
                ) from None
            yield _judge(case, [*command, *case.flags(ids)], where, timeout)


def _anchored(path: str) -> str:
    """PYTHONPATH with its entries meant for where strataml was started: an empty or relative
    one would name the case's folder, the checker's working directory (a case that writes
    strataml/__main__.py would be the checker), so it is made absolute here, or dropped."""
    return os.pathsep.join(os.path.abspath(p) for p in path.split(os.pathsep) if p)


def _judge(case: Case, command: list[str], where: Path, timeout: float) -> Outcome:
    # The tool's whole process group goes when it overruns, and it sees no repository above the
    # case (a case is a workspace on its own wherever the temporary folder is).
    # A GIT_DIR or GIT_WORK_TREE of the caller's would point the checker's git at another repository.
    moved = {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR"}
    env = {k: v for k, v in os.environ.items() if k not in moved}
    env["GIT_CEILING_DIRECTORIES"] = str(where.parent)
    if "PYTHONPATH" in env:
        env["PYTHONPATH"] = _anchored(env["PYTHONPATH"])
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
        except BaseException:
            # Ctrl-C reaches this process's group, not the checker's own session: it is stopped
            # here, with what it started, as an overrun is.
            _kill(proc)
            raise
        size = out.tell()
        if size > MAX_REPORT_BYTES:
            return Outcome(case, error=f"printed {size:,} bytes, more than a report ({MAX_REPORT_BYTES:,})")
        out.seek(0)
        raw = out.read()
    try:
        report = json.loads(raw)
        if not isinstance(report, dict) or "findings" not in report:
            raise TypeError("the JSON printed has no findings list (a report of `strataml doctor --format json`)")
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
