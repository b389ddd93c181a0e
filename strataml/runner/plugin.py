"""The plugin contract: what core hands a plugin, what a plugin hands back, how plugins are found."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from strataml.controls import shown
from strataml.errors import StrataError
from strataml.installed import extra_hint

GROUP = "strataml.plugins"
# Plugins that ship with strataml, for checkouts run without install (tools/run.py), where
# the entry points of the package metadata do not exist. Installed, they come from the group.
BUILTIN = {"sklearn": "strataml.plugins.sklearn:SklearnPlugin"}
# What the built-ins declare (METRICS, MODEL_TYPES), readable without importing them or scanning
# package metadata, which would cost every doctor run ~50 ms whether or not a spec has gates.
BUILTIN_NAMES = {"sklearn": "strataml.plugins.sklearn.names"}
# Which way a built-in plugin's metrics are better ("higher" or "lower"), for reports that compare.
BUILTIN_BETTER = {"sklearn": "strataml.plugins.sklearn.names:BETTER"}


def builtin_better(key: str) -> dict[str, str]:
    """What a built-in plugin declares of its metrics' directions; nothing for others (a report
    does not import third-party code to ask)."""
    if key not in BUILTIN_BETTER:
        return {}
    module_name, _, attr = BUILTIN_BETTER[key].partition(":")
    return dict(getattr(importlib.import_module(module_name), attr))


@dataclass(frozen=True)
class PluginInfo:
    key: str
    version: str
    description: str
    extra: str | None = None  # the pip extra that installs what the plugin imports
    modules: tuple[str, ...] = ()  # import names the extra provides (checked without importing)
    packages: tuple[str, ...] = ()  # distribution names whose versions a run records
    # Every metric name a run can write; gates naming others are refused before a run (TFC0003-E004).
    # None: undeclared, and the doctor says it could not check (TFC0003-I001).
    metrics: tuple[str, ...] | None = None
    # Every model.type the plugin trains; a spec naming another is refused before a run
    # (TFC0003-E006). None: any (a plugin without types, or one that does not say).
    models: tuple[str, ...] | None = None


@dataclass(frozen=True)
class DatasetInput:
    ref: str
    digest: str
    folder: Path
    file: Path  # the chosen CSV (its name; read it with open())
    columns: tuple[dict[str, Any], ...]
    time_range: dict[str, str] | None
    root: Path  # the workspace
    rel: str  # `file`, workspace-relative
    rows: int | None = None  # the rows the version records of `file` (`dataset add` counts them)

    @contextlib.contextmanager
    def open(self) -> Iterator[TextIO]:
        """The chosen CSV as text for `csv`, read as every command reads a repository file: never
        through a symlink, never a FIFO or device. (A record whose file is a link out of the
        repository, its findings relaxed by the policy a pull request brings, made a run read the
        user's own files into what it records.)"""
        from strataml import atomic
        from strataml.tabular import csv_text

        with atomic.open_file(self.root, self.rel) as fh:
            yield csv_text(fh)


@dataclass(frozen=True)
class RunSpec:
    """A validated experiment spec, with its workspace inputs resolved."""

    name: str
    path: str
    plugin: str
    data: dict[str, Any]
    model: dict[str, Any]
    split: dict[str, Any]
    seed: int
    tags: dict[str, str]
    gates: tuple[str, ...]
    register: str | None
    config_hash: str
    dataset: DatasetInput | None
    document: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass
class RunContext:
    run_id: str
    spec: RunSpec
    tracking: Any  # strataml.runner.tracking.Tracking
    artifact_dir: Path
    logger: logging.Logger


@dataclass
class RunResult:
    metrics: dict[str, float]
    outputs: dict[str, Any] = field(default_factory=dict)
    features: list[dict[str, str]] = field(default_factory=list)
    target: str | None = None
    split: dict[str, Any] = field(
        default_factory=dict
    )  # only if it differs from the spec's (core records the spec's otherwise)


class Plugin(Protocol):
    info: PluginInfo

    def validate(self, spec: RunSpec) -> list[str]:
        """Problems with the spec, checked before anything is written (empty: fine)."""

    def run(self, spec: RunSpec, *, context: RunContext) -> RunResult:
        """Train and evaluate inside `context.artifact_dir`; never start or end tracking runs."""


class MissingExtra(StrataError):
    pass


def discover() -> dict[str, str]:
    """key -> "module:attr" for every plugin: entry points first, built-ins as fallback."""
    from importlib.metadata import entry_points

    found = dict(BUILTIN)
    for ep in entry_points(group=GROUP):
        # A built-in key is always the built-in plugin (the doctor reads its metric names without
        # a scan): another package cannot take it over, and a run and its check see the same plugin.
        if ep.name not in BUILTIN:
            found[ep.name] = ep.value
    return dict(sorted(found.items()))


def installed(key: str, fix: str) -> str:
    """The target ("module:attr") of plugin `key`; a StrataError naming the installed plugins (and
    the one spelled most like it) when none is installed by that name, `fix` saying what to do."""
    from strataml.spelling import nearest

    found = discover()
    target = found.get(key)
    if target is None:
        close = nearest(key, found)
        raise StrataError(
            f"unknown plugin {key!r} (installed: {', '.join(found) or 'none'})",
            (f"did you mean {close[0]}? " if close else "") + fix,
        )
    return target


def load(key: str) -> Plugin:
    target = installed(key, "fix plugin: in the spec, or install the package that provides it")
    try:
        return _instance(target)
    except (Exception, SystemExit) as exc:  # the plugin's own code failed: say so, not "internal error"
        raise StrataError(
            f"plugin {key!r} cannot be loaded ({type(exc).__name__}: {exc})",
            f"the package that provides it ({target.partition(':')[0]}) is broken or incomplete: reinstall or fix it",
        ) from exc


def _instance(target: str) -> Plugin:
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)()


