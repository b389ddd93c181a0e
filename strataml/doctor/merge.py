"""`strataml report merge`: the JSON reports of N shards (doctor --shard K/N) as one report, with
one exit code; refused unless they are the N shards of one run (one commit, the same options)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from strataml.controls import shown
from strataml.doctor.finding import Finding, Report
from strataml.errors import StrataError

MAX_REPORT = 256 * 1024 * 1024
_SUMMED = ("records_checked", "files_hashed", "bytes_hashed", "files_cached", "bytes_planned")


def _read(path: Path) -> dict[str, Any]:
    def bad(why: str) -> StrataError:
        return StrataError(
            f"{shown(str(path))} is not a shard's report ({why})",
            "give the files `strataml doctor --shard K/N --format json -o FILE` wrote",
        )

    try:
        if path.stat().st_size > MAX_REPORT:
            raise bad("too large")
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise bad(f"cannot read it: {exc.strerror}") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise bad("not JSON: was it written with --format json?") from None
    if isinstance(doc, dict) and str(doc.get("$schema", "")).startswith("https://json.schemastore.org/sarif"):
        raise bad("a SARIF file: merge takes the shards' --format json reports, and writes SARIF itself")
    shard = doc.get("shard") if isinstance(doc, dict) else None
    if not isinstance(shard, dict) or doc.get("version") != 1 or not isinstance(doc.get("findings"), list):
        raise bad("no shard in it: was it written with --shard K/N --format json?")
    return doc


def _difference(mine: Any, theirs: Any) -> str:
    """What two shards' options disagree on, key by key ("strict: true vs false"), else both."""
    if isinstance(mine, dict) and isinstance(theirs, dict):
        keys = sorted(k for k in {*mine, *theirs} if mine.get(k) != theirs.get(k))
        return "; ".join(f"{k}: {shown(json.dumps(mine.get(k)))} vs {shown(json.dumps(theirs.get(k)))}" for k in keys)
    return f"{shown(str(mine))} vs {shown(str(theirs))}"


def merge(paths: list[Path], strict: bool = False) -> Report:
    docs = [(p, _read(p)) for p in paths]
    first = docs[0][1]["shard"]
    total = first.get("total")
    seen: dict[int, Path] = {}
    for path, doc in docs:
        shard = doc["shard"]
        for key, what in (("total", "shard counts"), ("commit", "commits"), ("options", "options")):
            if shard.get(key) != first.get(key):
                raise StrataError(
                    f"{shown(str(path))} and {shown(str(docs[0][0]))} differ in {what} "
                    f"({_difference(shard.get(key), first.get(key))})",
                    "merge the reports of one run: the same commit, options and N",
                )
        index = shard.get("index")
        if index in seen:
            raise StrataError(
                f"shard {index}/{total} given twice ({shown(str(seen[index]))} and {shown(str(path))})",
                "give each shard's report once",
            )
        seen[index] = path
    missing = [k for k in range(1, int(total) + 1) if k not in seen] if isinstance(total, int) else []
    if missing or not isinstance(total, int):
        raise StrataError(
            f"shard{'s' if len(missing) != 1 else ''} {', '.join(f'{k}/{total}' for k in missing)} missing",
            "a merged report holds every shard: a job that failed must be run again",
        )
    findings = []
    for _path, doc in docs:
        for f in doc["findings"]:
            if not isinstance(f, dict) or not all(
                isinstance(f.get(k), str) for k in ("code", "path", "message", "severity")
            ):
                raise StrataError(f"{shown(str(_path))}: a finding without code, path, message or severity", "")
            line = f.get("line") if isinstance(f.get("line"), int) else None
            findings.append(Finding(f["code"], f["path"], f["message"], str(f.get("hint", "")), line, f["severity"]))
    findings.sort(key=Finding.sort_key)
    stats: dict[str, int] = {k: v for k, v in docs[0][1].get("stats", {}).items() if isinstance(v, int)}
    for key in _SUMMED:
        stats[key] = sum(int(d.get("stats", {}).get(key, 0) or 0) for _p, d in docs)
    stats.pop("shard", None)
    stats["shards"] = total
    return Report(tuple(findings), stats, strict or bool(first.get("options", {}).get("strict")))
