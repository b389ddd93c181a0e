"""Core owns the run: id, folder, tracking, provenance, hashing and the run record.

A run is built in a hidden staging folder and appears in runs/ complete, with run.yaml
written last, whether the plugin succeeded or raised. Nothing half-written is left behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import numbers
import os
import platform
import shlex
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from strataml import __version__
from strataml.atomic import discard_staging, publish_dir, staging_dir, write_text, write_yaml
from strataml.controls import shown
from strataml.doctor.finding import bounded
from strataml.errors import Interrupted
from strataml.gitfacts import head_state
from strataml.hashing import sha256_file
from strataml.refs import valid_run_id
from strataml.runner.plugin import Plugin, RunContext, RunResult, RunSpec
from strataml.runner.tracking import ARTIFACT_PATHS, Tracking, check_placement, require_mlflow
from strataml.schemas import schema_id, validate

ARTIFACT_ROOT_ENV = "STRATAML_ARTIFACT_ROOT"
# A log record's attribute: what it says is also in the Outcome the caller gets (and prints).
REPORTED = "strataml_reported"


@dataclass(frozen=True)
class Outcome:
    run_id: str
    folder: Path
    status: str
    record: dict[str, Any]


def runs_root(workspace_root: Path, env: dict[str, str] | None = None) -> Path:
    return artifact_root(workspace_root, env) / "runs"


def artifact_root(workspace_root: Path, env: dict[str, str] | None = None) -> Path:
    """The tree run folders are written in: the workspace, or the folder STRATAML_ARTIFACT_ROOT
    names. That folder is named from / and lies outside the workspace (runs/ inside it would be
    folders the doctor rejects, or a run left unmanaged); it may not exist yet, its parent must:
    a mistyped name never makes a tree of folders."""
    from strataml.controls import shown
    from strataml.errors import StrataError
    from strataml.paths import inside
    from strataml.rootdir import holding

    override = (os.environ if env is None else env).get(ARTIFACT_ROOT_ENV)
    if not override:
        return workspace_root
    named = f"{ARTIFACT_ROOT_ENV}={shown(override)}"
    where = Path(override)
    if not where.is_absolute():
        raise StrataError(
            f"{named} is not an absolute path, so where the runs would go depends on the folder you stand in",
            f"name the folder from / (e.g. {ARTIFACT_ROOT_ENV}=/tmp/scratch-runs), or unset it to record runs in runs/",
        )
    if os.path.realpath(where) == os.path.realpath(workspace_root):
        return workspace_root
    # By its name and by where it leads (a symlink to the workspace's models/ wrote models/runs/):
    rel = inside(where, workspace_root) or inside(os.path.realpath(where), workspace_root)
    if rel is not None:
        raise StrataError(
            f"{named} is inside the workspace ({shown(rel)}): runs written there are not records the doctor accepts",
            "unset it to record runs in runs/, or name a folder outside the workspace for scratch runs",
        )
    other = holding(where)
    if other is not None:
        # (Another workspace's runs/runs/ID is a folder its doctor rejects: TFC0001-E004.)
        raise StrataError(
            f"{named} is inside another workspace ({shown(str(other))}): runs written there break it",
            "name a folder outside every workspace for scratch runs, or run the spec in that workspace "
            f"(`strataml -C {shown(shlex.quote(str(other)))} run ...`)",
        )
    if not where.is_dir() and not where.parent.is_dir():
        raise StrataError(
            f"{named}: {shown(str(where.parent))} does not exist",
            f"make the folder first (`mkdir -p {shown(shlex.quote(override))}`), or fix the name",
        )
    return where


def new_run_id(spec: RunSpec, commit: str | None, when: datetime) -> str:
    salt = f"{spec.config_hash}|{spec.dataset.digest if spec.dataset else ''}|{commit}|{time.time_ns()}|{os.getpid()}"
    run_id = f"{when:%Y%m%dT%H%M%SZ}-{spec.name}-{hashlib.sha256(salt.encode()).hexdigest()[:6]}"
    return run_id if valid_run_id(run_id) else f"{when:%Y%m%dT%H%M%SZ}-{hashlib.sha256(salt.encode()).hexdigest()[:12]}"


def params_of(spec: RunSpec) -> dict[str, Any]:
    """Searchable params: data.*, model.*, split.*, seed (nested mappings flattened with dots;
    lists stay lists, as the spec wrote them)."""
    out: dict[str, Any] = {}

    def flat(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key in sorted(value):
                flat(f"{prefix}.{key}", value[key])
        else:
            out[prefix] = value

    flat("data", spec.data)
    flat("model", {"type": spec.model["type"], **(spec.model.get("params") or {})})
    flat("split", spec.split)
    out["seed"] = spec.seed
    return out


# What a run record holds beside what its spec gives it (times, environment, metrics, its
# artifacts' entries), at most: the spec's part must leave this much of the metadata caps.
RECORD_ROOM_BYTES = 256 * 1024
RECORD_ROOM_NODES = 10_000


def recordable(spec: RunSpec) -> None:
    """A SpecError when the run record would pass the caps on a metadata file (TFC0001-E101,
    E110) with what the spec writes into it alone: its params, tags and gates, as YAML spells
    them (a quote doubled). The doctor then failed the finished run, a record no one may edit."""
    from strataml.atomic import dump_yaml
    from strataml.loading import MAX_BYTES, MAX_NODES, data_nodes
    from strataml.runner.spec import SpecError

    part = {"params": params_of(spec), "tags": spec.tags, "gates": list(spec.gates)}
    size, nodes = len(dump_yaml(part).encode("utf-8")), data_nodes(part)
    if size + RECORD_ROOM_BYTES > MAX_BYTES or nodes + RECORD_ROOM_NODES > MAX_NODES:
        raise SpecError(
            spec.path,
            [
                f"{spec.path}: its params, tags and gates make {size:,} bytes and {nodes:,} YAML nodes of the run "
                f"record, past what a metadata file may hold with the rest of a run (at most "
                f"{MAX_BYTES - RECORD_ROOM_BYTES:,} bytes and {MAX_NODES - RECORD_ROOM_NODES:,} nodes): keep bulk "
                "text in a file of the dataset or the repository, and name it in a tag"
            ],
        )


def plan(spec: RunSpec, plugin: Plugin, workspace_root: Path) -> dict[str, Any]:
    """What `strataml run --dry-run` prints: everything a run would record before it starts."""
    recordable(spec)
    commit, dirty = head_state(workspace_root)
    run_id = new_run_id(spec, commit, datetime.now(UTC))
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:  # (what the run would refuse, the plan says: it passed, then the run refused)
        check_placement(uri, workspace_root)
        require_mlflow()
    return {
        "run_id": run_id,
        "folder": (runs_root(workspace_root) / run_id).as_posix(),
        "experiment": f"experiment:{spec.name}",
        "plugin": {"key": plugin.info.key, "version": plugin.info.version},
        "inputs": [{"ref": spec.dataset.ref, "digest": spec.dataset.digest}] if spec.dataset else [],
        "code": {"commit": commit, "dirty": dirty},
        "config_hash": spec.config_hash,
        "params": params_of(spec),
        "gates": list(spec.gates),
        "register": spec.register,
    }


def execute(
    spec: RunSpec,
    plugin: Plugin,
    workspace_root: Path,
    *,
    env: dict[str, str] | None = None,
    logger: logging.Logger | None = None,
) -> Outcome:
    recordable(spec)
    commit, dirty = head_state(workspace_root)  # before the run folder exists, so it does not count as dirt
    tracking = Tracking(env, workspace_root)
    created = datetime.now(UTC)
    run_id = new_run_id(spec, commit, created)
    base, rel = artifact_root(workspace_root, env), f"runs/{run_id}"
    final = base / rel
    if base != workspace_root:
        base.mkdir(exist_ok=True)  # a folder the user named in the environment (its parent exists)
    staging = staging_dir(base, rel)
    for sub in ARTIFACT_PATHS:
        (staging / sub).mkdir()
    log = logger or logging.getLogger(f"strataml.run.{run_id}")
    tracking.bind(staging, log)
    context = RunContext(run_id, spec, tracking, staging, log)
    record: dict[str, Any] = {}
    status, error, result, interrupted = "failed", None, None, None
    try:
        tracking.start(run_id, spec.name, {"plugin": plugin.info.key, **spec.tags})
        tracking.log_params(params_of(spec))
        started = _now()
        try:
            returned = plugin.run(spec, context=context)
            returned.metrics = _finite(returned.metrics, log)
            _same_split(returned.split, spec)
            result, status = returned, "succeeded"  # (what a plugin failed to return well is not recorded)
        except KeyboardInterrupt as exc:
            status, interrupted = "cancelled", exc
            error = {"type": "KeyboardInterrupt", "message": "interrupted"}
        except (Exception, SystemExit) as exc:
            # A plugin's message may quote its whole input (every distinct value of a column):
            # cut as a finding's is; errors/exception.txt holds it whole, with the traceback. (A
            # plugin that calls sys.exit failed too: it ended the command with its own code, and
            # nothing was recorded.)
            said = _exited(exc) if isinstance(exc, SystemExit) else str(exc)
            error = {"type": type(exc).__name__, "message": bounded(said or type(exc).__name__)}
            write_text(staging, "errors/exception.txt", traceback.format_exc())
            # (The CLI says so in its outcome line: REPORTED keeps its progress echo from saying it twice.)
            log.error("plugin %s failed: %s", plugin.info.key, error["message"], extra={REPORTED: True})
        ended = _now()
        record = _record(spec, plugin, run_id, status, error, result, commit, dirty, created, started, ended, tracking)
        summary: dict[str, Any] = {
            k: record[k] for k in ("ref", "experiment", "status", "created_at", "started_at", "ended_at") if k in record
        }
        summary.update(metrics=record.get("metrics", {}), duration_seconds=round(_seconds(started, ended), 3))
        if error:
            summary["error"] = error
        write_text(staging, "summary/run_summary.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")
        _log_summary(tracking, staging)
        tracking.end(status)
        _prune_empty(staging)
        record["artifacts"] = hash_tree(staging, f"the plugin {plugin.info.key!r}")
        problems = validate("run", record)
        if problems:
            raise AssertionError(f"run record breaks its schema: {problems[0].message}")
        write_yaml(staging, "run.yaml", record)
        publish_dir(base, staging, rel)
    except BaseException:
        discard_staging(staging)
        raise
    if interrupted is not None:
        where = rel if base == workspace_root else str(final)
        raise Interrupted(
            f"the run was recorded as cancelled in {where}: commit it to keep the attempt on record, or delete "
            "the folder (nothing refers to it yet)"
        ) from interrupted
    return Outcome(run_id, final, status, record)


def _finite(metrics: dict[str, float], log: logging.Logger) -> dict[str, float]:
    """The metrics a run record can hold: numbers, as Python's (a plugin's numpy float32 is one),
    finite (NaN and infinities are no JSON number: a metric a split cannot define is left out,
    as plugins leave it). Anything else is the plugin's failure (ValueError), recorded as such:
    it was an internal error, and the trained run was thrown away."""
    if not isinstance(metrics, dict):
        raise ValueError(f"the plugin returned metrics as {type(metrics).__name__}, not a mapping of names to numbers")
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if not isinstance(key, str):
            raise ValueError(f"the plugin returned a metric named {key!r} ({type(key).__name__}), not text")
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(
                f"the plugin returned metric {shown(key)} as {type(value).__name__} ({shown(repr(value)[:80])}), "
                "not a number"
            )
        if isinstance(value, numbers.Integral):
            number: float = int(value)
        elif not isinstance(value, float) and getattr(getattr(value, "dtype", None), "itemsize", 8) < 8:
            # numpy's float32 0.9 is 0.8999999761581421 as a double: its shortest text is the value
            # the plugin meant (a gate `>= 0.9` failed on it), whatever numpy's print options are.
            import numpy

            number = float(numpy.format_float_scientific(value, unique=True))
        else:
            number = float(value)
        if isinstance(number, float) and not math.isfinite(number):
            log.warning("metric %s is %s, which a run record cannot hold: left out", shown(key), number)
            continue
        out[key] = number
    return out


def _exited(exc: SystemExit) -> str:
    """A plugin's sys.exit as said: with its code, or its message (sys.exit("bad config"))."""
    if exc.code is None:
        return "the plugin exited"
    if isinstance(exc.code, int):
        return f"the plugin exited (code {exc.code})"
    return f"the plugin exited: {exc.code}"


