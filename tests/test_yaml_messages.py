"""What a user reads about a YAML file that does not parse, or a field spelled wrong.

An unclosed `[`, `{` or quote was told at the line where the parser gave up (the next key,
lines later), in the parser's own words ("did not find expected ',' or ']'"), which libyaml
and PyYAML's own parser word differently. A misspelt field ("splitt") was "unexpected" with
no word of the field meant, where every other name in StrataML gets a "did you mean".
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import edit_yaml

from strataml import blockyaml, loading
from strataml.doctor import engine
from strataml.loading import load_bytes

SPEC = "experiments/flowers-logreg.yaml"
DATASET = "datasets/flowers/1/dataset.yaml"
CONFIG = "strataml.yaml"
PARSERS = ["CSafeLoader", "SafeLoader"]  # libyaml, and PyYAML's own parser (a build without libyaml)


@pytest.fixture(params=PARSERS)
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each PyYAML parser in turn (what blockyaml leaves is read by one of them)."""
    yaml = loading._yaml()
    if not hasattr(yaml, request.param):
        pytest.skip(f"this PyYAML has no {request.param} (built without libyaml)")
    monkeypatch.setattr(loading, "_LOADER", getattr(yaml, request.param))
    return str(request.param)


def _break(ws: Path, rel: str, pattern: str, broken: str) -> tuple[int, int]:
    """Replace the one line matching `pattern` with `broken`; its line and the next key's."""
    path = ws / rel
    lines = path.read_text().splitlines(keepends=True)
    at = [i for i, row in enumerate(lines) if re.fullmatch(pattern, row.rstrip("\n"))]
    assert len(at) == 1, (rel, pattern)
    lines[at[0]] = broken + "\n"
    path.write_text("".join(lines))
    later = next(i for i in range(at[0] + 1, len(lines)) if lines[i].strip() and not lines[i].lstrip().startswith("#"))
    return at[0] + 1, later + 1


@pytest.mark.parametrize(
    ("rel", "pattern", "broken", "opened", "found"),
    [
        (SPEC, "  target: species", "  target: [species", "the list opened with '['", ":"),
        # (the next lines, `  threshold_bytes: 10485760` among them, are read as the mapping's)
        (CONFIG, "lfs:", "lfs: {threshold_bytes: 10", "the mapping opened with '{'", "threshold_bytes:"),
        (DATASET, "rows: 6", "rows: [150", "the list opened with '['", ":"),
    ],
    ids=["spec", "config", "dataset"],
)
def test_an_unclosed_bracket_is_told_at_the_line_it_opened(
    ws: Path, parser: str, rel: str, pattern: str, broken: str, opened: str, found: str
) -> None:
    line, later = _break(ws, rel, pattern, broken)
    text = (ws / rel).read_text()
    assert blockyaml.parse(text, True, loading.MAX_NODES, loading.MAX_DEPTH) is None  # (PyYAML reads it)
    said = [(f.code, f.path, f.line, f.hint) for f in engine.doctor(ws).findings if f.code == loading.SYNTAX]
    assert [s[:3] for s in said] == [(loading.SYNTAX, rel, line)], parser
    assert said[0][3].startswith(f"{opened} on line {line} is not closed (found {found!r} on line {later}): "), said


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        # The file ends inside the list: the parser names the end, and its context is no bracket.
        (
            "schema: strataml/keys/v1\nkeys:\n  - fingerprint: [\n",
            3,
            "the list opened with '[' on line 3 is not closed (found the end of the file)",
        ),
        ("a: 1\nb: [1, 2", 2, "the list opened with '[' on line 2 is not closed (found the end of the file)"),
        ("a: 1\nb: {c: 1,\n\n", 2, "the mapping opened with '{' on line 2 is not closed (found the end of the file)"),
        ("a: [1, {b: 2\nc: 3\n", 1, "the mapping opened with '{' on line 1 is not closed (found ':' on line 2)"),
        ("a: [1, 2}\nb: 1\n", 1, "the list opened with '[' on line 1 is not closed (found '}')"),
        ("a: 1\nb: [1\n---\nc: 2\n", 2, "the list opened with '[' on line 2 is not closed (found '---' on line 3)"),
        (
            'a: 1\nb: "abc\nc: 2\nd: 3\n',
            2,
            "the text quoted with '\"' on line 2 is not closed (found the end of the file)",
        ),
        ("a: [1, 'abc\nb: 1\n", 1, 'the text quoted with "\'" on line 1 is not closed (found the end of the file)'),
        # Closed by the next quote further down: the YAML breaks right after that one.
        (
            'a: "abc\nb: "x"\nc: 1\n',
            1,
            "the text quoted with '\"' on line 1 is not closed on that line (a quote on line 2 closes it)",
        ),
        ("a: 1\nb: [ü\r\nc: 2\r\n", 2, "the list opened with '[' on line 2 is not closed (found ':' on line 3)"),
    ],
    ids=[
        "ends-in-list",
        "ends-no-newline",
        "ends-in-mapping",
        "nested",
        "wrong-closer",
        "document-marker",
        "double-quote",
        "single-quote-in-list",
        "quote-closed-later",
        "crlf-non-ascii",
    ],
)
def test_both_parsers_say_the_same_of_what_was_left_open(parser: str, text: str, line: int, message: str) -> None:
    assert blockyaml.parse(text, True, loading.MAX_NODES, loading.MAX_DEPTH) is None
    for lines in (True, False):
        problems = load_bytes(text.encode(), lines=lines).problems
        assert [(p.code, p.line) for p in problems] == [(loading.SYNTAX, line)]
        # (The message stays the parser's, a baseline's fingerprint holding its words; the hint says it plainly.)
        assert problems[0].message.startswith("invalid YAML: ") and "not closed" not in problems[0].message
        assert problems[0].hint.startswith(message + ": add the "), problems[0].hint


