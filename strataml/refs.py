"""Reference syntax (TFC-0001): `dataset:NAME@VERSION`, `model:NAME@VERSION`, `run:ID`, `experiment:NAME`."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

NAME_PATTERN = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?"
VERSION_PATTERN = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,30}[A-Za-z0-9])?"
RUN_ID_PATTERN = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9])?"

# Matched whole with fullmatch: `^...$` with match() accepts a final newline ("iris\n").
_NAME = re.compile(NAME_PATTERN)
_VERSION = re.compile(VERSION_PATTERN)
_RUN_ID = re.compile(RUN_ID_PATTERN)
_REF = re.compile(r"(?P<kind>dataset|model|run|experiment):(?P<name>[^@\s]+)(?:@(?P<version>[^@\s]+))?")

VERSIONED_KINDS = ("dataset", "model")
KINDS = ("dataset", "experiment", "run", "model")


@dataclass(frozen=True, order=True)
class Ref:
    kind: str
    name: str
    version: str | None = None

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}" + (f"@{self.version}" if self.version is not None else "")

    @property
    def folded(self) -> str:
        """The form two refs collide under on case-insensitive or normalising filesystems."""
        return fold(str(self))


class RefError(ValueError):
    """A string that is not a valid reference; the message says why."""


def fold(text: str) -> str:
    if text.isascii():
        return text.lower()  # the same result for ASCII, without two normalisation passes
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def valid_name(name: str) -> bool:
    return bool(_NAME.fullmatch(name)) and ".." not in name


def valid_version(version: str) -> bool:
    return bool(_VERSION.fullmatch(version)) and ".." not in version


def valid_run_id(run_id: str) -> bool:
    return bool(_RUN_ID.fullmatch(run_id)) and ".." not in run_id


def parse_ref(text: str) -> Ref:
    """Parse a ref, raising RefError with a message that says what is wrong."""
    if not isinstance(text, str):
        raise RefError(f"a ref must be a string, not {type(text).__name__}")
    m = _REF.fullmatch(text)
    if not m:
        raise RefError(
            f"{text!r} is not a ref; expected e.g. dataset:iris@1, model:NAME@VERSION, run:ID or experiment:NAME"
        )
    kind, name, version = m["kind"], m["name"], m["version"]
    if kind in VERSIONED_KINDS and version is None:
        raise RefError(f"{text!r} needs a version: {kind}:{name}@VERSION")
    if kind not in VERSIONED_KINDS and version is not None:
        raise RefError(f"{text!r}: {kind} refs have no @version")
    ok_name = valid_run_id(name) if kind == "run" else valid_name(name)
    if not ok_name:
        raise RefError(f"{text!r}: {name!r} is not a valid {kind} name")
    if version is not None and not valid_version(version):
        raise RefError(f"{text!r}: {version!r} is not a valid version")
    return Ref(kind, name, version)


def closest(text: str, candidates: list[str], n: int = 3) -> list[str]:
    """The refs among `candidates` closest to `text`, for "did you mean" hints: by spelling, or,
    for a mistyped kind or version, by the name alone."""
    import difflib

    close = difflib.get_close_matches(text, candidates, n=n, cutoff=0.6)
    if not close:
        name = text.split(":", 1)[-1].split("@", 1)[0]
        close = sorted(c for c in candidates if name and c.split(":", 1)[-1].split("@", 1)[0] == name)[:n]
    return close