def _same_split(split: Any, spec: RunSpec) -> None:
    """A split a plugin returns (the one it used, where it differs from the spec's: windows moved
    to the data) is of the spec's kind: a ratio split recorded for a time-split spec left the
    leakage rules nothing to read, and the record broke its schema (an internal error, the run
    thrown away); a time split keeps the spec's column and every window it sets (TFC0003-E001:
    the leakage rules check only the windows recorded). The plugin's failure (ValueError),
    recorded as such."""
    if not split:
        return
    kind = split.get("kind") if isinstance(split, dict) else None
    if kind != spec.split.get("kind"):
        raise ValueError(
            f"the plugin returned a split of kind {shown(repr(kind)[:40])} for a spec that splits by "
            f"{spec.split.get('kind')}"
        )
    if kind != "time":
        return
    if split.get("column") != spec.split.get("column"):
        raise ValueError(
            f"the plugin returned a time split on column {shown(repr(split.get('column'))[:80])}, not the "
            f"spec's {shown(repr(spec.split.get('column')))}"
        )
    windows = split.get("windows") if isinstance(split.get("windows"), dict) else {}
    dropped = [w for w in spec.split.get("windows") or {} if not isinstance(windows.get(w), dict)]
    if dropped:
        raise ValueError(f"the plugin returned a time split without the spec's {' and '.join(dropped)} window")


