"""blockyaml against PyYAML: whatever blockyaml answers, PyYAML (the loader's reference path)
answers the same, to the type of every value and the line of every key; what it cannot be sure
of it leaves to PyYAML. Documents are generated from near misses of the subset (YAML 1.1's
number, boolean and timestamp forms, quoting, comments, indentation off by one, tabs, markers,
duplicate keys), so the fall-back paths are exercised as much as the fast one."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from strataml import blockyaml, loading

ROOT = Path(__file__).resolve().parents[1]

KEYS = [
    "a", "b", "name", "x1", "data.synthetic.n_classes", "scikit-learn", "_k", "K", "a/b", "k+", "a-b",
    "1", "0x1", "1.5", "yes", "on", "null", "~", "key with space", "'q'", '"d"', "-a", "?", "a:b", "a#b",
    "\u00e9", "<<", "=", "a" * 130,
]  # fmt: skip
SCALARS = [
    "x", "plain words", "run:20260101T000000Z-bench-000001", "dataset:d@1", "sha256:" + "ab" * 32, "a/b.c",
    "test_roc_auc >= 0.85", "_x", "/abs", "yes", "Yes", "YES", "yEs", "no", "NO", "on", "On", "off", "OFF",
    "y", "n", "Y", "true", "True", "TRUE", "tRue", "false", "~", "null", "Null", "NULL", "nUll", "nil",
    "0", "-0", "+0", "00", "07", "08", "0o7", "0x1F", "0X1F", "0x", "0b101", "0b2", "0b", "-0b1", "+0x1",
    "1_000", "0_1", "1__0", "1,000", "12", "-12", "+12", "1.5", "-1.5", "+1.5", "1.", "01.5", ".5", "-.5",
    "1e5", "1e+5", "1.0e+5", "1.0E-5", "1.0e5", "1.0e+400", "-0.0", "0.0", ".inf", "-.inf", "+.INF", ".NaN",
    ".nan", "1:30", "1:30.5", "-1:30", "190:20:30", "1:60", "2026-01-01", "2026-1-1", "2026-01-01T00:00:00Z",
    "2026-01-01 00:00:00", "2026-01-01t00:00:00.5+01:00", "2026-01-01T00:00:00 Z", "1.9.1", "0.1.0",
    "1.2.3.4", "1..2", "1.2.", "5cd1", "0b5cd", "0x5g", "1e", "1E+", "12abc", "123-456", "1 2", "1_2.5",
    "e5", "ab" * 32, "0e5", "9" * 700, "1" * 641, "-", "-x", "--", "---", "...", "+", "+x", "=", "<<", "<",
    "a: b", "a:b", "a:", ":a", "a #c", "a#c", "#c", "'q'", "'it''s'", "''", "'a'b", "'a' #c", "'a'#c",
    "'unterminated", "'a: b'", "'#'", '"d"', '"a\\nb"', "\"a'b\"", '"#"', '""', '"a" #c', '"a"b', "[]", "{}",
    "[a]", "{a: 1}", "[ ]", "[a, b]", "&a x", "*a", "!!str x", "!!int 1", "!x y", "|", ">", "|-", "%x",
    "@x", "`x`", "a\tb", "a  b", "trailing  ", "\u00e9", "a,b", "a]b", "?x", "? x", "x?", "0.5 # c",
    "12 #c", "{", "}", "a ,b", "a\\b",
]  # fmt: skip


COMMON = ["x", "plain words", "dataset:d@1", "sha256:" + "ab" * 32, "12", "-1.5", "0.25", "true", "'q'", "1.9.1", "~"]


def _scalar(rng: random.Random) -> str:
    return rng.choice(COMMON) if rng.random() < 0.75 else rng.choice(SCALARS)


def _key(rng: random.Random) -> str:
    return rng.choice(KEYS[:12]) if rng.random() < 0.93 else rng.choice(KEYS)


def _mapping(rng: random.Random, depth: int) -> list[tuple[str, Any]]:
    keys: list[str] = []
    for _ in range(rng.randint(1, 4)):
        key = _key(rng)
        if key not in keys or rng.random() < 0.05:  # now and then a duplicate key
            keys.append(key)
    return [(key, _node(rng, depth + 1)) for key in keys]


def _node(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth < 4 and roll < 0.25:
        return ("map", _mapping(rng, depth))
    if depth < 4 and roll < 0.45:
        return ("seq", [_node(rng, depth + 1) for _ in range(rng.randint(1, 3))])
    if roll < 0.5:
        return ("empty", None)
    return ("scalar", _scalar(rng))


def _render_mapping(
    rng: random.Random, pairs: list[tuple[str, Any]], col: int, out: list[str], first: str | None
) -> None:
    """`first`: the text before the first key on its line (a `- ` item), or None."""
    step = rng.choice((2, 2, 2, 1, 3, 4))
    for index, (key, node) in enumerate(pairs):
        lead = first if index == 0 and first is not None else " " * col
        kind, value = node
        if kind == "scalar":
            out.append(f"{lead}{key}:{rng.choice((' ', ' ', '  '))}{value}{rng.choice(('', '', ' ', ' # note'))}")
        elif kind == "empty":
            out.append(f"{lead}{key}:{rng.choice(('', '', ' ', ' # note'))}")
        elif kind == "map":
            out.append(f"{lead}{key}:{rng.choice(('', '', ' # note'))}")
            _render_mapping(rng, value, col + step, out, None)
        else:
            out.append(f"{lead}{key}:")
            _render_sequence(rng, value, col + rng.choice((0, 0, step)), out)
        if rng.random() < 0.1:
            out.append(rng.choice(("", "# comment", " " * rng.randint(0, 6) + "# indented comment", "   ")))


def _render_sequence(rng: random.Random, items: list[Any], col: int, out: list[str]) -> None:
    for kind, value in items:
        dash = " " * col + "-" + " " * rng.choice((1, 1, 1, 2, 3))
        if kind == "scalar":
            out.append(dash + value)
        elif kind == "empty":
            out.append(dash.rstrip(" ") if rng.random() < 0.5 else dash)
        elif kind == "map":
            _render_mapping(rng, value, len(dash), out, dash)
        else:
            out.append(dash.rstrip(" "))
            _render_sequence(rng, value, col + 2, out)


_NOISE = ["---", "...", "--- # doc", "%YAML 1.1", "\t", "key:\tvalue", "a: \u00e9", "a: b\r", "? a", ": b", "&x a: 1",
          "!!map", "a: [1, 2]", "a: {b: c}", "a: |", "  text", "- x", "a:", "a: 1", "a:b", "#", "  # c", "a: \x01",
          "a: \x7f", "a: \u2028", "a: \ufeff"]  # fmt: skip


def _mutate(rng: random.Random, lines: list[str]) -> None:
    if not lines:
        lines.append(rng.choice(_NOISE))
        return
    at = rng.randrange(len(lines))
    choice = rng.randrange(6)
    if choice == 0:
        lines[at] = " " + lines[at]
    elif choice == 1 and lines[at].startswith(" "):
        lines[at] = lines[at][1:]
    elif choice == 2:
        lines.insert(at, rng.choice(_NOISE))
    elif choice == 3:
        lines.insert(at, lines[at])
    elif choice == 4:
        del lines[at]
    else:
        lines[at] = lines[at] + rng.choice((" x", ":", " #", "'", '"', " : y", "\t"))


def _document(rng: random.Random) -> str:
    out: list[str] = []
    if rng.random() < 0.1:
        out.append("# leading comment")
    _render_mapping(rng, _mapping(rng, 0), 0, out, None)
    if rng.random() < 0.3:
        for _ in range(rng.randint(1, 2)):
            _mutate(rng, out)
    return "\n".join(out) + rng.choice(("\n", "\n", "", "\n\n", "\n# end\n"))


def _parse(text: str, keep_lines: bool = True) -> tuple[Any, Any] | None:
    return blockyaml.parse(text, keep_lines, loading.MAX_NODES, loading.MAX_DEPTH)


def _same(text: str) -> bool:
    """Asserts blockyaml agrees with PyYAML on `text`; True when blockyaml answered."""
    answered = False
    for keep_lines in (True, False):
        fast = _parse(text, keep_lines)
        if fast is None:
            continue
        answered = True
        reference = loading._load_pyyaml(text, keep_lines)
        assert reference.problems == (), (text, reference.problems)
        assert repr(fast[0]) == repr(reference.data), text
        assert fast[1] == reference.lines, text
    return answered


@pytest.mark.parametrize("seed", range(8))
def test_generated_documents_agree_with_pyyaml(seed: int) -> None:
    rng = random.Random(seed)
    answered = 0
    for _ in range(600):
        answered += _same(_document(rng))
    # Not vacuous: a good share of the documents is read by blockyaml, and the rest by PyYAML.
    assert 100 < answered < 550, answered


def test_every_scalar_alone_agrees_with_pyyaml() -> None:
    answered = 0
    for value in SCALARS:
        for text in (f"k: {value}\n", f"k:\n- {value}\n", f"k:\n  - {value}  # c\n", f"- {value}\n"):
            answered += _same(text)
    assert answered > 150, answered


def test_every_yaml_text_in_the_repository_agrees() -> None:
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in ROOT.rglob("*.yaml") if ".git" not in p.parts]
    for case in (ROOT / "strataml" / "conformance_suite").rglob("*.json"):
        texts.extend(_texts(json.loads(case.read_text(encoding="utf-8"))))
    assert len(texts) > 50
    answered = sum(_same(text) for text in texts)
    assert answered > 20, answered


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "text" and isinstance(v, str)] + [
            t for v in node.values() for t in _texts(v)
        ]
    if isinstance(node, list):
        return [t for v in node for t in _texts(v)]
    return []


def test_the_example_records_are_read_without_pyyaml() -> None:
    """The records StrataML writes are in the subset (else the fast path would be dead code)."""
    records = [*ROOT.glob("runs/*/run.yaml"), *ROOT.glob("datasets/*/*/dataset.yaml"), *ROOT.glob("models/*/*/*.yaml")]
    assert len(records) >= 5
    for path in [*records, ROOT / "strataml.yaml"]:
        assert _parse(path.read_text(encoding="utf-8")) is not None, path
    probe = (
        "import sys; from strataml import loading\n"
        f"for p in {[str(p) for p in records]!r}: assert loading.load_file(p).ok, p\n"
        "print('yaml' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False", done.stderr


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\n a2: 2\n",  # indented past the mapping
        "a: x\n  y\n",  # a plain scalar continued on the next line
        "a:\n  b: 1\n c: 2\n",  # back to a column no block is at
        "a:\n  - x\n  b: 1\n",  # a key at an indented list's column
        "a: 1\n- x\n",  # a list item where a key belongs
        "a:\n-\n  b: 1\n",  # an item's value on the next lines
        "a:\n- - x\n",  # a list in a list
        "a: 'x\n  y'\n",  # a quoted scalar over two lines
        "a: 1\na: 2\n",  # a duplicate key: PyYAML's path reports it
        "  a: 1\n",  # an indented root
        "- a\n",  # a root list
        "# only a comment\n",
        "a: 1\n---\nb: 2\n",
    ],
)
def test_near_misses_are_left_to_pyyaml(text: str) -> None:
    assert _parse(text) is None and _parse(text, keep_lines=False) is None


def test_the_loader_limits_stand() -> None:
    """Near a limit blockyaml steps aside, and the loader's own count decides and reports."""
    for depth, ok in ((loading.MAX_DEPTH - 1, True), (loading.MAX_DEPTH, False), (loading.MAX_DEPTH + 5, False)):
        text = "".join(" " * i + f"k{i}:\n" for i in range(depth)) + " " * depth + "leaf: 1\n"
        loaded = loading.load_bytes(text.encode())
        assert loaded.ok is ok and [p.code for p in loaded.problems] == ([] if ok else [loading.TOO_DEEP]), depth
    pairs = (loading.MAX_NODES - 1) // 2
    assert _parse("".join(f"k{i}: 0\n" for i in range(pairs))) is None  # counted by the loader
    assert not loading.load_bytes("".join(f"k{i}: 0\n" for i in range(pairs + 1)).encode()).ok
    long = "9" * (blockyaml.MAX_INT_DIGITS + 1)
    assert _parse(f"k: {long}\n") is None and loading.load_bytes(f"k: {long}\n".encode()).data == {"k": int(long)}


def test_long_values_and_tiny_depth_limits_are_left_to_pyyaml() -> None:
    """Found by an adversarial review: a 4 MiB unterminated quote cost blockyaml's patterns a second
    before it fell back, and with a depth limit of 1 an empty `[]` at the root passed it."""
    long = blockyaml.MAX_VALUE_CHARS + 1
    for text in ("a: '" + "x" * 4_000_000 + "\n", "a: " + "1." * long + "1\n", "a: " + "x" * long + "\n"):
        assert _parse(text) is None and _parse(text, keep_lines=False) is None
    for text in ("k0: []\n", "k0: {}\n", "k0: 1\n"):
        assert blockyaml.parse(text, True, loading.MAX_NODES, 1) is None
