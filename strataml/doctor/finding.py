"""Findings and the report that carries them; nothing here prints."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from strataml.errors import EXIT_ERRORS, EXIT_OK, EXIT_WARNINGS

if TYPE_CHECKING:
    from strataml.records import FileEntry, Record


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


# Characters a finding's message or hint may hold. Both often quote the file they judge, and a
# hostile file must not turn one finding into megabytes of output (400,000 unknown keys, listed).
MAX_TEXT = 1024


def bounded(text: str, limit: int = MAX_TEXT) -> str:
    """`text` cut to at most `limit` characters, ending with how much was cut."""
    if len(text) <= limit:
        return text
    keep = limit - 48  # room for the tail below, whatever the count
    return f"{text[:keep]}... and {len(text) - keep:,} more characters"


@dataclass(frozen=True)
class Finding:
    """One thing wrong (or worth knowing) about one file.

    Rules leave `severity` empty: the engine fills it from the registry and the workspace's
    overrides, so severity has one source. Message and hint are bounded here, once for every
    rule (see MAX_TEXT).
    """

    code: str
    path: str
    message: str
    hint: str
    line: int | None = None
    severity: str = ""

    def __post_init__(self) -> None:
        if len(self.message) > MAX_TEXT:
            object.__setattr__(self, "message", bounded(self.message))
        if len(self.hint) > MAX_TEXT:
            object.__setattr__(self, "hint", bounded(self.hint))

    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.path, self.line or 0, self.code, self.message)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        """The finding as_dict() wrote (a report, a shard, the saved index, the cache); a missing
        or empty hint or line is none."""
        return cls(d["code"], d["path"], d["message"], d.get("hint") or "", d.get("line"), d["severity"])

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "path": self.path,
            "line": self.line,
            "message": self.message,
            "hint": self.hint,
        }


# What changes in a message while the problem stays the same: hashes, times, and numbers standing
# alone (sizes, counts, line numbers, metric values). A number inside a name stays: `files/3/size`,
# `part-0003.csv`, `dataset:flowers@2`, a run id's date, a quoted key `'2023'`, an uppercase key
# fingerprint say which thing the finding is about.
_VOLATILE = re.compile(
    r"(?<![0-9A-Za-z@'\"])[0-9a-f]{12,}(?![0-9A-Za-z'\"])"  # a hash (lowercase hex), or a prefix of one
    r"|(?<![\w'\"-])[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?"
    r"|(?<![\w@/.:\['\"-])[+-]?[0-9]+(?:[.,:][0-9]+)*(?:[eE][+-]?[0-9]+)?(?![\w/\]'\"-])"
)


def fingerprints(findings: Iterable[Finding]) -> list[str]:
    """A fingerprint per finding that survives unrelated edits: its code, its path, and its message
    with hashes, times and free-standing numbers masked (a file edited again keeps its mismatch's
    fingerprint; the line a finding sits on may move), numbers inside names kept (two bad entries
    of one file stay two problems). Findings still alike are told apart by their order (`#2`,
    `#3`, ...), the way code scanning counts repeated alerts on one file."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for f in findings:
        # A count of findings not listed is the problem itself: more of them is another finding.
        stable = f.message if f.message.startswith("... and ") else _VOLATILE.sub("#", f.message)
        digest = hashlib.sha256(f"{f.code}\0{f.path}\0{stable}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
        seen[digest] = seen.get(digest, 0) + 1
        out.append(digest if seen[digest] == 1 else f"{digest}#{seen[digest]}")
    return out


# Findings of one code about one file that are listed one by one; one more finding counts the
# rest. 30,000 bad entries in one hostile file would otherwise be 30,000 findings per rule.
MAX_REPEATS = 50


class Repeats:
    """Lets through at most MAX_REPEATS findings per (path, code); `rest()` then counts the others.

    Dropping repeats never changes a verdict: the code, and so its severity, stays reported."""

    def __init__(self, limit: int = MAX_REPEATS) -> None:
        self.limit = limit
        self._seen: dict[tuple[str, str], list[Any]] = {}  # (path, code) -> [count, hint, last line]
        self._done = False

    def admit(self, findings: Iterable[Finding]) -> Iterator[Finding]:
        for finding in findings:
            if self._done or self._count(finding) <= self.limit:
                yield finding

    def rest(self, _ctx: object = None) -> Iterator[Finding]:
        """One finding per (path, code) that had more than `limit`: how many were not listed."""
        self._done = True  # what follows is the count itself, let through whole
        for (path, code), (count, hint, line) in self._seen.items():
            if count > self.limit:
                message = f"... and {count - self.limit:,} more {code} findings in this file, not listed"
                yield Finding(code, path, message, hint, line)

    def _count(self, finding: Finding) -> int:
        seen = self._seen.get((finding.path, finding.code))
        if seen is None:
            self._seen[(finding.path, finding.code)] = [1, finding.hint, finding.line]
            return 1
        seen[0] += 1
        if finding.line is not None:
            seen[2] = max(seen[2] or 0, finding.line)
        return int(seen[0])


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]
    stats: dict[str, int] = field(default_factory=dict)
    strict: bool = False
    # Signed files (workspace path) -> {"status": signed | invalid, "signers": [...]}: for viewers.
    signatures: dict[str, dict[str, object]] = field(default_factory=dict)
    # The Workspace the rules ran over (None when the last run's findings were reused), so a
    # caller that needs the records too does not load them a second time.
    workspace: object = field(default=None, compare=False, repr=False)
    # The verdict depends on more than the files (the clock, local LFS objects): nothing may
    # keep it as fresh for as long as the files stay the same (the doctor's cache, the saved index).
    volatile: bool = field(default=False, compare=False)
    # With --baseline: the fingerprints of the findings left (taken before any was hidden, so a
    # hidden one does not shift the ordinals of the rest), the file, and how many it hid.
    prints: tuple[str, ...] | None = field(default=None, compare=False)
    baseline_file: str | None = None
    baseline_hidden: int = 0
    # With --since: the commit whose policy judged (REF's tip, resolved once with the merge
    # base); a baseline is read from it too.
    policy_commit: str | None = field(default=None, compare=False)
    # With --since: where the change left REF (the merge base; REF's tip when none is known).
    since_base: str | None = field(default=None, compare=False)
    # With --shard: which shard, of how many, of which commit and options (report merge checks them).
    shard: dict[str, Any] | None = field(default=None, compare=False)

    def fingerprints(self) -> list[str]:
        return list(self.prints) if self.prints is not None else fingerprints(self.findings)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity.value)

    @property
    def errors(self) -> int:
        return self.count(Severity.ERROR)

    @property
    def warnings(self) -> int:
        return self.count(Severity.WARNING)

    @property
    def infos(self) -> int:
        return self.count(Severity.INFO)

    @property
    def exit_code(self) -> int:
        if self.errors or (self.strict and self.warnings):
            return EXIT_ERRORS
        if self.warnings:
            return EXIT_WARNINGS
        return EXIT_OK

    def summary(self) -> dict[str, int]:
        return {"errors": self.errors, "warnings": self.warnings, "infos": self.infos, "exit_code": self.exit_code}


def about_pinned(code: str, record: Record, entry: FileEntry, what: str, hint: str, *, at_path: bool = True) -> Finding:
    """A finding about one file a record pins, on its metadata, at the line that names the file
    (the entry's `path` key, or with `at_path=False` the list item)."""
    line = record.line(entry.field, entry.index, "path") if at_path else record.line(entry.field, entry.index)
    return Finding(code, record.meta, f"{entry.field}[{entry.index}].path '{entry.path}' {what}", hint, line)
