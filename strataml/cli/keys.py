"""`strataml keys` and `strataml sign`: who may sign (pinned keys and scopes), and signing."""

from __future__ import annotations

import json
from pathlib import Path

import click

from strataml.cli.choice import Choice
from strataml.cli.given import Given
from strataml.cli.main import State
from strataml.cli.output import complete_refs, say_next, uncommitted_records
from strataml.controls import shown
from strataml.trust import SCOPES, Pin
from strataml.words import counted

SCOPE_HELP = f"A scope the key may sign ({', '.join(SCOPES)}); repeat for several."


@click.group(short_help="Pin the public keys trusted to sign (TFC-0007).")
def keys() -> None:
    """Pin the public keys trusted to sign, with what each may sign (TFC-0007).

    \b
    Keys live in tfc/keys/ (one public key per file) and are pinned by primary fingerprint
    in tfc/keys/keys.yaml. Every change there is a change to who may ship: review it.
    With `doctor --since REF`, the keys at REF are the ones in force.
    """


@keys.command("add", short_help="Pin the public key in KEYFILE for some scopes.")
@click.argument("keyfile", type=Given(dir_okay=False, path_type=Path, example="key.asc"))
@click.option("--scope", "scopes", multiple=True, required=True, type=Choice(SCOPES), help=SCOPE_HELP)
@click.option(
    "--replace-scopes",
    is_flag=True,
    help="For a key already pinned: set its scopes to exactly those given, even if that drops some.",
)
@click.option("--format", "fmt", type=Choice(("text", "json")), default="text", show_default=True)
@click.pass_obj
def add_command(state: State, keyfile: Path, scopes: tuple[str, ...], replace_scopes: bool, fmt: str) -> int:
    """Pin the public key in KEYFILE (e.g. from `gpg --armor --export FPR > key.asc`).

    A PEM elliptic-curve public key (`openssl ec -in key.pem -pubout -out key.pub.pem`) is pinned
    for OpenSSF model signing (`strataml sign --scheme model-signing`; the modelsigning extra).
    Refuses secret keys, files with several keys, and revoked or expired keys. Adding a key
    that is already pinned sets its scopes to the ones given; dropping a scope it holds is
    refused (exit 2) with the signed files that would stop counting, unless --replace-scopes.

    Exit codes: 0 pinned; 2 refused (a secret or private key, a revoked or expired key, a scope
    signed files rely on); 3 a usage error (no or an unknown --scope, a file with no key or
    several, no workspace).

    \b
    Examples:
      gpg --armor --export alice@example.org > ~/alice.asc    # outside the workspace
      strataml keys add ~/alice.asc --scope models --scope ledger
      strataml keys add ~/signer.pub.pem --scope models    (OpenSSF model signing)
    """
    from strataml.keys import add

    pin, key, before = add(state.root(), keyfile, list(scopes), replace_scopes=replace_scopes)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "fingerprint": pin.fingerprint,
                    "uid": key.uid,
                    "scopes": list(pin.scopes),
                    "file": f"tfc/keys/{pin.file}",
                    "scheme": pin.scheme,
                    "previous_scopes": list(before) if before is not None else None,
                },
                indent=2,
            )
        )
        return 0

    root = state.root()
    who = key.uid or ("an OpenSSF model-signing key" if pin.scheme == "model-signing" else "no user id")
    if before is None:
        click.echo(shown(f"Pinned {pin.fingerprint} ({who}) for {', '.join(pin.scopes)} in tfc/keys/{pin.file}"))
    else:
        click.echo(
            shown(f"{pin.fingerprint} ({who}) was pinned for {', '.join(before)}; now for {', '.join(pin.scopes)}")
        )
        dropped = [scope for scope in before if scope not in pin.scopes]
        if dropped:  # (its signatures there are the doctor's errors from now on: TFC0007-E004)
            click.echo(
                f"  note: its signatures on {', '.join(dropped)} no longer count; sign those again with a key "
                "pinned for them (`strataml doctor` lists them)",
                err=True,
            )
    _commit_next(root, pin, f"pin key {pin.fingerprint[-16:]}")
    return 0


