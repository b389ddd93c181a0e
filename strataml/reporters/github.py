"""`--format github`: workflow commands that become annotations, plus a step summary."""

from __future__ import annotations

import os
from typing import TextIO

from strataml.doctor.finding import Report
from strataml.reporters import RenderOptions, repo_path
from strataml.reporters.text import plain, summary_line

_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


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


def step_summary(report: Report, options: RenderOptions) -> str:
    lines = ["## strataml doctor", "", plain(summary_line(report)), ""]
    if report.findings:
        lines += ["| severity | code | file | line | message |", "|---|---|---|---|---|"]
        for f in report.findings:
            cells = [f.severity, f"`{f.code}`", f"`{repo_path(f.path, options)}`", str(f.line or ""), f.message]
            lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines) + "\n\n"
