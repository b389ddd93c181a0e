"""Turn an experiment spec into a validated RunSpec before anything is written.

The spec and its inputs are checked by the doctor's own rules (schema, refs, windows, and the
input dataset's files against their sha256), then by the plugin itself.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shlex
from pathlib import Path
from typing import Any

from strataml import atomic, gitfacts
from strataml.canonical import NotCanonical, jcs
from strataml.controls import CONTROL_FIX, find, shown
from strataml.datasets import csv_to_read
from strataml.doctor import engine
from strataml.doctor.rules.layout import NAME_CASE
from strataml.errors import Refusal, StrataError
from strataml.hashing import sha256_stream
from strataml.numbers import whole
from strataml.paths import inside
from strataml.records import Record
from strataml.refs import RefError, parse_ref
from strataml.runner.plugin import DatasetInput, Plugin, RunSpec, load, require_extra
from strataml.workspace import Workspace

RESERVED_TAGS = ("mlflow.", "strataml.")  # tag namespaces a spec may not write
DEFAULT_SPLIT = {"kind": "ratio", "train": 0.7, "val": 0.15, "test": 0.15, "stratify": True}


class SpecError(Refusal):
    """The spec cannot run; `problems` lists every reason, each naming file and line."""

    def __init__(self, path: str, problems: list[str]) -> None:
        super().__init__(
            f"{path} cannot run:",
            "fix what each line names (the spec, or a record it reads); `strataml run SPEC --dry-run` checks without running",
            details=problems,
        )
        self.problems = problems


def find_experiment(workspace: Workspace, target: str, cwd: Path | None = None) -> Record:
    """An experiment by path (experiments/NAME.yaml), name, or ref (experiment:NAME)."""
    name = target
    candidate = Path(target)
    if target.endswith((".yaml", ".yml")):
        full = (cwd or Path.cwd()) / candidate  # (an absolute target replaces the folder)
        if not full.is_file():
            full = workspace.root / candidate  # a path typed from the workspace's top, from below it
        if not full.is_file():
            raise StrataError(f"no experiment spec at {target}", "specs live in experiments/NAME.yaml")
        placed = inside(full, workspace.root)
        if placed is None:
            raise StrataError(f"{target} is outside the workspace {workspace.root}", "put the spec in experiments/")
        rel = Path(placed).as_posix()
        if not (rel.startswith("experiments/") and rel.count("/") == 1 and rel.endswith(".yaml")):
            raise StrataError(f"{rel} is not an experiment spec location", "specs live in experiments/NAME.yaml")
        name = rel[len("experiments/") : -len(".yaml")]
    elif target.startswith("experiment:"):
        name = target[len("experiment:") :]
    record = workspace.get(f"experiment:{name}")
    if record is None:
        from strataml.spelling import nearest

        rel = f"experiments/{name}.yaml"
        if os.path.islink(workspace.root / rel):  # (the walk never follows a link: no record is made of it)
            raise StrataError(
                f"{rel} is a symlink, not a regular file, so it was not read as a spec (TFC0001-E002)",
                "replace it with the spec file itself",
            )
        names = sorted(r.ref.name for r in workspace.of_kind("experiment"))
        close = nearest(name, names)
        raise StrataError(
            f"no experiment {name!r} in this workspace (experiments: {', '.join(names) or 'none'})",
            f"did you mean {close[0]}?" if close else "name a spec in experiments/",
        )
    return record


def config_hash(document: dict[str, Any]) -> str:
    """sha256 over the spec's RFC 8785 form (TFC-0003); NotCanonical for a spec without one."""
    return "sha256:" + hashlib.sha256(jcs(document)).hexdigest()


