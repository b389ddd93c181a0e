"""`--format sarif`: SARIF 2.1.0 as GitHub code scanning accepts it."""

from __future__ import annotations

import hashlib
import json
import re
from typing import TextIO
from urllib.parse import quote

from strataml import __version__
from strataml.contracts import registry
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
    for f in report.findings:
        region = {"startLine": f.line or 1}
        results.append(
            {
                "ruleId": f.code,
                "ruleIndex": index[f.code],
                "level": _LEVEL[f.severity],
                "message": {"text": f"{f.message}. Fix: {f.hint}"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": quote(repo_path(f.path, options)), "uriBaseId": "%SRCROOT%"},
                            "region": region,
                        }
                    }
                ],
                "partialFingerprints": {
                    "strataml/v1": hashlib.sha256(f"{f.code}\0{f.path}\0{f.message}".encode()).hexdigest()[:32]
                },
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


def render(report: Report, stream: TextIO, options: RenderOptions) -> None:
    json.dump(as_document(report, options), stream, indent=2, ensure_ascii=False)
    stream.write("\n")
