"""MLflow runs as StrataML run records: `strataml import mlflow` (the mlflow extra).

MLflow's client reads the store (a sqlite file, a folder, a tracking server); every run becomes
`runs/RUN_ID/` built in a staging folder and published whole, with run.yaml written last, as
`strataml run` does. The MLflow run id is recorded in `tracking.mlflow_run_id`: a run whose id is
already recorded in the workspace is never imported again, so importing twice changes nothing.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from strataml import __version__, lfs
from strataml.atomic import discard_staging, publish_dir, staging_dir, write_text, write_yaml
from strataml.controls import cut, find, said, shown
from strataml.errors import StrataError
from strataml.installed import extra_hint
from strataml.loading import MAX_BYTES, MAX_NODES, data_nodes
from strataml.paths import git_reads, unsafe
from strataml.records import IMPORTED
from strataml.refs import fold, valid_run_id
from strataml.runner.core import hash_tree, runs_root
from strataml.runner.spec import config_hash
from strataml.runner.tracking import LOCAL_FILE
from strataml.schemas import schema_id, validate
from strataml.words import counted
from strataml.workspace import Workspace

PLUGIN_KEY = IMPORTED  # what made the record: the importer, not a training plugin
ARTIFACTS = "mlflow"  # MLflow's artifact tree is kept whole under this folder of the run
# MLflow's statuses for a run that has ended; RUNNING and SCHEDULED runs may still change.
STATUS = {"FINISHED": "succeeded", "FAILED": "failed", "KILLED": "cancelled"}
_MLFLOW_ID = re.compile(r"[0-9a-f]{32}")  # uuid4().hex, as MLflow makes every run's id
SEED_PARAMS = ("seed", "random_state", "random_seed")
_INT = re.compile(r"-?(0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_HEX = re.compile(r"[0-9a-f]{16,64}")
_PAGE = 1000


@dataclass
class Planned:
    """What happens to one MLflow run: `action` is import, present (already in the workspace),
    skip (not ended yet) or refuse (it cannot become a valid record; `reason` says why)."""

    mlflow_id: str
    action: str
    run_id: str = ""
    status: str = ""
    reason: str = ""
    record: dict[str, Any] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)  # MLflow's own text, kept in summary/tracking.json
    history: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    artifacts: list[tuple[str, int | None]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mlflow_run_id": self.mlflow_id, "action": self.action}
        if self.run_id:
            out["ref"] = f"run:{self.run_id}"
        if self.status:
            out["status"] = self.status
        if self.reason:
            out["reason"] = self.reason
        if self.action == "import":
            out["artifacts"] = len(self.artifacts)
            out["inputs"] = [i["ref"] for i in self.record.get("inputs", [])]
            out["metrics"] = len(self.record.get("metrics", {}))
            out["seed_recorded"] = any(k in self.record.get("params", {}) for k in SEED_PARAMS)
        out["warnings"] = list(self.warnings)
        return out


def client(uri: str) -> Any:
    """An MLflow client for `uri`; the error names the extra when MLflow is not installed."""
    # MLflow draws its own progress bar on every download; the import says what it copies itself.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # A server that does not answer: MLflow's defaults (7 retries with a growing back-off, 120 s
    # a request) kept the import waiting for minutes before it said so. The user's settings win.
    for name, value in _PATIENCE.items():
        os.environ.setdefault(name, value)
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise StrataError("importing from MLflow needs MLflow, which is not installed", extra_hint("mlflow")) from None
    _exists(uri)
    return _call("opening the store", MlflowClient, tracking_uri=uri)


_PATIENCE = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}


def _mlflow_database(path: str) -> bool:
    """Whether `path` is an SQLite file holding every table this MLflow defines and an
    experiment, read-only: where a table is missing, MLflow would create it and migrate the file
    (a new, empty or foreign file, or an older MLflow's store, which its own server may no longer
    read), where its Default experiment (0) is not, write it; otherwise it only reads, and says
    so when the schema is older than it reads."""
    import sqlite3

    from mlflow.store.db.utils import Base

    if not os.path.isfile(path):
        return False
    try:
        db = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in db.execute("select name from sqlite_master where type='table'")}
            if not ("alembic_version" in tables and set(Base.metadata.tables) <= tables):
                return False
            # (No experiment 0: MLflow writes its Default one, with an artifact folder under
            # the folder the command runs in, as it opens the store.)
            return db.execute("select 1 from experiments where experiment_id = 0").fetchone() is not None
        finally:
            db.close()
    except sqlite3.Error:
        return False


_URI_EXAMPLE = "e.g. --tracking-uri sqlite:///mlflow.db, http://localhost:5000 or a folder store's path"


def _exists(uri: str) -> None:
    """A local store must be there already: MLflow would create an empty one where a path is
    mistyped, which is a write outside the workspace and an import of nothing."""
    try:
        parsed = urlsplit(uri)
        parsed.port  # noqa: B018 (raises for a port past 65535, as MLflow would later)
    except ValueError as exc:  # (http://[::1: an unclosed IPv6 address)
        raise StrataError(f"--tracking-uri {shown(uri)!s} is not a URI ({exc})", _URI_EXAMPLE) from None
    if parsed.scheme == "sqlite" or parsed.scheme.startswith("sqlite+"):
        # The file SQLAlchemy opens (sqlite:///rel.db relative, sqlite:////abs.db absolute), read
        # as it reads the URI: split as a URL, `sqlite:///a.db#x` was checked as a.db while
        # MLflow created `a.db#x`.
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            path = make_url(uri).database or ""
        except (ArgumentError, ValueError) as exc:
            raise StrataError(f"--tracking-uri {shown(uri)!s} is not a database URI ({exc})", _URI_EXAMPLE) from None
        ok = _mlflow_database(path)
        kind = "file" if not os.path.isfile(path) else "database with every table and the Default experiment"
        kind += "; MLflow would write into it"
    elif parsed.scheme in ("", "file"):
        path, kind = unquote(parsed.path) if parsed.scheme else uri, "folder"
        # (MLflow makes a folder store's .trash as it opens one without it: a store it made has one.)
        ok = os.path.isdir(path) and os.path.isdir(os.path.join(path, ".trash"))
        if os.path.isdir(path) and not ok:
            kind = "folder holding MLflow's .trash; MLflow would write into it"
    else:
        return  # a tracking server: MLflow says what is wrong with it
    if not ok:
        if kind == "folder" and _is_sqlite(path):  # (a database file given as a bare path)
            raise StrataError(
                f"{shown(path)} is an SQLite file, not a folder store",
                f"give it as a database URI: --tracking-uri {shlex.quote('sqlite:///' + path)}",
            )
        raise StrataError(
            f"no MLflow store at {shown(path)} (no such {kind})",
            "give the store that exists, e.g. --tracking-uri sqlite:///mlflow.db; an older MLflow's store: "
            "back it up and run `mlflow db upgrade` on it first",
        )


def _is_sqlite(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    except (OSError, ValueError):  # (ValueError: a NUL in the path, as file:///x%00y gives)
        return False


def plan(
    workspace: Workspace,
    mlflow: Any,
    experiment: str,
    wanted: Iterable[str] = (),
    tick: Callable[[int, int], None] | None = None,
    *,
    store: str = "",
    hosts: Iterable[str] = (),
) -> tuple[str, list[Planned]]:
    """The experiment's id and, for each of its runs (or of `wanted`), what an import does;
    `tick(done, total)` after each run is read. `store` is the tracking URI; `hosts` are the
    hosts (or buckets) the user allows artifacts to be copied from besides its own."""
    remote = Remote(store, frozenset(h.lower() for h in hosts))
    found = _call(f"reading experiment {experiment!r}", mlflow.get_experiment_by_name, experiment)
    if found is None:
        names = [e.name for e in _call("listing experiments", mlflow.search_experiments, max_results=20)]
        raise StrataError(
            f"MLflow has no experiment '{shown(experiment)}' at this tracking URI",
            f"experiments there: {', '.join(shown(n) for n in sorted(names)) or 'none'}",
        )
    exp_id = str(found.experiment_id)
    runs = _runs(mlflow, exp_id, experiment, list(wanted))
    present = _present(workspace)
    digests = {str(r.data.get("digest")): str(r.ref) for r in workspace.of_kind("dataset") if r.data.get("digest")}
    taken = {r.ref.name for r in workspace.of_kind("run")} | _folders(workspace)
    out = []
    threshold = lfs.threshold(workspace.config.data)
    for n, run in enumerate(runs, 1):
        try:
            planned = _plan_one(mlflow, run, experiment, present, digests, remote)
        except StrataError as exc:  # one run MLflow cannot hand over whole: the others still come
            planned = Planned(str(run.info.run_id), "refuse", reason=exc.message)
        if planned.action == "import":
            _check_size(planned, threshold)
        if tick:
            tick(n, len(runs))
        if planned.action == "import" and planned.run_id in taken:
            planned.action, planned.reason = (
                "refuse",
                (f"runs/{planned.run_id} already holds another run; move it or import with --runs to pick others"),
            )
        taken.add(planned.run_id)
        out.append(planned)
    return exp_id, out


def _folders(workspace: Workspace) -> set[str]:
    """Names under runs/ that hold no run record (a half-made folder is still in the way)."""
    runs = runs_root(workspace.root)
    try:
        return {p.name for p in runs.iterdir()} if runs.is_dir() else set()
    except OSError:
        return set()


def write(
    workspace: Workspace,
    mlflow: Any,
    planned: Planned,
) -> None:
    """Publish one planned run: artifacts downloaded and hashed in a staging folder, run.yaml last."""
    base = runs_root(workspace.root).parent
    rel = f"runs/{planned.run_id}"
    staging = staging_dir(base, rel)
    try:
        for path, _size in planned.artifacts:
            target = staging / ARTIFACTS / Path(path).parent
            target.mkdir(parents=True, exist_ok=True)
            got = Path(
                _call(f"copying artifact {path!r}", mlflow.download_artifacts, planned.mlflow_id, path, str(target))
            )
            if got != staging / ARTIFACTS / path or got.is_symlink() or not got.is_file():
                raise StrataError(f"MLflow artifact '{shown(path)}' of run {planned.mlflow_id} is not a regular file")
        tracked = {
            "params": planned.params,
            "tags": planned.record.get("tags", {}),
            "metrics": planned.history,
            "status": planned.status,
        }
        record = dict(planned.record)
        write_text(staging, LOCAL_FILE, json.dumps(tracked, indent=2, sort_keys=True) + "\n")
        record["artifacts"] = hash_tree(staging, "MLflow")
        problems = validate("run", record)
        if problems:
            raise StrataError(
                f"MLflow run {planned.mlflow_id} does not make a valid run record: {problems[0].message}",
                "report it with the MLflow run's params and tags",
            )
        write_yaml(staging, "run.yaml", record)
        publish_dir(base, staging, rel)
    except BaseException:
        discard_staging(staging)
        raise


def _call(what: str, action: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """action(*args, **kwargs), MLflow's exceptions as one-line errors (a wrong URI, a store it cannot read)."""
    try:
        return action(*args, **kwargs)
    except StrataError:
        raise
    except Exception as exc:  # MLflow raises its own and its stores' exceptions; none is ours
        raise _failed(what, exc) from None


