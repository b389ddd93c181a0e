"""`strataml diff [REF]`: what a change does to the workspace, for a pull request's reviewer."""

from __future__ import annotations

import re
from pathlib import Path

import click

from strataml.cli.choice import Choice
from strataml.cli.given import Given
from strataml.cli.main import State
from strataml.cli.output import emit, progress_bar
from strataml.diff.render import FORMATS


@click.command(short_help="What the working tree changes since REF, in one report.")
@click.argument("ref", required=False)
@click.option(
    "--format",
    "fmt",
    type=Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for people, markdown for a pull request (job summary or comment), json for scripts.",
)
@click.option(
    "-o",
    "--output",
    type=Given(dir_okay=False, path_type=Path),
    help='Write to FILE (atomically) instead of stdout, e.g. "$GITHUB_STEP_SUMMARY".',
)
@click.option(
    "--baseline",
    metavar="FILE",
    type=Given(dir_okay=False, path_type=Path),
    help="Count no finding FILE holds, as `doctor --strict --since REF --baseline FILE` (the gate that "
    "adopted it) counts none; a FILE in the repository is read as REF holds it.",
)
@click.pass_obj
def diff(state: State, ref: str | None, fmt: str, output: Path | None, baseline: Path | None) -> int:
    """What the working tree changes since REF, in one report: records added, changed and
    removed; promotions (who, why); signatures and trusted keys; each new run's metrics beside
    the experiment's last run and the production model, with the direction that counts as
    better; new model versions' gates; and the doctor's findings split into new, fixed and
    unchanged (matched by code, path and fingerprint, not by line).

    \b
    REF defaults to the default branch (origin/HEAD, else origin/main, main, master); the change
    is judged from where it left REF (the merge base), as `doctor --since REF` judges it. The
    change is the working tree as it is: to report on another branch, check it out first.

    \b
    Exit codes: 0 the report was made (whatever it says; `doctor --strict` is the gate),
    3 it could not be made (no such revision, not a repository).

    \b
    Examples:
      strataml diff
      strataml diff origin/main --format markdown -o "$GITHUB_STEP_SUMMARY"
      strataml diff HEAD~3 --format json
      strataml diff origin/main --baseline .strataml-baseline.json   # a gate that adopted a baseline
    """
    from strataml.gitfacts import SINCE_HINT, default_base, need_git, prefetch_changes

    root = state.root()
    need_git(root, SINCE_HINT)
    if ref is not None and not ref.strip():
        # CI's `strataml diff "$BASE"` with BASE unset must not quietly become a diff against another base.
        raise click.BadParameter("is empty (is the variable that holds the base revision set?)", param_hint="REF")
    if ref is not None and (".." in ref or _SUFFIX_RANGE.search(ref)):
        raise click.BadParameter(_range_said(ref), param_hint="REF")
    if baseline is not None and str(baseline) == "-":
        raise click.UsageError("--baseline needs a file, not -: the baseline is a file committed beside the workspace")
    ref = ref or default_base(root)
    if ref is not None:
        prefetch_changes(root, ref)  # git lists the changes while the rest of the report's code loads
    from strataml.diff.compute import make
    from strataml.diff.render import render

    with progress_bar(enabled=fmt == "text" and output is None) as bar:
        doc = make(root, ref, progress=bar, baseline=baseline)
    emit(output, lambda stream, _color: render(doc, fmt, stream), root)
    return 0


# git's ranges of one commit's parents: X^! (X against its parents), X^@ (its parents), X^-N
_SUFFIX_RANGE = re.compile(r"\^(!|@|-[0-9]*)$")


def _range_said(ref: str) -> str:
    """What to do instead of a range (git's A..B): diff compares the working tree with one revision."""
    suffix = _SUFFIX_RANGE.search(ref)
    if suffix is not None:  # (X^! and X^-: what X changes since its first parent)
        tip = ref[: suffix.start()] or "HEAD"
        ref = f"{tip}^..{tip}"
    base, _, tip = ref.partition("...") if "..." in ref else ref.partition("..")
    said = "names a range; diff compares the working tree (the change) with one revision"
    if not tip or tip == "HEAD":  # (A.. is what the checkout changes since A: the working tree is it)
        return f"{said}: run `strataml diff {base or 'HEAD'}` here"
    then = (
        f"`strataml diff {base}` there"
        if base
        else "`strataml diff SHA` there, SHA being what `git rev-parse HEAD` says before you switch"
    )
    return (
        f"{said}: to report what {tip} changes, check it out first (`git switch {tip}` for a branch, "
        f"`git switch --detach {tip}` for a commit, or `git worktree add DIR {tip}`), then run {then}"
    )
