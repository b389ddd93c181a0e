"""`strataml report merge`: the JSON reports of N shards (doctor --shard K/N) as one report, with
one exit code; refused unless they are the N shards of one run (one commit, the same options)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from strataml import __version__, atomic, canonical
from strataml.controls import shown
from strataml.doctor.finding import Finding, Report
from strataml.errors import StrataError

MAX_REPORT = 256 * 1024 * 1024
HINT = "give the files `strataml doctor --shard K/N --format json -o FILE` wrote"
# A workspace's folder in its repository as gitfacts.repo_prefix gives it: '' or names each ending
# in '/'. Nothing else reaches SARIF or a GitHub annotation (a newline there starts a workflow command).
_FOLDER = re.compile(r"(?:[^/\x00-\x1f\x7f]{1,255}/){0,64}")
# A baseline's file as the shards name it: a path, never text that a job summary's Markdown would
# make a link or an image of (the report files, not the command line, say it here).
_BASELINE_FILE = re.compile(r"[^\x00-\x1f\x7f\[\]()<>!`]{1,4096}")
_SUMMED = ("records_checked", "files_hashed", "bytes_hashed", "files_cached", "bytes_planned")
# Who wrote a report, as reporters/json_report.py says it: a shard's rules, fingerprints and SARIF
# rule metadata are this StrataML's only when this StrataML wrote it.
_TOOL = "strataml"


def _read(path: Path) -> dict[str, Any]:
    def bad(why: str) -> StrataError:
        return StrataError(
            f"{shown(str(path))} is not a shard's report ({why})",
            HINT,
        )

    raw = atomic.read_given(path, "the shard report", HINT, limit=MAX_REPORT)
    try:
        doc = canonical.loads(raw.decode("utf-8"))
    except canonical.NotFinite as exc:
        raise bad(f"it {exc}; `doctor --format json` never writes one") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise bad("not JSON: was it written with --format json?") from None
    if isinstance(doc, dict) and str(doc.get("$schema", "")).startswith("https://json.schemastore.org/sarif"):
        raise bad("a SARIF file: merge takes the shards' --format json reports, and writes SARIF itself")
    shard = doc.get("shard") if isinstance(doc, dict) else None
    # Another tool's or version's report is named as that (first: its shape may be another's),
    # a report that names no tool as one this StrataML did not write.
    if isinstance(doc, dict) and (isinstance(doc.get("tool"), dict) or isinstance(shard, dict)):
        _check_tool(path, doc.get("tool"))
    if not isinstance(shard, dict) or doc.get("version") != 1:
        raise bad("no shard in it: was it written with --shard K/N --format json?")
    if not isinstance(doc.get("findings"), list):
        raise bad("its findings are not a list: merge what `doctor --shard` wrote, unedited")
    return doc


def _check_tool(path: Path, tool: Any) -> None:
    """Refuse a report that this StrataML (its name and version, as `--format json` writes
    them) did not write: the shards and the merge must all run one StrataML version."""
    name = tool.get("name") if isinstance(tool, dict) else None
    version = tool.get("version") if isinstance(tool, dict) else None
    if name == _TOOL and version == __version__:
        return
    if not (isinstance(name, str) and isinstance(version, str)):
        what = f"names no tool and version that wrote it (its tool: {shown(json.dumps(tool, default=str))})"
    elif name != _TOOL:
        what = f"holds a report of {shown(name)} {shown(version)}, another tool, not of StrataML {__version__}"
    else:
        what = f"holds a report of StrataML {shown(version)}, not of this StrataML ({__version__})"
    raise StrataError(
        f"{shown(str(path))} {what}",
        f"run every shard and the merge with the same StrataML version (this one is {__version__}): "
        "versions differ in rules, fingerprints and SARIF rule metadata",
    )


def _difference(mine: Any, theirs: Any) -> str:
    """What two shards' options disagree on, key by key ("strict: true vs false"), else both."""
    if isinstance(mine, dict) and isinstance(theirs, dict):
        keys = sorted(k for k in {*mine, *theirs} if mine.get(k) != theirs.get(k))
        return "; ".join(f"{k}: {shown(json.dumps(mine.get(k)))} vs {shown(json.dumps(theirs.get(k)))}" for k in keys)
    return f"{shown(json.dumps(mine, default=str))} vs {shown(json.dumps(theirs, default=str))}"


