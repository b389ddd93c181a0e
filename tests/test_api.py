"""`strataml serve` for real: the console script in a subprocess on a free loopback port, real HTTP,
the example workspace and the positive fixture. Every answer is checked against what the matching
CLI command prints (run in this process through the CLI's own entry point, `strataml.cli.main.run`,
as conftest.invoke does), never against values written down here."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib
import io
import json
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from conftest import (
    POSITIVE,
    ROOT,
    age,
    assert_policy_names_inline_code,
    copy_example,
    edit_yaml,
    read_yaml,
    require_extra,
)
from serving import Answer, Server, listing

try:  # the dev extra; absent in the core-only job, where the test that needs it is skipped
    import schemathesis
except ImportError:  # pragma: no cover - core-only
    schemathesis = None

API = "/api/v1"
KINDS = ("datasets", "runs", "models", "experiments")
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def importable(*modules: str) -> bool:
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# helpers


_CLI_LOCK = threading.Lock()


def cli(ws: Path, *args: str) -> tuple[int, str, str]:
    """`strataml -C WS ARGS` through the CLI's entry point: (exit code, stdout, stderr)."""
    from strataml.cli.main import run

    out, err = io.StringIO(), io.StringIO()
    with _CLI_LOCK, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(["-C", str(ws), *args])
    return code, out.getvalue(), err.getvalue()


def cli_json(ws: Path, *args: str) -> Any:
    code, out, err = cli(ws, *args, "--format", "json")
    assert code in ((0, 1, 2) if args[0] == "doctor" else (0,)), (args, code, err)  # doctor: 1 warnings, 2 errors
    return json.loads(out)


def q(ref: str) -> str:
    return quote(ref, safe=":@")


def copy_positive(target: Path) -> Path:
    shutil.copytree(POSITIVE, target, symlinks=True)
    return target


def refs_of(ws: Path) -> list[str]:
    code, out, err = cli(ws, "index", "-o", "-")
    assert code == 0, err
    return [n["id"] for n in json.loads(out)["nodes"]]


def assert_problem(answer: Answer, status: int | None = None, *, ws: Path | None = None) -> dict[str, Any]:
    """An error as the issue says: problem+json with code/message/hint, no traceback, no path of this machine."""
    if status is not None:
        assert answer.status == status, (answer.status, answer.body[:500])
    assert 400 <= answer.status < 500, (answer.status, answer.body[:500])
    assert answer.type == "application/problem+json", answer.headers
    body = answer.json()
    assert body["status"] == answer.status
    for key in ("code", "message", "hint", "type", "title"):
        assert isinstance(body.get(key), str), (key, body)
    text = answer.body.decode("utf-8", "replace")
    assert "Traceback" not in text and 'File "' not in text
    for secret in {str(ROOT), str(Path.home()), *((str(ws), str(ws.resolve())) if ws else ())}:
        if secret not in ("/", ""):
            assert secret not in text, (secret, text)
    assert answer.headers.get("x-content-type-options") == "nosniff"
    assert "default-src 'none'" in answer.headers.get("content-security-policy", "")
    return body


def stop_cleanly(server: Server) -> None:
    code, err = server.stop()
    assert code == 0, err
    assert "Traceback" not in err, err


@contextlib.contextmanager
def running(exe: list[str], ws: Path, logs: Path, *args: str):
    server = Server(exe, ws, logs, args).start()
    try:
        yield server
    finally:
        stop_cleanly(server)


def walk_pages(server: Server, what: str, params: list[tuple[str, str]], limit: int = 1) -> list[dict[str, Any]]:
    """Every row of a list endpoint, following `next` from page to page."""
    rows: list[dict[str, Any]] = []
    cursor = None
    for _ in range(10_000):
        query = [*params, ("limit", str(limit))] + ([("cursor", cursor)] if cursor else [])
        page = server.ok_json(f"{API}/{what}?{urlencode(query)}")
        assert set(page) == {"rows", "total", "next"}
        assert len(page["rows"]) <= limit
        rows += page["rows"]
        cursor = page["next"]
        if cursor is None:
            assert len(rows) == page["total"]
            return rows
    raise AssertionError("the cursors never end")


# ---------------------------------------------------------------------------------------------
# servers: one per module and workspace


@pytest.fixture(scope="module")
def serve_extra() -> None:
    require_extra("fastapi", "serve")
    require_extra("uvicorn", "serve")


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_example(tmp_path_factory.mktemp("api") / "example")


@pytest.fixture(scope="module")
def example_before(example: Path) -> dict[str, tuple[str, int, int]]:
    return listing(example)


@pytest.fixture(scope="module")
def server(serve_extra: None, strataml_exe: list[str], example: Path, example_before: Any, tmp_path_factory) -> Any:
    """The example workspace, served as `strataml serve` serves it by default."""
    with running(strataml_exe, example, tmp_path_factory.mktemp("logs")) as srv:
        yield srv


@pytest.fixture(scope="module")
def findings_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The positive fixture with findings: two unrecorded files (TFC0006-W001), one changed file (TFC0006-E002)."""
    ws = copy_positive(tmp_path_factory.mktemp("api") / "ws")
    (ws / "datasets/sales/1/notes.txt").write_text("a note\n", "utf-8")
    (ws / "datasets/flowers/1/extra.txt").write_text("more\n", "utf-8")
    csv = ws / "datasets/flowers/1/flowers.csv"
    csv.write_bytes(csv.read_bytes().replace(b"setosa", b"setosb", 1))  # same size, other content
    age(ws)
    return ws


@pytest.fixture(scope="module")
def findings_server(serve_extra: None, strataml_exe: list[str], findings_ws: Path, tmp_path_factory) -> Any:
    """The findings workspace, started with --cors and --allowed-host."""
    args = ("--cors", "http://ui.example", "--allowed-host", "strata.internal")
    with running(strataml_exe, findings_ws, tmp_path_factory.mktemp("logs"), *args) as srv:
        yield srv


@pytest.fixture(scope="module")
def mutable_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_positive(tmp_path_factory.mktemp("api") / "mutable")


@pytest.fixture(scope="module")
def mutable_server(serve_extra: None, strataml_exe: list[str], mutable_ws: Path, tmp_path_factory) -> Any:
    with running(strataml_exe, mutable_ws, tmp_path_factory.mktemp("logs")) as srv:
        yield srv


# ---------------------------------------------------------------------------------------------
# 1. every endpoint's JSON is what the matching command prints


def test_the_server_prints_its_loopback_url(server: Server, example: Path) -> None:
    assert server.stdout().startswith(f"Serving {example} at http://127.0.0.1:{server.port}/")
    # ("read-only" was said with or without --read-only, which means writing nothing: a new user's finding)
    assert "GET only; keeps its index and cache in .strataml/)" in server.stdout()
    assert server.proc is not None and server.proc.poll() is None


def test_records_are_what_show_prints(server: Server, example: Path) -> None:
    refs = refs_of(example)
    assert len(refs) == sum(len(cli_json(example, "list", what)) for what in KINDS)
    for ref in [*refs, "model:iris-classifier"]:  # model:NAME alone means the latest version
        assert server.ok_json(f"{API}/records/{q(ref)}") == cli_json(example, "show", ref), ref


def test_the_console_script_prints_what_the_entry_point_does(
    server: Server, example: Path, strataml_exe: list[str]
) -> None:
    """The in-process CLI the other tests compare with is the console script's output, byte for byte."""
    ref = "model:iris-classifier@1"
    done = subprocess.run(
        [*strataml_exe, "-C", str(example), "show", ref, "--format", "json"], capture_output=True, text=True, check=True
    )
    assert done.stdout == cli(example, "show", ref, "--format", "json")[1]
    assert server.ok_json(f"{API}/records/{q(ref)}") == json.loads(done.stdout)


def test_lineage_is_what_lineage_prints_in_every_direction_and_depth(server: Server, example: Path) -> None:
    flags = {"both": (), "up": ("--upstream",), "down": ("--downstream",)}
    for ref in refs_of(example):
        for direction, flag in flags.items():
            for depth in (None, 1, 2):
                extra = ("--depth", str(depth)) if depth else ()
                params = {"direction": direction, **({"depth": depth} if depth else {})}
                got = server.ok_json(f"{API}/lineage/{q(ref)}?{urlencode(params)}")
                assert got == cli_json(example, "lineage", ref, *flag, *extra), (ref, direction, depth)
    # The default direction is both.
    ref = "model:iris-classifier@1"
    assert server.ok_json(f"{API}/lineage/{q(ref)}") == cli_json(example, "lineage", ref)


