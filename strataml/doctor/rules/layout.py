"""TFC-0001: workspace layout, names, metadata files that load, refs that match their place."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator

from strataml import __version__, atomic, gitfacts, schemas
from strataml.controls import INVISIBLE_HINT, INVISIBLE_SAID, INVISIBLE_WHY, invisible, odd
from strataml.doctor.engine import FIRST_RULES, Context, version
from strataml.doctor.finding import Finding, about_pinned
from strataml.layoutnames import folded_onto_layout
from strataml.loading import Loaded
from strataml.records import Record
from strataml.refs import NAME_RULE, RUN_ID_RULE, VERSION_RULE, valid_name, valid_run_id, valid_version
from strataml.words import a
from strataml.workspace import CONFIG, Workspace

CONFIG_SCHEMA = "TFC0001-E001"
STRAY = "TFC0001-E002"
BAD_NAME = "TFC0001-E003"
MISSING_META = "TFC0001-E004"
REF_MISMATCH = "TFC0001-E005"
UNSUPPORTED_SCHEMA = "TFC0001-E007"
NEWER_MINOR = "TFC0001-W002"
UNKNOWN_CODE = "TFC0001-W003"
INVISIBLE_CHARACTER = "TFC0001-W004"
NEWER_PIN = "TFC0001-W005"
CONTROL_CHARACTER = "TFC0001-E008"
NESTED_REPOSITORY = "TFC0001-E009"
UNREADABLE_FOLDER = "TFC0001-E010"
NAME_CASE = "TFC0001-E011"
_STRAY_CODES = {
    "stray": STRAY,
    "control": CONTROL_CHARACTER,
    "invisible": INVISIBLE_CHARACTER,
    "repository": NESTED_REPOSITORY,
    "unreadable": UNREADABLE_FOLDER,
}


def _release(text: str) -> tuple[tuple[int, ...], bool] | None:
    """(X.Y.Z, whether it comes before that release) of a version as packages spell it: 0.3.0rc1
    and 0.3.0.dev1 come before 0.3.0, a post-release or a local label (0.3.0+ours) do not; None
    for other text."""
    m = re.match(r"(\d+)\.(\d+)\.(\d+)(.*)", text)
    if m is None:
        return None
    before = re.match(r"[._-]?(a|alpha|b|beta|c|rc|pre|preview|dev)[0-9]*", m.group(4)) is not None
    return tuple(int(n) for n in m.groups()[:3]), before


_TOOL = _release(__version__)
_HINT_META = {
    "dataset.yaml": "create it with `strataml dataset add`, or remove the folder",
    "run.yaml": "runs are written by `strataml run`; remove the folder if the run never finished writing",
    "model.yaml": "model versions are written by `strataml run` when a spec registers a model; remove the folder otherwise",
}


def check(ctx: Context) -> Iterator[Finding]:
    ws = ctx.workspace
    yield from load_problems(CONFIG, ws.config)
    if ws.config.data is None and not ws.config.problems:
        yield Finding(
            CONFIG_SCHEMA,
            CONFIG,
            "strataml.yaml is empty",
            "`strataml init` writes a complete one; it needs at least schema: and name:",
            1,
        )
    elif ws.config.data is not None and not ws.config.problems:
        for issue in ctx.schema_issues("workspace", CONFIG, ws.config.data):
            yield Finding(
                CONFIG_SCHEMA,
                CONFIG,
                issue.message,
                schemas.advised(issue, "fix strataml.yaml; `strataml schema workspace` prints the schema"),
                ws.config.line_of(issue.path),
            )
        doctor = ws.config.data.get("doctor") if isinstance(ws.config.data, dict) else None
        if isinstance(doctor, dict):
            yield from _unknown_codes(ws.config, doctor)
        pinned = version(doctor.get("rules")) if isinstance(doctor, dict) else None
        if pinned is not None and pinned < FIRST_RULES:
            yield Finding(
                CONFIG_SCHEMA,
                CONFIG,
                f"doctor.rules {'.'.join(map(str, pinned))} is older than the first rules (0.1.0): it would pin nothing",
                "pin a released version, e.g. doctor: {rules: 0.1.0}",
                ws.config.line_of(("doctor", "rules")),
            )
        elif pinned is not None and _TOOL is not None and (pinned > _TOOL[0] or (_TOOL[1] and pinned == _TOOL[0])):
            said = ".".join(map(str, pinned))
            yield Finding(
                NEWER_PIN,
                CONFIG,
                f"doctor.rules {said} is newer than this strataml ({__version__}): the rules added since are not "
                "checked here",
                f"upgrade strataml where this check runs to {said} or later"
                + ("" if _TOOL[1] else f", or pin the version it runs (doctor: {{rules: {__version__}}})"),
                ws.config.line_of(("doctor", "rules")),
            )
    yield from _fixed_names_folded(ws.root)
    for stray in ws.strays:
        yield Finding(_STRAY_CODES[stray.what], stray.path, stray.reason, stray.hint)
    for folder, meta in ws.missing_meta:
        if atomic.is_staging(folder.rsplit("/", 1)[-1]):
            # Whether a command holds the folder's lock is no part of the files: a verdict on
            # one is never kept as theirs (it changes when the command ends or is killed).
            ctx.volatile = True
            # (A folder a command builds in is never committed: one git tracks is reported
            # whatever holds its lock, so that no process can hide a committed one. Without git
            # (--no-git) that is not known, and a locked folder is reported as any other.)
            if ctx.options.use_git and atomic.building(ws.root, folder) and not gitfacts.tracks(ws.root, folder):
                continue  # a command builds a record there now: it is not there yet, and nothing is wrong
            # (What a command builds a record in: one stopped for good, killed or out of power, left it.)
            has = f"{folder}/{meta}" in ws.entries  # (written before it publishes: a staged record)
            yield Finding(
                MISSING_META,
                folder,
                (f"record folder's {meta} was never published" if has else f"record folder has no {meta}")
                + ": it is the hidden folder a command builds a record in, left behind by one that was killed "
                "before it finished",
                f"nothing in it was ever a record: delete it (`rm -rf {shlex.quote(folder)}`), and run the "
                "command again if its record is missing",
            )
            continue
        yield Finding(MISSING_META, folder, f"record folder has no {meta}", _HINT_META[meta])
    yield from _ledger_names(ws)
    for record in ctx.records():
        yield from load_problems(record.meta, record.loaded)
        yield from _name(record)
        yield from _recorded_controls(record)
        if record.loaded.data is not None:
            yield from _identity(record)


def _fixed_names_folded(root: os.PathLike[str] | str) -> Iterator[Finding]:
    for at, meant in folded_onto_layout(root):
        hidden = invisible(at)  # (else the message shows two names that read alike)
        holds = f" (it holds {hidden}, {INVISIBLE_SAID}, which macOS leaves out of a name)" if hidden else ""
        yield Finding(
            NAME_CASE,
            at,
            f"{at} is spelled like {meant} under case-folding{holds}: a checkout on macOS or Windows makes the "
            f"two one, and a check on a case-sensitive system reads only {meant}",
            f"move what it holds into {meant} (checked there) or remove it: `git mv` or `git rm -r`",
        )


def load_problems(path: str, loaded: Loaded) -> Iterator[Finding]:
    """Every reason a metadata file could not be (fully) loaded, as findings."""
    for p in loaded.problems:
        yield Finding(p.code, path, p.message, p.hint, p.line)


def declared_schema_ok(record: Record) -> bool:
    """Whether the file's `schema:` field names the kind its location expects, in a version this
    strataml can judge (v1, or a v1 minor), or is absent."""
    declared = record.data.get("schema")
    return declared is None or schemas.minor_of(record.kind, declared) is not None


def _unknown_codes(config: Loaded, doctor: dict[str, object]) -> Iterator[Finding]:
    """Codes the policy names that no rule has (TFC0001-W003): a misspelt severity or ignore
    does nothing, silently, where `--ignore` on the command line refuses the same code."""
    from strataml.contracts import closest_codes, registry

    known = registry()
    severity, ignore = doctor.get("severity"), doctor.get("ignore")
    named: list[tuple[str, str, tuple[str | int, ...], bool]] = []
    if isinstance(severity, dict):
        named += [("severity", c, ("doctor", "severity", c), c in known) for c in severity if isinstance(c, str)]
    if isinstance(ignore, list):
        named += [
            ("ignore", c, ("doctor", "ignore", i), any(k.startswith(c) for k in known))
            for i, c in enumerate(ignore)
            if isinstance(c, str)
        ]
    for where, code, at, ok in named:
        if ok:
            continue
        # (A whole code may be a slip of one character; a prefix that begins none is no code's.)
        close = closest_codes(code) if re.fullmatch(r"TFC[0-9]{4}-[EWI][0-9]{3}", code) else []
        yield Finding(
            UNKNOWN_CODE,
            CONFIG,
            f"doctor.{where} names {code!r}, {'a code' if where == 'severity' else 'a prefix'} no rule has: "
            "it changes nothing",
            (f"did you mean {' or '.join(close)}? " if close else "")
            + "`strataml doctor --list-rules` lists the rules (a newer strataml may know it: upgrade)",
            config.line_of(at),
        )


def _name(record: Record) -> Iterator[Finding]:
    ref = record.ref
    if ref.kind == "run":
        bad = [] if valid_run_id(ref.name) else [("run id", ref.name, RUN_ID_RULE)]
    else:
        bad = [] if valid_name(ref.name) else [(f"{ref.kind} name", ref.name, NAME_RULE)]
        if ref.version is not None and not valid_version(ref.version):
            bad.append(("version", ref.version, VERSION_RULE))
    for what, value, rule in bad:
        yield Finding(
            BAD_NAME,
            record.folder or record.meta,
            f"{what} '{value}' is not valid: {rule}",
            "rename the folder (or file) to a valid name",
        )


def _ledger_names(ws: Workspace) -> Iterator[Finding]:
    """A model name folder that holds a ledger and no version: its name is judged as a version's
    would be (a name refs cannot hold named a ledger no record checked)."""
    for name in ws.lone_ledgers:
        if not valid_name(name):
            yield Finding(
                BAD_NAME,
                f"models/{name}",
                f"model name '{name}' is not valid: {NAME_RULE}",
                "rename the folder to a valid name, or remove it if no version of it was ever made",
            )


def _recorded_controls(record: Record) -> Iterator[Finding]:
    """Recorded paths with a control character (TFC0001-E008), or one that prints as nothing
    (TFC0001-W004): the file names themselves are found by the walk when present, but the record
    pins the name even when the file is gone (or not written yet)."""
    for entry in record.files:
        found = odd(entry.path)
        if found is None:
            continue
        kind, spelled = found
        if kind == "control":
            yield about_pinned(
                CONTROL_CHARACTER,
                record,
                entry,
                f"holds a control character ({spelled})",
                "rename the file to letters, digits, '.', '_' and '-' and record a new version with it",
            )
        else:
            yield about_pinned(
                INVISIBLE_CHARACTER,
                record,
                entry,
                f"holds {INVISIBLE_SAID} ({spelled}): {INVISIBLE_WHY}",
                INVISIBLE_HINT,
            )


def _identity(record: Record) -> Iterator[Finding]:
    data = record.data
    declared = data.get("schema")
    expected = schemas.schema_id(record.kind)
    minor = schemas.minor_of(record.kind, declared)
    if minor is not None and minor > schemas.KNOWN_MINOR:
        yield Finding(
            NEWER_MINOR,
            record.meta,
            f"schema '{declared}' is newer than this strataml knows ('{expected}.{schemas.KNOWN_MINOR}'): "
            "fields added since are not checked",
            f"upgrade strataml where this check runs to one that knows '{declared}' (`strataml --version` says "
            "which runs now), to check every field",
            record.line("schema"),
        )
    elif declared is not None and not isinstance(declared, str):
        # (Not text names no schema: taken as one this strataml does not read, every rule that
        # judges the record's fields skipped it, and nothing said so.)
        yield Finding(
            UNSUPPORTED_SCHEMA,
            record.meta,
            f"schema is {type(declared).__name__}, not text naming a schema (this strataml reads '{expected}')",
            f"set schema: {expected}",
            record.line("schema"),
        )
    elif isinstance(declared, str) and minor is None:
        if declared.startswith(f"strataml/{record.kind}/"):
            msg = f"schema '{declared}' is not supported by this strataml (it reads '{expected}')"
            hint = "upgrade strataml, or write the record in the supported version"
        else:
            msg = f"file declares schema '{declared}' but sits where {a(record.kind)} record ('{expected}') belongs"
            hint = f"move the file to where '{declared}' records live, or fix its schema field"
        yield Finding(UNSUPPORTED_SCHEMA, record.meta, msg, hint, record.line("schema"))
    if record.kind == "experiment":
        name = data.get("name")
        if isinstance(name, str) and name != record.ref.name:
            yield Finding(
                REF_MISMATCH,
                record.meta,
                f"name '{name}' does not match the file name '{record.ref.name}.yaml'",
                f"set name: {record.ref.name} (or rename the file to {name}.yaml)",
                record.line("name"),
            )
        return
    ref = data.get("ref")
    if isinstance(ref, str) and ref != str(record.ref):
        yield Finding(
            REF_MISMATCH,
            record.meta,
            f"ref '{ref}' does not match the record's location, which makes it '{record.ref}'",
            f"set ref: {record.ref} (or move the record to the folder its ref names)",
            record.line("ref"),
        )