@keys.command("list", short_help="Pinned keys, their scopes and whether they are usable.")
@click.option("--format", "fmt", type=Choice(("text", "json")), default="text", show_default=True)
@click.pass_obj
def list_command(state: State, fmt: str) -> int:
    """Pinned keys: fingerprint, user id, scopes, expiry and whether the key is still valid.

    \b
    Examples:
      strataml keys list
      strataml keys list --format json
    """
    from strataml.keys import listing

    rows = listing(state.root())
    if fmt == "json":
        click.echo(json.dumps([r.as_dict() for r in rows], indent=2))
        return 0
    if not rows:
        click.echo("No keys pinned. Pin one with `strataml keys add KEYFILE --scope models`.")
        return 0
    # One block per key: a 40-digit fingerprint leaves no room for a table at 80 columns.
    # Everything but the styling comes from keys.yaml and the keys (a user id is anyone's text): escaped.
    for r in rows:
        expiry = "never expires" if r.expires == "never" else f"expires {r.expires}" if r.expires else ""
        status = click.style(shown(r.status), fg=None if r.status == "valid" else "red", bold=r.status != "valid")
        click.echo(f"{shown(r.fingerprint)}  {status}" + (f", {shown(expiry)}" if expiry else ""))
        if r.uid:
            click.echo(f"  {shown(r.uid)}")
        elif r.scheme == "model-signing":
            click.echo("  an OpenSSF model-signing key (elliptic curve, PEM)")
        scopes, file = shown(f"  scopes: {', '.join(r.scopes)}"), shown(f"file: tfc/keys/{r.file}")
        if len(scopes) + len(file) + 3 > 100:  # a 64-digit fingerprint names the file: a line of its own
            click.echo(f"{scopes}\n  {file}")
        else:
            click.echo(f"{scopes}   {file}")
    return 0


@keys.command("remove", short_help="Unpin a key by its fingerprint.")
@click.argument("fingerprint")
@click.option(
    "--force",
    is_flag=True,
    help="Unpin it even though signed files rely on it (a key that leaked): their signatures stop counting.",
)
@click.option("--format", "fmt", type=Choice(("text", "json")), default="text", show_default=True)
@click.pass_obj
def remove_command(state: State, fingerprint: str, force: bool, fmt: str) -> int:
    """Unpin the key FINGERPRINT (full, or its last 16+ hex digits) and delete its file.

    Signatures it made stop counting: the doctor reports them as made by a key not pinned (an
    error). So a key that signed a file in the working tree is kept, and the files named, unless
    --force (a key that leaked must stop counting at once).

    Exit codes: 0 removed; 2 refused, nothing written (files hold its signatures, or the policy
    to check them by cannot be read); 3 no pinned key matches, several do, fewer than 16 hex
    digits, or gpg is not there to check its signatures (--force unpins without checking).

    \b
    Example:
      strataml keys remove 4A1F2B3C5D6E7F80      (the last 16 digits of the fingerprint `keys list` shows)
    """
    from strataml.keys import remove

    root = state.root()
    pin = remove(root, fingerprint, force=force)
    if fmt == "json":
        click.echo(json.dumps({"removed": pin.fingerprint, "scopes": list(pin.scopes)}, indent=2))
        return 0
    click.echo(shown(f"Unpinned {pin.fingerprint} (was: {', '.join(pin.scopes)})"))
    _commit_next(root, pin, f"unpin key {pin.fingerprint[-16:]}")
    return 0


def _commit_next(root: Path, pin: Pin, message: str) -> None:
    """The step that commits a key's file and the manifest: only what git holds a change of (the
    same scopes again, committed already: nothing; a key file pinned and unpinned before any
    commit is no path git knows, and `git add` of it would fail)."""
    from strataml import gitfacts, trust

    pending = gitfacts.uncommitted(root)
    changed = {path for _status, path in pending or ()}
    written = [rel for rel in (f"tfc/keys/{pin.file}", trust.MANIFEST) if pending is None or rel in changed]
    if written:
        say_next(
            root,
            [root / rel for rel in written],
            message,
            "Next: `{step}` (the doctor trusts the keys the repository holds).",
        )


