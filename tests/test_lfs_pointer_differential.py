"""The doctor reads Git LFS pointers exactly as git-lfs does: a differential test against the real
`git lfs pointer --check [--strict]` on generated pointer variants.

git-lfs's verdict -> the doctor's:
- `--check` exits 1 (git-lfs will not decode it, so never fetches it)  -> an error;
- `--check` exits 0, `--check --strict` exits 2 (decoded, not canonical) -> TFC0006-W010, never an error;
- both exit 0                                                          -> a pointer, no warning.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import require
from strataml import lfs
from strataml.cli.main import run
from strataml.doctor import engine

pytestmark = pytest.mark.timeout(300)

V1 = "https://git-lfs.github.com/spec/v1"
ERROR, WARNING, POINTER = "error", "warning", "pointer"


def canonical(oid: str, n: int, *, exts: str = "", version: str = V1) -> bytes:
    return f"version {version}\n{exts}oid sha256:{oid}\nsize {n}\n".encode()


def ext(priority: int | str, name: str, oid: str) -> str:
    return f"ext-{priority}-{name} sha256:{oid}\n"


def padded(body: bytes, total: int, tail: bytes = b"") -> bytes:
    """`body` padded with newlines to `total` bytes, then `tail` (a file near git-lfs's 1024-byte cutoff)."""
    return body + b"\n" * (total - len(body)) + tail


def long_exts(oid: str, n: int, total: int) -> bytes:
    """A canonical pointer whose extension names make it exactly `total` bytes long."""
    short = canonical(oid, n, exts=ext(0, "a", oid))
    return canonical(oid, n, exts=ext(0, "a" * (1 + total - len(short)), oid))


def cut(pointer: bytes, total: int) -> bytes:
    return pointer[:total]


# name -> (content the record pins, pointer bytes made from that content's oid and size)
Variant = Callable[[str, int], bytes]
E = b""  # content for variants that need an empty recorded file
VARIANTS: dict[str, tuple[bytes | None, Variant]] = {
    # canonical forms
    "canonical": (None, lambda o, n: canonical(o, n)),
    "empty file": (E, lambda o, n: b""),
    # case
    "uppercase oid": (None, lambda o, n: canonical(o.upper(), n)),
    "mixed-case oid": (None, lambda o, n: canonical(o[:32].upper() + o[32:], n)),
    "uppercase key OID": (None, lambda o, n: canonical(o, n).replace(b"oid ", b"OID ")),
    "capitalised key Version": (None, lambda o, n: canonical(o, n).replace(b"version", b"Version")),
    "uppercase SHA256": (None, lambda o, n: canonical(o, n).replace(b"sha256:", b"SHA256:")),
    "uppercase version url": (None, lambda o, n: canonical(o, n, version=V1.upper())),
    # key order
    "size before oid": (None, lambda o, n: f"version {V1}\nsize {n}\noid sha256:{o}\n".encode()),
    "oid before version": (None, lambda o, n: f"oid sha256:{o}\nversion {V1}\nsize {n}\n".encode()),
    "oid twice": (None, lambda o, n: f"version {V1}\noid sha256:{o}\noid sha256:{o}\nsize {n}\n".encode()),
    "version twice": (None, lambda o, n: f"version {V1}\n".encode() + canonical(o, n)),
    # unknown keys
    "unknown key before size": (None, lambda o, n: canonical(o, n).replace(b"size", b"foo bar\nsize")),
    "unknown key after size": (None, lambda o, n: canonical(o, n) + b"foo bar\n"),
    "unknown key first": (None, lambda o, n: b"foo bar\n" + canonical(o, n)),
    # extension keys
    "extension": (None, lambda o, n: canonical(o, n, exts=ext(0, "foo", o))),
    "two extensions in order": (None, lambda o, n: canonical(o, n, exts=ext(0, "a", o) + ext(1, "b", o))),
    "two extensions out of order": (None, lambda o, n: canonical(o, n, exts=ext(1, "b", o) + ext(0, "a", o))),
    "extension after oid": (None, lambda o, n: f"version {V1}\noid sha256:{o}\n{ext(0, 'foo', o)}size {n}\n".encode()),
    "extension before version": (None, lambda o, n: ext(0, "foo", o).encode() + canonical(o, n)),
    "extension after size": (None, lambda o, n: canonical(o, n) + ext(0, "foo", o).encode()),
    "extension priority 10": (None, lambda o, n: canonical(o, n, exts=ext(10, "foo", o))),
    "extension priority letter": (None, lambda o, n: canonical(o, n, exts=ext("a", "foo", o))),
    "extension empty name": (None, lambda o, n: canonical(o, n, exts=ext(0, "", o))),
    "extension name with dot": (None, lambda o, n: canonical(o, n, exts=ext(0, "foo.bar", o))),
    "extension name not utf-8": (None, lambda o, n: canonical(o, n, exts=ext(0, "a@", o)).replace(b"@", b"\xff")),
    "extension shared priority": (None, lambda o, n: canonical(o, n, exts=ext(0, "a", o) + ext(0, "b", o))),
    "extension uppercase oid": (None, lambda o, n: canonical(o, n, exts=ext(0, "foo", o.upper()))),
    "extension key repeated": (None, lambda o, n: canonical(o, n, exts=ext(0, "foo", "x") + ext(0, "foo", o))),
    # whitespace
    "two spaces after key": (None, lambda o, n: canonical(o, n).replace(b"size ", b"size  ")),
    "tab after key": (None, lambda o, n: canonical(o, n).replace(b"oid ", b"oid\t")),
    "trailing space at end": (None, lambda o, n: canonical(o, n) + b" "),
    "trailing space after size": (None, lambda o, n: canonical(o, n)[:-1] + b" \n"),
    "trailing space after oid": (None, lambda o, n: canonical(o, n).replace(b"\nsize", b" \nsize")),
    "trailing space after version": (None, lambda o, n: canonical(o, n).replace(b"v1\n", b"v1 \n")),
    "trailing tab at end": (None, lambda o, n: canonical(o, n) + b"\t"),
    "leading blank line": (None, lambda o, n: b"\n" + canonical(o, n)),
    "leading spaces": (None, lambda o, n: b"   " + canonical(o, n)),
    "leading no-break space": (None, lambda o, n: "\u00a0".encode() + canonical(o, n)),
    "leading ideographic space": (None, lambda o, n: "\u3000".encode() + canonical(o, n)),
    "trailing blank lines": (None, lambda o, n: canonical(o, n) + b"\n\n"),
    "blank line between keys": (None, lambda o, n: canonical(o, n).replace(b"\noid", b"\n\noid")),
    "spaces-only line between keys": (None, lambda o, n: canonical(o, n).replace(b"\noid", b"\n  \noid")),
    "NUL in size": (None, lambda o, n: canonical(o, n).replace(b"size ", b"size \x00")),
    # line endings
    "crlf": (None, lambda o, n: canonical(o, n).replace(b"\n", b"\r\n")),
    "cr only": (None, lambda o, n: canonical(o, n).replace(b"\n", b"\r")),
    "no final newline": (None, lambda o, n: canonical(o, n)[:-1]),
    "mixed lf and crlf": (None, lambda o, n: canonical(o, n).replace(b"v1\n", b"v1\r\n")),
    "double cr": (None, lambda o, n: canonical(o, n).replace(b"\n", b"\r\r\n")),
    "crlf blank lines": (None, lambda o, n: b"\r\n" + canonical(o, n).replace(b"\n", b"\r\n\r\n")),
    # versions
    "hawser version": (None, lambda o, n: canonical(o, n, version="https://hawser.github.com/spec/v1")),
    "git-media version": (None, lambda o, n: canonical(o, n, version="http://git-media.io/v/2")),
    "http version": (None, lambda o, n: canonical(o, n, version="http://git-lfs.github.com/spec/v1")),
    "version with trailing slash": (None, lambda o, n: canonical(o, n, version=V1 + "/")),
    "version v2": (None, lambda o, n: canonical(o, n, version=V1[:-1] + "2")),
    "no version line": (None, lambda o, n: canonical(o, n).split(b"\n", 1)[1]),
    # sizes
    "size 0": (E, lambda o, n: canonical(o, n)),
    "size -0": (E, lambda o, n: canonical(o, n).replace(b"size 0", b"size -0")),
    "size negative": (None, lambda o, n: canonical(o, -n)),
    "size with plus": (None, lambda o, n: canonical(o, n).replace(b"size ", b"size +")),
    "size leading zeros": (None, lambda o, n: canonical(o, n).replace(b"size ", b"size 00")),
    "size int64 max": (None, lambda o, n: canonical(o, 2**63 - 1)),
    "size int64 max + 1": (None, lambda o, n: canonical(o, 2**63)),
    "size with letters": (None, lambda o, n: canonical(o, n).replace(b"size ", b"size 1a")),
    "size in exponent form": (None, lambda o, n: canonical(o, n).replace(f"size {n}".encode(), b"size 1e3")),
    "size with underscore": (None, lambda o, n: canonical(o, n).replace(b"size ", b"size 1_")),
    "size hexadecimal": (None, lambda o, n: canonical(o, n).replace(f"size {n}".encode(), b"size 0x10")),
    "size empty": (None, lambda o, n: canonical(o, n).replace(f"size {n}".encode(), b"size ")),
    "no size line": (None, lambda o, n: canonical(o, n).rsplit(b"size", 1)[0]),
    # oid lengths and forms
    "oid 63 digits": (None, lambda o, n: canonical(o[:63], n)),
    "oid 65 digits": (None, lambda o, n: canonical(o + "0", n)),
    "oid empty": (None, lambda o, n: canonical("", n)),
    "oid sha1": (None, lambda o, n: canonical(o, n).replace(b"sha256:", b"sha1:")),
    "oid without type": (None, lambda o, n: canonical(o, n).replace(b"sha256:", b"")),
    "oid non-hex": (None, lambda o, n: canonical("g" + o[1:], n)),
    # other content
    "only whitespace": (None, lambda o, n: b" \n\t\n"),
    "text naming git-lfs": (None, lambda o, n: b"see https://git-lfs.github.com for details\n"),
    "binary naming git-lfs": (None, lambda o, n: b"\x00\x01git-lfs\xff\xfe"),
    "pointer then prose": (None, lambda o, n: canonical(o, n) + b"\nthis is not a pointer\n"),
    # the pointer file's own size, around git-lfs's 1024-byte cutoff
    "1023 bytes padded": (None, lambda o, n: padded(canonical(o, n), 1023)),
    "1024 bytes padded": (None, lambda o, n: padded(canonical(o, n), 1024)),
    "1025 bytes padded": (None, lambda o, n: padded(canonical(o, n), 1025)),
    "junk past byte 1024": (None, lambda o, n: padded(canonical(o, n), 1024, b"junk" * 250)),
    "junk from byte 1020": (None, lambda o, n: padded(canonical(o, n), 1020, b"junk" * 250)),
    "canonical 1023 bytes": (None, lambda o, n: long_exts(o, n, 1023)),
    "canonical 1024 bytes": (None, lambda o, n: long_exts(o, n, 1024)),
    "canonical 1025 bytes": (None, lambda o, n: long_exts(o, n, 1025)),
    "canonical 1026 bytes": (None, lambda o, n: long_exts(o, n, 1026)),
    "canonical 1100 bytes": (None, lambda o, n: long_exts(o, n, 1100)),
}


def content_of(name: str) -> bytes:
    given, _make = VARIANTS[name]
    return given if given is not None else f"the content behind the {name} pointer\n".encode() * 3


def pointer_of(name: str) -> bytes:
    data = content_of(name)
    return VARIANTS[name][1](hashlib.sha256(data).hexdigest(), len(data))


def git_lfs_verdict(path: Path) -> str:
    """What the real git-lfs says about a file: ERROR, WARNING (not canonical) or POINTER."""
    check = subprocess.run(["git", "lfs", "pointer", "--check", f"--file={path}"], capture_output=True)
    strict = subprocess.run(["git", "lfs", "pointer", "--check", "--strict", f"--file={path}"], capture_output=True)
    verdicts = {(1, 1): ERROR, (0, 2): WARNING, (0, 0): POINTER}
    assert (check.returncode, strict.returncode) in verdicts, (path, check, strict)
    return verdicts[(check.returncode, strict.returncode)]


def parser_verdict(raw: bytes, length: int | None = None) -> str:
    try:
        pointer = lfs.parse(raw) if length is None else lfs.parse(raw, length)
    except lfs.MalformedPointer:
        return ERROR
    return POINTER if pointer.canonical else WARNING


def doctor_verdict(codes: set[str]) -> str:
    if codes & {"TFC0006-E011", "TFC0006-E002", "TFC0006-E003"}:
        return ERROR
    return WARNING if "TFC0006-W010" in codes else POINTER


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    require(shutil.which("git-lfs") is not None, "git-lfs is not installed (apt-get install git-lfs)")
    folder = tmp_path_factory.mktemp("pointers")
    verdicts = {}
    for i, name in enumerate(VARIANTS):
        path = folder / f"{i:02d}.bin"
        path.write_bytes(pointer_of(name))
        verdicts[name] = git_lfs_verdict(path)
    return verdicts


def test_the_variants_cover_every_verdict(oracle: dict[str, str]) -> None:
    assert len(VARIANTS) >= 30
    counts = {v: list(oracle.values()).count(v) for v in (ERROR, WARNING, POINTER)}
    assert all(n >= 5 for n in counts.values()), counts
    # The cutoff is covered from both sides: files under, at and over 1024 bytes.
    sizes = {len(pointer_of(name)) for name in VARIANTS}
    assert {1023, 1024, 1025} <= sizes and max(sizes) > 1100


@pytest.mark.parametrize("name", list(VARIANTS))
def test_parser_agrees_with_git_lfs(oracle: dict[str, str], name: str) -> None:
    raw = pointer_of(name)
    assert parser_verdict(raw) == oracle[name], (name, raw[:200])
    # The doctor hands a big file's first 1024 bytes and its length: the same verdict.
    assert parser_verdict(raw[: lfs.MAX_POINTER], len(raw)) == oracle[name]
    if oracle[name] == WARNING:
        assert lfs.parse(raw).why_not


def test_doctor_agrees_with_git_lfs_on_every_variant(oracle: dict[str, str], ws: Path, tmp_path: Path) -> None:
    """One dataset records every variant's content; its folder then holds the pointers instead."""
    names = list(VARIANTS)
    src = tmp_path / "content"
    src.mkdir()
    files = []
    for i, name in enumerate(names):
        files.append(src / f"v{i:02d}.bin")
        files[-1].write_bytes(content_of(name))
    assert run(["-C", str(ws), "dataset", "add", "pointers", *map(str, files), "--version", "1",
                "--license", "MIT", "--source", "generated"]) == 0
    folder = ws / "datasets/pointers/1"
    for i, name in enumerate(names):
        (folder / f"v{i:02d}.bin").write_bytes(pointer_of(name))
    findings = engine.doctor(ws).findings
    by_file: dict[str, set[str]] = {}
    for f in findings:
        by_file.setdefault(f.path, set()).add(f.code)
    assert set(by_file) <= {f"datasets/pointers/1/v{i:02d}.bin" for i in range(len(names))}, findings
    disagree = {}
    for i, name in enumerate(names):
        codes = by_file.get(f"datasets/pointers/1/v{i:02d}.bin", set())
        # A pointer git-lfs decodes is read as one: verified by it, or naming other content.
        read_as_pointer = pointer_of(name) == content_of(name) or bool(codes & {"TFC0006-I010", "TFC0006-E010"})
        if doctor_verdict(codes) != oracle[name] or (oracle[name] != ERROR and not read_as_pointer):
            disagree[name] = (oracle[name], sorted(codes))
    assert not disagree, "doctor disagrees with git-lfs:\n" + "\n".join(
        f"  {name}: git-lfs says {verdict}, doctor found {codes}" for name, (verdict, codes) in disagree.items()
    )


def test_parser_agrees_with_git_lfs_on_random_mutations(oracle: dict[str, str], tmp_path: Path) -> None:
    """Beyond the named variants: seeded random edits of a pointer (bytes git-lfs treats specially)."""
    rnd = random.Random(11)
    oid = hashlib.sha256(b"x").hexdigest()
    lines = [f"version {V1}\n", ext(1, "abc", oid), f"oid sha256:{oid}\n", "size 123\n"]
    pieces = [b" ", b"\t", b"\n", b"\r", b"\r\n", b"\x00", "\u00a0".encode(), "\u2028".encode(), b"\x0b", b"\x85",
              b"-", b"+", b"0", b"A", b":", b"ext-2-q ", b"\xff", b"\x1c"]
    path = tmp_path / "mutant"
    disagree = []
    for _ in range(120):
        data = bytearray("".join(lines[:1] + lines[1 + (rnd.random() < 0.5):]).encode())
        for _ in range(rnd.randint(1, 3)):
            pos = rnd.randrange(len(data) + 1)
            if rnd.random() < 0.5 or pos == len(data):
                data[pos:pos] = rnd.choice(pieces)
            elif rnd.random() < 0.6:
                del data[pos]
            else:
                data[pos] = rnd.randrange(256)
        path.write_bytes(bytes(data))
        if parser_verdict(bytes(data)) != git_lfs_verdict(path):
            disagree.append(bytes(data))
    assert not disagree, disagree
