"""The diff document as text (a terminal), markdown (a pull request's summary or comment) or JSON."""

from __future__ import annotations

from typing import Any, TextIO

from strataml.controls import json_text, shown
from strataml.reporters.github import MAX_SUMMARY
from strataml.words import counted

FORMATS = ("text", "markdown", "json")
MAX_MARKDOWN = MAX_SUMMARY  # within what a pull-request comment takes (65,536 characters): one bound for both reports
MAX_ROWS = 50  # rows of one table shown before the rest is counted


def render(doc: dict[str, Any], fmt: str, stream: TextIO) -> None:
    if fmt == "json":
        stream.write(json_text(doc, indent=2))
        stream.write("\n")
    elif fmt == "markdown":
        stream.write(markdown(doc))
    else:
        stream.write(text(doc))


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _value(metric: dict[str, Any]) -> str:
    """A metric's value, or what the run recorded when it is not a finite number (nan, inf, text)."""
    return _num(metric["value"]) if metric["value"] is not None else shown(str(metric.get("recorded", "-")))


def _delta(cmp: dict[str, Any] | None) -> str:
    if not cmp:
        return "-"
    if cmp.get("delta") is None:
        return f"(no {cmp.get('ref')} value)"
    rel = f" ({cmp['relative'] * 100:+.1f}%)" if cmp.get("relative") is not None else ""
    mark = {"better": " ▲", "worse": " ▼", "same": "", "unknown": ""}.get(cmp.get("verdict", ""), "")
    return f"{cmp['delta']:+.4f}{rel}{mark}"


def _headline(doc: dict[str, Any]) -> str:
    s = doc["summary"]
    return (
        f"{s['added']} added, {s['changed']} changed, {s['removed']} removed; "
        f"{counted(s['promotions'], 'promotion')}; "
        f"findings: {s['new_findings']} new, {s['fixed_findings']} fixed, {doc['findings']['unchanged']} unchanged"
    )


def _failing_already(doc: dict[str, Any]) -> tuple[int, int]:
    """(errors, warnings) the checked records had at the base too: the gate fails on them."""
    severities = [f["severity"] for f in doc["findings"]["unchanged_failing"]]
    return severities.count("error"), severities.count("warning")