def _failed(what: str, exc: Exception) -> StrataError:
    """MLflow's exception as a one-line error."""
    return StrataError(f"MLflow failed {what}: {said(exc)}", "check --tracking-uri and that the store is readable")


def _runs(mlflow: Any, exp_id: str, experiment: str, wanted: list[str]) -> list[Any]:
    if wanted:
        runs = []
        for run_id in dict.fromkeys(wanted):
            try:
                run = mlflow.get_run(run_id)
            except Exception as exc:  # (asked once: a second ask waited out MLflow's retries again)
                if "RESOURCE_DOES_NOT_EXIST" not in str(getattr(exc, "error_code", "")):
                    raise _failed(f"reading run {run_id!r}", exc) from None
                # (Said as "check --tracking-uri and that the store is readable": the store was fine.)
                some = _call(f"listing the runs of {experiment!r}", mlflow.search_runs, [exp_id], max_results=10)
                ids = ", ".join(r.info.run_id for r in some)
                raise StrataError(
                    f"MLflow has no run {shown(run_id)} (the store at --tracking-uri was read)",
                    f"the runs of '{shown(experiment)}' include: {ids}"
                    if ids
                    else f"'{shown(experiment)}' has no runs",
                ) from None
            if str(run.info.experiment_id) != exp_id:
                raise StrataError(
                    f"MLflow run {shown(run_id)} is not in experiment '{shown(experiment)}'",
                    "give the experiment the run belongs to",
                )
            runs.append(run)
        return runs
    runs, token = [], None
    while True:
        page = _call(
            f"listing the runs of {experiment!r}",
            mlflow.search_runs,
            [exp_id],
            max_results=_PAGE,
            order_by=["attributes.start_time ASC"],
            page_token=token,
        )
        runs.extend(page)
        token = getattr(page, "token", None)
        if not token:
            return sorted(runs, key=lambda r: (r.info.start_time or 0, r.info.run_id))


