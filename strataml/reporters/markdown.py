"""`--format markdown`: the report as a pull-request comment or a job summary shows it."""

from __future__ import annotations

from typing import TextIO

from strataml.doctor.finding import Report
from strataml.reporters import RenderOptions
from strataml.reporters.github import step_summary


def render(report: Report, stream: TextIO, options: RenderOptions) -> None:
    stream.write(step_summary(report, options))
