"""The tracking facade: always a local record in the run folder; MLflow too when configured.

Core starts and ends tracking runs; plugins only log. Environment variables are the runtime
configuration: MLFLOW_TRACKING_URI turns MLflow on, MLFLOW_EXPERIMENT_NAME names the MLflow
experiment (default: the spec's name).

The run folder is the record; MLflow holds a copy. A tracking server that cannot be reached when
the run starts stops it before anything trains (with what to do); one that fails later is told
once and left out for the rest of the run, which is recorded as it went (a server going away
during training failed the plugin, and its error on ending the run then discarded the run); a
value MLflow refuses (a metric name it does not take) is left out of its copy alone.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from strataml.atomic import write_text
from strataml.controls import said, shown
from strataml.errors import StrataError
from strataml.installed import extra_hint

LOCAL_FILE = "summary/tracking.json"
ARTIFACT_PATHS = ("data", "models", "metrics", "plots", "reports", "summary", "errors")


class LocalTracker:
    """Records params, tags and step-wise metrics into the run folder (summary/tracking.json)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.params: dict[str, Any] = {}
        self.tags: dict[str, str] = {}
        self.metrics: dict[str, list[dict[str, float]]] = {}

    def start(self, run_id: str, experiment: str, tags: dict[str, str]) -> None:
        self.tags.update(tags)

    def log_params(self, params: dict[str, Any]) -> None:
        self.params.update(params)

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        series = self.metrics.setdefault(key, [])
        if math.isfinite(value):  # (NaN and infinities are not JSON: the point is left out)
            series.append({"step": step if step is not None else len(series), "value": float(value)})

    def set_tags(self, tags: dict[str, str]) -> None:
        self.tags.update(tags)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        pass  # the files already live in the run folder

    def end(self, status: str) -> None:
        doc = {
            "params": dict(sorted(self.params.items())),
            "tags": dict(sorted(self.tags.items())),
            "metrics": dict(sorted(self.metrics.items())),
            "status": status,
        }
        write_text(self.folder, LOCAL_FILE, json.dumps(doc, indent=2, sort_keys=True) + "\n")


def _not_installed() -> StrataError:
    return StrataError(
        "MLFLOW_TRACKING_URI is set but MLflow is not installed",
        f"{extra_hint('mlflow')}, or unset MLFLOW_TRACKING_URI",
    )


def require_mlflow() -> None:
    """What a run with MLFLOW_TRACKING_URI set needs, asked without importing MLflow (a dry run's
    check: making its client would already create a local store)."""
    import importlib.util

    try:
        found = importlib.util.find_spec("mlflow") is not None
    except (ImportError, ValueError, AttributeError):  # (a module entry of None, or a finder that refuses it)
        found = False
    if not found:
        raise _not_installed()