def _present(workspace: Workspace) -> dict[str, str]:
    """MLflow run id -> the workspace run that records it (imported, or made by `strataml run`
    with MLflow tracking on)."""
    out = {}
    for record in workspace.of_kind("run"):
        tracking = record.data.get("tracking")
        if isinstance(tracking, dict) and isinstance(tracking.get("mlflow_run_id"), str):
            out[tracking["mlflow_run_id"]] = str(record.ref)
    return out


def _plan_one(
    mlflow: Any, run: Any, experiment: str, present: dict[str, str], digests: dict[str, str], remote: Remote
) -> Planned:
    info, data = run.info, run.data
    mid = str(info.run_id)
    if mid in present:
        return Planned(mid, "present", run_id=present[mid].removeprefix("run:"), reason=f"recorded by {present[mid]}")
    if not _MLFLOW_ID.fullmatch(mid):
        # (The artifact root is checked to be a folder RUN_ID/artifacts: with an id of its choice,
        # an edited store named any such folder on this machine, ../private/proj/artifacts.)
        return Planned(
            mid,
            "refuse",
            reason="its MLflow run id is not one MLflow makes (32 hexadecimal digits): a store edited by hand",
        )
    if str(getattr(info, "lifecycle_stage", "active")) == "deleted":
        return Planned(mid, "skip", reason="deleted in MLflow: restore it there to import it")
    status = STATUS.get(str(info.status))
    if status is None:
        return Planned(mid, "skip", reason=f"MLflow says {info.status}: import it once it has ended")
    if not info.start_time or not info.end_time:
        return Planned(mid, "refuse", reason="MLflow recorded no start or end time for it")
    try:
        start = datetime.fromtimestamp(info.start_time / 1000, UTC)
        _time(info.end_time)
    except (ValueError, OverflowError, OSError):
        return Planned(mid, "refuse", reason=f"its times ({info.start_time}, {info.end_time} ms) are not dates")
    if info.end_time < info.start_time:
        return Planned(mid, "refuse", reason="MLflow says it ended before it started")
    run_id = _run_id(start, experiment, mid)
    planned = Planned(mid, "import", run_id=run_id, status=status)
    refused = _foreign_root(info, remote) or _artifacts(mlflow, mid, planned)
    if refused:
        planned.action, planned.reason = "refuse", refused
        return planned
    params = {str(k): str(v) for k, v in sorted(data.params.items())}
    metrics = {}
    for key, value in sorted(data.metrics.items()):
        if isinstance(value, (int, float)) and math.isfinite(value):
            metrics[str(key)] = value
        else:
            planned.warnings.append(f"metric '{shown(str(key))}' is {value}, which a run record cannot hold: left out")
    for key in sorted(data.metrics):
        points = _call(f"reading metric {key!r}", mlflow.get_metric_history, mid, key)
        series = sorted((p.step, p.timestamp, p.value) for p in points if math.isfinite(p.value))
        planned.history[str(key)] = [{"step": step, "value": value} for step, _t, value in series]
    converted = {k: _value(v) for k, v in params.items()}
    seed = next((converted[k] for k in SEED_PARAMS if _natural(converted.get(k))), 0)
    record: dict[str, Any] = {
        "schema": schema_id("run"),
        "ref": f"run:{planned.run_id}",
        "status": status,
        "created_at": start.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "started_at": _time(info.start_time),
        "ended_at": _time(info.end_time),
        "plugin": {"key": PLUGIN_KEY, "version": __version__},
        "seed": seed,
        "config_hash": config_hash({"mlflow": {"experiment": experiment, "params": params}}),
        "params": converted,
        "metrics": metrics,
        "tags": {str(k): str(v) for k, v in sorted(data.tags.items())},
        "inputs": _inputs(run, digests, planned),
        "tracking": {"mlflow_run_id": mid, "mlflow_experiment": experiment},
    }
    if status == "failed":
        record["error"] = {"type": "MLflowRunFailed", "message": "MLflow recorded this run as FAILED"}
    bad = next((k for k in (*record["params"], *record["metrics"], *record["tags"]) if find(k)), None)
    if bad is not None:
        planned.action, planned.reason = "refuse", f"the name '{shown(bad)}' in it holds a control character"
    planned.record, planned.params = record, params
    return planned


