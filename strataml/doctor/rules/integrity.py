"""TFC-0006: every recorded file is present, safe and unchanged; every file is recorded."""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from strataml import lfs
from strataml.controls import shown
from strataml.doctor.engine import Context
from strataml.doctor.finding import Finding, about_pinned
from strataml.hashing import sha256_file
from strataml.paths import git_reads, unsafe
from strataml.records import FileEntry, Record
from strataml.workspace import OPAQUE, Entry

if TYPE_CHECKING:
    from strataml.gitfacts import GitFacts

MISSING = "TFC0006-E001"
CHECKSUM = "TFC0006-E002"
SIZE = "TFC0006-E003"
UNSAFE_PATH = "TFC0006-E004"
ESCAPING_LINK = "TFC0006-E005"
SPECIAL = "TFC0006-E006"
UNRECORDED = "TFC0006-W001"

_NOT_FILES = ("dir", *OPAQUE)


LFS_MISMATCH = "TFC0006-E010"
LFS_MALFORMED = "TFC0006-E011"
LFS_NONCANONICAL = "TFC0006-W010"
LFS_BY_POINTER = "TFC0006-I010"
LFS_CONTENT_REQUIRED = "TFC0006-E012"


def check(ctx: Context) -> Iterator[Finding]:
    pending: list[tuple[Record, FileEntry, str]] = []
    loose: list[tuple[Record, str]] = []  # files in a record folder that its record does not pin
    entries = ctx.workspace.entries
    for record in ctx.records():
        if record.folder is None:
            continue
        recorded: set[str] = set()
        for entry in record.files:
            problem = unsafe(entry.path)
            if problem:
                yield about_pinned(
                    UNSAFE_PATH,
                    record,
                    entry,
                    problem,
                    "record paths relative to the record folder, with '/' separators and no '..'",
                )
                continue
            read = git_reads(entry.path)
            if read is not None:
                recorded.add(f"{record.folder}/{entry.path}")  # (it is recorded: no TFC0006-W001 as well)
                # (It passed the doctor where it was made and failed every fresh clone, whose
                # checkout had applied it: `* eol=crlf` in a run's .gitattributes.)
                yield about_pinned(
                    UNSAFE_PATH,
                    record,
                    entry,
                    f"is named as git's own files are ('{read}'): git reads it, and every clone's checkout of "
                    "the folder follows it",
                    "record the file under another name in a new version (or leave it out): no record holds "
                    ".gitattributes, .gitignore, .gitmodules, .lfsconfig, .mailmap or .git",
                )
                continue
            rel = sys.intern(f"{record.folder}/{entry.path}")
            recorded.add(rel)
            if entry.sha256 is not None and not entry.checkable:
                # Not "content changed" against a value that is no hash; still an error of this
                # contract's, so that lowering the schema's finding never lets content pass unverified.
                yield Finding(
                    CHECKSUM,
                    rel,
                    f"content not verified: {record.meta} (line {record.line(entry.field, entry.index, 'sha256')}) "
                    f"records '{shown(entry.sha256[:80])}' as its sha256, which is none (64 lowercase hex digits)",
                    f"write the file's sha256 in {record.meta}, or recreate the version (`strataml dataset add` writes it)",
                    None,
                )
                continue
            absent = _absent(ctx, record, rel, entries.get(rel))
            if absent is not None:
                yield absent
            else:
                pending.append((record, entry, rel))
        recorded.update(_also_known(record))
        yield from _unrecorded(ctx, record, recorded, loose)
    yield from _loose(ctx, loose)
    # Content checks last, so every file that needs hashing is hashed in one parallel batch.
    small = {rel for _r, _e, rel in pending if lfs.pointer_sized(ctx.workspace.entries[rel].size)}
    ctx.prefetch([rel for _r, _e, rel in pending if rel not in small])
    for record, entry, rel in pending:
        yield from _verify(ctx, record, entry, rel, rel in small)


def _absent(ctx: Context, record: Record, rel: str, found: Entry | None) -> Finding | None:
    """Why a recorded path (the walk's `found` entry) cannot be read: missing, or not to be
    opened; None when it can be. (A plain function: 10k records ask it 10,000 times, and a
    generator each cost more than the rest of the question.)"""
    if found is None or found.kind == "dir":
        what = "is a folder" if found else "is missing"
        return Finding(
            MISSING,
            rel,
            f"recorded in {record.meta} but {what}",
            "restore the file (git checkout / git lfs pull), or record a new version without it",
        )
    if found.kind in ("symlink", "special"):
        return _unopenable(ctx.workspace.abspath(rel), found)
    return None


