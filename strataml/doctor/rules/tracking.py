"""TFC-0006 (Git side) and TFC0001-W006: what git stores for recorded files, metadata and .strataml, from one git pass."""

from __future__ import annotations

import os
import shlex
import stat
from collections.abc import Iterator

from strataml import lfs
from strataml.doctor.engine import Context
from strataml.doctor.finding import Finding
from strataml.doctor.rules.layout import NESTED_REPOSITORY
from strataml.gitfacts import LOCAL, GitFacts
from strataml.rootdir import CONFIG, KEYS_MANIFEST, MANAGED
from strataml.words import listed
from strataml.workspace import REPOSITORY, record_folder

UNEXPECTED_GIT_OBJECT = "TFC0006-E013"
LARGE_NOT_LFS = "TFC0006-W011"
METADATA_UNTRACKED = "TFC0006-W012"
RECORDED_UNTRACKED = "TFC0006-W014"
LOCAL_STATE_COMMITTED = "TFC0001-W006"


def check(ctx: Context) -> Iterator[Finding]:
    git = ctx.git()
    if git is None:
        return
    yield from _submodules(ctx, git)
    yield from _local_state(git)
    config = ctx.config_in_force()
    threshold = lfs.threshold(config)
    entries = ctx.workspace.entries
    for path in ctx.side_files():
        found = entries.get(path)
        if path not in git.tracked and found is not None and found.kind == "file":
            what = "lifecycle ledger" if path in ctx.workspace.ledgers else "signature"
            yield Finding(
                METADATA_UNTRACKED,
                path,
                f"{what} is not tracked by git (new and not added, or ignored): it exists on this machine only, "
                "and a clone of the commit lacks it",
                f"`git add {_top(git.prefix + path)}`, or fix the .gitignore pattern that hides it",
            )
    yield from _receipts(ctx, git)
    yield from _trust_files(ctx, git)
    unrouted: set[str] = set()  # recorded files git tracks off Git LFS: checked against HEAD below
    for record in ctx.records():
        committed = record.meta in git.tracked
        if not committed:
            yield Finding(
                METADATA_UNTRACKED,
                record.meta,
                "record metadata is not tracked by git (new and not added, or ignored)",
                # The folder, not the metadata alone: its files are the record's too (else W014 each).
                f"`git add {_top(git.prefix + (record.folder or record.meta))}`, or fix the .gitignore pattern "
                "that hides it",
            )
        if record.folder is None:
            continue
        for entry in record.files:
            rel = f"{record.folder}/{entry.path}"
            # (An untracked record is W012's alone; a file that is not here is the integrity rule's.)
            if (
                committed
                and rel not in git.tracked
                and (found := entries.get(rel)) is not None
                and found.kind in ("file", "symlink")  # (a recorded link stands for its file: TFC-0006 §1)
            ):
                quoted = _top(git.prefix + rel)
                yield Finding(
                    RECORDED_UNTRACKED,
                    rel,
                    f"recorded in {record.meta}, which git tracks, but git does not track this file "
                    "(new and not added, or ignored): a clone of the commit lacks it",
                    f"`git add {quoted}` (`git add -f` past an ignore pattern; `git check-ignore -v {quoted}` names it)",
                )
            if rel in git.tracked and rel not in git.lfs:
                unrouted.add(rel)
            if rel in git.lfs and rel in git.blobs:  # routed through LFS, and not the expected pointer
                blob_size = git.blobs[rel][1]
                # Only blobs under 1024 bytes are read: `git lfs fetch`, `pull` and `ls-files` never
                # take a bigger blob for a pointer. A small one is a pointer if git-lfs decodes it (or
                # it is a broken one, which the integrity rule reports on the checked-out file).
                raw = git.small_blobs.get(rel)
                is_pointer = raw is not None and lfs.looks_like_pointer(raw)
                if not is_pointer:
                    quoted = _top(git.prefix + rel)
                    pattern = shlex.quote(lfs.include_patterns([git.prefix + rel])[0])
                    yield Finding(
                        UNEXPECTED_GIT_OBJECT,
                        rel,
                        f".gitattributes routes this file through Git LFS but git stores the content "
                        f"itself ({blob_size:,} bytes), not a pointer",
                        f"`git lfs install --local && git rm --cached {quoted} && git add {quoted}` "
                        "(git's LFS filter must be set up in this clone for the add to store a pointer), or "
                        f"`git lfs migrate import --include={pattern}` to rewrite history",
                    )
            elif (
                isinstance(threshold, int) and entry.size is not None and entry.size > threshold and rel not in git.lfs
            ):
                # This file's own pattern: a wide one ('*.csv') would also route the files of that
                # kind committed before, each then TFC0006-E013 until re-added.
                # (--filename: the name as it is, never read as a glob: `d [v1].csv` too.)
                pattern = "--filename " + shlex.quote("/" + git.prefix + rel)
                quoted = _top(git.prefix + rel)
                yield Finding(
                    LARGE_NOT_LFS,
                    rel,
                    f"{entry.size:,} bytes, above lfs.threshold_bytes ({threshold:,}), but not routed through Git LFS",
                    f"from the repository's top: `git lfs track {pattern} && git rm -q --cached {quoted} && "
                    f"git add .gitattributes {quoted}` (this file only: a pattern such as "
                    f"'*{_suffix(entry.path)}' would also route the files of that kind committed before)",
                )
    # StrataML's own files (metadata, signatures, ledgers, policy, keys) are read as text by every
    # checker: routed through LFS, a clone that skips LFS content (CI's GIT_LFS_SKIP_SMUDGE)
    # reads pointer text, and content on a routed path is the clause above broken anyway.
    # (Sets only where LFS routes anything: a full run of 10k records would build them for nothing.)
    routed = git.lfs & git.tracked
    own = (
        ({r.meta for r in ctx.records()} | set(ctx.side_files()) | set(ctx.trust_files()) | set(ctx.receipts()))
        & routed
        if routed
        else set()
    )
    if own:  # (a data file a record pins is data, whatever its name: `image.sig` is no signature)
        own -= {f"{r.folder}/{e.path}" for r in ctx.records() if r.folder for e in r.files}
    for rel in sorted(own):
        yield Finding(
            UNEXPECTED_GIT_OBJECT,
            rel,
            ".gitattributes routes this file through Git LFS, but it is StrataML's own (metadata, a gate receipt, a "
            "signature, a ledger, the policy or a key), read as text by every checker: a clone that skips LFS "
            "content reads pointer text instead",
            "narrow the .gitattributes pattern that matches it, so that only recorded data files go through Git "
            f"LFS (from the repository's top, `git check-attr filter -- {shlex.quote(git.prefix + rel)}` says "
            f"whether it still does), then `git add --renormalize -- {_top(git.prefix + rel)}` and commit: a "
            "commit made while it was routed may hold its pointer text",
        )
    for rel in sorted(git.pointers_at_head(unrouted)):
        quoted = _top(git.prefix + rel)
        yield Finding(
            UNEXPECTED_GIT_OBJECT,
            rel,
            "git commits Git LFS pointer text for this file, but .gitattributes does not route it through Git "
            "LFS: a clone checks out the pointer text, while this checkout holds other bytes (`git lfs pull` "
            "writes the content over pointers on unrouted paths, and stages it)",
            f"commit the content itself (`git add {quoted}` and commit), or route the path through Git LFS "
            "(`git lfs track`) and commit it again",
        )