def _check_size(planned: Planned, threshold: int | None) -> None:
    """Refuse a run whose run.yaml would pass the metadata cap (TFC-0001); warn about files the
    doctor will want routed through Git LFS."""
    from strataml.atomic import dump_yaml

    listed = [{"path": f"{ARTIFACTS}/{p}", "sha256": "0" * 64, "size": n or 0} for p, n in planned.artifacts]
    listed.append({"path": LOCAL_FILE, "sha256": "0" * 64, "size": 0})
    record = {**planned.record, "artifacts": listed}
    size, nodes = len(dump_yaml(record).encode("utf-8")), data_nodes(record)
    if size > MAX_BYTES * 0.98 or nodes > MAX_NODES * 0.98:  # what run.yaml will hold, artifacts listed
        planned.action = "refuse"
        planned.reason = (
            f"its run.yaml would be {size:,} bytes and {nodes:,} YAML nodes, near or past what a metadata file may "
            f"hold ({MAX_BYTES:,} bytes, {MAX_NODES:,} nodes): too many or too long params or tags, or too many artifacts"
        )
        return
    if threshold is None:
        return
    points = sum(len(v) for v in planned.history.values())
    big = [p for p, n in planned.artifacts if n is not None and n > threshold]
    if big or points * 40 > threshold:  # summary/tracking.json takes ~40 bytes a step
        parts = ([counted(len(big), "artifact")] if big else []) + (
            ["its step-wise metrics"] if points * 40 > threshold else []
        )
        verb = "exceeds" if parts == ["1 artifact"] else "exceed"
        planned.warnings.append(
            f"{' and '.join(parts)} {verb} lfs.threshold_bytes ({threshold:,}): route them through Git LFS "
            "(.gitattributes) before committing, or the doctor reports them"
        )


