"""`--format github`: workflow commands that become annotations, plus a step summary."""

from __future__ import annotations

import os
import string
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
        with open(summary_file, "a", encoding="utf-8") as fh:
            fh.write(step_summary(report, options))


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
