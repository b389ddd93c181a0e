"""`strataml dashboard` as a file: deterministic, self-contained, inert data, the same data as
`list` and `show`, and written only where it may be. (The page in a real browser:
tests/test_dashboard_browser.py.)"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from html import unescape
from pathlib import Path

import pytest
from conftest import assert_policy_names_inline_code, edit_yaml, invoke
from models_helpers import reach

from strataml import schemas
from strataml.read import proof, saved

PAGE = ".strataml/site/index.html"
RUN = "run:20260101T000000Z-sales-forecast-a1b2c3"
HOSTILE = '</script><script>alert(1)</script><!-- "><img src=x onerror=alert(1)> \u2028 javascript:alert(1) &amp;'


def data_of(html: str) -> dict:
    from strataml.read.dashboard import read_payload

    return read_payload(html)


def build(ws: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, _out, err = invoke(ws, "dashboard", *args, capsys=capsys)
    assert code == 0, err
    return (ws / PAGE).read_text("utf-8")


def test_the_same_repository_gives_the_same_bytes_and_only_timestamp_adds_a_clock(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = build(ws, capsys)  # from an index just built
    (ws / PAGE).unlink()
    saved_index = ws / saved.INDEX
    saved_index.unlink()  # rebuilt from scratch: still the same page
    assert build(ws, capsys) == first
    from conftest import age

    age(ws)
    build(ws, capsys)
    assert proof.freshness(ws)[1] is not None
    assert build(ws, capsys) == first  # from the saved index, read back: still the same page
    assert data_of(first)["workspace"]["generated_at"] is None
    stamped = build(ws, capsys, "--timestamp")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data_of(stamped)["workspace"]["generated_at"])


def test_the_page_loads_nothing_and_its_csp_names_exactly_its_inline_code(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html = build(ws, capsys)
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert csp is not None
    policy = unescape(csp.group(1))
    assert policy.startswith("default-src 'none';")
    assert_policy_names_inline_code(html, policy)
    # No address the page could load from: the shell and the app name none.
    outside_data = html.replace(re.search(r'id="strataml-data">.*?</script>', html, re.S).group(0), "")
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", outside_data)
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    assert "@import" not in style and "url(http" not in style


def test_repository_text_stays_data_whatever_it_holds(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit_yaml(ws / "datasets/sales/1/dataset.yaml", lambda d: d.update(description=HOSTILE))
    html = build(ws, capsys)
    block = re.search(r'<script type="application/json" id="strataml-data">(.*?)</script>', html, re.S).group(1)
    assert re.fullmatch(r'\{"encoding":"gzip\+base64","data":"[A-Za-z0-9+/=]+"\}', block)
    assert "alert" not in html and "onerror" not in html  # nothing of it is in the page as text
    assert data_of(html)["records"]["dataset:sales@1"]["attrs"]["description"] == HOSTILE
    assert html.count("</script>") == 2  # the data block's and the app's own


def test_the_payload_is_compressed_and_leaves_out_only_what_the_app_restores(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import gzip

    from strataml.read import dashboard

    html = build(ws, capsys)
    block = json.loads(re.search(r'id="strataml-data">(.*?)</script>', html, re.S).group(1))
    raw = json.loads(gzip.decompress(base64.b64decode(block["data"])))
    sales = raw["records"]["dataset:sales@1"]
    assert "id" not in sales and "findings" not in sales and "signature" not in sales  # healthy, unsigned
    # The app's expand() restores the same defaults as read_payload does.
    app = (Path(dashboard.__file__).parent / "site" / "app.js").read_text()
    assert "r.findings = { errors: 0, warnings: 0, infos: 0 }" in app
    assert 'r.signature = { status: "unsigned", signers: [], valid_signers: 0, required_signers: 0 }' in app
    assert data_of(html)["records"]["dataset:sales@1"]["signature"] == {
        "status": "unsigned",
        "signers": [],
        "valid_signers": 0,
        "required_signers": 0,
    }


def test_the_page_shows_what_list_and_show_print(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reach(ws, "production")
    data = data_of(build(ws, capsys))
    for what in ("datasets", "runs", "models", "experiments"):
        code, out, _ = invoke(ws, "list", what, "--format", "json", capsys=capsys)
        assert code == 0 and data["tables"][what] == json.loads(out)
        assert data["counts"][what] == len(json.loads(out))
    for ref, record in data["records"].items():
        code, out, _ = invoke(ws, "show", ref, "--format", "json", capsys=capsys)
        shown = json.loads(out)
        assert code == 0
        up = sorted([a, k] for a, b, k in data["edges"] if b == ref)
        down = sorted([b, k] for a, b, k in data["edges"] if a == ref)
        assert [[u["ref"], u["edge"]] for u in shown.pop("upstream")] == up
        assert [[d["ref"], d["edge"]] for d in shown.pop("downstream")] == down
        assert shown.pop("reported") == [data["findings"][i] for i in record["reported"]]
        # The page adds what compare and report compute of a record (tests/test_compare.py holds them to it).
        assert {k: v for k, v in record.items() if k not in ("reported", "compare", "report")} == shown
    model = data["records"]["model:sales-model@1"]
    assert [h["to"] for h in model["history"]] == ["candidate", "staging", "production"]
    assert model["receipt"]["status"] == "PASS" and model["attrs"]["state"] == "production"


def test_findings_are_listed_once_and_counted_on_their_records(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (ws / "datasets/sales/1/notes.txt").write_text("unrecorded\n")
    (ws / "stray.txt").write_text("not a record\n")
    data = data_of(build(ws, capsys))
    codes = {f["code"] for f in data["findings"]}
    assert "TFC0006-W001" in codes
    sales = data["records"]["dataset:sales@1"]
    assert [data["findings"][i]["code"] for i in sales["reported"]] == ["TFC0006-W001"]
    assert sales["findings"]["warnings"] == 1
    assert sum(c["warnings"] for c in data["health"]["by_contract"]) == data["health"]["warnings"]
    index = json.loads((ws / saved.INDEX).read_text("utf-8"))
    assert schemas.validate("index", index) == []


def test_files_say_whether_content_or_an_lfs_pointer_is_on_disk(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from strataml import lfs

    csv = ws / "datasets/sales/1/sales.csv"
    content = csv.read_bytes()
    csv.write_bytes(lfs.format_pointer(hashlib.sha256(content).hexdigest(), len(content)))
    files = data_of(build(ws, capsys))["records"]["dataset:sales@1"]["files"]
    assert [(f["path"], f["present"]) for f in files] == [("sales.csv", "lfs-pointer")]
    csv.unlink()
    files = data_of(build(ws, capsys))["records"]["dataset:sales@1"]["files"]
    assert [(f["path"], f["present"]) for f in files] == [("sales.csv", "missing")]


@pytest.mark.parametrize("size", [1023, 1024])
def test_pointer_text_of_1024_bytes_is_content_on_disk_as_the_doctor_has_it(
    ws: Path, capsys: pytest.CaptureFixture[str], size: int
) -> None:
    """The index called a 1024-byte file of pointer text an LFS pointer ("`git lfs pull` fetches
    it"), where the doctor and git-lfs, whose scanner takes blobs under 1024 bytes only, have it
    as content."""
    from strataml import lfs

    csv = ws / "datasets/sales/1/sales.csv"
    content = csv.read_bytes()
    assert len(content) not in (1023, 1024)
    pointer = lfs.format_pointer(hashlib.sha256(content).hexdigest(), len(content))
    csv.write_bytes(pointer + b"\n" * (size - len(pointer)))
    files = data_of(build(ws, capsys))["records"]["dataset:sales@1"]["files"]
    assert [(f["path"], f["present"]) for f in files] == [("sales.csv", "lfs-pointer" if size < 1024 else "content")]


def test_json_output_says_what_was_written(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = invoke(ws, "dashboard", "--format", "json", capsys=capsys)
    assert code == 0
    said = json.loads(out)
    page = ws / PAGE
    assert said["path"] == str(page) and said["bytes"] == page.stat().st_size
    assert said["url"] == page.resolve().as_uri() and said["records"] == len(data_of(page.read_text())["records"])


def test_links_to_repository_files_only_from_inside_the_repository(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert data_of(build(ws, capsys))["workspace"]["repo_link"] == "../../"
    code, _, err = invoke(ws, "dashboard", "-o", str(ws / "public/site.html"), capsys=capsys)
    assert code == 0, err
    assert data_of((ws / "public/site.html").read_text())["workspace"]["repo_link"] == "../"
    away = tmp_path / "published" / "deep" / "index.html"  # folders a CI job names are made
    code, _, err = invoke(ws, "dashboard", "-o", str(away), capsys=capsys)
    assert code == 0, err
    assert data_of(away.read_text())["workspace"]["repo_link"] is None


def test_stdout(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = invoke(ws, "dashboard", "-o", "-", capsys=capsys)
    assert code == 0 and out.startswith("<!doctype html>") and data_of(out)["workspace"]["repo_link"] is None
    assert not (ws / PAGE).exists()


@pytest.mark.parametrize("link", [".strataml/site", ".strataml/site/index.html", ".strataml"])
def test_never_writes_through_a_symlink(
    ws: Path, tmp_path: Path, link: str, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (ws / ".strataml").mkdir(exist_ok=True)
    target = ws / link
    if target.exists():
        target.rmdir()
    target.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(outside / "index.html" if link.endswith(".html") else outside, target)
    code, _out, err = invoke(ws, "dashboard", capsys=capsys)
    assert code == 3 and "symlink" in err.lower(), err
    assert list(outside.iterdir()) == []


def test_outside_a_workspace_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = invoke(tmp_path, "dashboard", capsys=capsys)
    assert code == 3 and "strataml.yaml" in err and "Traceback" not in err


def test_a_ledger_finding_counts_on_every_version_of_its_model(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from models_helpers import add_version, tamper

    second = add_version(ws, 2)
    reach(ws, "candidate")
    tamper(ws, lambda text: text.replace('"reason":"test"', '"reason":"edited later"'))
    data = data_of(build(ws, capsys))
    ledger = [i for i, f in enumerate(data["findings"]) if f["path"].endswith("lifecycle.jsonl")]
    assert ledger, data["findings"]
    for ref in ("model:sales-model@1", second):
        assert set(ledger) <= set(data["records"][ref]["reported"])
    assert not set(ledger) & set(data["records"]["dataset:sales@1"]["reported"])


def test_a_verdict_the_clock_can_change_is_fresh_for_a_minute_only(
    ws: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key that expires, a ledger entry dated ahead: the files stay the same while the verdict
    changes, so readers trust such an index for VOLATILE_SECONDS, then judge again."""
    import time

    from conftest import age
    from models_helpers import ref, write_ledger

    build(ws, capsys)
    assert " until=" not in (ws / saved.KEY).read_text()  # the control: a verdict of the files alone is kept
    write_ledger(ws, [(ref(1), "candidate")], times=["2099-01-01T00:00:00Z"])
    age(ws)
    data = data_of(build(ws, capsys))
    assert data["records"]["model:sales-model@1"]["findings"]["errors"] >= 1
    assert " until=" in (ws / saved.KEY).read_text()
    assert saved.current(ws)[1] is False  # within the minute: the saved index serves
    later = time.time() + saved.VOLATILE_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert saved.current(ws)[1] is True  # past it: judged again
    code, _out, _err = invoke(ws, "index", capsys=capsys)
    assert code == 0 and " until=" in (ws / saved.KEY).read_text()


def test_nan_and_infinity_become_text_so_every_json_parser_reads_the_index(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def strict(text: str) -> object:
        def refuse(name: str) -> None:
            raise AssertionError(f"{name} in JSON output")

        return json.loads(text, parse_constant=refuse)

    run = next((ws / "runs").iterdir())
    text = (run / "run.yaml").read_text()
    (run / "run.yaml").write_text(
        text.replace("metrics:\n", "metrics:\n  nan_metric: .nan\n  big_metric: 1.0e+400\n", 1)
    )
    html = build(ws, capsys)
    block = re.search(r'id="strataml-data">(.*?)</script>', html, re.S).group(1)
    import gzip

    payload = strict(gzip.decompress(base64.b64decode(json.loads(block)["data"])).decode())
    metrics = payload["records"][f"run:{run.name}"]["attrs"]["metrics"]
    assert metrics["nan_metric"] == "NaN" and metrics["big_metric"] == "Infinity"
    strict((ws / saved.INDEX).read_text())
    for args in (("show", f"run:{run.name}", "--format", "json"), ("list", "runs", "--format", "json")):
        code, out, _ = invoke(ws, *args, capsys=capsys)
        assert code == 0
        strict(out)


def test_output_names_a_file_or_a_folder_and_never_nothing(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = invoke(ws, "dashboard", "-o", "", capsys=capsys)
    assert code == 3 and "empty" in err
    folder = tmp_path / "public"
    folder.mkdir()
    code, _out, err = invoke(ws, "dashboard", "-o", str(folder), capsys=capsys)
    assert code == 0 and (folder / "index.html").is_file(), err
    code, _out, err = invoke(ws, "dashboard", "-o", str(tmp_path / "new") + "/", capsys=capsys)
    assert code == 0 and (tmp_path / "new" / "index.html").is_file(), err
    # A name without .html is a file, as for every -o, and the note says how to write a folder.
    code, _out, err = invoke(ws, "dashboard", "-o", str(tmp_path / "site"), capsys=capsys)
    assert code == 0 and (tmp_path / "site").is_file() and f"-o {tmp_path / 'site'}/ writes site/index.html" in err
    code, _out, err = invoke(ws, "dashboard", "-o", str(tmp_path / "page.htm"), capsys=capsys)
    assert code == 0 and "note" not in err
    code, _out, err = invoke(ws, "dashboard", "-o", "/dev/null", capsys=capsys)
    assert code == 0 and "note" not in err  # (a device is no page)


@pytest.mark.parametrize("extra", [["--format", "json"], ["--open"]])
def test_stdout_page_and_json_or_open_do_not_mix(
    ws: Path, extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = invoke(ws, "dashboard", "-o", "-", *extra, capsys=capsys)
    assert code == 3 and "stdout" in err
    # No page on stdout; asked for JSON, the error is said there as JSON too.
    assert out == "" if "--open" in extra else json.loads(out)["error"]["exit_code"] == 3


def test_list_rows_hold_scalars_whatever_a_record_holds(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = next(p for p in (ws / "runs").iterdir() if p.is_dir())
    edit_yaml(run / "run.yaml", lambda d: d["metrics"].update(nested={"not": "a number"}))
    code, out, err = invoke(ws, "list", "runs", "--format", "json", capsys=capsys)
    assert code == 0, err
    (row,) = [r for r in json.loads(out) if r["id"] == f"run:{run.name}"]
    assert row["metrics"]["nested"] is None  # the doctor reports the value; the table cell is empty
    assert all(v is None or isinstance(v, (int, float, str)) for v in row["metrics"].values())


@pytest.mark.parametrize("browser", [True, False])
def test_open_says_once_whether_a_browser_opened_it(
    ws: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, browser: bool
) -> None:
    import webbrowser

    asked: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url: asked.append(url) or browser)
    code, out, err = invoke(ws, "dashboard", "--open", capsys=capsys)
    assert code == 0 and len(asked) == 1 and asked[0].startswith("file://")
    records = len(json.loads((ws / saved.INDEX).read_text())["nodes"])
    assert f"MB, {records} records)." in out
    if browser:
        assert out.splitlines()[-1] == f"Opened {asked[0]}" and "No web browser" not in err
    else:  # (not "Opening ..." and then that it could not)
        assert "Open" not in out and f"No web browser to open it here; open {asked[0]} in one." in err


def test_a_file_name_that_is_not_utf8_is_shown_escaped_not_a_crash(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An experiment file named with a byte that is not UTF-8 (read as a surrogate escape) made
    the dashboard an internal error: its payload was encoded as strict UTF-8."""
    spec = next(p for p in sorted((ws / "experiments").iterdir()) if p.suffix == ".yaml")
    odd = os.fsencode(ws / "experiments") + b"/x\xff.yaml"
    with open(odd, "wb") as f:
        f.write(spec.read_bytes())
    data = data_of(build(ws, capsys))
    assert "experiments/x\udcff.yaml" in json.dumps(data, ensure_ascii=False)


def test_the_dashboard_matches_in_any_case_the_words_the_query_layer_does() -> None:
    """Facets match values whatever their case only for the fields list and the API match so:
    the two lists are one rule, written in two languages."""
    from strataml.read import query

    app = (Path(query.__file__).parent / "site" / "app.js").read_text("utf-8")
    [listed] = re.findall(r"var WORD_FACETS = \[([^\]]*)\]", app)
    assert set(re.findall(r'"([a-z]+)"', listed)) == query._WORDS