def _record(
    spec: RunSpec,
    plugin: Plugin,
    run_id: str,
    status: str,
    error: dict[str, str] | None,
    result: RunResult | None,
    commit: str | None,
    dirty: bool,
    created: datetime,
    started: str,
    ended: str,
    tracking: Tracking,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "schema": schema_id("run"),
        "ref": f"run:{run_id}",
        "experiment": f"experiment:{spec.name}",
        "status": status,
        "created_at": created.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "started_at": started,
        "ended_at": ended,
        "plugin": {"key": plugin.info.key, "version": plugin.info.version},
        "code": {"commit": commit, "dirty": dirty},
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "packages": _versions(("strataml", *plugin.info.packages)),
        },
        "seed": spec.seed,
        "config_hash": spec.config_hash,
        "params": params_of(spec),
        "metrics": dict(sorted((result.metrics if result else {}).items())),
        "tags": dict(sorted(spec.tags.items())),
        "inputs": [{"ref": spec.dataset.ref, "digest": spec.dataset.digest}] if spec.dataset else [],
        "split": (result.split if result and result.split else _split_record(spec)),
        "gates": list(spec.gates),
    }
    if result and result.features:
        record["features"] = result.features
    if result and result.target:
        record["target"] = result.target
    if tracking.mlflow:
        record["tracking"] = {
            "mlflow_run_id": tracking.mlflow_run_id or "",
            "mlflow_experiment": tracking.mlflow.experiment_name,
        }
    if error:
        record["error"] = error
    return record