_TRUST_FILE = {
    CONFIG: "the workspace's configuration (its rules and signing policy)",
    KEYS_MANIFEST: "the key manifest",
}


def _trust_files(ctx: Context, git: GitFacts) -> Iterator[Finding]:
    """strataml.yaml, the key manifest and the pinned key files, there and untracked: signatures
    and promotions pass here on keys and a policy that no clone of the commit holds (CI then
    fails on what passed here, or judges by other rules)."""
    root = ctx.workspace.root
    for path in ctx.trust_files():
        if path in git.tracked:
            continue
        try:
            there = stat.S_ISREG(os.lstat(os.path.join(root, path)).st_mode)
        except OSError:
            there = False  # (a file that is not there is the signature rules' finding)
        if there:
            what = _TRUST_FILE.get(path, "a pinned key")
            yield Finding(
                METADATA_UNTRACKED,
                path,
                f"{what} is not tracked by git (new and not added, or ignored): records, signatures and promotions "
                "are judged by it on this machine only, and a clone of the commit lacks it",
                f"`git add {_top(git.prefix + path)}`, or fix the .gitignore pattern that hides it",
            )


def _local_state(git: GitFacts) -> Iterator[Finding]:
    """.strataml/ committed: every checkout of the commit writes its files over a reviewer's own
    cache and index (which a checkout then rebuilds, never trusts), and committed as a file or a
    symlink it stops every reader and every doctor that keeps a cache."""
    if git.local:
        tracked = sorted(git.local)
        # (the spelling git tracks: on a case-sensitive disk `git rm :/.strataml` finds no .Strataml)
        spelt = " ".join(_top(git.prefix + name) for name in sorted({path.split("/", 1)[0] for path in tracked}))
        yield Finding(
            LOCAL_STATE_COMMITTED,
            LOCAL,
            f"git tracks {listed(tracked, 3)}: {LOCAL} is where StrataML keeps this machine's cache and index; each "
            "checkout of the commit writes them over a reviewer's own, and a .strataml that is a file or a symlink "
            "stops every reader",
            f"`git rm -r --cached {spelt}`, and add `{LOCAL}/` to .gitignore (`strataml init` writes it there)",
        )