class MlflowTracker:
    """The same calls against an MLflow tracking server or store (client API, no global state)."""

    def __init__(self, uri: str) -> None:
        try:
            from mlflow.tracking import MlflowClient
        except ImportError:
            raise _not_installed() from None
        try:
            self.client = MlflowClient(tracking_uri=uri)
        except Exception as exc:  # (MLflow's words for a URI it cannot use were an internal error)
            raise StrataError(
                f"MLFLOW_TRACKING_URI={shown(uri)}: MLflow cannot track there ({said(exc)}); nothing ran",
                "fix or unset MLFLOW_TRACKING_URI; a local store needs no server: sqlite:///mlflow.db from the "
                "workspace's top (MLflow's folder stores need MLFLOW_ALLOW_FILE_STORE=true in recent versions)",
            ) from None
        self.uri = uri
        self.run_id: str | None = None
        self.experiment_name = ""

    def reachable(self) -> None:
        """A StrataError when the URI names a server nothing answers at: MLflow's client retries a
        refused connection for minutes, in silence, before its first call fails."""
        parts = urlsplit(self.uri)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return  # (a file or database store: MLflow's own first call says what is wrong)
        try:  # (as requests, which makes MLflow's calls, reads HTTP_PROXY, ALL_PROXY and NO_PROXY)
            from requests.utils import get_environ_proxies, select_proxy

            if select_proxy(self.uri, get_environ_proxies(self.uri)):
                return  # (reached through a proxy, which alone may resolve the name: MLflow's calls say)
        except ImportError:
            pass
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            socket.create_connection((parts.hostname, port), timeout=REACH_SECONDS).close()
        except (OSError, ValueError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
            raise StrataError(
                f"MLFLOW_TRACKING_URI={shown(self.uri)}: no tracking server answers there ({shown(why)}); nothing ran",
                "start the MLflow server, fix MLFLOW_TRACKING_URI, or unset it to record the run in runs/ alone",
            ) from None

    def start(self, run_id: str, experiment: str, tags: dict[str, str]) -> None:
        self.experiment_name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or experiment
        found = self.client.get_experiment_by_name(self.experiment_name)
        exp_id = found.experiment_id if found else self.client.create_experiment(self.experiment_name)
        run = self.client.create_run(exp_id, run_name=run_id, tags={**tags, "strataml.run_id": run_id})
        self.run_id = run.info.run_id

    def check_artifacts(self, workspace: Path) -> None:
        """A StrataError, the MLflow run ended, when its artifacts would be written inside the
        workspace (see _placed): an existing experiment's artifact location is its own, set where
        it was made (from experiments/, it was experiments/mlruns/, and through a committed link
        there, anywhere)."""
        try:
            location = self.client.get_run(self._id).info.artifact_uri or ""
            parts = urlsplit(location)
        except Exception:  # (MLflow's first write says what is wrong with its own store)
            return
        if parts.scheme not in ("", "file"):
            return  # (a remote artifact store, or the tracking server's proxy: nothing written here)
        path = url2pathname(parts.path) if parts.scheme == "file" else location
        try:
            _placed(
                f"MLflow experiment '{shown(self.experiment_name)}' keeps its artifacts in {shown(path)}",
                path,
                workspace,
                "name an MLflow experiment whose artifact location is outside the workspace "
                "(MLFLOW_EXPERIMENT_NAME, or `mlflow experiments create --artifact-location`), or one made from the "
                "workspace's top, where .gitignore ignores mlruns/",
            )
        except StrataError:
            with contextlib.suppress(Exception):
                self.client.set_terminated(self._id, "KILLED")
            raise

    @property
    def _id(self) -> str:
        if self.run_id is None:
            raise RuntimeError("MLflow tracking used before start()")
        return self.run_id

    def log_params(self, params: dict[str, Any]) -> None:
        for key, value in params.items():
            # MLflow params are text: lists and booleans as JSON spells them, as run.yaml reads.
            text = "" if value is None else value if isinstance(value, str) else json.dumps(value)
            self.client.log_param(self._id, key, text[:6000])

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        self.client.log_metric(self._id, key, float(value), step=step or 0)

    def set_tags(self, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_tag(self._id, key, value)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(self._id, str(path), artifact_path)

    def end(self, status: str) -> None:
        self.client.set_terminated(
            self._id, "FINISHED" if status == "succeeded" else "FAILED" if status == "failed" else "KILLED"
        )


_DATABASES = frozenset({"postgresql", "mysql", "mssql", "oracle"})  # (MLflow's SQL stores, by engine)
REACH_SECONDS = 10.0  # how long the first connection to a tracking server may take
# MLflow's codes for a call it refused for what it was given, the server fine: only that value is lost.
_REFUSED_CALL = frozenset({"INVALID_PARAMETER_VALUE", "BAD_REQUEST", "RESOURCE_ALREADY_EXISTS", "INVALID_STATE"})


class Tracking:
    """What `context.tracking` is: fans every call out to the configured trackers."""

    def __init__(self, env: dict[str, str] | None = None, workspace: Path | None = None) -> None:
        # MLflow is set up first so a missing extra fails before any run folder exists.
        env = dict(os.environ if env is None else env)
        uri = env.get("MLFLOW_TRACKING_URI")
        if uri and workspace is not None:
            check_placement(uri, workspace)
        self.workspace = workspace
        self.mlflow = MlflowTracker(uri) if uri else None
        self.local: LocalTracker | None = None
        self._all: list[Any] = []
        self._log = logging.getLogger("strataml.run")
        self.lost: str | None = None  # why MLflow was left out during the run
        self._refused = False  # whether MLflow refused a value (said once)

    def bind(self, folder: Path, log: logging.Logger | None = None) -> None:
        """Record locally into `folder` (the run folder) from now on."""
        self.local = LocalTracker(folder)
        self._all = [self.local] + ([self.mlflow] if self.mlflow else [])
        if log is not None:
            self._log = log

    @property
    def mlflow_run_id(self) -> str | None:
        return self.mlflow.run_id if self.mlflow else None

    def start(self, run_id: str, experiment: str, tags: dict[str, str]) -> None:
        """Begin the run in every tracker: a server that cannot be reached, or refuses, stops the
        run here (StrataError), before anything trains."""
        if self.mlflow is not None:
            self.mlflow.reachable()
            try:
                self.mlflow.start(run_id, experiment, tags)
            except Exception as exc:
                raise StrataError(
                    f"MLflow at MLFLOW_TRACKING_URI={shown(self.mlflow.uri)} refused to start the run: "
                    f"{said(exc)}; nothing ran",
                    "fix the tracking server or MLFLOW_TRACKING_URI, or unset it to record the run in runs/ alone",
                ) from None
            if self.workspace is not None:
                self.mlflow.check_artifacts(self.workspace)
        if self.local is not None:
            self.local.start(run_id, experiment, tags)

    def _each(self, call: Callable[[Any], None]) -> None:
        for t in self._all:
            if t is not self.mlflow:
                call(t)
            elif self.lost is None:
                try:
                    call(t)
                except Exception as exc:
                    # (The local record goes on: the run is what it wrote, MLflow a copy of it.)
                    if str(getattr(exc, "error_code", "")) in _REFUSED_CALL:
                        # One value MLflow refuses (a metric name it does not take): the copy
                        # lacks it, and goes on.
                        if not self._refused:
                            self._log.warning(
                                "MLflow refused a value (%s): the run's folder keeps it, MLflow's copy lacks it",
                                said(exc),
                            )
                        self._refused = True
                        continue
                    self.lost = said(exc)
                    self._log.warning(
                        "MLflow tracking failed (%s): the run goes on and is recorded in its folder; MLflow's copy "
                        "of it stops here",
                        self.lost,
                    )

    def log_params(self, params: dict[str, Any]) -> None:
        for key, value in params.items():  # (one at a time: a value MLflow refuses loses no other)
            self._each(lambda t, one={key: value}: t.log_params(one))  # type: ignore[misc]

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        self._each(lambda t: t.log_metric(key, value, step))

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        for key, value in metrics.items():
            self.log_metric(key, value, step)

    def set_tags(self, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self._each(lambda t, one={key: value}: t.set_tags(one))  # type: ignore[misc]

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        self._each(lambda t: t.log_artifact(path, artifact_path))

    def log_artifacts(self, folder: Path, artifact_path: str | None = None) -> None:
        for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
            rel_parent = path.parent.relative_to(folder).as_posix()
            sub = (
                artifact_path if rel_parent == "." else f"{artifact_path}/{rel_parent}" if artifact_path else rel_parent
            )
            self.log_artifact(path, sub)

    def end(self, status: str) -> None:
        self._each(lambda t: t.end(status))


# What the workspace's .gitignore ignores at its top: where a local MLflow store may write.
_IGNORED = ("mlflow.db", "mlruns")


def check_placement(uri: str, workspace: Path) -> None:
    """A StrataError when a local MLflow store would write inside the workspace where its
    .gitignore does not ignore it (only /mlflow.db and /mlruns/ at the top): the database or
    store folder MLFLOW_TRACKING_URI names (a relative one from the current folder), and, for a
    database, the artifacts MLflow keeps in ./mlruns of the current folder. `sqlite:///mlflow.db`
    (as .env.example has it) run from experiments/ wrote experiments/mlflow.db and
    experiments/mlruns/, stray entries the doctor rejects (TFC0001-E002)."""
    try:
        parts = urlsplit(uri)
        if parts.scheme in ("http", "https"):  # (databricks://SCOPE:PREFIX names no port)
            parts.port  # noqa: B018 (raises for a port past 65535, as MLflow would later)
    except ValueError as exc:  # (http://[::1: an unclosed IPv6 address)
        raise StrataError(
            f"MLFLOW_TRACKING_URI={shown(uri)} is not a URI ({exc}); nothing ran",
            "fix or unset MLFLOW_TRACKING_URI, e.g. sqlite:///mlflow.db from the workspace's top or "
            "http://localhost:5000",
        ) from None
    engine = parts.scheme.split("+", 1)[0].lower()  # (sqlite+pysqlite: a driver named, the same store)
    if engine == "sqlite":
        rest = uri.split(":", 1)[1]
        name = unquote(rest[3:].split("?", 1)[0]) if rest.startswith("///") else ""  # (as SQLAlchemy reads %20)
        written = [name, "mlruns"] if name and name != ":memory:" else ["mlruns"]
    elif engine in _DATABASES:
        written = ["mlruns"]  # (a database elsewhere; MLflow's artifacts still in ./mlruns here)
    elif parts.scheme == "file" or (parts.scheme == "" and not uri.startswith("databricks")):
        written = [url2pathname(parts.path) if parts.scheme == "file" else uri]  # (its artifacts inside it)
    else:
        return  # (a tracking server, or Databricks: nothing written here)
    for path in written:
        _placed(f"MLFLOW_TRACKING_URI={shown(uri)}", path, workspace)


def _placed(where: str, path: str, workspace: Path, fix: str = "") -> None:
    """A StrataError (said of `where`) when MLflow would write `path` inside the workspace but
    in the top's mlflow.db or mlruns/ that its .gitignore ignores, or through a link or a tracked
    entry there; nothing when `path` lies outside the workspace (where the user keeps it)."""
    from strataml.paths import inside

    top = os.path.realpath(workspace)
    rel = inside(path, workspace)
    if rel is None:
        return
    first = rel.split(os.sep, 1)[0]
    if first not in _IGNORED or (first == "mlflow.db" and rel != first):
        raise StrataError(
            f"{where}: MLflow would write {shown(rel)} inside the workspace, where no record may sit; nothing ran",
            fix
            or f"run from the workspace's top folder ({shown(top)}), where its .gitignore ignores mlflow.db and "
            "mlruns/, with the store named there (sqlite:///mlflow.db) or outside the workspace",
        )
    if os.path.islink(os.path.join(top, first)):
        # (.gitignore's /mlruns/ ignores a folder, not a link a commit can hold; MLflow follows
        # it, into a record folder or anywhere outside the repository.)
        raise StrataError(
            f"{where}: {first} at the workspace's top is a symbolic link, which MLflow would write through; nothing ran",
            f"remove the link (`git rm {first}` if a commit brought it); MLflow makes {first} itself",
        )
    from strataml import gitfacts

    if gitfacts.tracks(Path(top), first):
        # (What .gitignore keeps out, a commit can still hold: `mlruns/0 -> ../runs/ID` or a link
        # out of the repository, which MLflow writes its artifacts through.)
        raise StrataError(
            f"{where}: {first} at the workspace's top holds what a commit brought (git tracks it), which MLflow "
            "would write into and through its links; nothing ran",
            f"remove it from the repository (`git rm -r --cached {first}`, then delete what it holds); MLflow "
            f"makes {first} itself and .gitignore keeps it out",
        )
