"""Atomic writes: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Persist a directory entry change (rename, create); a no-op where unsupported."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temp file in the same folder, fsync, rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def publish_dir(staging: Path, final: Path) -> None:
    """Move a fully written staging folder into place; refuse to replace an existing one.

    The staging folder must be on the same filesystem (a sibling), so the rename is atomic.
    """
    for dirpath, _dirs, files in os.walk(staging):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as fh:
                os.fsync(fh.fileno())
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        # os.rename refuses a non-empty target on POSIX, which is what immutability needs.
        os.rename(staging, final)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    fsync_dir(final.parent)


def staging_dir(final: Path) -> Path:
    """A fresh hidden sibling folder of `final` to build a record in before publishing."""
    final.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".staging", dir=final.parent))


def dump_yaml(data: object) -> str:
    """YAML as StrataML writes it: keys in the given order, block style, UTF-8 text."""
    import yaml

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)


def write_yaml(path: Path, data: object) -> None:
    write_text(path, dump_yaml(data))
