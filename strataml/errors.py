"""The few exception types and the exit codes, in one place.

Exit codes are part of the CLI contract, the same for every command: 0 done, 1 warnings,
2 errors found or an action refused by a rule, 3 the tool could not run, 130 interrupted.
CI must tell "the repository is bad" (1, 2) from "the tool could not run" (3).
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


class NotARecord(StrataError):
    """A ref (or path) whose record folder is there but holds no readable metadata file: "no
    record" and a list of other records sent people looking elsewhere."""

    def __init__(self, text: str, folder: str, meta: str) -> None:
        super().__init__(
            f"{text} is not a record: {folder}/ holds no readable {meta}",
            "`strataml doctor` says what is wrong with it",
        )


class WorkspaceNotFound(StrataError):
    """No strataml.yaml in the directory or any parent."""


class Refusal(StrataError):
    """An action a contract rule does not allow, or on a record the doctor finds errors in:
    exit 2, as the doctor's for errors found (the message names the finding codes it can)."""

    exit_code = EXIT_ERRORS


class RecordExists(Refusal):
    """A command would overwrite an immutable record."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C after a command recorded what it had done so far; `note` says where (exit 130)."""

    def __init__(self, note: str) -> None:
        super().__init__(note)
        self.note = note