def merge(
    paths: list[Path], strict: bool = False, commit: str | None = None, shards: int | None = None
) -> tuple[Report, str]:
    """One report from the shards' JSON reports, and the workspace's folder in its repository
    ('' at its top: what SARIF and GitHub annotations put before each path). `commit` and
    `shards`, when given, are what the reports must say (the checkout the merge job stands on,
    the matrix's size): a report from elsewhere, however well formed, is refused."""
    from strataml.doctor.shards import MAX_SHARDS

    docs = [(p, _read(p)) for p in paths]
    for path, doc in docs:
        _check_shard(path, doc, MAX_SHARDS)
    first = docs[0][1]["shard"]
    total = first["total"]
    if shards is not None and total != shards:
        raise StrataError(
            f"{shown(str(docs[0][0]))} is a shard of {total}, not of {shards}",
            "merge the reports of this matrix's jobs",
        )
    if commit is not None and first.get("commit") != commit:
        raise StrataError(
            f"{shown(str(docs[0][0]))} checked commit {shown(str(first.get('commit')))}, not {shown(commit)}",
            "merge the reports the jobs of this run wrote (a report from another run, or a file in the checkout, is not one)",
        )
    seen: dict[int, Path] = {}
    for path, doc in docs:
        shard = doc["shard"]
        for key, what in (
            ("total", "shard counts"),
            ("commit", "commits"),
            ("options", "options"),
            ("folder", "workspace folders"),
        ):
            if shard.get(key) != first.get(key):
                raise StrataError(
                    f"{shown(str(path))} and {shown(str(docs[0][0]))} differ in {what} "
                    f"({_difference(shard.get(key), first.get(key))})",
                    "merge the reports of one run: the same commit, options and N",
                )
        # (Their StrataML versions agree: _read refused any but this one.)
        mine, theirs = _at(doc, "stats.records"), _at(docs[0][1], "stats.records")
        if mine != theirs:
            raise StrataError(
                f"{shown(str(path))} and {shown(str(docs[0][0]))} differ in record counts ({_difference(mine, theirs)})",
                "merge the reports of one run: every shard checks the same workspace with the same StrataML",
            )
        index = shard["index"]
        if index in seen:
            raise StrataError(
                f"shard {index}/{total} given twice ({shown(str(seen[index]))} and {shown(str(path))})",
                "give each shard's report once",
            )
        seen[index] = path
    missing = [k for k in range(1, total + 1) if k not in seen]
    if missing:
        raise StrataError(
            f"shard{'s' if len(missing) != 1 else ''} {', '.join(f'{k}/{total}' for k in missing)} missing",
            "a merged report holds every shard: a job that failed must be run again",
        )
    findings = [f for path, doc in docs for f in _findings(path, doc)]
    findings.sort(key=Finding.sort_key)
    stats: dict[str, int] = {k: v for k, v in docs[0][1]["stats"].items() if type(v) is int}
    for key in _SUMMED:
        stats[key] = sum(d["stats"].get(key, 0) for _p, d in docs)
    records = docs[0][1]["stats"].get("records")
    if type(records) is int and stats["records_checked"] != records:
        raise StrataError(
            f"the shards checked {stats['records_checked']} records, the workspace has {records}",
            "merge the reports `strataml doctor --shard K/N` wrote, unedited",
        )
    stats.pop("shard", None)
    stats["shards"] = total
    baseline = _baseline(docs)
    report = Report(
        tuple(findings),
        stats,
        strict or bool(first.get("options", {}).get("strict")),
        baseline_file=baseline[0] if baseline is not None else None,
        baseline_hidden=baseline[1] if baseline is not None else 0,
    )
    return report, first.get("folder", "")


def _baseline(docs: list[tuple[Path, dict[str, Any]]]) -> tuple[str, int] | None:
    """The baseline the shards applied (one file: their options say each had one) and the
    findings it hid in all of them; None when they had none."""
    if all(doc.get("baseline") is None for _p, doc in docs):
        return None
    said: list[tuple[Path, str, int]] = []
    for path, doc in docs:
        b = doc.get("baseline")
        if not (
            isinstance(b, dict)
            and isinstance(b.get("file"), str)
            and _BASELINE_FILE.fullmatch(b["file"])
            and type(b.get("hidden")) is int
        ):
            raise StrataError(
                f"{shown(str(path))}: its baseline is not one `doctor --baseline` writes (a file and a count)",
                "merge what `doctor --shard` wrote, unedited",
            )
        said.append((path, b["file"], b["hidden"]))
    first_path, file, _hidden = said[0]
    for path, other, _hidden in said:
        if other != file:
            raise StrataError(
                f"{shown(str(path))} and {shown(str(first_path))} differ in baselines ({_difference(other, file)})",
                "merge the reports of one run: the same commit, options and N",
            )
    return file, sum(hidden for _p, _f, hidden in said)


