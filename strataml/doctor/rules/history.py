"""History rules against `--since REF` (TFC-0002..0005, 0007): what may never change, only grow."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path

from strataml import atomic, gitfacts, lifecycle
from strataml.doctor.engine import Context
from strataml.doctor.finding import Finding
from strataml.doctor.rules import promotions
from strataml.doctor.rules.records import check_metrics
from strataml.loading import load_bytes
from strataml.records import Record, made_by
from strataml.refs import fold
from strataml.workspace import CONFIG, FOLDER_NOTES, META, SIGNATURE_SUFFIX, ledger_of, record_folder

DATASET_CHANGED = "TFC0002-E010"
RUN_CHANGED = "TFC0003-E010"
NEW_RUN_METRICS = "TFC0003-E011"
NEW_RUN_UNCHECKED = "TFC0003-W001"
MODEL_CHANGED = "TFC0004-E010"
LEDGER_REWRITTEN = "TFC0005-E006"
TRUST_CHANGED = "TFC0007-W001"
POLICY_CHANGED = "TFC0001-W001"
ATTRIBUTES_CHANGED = "TFC0006-W013"
LFS_CONFIG_CHANGED = "TFC0006-W015"
# What comparing with a base the change never left can find where the change did nothing
# (cli.doctor: no merge base known, the base's tip compared with instead).
BASE_CODES = frozenset(
    {
        DATASET_CHANGED,
        RUN_CHANGED,
        MODEL_CHANGED,
        LEDGER_REWRITTEN,
        TRUST_CHANGED,
        POLICY_CHANGED,
        ATTRIBUTES_CHANGED,
        LFS_CONFIG_CHANGED,
    }
)
# strataml.yaml settings that change no verdict; `signing` has a review finding of its own.
NOT_POLICY = ("name", "description", "signing")
TERMINAL = ("succeeded", "failed", "cancelled")


def owner(path: str) -> str | None:
    """The record folder, ledger or spec a changed file belongs to, by layout alone.

    A ledger's signature belongs to its ledger. A file where a record folder belongs (a stray)
    is its own owner, so the walk sees it. Names are never read as kinds: a version may be
    called `2.yaml`."""
    ledger = ledger_of(path)
    if ledger is not None:
        return ledger
    if is_spec(path):
        return path
    return record_folder(path)


def is_ledger(path: str) -> bool:
    return ledger_of(path) == path


def is_spec(path: str) -> bool:
    parts = path.split("/")
    return parts[0] == "experiments" and len(parts) == 2


def deep_folders(root: Path, owned: set[str]) -> set[str]:
    """The record folders a --since run walks and checks in full: the ones that changed, and
    every version of a model whose ledger changed (a version's state, and so what the policy
    requires of it, comes from its ledger)."""
    deep = {o for o in owned if not is_ledger(o) and not is_spec(o)}
    for ledger in (o for o in owned if is_ledger(o)):
        name_folder = ledger.rsplit("/", 1)[0]
        try:
            with os.scandir(root / name_folder) as it:
                deep.update(f"{name_folder}/{e.name}" for e in it if e.is_dir(follow_symlinks=False))
        except (FileNotFoundError, NotADirectoryError):
            pass  # the walk reports what stands there instead
    return deep


def changes(root: Path, since: str) -> tuple[str, set[str], str]:
    """(the merge base, changed workspace paths, REF's tip)."""
    listing = gitfacts.changes_since(root, since)
    return listing.commit, listing.tracked() | listing.untracked(), listing.tip


def owners(changed: set[str]) -> set[str]:
    return {o for o in map(owner, changed) if o}


def attributes(changed: set[str]) -> list[str]:
    """The .gitattributes among changed paths (in the workspace or above it)."""
    return sorted(p for p in changed if gitfacts.git_control(p.rsplit("/", 1)[-1]) == gitfacts.ATTRIBUTES)


def gone(root: Path, changed: set[str]) -> list[str]:
    """The records and specs among changed paths that no longer stand in the work tree: their
    metadata (or spec) deleted, moved or replaced by something other than a file. Records that
    still reference them are anywhere in the workspace, not only among the changed ones."""
    out = []
    for path in changed:
        parts = path.split("/")
        if parts[0] == "experiments":
            if len(parts) != 2 or parts[1] in FOLDER_NOTES:
                continue
        else:
            folder = record_folder(path)
            if folder is None or path != f"{folder}/{META[parts[0][:-1]]}":
                continue
        # Through real folders only: the walk reads no record behind a symlinked folder
        # (`models -> elsewhere/models`), so for the workspace a metadata file there is gone.
        if not atomic.is_file(root, path):
            out.append(path)
    return sorted(out)


def everything(root: Path, changed: set[str]) -> bool:
    """Whether a --since run must walk and check every record: a .gitattributes changed (a
    checkout of any committed file may then differ although no diff names it), or a record or
    spec is gone (what still references it may lie anywhere)."""
    return bool(attributes(changed)) or bool(gone(root, changed))


def scope_since(ctx: Context) -> frozenset[str] | None:
    """Refs of the records that changed since the revision (the ones the other rules check);
    None, every record, when everything() says so."""
    ws = ctx.workspace
    if ctx.since_commit is None:
        ctx.since_commit, ctx.since_changed, ctx.since_tip = changes(ws.root, ctx.options.since or "")
    if everything(ws.root, ctx.since_changed):
        return None
    owned = owners(ctx.since_changed)
    deep = deep_folders(ws.root, owned) | resting(ws.root, ctx.since_commit or "", ctx.since_changed)
    return frozenset(str(r.ref) for r in ws.records if (r.folder in deep if r.folder else r.meta in owned))


def resting(root: Path, commit: str, changed: set[str]) -> set[str]:
    """The model version folders registered from a run that was still running at `commit` and
    changed since (beyond its signature): such a run may finish (TFC0003-E010 lets it), and a
    version resting on its files and metrics is checked with it, or a run finished with other
    numbers would pass under the version's gate receipt. Asked of git only when a run folder
    changed; the model.yaml files are read only when such a run is found (a new run is none)."""
    runs = sorted(
        {
            folder
            for path in changed
            if (folder := record_folder(path)) is not None
            and folder.startswith("runs/")
            and path != f"{folder}/{META['run']}{SIGNATURE_SUFFIX}"
        }
    )
    return set(_resting(str(root), commit, tuple(runs))) if runs and commit else set()


@functools.lru_cache(maxsize=8)
def _resting(root: str, commit: str, runs: tuple[str, ...]) -> frozenset[str]:
    before = gitfacts.read_at(Path(root), commit, [f"{r}/{META['run']}" for r in runs])
    running = {
        fold(f"run:{r.split('/', 1)[1]}")
        for r in runs
        if (raw := before.get(f"{r}/{META['run']}")) is not None and not _terminal(raw)
    }
    return frozenset(folder for folder, _data in made_by(Path(root), running)) if running else frozenset()


def _restore(root: Path, since: str, folder: str) -> str:
    """The command that puts `folder` back as `since` holds it, files added since removed too
    (`git checkout REF -- PATH` restored the files but kept an added one, and named no REF). In a
    folder of a repository the path is from its top (`:(top)ml/...`), so it works wherever it runs."""
    import shlex

    prefix = gitfacts.repo_prefix(root)
    path = f":(top){prefix}{folder}" if prefix else folder
    return f"git restore --source={shlex.quote(since)} --staged --worktree -- {shlex.quote(path)}"


def check(ctx: Context) -> Iterator[Finding]:
    if not ctx.options.since:
        return
    ws = ctx.workspace
    commit = ctx.since_commit or ""
    changed = ctx.since_changed
    by_owner: dict[str, list[str]] = {}
    for path in changed:
        key = owner(path)
        if key:
            by_owner.setdefault(key, []).append(path)
    folders = [k for k in by_owner if not is_ledger(k) and not is_spec(k)]
    before = gitfacts.files_at(ws.root, commit, folders)
    metas = [f"{f}/run.yaml" for f in folders if f.startswith("runs/") and f"{f}/run.yaml" in before]
    ledgers = [k for k in by_owner if is_ledger(k)]
    old = gitfacts.read_at(ws.root, commit, [*metas, *ledgers])
    specs = promotions.Specs(ctx)
    wanted = set(folders)
    # Co-signing adds to a committed record's .asc: signature files are the signature rules' to
    # judge (the record stays in scope, so a dropped required signature is theirs to report).
    records = {r.folder: r for r in ws.records if r.folder in wanted}
    for folder in sorted(folders):
        kind = folder.split("/")[0]
        # A record committed at REF is closed: a file (or a submodule) added to its folder changes
        # it as much as an edit does. Elsewhere only what REF held counts (a new record is free).
        recorded = f"{folder}/{META[kind[:-1]]}" in before
        existed = [
            p
            for p in by_owner[folder]
            # (p == folder: a file where a record folder belongs; the layout rule reports it)
            if (recorded or p in before) and p != folder and not _is_signature(records.get(folder), p)
        ]
        if not existed:
            # New since REF, or only its signatures changed: the other rules check it. A run new
            # since REF, or running then, its metrics too (what the pull request shows and the
            # reviewer weighs); one finished at REF and only signed since is not judged again.
            if kind == "runs" and not _terminal(old.get(f"{folder}/run.yaml")):
                yield from _new_run_metrics(ctx, records.get(folder))
            continue
        what = ", ".join(sorted(existed)[:3]) + (" ..." if len(existed) > 3 else "")
        if kind == "datasets":
            yield Finding(
                DATASET_CHANGED,
                folder,
                f"dataset version committed at {ctx.options.since} was changed, added to or removed ({what})",
                f"restore it (`{_restore(ws.root, ctx.options.since, folder)}`; a file added and never staged: delete it) "
                "and add the new data as a new version",
            )
        elif kind == "models":
            yield Finding(
                MODEL_CHANGED,
                folder,
                f"model version registered at {ctx.options.since} was changed, added to or removed ({what})",
                "restore it and register a new version instead",
            )
        elif kind == "runs" and _terminal(old.get(f"{folder}/run.yaml")):
            yield Finding(
                RUN_CHANGED,
                folder,
                f"run finished at {ctx.options.since} was changed, added to or removed ({what})",
                "restore it; new work is a new run",
            )
        elif kind == "runs":
            yield from _new_run_metrics(ctx, records.get(folder))  # (still running at REF: it may finish since)
    for ledger in sorted(ledgers):
        previous = old.get(ledger)
        try:
            current = ws.read_bytes(ledger, limit=lifecycle.MAX_LEDGER_BYTES) or b""
        except atomic.Refused:
            current = b""  # a symlink, a device, too large: the walk and the ledger rule say which

        # A last line cut short at REF was no entry (promotions.check judges what takes its place
        # as new), and the repair its finding names, deleting it, is no rewrite. A whole entry
        # that only lacks its newline is an entry like any other: kept.
        kept = previous
        if previous is not None and lifecycle.parse(previous, ledger.split("/")[1]).cut:
            kept = previous[: previous.rfind(b"\n") + 1]
        if kept is not None and not current.startswith(kept):
            yield Finding(
                LEDGER_REWRITTEN,
                ledger,
                f"the ledger at {ctx.options.since} is not a prefix of the current one: "
                "entries were edited, removed or reordered",
                f"restore it with `git checkout {ctx.options.since} -- {ledger}` and append",
            )
        else:
            yield from promotions.check(ctx, ledger, previous, current, specs)
    yield from _trust(ctx, changed)
    yield from _attributes(ctx, changed)
    yield from _lfs_config(ctx, changed)


def _new_run_metrics(ctx: Context, run: Record | None) -> Iterator[Finding]:
    """A run added or changed since REF states in run.yaml the metrics its own files hold
    (TFC0003-E011): a number edited by hand in a new run passed the gate, and the pull request's
    report showed it as the run's result. Judged only for what the change adds, where a few runs
    are read; a full check reads the files of the runs behind model versions only (TFC0004-E005)."""
    if run is None or run.kind != "run" or not isinstance(run.data, dict):
        return
    check = check_metrics(ctx, run)
    if check.disagree is not None:
        yield Finding(
            NEW_RUN_METRICS,
            run.meta,
            check.disagree,
            f"restore the metrics the run wrote (`{run.meta}` as `strataml run` made it): a run's metrics are "
            "what it wrote; to change a result, run the experiment again",
            run.line("metrics"),
        )
    elif check.unchecked is not None:
        # (A gate that cannot read the numbers says so, never passes them unread.)
        yield Finding(
            NEW_RUN_UNCHECKED,
            run.meta,
            f"its metrics were not checked against a file the run wrote: {check.unchecked}",
            check.fix,
            run.line("metrics"),
        )


def _is_signature(record: Record | None, path: str) -> bool:
    """A signature file of the record (of a record now gone: any `*.asc`)."""
    return record.is_signature_file(path) if record is not None else path.endswith(SIGNATURE_SUFFIX)


def _terminal(raw: bytes | None) -> bool:
    if raw is None:
        return False
    data = load_bytes(raw).data
    return isinstance(data, dict) and data.get("status") in TERMINAL


def _attributes(ctx: Context, changed: set[str]) -> Iterator[Finding]:
    for path in attributes(changed):
        yield Finding(
            ATTRIBUTES_CHANGED,
            path,
            f"{path} changed since {ctx.options.since}: what a checkout holds for committed files "
            "(line endings, encodings, Git LFS routing) may change with it, so every record was checked",
            "review the change to the attributes on its own; merge it separately from data changes",
        )


def _lfs_config(ctx: Context, changed: set[str]) -> Iterator[Finding]:
    for path in sorted(p for p in changed if gitfacts.git_control(p.rsplit("/", 1)[-1]) == gitfacts.LFSCONFIG):
        yield Finding(
            LFS_CONFIG_CHANGED,
            path,
            f"{path} changed since {ctx.options.since}: it says where every clone fetches and pushes Git LFS "
            "content (new datasets and models included)",
            "review the LFS endpoint on its own (`git config -f .lfsconfig --list`); merge it separately",
        )


def _placeholder(ctx: Context, path: str) -> bool:
    """An empty .gitkeep (what `strataml init` leaves in tfc/keys/), or one gone: trust reads
    only the manifest and the files it pins, and no pin can name it (a key file's name ends in
    .asc or .pem, strataml/keys/v1), so its coming or going changes nobody's right to sign.
    (A .gitkeep with content is still reported: a change to tfc/keys/ nobody expects.)"""
    if path.rpartition("/")[2] != ".gitkeep":
        return False
    entry = ctx.workspace.entries.get(path)
    if entry is None:
        try:
            return os.lstat(ctx.workspace.abspath(path)).st_size == 0
        except OSError:
            return True  # (gone)
    return entry.kind == "file" and entry.size == 0


def _trust(ctx: Context, changed: set[str]) -> Iterator[Finding]:
    keys = sorted(p for p in changed if p.startswith("tfc/keys/") and not _placeholder(ctx, p))
    for path in keys:
        yield Finding(
            TRUST_CHANGED,
            path,
            f"a trusted key file changed since {ctx.options.since}",
            "review who gains or loses the right to sign; it takes effect once merged",
        )
    config = ctx.workspace.config
    unknown = not isinstance(config.data, dict) and (config.data is not None or bool(config.problems))
    if CONFIG in changed and unknown:
        # What it says is not known: neither "every setting changed" nor "signing changed" is true.
        yield Finding(
            POLICY_CHANGED,
            CONFIG,
            f"strataml.yaml changed since {ctx.options.since} and does not load as a mapping, so what its policy "
            f"would be is not known; this run judges by the policy at {ctx.options.since}",
            "fix strataml.yaml (its own finding says where), then review the policy change on its own",
        )
    elif CONFIG in changed:
        new = config.data if isinstance(config.data, dict) else {}
        old = ctx.since_config()
        old = old if isinstance(old, dict) else {}
        if new.get("signing") != old.get("signing"):
            yield Finding(
                TRUST_CHANGED,
                CONFIG,
                f"signing keys or policy changed since {ctx.options.since}",
                "review the change to `signing:`; it takes effect once merged",
            )
        # x- fields carry a team's own data and no policy (TFC-0001 section 0): not a policy change.
        moved = sorted(
            k
            for k in {*new, *old}
            if k not in NOT_POLICY and not (isinstance(k, str) and k.startswith("x-")) and new.get(k) != old.get(k)
        )
        if moved and not old:  # (REF holds no strataml.yaml: the change that adds the workspace)
            yield Finding(
                POLICY_CHANGED,
                CONFIG,
                f"strataml.yaml is new since {ctx.options.since}: this run judges by the default policy, "
                "this file's takes effect once merged",
                "review the policy on its own: `--strict` fails on this warning until the base holds the file",
            )
        elif moved:
            yield Finding(
                POLICY_CHANGED,
                CONFIG,
                f"the doctor's policy changed since {ctx.options.since} ({', '.join(f'`{k}:`' for k in moved)}); "
                f"this run judges by the policy at {ctx.options.since}",
                "review the policy change on its own; it takes effect once merged",
            )
