"""Writes that stay inside their tree and that a reader sees whole (the old file or the new one).

Every command that writes under a workspace comes here, with the workspace root and a relative
path. A repository can commit symlinks, so each folder on the way is opened relative to the one
before it with O_NOFOLLOW, and the file is created in that open folder: a symlink (a folder on
the way, or the target itself) is refused, never followed out of the tree, and nothing is
checked by path and then opened by path. Files are created 0o666 and folders 0o777, so the
user's umask decides who may read them, as with any other tool.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from strataml.controls import shown
from strataml.errors import StrataError
from strataml.paths import unsafe

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
# What read_bytes() holds at most unless told otherwise: every file it reads is held whole, and
# a repository decides how big its files are.
MAX_READ = 64 * 1024 * 1024
NAME_MAX = 255  # bytes in one file name (Linux, macOS)
_CHUNK = 1024 * 1024


class Refused(StrataError):
    """A path under the tree that a command will not write or read; `where` names it (relative
    to the tree) and `what` says what it is."""

    def __init__(self, message: str, hint: str, where: str, what: str) -> None:
        super().__init__(message, hint)
        self.where = where
        self.what = what


class UnsafePath(Refused):
    """A write (or a read that must be trusted) would pass through a symlink or a non-folder, or
    the path itself leads out of the tree; `what` is "a symlink", "not a folder", "not a regular
    file", or why the path is not inside ("climbs out with '..'", ...)."""


class TooLarge(Refused):
    """A file holds more than the reader was allowed to read (`what` is "too large")."""


def _parts(rel: str | PurePosixPath, action: str = "write") -> list[str]:
    text = str(rel)  # a PurePosixPath prints normalised; a string is taken as it is given
    problem = unsafe(text, portable=False)
    if problem is not None:
        raise UnsafePath(
            f"refusing to {action} '{shown(text)}': the path {problem}",
            "a path under the workspace is relative, with '/' separators and no '..'; "
            "run `strataml doctor` to see which record names it",
            text,
            problem,
        )
    return text.split("/")


# The errors of a disk (or quota) with no room left: whatever file the failing call named, the one
# being written is where there is none.
FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def _named(exc: OSError, rel: str) -> OSError:
    """`exc` again, naming `rel` (the path from the tree's top) instead of the last part the
    call was given: "cannot access index.walk" did not say where."""
    return type(exc)(exc.errno, exc.strerror, rel)


def _lstat(name: str, dir_fd: int) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


@contextmanager
def folder(
    root: Path, rel: str | PurePosixPath, *, create: bool = True, shown: str | None = None, action: str = "write"
) -> Iterator[int]:
    """An fd of the folder `rel` under `root`, opened one component at a time without following
    a symlink; missing folders are created (0o777, umask applied) unless `create` is False
    (then FileNotFoundError). `root` itself is the caller's choice and is followed."""
    shown = shown or str(rel)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        parts = [] if str(rel) in ("", ".") else _parts(rel, action)
        for i, name in enumerate(parts):
            try:
                child = _open_dir(name, fd, shown, parts[: i + 1], action)
            except FileNotFoundError:
                if not create:
                    raise
                try:
                    os.mkdir(name, 0o777, dir_fd=fd)
                except FileExistsError:
                    pass  # made meanwhile: the open says what it is
                except OSError as exc:
                    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                        # What refuses is the folder it would be made in (the workspace's top
                        # for the first part): the one the user can look at and change.
                        where = "/".join(parts[:i]) or "the folder above it"
                        made = "/".join(parts[: i + 1])
                        raise OSError(exc.errno, f"{exc.strerror} (making a folder in {where})", made) from None
                    raise _named(exc, "/".join(parts[: i + 1])) from None
                child = _open_dir(name, fd, shown, parts[: i + 1], action)
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def _open_dir(name: str, parent: int, shown: str, upto: list[str], action: str) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        raise _refuse_dir(shown, upto, _lstat(name, parent), action) from None


def _refuse_dir(shown: str, upto: list[str], st: os.stat_result | None, action: str) -> UnsafePath:
    where = "/".join(upto)
    what = "a symlink" if st is not None and stat.S_ISLNK(st.st_mode) else "not a folder"
    return UnsafePath(
        f"refusing to {action} {shown}: {where} is {what}",
        f"a repository can carry symlinks; make {where} a real folder (or remove it) and run again"
        if what == "a symlink"
        else f"a file, FIFO or device stands where the folder {where} belongs; move it away and run again",
        where,
        what,
    )


def _refuse_file(shown: str, st: os.stat_result, action: str = "write") -> UnsafePath:
    what = "a symlink" if stat.S_ISLNK(st.st_mode) else "not a regular file"
    return UnsafePath(
        f"refusing to {action} {shown}: it is {what}",
        f"a repository can carry symlinks; replace or remove {shown} and run again"
        if what == "a symlink"
        else f"a FIFO, device or folder stands where the file {shown} belongs; move it away and run again",
        shown,
        what,
    )


