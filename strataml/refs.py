"""Reference syntax (TFC-0001): `dataset:NAME@VERSION`, `model:NAME@VERSION`, `run:ID`, `experiment:NAME`."""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from strataml.once import once
from strataml.words import listed

NAME_PATTERN = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?"
VERSION_PATTERN = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,30}[A-Za-z0-9])?"
RUN_ID_PATTERN = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9])?"

# Matched whole with fullmatch: `^...$` with match() accepts a final newline ("iris\n").
_NAME = re.compile(NAME_PATTERN)
_VERSION = re.compile(VERSION_PATTERN)
_POST = frozenset({"post", "rev", "r", "patch", "hotfix"})  # words that mark a release after the one they follow
_PARTS = re.compile(r"[0-9]+|[^0-9._-]+")  # a version's numbers and words; . - _ between them only separate
_RUN_ID = re.compile(RUN_ID_PATTERN)
_REF = re.compile(r"(?P<kind>dataset|model|run|experiment):(?P<name>[^@\s]+)(?:@(?P<version>[^@\s]+))?")

VERSIONED_KINDS = ("dataset", "model")
KINDS = ("dataset", "experiment", "run", "model")


# init=False: tens of thousands are made per run (every record's, every reference read), and a
# frozen dataclass's own __init__ sets each field through object.__setattr__, twice the time of
# storing into the instance's dict as the __init__ below does (records, loads and the signature
# rule's targets do the same).
@dataclass(frozen=True, order=True, init=False)
class Ref:
    kind: str
    name: str
    version: str | None = None

    def __init__(self, kind: str, name: str, version: str | None = None) -> None:
        d = self.__dict__
        d["kind"], d["name"], d["version"] = kind, name, version

    def __str__(self) -> str:
        return self.text

    @once
    def text(self) -> str:
        """The ref as written (made once: readers and rules ask for it on every record, often)."""
        return f"{self.kind}:{self.name}" + (f"@{self.version}" if self.version is not None else "")

    @once
    def folded(self) -> str:
        """The form two refs collide under on case-insensitive or normalising filesystems."""
        return fold(self.text)


class RefError(ValueError):
    """A string that is not a valid reference; the message says why."""


# Beyond Unicode's folding, what makes two names one on macOS or Windows: the code points HFS+
# leaves out of a name when it compares two (Apple's TN1150; git's own check for `.git` skips
# the same), and the dotless i that NTFS's upcase table makes an I. (Folding more than a system
# does only finds more names alike.)
# (A search first: str.translate made every non-ASCII name's fold 6x slower, a review measured.)
_IGNORED = re.compile("[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]")


def fold(text: str) -> str:
    """`text` as names are compared where they collide (refs, and file names on macOS and Windows)."""
    if text.isascii():
        return text.lower()  # the same result for ASCII, without two normalisation passes
    if _IGNORED.search(text):
        text = _IGNORED.sub("", text)
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return folded.replace("\u0131", "i") if "\u0131" in folded else folded


# What a valid name, version and run id are, as every refusal of one says it.
_RULE = "use at most {} ASCII letters, digits, '.', '_' and '-', starting and ending with a letter or digit"
NAME_RULE = _RULE.format(64)
VERSION_RULE = _RULE.format(32)
RUN_ID_RULE = _RULE.format(128)


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
    """The refs among `candidates` closest to `text`, for "did you mean" hints. Judged by the
    name, not the whole ref: every ref of a kind shares its `dataset:` and `@1`, which made an
    unrelated name look close (dataset:nosuch@1 -> dataset:odd@1). Refs of the kind asked for
    come first, and only they when one is close (model:iris@1 -> model:iris-classifier@1, not
    dataset:iris@1); then the same name (another version) first, then names spelled like it; a
    run id is its name."""
    from strataml.spelling import nearest

    def name_of(ref: str) -> str:
        return ref.split(":", 1)[-1].split("@", 1)[0]

    name = _ascii(name_of(text))
    if not name:
        return []
    kind = text.split(":", 1)[0] if ":" in text else ""
    # Refs of the kind asked for when one is spelled close (model:iris@1 meant a model, not the
    # dataset iris@1); those of other kinds only when none is.
    mine = [ref for ref in candidates if ref.startswith(f"{kind}:")] if kind else []
    for pool in (mine, candidates):
        by_name: dict[str, list[str]] = {}
        for ref in pool:
            by_name.setdefault(name_of(ref), []).append(ref)
        out: list[str] = []
        for close in nearest(name, sorted(by_name), n=n):
            # Of one name, the refs of the kind asked for first, then in the candidates' order.
            out += sorted(by_name[close], key=lambda ref: not ref.startswith(f"{kind}:"))
        if out:
            return out[:n]
    return []


def _ascii(name: str) -> str:
    """`name` with its accents dropped (ïris -> iris): a valid name is ASCII, so an accented
    letter is a slip for the plain one."""
    if name.isascii():
        return name
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))


MIN_PREFIX = 8  # a bare run id prefix shorter than a date (20261201) is too easy to mistype into another