@dataclass(frozen=True)
class Remote:
    """Where artifacts may come from besides local folders: the tracking server's own host, and
    the hosts (or buckets) the user named."""

    store: str  # the tracking URI
    hosts: frozenset[str] = frozenset()

    def refuses(self, uri: str, scheme: str) -> str:
        """Why a remote artifact root is not one to read, or ''. MLflow reaches it with the user's
        credentials (MLFLOW_TRACKING_TOKEN or ~/.mlflow/credentials on any http(s) host, the
        cloud's keys on a bucket), listing included: a store handed over, or a run someone logged
        on a shared server, can name a host of its own that collects them."""
        netloc = _netloc(uri)
        if netloc is None:
            return (
                "its artifact root's host part is not a plain host (user information, escapes): the host "
                "MLflow reaches need not be the one it seems to name"
            )
        if netloc and netloc in self.hosts:
            return ""
        tracking = urlsplit(self.store)
        # (A database store, like a file, holds whatever roots were written into it: no server serves them.)
        local = not (tracking.scheme in ("http", "https") or self.store.startswith("databricks"))
        if not local:
            if scheme == "mlflow-artifacts" and not netloc:
                return ""  # proxied by the tracking server itself
            if scheme in ("http", "https", "mlflow-artifacts") and netloc and netloc == _netloc(self.store):
                return ""
            if scheme in OBJECT_STORES and (netloc or scheme == "dbfs"):
                return ""  # the object store a server deployment keeps artifacts in, by bucket
        why = "a store read from a file can name any host" if local else "it is not the tracking server's"
        if not netloc:
            return (
                f"its artifact root is on {scheme}: with no host named, which MLflow would reach with your "
                f"credentials ({why}): import from the tracking server that serves it (--tracking-uri http://...)"
            )
        return (
            f"its artifact root is on {shown(netloc)}, which MLflow would reach with your credentials ({why}): "
            f"if {shown(netloc)} is yours, import again with --allow-artifact-host {shlex.quote(netloc)}"
        )


