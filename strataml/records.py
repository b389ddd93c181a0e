"""Typed, frozen records: what the one walk of the workspace found.

A record's identity (its ref) comes from where it lives, never from what its file claims;
the doctor compares the two. Field accessors are defensive because a record may fail its
schema and still be worth checking in every other way.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from strataml.gates import run_of
from strataml.loading import Loaded
from strataml.modelsigning import is_bundle_path
from strataml.numbers import whole
from strataml.once import once
from strataml.refs import Ref

SIGNATURE_SUFFIX = ".asc"  # a detached, armoured signature beside the file it signs
IMPORTED = "mlflow-import"  # a run's plugin key when `strataml import mlflow` made it, not a training plugin


class FileEntry(NamedTuple):
    """A file a record pins by sha256 and size; `index` is its position in the list."""

    path: str
    sha256: str | None
    size: int | None
    field: str
    index: int  # type: ignore[assignment]  # shadows tuple.index on purpose: the position in the list

    @property
    def checkable(self) -> bool:
        """Whether the recorded sha256 is one (64 lowercase hex digits): content and the version's
        digest are compared with it only then (`nothex` was called changed content, and the digest
        a mismatch, beside the schema's finding: the integrity rule says the content is unverified)."""
        return self.sha256 is not None and _SHA256.fullmatch(self.sha256) is not None


_SHA256 = re.compile("[0-9a-f]{64}")


class Input(NamedTuple):
    ref: str
    digest: str | None
    index: int  # type: ignore[assignment]  # shadows tuple.index on purpose: the position in the list


@dataclass(frozen=True)
class Window:
    start: str
    end: str


@dataclass(frozen=True, init=False)  # (init=False: see refs.Ref)
class Record:
    """One dataset version, experiment spec, run or model version.

    `folder` is the record folder relative to the workspace root (POSIX), or None for kinds
    that are a single file (experiments); `meta` is the metadata file's relative path.
    """

    kind: str
    ref: Ref
    folder: str | None
    meta: str
    # Reads the metadata file; called once, on first use, so a --since run that checks a few
    # records never parses the others.
    reader: Callable[[], Loaded] = field(compare=False, repr=False)

    def __init__(self, kind: str, ref: Ref, folder: str | None, meta: str, reader: Callable[[], Loaded]) -> None:
        d = self.__dict__
        d["kind"], d["ref"], d["folder"], d["meta"], d["reader"] = kind, ref, folder, meta, reader

    @once
    def loaded(self) -> Loaded:
        return self.reader()

    @once
    def data(self) -> dict[str, Any]:
        return self.loaded.data if isinstance(self.loaded.data, dict) else {}

    def line(self, *path: str | int) -> int | None:
        return self.loaded.line_of(path)

    @once
    def pinned(self) -> frozenset[str]:
        """Workspace paths of the files the record pins."""
        return frozenset(f"{self.folder}/{f.path}" for f in self.files) if self.folder else frozenset()

    def is_signature_file(self, path: str) -> bool:
        """Whether the workspace path `path`, in this record's folder, is a signature file: a
        `*.asc` the record does not pin (one it pins is data like any other file), or a model
        version's model-signing bundle. The integrity, signature and history rules all ask
        this, so they cannot disagree."""
        if path in self.pinned:
            return False
        return path.endswith(SIGNATURE_SUFFIX) or (self.kind == "model" and is_bundle_path(path))

    @once
    def files(self) -> tuple[FileEntry, ...]:
        """Every file the record pins: dataset files, run and model artifacts."""
        key = {"dataset": "files", "run": "artifacts", "model": "artifacts"}.get(self.kind)
        if key is None:
            return ()
        return _file_entries(self.data.get(key), key)

    @once
    def inputs(self) -> tuple[Input, ...]:
        return inputs_of(self.data)

    @property
    def plugin_key(self) -> str | None:
        """The key of what made a run (its plugin's, or IMPORTED); None when it names none."""
        plugin = self.data.get("plugin")
        key = plugin.get("key") if isinstance(plugin, dict) else None
        return key if isinstance(key, str) else None

    @property
    def imported(self) -> bool:
        """Whether `strataml import mlflow` made this run: its key, and no experiment (MLflow
        holds no spec). A run naming an experiment is judged as that experiment's, whatever its
        key says (the run schema's split rule reads it the same way)."""
        return self.plugin_key == IMPORTED and "experiment" not in self.data

    @property
    def digest(self) -> str | None:
        value = self.data.get("digest")
        return value if isinstance(value, str) else None

    @once
    def time_range(self) -> tuple[str, Window] | None:
        """(column, window) for time-stamped datasets."""
        tr = self.data.get("time_range")
        if isinstance(tr, dict) and all(isinstance(tr.get(k), str) for k in ("column", "start", "end")):
            return tr["column"], Window(tr["start"], tr["end"])
        return None

    @once
    def windows(self) -> dict[str, Window]:
        """Split windows by name (train/val/test) for runs and experiments with a time split
        (a ratio split's windows mean nothing, and are no period for the leakage rules; a kind
        no schema knows is the schema's error, its windows still judged)."""
        split = self.data.get("split")
        raw = split.get("windows") if isinstance(split, dict) and split.get("kind") != "ratio" else None
        if not isinstance(raw, dict):
            return {}
        return {
            name: Window(w["start"], w["end"])
            for name, w in raw.items()
            if isinstance(w, dict) and isinstance(w.get("start"), str) and isinstance(w.get("end"), str)
        }

    @property
    def params_windows(self) -> dict[str, Window]:
        """A run's time split as its params list it (the spec's, as `strataml run` flattens it;
        `windows` is the split it used); {} for a run `strataml import mlflow` made."""
        params = self.data.get("params")
        if self.kind != "run" or self.imported or not isinstance(params, dict) or params.get("split.kind") != "time":
            return {}
        out = {}
        for name in ("train", "val", "test"):
            start, end = (params.get(f"split.windows.{name}.{side}") for side in ("start", "end"))
            if isinstance(start, str) and isinstance(end, str):
                out[name] = Window(start, end)
        return out

    @property
    def split_column(self) -> str | None:
        split = self.data.get("split")
        col = split.get("column") if isinstance(split, dict) else None
        return col if isinstance(col, str) else None


def _file_entries(items: Any, key: str) -> tuple[FileEntry, ...]:
    if not isinstance(items, list):
        return ()
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            continue
        sha = item.get("sha256")
        # (The schema's integer takes 11000000.0, as JSON Schema does; read as None, it switched
        # off every check of the size, the large-file-not-in-LFS one among them.)
        size = whole(item.get("size"))
        out.append(
            FileEntry(
                item["path"],
                sha if isinstance(sha, str) else None,
                size,
                key,
                i,
            )
        )
    return tuple(out)


def inputs_of(data: dict[str, Any]) -> tuple[Input, ...]:
    """The `inputs` a run or model's metadata names (those with a ref text)."""
    items = data.get("inputs")
    if not isinstance(items, list):
        return ()
    out = []
    for i, item in enumerate(items):
        if isinstance(item, dict) and isinstance(item.get("ref"), str):
            digest = item.get("digest")
            out.append(Input(item["ref"], digest if isinstance(digest, str) else None, i))
    return tuple(out)


def producing_run(workspace: Any, model: Record | None) -> Record | None:
    """The run a model version names in produced_by, as every check of it finds it (None: none,
    or not a run). `workspace`: what finds records by ref (workspace.Workspace)."""
    produced = model.data.get("produced_by") if model is not None and isinstance(model.data, dict) else None
    run = workspace.get(produced) if isinstance(produced, str) and produced.startswith("run:") else None
    return run if run is not None and run.kind == "run" else None


def made_by(root: Path, runs: set[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(folder, model.yaml's data) of each model version on disk now whose produced_by names one
    of `runs` (folded refs), in any spelling YAML allows and case-folded (a checkout on macOS or
    Windows resolves any case): read from every version folder there is, not from a walk made
    earlier, so a version another command made meanwhile is seen."""
    from strataml import atomic
    from strataml.loading import MAX_BYTES, load_bytes

    try:
        names = sorted(e.name for e in os.scandir(os.path.join(root, "models")) if e.is_dir(follow_symlinks=False))
    except OSError:
        return
    for name in names:
        try:
            versions = sorted(
                e.name for e in os.scandir(os.path.join(root, "models", name)) if e.is_dir(follow_symlinks=False)
            )
        except OSError:
            continue
        for version in versions:
            folder = f"models/{name}/{version}"
            try:
                raw = atomic.read_bytes(root, f"{folder}/model.yaml", limit=MAX_BYTES)
            except (OSError, atomic.Refused):
                continue  # (what it is instead is the doctor's finding)
            data = load_bytes(raw, lines=False).data if raw is not None else None
            if isinstance(data, dict) and produced_by_one_of(data, runs):
                yield folder, data


def produced_by_one_of(data: Any, runs: set[str]) -> bool:
    """Whether model.yaml's `data` names one of `runs` (folded refs) in produced_by, in any
    spelling YAML allows and case-folded."""
    from strataml.refs import fold

    produced = data.get("produced_by") if isinstance(data, dict) else None
    return isinstance(produced, str) and fold(produced.strip()) in runs


def experiment_of(workspace: Any, ref: str) -> str | None:
    """The name of the experiment whose run made the model version `ref` (None: not known)."""
    version = workspace.get(ref)
    run = producing_run(workspace, version) if version is not None and version.kind == "model" else None
    return run_of(run.data)[0] if run is not None else None


def served_experiments(workspace: Any, entries: list[dict[str, Any]]) -> list[str]:
    """The experiments whose runs made the versions a model's ledger `entries` moved to staging
    or production: a model registered by hand meets the bar they met (gates.bar)."""
    from strataml.lifecycle import served  # (lifecycle imports workspace, which imports this module)

    return [e for ref in served(entries) if (e := experiment_of(workspace, ref)) is not None]
