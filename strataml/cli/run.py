"""`strataml run`, `strataml plugins`: execute experiment specs through plugins."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import click

from strataml import gitfacts
from strataml.cli.choice import Choice
from strataml.cli.main import State
from strataml.cli.output import here, say_next
from strataml.controls import plain, shown
from strataml.errors import Interrupted, StrataError
from strataml.installed import extra_hint
from strataml.numbers import number
from strataml.runner import core
from strataml.runner.plugin import discover, extra_installed, load, output_to_stderr
from strataml.runner.spec import SpecError, find_experiment, resolve
from strataml.words import listed
from strataml.workspace import load as load_workspace

if TYPE_CHECKING:
    from strataml.models import Registered


@click.command("run", short_help="Run an experiment spec through its plugin.")
@click.argument("spec")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Validate and print the plan (run id, inputs with digests, plugin, params); write nothing.",
)
@click.option("--no-register", is_flag=True, help="Do not register a model even if the spec names one.")
@click.option("--format", "fmt", type=Choice(("text", "json")), default="text", show_default=True)
@click.pass_obj
def run_command(state: State, spec: str, dry_run: bool, no_register: bool, fmt: str) -> int:
    """Run an experiment spec (experiments/NAME.yaml, NAME or experiment:NAME).

    \b
    The spec is validated first (schema, refs, the input dataset's checksums, leakage
    windows, the plugin and its config); nothing is written unless all of it holds. The run
    lands in runs/RUN_ID/ complete, with run.yaml recording provenance, inputs with digests,
    params, metrics and every artifact's sha256. If the spec names a model (register:), the
    model is registered with its gate receipt.

    \b
    Exit codes: 0 the run succeeded (gates may still FAIL: see the receipt), 2 the spec has
    errors (nothing ran) or the plugin failed (the failed run is recorded), 3 the run could not
    start.

    \b
    Environment: MLFLOW_TRACKING_URI (and MLFLOW_EXPERIMENT_NAME) also track to MLflow;
    STRATAML_ARTIFACT_ROOT=/ABS/DIR puts runs/ in DIR, outside the workspace (scratch runs,
    never registered).

    \b
    Examples:
      strataml run iris-logreg --dry-run       the plan: run id, input digests, params
      strataml run iris-logreg                 run it; registers a model if the spec says so
      strataml run experiments/iris-logreg.yaml --no-register --format json
    """
    from strataml.nogc import one_shot

    # A plugin's code (scikit-learn, MLflow, the user's own) runs here and may leave a file
    # open or a stream replaced: this command ends through the interpreter's usual teardown.
    one_shot(False)
    root = state.root()
    workspace = load_workspace(root)
    record = find_experiment(workspace, spec, state.start())
    try:
        with output_to_stderr():
            run_spec, plugin = resolve(workspace, record)
    except SpecError as exc:
        if dry_run:  # (its hint said to use --dry-run)
            exc.hint = "fix what each line names (the spec, or a record it reads), then check it again"
        raise
    runs = core.runs_root(root)
    if run_spec.register and not _not_registered(
        run_spec.register, no_register, runs.resolve() == (root / "runs").resolve(), runs
    ):
        from strataml.errors import Refusal
        from strataml.refs import SAME_NAME, name_beside

        twin = name_beside(root, "model", run_spec.register)
        if twin is not None:  # (said before it trains: registering after it would be refused)
            raise Refusal(
                f"{record.meta} registers model {run_spec.register!r}, and models/{twin} {SAME_NAME}: the run's "
                "model could not be registered; nothing ran",
                f"register it as {twin} (`register: {{model: {twin}}}` in the spec), or run with --no-register",
            )
    if dry_run:
        with output_to_stderr():
            plan = core.plan(run_spec, plugin, root)
        skipped = _not_registered(run_spec.register, no_register, runs.resolve() == (root / "runs").resolve(), runs)
        if skipped:  # the plan says what the run will do: no registration, and why
            plan = {**plan, "register": None, "not_registered": skipped}
        if fmt == "json":
            click.echo(json.dumps(plan, indent=2))
        else:
            _print_plan(plan)
        return 0
    logger = logging.getLogger(f"strataml.run.{run_spec.name}")
    if not any(isinstance(h, _Echo) for h in logger.handlers):
        logger.addHandler(_Echo())
        logger.setLevel(logging.INFO)
    with output_to_stderr():
        outcome = core.execute(run_spec, plugin, root, logger=logger)
    registered = None
    inside = outcome.folder.parent.resolve() == (root / "runs").resolve()
    if outcome.status == "succeeded" and run_spec.register and not no_register and inside:
        from strataml.models import register

        again = f"strataml model register run:{outcome.run_id} --name {run_spec.register}"
        try:
            registered = register(root, f"run:{outcome.run_id}", run_spec.register)
        except StrataError as exc:
            # The run itself is recorded: say where, and how to register it once the refusal is
            # fixed (running again would make a second run of the same spec).
            exc.hint = f"{exc.hint + '; ' if exc.hint else ''}the run is recorded in runs/{outcome.run_id}: once fixed, `{again}`"
            raise
        except OSError as exc:  # (an unwritable or full models/: the run is recorded all the same)
            where = f" {exc.filename}" if exc.filename else ""
            raise StrataError(
                f"the run succeeded and is recorded in runs/{outcome.run_id}, but its model was not registered: "
                f"cannot write{where}: {exc.strerror or exc}",
                f"fix that (the folder's permissions, or the free space), then `{again}`",
            ) from exc
        except KeyboardInterrupt as exc:
            # (Registering writes its version in a staging folder: interrupted, nothing of it is left.)
            raise Interrupted(
                f"the run succeeded and is recorded in runs/{outcome.run_id}, but its model was not registered: "
                f"`{again}` registers it"
            ) from exc
    skipped = None
    if outcome.status == "succeeded" and not registered:
        skipped = _not_registered(run_spec.register, no_register, inside, outcome.folder)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "run": f"run:{outcome.run_id}",
                    "run_id": outcome.run_id,  # as --dry-run's plan says it
                    "folder": str(outcome.folder),
                    "status": outcome.status,
                    "metrics": outcome.record.get("metrics", {}),
                    "error": outcome.record.get("error"),
                    "model": registered.ref if registered else None,
                    "gate": registered.gate_status if registered else None,
                    "unsigned": registered.unsigned if registered else None,
                    "not_registered": skipped,
                },
                indent=2,
            )
        )
    else:
        _print_outcome(outcome, registered, root)
        if skipped:
            later = (
                f"; to register it later: `strataml model register run:{outcome.run_id} --name {run_spec.register}`"
                if no_register and inside
                else ""
            )
            click.echo(shown(f"Model not registered ({run_spec.register}): {skipped}{later}"))
    return 0 if outcome.status == "succeeded" else 2


def _print_failing(folder: Path) -> None:
    """The criteria of a receipt that did not pass, as `show` prints them."""
    from strataml import atomic
    from strataml.cli.readers import receipt_lines
    from strataml.models import GATE_FILE
    from strataml.read.build import MAX_SIDE_FILE

    try:
        raw = atomic.read_bytes(folder, GATE_FILE, limit=MAX_SIDE_FILE)
        receipt = json.loads(raw) if raw else {}
    except (atomic.Refused, OSError, ValueError):
        return  # the doctor reports an unreadable receipt
    for line in receipt_lines(receipt if isinstance(receipt, dict) else {})[1:]:
        if line.lstrip().startswith("FAIL"):
            click.echo(shown(line))


class _Echo(logging.Handler):
    """Progress lines to whatever stderr is now (not the one seen when the handler was made)."""

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, core.REPORTED, False):
            return  # (the outcome line says it)
        click.echo(shown(record.getMessage()), err=True)  # a plugin's words: escaped like repository text


def _not_registered(model: str | None, no_register: bool, inside: bool, where: Path) -> str | None:
    """Why a spec that names a model will not (or did not) register one; None if it will."""
    if not model:
        return None
    if no_register:
        return "--no-register was given"
    if not inside:
        return f"{core.ARTIFACT_ROOT_ENV} put the run outside the workspace ({where}); register runs that are in runs/"
    return None


def _print_plan(plan: dict) -> None:
    # The spec's values (params, gates, names) come from the repository: each line escaped.
    code = plan["code"]
    lines = [
        f"Would run {plan['experiment']} as run:{plan['run_id']}",
        f"  plugin   {plan['plugin']['key']} {plan['plugin']['version']}",
        *[f"  input    {item['ref']} {item['digest']}" for item in plan["inputs"]],
        f"  code     {code['commit'] or '(no commit)'}{' (dirty)' if code['dirty'] else ''}",
        f"  config   {plan['config_hash']}",
        *[f"  param    {key} = {plain(value)}" for key, value in plan["params"].items()],
        *[f"  gate     {gate}" for gate in plan["gates"]],
        *([f"  register model {plan['register']}"] if plan["register"] else []),
        *([f"  no model registered: {plan['not_registered']}"] if plan.get("not_registered") else []),
        "Nothing was written (--dry-run).",
    ]
    for line in lines:
        click.echo(shown(line))


def _print_outcome(outcome: core.Outcome, registered: Registered | None, root: Path) -> None:
    rel = here(outcome.folder)
    if outcome.status != "succeeded":
        err = outcome.record.get("error", {})
        message = f"Run run:{outcome.run_id} {outcome.status}: {err.get('type')}: {err.get('message')}"
        click.echo(shown(message), err=True)  # the plugin's exception message: anyone's text
        click.echo(shown(f"  recorded in {rel} (traceback in errors/exception.txt)"), err=True)
        if outcome.folder.resolve().is_relative_to(root.resolve()):
            # (A failed run is a record like any other: committed, it is the evidence of the attempt.)
            say_next(
                root,
                [outcome.folder, *_spec_of(root, outcome)],
                f"run:{outcome.run_id}",
                "Next: fix the cause, run again; commit this run as it is: `{step}`.",
                err=True,
            )
        return
    click.echo(shown(f"Run run:{outcome.run_id} succeeded: {rel}"))
    test = {k: v for k, v in outcome.record.get("metrics", {}).items() if k.startswith("test_")}
    for key, value in test.items():
        click.echo(shown(f"  {key:<20} {number(value)}"))
    code = outcome.record.get("code")
    if isinstance(code, dict) and code.get("commit") is None:
        # (Outside a repository, or before its first commit: nothing says which code made it.)
        click.echo(
            "  note: no git commit recorded (no repository here, or none committed yet): the run does not say "
            "which code made it; commit the workspace first (`git init`, `git add`, `git commit`) and run again "
            "for provenance",
            err=True,
        )
    elif isinstance(code, dict) and code.get("dirty"):
        # (The commit it names is not all of the code that ran: said now, not found in run.yaml later.)
        try:
            changed = gitfacts.dirt(root)
        except gitfacts.GitError:
            changed = []
        which = f" ({listed(changed, 3)}, from the repository's top)" if changed else ""
        click.echo(
            shown(
                f"  note: the working tree had uncommitted changes{which}: the run records commit "
                f"{str(code['commit'])[:12]} as dirty, which does not say exactly which code made it; commit first "
                "to pin it (untracked files count too: add those that are not code to .gitignore)"
            ),
            err=True,
        )
    paths = [outcome.folder, *_spec_of(root, outcome)]
    if registered is not None:
        verb = "registered" if registered.created else "already registered as"
        click.echo(shown(f"Model {verb} {registered.ref}: gate {registered.gate_status}"))
        if registered.gate_status != "PASS":
            _print_failing(registered.folder)
        if registered.unsigned:
            click.echo(shown(f"  note: {registered.unsigned}"))
        paths.append(registered.folder)
    if outcome.folder.resolve().is_relative_to(root.resolve()):  # not when the artifacts live elsewhere
        say_next(root, paths, f"run:{outcome.run_id}", "Next: `{step}`, then `strataml doctor --strict`.")


def _spec_of(root: Path, outcome: core.Outcome) -> list[Path]:
    """The spec the run ran, committed with it: an edited spec left out would leave the commit
    with a run of one spec beside another."""
    experiment = outcome.record.get("experiment")
    if not isinstance(experiment, str) or not experiment.startswith("experiment:"):
        return []
    spec = Path(root) / "experiments" / f"{experiment.split(':', 1)[1]}.yaml"
    return [spec] if spec.is_file() else []


@click.command(short_help="List the plugins `run` can use, and their extras.")
@click.option("--format", "fmt", type=Choice(("text", "json")), default="text", show_default=True)
def plugins(fmt: str) -> int:
    """List the plugins `strataml run` can use and whether their extra is installed.

    A spec names its plugin (`plugin: sklearn`); a plugin is a Python package's entry point in
    the `strataml.plugins` group, so `pip install` is all it takes to add one.

    \b
    Examples:
      strataml plugins
      strataml plugins --format json
    """
    rows = []
    for key, target in discover().items():
        try:
            with output_to_stderr():
                info = load(key).info
            rows.append(
                {
                    "key": key,
                    "version": info.version,
                    "extra": info.extra,
                    "installed": extra_installed(info),
                    "description": info.description,
                    "entry_point": target,
                }
            )
        except (Exception, SystemExit) as exc:  # (a plugin that exits on import is listed as broken)
            rows.append(
                {
                    "key": key,
                    "version": None,
                    "extra": None,
                    "installed": False,
                    "description": f"cannot load: {exc}",
                    "entry_point": target,
                }
            )
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        state = (
            "ready"
            if row["installed"]
            else f"needs: {extra_hint(str(row['extra']))}"
            if row["extra"]
            else "not loadable"
        )
        click.echo(f"{row['key']:<10} {row['version'] or '-':<8} {state}")
        click.echo(f"{'':<10} {row['description']}")
    return 0