def _receipts(ctx: Context, git: GitFacts) -> Iterator[Finding]:
    """A gate receipt git does not track beside a model.yaml it does: the version passes here and
    every clone lacks its receipt (TFC0004-E002). (An untracked model.yaml is W012's already, its
    folder's `git add` hint taking the receipt with it.)"""
    entries = ctx.workspace.entries
    for path in ctx.receipts():
        found = entries.get(path)
        if path in git.tracked or found is None or found.kind != "file":
            continue
        if f"{record_folder(path)}/model.yaml" not in git.tracked:
            continue
        yield Finding(
            METADATA_UNTRACKED,
            path,
            "gate receipt is not tracked by git (new and not added, or ignored): a clone of the commit lacks it, "
            "and the model version there has no receipt",
            f"`git add {_top(git.prefix + path)}`, or fix the .gitignore pattern that hides it",
        )


def _top(path: str) -> str:
    """`path` (from the repository's top) for a git command typed anywhere in the repository: the
    `:/` pathspec (`:(top,literal)` when the name holds a glob character git would expand),
    quoted for the shell (a name with a space or a quote stays one word)."""
    return shlex.quote((":(top,literal)" if any(c in "*?[\\" for c in path) else ":/") + path)


def _suffix(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name[name.rfind(".") :] if "." in name else name


def _submodules(ctx: Context, git: GitFacts) -> Iterator[Finding]:
    """A submodule in a managed folder, as git's index holds it: checked out or not (a clone
    leaves its folder empty), git carries none of its files. One the walk found checked out
    (its `.git`) is the layout rule's finding already.

    A run over some records reports those in their folders; one in no record's folder is the
    shard's that keeps such findings, or a recheck's new run's (doctor.incremental); with --since,
    one the change added or moved."""
    entries = ctx.workspace.entries
    scope: set[str | None] | None = None
    owned: set[str | None] | None = None  # every record's folder (None with --since: a partial workspace)
    if ctx.scope is not None:
        scope = {r.folder for r in ctx.records() if r.folder}
        if not ctx.options.since:
            owned = {r.folder for r in ctx.workspace.records if r.folder}
    for link in sorted(git.gitlinks):
        if link.split("/", 1)[0] not in MANAGED:
            continue
        seen = entries.get(f"{link}/.git")
        if seen is not None and seen.kind == REPOSITORY:
            continue
        if scope is not None and not _this_runs(link, scope, owned, ctx.since_changed):
            continue
        yield Finding(
            NESTED_REPOSITORY,
            link,
            "a submodule inside a managed folder: git keeps a link to a commit of another repository "
            "here and none of its files, so a clone does not have them",
            f"`git rm --cached {git.prefix}{link}` (and drop it from .gitmodules), "
            "then commit the files here, or move the submodule out of the workspace",
        )


def _this_runs(link: str, scope: set[str | None], owned: set[str | None] | None, changed: set[str]) -> bool:
    """Whether a run over `scope` (record folders) reports the submodule at `link`: one in its
    records' folders, one the change named (--since), and (`owned`: every record's folder, in a
    run that is not --since) one in no record's folder."""
    folder = record_folder(link)
    return folder in scope or link in changed or (owned is not None and folder not in owned)