@pytest.mark.parametrize(
    ("text", "code", "line"),
    [
        ('a: "long\n  text"\nb: 1\n c: 2\n', loading.SYNTAX, 4),  # a quote over two lines, closed as meant
        ("a: [1, @x]\n", loading.SYNTAX, 1),  # a character no token starts with: told where it is
        ('a: "abc\\q"\n', loading.SYNTAX, 1),  # a bad escape in a closed quote
        ("a:\n\tb: 1\n", loading.TAB_INDENT, 2),
    ],
    ids=["multi-line-quote", "bad-character", "bad-escape", "tab"],
)
def test_other_syntax_errors_keep_their_own_line(parser: str, text: str, code: str, line: int) -> None:
    problems = load_bytes(text.encode()).problems
    assert [(p.code, p.line) for p in problems] == [(code, line)]
    assert "not closed" not in problems[0].message and "not closed" not in problems[0].hint


def _schema_messages(ws: Path, rel: str) -> list[tuple[int | None, str]]:
    """(line, message; hint) of the findings on `rel`: the advice is the hint's, the message as it was."""
    return [(f.line, f"{f.message} | {f.hint}") for f in engine.doctor(ws).findings if f.path == rel]


def test_a_misspelt_field_of_a_spec_is_offered_the_field_meant(ws: Path) -> None:
    edit_yaml(ws / SPEC, lambda d: d.update(splitt=d.pop("split")))
    lines = (ws / SPEC).read_text().splitlines()
    found = _schema_messages(ws, SPEC)
    assert [m.split("; fix ")[0] for _, m in found] == [
        "document: Additional properties are not allowed ('splitt' was unexpected; a field of your own starts with "
        "x-) | did you mean 'split'?"
    ]
    assert lines[found[0][0] - 1].startswith("splitt:")  # (told at the key's own line)


def test_a_misspelt_field_of_the_config_is_offered_the_field_meant(ws: Path) -> None:
    text = (ws / CONFIG).read_text()
    (ws / CONFIG).write_text(text.replace("\ndoctor:", "\ndoctr:", 1))
    found = [(f.message, f.hint) for f in engine.doctor(ws).findings if f.path == CONFIG]
    assert found == [
        (
            "document: Additional properties are not allowed ('doctr' was unexpected; a field of your own starts with x-)",
            "did you mean 'doctor'?; fix strataml.yaml; `strataml schema workspace` prints the schema",
        )
    ]


def test_a_field_is_offered_from_its_own_mapping_only(ws: Path) -> None:
    """`model:` takes type and params: `seeds` there is not offered the top level's `seed`."""
    edit_yaml(ws / SPEC, lambda d: d["model"].update(seeds=1))
    assert [m.split("; fix ")[0] for _, m in _schema_messages(ws, SPEC)] == [
        "model: Additional properties are not allowed ('seeds' was unexpected) | allowed here: type, params"
    ]


def test_several_misspelt_fields_are_each_offered_theirs(ws: Path) -> None:
    edit_yaml(ws / SPEC, lambda d: d["data"].update(datset=d["data"].pop("dataset"), targte="x", zzz=1))
    found = [m.split("; fix ")[0] for _, m in _schema_messages(ws, SPEC) if "Additional" in m]
    assert found == [
        "data: Additional properties are not allowed ('datset', 'targte', 'zzz' were unexpected) | "
        "allowed here: dataset, file, target, features, synthetic; "
        "did you mean 'dataset' for 'datset', 'target' for 'targte'?"
    ]


def test_nothing_close_lists_the_fields_when_few_and_says_where_x_fields_are_taken(ws: Path) -> None:
    edit_yaml(ws / SPEC, lambda d: d.update(zzz=1))
    assert [m.split("; fix ")[0] for _, m in _schema_messages(ws, SPEC)] == [
        "document: Additional properties are not allowed ('zzz' was unexpected; a field of your own starts with x-) | "
        "allowed here: schema, name, description, plugin, data, model, split, seed, tags, gates, register"
    ]