# Object stores a tracking server keeps artifacts in, named by bucket (the endpoint is the
# deployment's own); an Azure root names its account's host, which must be Azure's.
_AZURE_SCHEMES = ("wasbs", "wasb", "abfss")
OBJECT_STORES = ("s3", "gs", "dbfs", *_AZURE_SCHEMES)
_AZURE = (".blob.core.windows.net", ".dfs.core.windows.net")
# A host or bucket as it is: letters, digits, dots, dashes, underscores, a port (or an IPv6 address).
_PLAIN = re.compile(r"(?:[a-z0-9._-]+|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?")


def _netloc(uri: str) -> str | None:
    """The host (with its port) or bucket a URI names, lower case ('' for none; for an Azure
    root, container@account, its account Azure's own); None when it is not plain (user
    information, a backslash, escapes: URL parsers disagree on which host such a URI names)."""
    try:
        parts = urlsplit(uri)
        netloc = parts.netloc.lower()
    except ValueError:
        return None
    if not netloc:
        return ""
    if parts.scheme.lower() in _AZURE_SCHEMES:
        container, at, account = netloc.partition("@")
        plain = at and _PLAIN.fullmatch(container) and _PLAIN.fullmatch(account) and account.endswith(_AZURE)
        return netloc if plain else None
    return netloc if _PLAIN.fullmatch(netloc) else None


def _foreign_root(info: Any, remote: Remote) -> str:
    """Why a run's artifact root is not one to copy from, or ''. A store someone hands over can
    name any folder (file:///home/me/.aws), or link to one: its files would be copied into the
    workspace, to be committed. A local root must be, once every link on its way is followed, a
    folder RUN_ID/artifacts (where MLflow keeps a run's files) holding no link; it is read as
    MLflow reads it (a file: URI's path, or the text, percent-decoded). runs:/ and models:/
    name another run's root. A remote root is read through MLflow where `remote` allows it."""
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    uri = str(getattr(info, "artifact_uri", "") or "")
    said = f"its artifact root '{shown(cut(uri, 200))}'"
    try:
        scheme = urlparse(uri).scheme.lower()
    except ValueError:
        return f"{said} is not a URI"
    if scheme in ("runs", "models"):
        return f"{said} is another run's or model's: import that run instead"
    if scheme not in ("", "file") and len(scheme) > 1:  # (C:/... is a local path)
        return remote.refuses(uri, scheme)
    host = urlparse(uri).netloc if scheme == "file" else ""
    if host.lower() not in ("", "localhost") or uri.startswith(("\\\\", "//")):
        # (file://HOST/... and \\HOST\share are a network share on Windows: its host gets the user's login.)
        return f"{said} is on another machine's share, which would be reached with your login"
    real = os.path.realpath(url2pathname(urlparse(uri).path if scheme == "file" else uri))
    if os.path.basename(real) != "artifacts" or os.path.basename(os.path.dirname(real)) != str(info.run_id):
        return (
            f"{said} is not a folder {info.run_id}/artifacts, where MLflow keeps a run's files (links followed): "
            "a store edited to name another folder would copy that folder into the workspace"
        )
    for folder, dirs, files in os.walk(real):  # (links to folders are listed, never entered)
        for name in (*dirs, *files):
            if os.path.islink(os.path.join(folder, name)):
                rel = os.path.relpath(os.path.join(folder, name), real)
                return (
                    f"its artifact '{shown(Path(rel).as_posix())}' is a symbolic link: its target, wherever it "
                    "leads, would be copied into the workspace"
                )
    return ""


