"""Control characters in what a repository names: found once, shown the same way everywhere.

A file name may hold a newline, a tab, ESC or a C1 control: in a name it splits the lines of
every listing (git's batch protocols, our own output) and on a terminal it can move the cursor,
recolour or erase what was printed. `find` is the one check (the doctor's TFC0001-E008, and the
commands that refuse such a name); `shown` is the one way text output prints repository text.
Findings and errors carry the text as it is (quoted with plain '...' where they quote it, never
`repr`, which would escape it a second way): the text reporter and the CLI escape what they print.

How text output shows them (the way git quotes paths, in Python's spelling):
`\\n`, `\\t`, `\\r`; other C0 controls and DEL as `\\xNN` (`\\x1b` for ESC); C1 controls and
Unicode's bidirectional controls as `\\uNNNN` (`\\u009b`, `\\u202e`); bytes that are not UTF-8
(file names reach Python as surrogates) as `\\xNN` with NN from 80 to ff; other characters that
print as nothing (HIDDEN: zero-width spaces, U+2028, tag characters) as `\\uNNNN` or
`\\UNNNNNNNN`, so two names that differ by one are seen to differ (`invisible` finds one in a
name, joiners too: TFC0001-W004). A backslash is printed as it is: it cannot break a line or
reach the terminal as a command. GitHub annotations go to a job log that renders terminal
escapes: they are escaped the same way (after GitHub's own escapes for '%', CR and LF), but for
the hidden characters in `file=`, which must name the file. JSON and SARIF carry the exact text,
with every control and hidden character as JSON's own `\\uNNNN` escape (json_text: the same text
to a parser); only bytes that are not UTF-8 are spelled `\\xNN` there, because JSON has no way to
carry them.
"""

from __future__ import annotations

import json
import re

from strataml.errors import StrataError

# C0 (newline and tab included), DEL and C1.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# Characters that print as nothing: Unicode's format characters (Cf: zero-width spaces, the
# byte-order mark, the soft hyphen, tag characters, and the bidirectional controls, which in a
# terminal or a review page reorder what follows: `exe.txt` shown as `txt.exe`), the line and
# paragraph separators (Zl, Zp), and the other default-ignorable code points (variation
# selectors, Hangul fillers, U+034F), unassigned ones included. In a name they make two
# different files read alike (`train.csv` and `train.csv` + U+200B), or a separator breaks the
# line. HIDDEN is what text output spells out; JOINERS (zero-width non-joiner and joiner,
# variation selectors 1-16) are shown as they are, since Persian, Indic and emoji text needs
# them, and only a name holding one is told (TFC0001-W004). Several of these count as printable
# to Python (U+3164, U+FE0F): no `isprintable()` shortcut stands for their absence.
HIDDEN = (
    "\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u115f-\u1160\u17b4-\u17b5"
    "\u180b-\u180f\u200b\u200e\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\uffa0\ufff0-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
)
JOINERS = "\u200c\u200d\ufe00-\ufe0f"
INVISIBLE = HIDDEN + JOINERS
_INVISIBLE = re.compile(f"[{INVISIBLE}]")
# What `shown` rewrites: controls, hidden characters (bidi controls among them), and the
# surrogates that stand for bytes that are not UTF-8.
_UNSHOWABLE = re.compile(f"[\x00-\x1f\x7f-\x9f{HIDDEN}\udc80-\udcff]")
# Controls and surrogates only, not the hidden characters: for a name that must still name its file.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\udc80-\udcff]")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def find(text: str) -> str | None:
    """The first control character in `text`, spelled as `shown` prints it; None when there is none."""
    if text.isprintable():  # no control character (Cc) then; 3x faster than the search over MBs
        return None
    m = CONTROL.search(text)
    return _escape(m.group()) if m else None


def invisible(text: str) -> str | None:
    """The first character in `text` that prints as nothing (INVISIBLE), spelled as `shown`
    prints it; None when there is none."""
    if text.isascii():
        return None
    m = _INVISIBLE.search(text)
    return _escape(m.group()) if m else None


def odd(text: str) -> tuple[str, str] | None:
    """What a name is told of, the first that applies: ("control", spelled) for a control
    character (TFC0001-E008), ("invisible", spelled) for one that prints as nothing
    (TFC0001-W004); None for neither."""
    if text.isascii() and text.isprintable():  # (isascii first: some invisible characters count as printable)
        return None
    bad = find(text)
    if bad:
        return "control", bad
    hidden = invisible(text)
    return None if hidden is None else ("invisible", hidden)


