"""Register a run's model as a model version (TFC-0004) with its gate receipt."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strataml import atomic, lfs
from strataml.atomic import discard_staging, publish_dir, staging_dir, write_text, write_yaml
from strataml.controls import refuse
from strataml.errors import Refusal, StrataError
from strataml.gates import evaluate
from strataml.hashing import sha256_stream
from strataml.records import Record, made_by, produced_by_one_of
from strataml.refs import NAME_RULE, SAME_NAME, VERSION_RULE, name_beside, valid_name, valid_version, version_beside
from strataml.schemas import schema_id, validate
from strataml.times import utc_now
from strataml.workspace import Workspace, load

GATE_FILE = "gate.json"
# What a bundle takes from a run: the model files, the report, the metrics.
BUNDLED = ("models/", "reports/report.md", "metrics/metrics.json")


@dataclass(frozen=True)
class Registered:
    ref: str
    folder: Path
    created: bool
    gate_status: str
    # Why the run's metrics, which the receipt is made from, were not checked against a file the
    # run wrote (None: they were, or the version existed already).
    unchecked: str | None = None
    # The signature the signing policy asks for, which only a registered version can get.
    unsigned: str | None = None


def register(root: Path, run_ref: str, name: str, version: str | None = None) -> Registered:
    refuse(name, "model name")
    if version is not None:
        refuse(version, "model version")
    workspace = load(root)
    run = _run(workspace, run_ref)
    if not valid_name(name):
        raise StrataError(f"{name!r} is not a valid model name", NAME_RULE)
    twin = name_beside(root, "model", name)
    if twin is not None:
        raise Refusal(
            f"model {name!r} was not registered: models/{twin} {SAME_NAME}",
            f"register it as a version of {twin} (`--name {twin}`), or pick another name",
        )
    from_run = {run.ref.folded}
    known = {str(m.ref): m.data.get("gate") for m in workspace.of_kind("model") if produced_by_one_of(m.data, from_run)}
    if version is not None and not valid_version(version):  # (before "registered already": a typo is said)
        raise StrataError(f"{version!r} is not a valid version", f"{VERSION_RULE}, e.g. 1, 2 or 1.0.0")
    existing = _already(root, run, name, known)
    if existing is not None:
        return existing
    if version is not None:
        same = version_beside(root, "model", name, version)
        if same is not None:
            raise Refusal(
                f"model:{name}@{version} would sit beside model:{name}@{same}, the same version spelled otherwise",
                f"pick another --version, or omit it for the next one ({_next_version(workspace, name, 0)})",
            )
    files = [f for f in run.files if f.path.startswith(BUNDLED)]
    if not any(f.path.startswith("models/") for f in files):
        raise Refusal(
            f"{run.ref} has no model artifacts under models/", "only runs that saved a model can be registered"
        )
    # Asked again under a lock, of the model versions on disk now: registrations at once each
    # passed "not registered yet" above (one run made three versions of a model, or versions of
    # two). The checks before it need no lock: a read-only checkout is told, not refused a lock.
    with atomic.locked(root, ".strataml/locks/register.lock"):
        made = {
            "model:{1}@{2}".format(*folder.split("/")): data.get("gate")
            for folder, data in made_by(root, {run.ref.folded})
        }
        existing = _already(root, run, name, made)
        if existing is not None:
            return existing
        return _publish(root, workspace, run, name, version, files)


def _already(root: Path, run: Record, name: str, registered: dict[str, Any]) -> Registered | None:
    """`run`'s version of model `name` when `registered` (ref -> gate of the versions made from
    `run`) holds one: registering again changes nothing; refused when it holds another's."""
    same = next((ref for ref in sorted(registered) if ref.startswith(f"model:{name}@")), None)
    if same is not None:
        gate = registered[same] if isinstance(registered[same], dict) else {}
        return Registered(same, root / "models" / name / same.rsplit("@", 1)[1], False, str(gate.get("status", "")))
    if registered:
        raise Refusal(
            f"{run.ref} is already registered as {', '.join(sorted(registered))}",
            "a run's model is registered once, under one name: use that version",
        )
    return None


def _publish(
    root: Path, workspace: Workspace, run: Record, name: str, version: str | None, files: list[Any]
) -> Registered:
    for attempt in range(100):
        chosen = version or _next_version(workspace, name, attempt)
        rel = f"models/{name}/{chosen}"
        final = root / rel
        if final.exists():
            if version:
                raise Refusal(
                    f"model:{name}@{version} already exists",
                    "model versions are immutable: pick another --version or omit it",
                )
            continue
        # Asked of the disk under the lock (the workspace was read before it): another register
        # may have made `1` while this one was given `01` (TFC0008-W001, two spellings of one version).
        same = version_beside(root, "model", name, chosen)
        if same is not None:
            if version:
                raise Refusal(
                    f"model:{name}@{version} would sit beside model:{name}@{same}, the same version spelled otherwise",
                    "pick another --version, or omit it for the next one",
                )
            continue
        try:
            status, unsigned = _write(root, run, name, chosen, files, rel)
        except FileExistsError:
            if version:
                raise
            continue  # another process took this version meanwhile
        return Registered(f"model:{name}@{chosen}", final, True, status, _unchecked(workspace, run), unsigned)
    raise StrataError(f"could not find a free version for model {name!r}")


