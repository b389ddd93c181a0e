"""Plain aligned tables: fast for 10,000 rows (rich's layout is not), fitted to the terminal width."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import NamedTuple

import click

from strataml import controls

MIN_WIDTH = 4


NO_LIMIT = 10**9


def width_for(stream_is_tty: bool) -> int:
    """The terminal's width; no limit for a pipe or file (a script reads whole values), unless COLUMNS says."""
    if os.environ.get("COLUMNS", "").isdecimal():  # (isdigit takes "²", which int() refuses)
        return int(os.environ["COLUMNS"])
    return shutil.get_terminal_size((80, 24)).columns if stream_is_tty else NO_LIMIT


class Rendered(NamedTuple):
    text: str
    left_out: list[str]  # the optional columns the width had no room for, in table order


def render(
    columns: list[str],
    rows: list[list[str]],
    *,
    keep: set[int],
    right: set[int],
    width: int,
    color: Callable[[str], str | None] | None = None,
    optional: frozenset[int] | set[int] = frozenset(),
) -> Rendered:
    """Columns in `keep` are never cut (ids, short words); the others shrink, widest first, to fit
    `width`; if that is not enough, `optional` columns are left out, last first (and named, for
    the caller to say so). Cells come from the repository: control characters are escaped
    (controls.shown) before widths are measured."""
    if not controls.safe_to_show("".join(columns) + "".join("".join(r) for r in rows)):
        columns, rows = [controls.shown(c) for c in columns], [[controls.shown(c) for c in r] for r in rows]
    left_out: list[str] = []
    optional = set(optional)
    while True:
        widths = [max([len(c), *[len(r[i]) for r in rows]]) for i, c in enumerate(columns)]
        # An optional column goes before a number column is cut: a cut number misleads, and a cut
        # header ("test_f…") is no name --sort takes.
        floor = sum(
            widths[i] if i in keep or i in right else min(widths[i], MIN_WIDTH) for i in range(len(widths))
        ) + 2 * (len(widths) - 1)
        if floor <= width or not optional:
            break
        drop = max(optional)
        left_out.insert(0, columns[drop])
        others = [i for i in range(len(columns)) if i != drop]
        columns, rows = [columns[i] for i in others], [[r[i] for i in others] for r in rows]
        keep, right, optional = (_without(s, drop) for s in (keep, right, optional))
    # A number column is never cut, nor its header (a cut number misleads; "test_…" names no
    # metric, and two of them look alike): past the other columns' shrinking, the line is left
    # longer than the terminal, which wraps it.
    least = [widths[i] if i in right else MIN_WIDTH for i in range(len(widths))]
    while sum(widths) + 2 * (len(widths) - 1) > width:
        shrinkable = [i for i in range(len(widths)) if i not in keep and widths[i] > least[i]]
        if not shrinkable:
            break
        text = [i for i in shrinkable if i not in right]
        shrinkable = text or shrinkable  # words shrink before numbers: a cut number misleads
        widest = max(shrinkable, key=lambda i: widths[i])
        widths[widest] -= 1
    heads = [controls.cut(c, widths[i]) for i, c in enumerate(columns)]
    lines = [_line([click.style(h, bold=True) if color else h for h in heads], heads, widths, right)]
    for r in rows:
        styled = [controls.cut(c, widths[i]) for i, c in enumerate(r)]
        shown = [click.style(s, fg=color(s)) if color and color(s) else s for s in styled]
        lines.append(_line(shown, styled, widths, right))
    return Rendered("\n".join(lines) + "\n", left_out)


def _without(indexes: set[int], drop: int) -> set[int]:
    """Column indexes once column `drop` is gone."""
    return {j - (j > drop) for j in indexes if j != drop}


def _line(shown: list[str], plain: list[str], widths: list[int], right: set[int]) -> str:
    cells = []
    for i, (s, p) in enumerate(zip(shown, plain)):
        pad = " " * (widths[i] - len(controls.cut(p, widths[i])))
        cells.append(pad + s if i in right else s + pad)
    return "  ".join(cells).rstrip()