@click.command("sign", short_help="Sign a record with a detached signature beside it.")
@click.argument("target", shell_complete=complete_refs)  # (sign._resolve takes a path from where the user stands)
@click.option(
    "--key",
    "key",
    metavar="FPR|FILE",
    help="The key to sign with: fingerprint, long key id or user id (default: the one pinned secret key in your "
    "keyring that holds the needed scope); with --scheme model-signing, the PEM private key file.",
)
@click.option(
    "--scheme",
    type=Choice(("openpgp", "model-signing")),
    default="openpgp",
    show_default=True,
    help="openpgp: a detached OpenPGP signature (gpg). model-signing: an OpenSSF model signing bundle over a model "
    "version's files (the modelsigning extra; an encrypted key's password in STRATAML_SIGNING_KEY_PASSWORD).",
)
@click.option(
    "--gnupghome",
    type=Given(file_okay=False, exists=True),
    help="The signer's GnuPG home (default: $GNUPGHOME or ~/.gnupg).",
)
@click.option("--format", "fmt", type=Choice(("text", "json")), default="text", show_default=True)
@click.pass_obj
def sign_command(state: State, target: str, key: str | None, scheme: str, gnupghome: str | None, fmt: str) -> int:
    """Sign TARGET with a detached signature beside it (FILE.asc), written atomically.

    \b
    TARGET is a ref or a metadata file:
      strataml sign model:iris-classifier@1       models/iris-classifier/1/model.yaml.asc
      strataml sign dataset:iris@1
      strataml sign ledger:iris-classifier        models/iris-classifier/lifecycle.jsonl.asc
      strataml sign runs/ID/run.yaml

    The metadata names its record and pins every file's sha256, so the signature covers the
    whole record. A record with doctor errors is not signed. The key's pin, validity and scope
    are checked before gpg signs, and the new signature as the doctor will check it before
    anything is written; valid signatures by other keys already in the file are kept
    (co-signing). When the policy asks for several signers (min_signers), the output says how
    many valid signers the file holds and what is still missing.

    Exit codes: 0 signed; 2 refused (a record with doctor errors; no pinned, valid key of the
    scope it needs; a signature the doctor would reject); 3 it could not start (no such target,
    no secret key, several keys that could sign: choose one with --key, gpg missing).

    \b
    OpenSSF model signing (a model version only; no network, no transparency log):
      strataml sign model:iris-classifier@1 --scheme model-signing --key ~/signer.pem
    writes models/iris-classifier/1/model-signing/FPR16.sig, a Sigstore bundle signing every file
    of the folder by sha256, made by the model-signing package with a pinned elliptic-curve key
    (`strataml keys add ~/signer.pub.pem --scope models`). Signers of both schemes count together
    towards min_signers; each key counts once.
    """
    import os

    if scheme == "model-signing":
        from strataml.sign import sign_bundle

        if not key:
            raise click.UsageError("--scheme model-signing signs with a PEM private key file: give it with --key FILE")
        if gnupghome:
            raise click.UsageError("--gnupghome is for OpenPGP keys; --scheme model-signing takes --key FILE")
        password = os.environ.get("STRATAML_SIGNING_KEY_PASSWORD") or None
        done = sign_bundle(state.root(), target, state.start() / key, password, state.start())
    else:
        from strataml.sign import sign

        done = sign(state.root(), target, key, gnupghome, state.start())
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "signature": done.path,
                    "target": done.target,
                    "key": done.signer.fingerprint,
                    "scheme": scheme,
                    "uid": done.signer.uid,
                    "kept": done.kept,
                    "dropped": done.dropped,
                    "valid_signers": done.signers,
                    "required_signers": done.required,
                    "missing": done.missing,
                },
                indent=2,
            )
        )
        return 0
    who = f"({done.signer.uid})" if done.signer.uid else "(model-signing)"
    click.echo(shown(f"Signed {done.target} with {done.signer.fingerprint} {who}: {done.path}"))
    if done.kept:
        click.echo(f"  kept {counted(done.kept, 'other valid signature')}")
    for who in done.dropped:
        click.echo(shown(f"  replaced: {who}"))
    tally = counted(done.signers, "valid signer")
    click.echo(f"  {tally}" + (f" of {done.required} required" if done.required else ""))
    if done.missing:
        click.echo(shown(f"  still needs {', '.join(done.missing)}: co-sign with `strataml sign {target} --key FPR`"))
    root = state.root()
    paths = [root / done.path, *uncommitted_records(root, done.target)]
    say_next(root, paths, f"sign {done.target}", "Next: `{step}`, then `strataml doctor --strict`.")
    return 0
