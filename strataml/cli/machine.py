"""What the machine must allow before any command runs: files it creates readable by their
owner, and enough of them open at once. Either lacking, every command failed in ways that
blamed the workspace: gpg reported good signatures as "not an OpenPGP signature" (its own
keyring unreadable under umask 0777), the doctor reported files as unreadable ("Too many open
files", with the hint to fix their permissions), and commands that act refused over those
"errors". Said once, as what it is, with exit 3."""

from __future__ import annotations

import re

from strataml.errors import StrataError

MIN_OPEN_FILES = 32  # the doctor's helpers, git's pipes and the files read at once, with room
WANTED_OPEN_FILES = 4096  # raised to (within the hard limit) when the soft limit is lower


def check() -> None:
    """Raise StrataError when the umask or the open-file limit would make commands fail as if the
    workspace were broken; raise the soft open-file limit where it is low and the hard one allows."""
    mask = _umask()
    if mask is not None and mask & 0o700:
        raise StrataError(
            f"the umask is {mask:04o}: every file and folder created now denies its owner reading, writing or "
            "entering it, so gpg's keyrings, the cache and new records would be out of reach (good signatures "
            "would read as broken)",
            "set a usual umask first, e.g. `umask 022` (or 077 to keep files private)",
        )
    try:
        import resource
    except ImportError:  # (no such limit to check: Windows)
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < WANTED_OPEN_FILES:
        target = WANTED_OPEN_FILES if hard == resource.RLIM_INFINITY else min(hard, WANTED_OPEN_FILES)
        if target > soft:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
                soft = target
            except (ValueError, OSError):
                pass
    if soft != resource.RLIM_INFINITY and soft < MIN_OPEN_FILES:
        raise StrataError(
            f"only {soft} files may be open at once (`ulimit -n`, its hard limit here): checking a workspace "
            f"needs at least {MIN_OPEN_FILES}, or files would read as unreadable",
            "only an administrator can raise a hard limit: LimitNOFILE in a systemd unit, nofile in "
            "/etc/security/limits.conf, `docker run --ulimit nofile=1024:1024`",
        )


def _umask() -> int | None:
    """This process's umask as Linux reports it (reading it elsewhere means setting it, which
    another thread could meet halfway); None where that report does not exist."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            found = re.search(r"^Umask:\s*([0-7]+)$", status.read(), re.MULTILINE)
    except OSError:
        return None
    return int(found.group(1), 8) if found else None