def _check_shard(path: Path, doc: dict[str, Any], most: int) -> None:
    """A shard's report as `doctor --shard` writes it: K and N integers, 1 <= K <= N <= most;
    stats of whole numbers."""
    shard = doc["shard"]
    index, total = shard.get("index"), shard.get("total")
    if not (type(index) is int and type(total) is int and 1 <= index <= total <= most):
        raise StrataError(
            f"{shown(str(path))} names shard {shown(json.dumps(index))} of {shown(json.dumps(total))}",
            f"a shard is K of N, whole numbers with 1 <= K <= N <= {most}: merge what `doctor --shard` wrote",
        )
    folder = shard.get("folder", "")  # (absent from the reports of StrataML before it: the top)
    if not (isinstance(folder, str) and _FOLDER.fullmatch(folder) and not {".", ".."} & set(folder.split("/"))):
        raise StrataError(
            f"{shown(str(path))}: its shard's folder {shown(json.dumps(folder))} is not a folder of a repository",
            "merge what `doctor --shard` wrote, unedited",
        )
    if not isinstance(shard.get("options", {}), dict):
        raise StrataError(
            f"{shown(str(path))}: its shard's options are not a mapping", "merge what `doctor --shard` wrote, unedited"
        )
    stats = doc.get("stats")
    if not isinstance(stats, dict) or not all(type(stats.get(k, 0)) is int and stats.get(k, 0) >= 0 for k in _SUMMED):
        raise StrataError(
            f"{shown(str(path))}: its stats are not counts", "merge what `doctor --shard` wrote, unedited"
        )


def _findings(path: Path, doc: dict[str, Any]) -> list[Finding]:
    from strataml.contracts import registry

    rules = registry()
    out = []
    for f in doc["findings"]:
        if (
            not isinstance(f, dict)
            or not all(isinstance(f.get(k), str) for k in ("code", "path", "message"))
            or not isinstance(f.get("hint", ""), str)
            or f.get("severity") not in ("error", "warning", "info")
            # (a line numbers from 1, as SARIF's startLine and a GitHub annotation's line= do; bool is no line)
            or not (f.get("line") is None or (type(f.get("line")) is int and f["line"] >= 1))
        ):
            raise StrataError(
                f"{shown(str(path))}: a finding that is not one (code, path, message and hint texts; severity "
                "error, warning or info; a line, if any, a whole number from 1)",
                "merge what `doctor --shard` wrote, unedited",
            )
        if f["code"] not in rules:  # (SARIF describes every finding's rule: one of no rule has none)
            raise StrataError(
                f"{shown(str(path))}: a finding of no rule this StrataML has ({shown(f['code'])})",
                "merge the reports `strataml doctor --shard` wrote, with the StrataML that merges them",
            )
        out.append(Finding.from_dict(f))
    # A report as the doctor writes it: each finding once, and its summary counts them. This
    # catches a careless edit (a finding dropped or copied, its count left), not a careful one:
    # the reports are the jobs' artifacts, and --commit and --shards say whose.
    if len(set(out)) != len(out):
        raise StrataError(
            f"{shown(str(path))}: a finding given twice (the doctor reports each once)",
            "merge what `doctor --shard` wrote, unedited",
        )
    summary = doc.get("summary")
    for key, severity in (("errors", "error"), ("warnings", "warning"), ("infos", "info")):
        found = sum(f.severity == severity for f in out)
        said = summary.get(key) if isinstance(summary, dict) else None
        if said != found:
            raise StrataError(
                f"{shown(str(path))}: its summary counts {shown(json.dumps(said))} {key}, its findings hold {found}",
                "merge what `doctor --shard` wrote, unedited",
            )
    return out


def _at(doc: dict[str, Any], key: str) -> Any:
    value: Any = doc
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value