def _verify(ctx: Context, record: Record, entry: FileEntry, rel: str, small: bool) -> Iterator[Finding]:
    """A recorded file is either the recorded content or an LFS pointer standing in for it.

    Whether it is a pointer is git-lfs's call (strataml.lfs mirrors its decoder): it reads the
    first 1024 bytes of a file of any size, so a bigger file that differs from the record is
    read as a pointer too before it is called changed content.
    """
    raw = b""
    try:
        if small:
            with open(ctx.workspace.fspath(rel), "rb") as f:
                raw = f.read()
            ctx.remember(rel, hashlib.sha256(raw).hexdigest(), len(raw))
        sha, size = ctx.sha256(rel)
        same = (not entry.sha256 or sha == entry.sha256) and (entry.size is None or size == entry.size)
        if same:
            # The recorded content, unless it is pointer text in a repository: the record then pins
            # the pointer, and a checkout with Git LFS gets the object it names (on a routed path),
            # as does any `git lfs pull` (on any path). Read for that where the path is routed, the
            # change is what is checked (--since), or it was read to be hashed: a warm full run
            # does not open every small file again.
            if (
                size > 0
                and lfs.pointer_sized(size)  # (`git lfs pull` leaves a bigger file alone)
                and ctx.git() is not None
                and (raw or ctx.scope is not None or _routed(ctx, rel))
            ):
                if not raw:
                    with open(ctx.workspace.fspath(rel), "rb") as f:
                        raw = f.read(lfs.MAX_POINTER)
                if lfs.looks_like_pointer(raw):
                    yield from _pointer(ctx, record, entry, rel, raw, size, pinned=True)
            return  # (every file of a clean run)
        # An empty file is empty content to git-lfs too (its "empty pointer"): compared as content.
        if size > 0 and not small:
            with open(ctx.workspace.fspath(rel), "rb") as f:
                raw = f.read(lfs.MAX_POINTER)
    except OSError as exc:
        yield _unreadable(record, rel, exc)
        return
    if size == 0 or not lfs.looks_like_pointer(raw):
        yield from _compare(ctx, record, entry, rel)
        return
    yield from _pointer(ctx, record, entry, rel, raw, size)


def _unreadable(record: Record, rel: str, exc: OSError) -> Finding:
    return Finding(
        MISSING,
        rel,
        f"recorded in {record.meta} but cannot be read: {exc.strerror}",
        "fix the file's permissions so the doctor can verify it",
    )


def _routed(ctx: Context, rel: str) -> bool:
    """Whether .gitattributes routes `rel` through Git LFS (False where no repository says so)."""
    git = ctx.git()
    return git is not None and rel in git.lfs


def _committed_as_text(git: GitFacts | None, rel: str) -> bool:
    """Whether git stages `rel` (a routed path) as text git-lfs rejects as a pointer, not behind
    the pointer the record's content gives (GitFacts reads the blobs of routed paths that differ)."""
    raw = git.small_blobs.get(rel) if git is not None else None
    if raw is None:
        return False
    try:
        lfs.parse(raw)
    except lfs.MalformedPointer:
        return True
    return False


