"""`strataml conformance`: run a checker over the conformance suite and say where it disagrees."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import click

from strataml.cli.choice import Choice
from strataml.cli.given import Given
from strataml.controls import shown
from strataml.words import counted


@click.command(short_help="Hold a checker to the contracts' conformance suite.")
@click.argument("suite", required=False, type=Given(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--tool",
    metavar="CMD",
    help="The checker to judge, run in each case's folder; it prints the JSON report of "
    "`strataml doctor --format json` (default: this strataml's doctor, without its cache).",
)
@click.option("--case", "names", multiple=True, metavar="NAME", help="Only this case (repeatable).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=120,
    show_default=True,
    metavar="SECONDS",
    help="How long the checker may take on one case; then it (and what it started) is stopped.",
)
@click.option("--format", "fmt", type=Choice(("text", "json")), default="text", show_default=True)
def conformance(suite: Path | None, tool: str | None, names: tuple[str, ...], timeout: float, fmt: str) -> int:
    """Hold a checker to the contracts: build every case of the conformance suite (a small
    workspace and the findings a conforming checker reports on it: code, path, severity), run
    the checker on it, and compare. Exit 0 when it agrees on every case, 2 when it disagrees on
    any, 3 when it cannot be run.

    \b
    SUITE defaults to the suite packaged with strataml (one case per rule and clause).
      strataml conformance
      strataml conformance --tool 'my-checker --json' --format json
    """
    from strataml import conformance as suite_module
    from strataml.errors import StrataError

    try:
        command = shlex.split(tool) if tool else None
    except ValueError as exc:
        raise StrataError(f"--tool {tool!r} is not a command line ({exc})", "quote it as a shell would") from None
    if tool is not None and not command:
        raise StrataError(
            "--tool is empty",
            "give the command that prints the JSON report, e.g. --tool 'strataml doctor --format json'",
        )
    wanted = set(names)
    loaded = suite_module.cases(suite or suite_module.SUITE)  # read and checked once
    known = {c.name for c in loaded}
    if wanted - known:
        from strataml.spelling import nearest

        missing = sorted(wanted - known)
        # (A case is named as its file is, without .json.)
        close = nearest(missing[0].removesuffix(".json"), sorted(known), n=3)
        where = suite or suite_module.SUITE
        raise StrataError(
            f"no case {', '.join(shown(m) for m in missing)} in the suite ({where})",
            (f"did you mean {', '.join(close)}? " if close else "")
            + f"a case is named as its file in {where}/cases/ is, without .json ({counted(len(known), 'case')})",
        )
    progress = None
    if fmt == "text":
        progress = lambda case: click.echo(f"  {shown(case.name)} ...", err=True, nl=False)  # noqa: E731
    outcomes = []
    for outcome in suite_module.run(
        command,
        suite or suite_module.SUITE,
        [c for c in loaded if c.name in wanted] if wanted else loaded,
        progress=progress,
        timeout=timeout,
    ):
        outcomes.append(outcome)
        if fmt == "text":
            said = " agrees" if outcome.agrees else " could not judge" if outcome.error is not None else " DISAGREES"
            click.echo(said, err=True)
    errors = [o for o in outcomes if o.error is not None]
    if outcomes and len(errors) == len(outcomes):
        # The tool never produced a report: it could not be run, which is no disagreement (and,
        # asked for JSON, an error object like any command's that could not run).
        raise StrataError(
            f"--tool {shown(tool or 'strataml doctor')} could not be judged on any case: {shown(str(errors[0].error))}",
            "give a command that prints the doctor's JSON report for the folder it runs in, "
            "e.g. --tool 'strataml doctor --format json'",
        )
    disagree = [o for o in outcomes if not o.agrees]
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "cases": len(outcomes),
                    "agree": len(outcomes) - len(disagree),
                    "outcomes": [o.as_dict() for o in outcomes],
                },
                indent=2,
            )
        )
    else:
        for outcome in disagree:
            d = outcome.as_dict()
            click.echo(shown(f"{d['case']}: {d['why']}"))
            if d["error"]:
                click.echo(shown(f"  could not judge: {d['error']}"))
            for code, path, severity in d["missing"]:
                click.echo(shown(f"  missing     {severity:<8} {code}  {path}"))
            for code, path, severity in d["unexpected"]:
                click.echo(shown(f"  unexpected  {severity:<8} {code}  {path}"))
        verdict = "agrees with" if not disagree else "disagrees with"
        click.echo(
            f"{verdict} {len(outcomes) - len(disagree)} of {len(outcomes)} cases"
            if not disagree
            else f"DISAGREES on {len(disagree)} of {len(outcomes)} cases"
        )
    return 2 if disagree else 0