def _run(workspace: Workspace, run_ref: str) -> Record:
    text = run_ref if ":" in run_ref or "/" in run_ref else f"run:{run_ref}"  # a path resolves as such
    run = workspace.require(text, "run", "name a run as run:RUN_ID (see runs/)")
    _refuse_broken(workspace, run)  # (first: of an empty run.yaml, "has status None" said nothing useful)
    if run.data.get("status") != "succeeded":
        raise Refusal(f"{run.ref} has status {run.data.get('status')!r}", "only succeeded runs can be registered")
    return run


def _refuse_broken(workspace: Workspace, run: Record) -> None:
    """A run the doctor rejects is not registered: its recorded paths (TFC0006-E004) and hashes
    are what the copy trusts, as sign and promote refuse a record with errors."""
    from strataml.doctor.engine import refuse_errors

    refuse_errors(workspace, run, "it cannot be registered", "fix them (`strataml doctor`) first")


def _unchecked(workspace: Workspace, run: Record) -> str | None:
    """Why `run`'s metrics were not checked against a file it wrote (TFC0003-W001's reasons), or
    None: the receipt is made from run.yaml, and a pull request adding such a run fails the gate."""
    from strataml.doctor.engine import Context
    from strataml.doctor.rules.records import check_metrics

    return check_metrics(Context(workspace), run).unchecked


def _next_version(workspace: Workspace, name: str, bump: int) -> str:
    numbers = [
        int(m.ref.version or "")
        for m in workspace.of_kind("model")
        if m.ref.name == name and (m.ref.version or "").isdigit()
    ]
    return str(max(numbers, default=0) + 1 + bump)


def _write(root: Path, run: Record, name: str, version: str, files: list[Any], rel: str) -> tuple[str, str | None]:
    """The version written: its gate's status, and the signature the signing policy asks of it."""
    name_folder = root / rel.rsplit("/", 1)[0]
    new_name = not os.path.lexists(name_folder)
    staging = staging_dir(root, rel)
    try:
        artifacts = []
        for entry in files:
            # Both ends by the confined rules: a run's file that is a symlink never brings outside
            # bytes in, and the copy is made one real folder at a time inside the staging folder.
            with atomic.open_file(root, f"{run.folder}/{entry.path}") as src, atomic.create(staging, entry.path) as out:
                sha, size = sha256_stream(src, out.write)
            if sha != entry.sha256 or size != entry.size:
                rel_file = f"{run.folder}/{entry.path}"
                if lfs.stands_in(root, rel_file, size, entry.size):
                    raise StrataError(
                        f"{rel_file} is a Git LFS pointer: the model it stands for is not in this checkout",
                        f"fetch it with `git lfs pull --include {shlex.quote(rel_file)}`, then register again",
                    )
                raise Refusal(
                    f"{rel_file} does not match {run.meta}",
                    "the run was changed after it ran; run `strataml doctor`",
                )
            artifacts.append({"path": entry.path, "sha256": sha, "size": size})
        ref = f"model:{name}@{version}"
        data = run.data
        receipt = {
            "schema": schema_id("gate"),
            "model": ref,
            "run": str(run.ref),
            **evaluate(data.get("gates") or [], data.get("metrics") or {}),
            "emitted_at": utc_now(),
        }
        gate_text = json.dumps(receipt, indent=2, sort_keys=True) + "\n"
        write_text(staging, GATE_FILE, gate_text)
        gate_sha = hashlib.sha256(gate_text.encode("utf-8")).hexdigest()
        record: dict[str, Any] = {
            "schema": schema_id("model"),
            "ref": ref,
            "produced_by": str(run.ref),
            "created_at": utc_now(),
            "config_hash": data["config_hash"],
            "inputs": data.get("inputs") or [],
            "artifacts": artifacts,
        }
        if data.get("features"):
            record["features"] = data["features"]
        if data.get("target"):
            record["target"] = data["target"]
        metrics = {k: v for k, v in (data.get("metrics") or {}).items() if k.startswith("test_")}
        record["evaluation"] = {
            "metrics": metrics,
            **({"report": "reports/report.md"} if any(a["path"] == "reports/report.md" for a in artifacts) else {}),
        }
        record["gate"] = {"file": GATE_FILE, "status": receipt["status"], "digest": f"sha256:{gate_sha}"}
        problems = validate("model", record) + validate("gate", receipt)
        if problems:
            raise AssertionError(f"model record breaks its schema: {problems[0].message}")
        write_yaml(staging, "model.yaml", record)
        from strataml.doctor.engine import refuse_staged

        unsigned = refuse_staged(
            root,
            rel,
            staging,
            ref,
            "registered",
            "nothing was written to models/; fix what the findings name (a name that collides: pick another name "
            "or version; the run's record: restore it from Git)",
        )
        publish_dir(root, staging, rel)
        return str(receipt["status"]), unsigned
    except BaseException:
        discard_staging(staging)
        if new_name:
            try:
                name_folder.rmdir()  # only if still empty: another register may have used it meanwhile
            except OSError:
                pass
        raise
