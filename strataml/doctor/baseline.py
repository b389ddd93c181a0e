"""Baselines: the findings a repository had when it adopted the doctor, so `--strict` can gate
what is new from day one, and the list only shrinks as old problems are fixed.

A finding is matched by code, path and fingerprint (finding.fingerprints: the message with hashes,
times and free-standing numbers masked), never by line, so edits elsewhere do not revive it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from strataml.controls import json_text, shown
from strataml.doctor.finding import Finding, Report
from strataml.errors import StrataError

FORMAT = "strataml/baseline/v1"
MAX_BYTES = 64 * 1024 * 1024  # a baseline of ~300,000 findings; anything bigger is not one of ours

Key = tuple[str, str, str]  # (code, path, fingerprint)


@dataclass(frozen=True)
class Written:
    kept: int  # findings in the baseline now
    dropped: int  # in the old baseline, fixed since: left out
    not_added: int  # found now, not in the old baseline: never added (a baseline only shrinks)


def keys(report: Report) -> list[Key]:
    return [(f.code, f.path, fp) for f, fp in zip(report.findings, report.fingerprints(), strict=True)]


def parse(data: bytes, source: str) -> set[Key]:
    """The findings a baseline file holds; an error naming `source` when it is not one."""

    def bad(why: str) -> StrataError:
        return StrataError(
            f"{shown(source)} is not a strataml baseline ({why})",
            "write one with `strataml doctor --write-baseline FILE`",
        )

    if len(data) > MAX_BYTES:
        raise bad(f"{len(data):,} bytes, more than {MAX_BYTES:,}")
    try:
        doc: Any = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise bad(f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("schema") != FORMAT:
        raise bad(f'expected an object with "schema": "{FORMAT}"')
    findings = doc.get("findings")
    if not isinstance(findings, list):
        raise bad("findings is not a list")
    out: set[Key] = set()
    for number, item in enumerate(findings):
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("code", "path", "fingerprint")):
            raise bad(f"findings[{number}] is not an object with code, path and fingerprint")
        out.add((item["code"], item["path"], item["fingerprint"]))
    return out


def apply(report: Report, known: set[Key], source: str) -> Report:
    """`report` without the findings `known` holds; how many it hid is on the report."""
    kept: list[Finding] = []
    prints: list[str] = []
    for finding, key in zip(report.findings, keys(report), strict=True):
        if key not in known:
            kept.append(finding)
            prints.append(key[2])
    return replace(
        report,
        findings=tuple(kept),
        prints=tuple(prints),
        baseline_file=source,
        baseline_hidden=len(report.findings) - len(kept),
    )


def document(report: Report, old: set[Key] | None) -> tuple[bytes, Written]:
    """The baseline of `report`; with `old`, only what both hold (fixed findings drop out, new ones
    never come in)."""
    now = keys(report)
    chosen = now if old is None else [k for k in now if k in old]
    messages = {key: f.message for f, key in zip(report.findings, now, strict=True)}
    findings = [
        {"code": code, "path": path, "fingerprint": fp, "message": messages[(code, path, fp)]}
        for code, path, fp in sorted(set(chosen), key=lambda k: (k[1], k[0], k[2]))
    ]
    body = {
        "schema": FORMAT,
        "note": "findings present when this baseline was written; `strataml doctor --baseline FILE` "
        "reports only others. Rewriting it with --write-baseline drops fixed findings and never adds new ones.",
        "findings": findings,
    }
    written = Written(
        kept=len(findings),
        dropped=len(old - set(now)) if old is not None else 0,
        not_added=len(set(now) - old) if old is not None else 0,
    )
    return (json_text(body, indent=1) + "\n").encode("utf-8"), written


def in_force(
    root: Path, path: Path, since: str | None, policy_commit: str | None, note: Callable[[str], None]
) -> tuple[set[Key], str, bool]:
    """The findings the baseline `path` holds, as the gate reads it, and how to name it: with
    `since`, a baseline in the repository is read as the base holds it (a pull request must not
    hide its own findings by adding them to it), from `policy_commit` (the base the run judges
    by) or `since` itself; else the file as it is. `note` is told when the base holds none, and
    the last value says whether it held one."""
    import os

    from strataml.gitfacts import read_in_repository, repository, resolve_commit
    from strataml.paths import inside

    rel = inside(os.path.abspath(path), root)
    top = repository(root)
    in_repo = inside(os.path.abspath(path), top[0]) if since and top is not None else None
    if since and in_repo is not None:
        data = read_in_repository(root, policy_commit or resolve_commit(root, since), in_repo)
        source = f"{rel or in_repo} (as {since} holds it)"
        if data is None:
            note(f"strataml: note: {shown(since)} holds no {shown(rel or in_repo)}: no finding hidden")
            return set(), source, False
        return parse(data, source), source, True
    data = read_file(path)
    source = rel if rel is not None else str(path)
    if data is None:
        raise StrataError(f"no baseline {shown(str(path))}", "write one first: `strataml doctor --write-baseline FILE`")
    return parse(data, source), source, True


def read_file(path: Path) -> bytes | None:
    """A baseline file's bytes as the user named it (None when there is none); never a FIFO or device."""
    import os
    import stat

    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StrataError(f"{shown(str(path))}: cannot be read ({exc.strerror})", "check the path") from None
    if not stat.S_ISREG(st.st_mode):
        raise StrataError(f"{shown(str(path))} is not a regular file", "name the baseline file itself")
    if st.st_size > MAX_BYTES:
        raise StrataError(f"{shown(str(path))} is not a strataml baseline ({st.st_size:,} bytes)", "check the path")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise StrataError(f"{shown(str(path))}: cannot be read ({exc.strerror})", "check the path") from None