# How the doctor says it (TFC0001-W004), of a file in a managed folder or a path a record pins.
INVISIBLE_SAID = "a character that prints as nothing"
INVISIBLE_WHY = "the name reads as the same name without it, so two files can look alike in a listing or a review"
INVISIBLE_HINT = (
    "rename it without that character (letters, digits, '.', '_' and '-'; re-record it if a record pins "
    "it); if the name needs it (a joiner some scripts write with), set TFC0001-W004's severity in strataml.yaml"
)


CONTROL_FIX = "names are letters, digits, '.', '_' and '-', starting and ending with a letter or digit"


def refuse(value: str, what: str) -> None:
    """A StrataError (exit 3) when a name given to a command holds a control character."""
    bad = find(value)
    if bad is not None:
        raise StrataError(f"{what} '{shown(value)}' holds a control character ({bad})", CONTROL_FIX)


def undecodable(text: str) -> str:
    """`text` with the bytes that are not UTF-8 (surrogates, from file names) spelled `\\xNN`,
    and a surrogate that stands for no byte (JSON may spell a lone `\\ud800`) as `\\uNNNN`."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return undecodable(_LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


_LONE_SURROGATE = re.compile("[\ud800-\udc7f\udd00-\udfff]")  # (not U+DC80-DCFF: those stand for bytes)


def safe_to_show(text: str) -> bool:
    """Whether `shown(text)` is `text` itself: one search over many joined values is cheaper
    than a call per value (tables of 10,000 rows)."""
    return (text.isascii() and text.isprintable()) or _UNSHOWABLE.search(text) is None


def shown(text: str, hidden: bool = True) -> str:
    """`text` safe for a terminal or a line-based log: one line, no control characters (nor,
    unless not `hidden`, characters that print as nothing, bidirectional controls among them)."""
    if safe_to_show(text):
        return text
    return (_UNSHOWABLE if hidden else _CONTROLS).sub(lambda m: _escape(m.group()), text)


ELLIPSIS = "…"


def cut(text: str, width: int) -> str:
    """`text` within `width` characters; a cut one ends in an ellipsis, never looks whole (every
    table a reader prints: the CLI's, a comparison's)."""
    return text if len(text) <= width else text[: width - 1] + ELLIPSIS


def said(exc: BaseException, width: int = 300) -> str:
    """An exception's first line, safe to show and within `width`: a library's (MLflow's, a
    signing library's) can carry whole HTTP bodies, tracebacks or the bytes it choked on."""
    lines = str(exc).strip().splitlines()
    return cut(shown(lines[0]), width) if lines else type(exc).__name__


def _escape(char: str) -> str:
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if code < 0x80:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"  # a surrogate standing for one byte
    if code > 0xFFFF:
        return f"\\U{code:08x}"  # (a tag character: four digits would read as another character)
    return f"\\u{code:04x}"  # C1, bidi and other invisible characters


# What JSON output spells as \u escapes beyond the C0 controls json escapes itself: DEL, C1
# controls and the characters that print as nothing (bidi controls among them).
_JSON_UNSHOWABLE = re.compile(f"[\x7f-\x9f{HIDDEN}]")


def json_text(value: object, **options: object) -> str:
    """`json.dumps(value, **options)` with non-ASCII text kept readable (`José`), but DEL, C1
    controls and characters that print as nothing written as their `\\uNNNN` escapes: the same
    document to every parser, and nothing in it that a terminal acts on (U+009B opens a command
    as ESC [ does) or that reorders a line in a review (U+202E). json escapes C0 controls only."""
    return json_safe(json.dumps(value, ensure_ascii=False, **options))  # type: ignore[arg-type]


def json_utf8(text: str) -> bytes:
    """JSON text as UTF-8 bytes. A file name that is not UTF-8 on disk is read as surrogate
    escapes, which UTF-8 cannot hold: each is written as the JSON escape of its code point
    (`\\udcff`), read back as the same string (only a string can hold one)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace")


def json_safe(text: str) -> str:
    """JSON text (written with ensure_ascii=False) as json_text() writes it: only where a control
    or hidden character can be is in a string, so each is its escape there."""
    if text.isascii() and "\x7f" not in text:
        return text
    return _JSON_UNSHOWABLE.sub(_json_escape, text)


def _json_escape(m: re.Match[str]) -> str:
    return json_escape(m.group())


def json_escape(char: str) -> str:
    """One character as JSON's `\\uNNNN` escape (a UTF-16 surrogate pair past the BMP)."""
    code = ord(char)
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def plain(value: object) -> str:
    """A record's value in one line, spelt as in YAML and JSON (`true`, `null`, `[1, 2]`, `1e-05`),
    never as Python would (`True`, `None`, `['a']`); a string as it is. Exact: a parameter of
    0.00001 is not 0 (metrics, compared by eye, go through `number`)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