def _split(rel: str | PurePosixPath, action: str = "write") -> tuple[str, str]:
    parts = _parts(rel, action)
    return "/".join(parts[:-1]), parts[-1]


def write_bytes(root: Path, rel: str | PurePosixPath, data: bytes) -> None:
    """Write `data` to `rel` under `root`: temp file beside it, fsync, rename, fsync the folder."""
    parent, name = _split(rel)
    with folder(root, parent, shown=str(rel)) as fd:
        existing = _lstat(name, fd)
        if existing is not None and not stat.S_ISREG(existing.st_mode):
            raise _refuse_file(str(rel), existing)
        tmp = _temp_name(name)
        try:
            out = os.open(tmp, _NEW_FILE, 0o666, dir_fd=fd)
        except OSError as exc:  # the user named `rel`: never a temp file's name in the error
            raise OSError(exc.errno, f"{exc.strerror} (creating a file in its folder)", str(rel)) from None
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(out, view) :]
                os.fsync(out)
            finally:
                os.close(out)
            os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException as exc:
            try:
                os.unlink(tmp, dir_fd=fd)
            except FileNotFoundError:
                pass
            # (A write or fsync that fails, a full disk, names no file at all.)
            if isinstance(exc, OSError) and exc.filename in (tmp, None):
                raise OSError(exc.errno, exc.strerror, str(rel)) from None
            raise
        _fsync(fd)


def _temp_name(name: str) -> str:
    """A new hidden name beside `name`, within the 255 bytes a file name may have: a name near
    that limit is shortened in the temp name only (`-o` with a 250-byte name was refused)."""
    suffix = f".{os.urandom(4).hex()}.tmp"
    stem = name
    while len(os.fsencode(f".{stem}{suffix}")) > NAME_MAX and stem:
        stem = stem[:-1]
    return f".{stem}{suffix}"


def write_text(root: Path, rel: str | PurePosixPath, text: str) -> None:
    write_bytes(root, rel, text.encode("utf-8"))


def write_yaml(root: Path, rel: str | PurePosixPath, data: object) -> None:
    write_text(root, rel, dump_yaml(data))


def check(root: Path, rel: str | PurePosixPath) -> None:
    """Refuse now what write_bytes(root, rel) would refuse, creating nothing: a command that
    writes several files calls this for each first, so a refusal leaves nothing half-made."""
    parent, name = _split(rel)
    try:
        with folder(root, parent, create=False, shown=str(rel)) as fd:
            existing = _lstat(name, fd)
    except FileNotFoundError:
        return
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        raise _refuse_file(str(rel), existing)


def is_file(root: Path, rel: str | PurePosixPath) -> bool:
    """Whether `rel` under `root` is a regular file reached by the rules of open_file: through
    real folders only, never a symlink (an unsafe path is no file either)."""
    try:
        parent, name = _split(rel, "read")
        with folder(root, parent, create=False, action="read") as fd:
            st = _lstat(name, fd)
    except (OSError, Refused):
        return False
    return st is not None and stat.S_ISREG(st.st_mode)


