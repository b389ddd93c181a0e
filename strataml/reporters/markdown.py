"""`--format markdown`: the report as a pull-request comment or a job summary shows it."""

from __future__ import annotations

from typing import TextIO

from strataml.doctor.finding import Report
from strataml.reporters import RenderOptions
from strataml.reporters.github import step_summary


def render(report: Report, stream: TextIO, options: RenderOptions) -> None:
    # Bounded as the job summary is (step_summary's MAX_SUMMARY): what this format is for, a job
    # summary (`report merge ... --format markdown >> "$GITHUB_STEP_SUMMARY"`) or a comment, GitHub
    # drops or refuses above its limits; the rows left out are counted, and json, sarif and text
    # list every finding.
    stream.write(step_summary(report, options))
