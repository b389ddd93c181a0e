"""`--format text`: findings grouped by file, then one summary line."""

from __future__ import annotations

from itertools import groupby
from typing import TextIO

from rich.console import Console
from rich.text import Text

from strataml.doctor.finding import Finding, Report
from strataml.reporters import RenderOptions

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def render(report: Report, stream: TextIO, options: RenderOptions) -> None:
    console = Console(file=stream, width=options.width, force_terminal=options.color, no_color=not options.color,
                      highlight=False, emoji=False, soft_wrap=True)
    for path, group in groupby(report.findings, key=lambda f: f.path):
        console.print(Text(path, style="bold underline"))
        for finding in group:
            console.print(_line(finding))
            console.print(Text(f"      hint: {finding.hint}", style="dim"))
        console.print()
    console.print(summary_line(report))


def _line(f: Finding) -> Text:
    where = f"{f.line}" if f.line else "-"
    text = Text("  ")
    text.append(f"{where:>4}  ", style="dim")
    text.append(f"{f.severity:<7}  ", style=_STYLE.get(f.severity, ""))
    text.append(f"{f.code}  ", style="bold")
    text.append(f.message)
    return text


def summary_line(report: Report) -> Text:
    s = report.stats
    cached = f", {s['files_cached']} unchanged since last run" if s.get("files_cached") else ""
    if "records" not in s:
        scope = " (changed since --since)"
    else:
        scope = f" of {s['records']} (changed since --since)" if s.get("records_checked", s["records"]) != s["records"] else ""
    checked = (f"{_n(s.get('records_checked', s.get('records', 0)), 'record')}{scope} checked, "
               f"{_n(s.get('files_hashed', 0), 'file')} hashed ({_size(s.get('bytes_hashed', 0))}){cached}")
    counts = f"{_n(report.errors, 'error')}, {_n(report.warnings, 'warning')}, {_n(report.infos, 'info')}"
    if report.exit_code == 0:
        return Text(f"OK: {counts}; {checked}", style="green")
    strict = " (--strict: warnings fail)" if report.strict and report.warnings and not report.errors else ""
    style = "bold red" if report.exit_code == 2 else "yellow"
    return Text(f"FAILED: {counts}{strict}; {checked}" if report.exit_code == 2 else f"WARNINGS: {counts}; {checked}", style=style)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"
