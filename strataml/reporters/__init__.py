"""Reporters turn a Report into text for people or machines; the only doctor code that writes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from strataml.doctor.finding import Report


@dataclass(frozen=True)
class RenderOptions:
    color: bool = False
    width: int = 100
    # Where the workspace sits inside its Git repository ("" at the top): SARIF and GitHub
    # annotations need repository-relative paths.
    repo_prefix: str = ""


def repo_path(path: str, options: RenderOptions) -> str:
    return f"{options.repo_prefix}{path}" if options.repo_prefix else path


def _table() -> dict[str, Callable[[Report, TextIO, RenderOptions], None]]:
    from strataml.reporters import github, json_report, sarif, text

    return {"text": text.render, "json": json_report.render, "sarif": sarif.render, "github": github.render}


FORMATS = ("text", "json", "sarif", "github")


def render(report: Report, fmt: str, stream: TextIO, options: RenderOptions) -> None:
    _table()[fmt](report, stream, options)
