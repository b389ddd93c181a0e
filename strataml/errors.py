"""The few exception types and the exit codes, in one place.

Exit codes are part of the CLI contract: CI must tell "the repository is bad" (1, 2) from
"the tool could not run" (3).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_WARNINGS = 1
EXIT_ERRORS = 2
EXIT_TOOL_FAILURE = 3


class StrataError(Exception):
    """A failure the user can act on: printed as one line, exit code 3.

    `hint` says what to do about it; it is printed after the message. `details` are further
    reasons, one line each (a spec that cannot run lists every problem).
    """

    exit_code = EXIT_TOOL_FAILURE

    def __init__(self, message: str, hint: str | None = None, details: tuple[str, ...] | list[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = tuple(details)

    def __str__(self) -> str:
        text = "\n".join([self.message, *(f"  - {d}" for d in self.details)])
        return text if not self.hint else f"{text} ({self.hint})"


class WorkspaceNotFound(StrataError):
    """No strataml.yaml in the directory or any parent."""


class RecordExists(StrataError):
    """A command would overwrite an immutable record."""
