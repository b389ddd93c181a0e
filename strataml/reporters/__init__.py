"""Reporters turn a Report into text for people or machines; the only doctor code that writes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from strataml.doctor.finding import Report


@dataclass(frozen=True)
class RenderOptions:
    color: bool = False
    width: int = 100
    # Where the workspace sits inside its Git repository ("" at the top): SARIF and GitHub
    # annotations need repository-relative paths.
    repo_prefix: str = ""
    # The workspace the report is of, when one is ("" for a merge of shards' reports): what the
    # job summary is never appended into.
    root: str = ""


def repo_path(path: str, options: RenderOptions) -> str:
    """`path` (from the workspace) from the repository's root. A file above the workspace (the
    repository's own .gitattributes, `../.gitattributes`) is named as the repository names it:
    `ml/../.gitattributes` is no file for code scanning, nor an annotation on the changed line."""
    if not options.repo_prefix:
        return path
    if path.startswith("../"):
        import posixpath

        up = posixpath.normpath(options.repo_prefix + path)
        return path if up.startswith("../") or up == ".." else up
    return options.repo_prefix + path


# Format -> the module that renders it, imported only when used (the text one loads rich).
_MODULES = {"text": "text", "json": "json_report", "sarif": "sarif", "github": "github", "markdown": "markdown"}
FORMATS = tuple(_MODULES)


def render(report: Report, fmt: str, stream: TextIO, options: RenderOptions) -> None:
    import importlib

    module = importlib.import_module(f"strataml.reporters.{_MODULES[fmt]}")
    renderer: Callable[[Report, TextIO, RenderOptions], None] = module.render
    renderer(report, stream, options)