def _split_record(spec: RunSpec) -> dict[str, Any]:
    split = spec.split
    if split["kind"] == "time":
        return {"kind": "time", "column": split["column"], "windows": split["windows"]}
    return {
        "kind": "ratio",
        "ratios": {k: split[k] for k in ("train", "val", "test")},
        "stratify": bool(split.get("stratify")),
    }


def _versions(names: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            if name == "strataml":
                out[name] = __version__
    return out


def _log_summary(tracking: Tracking, staging: Path) -> None:
    for rel, artifact_path in (("summary/run_summary.json", "summary"), ("errors/exception.txt", "errors")):
        path = staging / rel
        if path.exists():
            tracking.log_artifact(path, artifact_path)  # (a tracker that fails is told of and left out)


def _prune_empty(folder: Path) -> None:
    # (A link to a folder is not one of the run's folders: hash_tree refuses it, by name.)
    folders = (p for p in folder.rglob("*") if p.is_dir() and not p.is_symlink())
    for sub in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        if not any(sub.iterdir()):
            sub.rmdir()


def hash_tree(folder: Path, made_by: str) -> list[dict[str, Any]]:
    """Every file under `folder` as a recorded artifact: POSIX path, sha256 and size, sorted.
    A symbolic link or anything but a file or folder there is refused (StrataError, naming
    `made_by`, what wrote it): hashed through, a link would pin a file outside the run, which
    the doctor then rejects (TFC0006-E005), published by a run that said it succeeded."""
    import stat

    from strataml.controls import find, undecodable
    from strataml.errors import StrataError
    from strataml.paths import git_reads, unsafe
    from strataml.refs import fold

    entries = []
    folded: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):  # (a linked folder is listed, never entered)
        mode, rel = path.lstat().st_mode, path.relative_to(folder).as_posix()
        if stat.S_ISDIR(mode):
            continue
        if not stat.S_ISREG(mode):
            what = "a symbolic link" if stat.S_ISLNK(mode) else "something that is not a file"
            raise StrataError(
                f"{made_by} wrote {what} '{shown(rel)}' among the run's files; nothing was recorded",
                "a run records the content of its files: write files, never links to them (a link out of a "
                "record is TFC0006-E005)",
            )
        if git_reads(rel) is not None:
            raise StrataError(
                f"{made_by} wrote '{shown(rel)}' among the run's files, a name git reads as its own; nothing was recorded",
                "write it under another name: git would apply it to the run's files in every clone (TFC0006-E004)",
            )
        why, code = unsafe(rel), "TFC0006-E004"  # (a backslash: one name here, a folder on Windows)
        bad = find(rel)
        if bad is not None:
            why, code = f"holds a control character ({bad}), which no record may name", "TFC0001-E008"
        elif undecodable(rel) != rel:
            # (Bytes that are not UTF-8 come in as surrogates, which no YAML can write: the run.yaml
            # made of them did not load.)
            why, code = "is not UTF-8, which a record's YAML cannot hold", "TFC0001-E008"
        if why is not None:
            raise StrataError(
                f"{made_by} wrote '{shown(rel)}' among the run's files, whose name {why}; nothing was recorded",
                f"name files with letters, digits, '.', '_' and '-', folders with '/' ({code})",
            )
        key = fold(rel)
        if key in folded:
            raise StrataError(
                f"{made_by} wrote '{shown(rel)}' and '{shown(folded[key])}' among the run's files, one file "
                "where case does not count (macOS, Windows); nothing was recorded",
                "name them apart by more than case (TFC0008-E004)",
            )
        folded[key] = rel
        sha, size = sha256_file(path)
        entries.append({"path": rel, "sha256": sha, "size": size})
    return entries


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _seconds(start: str, end: str) -> float:
    from strataml.times import parse_time

    a, b = parse_time(start), parse_time(end)
    return (b - a).total_seconds() if a and b else 0.0