def _pointer(
    ctx: Context, record: Record, entry: FileEntry, rel: str, raw: bytes, length: int, *, pinned: bool = False
) -> Iterator[Finding]:
    """A pointer standing in for the recorded content; `pinned`: the record pins the pointer text itself."""
    ctx.volatile = True
    git = ctx.git()
    if not pinned and git is not None and rel not in git.lfs:
        # git-lfs smudges only what .gitattributes routes to it: pointer text anywhere else is the
        # file's content for good, and it is not the recorded content. (Without git facts the
        # routing is unknown, so a matching pointer still stands in for the content.)
        yield from _compare(ctx, record, entry, rel, unrouted=True)
        return
    try:
        pointer = lfs.parse(raw, length)
    except lfs.MalformedPointer as exc:
        if pinned and not (_routed(ctx, rel) and _committed_as_text(git, rel)):
            # (no pointer to git-lfs either: it checks the text out as it is, the recorded content;
            # on a routed path `git add` stores it behind a pointer, as content like any other)
            return
        if pinned:
            # Recorded as content, but committed as it is on a routed path, where a pointer MUST
            # stand (TFC0006-E013): `git lfs fsck` calls the blob an unexpected git object.
            yield Finding(
                LFS_MALFORMED,
                rel,
                f"{record.meta} records this text as the file's content, but .gitattributes routes the path "
                f"through Git LFS, and git-lfs rejects it as a pointer: {exc}",
                "commit the real content through Git LFS (`git lfs track` and `git add`), or, if the text is "
                "the content, route the path out of Git LFS in .gitattributes",
            )
            return
        yield Finding(
            LFS_MALFORMED,
            rel,
            f"looks like a Git LFS pointer but git-lfs rejects it: {exc}",
            "re-add the file with `git lfs track` and `git add` (or `git lfs pull` to restore it)",
        )
        return
    if not pointer.canonical:
        yield Finding(
            LFS_NONCANONICAL,
            rel,
            f"Git LFS pointer is not canonical: {pointer.why_not}",
            "re-add the file with a current git-lfs so the pointer is written canonically",
        )
    if pointer.extensions:
        # Under an extension the oid names the object as stored, not what a checkout yields
        # (which git-lfs makes by running the extension's program): it vouches for no content.
        names = ", ".join(f"ext-{e.priority}-{e.name}" for e in pointer.extensions)
        yield Finding(
            LFS_MISMATCH,
            rel,
            f"the Git LFS pointer names extensions ({names}): its oid is the object as stored, not the content "
            f"a checkout yields, so it cannot stand for what {record.meta} records",
            "re-add the file without git-lfs extensions (`git lfs track` with no `lfs.extension.*` configured), "
            "or record a new version",
        )
        return
    if pinned:
        routed = _routed(ctx, rel)
        yield Finding(
            LFS_MISMATCH,
            rel,
            f"{record.meta} records this Git LFS pointer's own text, but "
            + (
                ".gitattributes routes the path through Git LFS: every checkout with Git LFS gets"
                if routed
                else "`git lfs pull` writes over pointer text wherever it stands: a checkout that runs it gets"
            )
            + f" the object it names ({pointer.oid[:16]}, {pointer.size:,} bytes) instead",
            "record the content the pointer stands for (`git lfs pull`, then add it as a new version), or "
            "commit the file outside Git LFS",
        )
        return
    if pointer.oid != entry.sha256 or pointer.size != entry.size:
        yield Finding(
            LFS_MISMATCH,
            rel,
            f"LFS pointer names {pointer.oid[:16]} ({pointer.size:,} bytes) but {record.meta} records "
            f"{(entry.sha256 or '?')[:16]} ({entry.size if entry.size is not None else '?'} bytes)",
            "restore the recorded file, or record a new version",
            None,
        )
        return
    obj = lfs.object_path(git.lfs_objects, pointer.oid) if git else None
    if obj is not None and obj.is_file():
        sha, size = sha256_file(obj)
        if sha == pointer.oid and size != pointer.size:
            # (the object is what its name says: the size the pointer and the record give is wrong)
            yield Finding(
                SIZE,
                rel,
                f"the local Git LFS object holds the recorded content (sha256 {sha[:16]}) in {size:,} bytes, "
                f"but the pointer and {record.meta} say {pointer.size:,}",
                "record a new version with the file's real size (`strataml dataset add` measures it); the "
                "pointer was written by hand or by a broken tool: re-add the file with `git add`",
            )
        elif sha != pointer.oid:
            yield Finding(
                CHECKSUM,
                rel,
                f"the local Git LFS object for this file is corrupt (hashes to {sha[:16]})",
                f"delete {obj} and run `git lfs pull` to fetch it again",
            )
        return
    if ctx.options.require_content:
        yield Finding(
            LFS_CONTENT_REQUIRED,
            rel,
            "only the Git LFS pointer is present (--require-content asks for the content)",
            "run `git lfs pull` before the doctor",
        )
    else:
        yield Finding(
            LFS_BY_POINTER,
            rel,
            "verified by its Git LFS pointer (oid and size match the record); content not present",
            "nothing to fix; `git lfs pull` fetches the content, --require-content demands it",
        )


UNROUTED = (
    "it holds Git LFS pointer text, but .gitattributes does not route this path through Git LFS, so a "
    "checkout never replaces it (`git lfs pull` writes the object over it, which is not the recorded content)"
)
UNROUTED_HINT = "route the path through Git LFS (`git lfs track PATTERN`, then `git add --renormalize` it) or commit the real content"


def _compare(ctx: Context, record: Record, entry: FileEntry, rel: str, *, unrouted: bool = False) -> Iterator[Finding]:
    """The file against its record; `unrouted`: it is pointer text git-lfs will not replace."""
    try:
        sha, size = ctx.sha256(rel)
    except OSError as exc:
        yield _unreadable(record, rel, exc)
        return
    fix = "restore the recorded content, or record a new version (recorded versions are immutable)"
    if entry.size is not None and size != entry.size:
        yield Finding(
            SIZE,
            rel,
            f"size is {size:,} bytes but {record.meta} records {entry.size:,}: "
            + (UNROUTED if unrouted else "the content changed"),
            UNROUTED_HINT if unrouted else fix,
            None,
        )
        return
    if entry.sha256 and sha != entry.sha256:
        line = record.line(entry.field, entry.index, "sha256")
        # Both whole: two values that differ after their first 16 characters must not read alike.
        yield Finding(
            CHECKSUM,
            rel,
            f"content changed: sha256 is {sha}, {record.meta} (line {line}) records {entry.sha256}"
            + (f": {UNROUTED}" if unrouted else ""),
            UNROUTED_HINT
            if unrouted
            else f"{fix}; if the file is right and the record's sha256 was edited, restore {record.meta} "
            f"(`git checkout -- {record.meta}`)",
            None,
        )