def cli_age(example: Path, row: dict[str, Any]) -> str:
    """The age cell `list runs` shows for `row` now."""
    from strataml.read.query import age

    return age(row.get("created"))


def _list_queries(example: Path) -> list[tuple[str, list[tuple[str, str]], list[str]]]:
    """(kind, query parameters, the same as `list` options), with filter values and sort keys taken
    from what `list` itself prints."""
    queries: list[tuple[str, list[tuple[str, str]], list[str]]] = []
    for what in KINDS:
        rows = cli_json(example, "list", what)
        assert rows, what
        queries.append((what, [], []))
        queries.append((what, [("sort", "name"), ("desc", "true")], ["--sort", "name", "--desc"]))
        queries.append((what, [("sort", "id")], ["--sort", "id"]))
    runs = cli_json(example, "list", "runs")
    metric = sorted(runs[0]["metrics"])[0]
    experiment = runs[0]["experiment"]
    queries += [
        ("runs", [("sort", metric), ("desc", "true")], ["--sort", metric, "--desc"]),
        ("runs", [("sort", metric)], ["--sort", metric]),
        ("runs", [("filter", f"experiment={experiment}")], ["--filter", f"experiment={experiment}"]),
        (
            "runs",
            [("filter", f"status={runs[0]['status']}"), ("sort", metric), ("desc", "true")],
            ["--filter", f"status={runs[0]['status']}", "--sort", metric, "--desc"],
        ),
        ("runs", [("filter", "status=no-such-status")], ["--filter", "status=no-such-status"]),
        # The table's headers, as `list` takes them (a new user found sort=age and sort=run refused).
        ("runs", [("sort", "age")], ["--sort", "age"]),
        ("runs", [("sort", "run"), ("desc", "true")], ["--sort", "run", "--desc"]),
        ("runs", [("filter", f"run={runs[0]['name']}")], ["--filter", f"run={runs[0]['name']}"]),
        ("runs", [("filter", f"age={cli_age(example, runs[0])}")], ["--filter", f"age={cli_age(example, runs[0])}"]),
        ("models", [("sort", "model")], ["--sort", "model"]),
    ]
    models = cli_json(example, "list", "models")
    for key in ("state", "gate"):
        if key in models[0]:
            value = models[0][key]
            value = value if isinstance(value, str) else json.dumps(value)
            queries.append(("models", [("filter", f"{key}={value}")], ["--filter", f"{key}={value}"]))
    return queries


def test_lists_are_what_list_prints_and_cursors_walk_them_in_order(server: Server, example: Path) -> None:
    queries = _list_queries(example)
    for what, params, options in queries:
        expected = cli_json(example, "list", what, *options)
        page = server.ok_json(f"{API}/{what}?{urlencode(params)}")
        assert page["rows"] == expected and page["total"] == len(expected) and page["next"] is None, (what, params)
        assert walk_pages(server, what, params, limit=1) == expected, (what, params)
        assert walk_pages(server, what, params, limit=2) == expected, (what, params)
    # A filter that matches one kind's rows only in part really filters.
    assert any(0 < len(cli_json(example, "list", w, *o)) < len(cli_json(example, "list", w)) for w, _p, o in queries)


@pytest.mark.parametrize(
    ("target", "hint"),
    [
        ("runs?limit=1&next={next}", "pass the `next` of the previous page as `cursor`"),
        ("runs?limt=1", "did you mean limit?"),
        ("findings?sevrity=error", "did you mean severity?"),
        ("lineage/model:iris-classifier@1?dir=up", "did you mean direction?"),
        ("workspace?verbose=1", "this takes no parameters"),
    ],
)
def test_a_query_parameter_the_route_does_not_take_is_refused(server: Server, target: str, hint: str) -> None:
    """Ignored, `next=` for `cursor=` would answer the first page forever, and a misspelt filter
    would filter nothing while looking applied."""
    page = server.ok_json(f"{API}/runs?limit=1")
    body = assert_problem(server.get(f"{API}/" + target.format(next=page["next"])), 400)
    assert body["code"] == "unknown-parameter" and body["hint"] == hint, body
    assert server.get("/?from=bookmark").status == 200  # the page is not the API: its query is the browser's


def test_a_value_outside_a_choice_names_the_choices(server: Server) -> None:
    for target, said in (("findings?severity=fatal", "query.severity: Input should be 'error', 'warning' or 'info'"),
                         ("lineage/model:iris-classifier@1?direction=sideways",
                          "query.direction: Input should be 'up', 'down' or 'both'")):
        body = assert_problem(server.get(f"{API}/{target}"), 400)
        assert body["code"] == "bad-parameter" and body["message"] == said, body


def test_a_control_character_in_a_parameter_name_is_escaped_once(server: Server) -> None:
    body = assert_problem(server.get(f"{API}/runs?%00=1"), 400)
    assert body["message"] == "unknown query parameter '\\x00'", body  # the text holds one backslash


def test_a_parameter_that_takes_one_value_is_refused_given_twice(server: Server) -> None:
    """limit=1&limit=3 answered 3 rows: one value kept, the other dropped without a word."""
    for target in ("runs?limit=1&limit=3", "runs?sort=created&sort=name", "findings?severity=error&severity=info"):
        body = assert_problem(server.get(f"{API}/{target}"), 400)
        assert body["code"] == "repeated-parameter" and body["hint"] == "give it once", body
    both = server.ok_json(f"{API}/runs?filter=status%3Dsucceeded&filter=experiment%3Diris-logreg")
    assert [r["experiment"] for r in both["rows"]] == ["iris-logreg"]  # filter is repeatable: all must hold


def test_a_cursor_belongs_to_its_query(server: Server) -> None:
    first = server.ok_json(f"{API}/runs?limit=1")
    assert first["next"]
    body = assert_problem(server.get(f"{API}/runs?limit=1&desc=true&cursor={first['next']}"), 400)
    assert body["code"] == "bad-cursor"
    assert_problem(server.get(f"{API}/runs?cursor=not-a-cursor"), 400)
    forged = base64.urlsafe_b64encode(b'{"after": 1, "q": "x"}').decode().rstrip("=")
    assert_problem(server.get(f"{API}/runs?cursor={forged}"), 400)


def test_the_index_is_what_index_prints_and_its_digest_is_the_etag(server: Server, example: Path) -> None:
    code, out, err = cli(example, "index", "-o", "-")
    assert code == 0, err
    answer = server.get(f"{API}/index")
    assert answer.status == 200 and answer.type == "application/json"
    assert answer.body == out.encode("utf-8")
    digest = hashlib.sha256(answer.body).hexdigest()
    assert answer.headers["etag"] == f'"{digest}"'
    assert server.ok_json(f"{API}/workspace")["index"]["digest"] == digest


def test_the_workspace_summary_counts_what_list_and_doctor_print(server: Server, example: Path) -> None:
    got = server.ok_json(f"{API}/workspace")
    _code, out, _ = cli(example, "index", "-o", "-")
    assert got["name"] == json.loads(out)["workspace"]
    assert got["counts"] == {what: len(cli_json(example, "list", what)) for what in KINDS}
    summary = cli_json(example, "doctor")["summary"]
    assert {k: got["health"][k] for k in ("errors", "warnings", "infos")} == {
        k: summary[k] for k in ("errors", "warnings", "infos")
    }
    assert got["index"]["fresh"] is True