def extra_installed(info: PluginInfo) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in info.modules)


def require_extra(info: PluginInfo) -> None:
    if not extra_installed(info):
        missing = [m for m in info.modules if importlib.util.find_spec(m) is None]
        raise MissingExtra(
            f"plugin {info.key!r} needs {', '.join(missing)} (not installed)",
            extra_hint(info.extra) if info.extra else "install the plugin's dependencies",
        )


@dataclass(frozen=True)
class Declared:
    """The metric names plugin `key` says its runs can write, or why they are not known here, and
    the model types it says it trains (None: not said)."""

    key: str
    metrics: frozenset[str] | None
    why_unknown: str = ""
    builtin: bool = True  # False: the answer came from what is installed, and changes with it
    models: frozenset[str] | None = None


@contextlib.contextmanager
def output_to_stderr() -> Iterator[None]:
    """Run a plugin's code (its import, validation, training) with what it prints sent to stderr,
    by Python's print and through the descriptor (a native library writes there): stdout carries
    only the command's own output, `--format json` one JSON document (scikit-learn's verbose
    training table came first, and the JSON did not parse)."""
    try:
        sys.stdout.flush()
        out, err = sys.stdout.fileno(), sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # (streams without a descriptor: Python's print alone)
        with contextlib.redirect_stdout(sys.stderr):
            yield
        return
    saved = os.dup(out)
    try:
        os.dup2(err, out)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os.dup2(saved, out)
        os.close(saved)


def declared(key: str) -> Declared:
    """What plugin `key` declares of its runs: the built-ins' from their names module, another's
    from its PluginInfo (importing it: the answer follows what is installed)."""
    if key in BUILTIN_NAMES:
        module = importlib.import_module(BUILTIN_NAMES[key])
        return Declared(key, frozenset(module.METRICS), models=frozenset(module.MODEL_TYPES))
    unknown = f"plugin '{shown(key[:100])}'"
    target = discover().get(key)
    if target is None:
        return Declared(key, None, f"{unknown} is not installed where the doctor runs", builtin=False)
    try:
        # A plugin's import is third-party code running inside the doctor: what it prints must not
        # reach a report on stdout, and however it fails (SystemExit included), the doctor goes on.
        with output_to_stderr():
            info = _instance(target).info
        names = getattr(info, "metrics", None)
        types = getattr(info, "models", None)
    except (Exception, SystemExit) as exc:
        return Declared(key, None, f"{unknown} cannot be loaded here ({type(exc).__name__}: {exc})", builtin=False)
    models = _names(types, "model types")  # (unusable: not declared, so not judged)
    metrics = _names(names, "metric names")
    if isinstance(metrics, str):
        return Declared(key, None, f"{unknown} declares {metrics}", builtin=False, models=_usable(models))
    return Declared(key, metrics, builtin=False, models=_usable(models))


def _names(value: object, what: str) -> frozenset[str] | str:
    """The names (`what`) a plugin declares, or what is wrong with them (None: none declared)."""
    if value is None:
        return f"no {what}"
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)) or not value:
        return f"its {what} unusably ({type(value).__name__})"
    if not all(isinstance(n, str) and n for n in value):
        return f"{what} that are not all text"
    return frozenset(value)


def _usable(names: frozenset[str] | str) -> frozenset[str] | None:
    return names if isinstance(names, frozenset) else None