def resolve(workspace: Workspace, record: Record) -> tuple[RunSpec, Plugin]:
    """Validate everything a run needs; raise SpecError with every problem found."""
    # A control character in the spec's name would reach the run id, run.yaml and every listing:
    # refused before anything else, as a problem of the spec (the doctor's findings would say it
    # less plainly).
    register = record.data.get("register")
    named = [("experiment name", record.ref.name, "name")]
    if isinstance(register, dict) and isinstance(register.get("model"), str):
        named.append(("model name (register: model:)", register["model"], "register"))
    controls = [
        _placed_at(record, field, f"{what} '{shown(value)}' holds a control character ({bad}): {CONTROL_FIX}")
        for what, value, field in named
        if (bad := find(value)) is not None
    ]
    if controls:
        raise SpecError(record.meta, controls)
    problems = _doctor_problems(workspace, record)
    if problems:
        raise SpecError(record.meta, problems)
    doc = record.data
    dataset = None
    data = doc["data"]
    if "dataset" in data:
        dataset = _dataset_input(workspace, record, data)
    split = dict(doc.get("split") or DEFAULT_SPLIT)
    if split["kind"] == "ratio":
        split = {**DEFAULT_SPLIT, **split}
        total = split["train"] + split["val"] + split["test"]
        if abs(total - 1.0) > 1e-9:
            raise SpecError(record.meta, [f"line {record.line('split')}: split ratios add up to {total:g}, not 1"])
    elif dataset is None:
        raise SpecError(
            record.meta, [f"line {record.line('split')}: a time split needs a workspace dataset with a time column"]
        )
    reserved = [k for k in (doc.get("tags") or {}) if str(k).startswith(RESERVED_TAGS)]
    if reserved:
        # (Sent to MLflow, mlflow.user or mlflow.source.git.commit would claim another author or
        # commit, strataml.run_id another run.)
        raise SpecError(
            record.meta,
            [
                f"line {record.line('tags', k)}: tags.{k}: the {k.split('.')[0]}. tags are "
                f"{'MLflow' if k.startswith('mlflow.') else 'StrataML'}'s own; name it otherwise"
                for k in reserved
            ],
        )
    spec = RunSpec(
        name=record.ref.name,
        path=record.meta,
        plugin=doc["plugin"],
        data=data,
        model=doc["model"],
        split=split,
        seed=int(doc["seed"]),  # (1234.0 is an integer to the schema, and a float numpy cannot seed with)
        tags=dict(doc.get("tags") or {}),
        gates=tuple(doc.get("gates") or ()),
        register=(doc.get("register") or {}).get("model"),
        config_hash=_config_hash(record, doc),
        dataset=dataset,
        document=doc,
    )
    try:
        plugin = load(spec.plugin)
    except StrataError as exc:  # (named with the spec and its line, as every problem of a spec is)
        line = record.line("plugin")
        raise StrataError(f"{record.meta}{f':{line}' if line else ''}: {exc.message}", exc.hint) from None
    require_extra(plugin.info)
    plugin_problems = plugin.validate(spec)
    if plugin_problems:
        raise SpecError(record.meta, [_placed(record, problem) for problem in plugin_problems])
    return spec, plugin


# A plugin's problem that starts with the field it is about (`model.params.C ...`, `data.features: ...`).
_FIELD = re.compile(r"(?:data|model|split|seed|tags|gates|register)(?:\.[A-Za-z0-9_]+)*")


def _placed_at(record: Record, field: str, problem: str) -> str:
    """`problem` named as the doctor's are: the spec's path and the line of its `field` (a dotted
    path: the line of its nearest ancestor there is), else the path alone."""
    line = record.line(*field.split(".")) if field else None
    return f"{record.meta}{f':{line}' if line else ''}: {problem}"


def _placed(record: Record, problem: str) -> str:
    """A plugin's problem, at the field it starts with."""
    field = _FIELD.match(problem)
    return _placed_at(record, field.group() if field else "", problem)


def _config_hash(record: Record, doc: dict[str, Any]) -> str:
    try:
        return config_hash(doc)
    except NotCanonical as exc:
        raise SpecError(
            record.meta, [f"{exc}: write the value as text (quoted) or as a number a double holds exactly"]
        ) from None


def _doctor_problems(workspace: Workspace, record: Record) -> list[str]:
    inputs = [record]
    data = record.data.get("data")
    if isinstance(data, dict) and isinstance(data.get("dataset"), str):
        try:
            target = workspace.get(parse_ref(data["dataset"]))
        except RefError:
            target = None
        if target is not None:
            inputs.append(target)
    # The doctor's rules over just the spec and its input: the same checks, the same words.
    view = dataclasses.replace(
        workspace,
        records=tuple(inputs),
        strays=(),
        missing_meta=(),
        ledgers=(),
        known=tuple(str(r.ref) for r in workspace.records),
    )
    report = engine.run(view)
    return [
        f"{f.path}{f':{f.line}' if f.line else ''}: {f.message} [{f.code}] (hint: {f.hint})"
        for f in report.findings
        # (Names folded onto the layout's are the workspace's, as its strays are: not this spec's.)
        if f.severity == "error" and f.code != NAME_CASE
    ]