def test_many_fields_are_not_listed(ws: Path) -> None:
    run = next(p for p in (ws / "runs").glob("*/run.yaml"))
    edit_yaml(run, lambda d: d.update(zzz=1, metrix=1))
    found = [(f.message, f.hint) for f in engine.doctor(ws).findings if f.path == run.relative_to(ws).as_posix()]
    assert [(m, h.split("; ")[0]) for m, h in found] == [
        (
            "document: Additional properties are not allowed ('zzz', 'metrix' were unexpected; "
            "a field of your own starts with x-)",
            "did you mean 'metrics' for 'metrix'?",
        )
    ]


def test_an_extension_field_is_offered_no_field(ws: Path) -> None:
    """TFC-0001 section 0: an x- field is one of the author's own, meant as written. Where none
    is taken (under `model:`), it is unexpected, and no field is offered for it."""
    edit_yaml(ws / SPEC, lambda d: (d.update({"x-team": "fraud"}), d["model"].update({"x-type": "t"})))
    assert [m.split(" | ")[0] for _, m in _schema_messages(ws, SPEC)] == [
        "model: Additional properties are not allowed ('x-type' was unexpected)"
    ]
    assert not any("did you mean" in m for _, m in _schema_messages(ws, SPEC))


def test_the_messages_a_baseline_holds_are_the_ones_it_was_written_with(ws: Path) -> None:
    """A baseline matches a finding by its message's words: the advice added to these findings
    (did you mean, an unclosed bracket's line) is in the hint, so a baseline written before still
    holds them. The messages as 0.1 wrote them."""
    edit_yaml(ws / SPEC, lambda d: d.update(sed=1))
    (ws / CONFIG).write_text((ws / CONFIG).read_text() + "lfs: {threshold_bytes: 10\n")
    said = {(f.path, f.message) for f in engine.doctor(ws).findings}
    assert (SPEC, "document: Additional properties are not allowed ('sed' was unexpected; a field of your own "
            "starts with x-)") in said, said
    assert any(path == CONFIG and message.startswith("invalid YAML: ") and "not closed" not in message
               for path, message in said), said


# (code, message) as 2961fb4 wrote them, each parser: what a baseline written then holds.
AS_WRITTEN = {
    'a: "x\n\tb: "y"\n': {
        'CSafeLoader': [('TFC0001-E104', 'tab character used for indentation')],
        'SafeLoader': [('TFC0001-E104', 'tab character used for indentation')],
    },
    'a: "x\n\ty': {
        'CSafeLoader': [('TFC0001-E104', 'tab character used for indentation')],
        'SafeLoader': [('TFC0001-E104', 'tab character used for indentation')],
    },
    "a: 'x\n\tb: 'y'\n": {
        'CSafeLoader': [('TFC0001-E104', 'tab character used for indentation')],
        'SafeLoader': [('TFC0001-E104', 'tab character used for indentation')],
    },
    'a: [1, 2,\n\t': {
        'CSafeLoader': [('TFC0001-E105', 'invalid YAML: did not find expected node content')],
        'SafeLoader': [('TFC0001-E104', 'tab character used for indentation')],
    },
    'a: [1, 2\nb: 3\n': {
        'CSafeLoader': [('TFC0001-E105', "invalid YAML: did not find expected ',' or ']'")],
        'SafeLoader': [('TFC0001-E105', "invalid YAML: expected ',' or ']', but got ':'")],
    },
    'a: "abc\nb: "x"\nc: 1\n': {
        'CSafeLoader': [('TFC0001-E105', 'invalid YAML: did not find expected key')],
        'SafeLoader': [('TFC0001-E105', "invalid YAML: expected <block end>, but found '<scalar>'")],
    },
    'a: {b: 1\n': {
        'CSafeLoader': [('TFC0001-E105', "invalid YAML: did not find expected ',' or '}'")],
        'SafeLoader': [('TFC0001-E105', "invalid YAML: expected ',' or '}', but got '<stream end>'")],
    },
    'k:\n  - [1, 2\n  - 3\n': {
        'CSafeLoader': [('TFC0001-E105', "invalid YAML: did not find expected ',' or ']'")],
        'SafeLoader': [('TFC0001-E105', "invalid YAML: expected ',' or ']', but got '<stream end>'")],
    },
    'a: 1\nb: [1, 2': {
        'CSafeLoader': [('TFC0001-E105', "invalid YAML: did not find expected ',' or ']'")],
        'SafeLoader': [('TFC0001-E105', "invalid YAML: expected ',' or ']', but got '<stream end>'")],
    },
    'a:\n\tb: 1\n': {
        'CSafeLoader': [('TFC0001-E104', 'tab character used for indentation')],
        'SafeLoader': [('TFC0001-E104', 'tab character used for indentation')],
    },
}


@pytest.mark.parametrize("text", sorted(AS_WRITTEN))
def test_syntax_findings_keep_the_code_and_message_a_baseline_holds(parser: str, text: str) -> None:
    """The hint got better (an unclosed bracket's opening line); the code and message did not
    change: a tab-indented line after an open quote was E104 and had become E105."""
    problems = load_bytes(text.encode()).problems
    assert [(p.code, p.message) for p in problems] == AS_WRITTEN[text][parser]