@contextmanager
def open_file(root: Path, rel: str | PurePosixPath) -> Iterator[BinaryIO]:
    """`rel` under `root` opened for reading by the same rules: never through a symlink, never
    a FIFO or device (FileNotFoundError when it does not exist)."""
    parent, name = _split(rel, "read")
    with folder(root, parent, create=False, shown=str(rel), action="read") as fd:
        try:
            src = os.open(name, _READ_FILE, dir_fd=fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _refuse_file(str(rel), os.stat(name, dir_fd=fd, follow_symlinks=False), "read") from None
            raise
    try:
        st = os.fstat(src)  # (before fdopen, which refuses a folder with a bare IsADirectoryError)
    except BaseException:
        os.close(src)
        raise
    if not stat.S_ISREG(st.st_mode):
        os.close(src)
        raise _refuse_file(str(rel), st, "read")
    with os.fdopen(src, "rb") as fh:
        yield fh


def read_bytes(root: Path, rel: str | PurePosixPath, *, limit: int = MAX_READ) -> bytes | None:
    """The content of `rel` under `root`, read by the rules of open_file (None when it does not
    exist): the one way a command reads a repository file whole. At most `limit` bytes are
    read; a bigger file is TooLarge, never held."""
    try:
        with open_file(root, rel) as fh:
            data = read_upto(fh.fileno(), limit)
    except FileNotFoundError:
        return None
    if data is None:
        raise _too_large(str(rel), limit)
    return data


def read_given(path: Path, what: str, hint: str, *, limit: int = MAX_READ) -> bytes:
    """The content of a file the user named (a key, a shard's report), from anywhere: a StrataError
    naming it when it cannot be read, is not a regular file (a FIFO would block, /dev/zero never
    end) or holds more than `limit` bytes. A symlink is followed: the user chose the path."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise StrataError(f"cannot read {what} {shown(str(path))}: {exc.strerror or exc}", hint) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise StrataError(f"{what} {shown(str(path))} is not a regular file", hint)
        data = read_upto(fd, limit, st.st_size)
    except OSError as exc:
        raise StrataError(f"cannot read {what} {shown(str(path))}: {exc.strerror or exc}", hint) from None
    finally:
        os.close(fd)
    if data is None:
        raise StrataError(f"{what} {shown(str(path))} is larger than {limit:,} bytes", hint)
    return data


def write_all(fd: int, data: bytes) -> None:
    """All of `data` written to the open descriptor `fd` (a write may take less than it is given)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def read_upto(fd: int, limit: int, size: int | None = None) -> bytes | None:
    """The content of the open file `fd`, or None when it holds more than `limit` bytes.

    Reads what fstat says is there (plus one byte, to see it grew), never a `limit`-sized buffer:
    asking for 4 MiB to read a 400-byte file costs an allocation and a release of 4 MiB, a
    third of the time of loading a small record (10,000 records: 0.63 -> 0.43 s). `size`: what
    fstat of `fd` said, when the caller asked it already."""
    if size is None:
        size = os.fstat(fd).st_size
    if size > limit:
        return None
    chunks = []
    total = 0
    want = size + 1
    while total <= limit:
        chunk = os.read(fd, min(want, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        want = 1 << 16  # it grew after fstat (or a read came back short): small steps to the end
    if total > limit:
        return None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large(rel: str, limit: int) -> TooLarge:
    return TooLarge(
        f"refusing to read '{shown(rel)}': it is too large (more than {limit:,} bytes)",
        f"restore {shown(rel)} from Git; a file this big is not what StrataML wrote there",
        rel,
        "too large",
    )


@contextmanager
def create(root: Path, rel: str | PurePosixPath) -> Iterator[BinaryIO]:
    """A new file `rel` under `root`, open for writing: the folders on the way are opened (or
    made) one by one without following a symlink, and the file is created O_EXCL|O_NOFOLLOW, so
    nothing that is already there (a file, a link to one outside) is written through
    (FileExistsError). On an error the partial file is removed."""
    parent, name = _split(rel)
    with folder(root, parent, shown=str(rel)) as fd:
        try:
            out = os.open(name, _NEW_FILE, 0o666, dir_fd=fd)
        except OSError as exc:
            raise _named(exc, str(rel)) from None
        try:
            with os.fdopen(out, "wb") as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException as exc:
            try:
                os.unlink(name, dir_fd=fd)
            except FileNotFoundError:
                pass
            if isinstance(exc, OSError) and exc.errno in FULL:
                # The disk this file is on is full, whichever file the failing call named (a copy
                # names its source): the path named is the one written.
                raise OSError(exc.errno, exc.strerror, str(rel)) from None
            raise


def remove(root: Path, rel: str | PurePosixPath) -> None:
    """Delete `rel` under `root` if it exists (a symlink there is removed, never followed)."""
    parent, name = _split(rel)
    try:
        with folder(root, parent, create=False, shown=str(rel)) as fd:
            try:
                os.unlink(name, dir_fd=fd)
            except OSError as exc:
                raise _named(exc, str(rel)) from None
            _fsync(fd)
    except FileNotFoundError:
        pass


@contextmanager
def locked(root: Path, rel: str | PurePosixPath) -> Iterator[None]:
    """An exclusive lock on the file `rel` under `root`, across processes (released on exit or crash)."""
    import fcntl

    parent, name = _split(rel)
    with folder(root, parent, shown=str(rel)) as fd:
        try:
            # O_NONBLOCK: a FIFO planted here must not hang the command before fstat refuses it.
            lock = os.open(
                name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o666, dir_fd=fd
            )
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _refuse_file(str(rel), os.stat(name, dir_fd=fd, follow_symlinks=False)) from None
            raise _named(exc, str(rel)) from None
    try:
        st = os.fstat(lock)
        if not stat.S_ISREG(st.st_mode):
            raise _refuse_file(str(rel), st)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            # (A wait said nothing: a command behind a long registration looked hung.)
            sys.stderr.write(f"strataml: waiting for another strataml command to finish (it holds {rel})\n")
            sys.stderr.flush()
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield
    finally:
        os.close(lock)  # closing releases the lock


# Staging folders this process builds in -> a descriptor of each, holding the lock that tells
# the doctor a command is still building there (a folder left by a killed one holds none).
_BUILDING: dict[Path, int] = {}


def is_staging(name: str) -> bool:
    """Whether a folder's `name` is one staging_dir() makes (`.NAME.<8 hex>.staging`)."""
    return name.startswith(".") and name.endswith(".staging") and _STAGING.fullmatch(name) is not None


_STAGING = re.compile(r"\..+\.[0-9a-f]{8}\.staging")


def staging_dir(root: Path, rel: str | PurePosixPath) -> Path:
    """A fresh hidden sibling folder of `rel` (0o777, umask applied) to build a record in before
    publish_dir() moves it into place; the folders on the way are confined as for any write.
    It is locked (building() says so) until publish_dir() or discard_staging()."""
    parent, name = _split(rel)
    with folder(root, parent, shown=str(rel)) as fd:
        while True:
            staging = f".{name}.{os.urandom(4).hex()}.staging"
            try:
                os.mkdir(staging, 0o777, dir_fd=fd)
            except FileExistsError:
                continue
            except OSError as exc:
                raise _named(exc, parent or ".") from None
            path = Path(root, parent, staging)
            _hold(path, staging, fd)
            return path


def _hold(path: Path, name: str, parent: int) -> None:
    """Lock the new staging folder `name` (in the folder `parent`) while this process builds in
    it. Where the file system takes no lock, none is held: the doctor then reports the folder as
    one left behind, as it reports every unlocked one."""
    import fcntl

    try:
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
    except OSError:
        return
    try:
        # Waited for: a reader asking building() holds a shared lock for an instant, and giving
        # up then would leave the whole build unlocked.
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:
        os.close(fd)
        return
    _BUILDING[path] = fd


def _forget_in_child() -> None:
    """In a forked child (a plugin's worker): its copies of the locks' descriptors closed. It
    builds no record, and outliving a killed command, its copy would keep the lock held, the
    folder read as still being built. (The parent's own descriptor keeps the lock.)"""
    for fd in _BUILDING.values():
        try:
            os.close(fd)
        except OSError:
            pass
    _BUILDING.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


def release_staging(staging: Path) -> None:
    """The staging folder's lock let go (it was published or removed)."""
    fd = _BUILDING.pop(staging, None)
    if fd is not None:
        os.close(fd)  # closing releases the lock


def discard_staging(staging: Path) -> None:
    """A staging folder given up: removed with what it holds, its lock let go."""
    import shutil

    try:
        shutil.rmtree(staging, ignore_errors=True)
    finally:
        release_staging(staging)


def building(root: Path, rel: str) -> bool:
    """Whether a command is building a record in the staging folder `rel` now: it holds the
    folder's lock (a command killed, or a fresh clone, holds none). Only asked, never taken."""
    import fcntl

    try:
        with folder(root, rel, create=False, action="read") as fd:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(fd, fcntl.LOCK_UN)
    except (OSError, StrataError):
        pass
    return False


def publish_dir(root: Path, staging: Path, rel: str | PurePosixPath) -> None:
    """Move a fully written staging folder (from staging_dir) to `rel`; refuse to replace anything.

    FileExistsError when `rel` exists (another process may have published it meanwhile).
    """
    parent, name = _split(rel)
    if Path(root, parent, staging.name) != staging:
        raise ValueError(f"{staging} is not a staging folder beside {rel}")
    _fsync_tree(staging)
    with folder(root, parent, create=False, shown=str(rel)) as fd:
        existing = _lstat(name, fd)
        if existing is not None and stat.S_ISLNK(existing.st_mode):
            raise _refuse_file(str(rel), existing)
        if existing is not None:
            raise FileExistsError(errno.EEXIST, "already exists", str(rel))
        try:
            os.rename(staging.name, name, src_dir_fd=fd, dst_dir_fd=fd)
        except OSError as exc:
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                raise FileExistsError(errno.EEXIST, "already exists", str(rel)) from None
            raise
        _fsync(fd)
    release_staging(staging)


def _fsync_tree(top: Path) -> None:
    for dirpath, _dirs, files in os.walk(top):
        for name in files:
            try:
                # O_NOFOLLOW|O_NONBLOCK: what a plugin left here is never followed, a FIFO never waited on.
                fd = os.open(os.path.join(dirpath, name), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                os.fsync(fd)
            except OSError:
                pass
            finally:
                os.close(fd)


def _fsync(fd: int) -> None:
    """Persist a directory entry change (rename, create); a no-op where unsupported."""
    try:
        os.fsync(fd)
    except OSError:
        pass


def dump_yaml(data: object) -> str:
    """YAML as StrataML writes it: keys in the given order, block style, UTF-8 text."""
    import yaml

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)
