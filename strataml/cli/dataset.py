"""`strataml dataset add`: record a new dataset version."""

from __future__ import annotations

from pathlib import Path

import click

from strataml.cli.choice import Choice
from strataml.cli.given import Given
from strataml.cli.main import KindGroup, State
from strataml.cli.output import progress_bar, say_next
from strataml.controls import json_text, shown
from strataml.datasets import SOURCE_KINDS, NewDataset, add, shape_notes


@click.group(cls=KindGroup)
def dataset() -> None:
    """Work with dataset versions (TFC-0002).

    \b
    Examples:
      strataml dataset add iris iris.csv --version 1 --license CC-BY-4.0 --source URL --target species
      strataml list datasets
      strataml show dataset:iris@1
    """


CSV_MOMENT = 32 * 1024 * 1024


@dataset.command("add")
@click.argument("name")
@click.argument("files", nargs=-1, required=True, type=Given(path_type=Path))
@click.option(
    "--version", "version", required=True, help="The new version, e.g. 1. Existing versions are never replaced."
)
@click.option("--description", help="What the data is (default: a line naming the files and rows).")
@click.option("--license", "license_", metavar="LICENSE", help="SPDX id or terms, e.g. CC-BY-4.0.")
@click.option("--source", help="Where the data came from: a URL or a note.")
@click.option(
    "--source-kind",
    type=Choice(SOURCE_KINDS),
    help="How it was obtained (default: download for URLs, manual otherwise).",
)
@click.option(
    "--time-column", metavar="COL", help="CSV column holding time; records the time range leakage rules check."
)
@click.option("--target", metavar="COL", help="CSV column holding the label (marked role: target).")
@click.option("--format", "fmt", type=Choice(("text", "json")), default="text", show_default=True)
@click.pass_obj
def add_command(
    state: State,
    name: str,
    files: tuple[Path, ...],
    version: str,
    description: str | None,
    license_: str | None,
    source: str | None,
    source_kind: str | None,
    time_column: str | None,
    target: str | None,
    fmt: str,
) -> int:
    """Copy FILES into datasets/NAME/VERSION/ and write dataset.yaml.

    Every file is hashed (sha256, size); CSV files also get columns with inferred types and
    row counts, and with --time-column the time range. The version appears all at once or
    not at all, only once the doctor's record rules accept it, and an existing version is
    never touched.

    \b
    Example:
      strataml dataset add iris iris.csv --version 1 --license CC-BY-4.0 \\
          --source https://archive.ics.uci.edu/dataset/53/iris --target species

    Exit codes: 0 created, 2 refused (the version exists, or the doctor's record rules would
    reject it), 3 a file could not be read or described (nothing is written in either case).
    A signature the signing policy asks for is no refusal (only a version that is there can be
    signed): the output says to sign it before committing it.
    """
    root = state.root()
    # Describing a CSV reads ~10 MB a second: a bar past a few seconds of it.
    noticed: list[str] = []  # (a column read as text for a typo: what the record itself cannot say)
    with progress_bar(enabled=fmt == "text", label="reading {files} CSV file(s)", moment=CSV_MOMENT) as bar:
        folder, record = add(
            root,
            NewDataset(name, version, files, description, license_, source, source_kind, time_column, target),
            bar,
            notes=noticed,
        )
    if fmt == "json":
        doc = {
            "path": folder.relative_to(root).as_posix(),
            "record": record,
            "notes": noticed + shape_notes(record) + _lfs_notes(root, folder, record) + _name_notes(record),
        }
        click.echo(json_text(doc, indent=2))
        return 0
    rows = f", {record['rows']:,} rows" if "rows" in record else ""
    click.echo(
        f"Created {record['ref']} in {folder.relative_to(root).as_posix()}/: {len(record['files'])} file(s){rows}"
    )
    click.echo(f"  digest {record['digest']}")
    if record.get("time_range"):
        tr = record["time_range"]
        click.echo(f"  time range {tr['start']} .. {tr['end']} ({tr['column']})")
    for note in noticed + shape_notes(record) + _lfs_notes(root, folder, record) + _name_notes(record):
        click.echo(shown(f"  note: {note}"))
    if not license_ or not source:
        absent = " or ".join(o for o, v in (("--license", license_), ("--source", source)) if not v)
        click.echo(f"  note: no {absent} given; `strataml doctor` will warn (TFC0002-W001)")
    say_next(root, [folder], record["ref"], "Next: `{step}`, then `strataml doctor --strict`.")
    return 0


def _name_notes(record: dict) -> list[str]:
    """A file whose name holds a character that prints as nothing: it reads as another name."""
    from strataml.controls import invisible

    notes = []
    for entry in record["files"]:
        hidden = invisible(entry["path"])
        if hidden is not None:
            notes.append(
                f"{entry['path']} holds a character that prints as nothing ({hidden}): `strataml doctor` will "
                "warn (TFC0001-W004); rename the file and add the version again"
            )
    return notes


def _lfs_notes(root: Path, folder: Path, record: dict) -> list[str]:
    """A strataml.yaml with errors (the version was checked by the default rules: say so, as
    promote and sign refuse to act on it), and files above lfs.threshold_bytes that
    .gitattributes does not route through Git LFS, said before the commit: after it, the
    doctor's TFC0006-W011, and moving a committed version's file into LFS changes that version
    (TFC0002-E010 under --since)."""
    import shlex

    from strataml import lfs
    from strataml.gitfacts import lfs_routed, repo_prefix
    from strataml.workspace import load_config

    config = load_config(root)
    notes = []
    if config.problems or not isinstance(config.data, dict):
        why = config.problems[0].message if config.problems else "it is not a mapping of settings"
        notes.append(
            f"strataml.yaml has errors ({why}): the version was checked by the default rules and LFS threshold, "
            "not the workspace's; fix it (`strataml doctor` says where)"
        )
    limit = lfs.threshold(config.data)
    rel = folder.relative_to(root).as_posix()
    big = [f"{rel}/{f['path']}" for f in record["files"] if limit is not None and f["size"] > limit]
    if not big:
        return notes
    routed = lfs_routed(root, big)
    prefix = repo_prefix(root)
    for path in big:
        if routed is not None and path in routed:
            continue
        where = "" if routed is not None else " (no git repository here yet)"
        notes.append(
            f"{shown(path)} is above lfs.threshold_bytes ({limit:,}) and not routed through Git LFS{where}: before "
            f"the first commit, from the repository's top: `git lfs track --filename {shlex.quote('/' + prefix + path)}` "
            "(the doctor warns TFC0006-W011 "
            "otherwise, and a committed version's files cannot move into LFS later without changing it)"
        )
    return notes
