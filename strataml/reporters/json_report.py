"""`--format json`: the findings and summary as one JSON document (version 1)."""

from __future__ import annotations

from typing import TextIO

from strataml import __version__
from strataml.controls import json_text
from strataml.doctor.finding import Report
from strataml.reporters import RenderOptions


def as_document(report: Report) -> dict[str, object]:
    return {
        "version": 1,
        "tool": {"name": "strataml", "version": __version__},
        "summary": report.summary(),
        "strict": report.strict,
        "stats": dict(sorted(report.stats.items())),
        "findings": [f.as_dict() for f in report.findings],
        **(
            {"baseline": {"file": report.baseline_file, "hidden": report.baseline_hidden}}
            if report.baseline_file is not None
            else {}
        ),
        **({"shard": report.shard} if report.shard is not None else {}),
    }


def render(report: Report, stream: TextIO, options: RenderOptions) -> None:
    stream.write(json_text(as_document(report), indent=2))
    stream.write("\n")