def test_rules_are_the_doctors_rules(server: Server, example: Path) -> None:
    listed = cli_json(example, "doctor", "--list-rules")
    served = server.ok_json(f"{API}/rules")
    assert [r["code"] for r in served] == [r["code"] for r in listed]
    assert served == listed  # one document per rule, whoever asks
    for rule in listed[:: max(1, len(listed) // 8)] + listed[-1:]:
        one = server.ok_json(f"{API}/rules/{rule['code']}")
        assert one == cli_json(example, "doctor", "--explain", rule["code"])
        assert {k: v for k, v in one.items() if k != "body"} == rule and one["body"]
        code, explained, _ = cli(example, "doctor", "--explain", rule["code"])
        assert code == 0 and f"# {rule['code']} {rule['name']}" in explained
    assert server.ok_json(f"{API}/rules/{listed[0]['code'].lower()}")["code"] == listed[0]["code"]
    body = assert_problem(server.get(f"{API}/rules/TFC9999-E999"), 404)
    assert body["code"] == "unknown-rule"


def test_compare_is_strataml_compare(server: Server, example: Path) -> None:
    runs = [r["id"] for r in cli_json(example, "list", "runs")]
    got = server.ok_json(f"{API}/compare?{urlencode({'refs': ','.join(runs)})}")
    assert got == cli_json(example, "compare", *runs)
    assert {g["name"] for g in got["groups"]} == {"record", "metrics", "params", "inputs", "code", "environment"}
    only = server.ok_json(f"{API}/compare?{urlencode({'refs': ','.join(runs[:2]), 'diff_only': 'true'})}")
    assert only == cli_json(example, "compare", *runs[:2], "--diff-only")
    datasets = [r["id"] for r in cli_json(example, "list", "datasets")]
    assert_problem(server.get(f"{API}/compare?{urlencode({'refs': ','.join(datasets[:2])})}"), 400)
    assert_problem(server.get(f"{API}/compare?refs={q(runs[0])}"), 400)
    assert_problem(server.get(f"{API}/compare?{urlencode({'refs': ','.join([runs[0]] * 21)})}"), 400)
    assert_problem(server.get(f"{API}/compare?{urlencode({'refs': runs[0] + ',run:nope'})}"), 404)


def test_findings_filter_by_code_severity_and_path(findings_server: Server, findings_ws: Path) -> None:
    everything = cli_json(findings_ws, "doctor")["findings"]
    codes = {f["code"] for f in everything}
    assert {"TFC0006-W001", "TFC0006-E002"} <= codes, everything  # the workspace has what the test needs

    def key(findings: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return sorted((f["code"], f["severity"], f["path"], f["line"], f["message"], f["hint"]) for f in findings)

    def served(**params: str) -> list[dict[str, Any]]:
        return findings_server.ok_json(f"{API}/findings?{urlencode(params)}")

    assert key(served()) == key(everything)
    for prefix in ("TFC0006", "TFC0006-W001", "TFC0006-E", "TFC00"):
        assert key(served(code=prefix)) == key(cli_json(findings_ws, "doctor", "--select", prefix)["findings"])
    for severity in ("error", "warning", "info"):
        assert key(served(severity=severity)) == key([f for f in everything if f["severity"] == severity])
    notes = next(f["path"] for f in everything if f["code"] == "TFC0006-W001")
    folder = notes.rsplit("/", 1)[0]
    assert key(served(path=notes)) == key([f for f in everything if f["path"] == notes])
    assert key(served(path=folder)) == key([f for f in everything if f["path"].startswith(folder + "/")])
    assert key(served(path=folder + "/")) == key(served(path=folder))
    partial = folder[: folder.index("/") + 3]  # "datasets/fl": a string prefix, not a folder
    assert served(path=partial) == []  # a path is a file or folder, not a string prefix
    assert key(served(code="TFC0006", severity="warning", path="datasets")) == key(
        [f for f in everything if f["code"].startswith("TFC0006") and f["severity"] == "warning"]
    )
    summary = cli_json(findings_ws, "doctor")["summary"]
    health = findings_server.ok_json(f"{API}/workspace")["health"]
    assert (health["errors"], health["warnings"], health["infos"]) == (
        summary["errors"],
        summary["warnings"],
        summary["infos"],
    )


def test_records_with_findings_are_what_show_prints(findings_server: Server, findings_ws: Path) -> None:
    for ref in refs_of(findings_ws):
        assert findings_server.ok_json(f"{API}/records/{q(ref)}") == cli_json(findings_ws, "show", ref), ref


# ---------------------------------------------------------------------------------------------
# 2. GET and HEAD only


def _targets(example: Path, openapi: dict[str, Any]) -> list[str]:
    """One request target per route of the OpenAPI document, plus the dashboard."""
    runs = [r["id"] for r in cli_json(example, "list", "runs")]
    fill = {"{ref}": q("model:iris-classifier@1"), "{code}": "TFC0006-W001"}
    targets = ["/"]
    for path in sorted(openapi["paths"]):
        target = re.sub(r"\{[a-z]+\}", lambda m: fill[m.group(0)], path)
        targets.append(target + (f"?refs={q(runs[0])},{q(runs[1])}" if path.endswith("/compare") else ""))
    return targets


@pytest.fixture(scope="module")
def openapi(server: Server) -> dict[str, Any]:
    answer = server.get(f"{API}/openapi.json")
    assert answer.status == 200 and answer.type == "application/json"
    return answer.json()


def test_every_route_answers_get_and_head_only(server: Server, example: Path, openapi: dict[str, Any]) -> None:
    targets = _targets(example, openapi)
    # /, the API's own address, workspace, workspaces (a federation's), 4 lists, records, lineage,
    # findings, rules x2, compare, index
    assert len(targets) == 15, targets
    for target in [*targets, f"{API}/openapi.json", f"{API}/no-such-route", "/docs"]:
        for method in (*WRITES, "OPTIONS", "TRACE"):
            answer = server.request(method, target, body=b"{}" if method in WRITES else None)
            assert answer.status == 405, (method, target, answer.status)
            assert answer.headers.get("allow") == "GET, HEAD", (method, target, answer.headers)
            assert assert_problem(answer, 405, ws=example)["code"] == "read-only"


def test_no_answer_names_a_path_of_this_machine(server: Server, example: Path, openapi: dict[str, Any]) -> None:
    targets = [*_targets(example, openapi), f"{API}/openapi.json"]
    targets += [f"{API}/records/{q(r)}" for r in refs_of(example)]
    for target in targets:
        text = server.get(target).body.decode("utf-8")
        for secret in (str(example), str(example.parent), str(ROOT), "/tmp/", "pytest-of-"):
            assert secret not in text, (target, secret)


def _head(server: Server, target: str) -> tuple[str, dict[str, str], bytes]:
    """HEAD over a raw socket: the status line, the headers and whatever bytes follow them."""
    raw = server.raw(f"HEAD {target} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nConnection: close\r\n\r\n".encode())
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers, rest


def test_head_gives_the_get_headers_and_no_body(server: Server, example: Path, openapi: dict[str, Any]) -> None:
    for target in [*_targets(example, openapi), f"{API}/records/run:nope", f"{API}/runs?limit=0"]:
        got = server.get(target)
        status, headers, rest = _head(server, target)
        assert status.split()[1] == str(got.status), (target, status, got.status)
        assert rest == b"", (target, rest[:200])
        drop = {"date", "connection"}
        assert {k: v for k, v in headers.items() if k not in drop} == {
            k: v for k, v in got.headers.items() if k not in drop
        }, target


# ---------------------------------------------------------------------------------------------
# 3. errors, hostile input, Host


def test_an_unknown_ref_is_404_with_the_closest_refs_the_cli_suggests(server: Server, example: Path) -> None:
    for ref in ("model:iris-classifer@1", "dataset:iris@2", "run:nope", "nothing-like-a-ref"):
        code, _out, err = cli(example, "show", ref)
        assert code != 0
        hint = re.search(r"hint: did you mean (.*)\?", err)
        expected = [c.strip() for c in hint.group(1).split(",")] if hint else []
        for target in (f"{API}/records/{q(ref)}", f"{API}/lineage/{q(ref)}"):
            body = assert_problem(server.get(target), 404, ws=example)
            assert body["code"] == "unknown-record" and body["closest"] == expected, (ref, body)
    # The mistyped one has suggestions at all: the comparison above is not [] == [].
    body = server.get(f"{API}/records/{q('model:iris-classifer@1')}").json()
    assert "model:iris-classifier@1" in body["closest"]


HOSTILE_TARGETS = [
    f"{API}/records/..%2f..%2fetc%2fpasswd",
    f"{API}/records/../../../../etc/passwd",
    f"{API}/records/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    f"{API}/lineage/..%2f..%2fetc%2fpasswd",
    f"{API}/records/%2e%2e%2f%2e%2e%2fstrataml.yaml",
    f"{API}/records/dataset:iris@1%00",
    f"{API}/records/%00",
    f"{API}/lineage/run%00x?direction=up",
    f"{API}/records/%ff",
    f"{API}/records/%c3%28%a0",
    f"{API}/lineage/%ff%fe?depth=2",
    f"{API}/runs?sort=%ff",
    f"{API}/runs?filter=%ff%fe",
    f"{API}/runs?cursor=%ff",
    f"{API}/findings?code={'x' * 65}",
    f"{API}/findings?severity=%00",
    f"{API}/rules/%ff",
    f"{API}/rules/..%2f..%2fetc%2fpasswd",
    f"{API}/compare?refs=%ff,%00",
    f"{API}/records/{'x' * 600}",
    f"{API}/runs?limit=1001",
    f"{API}/runs?limit=-1",
    f"{API}/runs?desc=maybe",
    f"{API}/lineage/run:x?direction=sideways",
    f"{API}/lineage/run:x?depth=0",
    f"{API}/runs?" + "&".join(["filter=a%3Db"] * 40),
    f"{API}/runs?q={'x' * 20_000}",
    f"{API}/records/{'y' * 20_000}",
]


@pytest.mark.parametrize("target", HOSTILE_TARGETS, ids=lambda t: t[len(API) + 1 :][:40])
def test_hostile_input_is_a_4xx_problem_never_a_5xx(server: Server, example: Path, target: str) -> None:
    answer = server.get(target)
    assert_problem(answer, ws=example)
    assert b"root:" not in answer.body  # nothing of /etc/passwd
    if len(target) > 8192:
        assert answer.status == 414


@pytest.mark.parametrize(
    ("target", "message", "hint"),
    [
        ("runs?filter=status", "filter 'status' is not KEY=VALUE", "e.g. filter=status=succeeded"),
        ("runs?filter=test_accuracy%3E%3D0.9",
         "filter 'test_accuracy>=0.9': a filter keeps the rows whose KEY is VALUE exactly; it does not compare "
         "(<, >, !=, ==)", "e.g. filter=status=succeeded; to rank rows by a metric, sort by it: sort=METRIC&desc=true"),
        ("runs?sort=nope", "sort: no field, metric or tag named 'nope'", "known: "),
        ("runs?filter=no--such%3D1", "filter: no field, metric or tag named 'no--such'", "known: "),
    ],
)
def test_a_bad_filter_or_sort_is_told_in_the_apis_words(server: Server, target: str, message: str, hint: str) -> None:
    answer = server.get(f"{API}/{target}")
    assert answer.status == 400
    body = answer.json()
    assert body["message"] == message and body["hint"].startswith(hint), body
    assert "--filter" not in body["message"] + body["hint"] and "--sort" not in body["message"] + body["hint"]


@pytest.mark.parametrize(
    "target",
    [
        f"{API}/runs?filter=status%3D%00",
        f"{API}/runs?filter=%ff%3D%fe",
        f"{API}/findings?code=%ff&path=%00",
        f"{API}/findings?path=..%2f..%2fetc%2fpasswd",
        f"{API}/findings?path=%2fetc%2fpasswd",
        f"{API}/runs?filter=tags.%00%3Dx&sort=id",
    ],
    ids=lambda t: t[len(API) + 1 :][:40],
)
def test_odd_query_values_are_data_never_a_5xx(server: Server, example: Path, target: str) -> None:
    """A filter value is compared, never used as a path: it matches nothing (or is refused)."""
    answer = server.get(target)
    assert answer.status < 500, answer.body[:300]
    if answer.status >= 400:
        assert_problem(answer, ws=example)
    else:
        body = answer.json()
        assert body in ([], {"rows": [], "total": 0, "next": None}), body


@pytest.mark.parametrize(
    "request_line",
    [
        b"GET /api/v1/records/\xff\xfe HTTP/1.1",
        b"GET /api/v1/runs?sort=\xc3\x28 HTTP/1.1",
        b"GET /api/v1/records/a b HTTP/1.1",
    ],
    ids=["raw-ff-in-path", "raw-bad-utf8-in-query", "space"],
)
def test_raw_non_utf8_bytes_are_refused_with_a_4xx(server: Server, request_line: bytes) -> None:
    raw = server.raw(request_line + f"\r\nHost: 127.0.0.1:{server.port}\r\nConnection: close\r\n\r\n".encode())
    status = int(raw.split(b" ", 2)[1])
    assert 400 <= status < 500, raw[:300]
    assert b"Traceback" not in raw


def test_a_file_name_that_is_not_utf8_is_answered_escaped_not_a_500(
    serve_extra: None, strataml_exe: list[str], tmp_path: Path
) -> None:
    """A spec file named with a byte that is not UTF-8 (read as a surrogate escape) made the page
    and every answer naming it a 500: Starlette encodes JSON as strict UTF-8."""
    import os

    ws = copy_positive(tmp_path / "odd")
    spec = next(p for p in sorted((ws / "experiments").iterdir()) if p.suffix == ".yaml")
    with open(os.fsencode(ws / "experiments") + b"/x\xff.yaml", "wb") as f:
        f.write(spec.read_bytes())
    with running(strataml_exe, ws, tmp_path / "logs") as srv:
        page = srv.get("/")
        assert page.status == 200, page.body[:300]
        listed = srv.ok_json("/api/v1/experiments")
        assert "experiment:x\udcff" in json.dumps(listed, ensure_ascii=False)
        assert b"x\\udcff" in srv.get("/api/v1/index").body


def test_controls_in_a_record_are_answered_escaped_as_the_cli_writes_them(
    serve_extra: None, strataml_exe: list[str], tmp_path: Path
) -> None:
    """Found by an attacker: a record's U+009B (which a terminal reads as ESC [) and U+202E reached
    a `curl` of the API raw, where `--format json` writes their escapes."""
    import subprocess

    ws = copy_positive(tmp_path / "odd")
    name = "sales-forecast"
    spec = ws / f"experiments/{name}.yaml"
    lines = spec.read_text().splitlines(keepends=True)
    (at,) = [i for i, line in enumerate(lines) if line.startswith("description:")]
    lines[at] = 'description: "ok\\x9b2J\\u202eevil"\n'
    spec.write_text("".join(lines))
    cli = subprocess.run([*strataml_exe, "-C", str(ws), "show", f"experiment:{name}", "--format", "json"],
                         capture_output=True)
    assert b"\\u009b2J\\u202eevil" in cli.stdout, cli.stdout[:400] + cli.stderr[:400]
    with running(strataml_exe, ws, tmp_path / "logs") as srv:
        body = srv.get(f"/api/v1/records/experiment:{name}").body
        assert "\u009b".encode() not in body and "\u202e".encode() not in body
        assert b"ok\\u009b2J\\u202eevil" in body, body[:400]


@pytest.mark.slow
def test_connections_that_never_finish_a_request_head_are_closed(
    serve_extra: None, strataml_exe: list[str], tmp_path: Path
) -> None:
    """MAX_CONNECTIONS connections that sent nothing, or a request head a byte at a time, held
    every other client at 503 for as long as they stayed open: uvicorn times a connection out
    only after a response. Each now has HEAD_SECONDS to send a request's head."""
    from strataml.cli.serve import HEAD_SECONDS, MAX_CONNECTIONS

    ws = copy_positive(tmp_path / "ws")
    with running(strataml_exe, ws, tmp_path / "logs") as srv:
        host = f"Host: 127.0.0.1:{srv.port}\r\n".encode()
        held = [socket.create_connection(("127.0.0.1", srv.port), timeout=30) for _ in range(MAX_CONNECTIONS)]
        try:
            held[0].sendall(b"GET / HTTP/1.1\r\n")  # a head begun, never ended
            # One request answered first on a kept-alive connection, then the next head dripped.
            held[1].sendall(b"GET /api/v1/workspace HTTP/1.1\r\n" + host + b"\r\n")
            assert held[1].recv(65536).startswith(b"HTTP/1.1 200")
            assert srv.get("/api/v1/workspace").status == 503  # (every place taken)
            start = time.monotonic()
            for byte in b"GET / HTTP/1.1\r\nX-Slow: " + b"a" * 40:
                if time.monotonic() - start > HEAD_SECONDS + 5:
                    break
                try:
                    held[1].sendall(bytes([byte]))
                except OSError:
                    break
                time.sleep(0.5)
            deadline = time.monotonic() + HEAD_SECONDS + 10
            while srv.get("/api/v1/workspace").status != 200:
                assert time.monotonic() < deadline, "the silent connections were never closed"
                time.sleep(0.5)
            for sock in (held[0], held[2]):
                sock.settimeout(5)
                try:
                    tail = sock.recv(65536)
                except ConnectionResetError:
                    tail = b""
                assert tail == b"" or tail.startswith(b"HTTP/1.1 4"), tail[:200]  # closed (or refused), never answered
            held[1].settimeout(5)
            while held[1].recv(65536):  # (the rest of its first answer, then its end)
                pass
        finally:
            for sock in held:
                sock.close()


def test_the_served_protocol_drops_an_answer_nobody_reads(serve_extra: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that asked for a page and read none of it held its place for as long as it liked
    (the answer waited for room in the socket): MAX_CONNECTIONS of them held every other client
    at 503. Once the socket is full, the answer waits WRITE_SECONDS for a read, then the
    connection is dropped; a read in time (the socket drains), or any read at all (less waits
    each time), keeps it. (The protocol on a
    transport that records what is done to it: a real socket needs megabytes unread to fill.)"""
    import asyncio

    import uvicorn
    from uvicorn.server import ServerState

    from strataml.cli import serve

    monkeypatch.setattr(serve, "WRITE_SECONDS", 0.05)

    class Transport(asyncio.Transport):
        def __init__(self, reads: bool = False) -> None:
            super().__init__()
            self.dropped = self.closed = False
            self.left, self.reads = 1 << 20, reads

        def get_extra_info(self, name: str, default: Any = None) -> Any:
            return default

        def get_write_buffer_size(self) -> int:
            if self.reads:  # (a slow reader: a little less waits each time it is asked)
                self.left -= 1
            return self.left

        def is_closing(self) -> bool:
            return self.dropped or self.closed

        def abort(self) -> None:
            self.dropped = True

        def close(self) -> None:
            self.closed = True

    async def scenario() -> tuple[bool, bool, bool]:
        config = uvicorn.Config(app=lambda scope, receive, send: None, lifespan="off")
        config.load()
        made = serve._bounded_h11()
        stalled, drained, slow = Transport(), Transport(), Transport(reads=True)
        for transport in (stalled, drained, slow):
            protocol = made(config=config, server_state=ServerState(), app_state={})
            protocol.connection_made(transport)
            protocol.pause_writing()  # (the socket is full: the client reads nothing)
            if transport is drained:
                await asyncio.sleep(0.01)
                protocol.resume_writing()  # (it read in time)
        await asyncio.sleep(0.3)
        return stalled.dropped, drained.dropped, slow.dropped

    # Read nothing: dropped. Read in time: kept. Read slowly, never enough to drain: kept.
    assert asyncio.run(scenario()) == (True, False, False)


def test_a_host_header_of_another_name_is_refused(server: Server, example: Path) -> None:
    port = server.port
    for host in (
        "evil.example",
        f"evil.example:{port}",
        "127.0.0.1.evil.example",
        f"localhost.evil:{port}",
        "10.0.0.1",
    ):
        for target in (f"{API}/workspace", "/", f"{API}/runs", f"{API}/openapi.json"):
            body = assert_problem(server.get(target, {"Host": host}), 400, ws=example)
            assert body["code"] == "unknown-host"
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "localhost", f"LOCALHOST:{port}", f"[::1]:{port}"):
        assert server.get(f"{API}/workspace", {"Host": host}).status == 200, host


def test_allowed_host_admits_that_name(findings_server: Server, findings_ws: Path) -> None:
    port = findings_server.port
    for host in ("strata.internal", f"strata.internal:{port}", f"localhost:{port}"):
        assert findings_server.get(f"{API}/workspace", {"Host": host}).status == 200, host
    for host in ("other.internal", f"strata.internal.evil:{port}"):
        assert_problem(findings_server.get(f"{API}/workspace", {"Host": host}), 400, ws=findings_ws)



def test_bound_to_every_interface_it_answers_its_addresses_and_names(
    serve_extra: None, strataml_exe: list[str], example: Path, tmp_path: Path
) -> None:
    """`--host 0.0.0.0` is reached by any address of the machine and by its name; a name (which DNS
    can rebind to this machine) still has to be this machine's own or allowed."""
    import socket

    with running(strataml_exe, example, tmp_path / "logs", "--host", "0.0.0.0") as srv:
        port = srv.port
        for host in (f"192.0.2.7:{port}", "10.1.2.3", f"[2001:db8::5]:{port}", socket.gethostname(), "localhost"):
            assert srv.get(f"{API}/workspace", {"Host": host}).status == 200, host
        body = assert_problem(srv.get(f"{API}/workspace", {"Host": f"evil.example:{port}"}), 400, ws=example)
        assert "--allowed-host" in body["hint"]
        assert "add --allowed-host NAME for each other name" in srv.stderr()


def refused_before_serving(exe: list[str], example: Path, *options: str) -> str:
    """`serve` with `options` exits 3 without serving; its stderr."""
    proc = subprocess.run(
        [*exe, "-C", str(example), "serve", "--port", "0", *options], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 3 and "Serving" not in proc.stdout, proc.stderr
    return proc.stderr


@pytest.mark.parametrize(
    ("origin", "said"),
    [
        ("*", "would let any site read this workspace"),
        ("null", "would let sandboxed and file:// pages read"),
        ("https://ui.example/", "is not an origin"),
        ("ui.example", "is not an origin"),
        ("https://ui.example/app", "is not an origin"),
        ("https://ui.example:99999", "port 99999 is past 65535"),
    ],
)
def test_cors_takes_origins_only(strataml_exe: list[str], example: Path, origin: str, said: str) -> None:
    assert said in refused_before_serving(strataml_exe, example, "--cors", origin)


@pytest.mark.parametrize("name", ["*", "*.example.org", ".example.org", "example.org:80", "example.org/x",
                                  "http://example.org", "a..b", ""])
def test_allowed_host_takes_a_name_as_clients_send_it(strataml_exe: list[str], example: Path, name: str) -> None:
    # Compared exactly with the Host header: a wildcard or port given here would match no request.
    assert "is not a host name or address" in refused_before_serving(strataml_exe, example, "--allowed-host", name)


def test_allowed_host_names_are_kept_as_the_host_header_compares_them() -> None:
    from strataml.cli.serve import _allowed_host

    assert _allowed_host("ML.Example.org.") == "ml.example.org" and _allowed_host("[::1]") == "::1"
    assert _allowed_host("my_service") == "my_service" and _allowed_host("10.0.0.7") == "10.0.0.7"


def test_an_origin_with_its_default_port_is_the_one_browsers_send() -> None:
    from strataml.cli.serve import _origin

    assert _origin("https://UI.example:443") == "https://ui.example"  # browsers omit a default port
    assert _origin("http://ui.example:80") == "http://ui.example"
    assert _origin("http://ui.example:443") == "http://ui.example:443"
    assert _origin("https://[::1]:443") == "https://[::1]" and _origin("http://localhost:3000") == "http://localhost:3000"


@pytest.mark.parametrize("host", ["", " "])
def test_an_empty_host_is_refused(strataml_exe: list[str], example: Path, host: str) -> None:
    """An empty address binds every interface while no Host header is one it answers."""
    assert "'--host': is empty" in refused_before_serving(strataml_exe, example, "--host", host)


# ---------------------------------------------------------------------------------------------
# 4. ETag, 304, and a change seen on the next request


def test_etag_gives_304_and_a_change_shows_within_seconds(mutable_server: Server, mutable_ws: Path) -> None:
    ref = "dataset:sales@1"
    target = f"{API}/records/{q(ref)}"
    first = mutable_server.get(target)
    etag = first.headers["etag"]
    assert first.json() == cli_json(mutable_ws, "show", ref)
    assert etag == f'"{hashlib.sha256(mutable_server.get(f"{API}/index").body).hexdigest()}"'
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = mutable_server.get(target, {"If-None-Match": header})
        assert again.status == 304 and again.body == b"" and again.headers["etag"] == etag, header
    assert mutable_server.get(target, {"If-None-Match": '"something-else"'}).status == 200

    meta = mutable_ws / "datasets/sales/1/dataset.yaml"
    description = f"changed while served {time.time()}"
    edit_yaml(meta, lambda d: d.update(description=description))
    age(mutable_ws)  # out of the two-second racy window
    # The watcher looks every second (or 5x a look's time) and rebuilds: a few seconds at most.
    deadline = time.monotonic() + 5
    changed = mutable_server.get(target, {"If-None-Match": etag})
    while changed.status == 304 and time.monotonic() < deadline:
        time.sleep(0.1)
        changed = mutable_server.get(target, {"If-None-Match": etag})
    assert changed.status == 200, changed.status
    assert changed.json() == cli_json(mutable_ws, "show", ref)
    assert read_yaml(meta)["description"] == description
    assert description in json.dumps(changed.json())
    assert changed.headers["etag"] != etag
    index = mutable_server.get(f"{API}/index")
    assert changed.headers["etag"] == index.headers["etag"] == f'"{hashlib.sha256(index.body).hexdigest()}"'
    assert index.body == cli(mutable_ws, "index", "-o", "-")[1].encode()


def test_a_change_without_waiting_out_the_racy_window_still_shows(mutable_server: Server, mutable_ws: Path) -> None:
    ref = "dataset:sales@1"
    before = mutable_server.get(f"{API}/records/{q(ref)}")
    description = f"fresh edit {time.time()}"
    edit_yaml(mutable_ws / "datasets/sales/1/dataset.yaml", lambda d: d.update(description=description))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        answer = mutable_server.get(f"{API}/records/{q(ref)}")
        if answer.headers["etag"] != before.headers["etag"]:
            break
        time.sleep(0.2)
    assert answer.status == 200 and answer.json()["attrs"]["description"] == description, answer.json()
    assert time.monotonic() < deadline


# ---------------------------------------------------------------------------------------------
# 5. concurrency during a rebuild


def test_concurrent_requests_during_a_rebuild_all_succeed(mutable_server: Server, mutable_ws: Path) -> None:
    age(mutable_ws)
    time.sleep(1.1)
    ref = "dataset:sales@1"
    target = f"{API}/records/{q(ref)}"
    old = cli_json(mutable_ws, "show", ref)
    old_etag = mutable_server.get(target).headers["etag"]
    assert mutable_server.get(target).json() == old
    description = f"edited under load {time.time()}"
    results: list[tuple[int, str, str | None, bytes]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(21)

    def client() -> None:
        try:
            start.wait()
            for _ in range(20):
                a = mutable_server.get(target)
                results.append((a.status, a.headers.get("etag", ""), a.headers.get("x-strataml-index"), a.body))
                time.sleep(0.25)  # ~5 s of asking: the watcher looks every second
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=client) for _ in range(20)]
    for t in threads:
        t.start()
    start.wait()
    edit_yaml(mutable_ws / "datasets/sales/1/dataset.yaml", lambda d: d.update(description=description))
    age(mutable_ws)
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert len(results) == 400
    assert [r for r in results if r[0] != 200] == []
    new = cli_json(mutable_ws, "show", ref)
    assert new != old
    bodies = {r[3] for r in results}
    assert {json.dumps(json.loads(b), sort_keys=True) for b in bodies} <= {
        json.dumps(old, sort_keys=True),
        json.dumps(new, sort_keys=True),
    }
    assert {r[2] for r in results} <= {None, "stale"}
    seen = {json.loads(b) == old for b in bodies}
    assert seen == {True, False}, "the change did not land while the clients were asking"
    # Each answer's ETag names the index it came from; a stale one is the old index.
    new_etag = mutable_server.get(target).headers["etag"]
    assert new_etag != old_etag
    for _status, etag, stale, body in results:
        assert etag == (old_etag if json.loads(body) == old else new_etag)
        if stale:
            assert etag == old_etag
    assert mutable_server.get(target).json() == new


# ---------------------------------------------------------------------------------------------
# 6. security headers, CORS, the dashboard, no CDN


def test_json_answers_carry_the_security_headers_and_no_cors(server: Server, example: Path, openapi: Any) -> None:
    for target in [*_targets(example, openapi), f"{API}/records/run:nope"]:
        answer = server.get(target, {"Origin": "https://evil.example"})
        csp = answer.headers.get("content-security-policy", "")
        assert csp.startswith("default-src 'none'"), (target, csp)
        assert answer.headers.get("x-content-type-options") == "nosniff", target
        assert not any(h.startswith("access-control-") for h in answer.headers), (target, answer.headers)
    preflight = server.request(
        "OPTIONS", f"{API}/runs", {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_only_for_the_origin_given(findings_server: Server) -> None:
    ok = findings_server.get(f"{API}/runs", {"Origin": "http://ui.example"})
    assert ok.status == 200 and ok.headers.get("access-control-allow-origin") == "http://ui.example"
    assert ok.headers.get("x-content-type-options") == "nosniff"
    for origin in ("https://ui.example", "http://evil.example", "null", "http://ui.example.evil.example"):
        other = findings_server.get(f"{API}/runs", {"Origin": origin})
        assert other.status == 200 and "access-control-allow-origin" not in other.headers, origin
    preflight = findings_server.request(
        "OPTIONS", f"{API}/runs", {"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert preflight.headers.get("access-control-allow-origin") in (None,), preflight.headers
    # The origin given revalidates: its preflight for If-None-Match was refused (405), so the
    # browser blocked every request that sent one; and it may read the ETag and the stale mark.
    asked = {"Origin": "http://ui.example", "Access-Control-Request-Method": "GET",
             "Access-Control-Request-Headers": "if-none-match"}
    preflight = findings_server.request("OPTIONS", f"{API}/runs", asked)
    assert preflight.status == 200 and preflight.headers.get("access-control-allow-origin") == "http://ui.example"
    assert "if-none-match" in preflight.headers.get("access-control-allow-headers", "").lower()
    exposed = ok.headers.get("access-control-expose-headers", "").lower()
    assert "etag" in exposed and "x-strataml-index" in exposed, ok.headers
    posting = findings_server.request("OPTIONS", f"{API}/runs", asked | {"Access-Control-Request-Method": "POST"})
    assert posting.status == 400 and "POST" not in posting.headers.get("access-control-allow-methods", "")
    bare = findings_server.request("OPTIONS", f"{API}/runs", {"Origin": "http://ui.example"})  # (no preflight)
    assert bare.status == 405 and "access-control-allow-origin" not in bare.headers


def test_the_dashboard_is_the_page_the_command_writes(server: Server, example: Path) -> None:
    code, page, err = cli(example, "dashboard", "-o", "-")
    assert code == 0, err
    answer = server.get("/")
    assert answer.status == 200 and answer.type == "text/html"
    html = answer.body.decode("utf-8")
    assert html == page
    csp = answer.headers["content-security-policy"]
    assert csp.startswith("default-src 'none'")
    assert_policy_names_inline_code(html, csp)
    assert answer.headers.get("x-content-type-options") == "nosniff"
    # The page names the commit too: its ETag is the index digest and the commit.
    assert answer.headers["etag"].startswith(server.get(f"{API}/index").headers["etag"].rstrip('"') + ".")
    assert server.get("/", {"If-None-Match": answer.headers["etag"]}).status == 304
    outside_data = re.sub(r'id="strataml-data">.*?</script>', "", html, flags=re.S)
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", outside_data)


def test_no_interactive_docs_and_nothing_from_a_cdn(server: Server, openapi: dict[str, Any]) -> None:
    for target in ("/docs", "/redoc", "/docs/oauth2-redirect", f"{API}/docs", "/openapi.json"):
        assert_problem(server.get(target), 404)
    text = server.get(f"{API}/openapi.json").body.decode("utf-8")
    assert not re.search(r"https?://", text), re.findall(r"https?://[^\"\s]+", text)
    assert "cdn" not in text.lower()
    assert "/api/v1/records/{ref}" in openapi["paths"] and "/api/v1/index" in openapi["paths"]


def test_every_operation_id_is_unique(openapi: dict[str, Any]) -> None:
    """OpenAPI 3.1: operationId MUST be unique among all operations (tools key operations by it)."""
    ids = [op["operationId"] for item in openapi["paths"].values() for op in item.values() if "operationId" in op]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert duplicates == [], duplicates


def test_the_openapi_document_is_made_without_a_warning(serve_extra: None, example: Path) -> None:
    """FastAPI warns of the operationId GET and HEAD share (the document drops the HEADs): in
    the terminal `strataml serve` runs in, that read like a defect."""
    import warnings

    from strataml.read.server import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        document = create_app(example).openapi()
    assert document["paths"]


# ---------------------------------------------------------------------------------------------
# 7. the default server writes only .strataml/; --read-only writes nothing at all


def test_the_default_server_wrote_nothing_outside_dot_strataml(server: Server, example: Path, example_before) -> None:
    server.ok_json(f"{API}/workspace")
    after = listing(example)
    outside = {k: v for k, v in after.items() if not k.startswith(".strataml")}
    assert outside == example_before
    assert (example / ".strataml/index.json").is_file()


def test_read_only_writes_nothing_at_all(serve_extra: None, strataml_exe: list[str], tmp_path: Path) -> None:
    ws = copy_example(tmp_path / "ro")
    refs, index_text = refs_of_without_writing(ws)
    before = listing(ws)
    assert not (ws / ".strataml").exists()
    server = Server(strataml_exe, ws, tmp_path / "logs", ("--read-only",)).start()
    try:
        assert "GET only; writes nothing)" in server.stdout() and ".strataml" not in server.stdout()
        targets = ["/", f"{API}/workspace", f"{API}/index", f"{API}/findings", f"{API}/rules", f"{API}/openapi.json"]
        targets += [f"{API}/{what}?limit=1" for what in KINDS]
        targets += [f"{API}/records/{q(r)}" for r in refs]
        targets += [f"{API}/lineage/{q(r)}?direction=up&depth=1" for r in refs]
        pair = [r for r in refs if r.startswith(("run:", "model:"))][:2]
        targets += [f"{API}/compare?refs={q(pair[0])},{q(pair[1])}", f"{API}/rules/TFC0006-W001"]
        for target in targets:
            answer = server.get(target)
            assert answer.status == 200, (target, answer.body[:300])
            if target.endswith("openapi.json"):
                continue  # the document, not the index: no ETag
            assert server.get(target, {"If-None-Match": answer.headers["etag"]}).status == 304
        assert server.get(f"{API}/index").body == index_text.encode("utf-8")  # the in-memory index is the index
        time.sleep(1.1)  # a freshness check after the first, too
        assert server.get(f"{API}/workspace").status == 200
        page = server.ok_json(f"{API}/runs?limit=1")
        assert walk_pages(server, "runs", []) and page["total"] >= 1
    finally:
        code, err = server.stop()
    assert code == 0 and "Traceback" not in err, err
    assert listing(ws) == before


def refs_of_without_writing(ws: Path) -> tuple[list[str], str]:
    """The refs and `index -o -`, from a copy (the CLI saves its index in .strataml/, which this
    workspace must not get)."""
    scratch = ws.parent / (ws.name + "-scratch")
    shutil.copytree(ws, scratch, symlinks=True)
    try:
        code, out, err = cli(scratch, "index", "-o", "-")
        assert code == 0, err
        return [n["id"] for n in json.loads(out)["nodes"]], out
    finally:
        shutil.rmtree(scratch)


def _sorted_objects(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json.loads' object_pairs_hook: every object's keys in the order `--format json` writes them."""
    keys = [k for k, _v in pairs]
    assert keys == sorted(keys), keys
    return dict(pairs)


def test_one_etag_is_one_body_whether_the_index_was_built_or_read_from_disk(
    serve_extra: None, strataml_exe: list[str], tmp_path: Path
) -> None:
    """Found by a new user: `serve --read-only` (the index built in the server) and `serve` over a
    fresh saved index (read from disk) sent the same strong ETag with two bodies, the findings'
    and records' keys in the build's order in one and sorted in the other. A cache holding one
    and revalidating against the other kept bytes the server never sent. The ETag is the index's
    digest, so every answer made from the index must be the same bytes however the index came
    about: in the server (read-only, or saved by it) or parsed from .strataml/index.json."""
    ws = copy_example(tmp_path / "ws")
    (ws / "datasets/iris/1/notes.txt").write_text("x\n", "utf-8")  # a finding (TFC0006-W001)
    run = next(p for p in sorted((ws / "runs").glob("*/run.yaml")) if "\ntags:\n  purpose: " in p.read_text("utf-8"))
    text = run.read_text("utf-8")  # tags out of alphabetical order: a list's rows hold them as a map
    run.write_text(text.replace("\ntags:\n  purpose: ", "\ntags:\n  team: vision\n  purpose: "), "utf-8")
    age(ws)
    built_here = tmp_path / "built"  # the same files, no saved index: the server builds and saves it
    shutil.copytree(ws, built_here, symlinks=True)
    age(built_here)

    refs, index_text = refs_of_without_writing(ws)
    runs = [r for r in refs if r.startswith("run:")]
    models = [r for r in refs if r.startswith("model:")]
    assert len(runs) >= 2 and models, refs
    targets = ["/", f"{API}/workspace", f"{API}/index", f"{API}/rules", f"{API}/rules/TFC0006-W001"]
    targets += [f"{API}/findings", f"{API}/findings?severity=warning", f"{API}/findings?path=datasets"]
    for what in KINDS:
        targets += [f"{API}/{what}", f"{API}/{what}?sort=name&desc=true", f"{API}/{what}?limit=1"]
    targets += [f"{API}/records/{q(r)}" for r in refs]
    targets += [f"{API}/lineage/{q(r)}" for r in refs]
    targets += [f"{API}/lineage/{q(r)}?direction=up&depth=1" for r in refs]
    targets += [
        f"{API}/compare?{urlencode({'refs': ','.join(runs)})}",
        f"{API}/compare?{urlencode({'refs': ','.join([runs[0], models[0]]), 'diff_only': 'true'})}",
    ]

    def served(name: str, root: Path, *args: str) -> dict[str, Answer]:
        with running(strataml_exe, root, tmp_path / "logs" / name, *args) as srv:
            return {target: srv.get(target) for target in targets}

    answers = {
        "read-only (built in memory)": served("read-only", ws, "--read-only"),  # (.strataml/ not read)
        "default (built and saved by the server)": served("built", built_here),
    }
    saved = ws / ".strataml/index.json"
    for attempt in range(3):
        # Saved by the console script, then read by the server. The saved index is this strataml's
        # build's own (the key holds it): edited while the test runs (an editable install), the
        # server rebuilds it, and the index is saved and read again.
        subprocess.run([*strataml_exe, "-C", str(ws), "index"], capture_output=True, check=True)
        written = saved.stat().st_mtime_ns
        answers["default (read from .strataml/index.json)"] = served(f"disk{attempt}", ws)
        if saved.stat().st_mtime_ns == written:
            break
    assert saved.stat().st_mtime_ns == written  # the server read the saved index: it did not rebuild it
    assert saved.read_text("utf-8") == index_text

    (first, got), *others = answers.items()
    assert got[f"{API}/findings"].json(), "the workspace has the finding the test needs"
    digest = hashlib.sha256(index_text.encode("utf-8")).hexdigest()
    # Tagged with this strataml's build too (the page, /workspace, the rules): an edit of its code
    # while the test runs (an editable install) tags them anew, and then says nothing here.
    of_build = {"/", f"{API}/workspace", f"{API}/rules", f"{API}/rules/TFC0006-W001"}
    for target in targets:
        answer = got[target]
        assert answer.status == 200, (target, answer.status, answer.body[:300])
        if target not in of_build:
            assert answer.headers["etag"] == f'"{digest}"', target  # the index's digest, whoever built it
        for name, theirs in others:
            other = theirs[target]
            assert other.headers["etag"] == answer.headers["etag"] or target in of_build, (target, first, name)
            if other.headers["etag"] == answer.headers["etag"]:
                # An ETag names the bytes: the same tag, the same body.
                assert other.body == answer.body, (target, first, name, answer.body[:300], other.body[:300])
    for target in targets:  # (the one order: the saved index's, and what `--format json` prints)
        if got[target].type == "application/json" and not target.endswith("/index"):
            json.loads(got[target].body, object_pairs_hook=_sorted_objects)


# ---------------------------------------------------------------------------------------------
# Ctrl-C, and the core-only job


def test_ctrl_c_stops_it_with_exit_0_and_no_traceback(
    serve_extra: None, strataml_exe: list[str], tmp_path: Path
) -> None:
    ws = copy_positive(tmp_path / "ws")
    server = Server(strataml_exe, ws, tmp_path / "logs").start()
    assert server.get(f"{API}/workspace").status == 200
    code, err = server.stop()
    assert code == 0, err
    assert "Traceback" not in err and "Error" not in err, err
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, -signal.SIGHUP)], ids=["sigterm", "sighup"])
def test_termination_stops_it_cleanly_with_128_plus_the_signal(
    serve_extra: None, strataml_exe: list[str], tmp_path: Path, signum: int, code: int
) -> None:
    """SIGTERM: uvicorn shuts down, then raises the signal it took, and exit 0 said nothing of it
    (a service manager reads 143 as stopped by SIGTERM). SIGHUP, which uvicorn leaves alone,
    ends the server by its default, as before StrataML handled it."""
    ws = copy_positive(tmp_path / "ws")
    server = Server(strataml_exe, ws, tmp_path / "logs").start()
    assert server.get(f"{API}/workspace").status == 200
    assert server.proc is not None
    server.proc.send_signal(signum)
    server.proc.wait(15)
    assert server.proc.returncode == code, server.stderr()
    assert "Traceback" not in server.stderr()


@pytest.mark.parametrize("taken", [True, False], ids=["port-in-use", "no-such-host"])
def test_a_server_that_cannot_listen_says_which_option_to_change(
    serve_extra: None, strataml_exe: list[str], tmp_path: Path, taken: bool
) -> None:
    ws = copy_positive(tmp_path / "ws")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        where = ["--port", str(busy.getsockname()[1])] if taken else ["--host", "256.1.1.1", "--port", "0"]
        done = subprocess.run([*strataml_exe, "-C", str(ws), "serve", *where], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3 and done.stderr.startswith("strataml: error: cannot listen on "), done.stderr
    assert ("hint: pick another --port" in done.stderr) == taken
    assert ("hint: --host takes an address of this machine" in done.stderr) != taken


def test_serve_without_the_extra_fails_naming_it(strataml_exe: list[str], tmp_path: Path) -> None:
    if importable("fastapi", "uvicorn"):
        pytest.skip("fastapi and uvicorn are installed (the core-only job runs this)")
    ws = copy_positive(tmp_path / "ws")
    done = subprocess.run(
        [*strataml_exe, "-C", str(ws), "serve", "--port", "0"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3, (done.returncode, done.stdout, done.stderr)
    from strataml.installed import extra_hint

    assert "serve extra" in done.stderr and f"hint: {extra_hint('serve')}\n" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


# ---------------------------------------------------------------------------------------------
# 8. schemathesis against the live server's OpenAPI document


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Any connection this process tries to open to anything but loopback is refused and recorded."""
    attempts: list[Any] = []
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def loopback(host: Any) -> bool:
        return str(host) in ("127.0.0.1", "localhost", "::1")

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not loopback(address[0]):
            attempts.append(address)
            raise OSError(f"test_api: network is off ({address})")
        return real_connect(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not loopback(host):
            attempts.append(host)
            raise socket.gaierror(f"test_api: network is off ({host})")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    assert attempts == [], f"schemathesis tried to reach the network: {attempts}"


@pytest.fixture(scope="module")
def schemathesis_installed() -> None:
    require_extra("schemathesis", "dev")


def test_schemathesis_no_5xx_and_every_response_matches_its_schema(
    schemathesis_installed: None, server: Server, offline: list[Any]
) -> None:
    """Every GET operation of /api/v1/openapi.json, property-based: no 5xx, and every response (status,
    content type, headers, body) is one the document describes. (Driven through schemathesis's
    Python API rather than its pytest plugin: schemathesis 4.32's `from_fixture` lazy loader uses
    `Function._nodeid`, which pytest 9.2 no longer has.)"""
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import (  # type: ignore[attr-defined]
        content_type_conformance,
        not_a_server_error,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
    ]
    schema = schemathesis.openapi.from_url(f"{server.url}api/v1/openapi.json").include(method="GET")
    failures: dict[str, str] = {}
    operations = []
    for result in schema.get_all_operations():
        operation = result.ok()
        operations.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=True,
        )
        def check(case: Any) -> None:
            case.call_and_validate(checks=checks, timeout=30)

        try:
            check()
        except BaseException as exc:  # every operation is tried; all failures reported together
            failures[operation.label] = f"{type(exc).__name__}: {exc}"
    assert len(operations) == 14, operations  # routes, workspace(s), 4 lists, records, lineage, findings, rules x2, compare, index
    assert failures == {}, "\n\n".join(f"== {label}\n{text}" for label, text in failures.items())


# ---------------------------------------------------------------------------------------------
# Found by an attacker's probe: each was a 500, a wrong 304, a Host let through, or a workspace
# whose .strataml/ could not be used made every request fail.


def test_a_cursor_with_a_lone_surrogate_is_a_bad_cursor(server: Server) -> None:
    import base64

    first = server.ok_json(f"{API}/runs?limit=1")
    signature = json.loads(base64.urlsafe_b64decode(first["next"] + "=" * (-len(first["next"]) % 4)))["q"]
    forged = base64.urlsafe_b64encode(json.dumps({"after": "\ud800", "q": signature}).encode()).decode().rstrip("=")
    answer = server.get(f"{API}/runs?limit=1&cursor={forged}")
    assert answer.status == 400 and answer.json()["code"] == "bad-cursor"


def test_if_none_match_never_hides_a_404(server: Server) -> None:
    for tag in ("*", server.get(f"{API}/index").headers["etag"]):
        assert server.get(f"{API}/records/model:nothing@1", {"If-None-Match": tag}).status == 404


def test_a_bracketed_host_must_be_an_address_and_a_port(server: Server) -> None:
    port = server.url.rsplit(":", 1)[1].rstrip("/")
    assert server.get(f"{API}/workspace", {"Host": f"[::1]:{port}"}).status == 200
    for host in ("[::1]evil", "[::1]:80x", "[127.0.0.1"):
        assert server.get(f"{API}/workspace", {"Host": host}).status == 400, host


def test_the_page_may_not_be_framed(server: Server) -> None:
    assert "frame-ancestors 'none'" in server.get("/").headers["content-security-policy"]


def test_an_unusable_strataml_folder_is_served_from_memory_and_left_alone(
    serve_extra: None, strataml_exe: list[str], tmp_path: Path
) -> None:
    ws = copy_positive(tmp_path / "ws")
    outside = tmp_path / "outside"
    outside.mkdir()
    (ws / ".strataml").symlink_to(outside)
    with running(strataml_exe, ws, tmp_path / "logs") as srv:
        assert srv.ok_json(f"{API}/workspace")["counts"]["datasets"] == 2
        assert srv.get(f"{API}/records/dataset:sales@1").status == 200
    assert list(outside.iterdir()) == []  # nothing written through the link


def test_the_address_serve_prints_lists_the_routes(server: Server, openapi: dict[str, Any]) -> None:
    """`strataml serve` prints http://HOST:PORT/api/v1/: asked there, the API says what it has
    (every documented route with its summary, and where the OpenAPI document is), not a 404."""
    answer = server.get(f"{API}/")
    assert answer.status == 200 and answer.type == "application/json"
    body = answer.json()
    assert body["openapi"] == f"{API}/openapi.json"
    listed = {r["path"] for r in body["routes"]}
    assert listed == {p for p in openapi["paths"] if p != f"{API}/"}
    assert f"{API}/workspace" in listed and all(r["summary"] for r in body["routes"])


def test_answers_of_the_build_are_tagged_with_it(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by a review: the page's ETag named the index and the commit only, so after an
    upgrade a reload got a 304 with the new build's policy for the old cached page (its script
    blocked: "Loading…"); the rules, which only the build makes, had the index's ETag."""
    from strataml.read import dashboard, server as served

    build = served._build()
    page = server.get("/")
    assert page.status == 200 and page.headers["etag"].endswith(f'.{build}"')
    assert server.get(f"{API}/workspace").headers["etag"] == page.headers["etag"]
    assert server.get(f"{API}/rules").headers["etag"] == f'"{build}"'
    assert server.get(f"{API}/rules/TFC0006-E002").headers["etag"] == f'"{build}"'
    again = server.get("/", {"If-None-Match": page.headers["etag"]})
    assert again.status == 304 and again.headers["content-security-policy"] == page.headers["content-security-policy"]
    real = dashboard._asset
    monkeypatch.setattr(dashboard, "_asset", lambda name: real(name) + ("\n// a new build" if name == "app.js" else ""))
    assert served._build() != build


def test_a_ref_no_record_has_is_looked_up_once_per_snapshot(serve_extra: None, example: Path, monkeypatch) -> None:
    """Found by an attacker: each 404 compared the ref with every record's name for its "did you
    mean" (0.6 s of CPU on 10k runs), however often a client asked the same stale link."""
    from strataml.read import api, saved, server
    from strataml.read.query import Graph

    index = saved.make(example)
    snap = api.Snapshot(index, json.dumps(index), None)
    looked: list[str] = []
    find = Graph.find
    monkeypatch.setattr(Graph, "find", lambda graph, text: looked.append(text) or find(graph, text))
    for _ in range(3):
        with pytest.raises(api.Problem) as caught:
            server._node(snap, "run:nope")
        assert caught.value.status == 404 and caught.value.message == "no record run:nope in this workspace"
    assert server._node(snap, "dataset:iris@1")["id"] == "dataset:iris@1"
    assert looked == ["run:nope", "dataset:iris@1"], looked
