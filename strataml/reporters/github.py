"""`--format github`: workflow commands that become annotations, plus a step summary."""

from __future__ import annotations

import os
import string
from pathlib import Path
from typing import TextIO

from strataml.controls import shown
from strataml.doctor.finding import Report
from strataml.reporters import RenderOptions, repo_path
from strataml.reporters.text import plain, summary_line

_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}
# ASCII punctuation Markdown may give a meaning to (CommonMark lets any of it be escaped); '/' is
# left alone so paths stay readable in the raw summary.
_PUNCTUATION = frozenset(string.punctuation) - {"/"}


def escape_data(value: str) -> str:
    """GitHub's escapes for '%', CR and LF, then every other control character made visible as
    text output shows it: the job log renders terminal escapes, which a file name must not send."""
    return shown(_github(value))


def escape_property(value: str) -> str:
    """As escape_data, but a character that prints as nothing (a bidi mark, a zero-width space) stays:
    `file=` must name the file (such a name is legal; the doctor warns of it, TFC0001-W004)."""
    return shown(_github(value), hidden=False).replace(":", "%3A").replace(",", "%2C")


def _github(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def render(report: Report, stream: TextIO, options: RenderOptions) -> None:
    for f in report.findings:
        props = [f"file={escape_property(repo_path(f.path, options))}"]
        if f.line:
            props.append(f"line={f.line}")
        props.append(f"title={escape_property(f.code)}")
        stream.write(f"::{_COMMAND[f.severity]} {','.join(props)}::{escape_data(f'{f.message} (hint: {f.hint})')}\n")
    stream.write(plain(summary_line(report)) + "\n")
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        _append_summary(summary_file, step_summary(report, options), options.root)


def _append_summary(path: str, text: str, root: str) -> None:
    """Append the job summary to the runner's file, never into the workspace or the repository
    being checked (nor the one the command runs in) nor through a symlink at its name: the
    variable set to strataml.yaml appended Markdown to it, past every guard `-o` has."""
    import sys

    from strataml.rootdir import repo_top

    kept = [repo_top(Path.cwd())]
    if root:
        kept += [Path(root), repo_top(Path(root))]
    real = os.path.realpath(path) + os.sep
    if any(real.startswith(os.path.realpath(top).rstrip(os.sep) + os.sep) for top in kept if top is not None):
        print(
            f"strataml: note: GITHUB_STEP_SUMMARY names {shown(path)}, inside the repository being checked: "
            "no job summary written",
            file=sys.stderr,
        )
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:  # (the annotations and the verdict stand without it)
        why = "it is a symbolic link" if os.path.islink(path) else exc.strerror or str(exc)
        print(f"strataml: note: no job summary written to {shown(path)}: {shown(why)}", file=sys.stderr)


def markdown_text(value: str) -> str:
    """Repository text as literal Markdown: ASCII punctuation backslash-escaped, so a file name
    cannot close a code span, open a link or an image, or start HTML in the job page; line breaks
    and controls become visible escapes."""
    return "".join("\\" + c if c in _PUNCTUATION else c for c in shown(value))


def step_summary(report: Report, options: RenderOptions) -> str:
    lines = ["## strataml doctor", "", plain(summary_line(report)), ""]
    if report.findings:
        lines += ["| severity | code | file | line | message |", "|---|---|---|---|---|"]
        for f in report.findings:
            cells = [f.severity, f"`{f.code}`", markdown_text(repo_path(f.path, options)), str(f.line or "")]
            lines.append("| " + " | ".join([*cells, markdown_text(f.message)]) + " |")
    return "\n".join(lines) + "\n\n"
