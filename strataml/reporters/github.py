"""`--format github`: workflow commands that become annotations, plus a step summary."""

from __future__ import annotations

import os
import string
from pathlib import Path
from typing import TextIO

from strataml.controls import shown
from strataml.doctor.finding import Finding, Report
from strataml.reporters import RenderOptions, repo_path
from strataml.reporters.text import plain, summary_line
from strataml.words import counted

_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}
# ASCII punctuation Markdown may give a meaning to (CommonMark lets any of it be escaped); '/' is
# left alone so paths stay readable in the raw summary.
_PUNCTUATION = frozenset(string.punctuation) - {"/"}
# GitHub drops a step's summary above 1 MiB (15,000 stray files made 1.7 MB of rows) and refuses a
# pull-request comment above 65,536 characters: the summary stays under this, as `strataml diff
# --format markdown` does (diff/render.py takes this bound), the rows past it counted.
MAX_SUMMARY = 60_000
_ROOM_FOR_THE_REST = 300  # bytes kept for the line that says how many more findings there are


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
    being checked (nor the one the command runs in), nor where `-o` never writes (a .git folder
    of any repository, a record folder, CI's folders, a file named as git's or StrataML's own),
    nor through a symlink at its name: the variable set to strataml.yaml appended Markdown to it,
    past every guard `-o` has; set to another repository's .git/hooks/pre-commit, it wrote a hook."""
    import sys

    from strataml.cli.output import refuse_managed
    from strataml.errors import StrataError
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
    target = os.path.abspath(path)
    try:
        refuse_managed(target, Path(root) if root else None)  # (the rules -o writes by, not a copy of them)
    except StrataError as exc:
        why = exc.message.removeprefix(f"not writing {target}: ")
        print(
            f"strataml: note: GITHUB_STEP_SUMMARY names {shown(path)}, which -o refuses too ({shown(why)}): "
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


def step_summary(report: Report, options: RenderOptions, limit: int = MAX_SUMMARY) -> str:
    """The report as Markdown, at most `limit` bytes of UTF-8: as many findings' rows as fit,
    errors first when not all do, then how many more there are and where every one is listed."""
    lines = ["## strataml doctor", "", plain(summary_line(report)), ""]
    if report.findings:
        lines += ["| severity | code | file | line | message |", "|---|---|---|---|---|"]
        rows = [_row(f, options) for f in report.findings]
        size = sum(len(line.encode("utf-8")) + 1 for line in [*lines, *rows]) + 1
        if size > limit:
            rank = {"error": 0, "warning": 1, "info": 2}
            by_severity = sorted(range(len(rows)), key=lambda i: rank.get(report.findings[i].severity, 3))
            room = limit - sum(len(line.encode("utf-8")) + 1 for line in lines) - 1 - _ROOM_FOR_THE_REST
            kept = []
            for i in by_severity:
                room -= len(rows[i].encode("utf-8")) + 1
                if room < 0:
                    break
                kept.append(rows[i])
            more = len(rows) - len(kept)
            rows = [
                *kept,
                "",
                f"... and {counted(more, 'more finding')}, cut to fit a job summary or a pull-request comment "
                "(GitHub drops a larger one): the full report (`--format json`, `--format sarif` or `--format text`) "
                "lists every one.",
            ]
        lines += rows
    return "\n".join(lines) + "\n\n"


def _row(f: Finding, options: RenderOptions) -> str:
    cells = [f.severity, f"`{f.code}`", markdown_text(repo_path(f.path, options)), str(f.line or "")]
    # The fix with the finding, as every other format has it: a comment is where it is read.
    said = markdown_text(f.message) + (f"<br>hint: {markdown_text(f.hint)}" if f.hint else "")
    return "| " + " | ".join([*cells, said]) + " |"
