"""Findings and the report that carries them; nothing here prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from strataml.errors import EXIT_ERRORS, EXIT_OK, EXIT_WARNINGS


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    """One thing wrong (or worth knowing) about one file.

    Rules leave `severity` empty: the engine fills it from the registry and the workspace's
    overrides, so severity has one source.
    """

    code: str
    path: str
    message: str
    hint: str
    line: int | None = None
    severity: str = ""

    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.path, self.line or 0, self.code, self.message)

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "path": self.path,
            "line": self.line,
            "message": self.message,
            "hint": self.hint,
        }


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