class AmbiguousRef(ValueError):
    """Loose text that names several records; `matches` lists them."""

    def __init__(self, text: str, matches: list[str]) -> None:
        super().__init__(f"{text!r} names {len(matches)} records: {listed(matches, 10)}")
        self.matches = matches


def expand(text: str, known: list[str]) -> str | None:
    """The ref among `known` that loose `text` names, as people type it: the ref itself, a record
    folder or metadata path (`runs/ID`, `models/NAME/1/`, `experiments/NAME.yaml`), a bare run id,
    `model:NAME` for its latest version, or a unique prefix (`run:20261201T0935`); None when
    nothing matches, AmbiguousRef when several do."""
    text = text.strip()
    if text in known:
        return text
    ref = _from_path(text)
    if ref is not None and ref in known:
        return ref
    if ":" not in text and f"run:{text}" in known:
        return f"run:{text}"
    if ":" in text and "@" not in text:  # model:NAME, dataset:NAME: the latest version
        versions = [k for k in known if k.startswith(text + "@")]
        if versions:
            return max(versions, key=_version_order)
    prefix = text if ":" in text else f"run:{text}" if len(text) >= MIN_PREFIX else None
    if prefix is None or prefix.endswith((":", "@")):  # (dataset:iris@ names no version: not a prefix of one)
        return None
    found = sorted(k for k in known if k.startswith(prefix))
    if len(found) > 1:
        raise AmbiguousRef(text, found)
    return found[0] if found else None


def folder_of(text: str) -> tuple[str, str] | None:
    """(the record folder, its metadata file's name) that a dataset, model or run ref, or a path
    to one, names; None for anything else (an experiment is a file)."""
    m = _REF.fullmatch(text if ":" in text else _from_path(text) or "")
    if m is None:
        return None
    kind, name, version = m.group("kind", "name", "version")
    if kind == "run" and version is None:
        return f"runs/{name}", "run.yaml"
    if kind in VERSIONED_KINDS and version is not None:
        return f"{kind}s/{name}/{version}", f"{kind}.yaml"
    return None


def _from_path(text: str) -> str | None:
    parts = [p for p in text.replace("\\", "/").split("/") if p not in ("", ".")]
    if len(parts) >= 2 and parts[0] == "runs":
        return f"run:{parts[1]}"
    if len(parts) >= 3 and parts[0] in ("datasets", "models"):
        return f"{parts[0][:-1]}:{parts[1]}@{parts[2]}"
    if len(parts) == 2 and parts[0] == "experiments" and parts[1].endswith(".yaml"):
        return f"experiment:{parts[1][: -len('.yaml')]}"
    return None


def version_beside(root: Path, kind: str, name: str, version: str) -> str | None:
    """The version folder of `kind`s/`name`/ (a record or not: its metadata may be unreadable)
    that is `version` spelled otherwise, or None."""
    try:
        with os.scandir(root / f"{kind}s" / name) as entries:
            # Version folders only: not the ledger beside them, a staging folder or a stray file.
            versions = [e.name for e in entries if valid_version(e.name) and e.is_dir(follow_symlinks=False)]
    except OSError:
        return None  # (no such name yet: nothing to be confused with)
    return spelled_alike(version, versions)


SAME_NAME = "is the same name under case-folding (one folder on macOS and Windows)"  # of name_beside's answer


def name_beside(root: Path, kind: str, name: str) -> str | None:
    """The name folder of `kind`s/ that is `name` spelled otherwise under case-folding or Unicode
    normalisation (`Iris` beside `iris`: one folder on macOS and Windows), or None."""
    mine = fold(name)
    try:
        with os.scandir(root / f"{kind}s") as entries:
            return next((e.name for e in entries if e.name != name and fold(e.name) == mine), None)
    except OSError:
        return None


def spelled_alike(version: str, others: list[str]) -> str | None:
    """The one of `others` that is `version` spelled otherwise (01 beside 1, 1.01 beside 1.1):
    two folders that "the latest version" and people take for one."""
    mine = version_number(version)
    return next((o for o in others if o != version and version_number(o) == mine), None)


def version_number(version: str) -> tuple[tuple[int, int, str], ...]:
    """What a version is to "the latest version", its spelling aside: 01 and 1, 1.01 and 1.1,
    1-0 and 1.0 are one."""
    return _version_order(f"@{version}")[0]


def _version_order(ref: str) -> tuple[tuple[tuple[int, int, str], ...], str]:
    """What "the latest version" is: numbers compare as numbers (2.10 after 2.9, 10 after 9), a
    version after its own prefix when a number or a post-release word follows (1.0.1 and
    1.0.post1 after 1.0) and before it when another word does (1.0.0-rc1 before 1.0.0, as semver
    and PEP 440 order pre-releases), a number after a word (2 after rc2); separators (. - _) only
    separate. (1 and 01 are one number: the spelling decides, so the answer never hangs on
    listing order.)"""
    version = ref.rsplit("@", 1)[-1]
    parts = tuple(
        (2, int(p), "") if p.isascii() and p.isdigit() else (1, 1, p) if p.lower() in _POST else (0, 0, p)
        for p in _PARTS.findall(version)
    )
    return (*parts, (1, 0, "")), version
