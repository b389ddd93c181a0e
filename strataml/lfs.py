"""Git LFS pointer files, read exactly as git-lfs reads them.

git-lfs (lfs/pointer.go, `DecodeFrom`, unchanged from 3.3 to 3.7) is the only reader that
matters: a pointer it rejects is never fetched, a pointer it accepts always is. So this module
mirrors its decoder rule for rule rather than the spec's prose:

- it decodes at most the first 1024 bytes; an empty file is the empty pointer (size 0);
- leading and trailing whitespace (Go's `bytes.TrimSpace`, Unicode spaces too) is dropped;
- lines end at LF, one CR before it is dropped, empty lines are skipped;
- each line is `key value`, split at the first space (a tab does not split);
- the keys are exactly `version`, `oid`, `size` in that order; extension keys
  (`ext-<digit>-<word>...`) may come before `size`, anything else is rejected;
- `version` is one of three v1 URLs, `oid` is `sha256:` and 64 lowercase hex digits, `size`
  is what Go's `strconv.ParseInt` reads (a sign, leading zeros), not negative, within int64;
- extensions have distinct priorities and `sha256:` oids.

A pointer is canonical (`git lfs pointer --check --strict`) when those first bytes are exactly
what git-lfs writes for it: `format_pointer`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from strataml.numbers import whole

MAX_POINTER = 1024  # git-lfs's blobSizeCutoff: it never decodes more, its scanner skips bigger blobs
SPEC_V1 = "https://git-lfs.github.com/spec/v1"
V1_ALIASES = ("http://git-media.io/v/2", "https://hawser.github.com/spec/v1", SPEC_V1)
_ALIASES = frozenset(v.encode() for v in V1_ALIASES)
EMPTY_OID = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
_KEYS = (b"version", b"oid", b"size")
_HEADER = re.compile(rb"git-media|hawser|git-lfs")
_EXT_KEY = re.compile(rb"ext-[0-9]-[0-9A-Za-z_]")  # Go's `\Aext-\d{1}-\w+`: a prefix, not the whole key
_HEX64 = re.compile(rb"[0-9a-f]{64}")
_INT = re.compile(rb"[+-]?[0-9]+")  # strconv.ParseInt(s, 10, 64) before its range check
_INT64_MAX = 2**63 - 1
# unicode.IsSpace: what Go's bytes.TrimSpace trims around the pointer before decoding it.
_GO_SPACE = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | frozenset(
    chr(c) for c in range(0x2000, 0x200B)
)
# Worth calling a broken pointer rather than other content: its first line starts like one.
_STARTS_LIKE = re.compile(rb"(?i)version[ \t]")


@dataclass(frozen=True)
class Extension:
    priority: int
    name: str
    oid: str


@dataclass(frozen=True)
class Pointer:
    oid: str  # lowercase hex
    size: int
    canonical: bool
    why_not: str | None = None  # why it is not canonical
    extensions: tuple[Extension, ...] = ()


class MalformedPointer(ValueError):
    """git-lfs would not decode these bytes as a pointer (`git lfs pointer --check` exits 1)."""


def threshold(config: object) -> int | None:
    """`lfs.threshold_bytes` of a workspace config (strataml.yaml's data): files above it belong
    in Git LFS; None when it is not set (or not a size, a negative number included: the schema's
    finding, not a threshold that would flag every file)."""
    section = config.get("lfs") if isinstance(config, dict) else None
    value = whole(section.get("threshold_bytes")) if isinstance(section, dict) else None
    return value if value is not None and value >= 0 else None


def pointer_sized(size: int) -> bool:
    """Whether a file of `size` bytes can be a pointer that git-lfs replaces: its scanner takes
    blobs under MAX_POINTER bytes only, so a bigger file is content whatever its text says."""
    return size < MAX_POINTER


def stands_in(root: Path, rel: str, size: int, recorded: int | None) -> bool:
    """Whether the file `rel` of the workspace `root`, `size` bytes on disk, is a Git LFS pointer
    in place of the `recorded` bytes (a checkout without `git lfs pull`): the sizes differ, git-lfs
    would replace a file of its size, and its text decodes as a pointer."""
    return recorded is not None and size != recorded and pointer_sized(size) and pointer_at(root, rel)


def looks_like_pointer(head: bytes) -> bool:
    """Whether a file's first bytes are a pointer to git-lfs, or a broken attempt at one.

    A broken attempt names git-lfs (its own header test) and its first line starts with
    `version`; other content that git-lfs rejects is just content.
    """
    try:
        parse(head)
    except MalformedPointer:
        data = _trim(head[:MAX_POINTER])
        return bool(_HEADER.search(data)) and bool(_STARTS_LIKE.match(data))
    return True


def pointer_at(root: Path, rel: str) -> bool:
    """Whether the file `rel` of the workspace `root` is a Git LFS pointer: its first MAX_POINTER
    bytes, read by the confined rules (never through a link), decode as one. False when it cannot
    be read (whoever asked reports that its own way)."""
    from strataml import atomic

    try:
        head = atomic.read_bytes(root, rel, limit=MAX_POINTER)
    except (OSError, atomic.Refused):
        return False
    return head is not None and looks_like_pointer(head)


def parse(raw: bytes, length: int | None = None) -> Pointer:
    """Decode a file as git-lfs does; raise MalformedPointer saying why git-lfs would not.

    `raw` holds the file's first bytes (at least MAX_POINTER of them, or all), `length` its
    full size when `raw` is only its beginning.
    """
    buf = raw[:MAX_POINTER]
    length = len(raw) if length is None else length
    if not buf:
        return Pointer(EMPTY_OID, 0, True)
    data = _trim(buf)
    if not _HEADER.search(data):
        raise MalformedPointer("it does not name git-lfs (no 'git-lfs', 'hawser' or 'git-media')")
    values, exts = _key_values(data)
    version = values.get(b"version", b"")
    if version not in _ALIASES:
        raise MalformedPointer(f"unknown version {_show(version)}" if version else "no version")
    if b"oid" not in values:
        raise MalformedPointer("no oid")
    oid = _oid(values[b"oid"], "oid")
    if b"size" not in values:
        raise MalformedPointer("no size")
    size = _size(values[b"size"])
    extensions = sorted((_extension(key, value) for key, value in exts.items()), key=lambda e: e.priority)
    priorities = [e.priority for e in extensions]
    if len(set(priorities)) != len(priorities):
        raise MalformedPointer("two extensions share a priority")
    canonical = format_pointer(oid, size, extensions) == buf
    why_not = None if canonical else _why_not(buf, length, size, version, values[b"size"], extensions)
    return Pointer(oid, size, canonical, why_not, tuple(extensions))


def format_pointer(oid: str, size: int, extensions: list[Extension] | tuple[Extension, ...] = ()) -> bytes:
    """The pointer git-lfs writes for this content (empty content is an empty file, not a pointer)."""
    if size == 0:
        return b""
    exts = "".join(f"ext-{e.priority}-{e.name} sha256:{e.oid}\n" for e in extensions)
    return f"version {SPEC_V1}\n{exts}oid sha256:{oid}\nsize {size}\n".encode("utf-8", "surrogateescape")


def object_path(objects: Path, oid: str) -> Path:
    """Where git-lfs keeps an object's content locally, in its objects folder (GitFacts.lfs_objects)."""
    return objects / oid[:2] / oid[2:4] / oid


def _trim(buf: bytes) -> bytes:
    # Undecodable bytes become lone surrogates, never spaces: as Go's RuneError is not one.
    text = buf.decode("utf-8", "surrogateescape")
    start, end = 0, len(text)
    while start < end and text[start] in _GO_SPACE:
        start += 1
    while end > start and text[end - 1] in _GO_SPACE:
        end -= 1
    return text[start:end].encode("utf-8", "surrogateescape")


def _key_values(data: bytes) -> tuple[dict[bytes, bytes], dict[bytes, bytes]]:
    """The three keys in order and the extension keys beside them, as git-lfs's scanner reads lines."""
    values: dict[bytes, bytes] = {}
    exts: dict[bytes, bytes] = {}  # a repeated extension key keeps its last value, as in git-lfs
    for line in data.split(b"\n"):
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            continue
        key, space, value = line.partition(b" ")
        if not space:
            raise MalformedPointer(f"line {_show(line)} is not 'key value' (one space between)")
        if len(values) == len(_KEYS):
            raise MalformedPointer(f"extra line {_show(line)} after size")
        expected = _KEYS[len(values)]
        if key == expected:
            values[key] = value
        elif _EXT_KEY.match(key):
            exts[key] = value
        else:
            raise MalformedPointer(f"expected key {expected.decode()!r}, found {_show(key)}")
    return values, exts


def _oid(value: bytes, what: str) -> str:
    kind, colon, digits = value.partition(b":")
    if not colon or kind != b"sha256" or not _HEX64.fullmatch(digits):
        raise MalformedPointer(f"{what} {_show(value)} is not sha256:<64 lowercase hex digits>")
    return digits.decode()


def _size(value: bytes) -> int:
    if not _INT.fullmatch(value) or not 0 <= int(value) <= _INT64_MAX:
        raise MalformedPointer(f"size {_show(value)} is not a whole number of bytes from 0 to 2^63-1")
    return int(value)


def _extension(key: bytes, value: bytes) -> Extension:
    _ext, priority, name = key.split(b"-", 2)
    return Extension(int(priority), name.decode("utf-8", "surrogateescape"), _oid(value, key.decode(errors="replace")))


def _why_not(buf: bytes, length: int, size: int, version: bytes, size_text: bytes, exts: list[Extension]) -> str:
    """What a non-canonical pointer does differently from the one git-lfs writes."""
    problems = []
    if length >= MAX_POINTER:
        problems.append(f"{length:,} bytes: git-lfs reads only the first {MAX_POINTER} and `git lfs fetch` skips it")
    if size == 0:
        problems.append("size 0: git-lfs stores empty content as an empty file")
    if version != SPEC_V1.encode():
        problems.append(f"legacy version URL {version.decode()}")
    if size_text != str(size).encode():
        problems.append(f"size written as {_show(size_text)}")
    if b"\r" in buf:
        problems.append("CRLF line endings")
    if not buf.endswith(b"\n"):
        problems.append("no final newline")
    lf = buf.replace(b"\r\n", b"\n")
    if b"\n\n" in lf or _trim(lf) != lf.rstrip(b"\n"):
        problems.append("blank lines or extra whitespace")
    if exts and not problems:
        problems.append("extension keys not in their place (after version, by priority)")
    return "; ".join(problems) or "not byte for byte what git-lfs writes"


def _show(value: bytes) -> str:
    # The bytes as they are, quoted: the text reporter escapes control characters when it prints
    # them, and the doctor spells bytes that are not UTF-8 as \xNN (controls.undecodable).
    text = value.decode("utf-8", "surrogateescape")
    return f"'{text if len(text) <= 80 else text[:77] + '...'}'"


# Longest value handed to one `git lfs pull --include`: far below Linux's 128 KiB for one argument.
INCLUDE_LIMIT = 32 * 1024
_GLOB = frozenset("\\*?[]")


def include_patterns(paths: list[str], limit: int = INCLUDE_LIMIT) -> list[str]:
    """`paths` as values for `git lfs pull --include`, each at most `limit` long (one pull per
    value). git-lfs reads a value as comma-separated gitignore-style globs: glob characters are
    backslash-escaped, and a comma (it has no escape) or a control character becomes `?`, which
    matches it and, at worst, one more file of a near-identical name."""
    values: list[str] = []
    current: list[str] = []
    length = 0
    for path in paths:
        pattern = "".join(
            "\\" + c if c in _GLOB else "?" if c == "," or ord(c) < 32 or ord(c) == 127 else c for c in path
        )
        if pattern.startswith(("!", "#")):
            pattern = "\\" + pattern
        if current and length + 1 + len(pattern) > limit:
            values.append(",".join(current))
            current, length = [], 0
        current.append(pattern)
        length += len(pattern) + (1 if length else 0)
    if current:
        values.append(",".join(current))
    return values
