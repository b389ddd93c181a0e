"""`--format sarif`: SARIF 2.1.0 as GitHub code scanning accepts it."""

from __future__ import annotations

import re
from typing import TextIO
from urllib.parse import quote

from strataml import __version__
from strataml.contracts import registry
from strataml.controls import json_text
from strataml.doctor.finding import Report
from strataml.reporters import RenderOptions, repo_path

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def as_document(report: Report, options: RenderOptions) -> dict[str, object]:
    rules = registry()
    used = sorted({f.code for f in report.findings})
    index = {code: i for i, code in enumerate(used)}
    driver_rules = []
    for code in used:
        rule = rules[code]
        driver_rules.append(
            {
                "id": code,
                "name": rule.name,
                "shortDescription": {"text": rule.summary},
                "fullDescription": {"text": f"{rule.tfc}: {rule.summary}"},
                "help": {"text": rule.body, "markdown": re.sub(r"\n+(?=(What|Why|Example|Fix):)", "\n\n", rule.body)},
                "defaultConfiguration": {"level": _LEVEL[rule.severity]},
                "properties": {"tags": [rule.tfc]},
            }
        )
    results = []
    for f, fingerprint in zip(report.findings, report.fingerprints(), strict=True):
        # A finding about a whole file has no region: SARIF then points at the file, not at line 1.
        location: dict[str, object] = {
            "artifactLocation": {"uri": quote(repo_path(f.path, options)), "uriBaseId": "%SRCROOT%"}
        }
        if f.line:
            location["region"] = {"startLine": f.line}
        results.append(
            {
                "ruleId": f.code,
                "ruleIndex": index[f.code],
                "level": _LEVEL[f.severity],
                "message": {"text": f"{_sentence(f.message)} Fix: {_sentence(f.hint)}"},
                "locations": [{"physicalLocation": location}],
                # Stable across edits that do not touch the problem (v1 hashed the whole message; v2
                # masked numbers inside names too, so alike entries of one file shifted ordinals).
                "partialFingerprints": {"strataml/v3": fingerprint},
                # With a baseline, what is reported is what it did not hold.
                **({"baselineState": "new"} if report.baseline_file is not None else {}),
            }
        )
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "strataml",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": driver_rules,
                    }
                },
                "results": results,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }


def _sentence(text: str) -> str:
    """`text` ending in exactly one full stop, whatever it ended with ("...", ".", nothing)."""
    return text.rstrip().rstrip(".").rstrip() + "."


def render(report: Report, stream: TextIO, options: RenderOptions) -> None:
    stream.write(json_text(as_document(report, options), indent=2))
    stream.write("\n")