def _refuse_pointer(workspace: Workspace, rel: str, size: int | None) -> None:
    """A Git LFS pointer where the data should be (a clone without `git lfs pull`): the doctor
    verifies the recorded sha256 by it (TFC0006-I010), but a plugin would read the pointer's
    three lines as the table."""
    from strataml import lfs

    entry = workspace.entries.get(rel)
    if entry is not None and lfs.stands_in(workspace.root, rel, entry.size, size):
        raise StrataError(
            f"{rel} is a Git LFS pointer: the data it stands for is not in this checkout",
            f"fetch it with `git lfs pull --include {shlex.quote(rel)}`, then run again",
        )


def _dataset_input(workspace: Workspace, record: Record, data: dict[str, Any]) -> DatasetInput:
    ds = workspace.get(parse_ref(data["dataset"]))
    assert ds is not None and ds.folder is not None  # the doctor pass guarantees it
    named = data.get("file")
    chosen, csvs = csv_to_read((f.path for f in ds.files), named)
    if chosen is None and named is None:
        raise SpecError(
            record.meta, [f"line {record.line('data')}: {ds.ref} has {len(csvs)} CSV files; name one with data.file"]
        )
    if chosen is None:
        raise SpecError(
            record.meta,
            [f"line {record.line('data', 'file')}: {named!r} is not a CSV file of {ds.ref} ({', '.join(csvs)})"],
        )
    pinned = next(f for f in ds.files if f.path == chosen)
    rel = f"{ds.folder}/{chosen}"
    _refuse_pointer(workspace, rel, pinned.size)
    rel = _within(workspace, rel, ds.folder, record.meta)
    _refuse_unpinned(workspace, rel, pinned.sha256, record.meta)
    columns: list[Any] = ds.data["columns"] if isinstance(ds.data.get("columns"), list) else []
    tr = ds.data.get("time_range") if isinstance(ds.data.get("time_range"), dict) else None
    entry = ds.data["files"][pinned.index]  # (pinned from this list: a mapping with its path)
    rows = whole(entry.get("rows"))  # (150.0 is an integer to the schema)
    return DatasetInput(
        str(ds.ref),
        ds.digest or "",
        workspace.root / ds.folder,
        workspace.root / ds.folder / chosen,
        tuple(columns),
        tr,
        workspace.root,
        rel,
        rows if rows is not None and rows >= 0 else None,
    )


def _within(workspace: Workspace, rel: str, folder: str, spec: str) -> str:
    """`rel`, or for a symlink the file it leads to inside its record folder (TFC-0006 allows a
    link that stays there): what is read, by a path with no link on it."""
    path = workspace.root / rel
    if not path.is_symlink():
        return rel
    real, home = os.path.realpath(path), os.path.realpath(workspace.root / folder)
    try:
        outside = os.path.commonpath([real, home]) != home or real == home
    except ValueError:  # (another drive, on Windows)
        outside = True
    if outside:
        raise SpecError(
            spec,
            [
                f"{rel}: a symlink that leads out of its record folder, which a run never reads [TFC0006-E005] "
                "(hint: replace the link with the file itself; large files belong in Git LFS)"
            ],
        )
    return f"{folder}/{Path(os.path.relpath(real, home)).as_posix()}"


def _refuse_unpinned(workspace: Workspace, rel: str, sha256: str | None, spec: str) -> None:
    """The run's data is the content its dataset version records, whatever the policy says of
    the doctor's findings (a pull request's strataml.yaml can relax them; the run would then
    train on, and record as pinned, whatever the file holds). Read as the plugin reads it."""
    try:
        with atomic.open_file(workspace.root, rel) as fh:
            found, _size = sha256_stream(fh)
    except atomic.Refused as exc:
        raise SpecError(spec, [f"{rel}: {exc.message} (hint: {exc.hint})"]) from None
    except OSError as exc:
        raise SpecError(spec, [f"{rel}: cannot be read: {exc.strerror or exc}"]) from None
    if found != sha256:
        raise SpecError(
            spec,
            [
                f"{rel}: does not hold what the version records (sha256 {found[:12]}..., recorded "
                f"{(sha256 or 'none')[:12]}...) [TFC0006-E002] (hint: restore the recorded content with "
                f"`git checkout -- {shlex.quote(':(top)' + gitfacts.repo_prefix(workspace.root) + rel)}`, or record the data as a new version with `strataml dataset add`)"
            ],
        )
