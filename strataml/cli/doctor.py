"""`strataml doctor`: check the workspace against the contracts."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from strataml.cli.choice import Choice
from strataml.cli.given import Given
from strataml.cli.main import State
from strataml.cli.output import emit, progress_bar
from strataml.controls import shown
from strataml.errors import StrataError
from strataml.gitfacts import SINCE_HINT, need_git, prefetch_changes, repo_prefix
from strataml.nogc import keep
from strataml.reporters import FORMATS, RenderOptions, render
from strataml.words import counted

if TYPE_CHECKING:
    from collections.abc import Sequence

    from strataml.doctor.finding import Report


def _codes(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(c.strip() for v in values for c in v.split(",") if c.strip())


@click.command(short_help="Check the workspace against its contracts (tfc/).")
@click.option("--strict", is_flag=True, help="Warnings fail too (exit 2). CI runs this.")
@click.option(
    "--format",
    "fmt",
    type=Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for people, json for scripts, sarif for code scanning, github for workflow annotations, "
    "markdown for a job summary or a pull-request comment.",
)
@click.option(
    "-o",
    "--output",
    type=Given(dir_okay=False, path_type=Path),
    help="Write the report to FILE (atomically) instead of stdout.",
)
@click.option(
    "--select",
    multiple=True,
    metavar="PREFIX",
    help="Only report codes starting with PREFIX (repeat or comma-separate), e.g. TFC0006.",
)
@click.option(
    "--ignore",
    multiple=True,
    metavar="PREFIX",
    help="Never report codes starting with PREFIX (repeat or comma-separate), e.g. TFC0002-W001.",
)
@click.option(
    "--since",
    metavar="REF",
    help="Check only records changed since the git revision REF, plus history rules "
    "(immutable versions, append-only ledgers, trust and policy changes), judged by the policy and "
    "keys REF holds. For pull requests: --since origin/main.",
)
@click.option(
    "--require-content",
    is_flag=True,
    help="A recorded file present only as a Git LFS pointer is an error (default: verified by pointer, info).",
)
@click.option("--no-cache", is_flag=True, help="Ignore .strataml/cache and re-hash and re-read everything.")
@click.option(
    "--no-git", is_flag=True, help="Do not ask git about tracking and LFS routing (history rules still need git)."
)
@click.option(
    "--baseline",
    metavar="FILE",
    type=Given(dir_okay=False, path_type=Path),
    help="Report only findings FILE does not hold (written by --write-baseline); the summary says how "
    "many it hid. With --since, a FILE in the repository is read as REF holds it.",
)
@click.option(
    "--write-baseline",
    metavar="FILE",
    type=Given(dir_okay=False, path_type=Path),
    help="Write the findings of this run to FILE, to adopt --strict in a repository with old problems. "
    "When FILE exists it only shrinks: fixed findings drop out, new ones are never added.",
)
@click.option(
    "--shard",
    metavar="K/N|auto",
    help="Check shard K of N: its records completely (content, pointers, signatures), and the "
    "findings that are its own, so N jobs of a CI matrix together check what one run does. auto: "
    "GitLab's CI_NODE_INDEX/CI_NODE_TOTAL. Merge the N JSON reports with `strataml report merge`.",
)
@click.option(
    "--list-files",
    is_flag=True,
    help="With --shard: print the recorded files the shard reads, one per line from the repository's "
    "top, and check nothing.",
)
@click.option(
    "--lfs-include",
    is_flag=True,
    help="With --shard: print the shard's files as `git lfs pull --include` values, one per line (each at "
    "most 32 KiB, globs escaped), and check nothing: "
    'while IFS= read -r inc; do git lfs pull --include="$inc"; done',
)
@click.option("--list-rules", is_flag=True, help="List every rule: code, severity, name, contract, whether enforced.")
@click.option("--explain", metavar="CODE", help="Explain one rule: what, why, an example and the fix.")
@click.pass_obj
def doctor(
    state: State,
    strict: bool,
    fmt: str,
    output: Path | None,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    since: str | None,
    require_content: bool,
    no_cache: bool,
    no_git: bool,
    baseline: Path | None,
    write_baseline: Path | None,
    shard: str | None,
    list_files: bool,
    lfs_include: bool,
    list_rules: bool,
    explain: str | None,
) -> int:
    """Check the workspace against the contracts (TFC-0001 to TFC-0008).

    \b
    Exit codes:
      0  clean (infos allowed)        2  errors (or warnings with --strict)
      1  warnings only                3  the tool could not run (usage, unreadable workspace)

    \b
    Every finding has a stable code, the file (and line) it is about, what is wrong and a hint
    that says how to fix it. `strataml doctor --explain CODE` tells more. Severities can be
    overridden per code in strataml.yaml (doctor: {severity: {CODE: warning}}).

    \b
    Examples:
      strataml doctor --strict
      strataml doctor --strict --since origin/main      (a pull request: what changed, and history)
      strataml doctor --format sarif -o strataml.sarif
      strataml doctor --select TFC0006 --format json
      strataml doctor --write-baseline .strataml-baseline.json   (adopt: record what is there today)
      strataml doctor --strict --baseline .strataml-baseline.json (then gate only what is new)

    \b
    Recorded files are hashed once and remembered in .strataml/cache (keyed by size, mtime,
    inode and ctime); --no-cache re-hashes everything.
    """
    if since is not None and not since.strip():
        # CI's `--since "$BASE"` with BASE unset must not quietly become a run without history.
        raise click.BadParameter(
            "needs a git revision, got an empty string (is the variable that holds the base revision set?)",
            param_hint="'--since'",
        )
    # (What lists or explains prints as text or JSON: a SARIF upload step got a text table.)
    listing_option = (
        "--list-rules"
        if list_rules
        else f"--explain {shown(explain)}"
        if explain
        else "--list-files"
        if list_files
        else None
    )
    if listing_option is not None and fmt not in ("text", "json"):
        raise click.UsageError(f"{listing_option} prints text or json, not --format {fmt}")
    if lfs_include and fmt != "text":
        raise click.UsageError(
            f"--lfs-include prints the value of `git lfs pull --include`, not --format {fmt} "
            "(--list-files --format json lists the shard's files)"
        )
    if list_rules:
        emit(output, lambda s, c: _list_rules(s, c, fmt), state.root_if_any())
        return 0
    if explain:
        emit(output, lambda s, c: _explain(s, c, fmt, explain), state.root_if_any())
        return 0
    if (list_files or lfs_include) and shard is None:
        raise click.UsageError(
            f"--{'list-files' if list_files else 'lfs-include'} lists a shard's files: give --shard K/N"
        )
    if list_files and lfs_include:
        raise click.UsageError("give --list-files (paths) or --lfs-include (git lfs pull values), not both")
    if shard is not None and (since or write_baseline is not None):
        raise click.UsageError("--shard checks the whole workspace in parts: not with --since or --write-baseline")
    for given, option in ((write_baseline, "--write-baseline"), (baseline, "--baseline")):
        if given is not None and os.fspath(given) == "-":
            raise click.UsageError(
                f"{option} needs a file, not -: the baseline is a file committed beside the workspace "
                "(e.g. .strataml-baseline.json)"
            )
    if write_baseline is not None and baseline is not None:
        raise click.UsageError(
            "give --baseline or --write-baseline, not both (--write-baseline reports against the baseline it writes)"
        )
    if write_baseline is not None and (since or select or ignore or no_git):
        # (--no-git leaves out what only git can tell: those findings would be dropped as fixed,
        # and the next gate, with git, fails on findings nobody fixed.)
        raise click.UsageError(
            "--write-baseline records every finding of the workspace: it cannot be combined with "
            "--since, --select, --ignore or --no-git (they leave findings out)"
        )
    root = state.root()
    if since or not no_git:
        # Before anything reads a cache: in a repository, the rules that need git run or nothing does.
        need_git(root, SINCE_HINT if since else "install git, or pass --no-git to skip the rules that need git")
    if since:
        prefetch_changes(root, since)  # git walks the tree while the doctor's modules load
    from strataml.doctor import engine

    part = None
    if shard is not None:
        from strataml.doctor.shards import parse

        part = parse(shard)
        if list_files or lfs_include:
            listing = "lfs-include" if lfs_include else fmt
            emit(output, lambda s, _c: _list_shard_files(root, part.index, part.total, listing, s), root)
            return 0
    options = engine.Options(
        require_content=require_content,
        since=since,
        use_git=not no_git,
        shard=(part.index, part.total) if part is not None else None,
    )
    with progress_bar(enabled=fmt == "text" and output is None) as bar:
        report = engine.doctor(
            root,
            select=_codes(select),
            ignore=_codes(ignore),
            strict=strict,
            options=options,
            use_cache=not no_cache,
            progress=bar,
        )
    if since and report.since_base is not None and report.since_base == report.policy_commit:
        _no_merge_base(root, since, report.since_base, report.findings)
    if part is not None:
        from dataclasses import replace

        from strataml.gitfacts import head_commit

        said = {
            "strict": strict,
            "require_content": require_content,
            "no_git": no_git,
            "select": sorted(_codes(select)),
            "ignore": sorted(_codes(ignore)),
            "baseline": bool(baseline),
        }
        # "folder": where the workspace sits in its repository, so that a merge (which may run
        # anywhere) names files in SARIF and GitHub annotations from the repository's root.
        report = replace(
            report,
            shard={
                "index": part.index,
                "total": part.total,
                "commit": head_commit(root),
                "options": said,
                "folder": repo_prefix(root),
            },
        )
    if write_baseline is not None:
        report = _write_baseline(root, report, write_baseline)
    elif baseline is not None:
        report = _apply_baseline(root, report, baseline, since)
    prefix = repo_prefix(root) if fmt in ("sarif", "github") else ""
    from strataml.reporters.text import plain, summary_line

    verdict = plain(summary_line(report))  # (with -o FILE, the verdict still reaches the terminal)
    emit(
        output,
        lambda s, c: render(report, fmt, s, RenderOptions(color=c, repo_prefix=prefix, root=str(root))),
        root,
        verdict,
    )
    # The report holds the whole workspace: freed here, object by object, it cost ~22 ms of a
    # cold run on 10k records, for memory the process's end gives back at once.
    keep(report)
    return report.exit_code


def _no_merge_base(root: Path, since: str, tip: str, findings: Sequence[Any]) -> None:
    """Say so when no merge base with `since` is known: the run compared with the tip. In a
    shallow clone that fetched the tip alone, what the base gained since the change began (a
    ledger entry, a version, a policy or key change) reads as this change's: such findings are
    refused as a verdict (exit 3, fetch the history) where they were a false TFC0005-E006, E010
    or TFC0001-W001 with a note on stderr alone; a run without them stands, with the note."""
    from strataml.doctor.rules.history import BASE_CODES
    from strataml.gitfacts import head_parents, is_ancestor, is_shallow

    # (A merge commit checked out shallow, GitHub's refs/pull/N/merge: its parent is the tip, so
    # comparing with the tip is exact, though no merge base is known.)
    if is_ancestor(root, tip) or tip in head_parents(root):
        return
    if not is_shallow(root):
        click.echo(
            f"strataml: note: no merge base with {shown(since)} is known: it and HEAD share no history, and the "
            "change was compared with its tip",
            err=True,
        )
        return
    fetch = "fetch its history (`git fetch --unshallow`, or `fetch-depth: 0` in actions/checkout) and run again"
    # (Only what counts toward the verdict: a code the policy made an info changes no exit code.)
    doubtful = sorted({f.code for f in findings if f.code in BASE_CODES and f.severity != "info"})
    if doubtful:
        raise StrataError(
            f"no merge base with {shown(since)} is known (a shallow clone), so the change was compared with its tip: "
            f"{', '.join(doubtful)} may be what {shown(since)} gained since this change began, not this change",
            fetch,
        )
    click.echo(
        f"strataml: note: no merge base with {shown(since)} is known (a shallow clone): compared with its tip, "
        f"which found no change to history; {fetch} for a judgement from where this change began",
        err=True,
    )


def _list_shard_files(root: Path, index: int, total: int, fmt: str, stream: TextIO) -> None:
    from strataml.doctor.shards import plan, planned_bytes
    from strataml.paths import unsafe
    from strataml.workspace import load

    workspace = load(root)
    assignment = plan(workspace.records, total)
    prefix = repo_prefix(root)
    files = sorted(
        f"{prefix}{r.folder}/{e.path}"
        for r in workspace.records
        if r.folder and assignment[str(r.ref)] == index
        for e in r.files
        if not unsafe(e.path)  # a path that climbs out is the doctor's finding, not a file to pull
    )
    size = planned_bytes(workspace.records, assignment, total)[index - 1]
    if fmt == "json":
        json.dump({"shard": f"{index}/{total}", "bytes": size, "files": files}, stream, indent=2)
        stream.write("\n")
    elif fmt == "lfs-include":
        from strataml.lfs import include_patterns

        stream.writelines(value + "\n" for value in include_patterns(files))
    else:
        stream.writelines(shown(f) + "\n" for f in files)


def _apply_baseline(root: Path, report: Report, path: Path, since: str | None) -> Report:
    from strataml.doctor import baseline

    known, source, _held = baseline.in_force(
        root, path, since, report.policy_commit, lambda note: click.echo(note, err=True)
    )
    return baseline.apply(report, known, source)


def _write_baseline(root: Path, report: Report, path: Path) -> Report:
    from strataml.cli.output import write_output
    from strataml.doctor import baseline
    from strataml.paths import inside

    rel = inside(os.path.abspath(path), root)
    source = rel if rel is not None else str(path)
    raw = baseline.read_file(path)
    old = baseline.parse(raw, source) if raw is not None else None
    data, written = baseline.document(report, old)
    write_output(path, data.decode("utf-8"), root)
    said = f"wrote {shown(source)}: {counted(written.kept, 'finding')}"
    if old is not None:
        said += f" ({written.dropped} fixed since dropped, {written.not_added} new not added: fix those)"
    click.echo(f"strataml: {said}", err=True)
    return baseline.apply(report, set(baseline.keys(report)) if old is None else old, source)


def _list_rules(stream: TextIO, color: bool, fmt: str) -> None:
    from strataml.contracts import registry

    rules = registry().values()
    if fmt == "json":
        from strataml.read.query import rule_of

        json.dump([rule_of(r, body=False) for r in rules], stream, indent=2)
        stream.write("\n")
        return
    from strataml.cli import table

    rows = []
    for r in rules:
        enforced = "yes" if r.enforced else r.enforced_note.removeprefix("planned ")
        if r.needs_since:  # ("yes, with --since" made the line 81 columns wide)
            enforced = "with --since" if enforced == "yes" else f"{enforced}, with --since"
        rows.append([r.code, r.severity, r.name, r.tfc, enforced])
    tty = hasattr(stream, "isatty") and stream.isatty()
    columns = ["code", "severity", "name", "contract", "enforced"]
    stream.write(
        table.render(
            columns, rows, keep={0, 1, 2, 3}, right=set(), width=table.width_for(tty), color=_plain if color else None
        ).text
    )


def _plain(_cell: str) -> None:
    """No colour for a cell: with colour on, only the header is styled (bold)."""


def _explain(stream: TextIO, color: bool, fmt: str, code: str) -> None:
    from strataml.contracts import closest_codes, registry, reserved

    rules = registry()
    rule = rules.get(code.strip().upper())
    if rule is None and (doc := reserved(code.strip().upper())) is not None:
        raise StrataError(
            f"{code.strip().upper()} is a reserved code: no rule was ever given it, and none will be",
            f"see the changelog of tfc/{doc}; `strataml doctor --list-rules` lists the rules",
        )
    wanted = code.strip().upper()
    under = sorted(c for c in rules if c.startswith(wanted)) if rule is None and wanted.startswith("TFC") else []
    if len(under) == 1:  # (the start of one code names it, as a unique abbreviation does in git)
        rule, under = rules[under[0]], []
    if under:  # (a contract or a severity of one: TFC0006, TFC0006-W)
        some = ", ".join(under[:12]) + (f", … ({len(under) - 12} more)" if len(under) > 12 else "")
        raise StrataError(
            f"{wanted} is the start of {len(under)} rule codes, not one rule",
            f"explain one of them: {some}; `strataml doctor --list-rules` names every rule",
        )
    if rule is None:
        close = closest_codes(code)
        raise StrataError(
            f"unknown rule code {code!r}",
            f"did you mean {', '.join(close)}?" if close else "see `strataml doctor --list-rules`",
        )
    if fmt == "json":
        from strataml.read.query import rule_of

        json.dump(rule_of(rule), stream, indent=2)
        stream.write("\n")
        return
    text = f"# {rule.code} {rule.name}\n\nContract: {rule.tfc} (tfc/{rule.document})\n\n{rule.body}\n"
    if color:
        from rich.console import Console
        from rich.markdown import Markdown

        Console(file=stream, force_terminal=True, width=100).print(Markdown(text))
    else:
        stream.write(text)