def _bar_changes(doc: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(experiment, what, before, after) for each changed spec whose gates or registered model changed."""
    out = []
    for r in doc["records"]:
        if "gates" in r:
            out.append((r["ref"], "gates", *(", ".join(r["gates"][k]) or "none" for k in ("before", "after"))))
        if "registers" in r:
            out.append((r["ref"], "registers", *(r["registers"][k] or "no model" for k in ("before", "after"))))
    return out


def _errors_and_warnings(errors: int, warnings: int) -> str:
    return " and ".join(counted(n, noun) for n, noun in ((errors, "error"), (warnings, "warning")) if n)


def _baselined(baseline: dict[str, Any], escaped: Any) -> str:
    """What a report with --baseline says of the findings the baseline holds."""
    hidden = baseline["hidden"]
    if not baseline.get("found", True):  # (a mistyped path in CI must not read as reassurance)
        return f"No baseline {escaped(baseline['file'])}: it is not there, so every finding counts (check the path)."
    if not hidden:
        return f"The baseline {escaped(baseline['file'])} holds none of these findings: nothing was left uncounted."
    return (
        f"{counted(hidden, 'finding')} the baseline {escaped(baseline['file'])} holds "
        f"{'are' if hidden != 1 else 'is'} not counted, as the gate counts none of them."
    )


def _already(errors: int, warnings: int, code: str = "`") -> str:
    """What a report says of the findings the base had too, which the gate still fails on
    (`code`: how the format marks a command)."""
    what = _errors_and_warnings(errors, warnings)
    return (
        f"{code}doctor --strict --since{code} also fails on {what} that the records it checks had at the base "
        f"already (a {code}--baseline{code} that holds them lets it pass)"
    )


def _flips(doc: dict[str, Any]) -> dict[str, dict[str, tuple[str, str]]]:
    """For each new run, its metrics whose direction the change flips: {run ref: {metric: (as
    compared, the way the experiment's spec now says)}} (compute.better_by says why a run is
    compared the way the base's spec says)."""
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for run in doc["runs"]:
        flipped = {m["name"]: (m["better"], m["flipped_to"]) for m in run["metrics"] if m["flipped_to"]}
        if flipped:
            out[run["ref"]] = flipped
    return out


def _flipped(experiment: str, flipped: dict[str, tuple[str, str]]) -> str:
    """What a report says of the metrics whose direction a change flips (names escaped for its format)."""
    said = ", ".join(f"{name} (was {was}, now {now})" for name, (was, now) in sorted(flipped.items()))
    return (
        f"this change flips which way is better for {said} in {experiment}'s gates: compared here the way "
        "the base's spec says, as the base holds the policy until the change is merged"
    )


def _against(run: dict[str, Any]) -> str:
    """What a run's metrics are held against besides the last run: production, if any."""
    return f" and production {run['production']}" if run["production"] else "; no model in production"


def text(doc: dict[str, Any]) -> str:
    mark, words = _verdict(doc, code="")
    gate = "passes" if mark == "pass" else "fails"  # (the gate is `doctor --strict`: the words say why)
    lines = [
        f"strataml diff {shown(doc['base']['ref'])} ({doc['base']['commit'][:12]})..working tree",
        _headline(doc),
        f"the gate {gate}: {words}",
        "",
    ]
    if doc["base"].get("merge_base") is False:  # (as the markdown says it)
        lines += [
            _no_merge_base(shown(doc["base"]["ref"]), "`git fetch --unshallow`"),
            "",
        ]
    already = _failing_already(doc)
    if any(already):
        lines += [_already(*already, code=""), ""]
    if doc["findings"].get("baseline"):
        lines += [_baselined(doc["findings"]["baseline"], shown), ""]
    if doc["records"]:
        lines.append("Records")
        bars: dict[str, list[tuple[str, str, str]]] = {}
        for ref, what, before, after in _bar_changes(doc):
            bars.setdefault(ref, []).append((what, before, after))
        for r in doc["records"]:
            lines.append(f"  {r['change']:<8} {shown(r['ref'])}")
            for what, before, after in bars.get(r["ref"], ()):  # (under its own spec, not the last record)
                lines.append(f"  {'':<8}   {what}: {shown(before)} -> {shown(after)}")
        lines.append("")
    for p in doc["promotions"]:
        why = f" ({p['reason']})" if p["reason"] else ""
        lines.append(shown(f"Promotion  {p['ref']}: {p['from']} -> {p['to']} by {p['actor']}{why}"))
    for s in doc["signatures"]:
        who = ", ".join(shown(f"{x['uid']} {x['fingerprint'][-16:]}".strip()) for x in s["signers"]) or "-"
        lines.append(f"Signature  {s['change']} {shown(s['path'])}: {shown(str(s['status']))} ({who})")
    for k in doc["trust"]["keys"]:
        lines.append(shown(f"Key        {k['change']} {k['fingerprint']} scopes {', '.join(k['scopes']) or '-'}"))
    for r in doc["trust"]["review"]:
        lines.append(f"Review     {r['code']} {shown(r['path'])}: {shown(r['message'])}")
    flips = _flips(doc)
    for run in doc["runs"]:
        lines.append("")
        lines.append(shown(f"Run {run['ref']} vs last run {run['previous'] or '-'}{_against(run)}"))
        flipped = flips.get(run["ref"], {})
        if flipped:
            lines.append(shown(f"  ! {_flipped(str(run['experiment']), flipped)}"))
        for m in run["metrics"]:
            versus = f"vs production {shown(_delta(m['production']))}" if run["production"] else ""
            lines.append(
                f"  {shown(m['name']):<24} {_value(m):>10}  vs last {shown(_delta(m['previous'])):<22} {versus}".rstrip()
                + (" (direction flipped by the change)" if m["name"] in flipped else "")
            )
    if any(run["metrics"] for run in doc["runs"]):
        lines.append(
            "  (▲ better, ▼ worse: the way the experiment's gates, else its plugin, say is better; "
            "at the base, for an experiment it holds)"
        )
    for model in doc["models"]:
        lines.append("")
        # The receipt's own word: the gate (`doctor --strict --since`) may still fail the version
        # (TFC0005-E010: the base's gates), and the verdict above says so.
        lines.append(shown(f"Model {model['ref']}: gate receipt {model['gate'] or '-'}"))
        for c in model["failing"]:
            lines.append(f"  failing: {shown(str(c['expression']))} (observed {_num(c['observed'])})")
    lines.append("")
    for kind, key in (("new", "new"), ("fixed", "fixed"), ("still", "unchanged_failing")):
        found = doc["findings"][key]
        # What the base had already can be thousands of lines in a workspace that adopts the gate
        # late; the doctor lists them all. What the change makes or mends is listed whole.
        listed = found[:MAX_ROWS] if key == "unchanged_failing" else found
        for f in listed:
            lines.append(f"{kind:<5} {f['severity']:<7} {f['code']}  {shown(f['path'])}: {shown(f['message'])}")
        if len(found) > len(listed):
            lines.append(f"still ... and {len(found) - len(listed)} more (`strataml doctor` lists every finding)")
    # Sections are separated by one blank line, whichever are empty.
    kept = [line for i, line in enumerate(lines) if line or i == 0 or lines[i - 1]]
    return "\n".join(kept).rstrip() + "\n"


def _md(value: Any) -> str:
    """Text from the repository made inert in markdown (the job summary's own escaping)."""
    from strataml.reporters.github import markdown_text

    return markdown_text(str(value))


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(row) + " |" for row in rows[:MAX_ROWS]]
    if len(rows) > MAX_ROWS:
        out.append(f"| ... and {len(rows) - MAX_ROWS} more |" + " |" * (len(header) - 1))
    return out


def _details(summary: str, body: list[str]) -> list[str]:
    return ["<details>", f"<summary>{summary}</summary>", "", *body, "", "</details>", ""]


def _no_merge_base(ref: str, fetch: str) -> str:
    """What a report says when no merge base with REF (`ref`, escaped for its format) is known."""
    return (
        f"No merge base with {ref} is known: compared with its tip, so what it gained since this change began "
        f"shows as removed. In a shallow clone, fetch its history ({fetch}); otherwise it and this change share no "
        "history."
    )


def _verdict(doc: dict[str, Any], code: str = "`") -> tuple[str, str]:
    """The gate's verdict on the change, as `doctor --strict --since` gives it: ("fail" | "warn" |
    "pass", what it rests on); "warn" fails the strict gate only (`code`: how the format marks a command)."""
    s = doc["summary"]
    errors, warnings = s["new_errors"], s["new_warnings"]
    already = _failing_already(doc)
    if errors:
        return "fail", counted(errors, "new error") + (f", {counted(warnings, 'new warning')}" if warnings else "")
    if warnings:
        return "warn", f"{counted(warnings, 'new warning')} ({code}doctor --strict{code} fails on warnings)"
    if any(already):  # (errors fail the gate with or without --strict)
        what = _errors_and_warnings(*already)
        return ("fail" if already[0] else "warn"), f"none new, but {what} the records it touches had at the base"
    return "pass", "no new errors or warnings"


def markdown(doc: dict[str, Any]) -> str:
    s = doc["summary"]
    already = _failing_already(doc)
    # As the gate judges the change (`doctor --strict`: a new warning fails it too).
    mark, words = _verdict(doc)
    verdict = {"fail": "❌", "warn": "⚠️", "pass": "✅"}[mark] + " " + words
    out = [f"## strataml diff against {_md(doc['base']['ref'])}", "", f"{verdict}: {_headline(doc)}", ""]
    if any(already):
        out += [f"⚠️ {_already(*already)}.", ""]
    if doc["findings"].get("baseline"):
        out += [_baselined(doc["findings"]["baseline"], _md), ""]
    if doc["base"].get("merge_base") is False:
        out += [
            "⚠️ " + _no_merge_base(_md(doc["base"]["ref"]), "`fetch-depth: 0`"),
            "",
        ]
    flips = _flips(doc)
    for ref, flipped in flips.items():  # (above the tables: a reviewer reads it before the arrows)
        experiment = next(str(run["experiment"]) for run in doc["runs"] if run["ref"] == ref)
        out += [f"⚠️ {_md(ref)}: {_flipped(_md(experiment), {_md(k): v for k, v in flipped.items()})}.", ""]
    if doc["runs"]:
        out.append("### Metrics")
        for run in doc["runs"]:
            versus = bool(run["production"])  # (nothing in production: no column of dashes)
            header = ["metric", "value", "better", "vs last run"] + (["vs production"] if versus else [])
            out += [
                "",
                f"**{_md(run['ref'])}** vs last run {_md(run['previous'] or '-')}{_md(_against(run))}",
                "",
            ]
            flipped = flips.get(run["ref"], {})
            rows = {
                m["name"]: [
                    _md(m["name"]),
                    _md(_value(m)),
                    _md(m["better"] or "?")
                    + (f" ⚠️ {_md('flipped to ' + flipped[m['name']][1])}" if m["name"] in flipped else ""),
                    _md(_delta(m["previous"])),
                    *([_md(_delta(m["production"]))] if versus else []),
                ]
                for m in run["metrics"]
            }
            gated = [m["name"] for m in run["metrics"] if m["gated"]]
            # The metrics the gates name decide; the rest are one click away.
            out += _table(header, [rows[n] for n in (gated or list(rows))])
            if gated and len(rows) > len(gated):
                out += ["", *_details(f"all {len(rows)} metrics", _table(header, list(rows.values())))]
        out.append("")
    bars = _bar_changes(doc)
    if bars:
        # Not folded away with the records: a gate changed is the bar every later version meets.
        out += ["### Gates and registrations changed", ""]
        out += _table(["experiment", "what", "before", "after"], [[_md(c) for c in bar] for bar in bars])
        out.append("")
    if doc["models"]:
        out += ["### Model versions", ""]
        out += _table(
            ["version", "gate receipt", "failing", "production"],
            [
                [
                    _md(m["ref"]),
                    _md(m["gate"] or "-"),
                    _md("; ".join(str(c["expression"]) for c in m["failing"]) or "-"),
                    _md(m["production"] or "-"),
                ]
                for m in doc["models"]
            ],
        )
        out.append("")
    findings = doc["findings"]
    out += [
        f"### Findings: {len(findings['new'])} new, {len(findings['fixed'])} fixed, {findings['unchanged']} unchanged",
        "",
    ]
    for key, label in (
        ("new", "new"),
        ("fixed", "fixed"),
        ("unchanged_failing", "already at the base, which the gate fails on"),
    ):
        if findings[key]:
            found = [[f["severity"], f["code"], _md(f["path"]), _md(f["message"])] for f in findings[key]]
            body = _table(["severity", "code", "path", "message"], found)
            out += body + [""] if key == "new" and len(found) <= 10 else _details(f"{len(found)} {label}", body)
    if doc["records"]:
        out += _details(
            f"Records: {s['added']} added, {s['changed']} changed, {s['removed']} removed",
            _table(["change", "record"], [[r["change"], _md(r["ref"])] for r in doc["records"]]),
        )
    extra = []
    extra += [
        f"- promotion {_md(p['ref'])}: {_md(p['from'])} → {_md(p['to'])} by {_md(p['actor'])}"
        + (f" ({_md(p['reason'])})" if p["reason"] else "")
        for p in doc["promotions"]
    ]
    extra += [f"- signature {s2['change']} on {_md(s2['path'])}: {_md(s2['status'])}" for s2 in doc["signatures"]]
    extra += [
        f"- key {k['change']} {_md(k['fingerprint'])} (scopes: {_md(', '.join(k['scopes']) or '-')})"
        for k in doc["trust"]["keys"]
    ]
    extra += [f"- review {r['code']} {_md(r['path'])}: {_md(r['message'])}" for r in doc["trust"]["review"]]
    if extra:
        out += ["### Promotions, signatures, trust", "", *extra, ""]
    text_out = "\n".join(out).rstrip() + "\n"
    if text_out.endswith("</details>\n"):
        # A blank line ends the HTML block: without it, markdown appended after this (the
        # doctor's summary in the same step summary) rendered as text inside the block.
        text_out += "\n"
    if len(text_out.encode("utf-8")) > MAX_MARKDOWN:
        cut = text_out.encode("utf-8")[: MAX_MARKDOWN - 200].decode("utf-8", "ignore").rsplit("\n", 1)[0]
        unclosed = cut.count("<details>") - cut.count("</details>")
        text_out = cut + "\n" + "\n</details>\n" * unclosed
        text_out += "\n... cut to fit a pull request comment: `strataml diff --format json` has it all.\n"
    return text_out
