"""The TFC documents packaged with the tool, and the rule registry read from them.

Each rule is written once, in its contract, as a section:

    ### TFC0006-E002 `checksum-mismatch`
    - Severity: error
    - Enforced: since 0.1.0
    - Rule: one normative sentence.
    (what / why / example / fix prose)

so `--list-rules`, `--explain`, SARIF rule help and the documents cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_HEADING = re.compile(r"^### (TFC\d{4}-[EWI]\d{3}) `([a-z0-9-]+)`\s*$")
_FIELD = re.compile(r"^- (Severity|Enforced|Checked|Replaces|Pinned|Rule): (.+)$")
CODE = re.compile(r"TFC[0-9]{4}-[EWI][0-9]{3}")  # matched whole: CODE.fullmatch(text)


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: str
    enforced: bool
    enforced_note: str
    summary: str
    tfc: str
    document: str
    body: str  # the section's Markdown, without its heading
    # When the doctor applies it: "always", or (history rules) "only with `--since REF`, ..."
    checked: str = "always"
    # Codes whose findings this rule took over (a pin to an older version keeps enforcing it).
    replaces: tuple[str, ...] = ()
    # Kept at its severity under any pin: it guards the gate itself (the policy's review, content
    # left unread), so a pin to a version without it would make the checker weaker than that one.
    kept: bool = False

    @property
    def needs_since(self) -> bool:
        return self.checked != "always"

    @property
    def title(self) -> str:
        return f"{self.code} {self.name}"


def documents() -> dict[str, str]:
    """File name -> Markdown text of every packaged contract, in TFC order."""
    folder = Path(__file__).parent / "contracts"  # a plain path, as for the schemas (see strataml.schemas)
    names = sorted(p.name for p in folder.iterdir() if p.name.startswith("TFC-") and p.name.endswith(".md"))
    return {name: (folder / name).read_text("utf-8") for name in names}


@lru_cache(maxsize=1)
def registry() -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for doc, text in documents().items():
        tfc = doc[:8]
        for code, name, body in _sections(text):
            fields = _fields(body)
            if code in rules:
                raise ValueError(f"{doc}: rule {code} is defined twice")
            severity = fields.get("Severity", "").strip()
            enforced = fields.get("Enforced", "").strip()
            rules[code] = Rule(
                code,
                name,
                severity,
                enforced.startswith("since"),
                enforced,
                fields.get("Rule", "").strip(),
                tfc,
                doc,
                body.strip(),
                fields.get("Checked", "always").strip(),
                tuple(CODE.findall(fields.get("Replaces", ""))),
                fields.get("Pinned", "").strip().startswith("kept"),
            )
    return dict(sorted(rules.items()))


def _fields(body: str) -> dict[str, str]:
    """A section's `- Name: value` fields, each value whole: a long rule wraps onto lines indented
    under it, which belong to it (read line by line, SARIF and `--list-rules` cut the rule off
    mid-sentence)."""
    fields: dict[str, str] = {}
    last: str | None = None
    for line in body.splitlines():
        m = _FIELD.match(line)
        if m:
            last = m.group(1)
            fields[last] = m.group(2).strip()
        elif last is not None and line.startswith("  ") and line.strip():
            fields[last] += " " + line.strip()
        else:
            last = None
    return fields


def _sections(text: str) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    current: tuple[str, str] | None = None
    body: list[str] = []
    for line in text.splitlines():
        m = _HEADING.match(line)
        if m or line.startswith(("## ", "# ")):
            if current:
                out.append((*current, "\n".join(body)))
            current, body = (m.group(1), m.group(2)) if m else None, []
            continue
        if current:
            body.append(line)
    if current:
        out.append((*current, "\n".join(body)))
    return out


def reserved(code: str) -> str | None:
    """The contract whose changelog reserves `code` (a number never assigned), else None."""
    for doc, text in documents().items():
        for line in text.splitlines():
            if line.startswith("- Reserved codes:") and f"`{code}`" in line:
                return doc
    return None


def rule(code: str) -> Rule:
    return registry()[code]


def closest_codes(code: str, limit: int = 3) -> list[str]:
    """The codes `code` may mean: every code it ends (`E005` is a rule of several contracts, all
    named, in order), else the closest spellings."""
    from strataml.spelling import nearest

    tail = code.strip().upper()
    ending = sorted(c for c in registry() if tail and c.endswith(tail if tail.startswith("-") else "-" + tail))
    return ending or nearest(code, registry(), n=limit, cutoff=0.5)
