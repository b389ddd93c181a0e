"""`strataml promote`: move a model version along its lifecycle (TFC-0005)."""

from __future__ import annotations

import json

import click

from strataml.cli.choice import Choice
from strataml.cli.given import Given
from strataml.cli.main import State
from strataml.cli.output import complete_models, from_here
from strataml.controls import shown
from strataml.errors import StrataError
from strataml.lifecycle import STATES


@click.command("promote", short_help="Move a model version to another lifecycle state.")
@click.argument("model_ref", shell_complete=complete_models, callback=from_here)
# `registered` is where a version starts (model register), never a state to move to.
@click.option(
    "--to",
    "to",
    required=True,
    type=Choice([s for s in STATES if s != "registered"]),
    help="The state to move to.",
)
@click.option("--reason", default="", help="Why: recorded in the ledger entry.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check everything the move checks and print the entries, but write nothing: refused when the move would "
    "be (with --sign, gpg signs the new ledger, and the signature is dropped).",
)
@click.option(
    "--sign", "sign", is_flag=True, help="Sign the ledger after the append (required when the policy says so)."
)
@click.option("--key", metavar="FPR", help="With --sign: the key to sign with.")
@click.option("--gnupghome", type=Given(file_okay=False, exists=True), help="With --sign: the signer's GnuPG home.")
@click.option("--format", "fmt", type=Choice(("text", "json")), default="text", show_default=True)
@click.pass_obj
def promote(
    state: State,
    model_ref: str,
    to: str,
    reason: str,
    dry_run: bool,
    sign: bool,
    key: str | None,
    gnupghome: str | None,
    fmt: str,
) -> int:
    """Move MODEL_REF (model:NAME@VERSION) to another lifecycle state.

    \b
    Legal moves (TFC-0005):
      registered -> candidate | rejected
      candidate  -> staging | rejected
      staging    -> production | rejected | candidate
      production -> archived

    Refuses illegal moves, a FAIL gate receipt for staging or production, a version that fails
    the gates the experiment specs set for it now (the receipt holds those its run recorded
    when it ran), a signature the signing policy requires but is missing, and a model with
    doctor errors. It warns when the base branch (origin/HEAD, else main or master) sets gates
    the version fails: `doctor --strict --since` in CI holds a promotion to those too
    (TFC0005-E010). Promoting to
    production archives the previous production version in the same append. The entry goes
    to models/NAME/lifecycle.jsonl, hash-chained, under a lock, written atomically.

    \b
    Example:
      strataml promote model:iris-classifier@1 --to candidate --reason "offline eval ok" --dry-run

    --dry-run is the move stopped before its first write: it refuses, with the same exit code and
    message ("would be refused"), whatever the move would refuse, the signing policy's --sign
    included, and says "would fail" of what the move could not do (exit 3: no such model, a
    ledger that cannot be written); with --sign, gpg signs the new ledger as the move would (the
    signature is dropped).

    Exit codes: 0 moved (or, with --dry-run, would be), 2 refused by the lifecycle rules (an
    illegal move, the state it is in already, a FAIL gate, gates the version fails, a missing signature, doctor errors),
    3 it could not be done (no such model, a ledger that cannot be written).
    """
    from strataml.promote import promote as do_promote

    if not sign and (key is not None or gnupghome is not None):
        # (Ignored, the ledger stayed unsigned while its author believed it signed, until the
        # signing policy failed the pull request.)
        given = " and ".join(o for o, v in (("--key", key), ("--gnupghome", gnupghome)) if v is not None)
        go = "go" if " and " in given else "goes"
        raise click.UsageError(f"{given} only {go} with --sign: add --sign to sign the ledger, or leave {given} out")
    root = state.root()  # (no workspace is no dry run's verdict on the move)
    try:
        done = do_promote(root, model_ref, to, reason=reason, dry_run=dry_run, sign=sign, key=key, gnupghome=gnupghome)
    except StrataError as exc:
        if not dry_run:
            raise
        raise _WouldBe(exc) from exc
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "ref": done.ref,
                    "from": done.before,
                    "to": done.to,
                    "written": done.written,
                    "signed_by": done.signed_by,
                    "entries": done.entries,
                    "warnings": done.warnings,
                    "cosigners_needed": done.cosigners,
                },
                indent=2,
            )
        )
        return 0
    verb = "Would move" if not done.written else "Moved"
    click.echo(
        shown(f"{verb} {done.ref}: {done.before} -> {done.to}")
        + (f" (seq {done.entries[-1]['seq']})" if done.written else " (dry run: nothing written)")
    )
    for note in done.notes:
        click.echo(shown(f"  also {note}"))
    if done.cosigners and not done.written:  # (written, the Next line says it)
        name = done.ref.split(":", 1)[1].split("@", 1)[0]
        click.echo(
            shown(
                f"  also the ledger signature would still need {', '.join(done.cosigners)}: `strataml sign ledger:{name}`"
            )
        )
    for warning in done.warnings:
        click.echo(shown(f"  warning: {warning}"), err=True)
    if done.unnamed:  # (the audit trail's who, from the login name: say so)
        click.echo(
            shown(
                f"  note: git has no user.name and user.email here: the ledger records the actor as "
                f"{done.entries[-1]['actor']!r}; `git config user.email you@example.org` (and user.name) records who"
            ),
            err=True,
        )
    if not done.written:  # the dry run's point: what would be appended, line by line
        for entry in done.entries:
            click.echo(shown("  " + json.dumps(entry, sort_keys=True, ensure_ascii=False)))
    if done.signed_by:  # (a key's user id: anyone's text)
        click.echo(shown(f"  ledger {'signed' if done.written else 'would be signed'} by {done.signed_by}"))
    if done.written:
        from strataml.cli.output import say_next, uncommitted_records
        from strataml.records import SIGNATURE_SUFFIX
        from strataml.refs import parse_ref
        from strataml.workspace import LEDGER

        ref = parse_ref(done.ref)
        ledger = root / "models" / ref.name / LEDGER
        paths = [ledger, *([ledger.with_name(LEDGER + SIGNATURE_SUFFIX)] if done.signed_by else [])]
        paths += uncommitted_records(root, f"models/{ref.name}/{ref.version}")
        # (The doctor fails a ledger its policy's signers have not all signed: TFC0007-E011.)
        first = (
            f"co-sign it (`strataml sign ledger:{ref.name}` by {', '.join(done.cosigners)}), then "
            if done.cosigners
            else ""
        )
        say_next(root, paths, f"{done.ref}: {done.before} -> {done.to}", f"Next: {first}`{{step}}`")
    return 0


class _WouldBe(StrataError):
    """What the move would be refused (or fail) with, said of a dry run: the same message, hint,
    details and exit code."""

    def __init__(self, exc: StrataError) -> None:
        # A refusal (exit 2) is the move's verdict; anything else (no such model, a ledger that
        # cannot be written: exit 3) is the move failing.
        said = "would be refused" if exc.exit_code == 2 else "would fail"
        super().__init__(f"dry run: the move {said}: {exc.message}", exc.hint, exc.details)
        self.exit_code = exc.exit_code