def _artifacts(mlflow: Any, mid: str, planned: Planned) -> str:
    """Fill planned.artifacts with every artifact file; the reason to refuse the run, or ''."""
    folders = [""]
    while folders:
        folder = folders.pop()
        listing = _call(f"listing artifacts of {mid}", mlflow.list_artifacts, mid, folder or None)
        for item in listing:
            path = str(item.path)
            why = (
                unsafe(path)
                or ("holds a control character" if find(path) else None)
                or (
                    "is named as git's own files are (git would read it, and change how the run's files check out)"
                    if git_reads(path)
                    else None
                )
            )
            if why:
                return f"its artifact '{shown(path)}' {why}"
            if item.is_dir:
                folders.append(path)
            else:
                planned.artifacts.append((path, item.file_size))
    planned.artifacts.sort()
    names = [fold(f"{ARTIFACTS}/{p}") for p, _s in planned.artifacts]
    if len(set(names)) != len(names):
        return "two of its artifacts differ only in case or Unicode form, which not every checkout can hold"
    return ""


def _inputs(run: Any, digests: dict[str, str], planned: Planned) -> list[dict[str, str]]:
    """Dataset inputs MLflow logged whose digest names one workspace dataset version: its sha256
    digest, or (MLflow's SQL stores keep 36 characters of a digest) at least 16 of its first hex
    digits, with or without `sha256:`."""
    out: dict[str, dict[str, str]] = {}
    inputs = getattr(run, "inputs", None)
    for item in getattr(inputs, "dataset_inputs", None) or []:
        dataset = item.dataset
        digest = str(dataset.digest or "").strip().lower().removeprefix("sha256:")
        hits = [d for d in digests if d[7:].startswith(digest)] if _HEX.fullmatch(digest) else []
        if len(hits) == 1:
            out[digests[hits[0]]] = {"ref": digests[hits[0]], "digest": hits[0]}
            continue
        why = "matches more than one dataset version here" if hits else "matches no dataset version here"
        planned.warnings.append(
            f"input dataset '{shown(str(dataset.name))}' (digest '{shown(str(dataset.digest))}') {why}: imported "
            "without it; to link it, add the version (or log its full digest), remove the run, import again"
        )
    return [out[k] for k in sorted(out)]


def _run_id(start: datetime, experiment: str, mid: str) -> str:
    """The run's id here from MLflow's (32 hex digits, checked first): a slug of a name that
    makes no valid id is left out."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", experiment).strip("-._")[:40].strip("-._")
    run_id = f"{start:%Y%m%dT%H%M%SZ}-{slug}-{mid[:6]}" if slug else f"{start:%Y%m%dT%H%M%SZ}-{mid[:6]}"
    return run_id if valid_run_id(run_id) else f"{start:%Y%m%dT%H%M%SZ}-{mid[:12]}"


def _time(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _value(text: str) -> Any:
    """An MLflow param (always text) as the value it spells: numbers, booleans and null as such,
    a JSON list of those as a list; anything else stays text."""
    if _INT.fullmatch(text):
        number = int(text)
        return number if abs(number) < 2**53 else text
    if _FLOAT.fullmatch(text):
        value = float(text)
        return value if math.isfinite(value) else text
    if text in ("True", "true", "False", "false"):
        return text in ("True", "true")
    if text in ("None", "null"):
        return None
    if text.startswith("[") and text.endswith("]"):
        try:
            items = json.loads(text)
        except ValueError:
            return text
        if isinstance(items, list) and all(isinstance(i, (str, int, float, bool)) or i is None for i in items):
            return items
    return text


def _natural(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
