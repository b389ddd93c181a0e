"""`--format text`: findings grouped by file, then one summary line."""

from __future__ import annotations

from itertools import groupby
from typing import TextIO

from strataml.controls import shown
from strataml.doctor.finding import Finding, Report
from strataml.reporters import RenderOptions
from strataml.words import counted

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}

# A line is a list of (text, rich style) pieces: written as they are without colour, so a
# plain run (CI, a pipe, a file) never loads rich (~50 ms of start-up).
Line = list[tuple[str, str]]


def render(report: Report, stream: TextIO, options: RenderOptions) -> None:
    # Paths, messages and hints come from the repository: escaped (controls.shown), a file name
    # can neither start a line of its own (a forged "OK:") nor send a terminal escape.
    lines: list[Line] = []
    for path, group in groupby(report.findings, key=lambda f: f.path):
        lines.append([(shown(path), "bold underline")])
        for finding in group:
            lines.append(_line(finding))
            lines.append([(f"      hint: {shown(finding.hint)}", "dim")])
        lines.append([])
    lines.append(summary_line(report))
    if not options.color:
        stream.write("".join(plain(line) + "\n" for line in lines))
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(
        file=stream, width=options.width, force_terminal=True, highlight=False, emoji=False, soft_wrap=True
    )
    for line in lines:
        console.print(Text.assemble(*line))


def plain(line: Line) -> str:
    return "".join(text for text, _style in line)


def _line(f: Finding) -> Line:
    where = f"{f.line}" if f.line else "-"
    return [
        ("  ", ""),
        (f"{where:>4}  ", "dim"),
        (f"{f.severity:<7}  ", _STYLE.get(f.severity, "")),
        (f"{f.code}  ", "bold"),
        (shown(f.message), ""),
    ]


def summary_line(report: Report) -> Line:
    s = report.stats
    cached = f", {s['files_cached']} unchanged since last run" if s.get("files_cached") else ""
    why = f"shard {s['shard']}/{s['shards']}" if "shard" in s and "shards" in s else "changed since --since"
    if "records" not in s:
        scope = f" ({why})"
    else:
        scope = f" of {s['records']} ({why})" if s.get("records_checked", s["records"]) != s["records"] else ""
    checked = (
        f"{counted(s.get('records_checked', s.get('records', 0)), 'record')}{scope} checked, "
        f"{counted(s.get('files_hashed', 0), 'file')} hashed ({_size(s.get('bytes_hashed', 0))}){cached}"
    )
    if s.get("no_repository"):
        checked += "; not in a git repository: what git tracks and LFS routes was not checked"
    counts = (
        f"{counted(report.errors, 'error')}, {counted(report.warnings, 'warning')}, {counted(report.infos, 'info')}"
    )
    if report.baseline_file is not None:
        checked += (
            f"; {counted(report.baseline_hidden, 'older finding')} hidden by the baseline {shown(report.baseline_file)}"
        )
    if report.exit_code == 0:
        return [(f"OK: {counts}; {checked}", "green")]
    strict = " (--strict: warnings fail)" if report.strict and report.warnings and not report.errors else ""
    style = "bold red" if report.exit_code == 2 else "yellow"
    return [
        (f"FAILED: {counts}{strict}; {checked}" if report.exit_code == 2 else f"WARNINGS: {counts}; {checked}", style)
    ]


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"