def _unopenable(path: os.PathLike[str] | str, entry: Entry) -> Finding | None:
    """A finding for a path that must never be opened: escaping links and special files."""
    if entry.kind == "symlink" and entry.escapes:
        return Finding(
            ESCAPING_LINK,
            entry.path,
            f"symlink to '{entry.link_target}' escapes its record folder (or points nowhere)",
            "replace the link with the file itself (large files belong in Git LFS)",
        )
    if entry.kind == "special":
        return Finding(
            SPECIAL,
            entry.path,
            "not a regular file (FIFO, socket or device); it was not opened",
            "remove it: records hold regular files only",
        )
    if entry.kind == "symlink":
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                return Finding(
                    SPECIAL,
                    entry.path,
                    f"symlink to '{entry.link_target}' does not lead to a regular file; it was not opened",
                    "remove it: records hold regular files only",
                )
        except OSError:
            return Finding(
                ESCAPING_LINK,
                entry.path,
                f"symlink to '{entry.link_target}' points nowhere",
                "remove the link or restore its target",
            )
    return None


def _also_known(record: Record) -> set[str]:
    """Files a record folder may hold beyond what it pins: its metadata and gate receipt.

    Signature files (`*.asc` that are not recorded) are the signatures rule's to judge.
    """
    known = {record.meta}
    gate = record.data.get("gate")
    if (
        record.kind == "model"
        and isinstance(gate, dict)
        and isinstance(gate.get("file"), str)
        and not unsafe(gate["file"])
    ):
        known.add(f"{record.folder}/{gate['file']}")
    return known


def _unrecorded(ctx: Context, record: Record, recorded: set[str], loose: list[tuple[Record, str]]) -> Iterator[Finding]:
    """What is wrong with the files in `record`'s folder it does not pin; those that are only
    that are added to `loose` (_loose() says how to fix each, by whether git tracks it)."""
    ws = ctx.workspace
    for entry in ws.under(record.folder or ""):
        # Folders hold nothing to record; the layout rules report what the walk did not enter.
        if entry.kind in _NOT_FILES or entry.path in recorded or record.is_signature_file(entry.path):
            continue
        bad = _unopenable(ws.abspath(entry.path), entry)
        if bad:
            yield bad
            continue
        if not isinstance(record.loaded.data, dict):
            # Still a finding: a file added beside a metadata file that was already broken (its
            # error baselined) must not pass unseen. But what it records is not known: said so.
            yield Finding(
                UNRECORDED,
                entry.path,
                f"file is in {record.folder}/, and {record.meta} did not load, so nothing shows that it records it",
                f"fix {record.meta} first (its own error says how); then this file is recorded or reported",
            )
            continue
        loose.append((record, entry.path))


def _loose(ctx: Context, loose: list[tuple[Record, str]]) -> Iterator[Finding]:
    """A file its record folder holds and its record does not pin: moved out, unless committed
    with the record (then it stays, and the gate is passed otherwise). Whether git tracks each is
    read from the index listing git's facts hold; without them (no repository, --no-git), the
    fix that holds either way."""
    if not loose:
        return
    facts = ctx.git()
    untracked = {rel for _r, rel in loose}.difference(facts.indexed) if facts is not None else set()
    for record, rel in loose:
        yield Finding(
            UNRECORDED,
            rel,
            f"file is in {record.folder}/ but {record.meta} does not record it",
            # (Never committed: none of what removing a committed file sets off applies.)
            "move it out of the folder (a record folder holds exactly what its record pins); git does not track it"
            if rel in untracked
            else _unrecorded_fix(record.kind),
        )


# A committed record stays as it was reviewed: removing a file committed with it changes it as much
# as adding one did (the kind's E010 with --since), so that fix is not offered for such a file. The
# baseline that lets the gate pass meanwhile is the base branch's (a pull request's own edit of it
# does not count), and --write-baseline never adds to one.
_COMMITTED = {
    "dataset": ("the version", "TFC0002-E010", "record it in a new version; "),
    "run": ("a finished run", "TFC0003-E010", ""),
    "model": ("the version", "TFC0004-E010", "register a new version; "),
}


def _unrecorded_fix(kind: str) -> str:
    what, code, step = _COMMITTED.get(kind, _COMMITTED["dataset"])
    return (
        f"move it out (a record folder holds exactly what its record pins); a file committed with {what} stays "
        f"(removing it is {code} with --since): {step}to let the gate pass, write the baseline anew on the base "
        "branch (delete it, then `strataml doctor --write-baseline FILE`, which adopts every finding there: "
        "it never adds to one)"
    )
