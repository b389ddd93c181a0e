"""The dashboard in a real browser (issue 12, section 4): headless system Chromium via Playwright.

Every page is opened from file://, as a reviewer opens it. Every test also asserts that the page
logged no console error or warning, threw nothing, opened no dialog and requested nothing but
the page file itself and data: URLs. Expected values come from the workspaces' own files and from
`strataml list ... --format json`, never from the page's data block.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, quote, unquote

import pytest
import yaml
from browser import (
    NARROW,
    WIDE,
    Pages,
    Site,
    axe_serious,
    build,
    cli,
    current_hash,
    go,
    launch_browser,
    listing,
    new_pages,
    open_view,
    rows_in_order,
    view,
)
from conftest import ROOT, copy_example, edit_yaml, read_yaml, write_yaml

from strataml.read.query import select

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One system Chromium for the module (workspaces below are built only once it started)."""
    yield from launch_browser()


@pytest.fixture
def pages(browser: Any) -> Iterator[Pages]:
    """Fresh contexts and pages for one test, watched for console noise, errors, requests, dialogs."""
    yield from new_pages(browser)


SCREENSHOT = ROOT / "docs" / "dashboard.png"
LOWER_IS_BETTER = re.compile(r"loss|error|brier|ece|rmse|mae|mse")


def expect(*args: Any, **kwargs: Any) -> Any:
    from playwright.sync_api import expect as pw_expect

    return pw_expect(*args, **kwargs)


# ---- the example workspace -----------------------------------------------------------------


class Example:
    """The example workspace, its dashboard and what `strataml list` says about it."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.root = site.root
        self.url = site.url
        self.tables = {kind: listing(self.root, kind) for kind in ("datasets", "runs", "models", "experiments")}
        self.index = json.loads((self.root / ".strataml" / "index.json").read_text("utf-8"))
        self.edges = [(e["from"], e["to"]) for e in self.index["edges"]]

    def run_of(self, experiment: str) -> dict[str, Any]:
        (row,) = [r for r in self.tables["runs"] if r["experiment"] == experiment]
        return row

    def run_yaml(self, ref: str) -> dict[str, Any]:
        return read_yaml(self.root / "runs" / ref.removeprefix("run:") / "run.yaml")

    def model(self, state: str) -> dict[str, Any]:
        (row,) = [r for r in self.tables["models"] if r["state"] == state]
        return row

    def lineage(self, ref: str, depth: int, direction: str) -> set[str]:
        """The nodes a focused lineage graph shows: BFS over the edges up and/or down to depth."""
        seen, frontier = {ref}, {ref}
        for _ in range(depth):
            nxt = set()
            for a, b in self.edges:
                if direction in ("up", "both") and b in frontier and a not in seen:
                    nxt.add(a)
                if direction in ("down", "both") and a in frontier and b not in seen:
                    nxt.add(b)
            seen |= nxt
            frontier = nxt
        return seen


@pytest.fixture(scope="module")
def example(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Example:
    root = copy_example(tmp_path_factory.mktemp("dash") / "example")
    return Example(build(root))


def text_of(locator: Any) -> str:
    return locator.text_content() or ""


def assert_shows(locator: Any, texts: list[str], where: str) -> None:
    """The element's text (textContent) holds every one of `texts`, within the usual wait."""
    missing = texts
    for _ in range(50):
        text = text_of(locator)
        missing = [t for t in texts if t not in text]
        if not missing:
            return
        locator.page.wait_for_timeout(100)
    raise AssertionError(f"{where} does not show {missing}")


def assert_url_keeps(page: Any, key: str, value: str) -> None:
    """The view's state reaches the URL's query (the app may wait for typing to pause first)."""
    found = None
    for _ in range(50):
        found = parse_qs(current_hash(page).partition("?")[2]).get(key)
        if found == [value]:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the URL {current_hash(page)!r} keeps {key}={found}, not {value!r}")


def bare(ref: str) -> str:
    """The part of a ref after its kind: `run:ID` -> `ID`, `model:x@1` -> `x@1`."""
    return ref.split(":", 1)[1]


def number_in(text: str) -> float:
    match = re.search(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text)
    assert match, f"no number in {text!r}"
    return float(match.group())


# ---- 1. file://, offline, no console noise ---------------------------------------------------


def test_opens_from_file_with_a_strict_csp_and_no_requests(example: Example, pages: Pages) -> None:
    page = pages.new()
    overview = open_view(page, example.url, "#/", "overview")
    text = text_of(overview)
    assert "strataml-example" in page.evaluate("document.body.innerText")
    # Production and staging models with their gated metrics, and the latest run.
    production = example.model("production")
    assert bare(production["id"]).split("@")[0] in text
    gate = json.loads((example.root / "models" / "iris-classifier" / "1" / "gate.json").read_text())
    for criterion in gate["criteria"]:
        assert criterion["metric"] in text
    latest = max(example.tables["runs"], key=lambda r: r["created"])
    assert bare(latest["id"]) in text
    for kind in ("datasets", "runs", "models", "experiments"):
        assert overview.locator(f'a[href^="#/{kind}"]').count() >= 1, f"no link to the {kind} table"
    assert page.locator("h1").count() == 1
    # The CSP: present, no load allowed but the page's own hashed script and style.
    csp = page.get_attribute('meta[http-equiv="Content-Security-Policy"]', "content")
    assert csp, "no Content-Security-Policy meta tag"
    directives = {d.split()[0]: d.split()[1:] for d in (p.strip() for p in csp.split(";")) if d}
    assert directives["default-src"] == ["'none'"]
    assert directives["script-src"] and all(s.startswith("'sha256-") for s in directives["script-src"])
    assert directives["style-src"] and all(s.startswith("'sha256-") for s in directives["style-src"])
    assert "unsafe" not in csp and "http" not in csp and "*" not in csp
    assert page.evaluate("document.scripts.length") == 2  # the data block and the app
    pages.watch.assert_clean(example.site.page)
    assert pages.watch.requests, "the page load itself was not recorded"
    # And the browser enforces it: an image from anywhere is blocked (on a page we throw away).
    blocked = page.evaluate(
        """() => new Promise(done => {
            document.addEventListener('securitypolicyviolation', e => done(e.effectiveDirective), {once: true});
            const img = new Image(); img.src = 'http://127.0.0.1:9/x.png';
            setTimeout(() => done(null), 3000);
        })"""
    )
    assert blocked == "img-src"


# ---- 2. every view by deep link, by clicking, and back/forward ----------------------------------


def deep_links(ex: Example) -> dict[str, tuple[str, str, list[str]]]:
    """name -> (hash, view, texts the view must show)."""
    iris_run = ex.run_of("iris-logreg")["id"]
    breast_run = ex.run_of("breast-cancer-rf")["id"]
    model = ex.model("production")["id"]
    near_miss = bare(iris_run)[:-1] + ("x" if not bare(iris_run).endswith("x") else "y")
    rule = _rule("TFC0006-E002")
    return {
        "overview": ("#/", "overview", ["strataml-example"]),
        "runs": ("#/runs", "table", [bare(r["id"]) for r in ex.tables["runs"]]),
        "datasets": ("#/datasets", "table", [r["name"] for r in ex.tables["datasets"]]),
        "models": ("#/models", "table", [r["name"] for r in ex.tables["models"]]),
        "experiments": ("#/experiments", "table", [r["name"] for r in ex.tables["experiments"]]),
        "run": (f"#/run/{bare(iris_run)}", "record", [bare(iris_run), "logistic_regression"]),
        "record": (f"#/record/{iris_run}", "record", [bare(iris_run)]),
        "model": (f"#/model/{bare(model)}", "record", [bare(model), "production"]),
        "dataset": ("#/dataset/iris@1", "record", ["iris@1", "iris.csv", "CC-BY-4.0"]),
        "experiment": ("#/experiment/iris-logreg", "record", ["iris-logreg", "logistic_regression"]),
        "lineage": (f"#/lineage/{model}?depth=2&dir=up", "lineage", [bare(model)]),
        "lineage-all": ("#/lineage", "lineage", ["iris", "iris-logreg"]),
        "compare": (f"#/compare?refs={iris_run},{breast_run}", "compare", [bare(iris_run), bare(breast_run)]),
        "rules": ("#/rules", "rules", ["TFC0006-E002", "TFC0001-E001"]),
        "rule": ("#/rules/TFC0006-E002", "rule", ["TFC0006-E002", rule.name, rule.summary, f"enforced {rule.enforced_note}"]),
        "notfound-ref": (f"#/run/{near_miss}", "notfound", [bare(iris_run)]),  # the closest ref is offered
        "notfound-route": ("#/no/such/view", "notfound", []),
    }


def _rule(code: str) -> Any:
    from strataml import contracts

    return contracts.registry()[code]


LINKS = [
    "overview",
    "runs",
    "datasets",
    "models",
    "experiments",
    "run",
    "record",
    "model",
    "dataset",
    "experiment",
    "lineage",
    "lineage-all",
    "compare",
    "rules",
    "rule",
    "notfound-ref",
    "notfound-route",
]


@pytest.mark.parametrize("name", LINKS)
def test_every_view_opens_by_deep_link(example: Example, pages: Pages, name: str) -> None:
    hash_, view_name, texts = deep_links(example)[name]
    page = pages.new()
    shown = open_view(page, example.url, hash_, view_name)
    assert_shows(shown, texts, f"{hash_}: the {view_name} view")
    assert page.locator("h1").count() == 1, "one h1 per view"
    if view_name == "table":
        kind = hash_.removeprefix("#/")
        assert shown.get_attribute("data-kind") == kind
        n = len(example.tables[kind])
        expect(page.get_by_test_id("row-count")).to_have_text(re.compile(rf"^\s*{n}\s+of\s+{n}\s*$"))
        assert sorted(rows_in_order(page)) == sorted(r["id"] for r in example.tables[kind])
    if view_name == "notfound":
        assert shown.locator('a[href="#/"], a[href="#"]').count() >= 1, "no link home"
    pages.watch.assert_clean(example.site.page)


def test_every_view_is_reachable_by_clicking_and_history_works(example: Example, pages: Pages) -> None:
    page = pages.new()
    iris_run = example.run_of("iris-logreg")["id"]
    overview = open_view(page, example.url, "#/", "overview")
    overview.locator('a[href^="#/runs"]').first.click()
    expect(page.locator('[data-testid="view-table"]')).to_have_attribute("data-kind", "runs")
    assert current_hash(page).startswith("#/runs")
    page.locator(f'[data-testid="row"][data-ref="{iris_run}"]').click()
    record = view(page, "record")
    expect(record).to_contain_text(bare(iris_run))
    assert current_hash(page) in (f"#/run/{bare(iris_run)}", f"#/record/{iris_run}")
    record.locator('a[href^="#/lineage/"]').first.click()
    lineage = view(page, "lineage")
    expect(lineage.locator('[data-testid="lineage-node"][data-focus="1"]')).to_have_attribute("data-ref", iris_run)
    # Back and forward through the history, then on to a neighbour of the run.
    page.go_back()
    expect(view(page, "record")).to_contain_text(bare(iris_run))
    page.go_back()
    expect(page.locator('[data-testid="view-table"]')).to_have_attribute("data-kind", "runs")
    page.go_forward()
    expect(view(page, "record")).to_contain_text(bare(iris_run))
    neighbours = page.get_by_test_id("neighbours")
    neighbours.locator('a[href*="dataset"]').first.click()
    page.wait_for_function("() => decodeURIComponent(location.hash).includes('dataset')")
    assert current_hash(page) in ("#/dataset/iris@1", "#/record/dataset:iris@1")
    expect(page.get_by_test_id("files")).to_contain_text("iris.csv")  # only the dataset's page lists it
    page.go_back()
    expect(view(page, "record")).to_contain_text(bare(iris_run))
    page.go_back()
    page.go_back()
    view(page, "overview")
    # Enter on a focused row opens its record too.
    other_run = example.run_of("co2-rise-gbm")["id"]
    page.goto(example.url + "#/runs")
    row = page.locator(f'[data-testid="row"][data-ref="{other_run}"]')
    row.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => location.hash.includes('co2-rise-gbm')")
    expect(view(page, "record")).to_contain_text(bare(other_run))
    page.go_back()
    view(page, "table")
    # The header's nav reaches every top-level view.
    nav = page.locator("nav").first
    for label, name, kind in (
        ("Datasets", "table", "datasets"),
        ("Runs", "table", "runs"),
        ("Models", "table", "models"),
        ("Experiments", "table", "experiments"),
        ("Lineage", "lineage", None),
        ("Rules", "rules", None),
        ("Overview", "overview", None),
    ):
        nav.get_by_role("link", name=label, exact=True).click()
        shown = view(page, name)
        if kind:
            expect(shown).to_have_attribute("data-kind", kind)
    nav.get_by_role("link", name="Rules", exact=True).click()
    view(page, "rules").locator('a[href="#/rules/TFC0006-E002"]').first.click()
    expect(view(page, "rule")).to_contain_text(_rule("TFC0006-E002").name)
    page.go_back()
    view(page, "rules")
    pages.watch.assert_clean(example.site.page)


def show(ex: Example, ref: str) -> dict[str, Any]:
    """`strataml show REF --format json`: what the record page must show."""
    code, out = cli(ex.root, "show", ref, "--format", "json")
    assert code == 0, out
    return json.loads(out)


def test_record_pages_show_files_history_receipt_curves_plots_and_neighbours(example: Example, pages: Pages) -> None:
    page = pages.new()
    # A model: its promotion history from the ledger and its gate receipt, criterion by criterion.
    model = example.model("production")["id"]
    name = bare(model).split("@")[0]
    ledger = [
        json.loads(line) for line in (example.root / "models" / name / "lifecycle.jsonl").read_text().splitlines()
    ]
    gate = json.loads((example.root / "models" / name / "1" / "gate.json").read_text())
    record = open_view(page, example.url, f"#/model/{bare(model)}", "record")
    history = record.get_by_test_id("history")
    assert_shows(history, [e["reason"] for e in ledger] + [e["to"] for e in ledger], "the history")
    receipt = record.get_by_test_id("receipt")
    assert_shows(receipt, [gate["status"]] + [c["expression"] for c in gate["criteria"]], "the receipt")
    files = show(example, model)["files"]
    assert_shows(record.get_by_test_id("files"), [f["path"] for f in files] + [f["sha256"][:8] for f in files], "files")
    expect(record.get_by_test_id("signature")).to_contain_text("unsigned")
    # A run: params, inputs with their digests, plots linked (not embedded) relative to the repository.
    run = example.run_of("iris-logreg")["id"]
    detail = show(example, run)
    record = open_view(page, example.url, f"#/run/{bare(run)}", "record")
    digests = [i["digest"].removeprefix("sha256:")[:8] for i in detail["attrs"]["inputs"]]
    assert_shows(record, list(detail["attrs"]["params"]) + digests, "the run page")
    plots = [f["path"] for f in detail["files"] if f["path"].startswith("plots/") and f["path"].endswith(".png")]
    assert plots
    for plot in plots:
        links = record.locator(f'a[href$="{plot}"]')  # in the plots section (and the files table)
        expect(links.first).to_be_attached()
        for link in links.all():
            target = link.evaluate("a => a.href")  # resolved against the page's own file:// URL
            assert unquote(target) == (example.root / detail["path"] / plot).resolve().as_uri()
    assert page.evaluate("document.images.length") == 0
    # Neighbours: exactly the records one edge away, as links.
    expected = {a for a, b in example.edges if b == run} | {b for a, b in example.edges if a == run}
    links = record.get_by_test_id("neighbours").locator("a")
    linked = {ref_of_href(a.get_attribute("href") or "") for a in links.all()} - {None, run}  # run: its lineage
    assert linked == expected
    # A run that tracked steps: one chart per curve.
    curved = example.run_of("co2-rise-gbm")["id"]
    curves = show(example, curved)["curves"]
    assert curves
    record = open_view(page, example.url, f"#/run/{bare(curved)}", "record")
    section = record.get_by_test_id("curves")
    assert_shows(section, list(curves), "the curves")
    assert section.locator("svg").count() >= len(curves)
    pages.watch.assert_clean(example.site.page)


# ---- 3. search, facets, sort, compare ---------------------------------------------------------


def test_slash_focuses_search_and_typing_an_id_finds_the_record(example: Example, pages: Pages) -> None:
    page = pages.new()
    iris_run = example.run_of("iris-logreg")["id"]
    open_view(page, example.url, "#/rules", "rules")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement && document.activeElement.id") == "search"
    assert page.get_attribute("#search", "aria-label") or page.locator('label[for="search"]').count()
    assert page.input_value("#search") == "", "the '/' that focused the field was typed into it"
    page.keyboard.type(bare(iris_run))
    results = page.get_by_test_id("search-result")
    expect(results.first).to_have_attribute("data-ref", iris_run)
    assert iris_run in [r.get_attribute("data-ref") for r in results.all()]
    page.keyboard.press("Enter")
    expect(view(page, "record")).to_contain_text(bare(iris_run))
    # A dataset by name, too.
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement && document.activeElement.id") == "search"
    page.locator("#search").fill("breast-cancer@1")
    expect(results.first).to_have_attribute("data-ref", "dataset:breast-cancer@1")
    # Inside an input, '/' is a character, not a shortcut.
    open_view(page, example.url, "#/runs", "table")
    box = page.get_by_test_id("table-search")
    box.click()
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.getAttribute('data-testid')") == "table-search"
    assert box.input_value() == "/"
    pages.watch.assert_clean(example.site.page)


def test_a_row_opened_as_the_typing_settles_stays_opened(example: Example, pages: Pages) -> None:
    """The table writes its search into the URL once typing pauses (120 ms). A row clicked just
    as that timer was due set the record's address, and the timer then replaced it with the
    table's before the router drew the record: the click was lost, the table stayed (the flaky
    test_hostile_run_is_reachable_through_the_ui, under a busy machine)."""
    page = pages.new()
    open_view(page, example.url, "#/runs", "table")
    target = next(r["id"] for r in example.tables["runs"] if "co2" in r["id"])
    # In one task: type (the settle timer is held here), click the row, then run the timer as a
    # busy machine may: after the click set the record's address, before the router's hashchange.
    page.evaluate(
        """() => {
          const held = [], real = window.setTimeout;
          window.setTimeout = (fn, ms) => ms === 120 ? (held.push(fn), 0) : real(fn, ms);
          const box = document.querySelector('[data-testid="table-search"]');
          box.value = "co2";
          box.dispatchEvent(new Event("input", { bubbles: true }));
          window.setTimeout = real;
          document.querySelector('[data-testid="row"] [role="cell"]:last-child').click();
          held.forEach((fn) => fn());
        }"""
    )
    record = view(page, "record")
    expect(record).to_contain_text(target.split(":", 1)[1])
    assert page.evaluate("location.hash").startswith("#/run/")


def test_table_search_filters_rows_and_keeps_state_in_the_url(example: Example, pages: Pages) -> None:
    page = pages.new()
    runs = example.tables["runs"]
    open_view(page, example.url, "#/runs", "table")
    page.get_by_test_id("table-search").fill("co2")
    expected = [r["id"] for r in runs if "co2" in r["id"]]
    assert len(expected) == 1
    expect(page.get_by_test_id("row-count")).to_have_text(re.compile(rf"^\s*1\s+of\s+{len(runs)}\s*$"))
    assert rows_in_order(page) == expected
    assert_url_keeps(page, "q", "co2")
    # The same state from a deep link, in a fresh page; and search covers descriptions and tags.
    page2 = pages.new()
    open_view(page2, example.url, "#/experiments?q=smallest", "table")  # iris-logreg's description
    expected = [
        r["id"]
        for r in example.tables["experiments"]
        if "smallest" in (read_yaml(example.root / "experiments" / f"{r['name']}.yaml").get("description") or "")
    ]
    assert expected == ["experiment:iris-logreg"]
    expect(page2.get_by_test_id("row")).to_have_count(1)
    assert rows_in_order(page2) == expected
    open_view(page2, example.url, "#/runs?q=synthetic", "table")  # a tag value (purpose: synthetic) and the id
    expected = sorted(r["id"] for r in runs if "synthetic" in r["id"] or "synthetic" in r["tags"].values())
    expect(page2.get_by_test_id("row")).to_have_count(len(expected))
    assert sorted(rows_in_order(page2)) == expected
    pages.watch.assert_clean(example.site.page)


def test_facets_give_exactly_the_matching_rows(example: Example, pages: Pages) -> None:
    page = pages.new()
    runs = example.tables["runs"]
    iris_run = example.run_of("iris-logreg")["id"]
    open_view(page, example.url, "#/runs", "table")
    page.get_by_test_id("facet-experiment-iris-logreg").check()
    expect(page.get_by_test_id("row-count")).to_have_text(re.compile(rf"^\s*1\s+of\s+{len(runs)}\s*$"))
    assert rows_in_order(page) == [iris_run]
    assert_url_keeps(page, "f.experiment", "iris-logreg")
    # From a deep link.
    open_view(page, example.url, "#/runs?f.experiment=iris-logreg", "table")
    expect(page.get_by_test_id("row")).to_have_count(1)
    assert rows_in_order(page) == [iris_run]
    # A tag facet.
    open_view(page, example.url, "#/runs", "table")
    page.get_by_test_id("facet-tags.purpose-synthetic").check()
    expected = sorted(r["id"] for r in runs if r["tags"].get("purpose") == "synthetic")
    expect(page.get_by_test_id("row")).to_have_count(len(expected))
    assert sorted(rows_in_order(page)) == expected
    # Model state.
    open_view(page, example.url, "#/models", "table")
    page.get_by_test_id("facet-state-production").check()
    expect(page.get_by_test_id("row")).to_have_count(1)
    assert rows_in_order(page) == [example.model("production")["id"]]
    pages.watch.assert_clean(example.site.page)


def test_a_link_to_a_value_no_row_has_lists_none_and_says_so(example: Example, pages: Pages) -> None:
    """`#/models?f.state=production` where none was in production listed every model ("4 of 4"),
    as if each matched; a word in another case (status=Failed) matched nothing either."""
    runs = example.tables["runs"]
    page = pages.new()
    open_view(page, example.url, "#/runs?f.status=failed", "table")
    expect(page.get_by_test_id("row-count")).to_have_text(re.compile(rf"^\s*0\s+of\s+{len(runs)}\s*$"))
    expect(page.get_by_test_id("unknown-filter")).to_contain_text("No run has status “failed”.")
    assert_url_keeps(page, "f.status", "failed")
    open_view(page, example.url, "#/runs?f.status=Succeeded", "table")
    expect(page.get_by_test_id("row")).to_have_count(len(runs))
    expect(page.get_by_test_id("unknown-filter")).to_have_count(0)
    # A tag no row has (no facet shows it) selects none, as the API's filter; names match exactly.
    open_view(page, example.url, "#/runs?f.tags.owner=bob", "table")
    expect(page.get_by_test_id("row-count")).to_have_text(re.compile(rf"^\s*0\s+of\s+{len(runs)}\s*$"))
    expect(page.get_by_test_id("unknown-filter")).to_contain_text("No run has tag owner “bob”.")
    assert_url_keeps(page, "f.tags.owner", "bob")
    # Said, and taken off with a click; a tag's absence is "(none)", as a facet has it.
    page.get_by_test_id("tag-filters").get_by_role("button").click()
    expect(page.get_by_test_id("row")).to_have_count(len(runs))
    page.wait_for_function("() => !decodeURIComponent(location.hash).includes('f.tags.owner')")
    # Taken off, a filter takes its sentence with it; the others' stay while they apply.
    open_view(page, example.url, "#/runs?f.tags.owner=bob&f.status=nope", "table")
    page.get_by_test_id("tag-filters").get_by_role("button").click()
    expect(page.get_by_test_id("unknown-filter")).to_have_text("No run has status “nope”. ")
    expect(page.get_by_test_id("tag-filters")).to_have_count(0)
    open_view(page, example.url, "#/runs?f.tags.owner=(none)", "table")
    expect(page.get_by_test_id("row")).to_have_count(len(runs))
    open_view(page, example.url, "#/runs?f.experiment=IRIS-LOGREG", "table")
    expect(page.get_by_test_id("row-count")).to_have_text(re.compile(rf"^\s*0\s+of\s+{len(runs)}\s*$"))
    open_view(page, example.url, "#/runs?f.bogus=1&metrics=test_accuracy,test_accuracy", "table")
    expect(page.get_by_test_id("unknown-filter")).to_contain_text("“bogus” is not a filter of runs.")
    expect(page.get_by_test_id("sort-test_accuracy")).to_have_count(1)  # (a metric named twice: one column)
    pages.watch.assert_clean(example.site.page)


@pytest.mark.parametrize(
    ("kind", "facet", "value"),
    [
        ("models", "signed", "NO"),
        ("runs", "signed", "false"),
        ("runs", "experiment", "experiment:iris-logreg"),
        ("models", "experiment", "experiment:iris-logreg"),
    ],
)
def test_a_facet_link_selects_the_rows_list_selects(example: Example, pages: Pages, kind: str, facet: str, value: str) -> None:
    """`f.signed=false` and `f.experiment=experiment:NAME` are filters list and the API take
    (valid signatures or not; a ref or its name): the dashboard said no row had them."""
    rows = example.tables[kind]
    wanted = select(rows, [f"{facet}={value}"], None, False, None)
    assert wanted, (facet, value)  # (the dashboard listed none of them, and said so)
    page = pages.new()
    open_view(page, example.url, f"#/{kind}?f.{facet}={value}", "table")
    expect(page.get_by_test_id("row-count")).to_have_text(re.compile(rf"^\s*{len(wanted)}\s+of\s+{len(rows)}\s*$"))
    expect(page.get_by_test_id("unknown-filter")).to_have_count(0)
    pages.watch.assert_clean(example.site.page)


def test_compare_reads_refs_as_the_record_view_does_and_each_once(example: Example, pages: Pages) -> None:
    production, other = example.model("production"), None
    other = next(r for r in example.tables["models"] if r["name"] != production["name"])
    newest = max((r for r in example.tables["models"] if r["name"] == other["name"]), key=lambda r: int(r["version"]))
    page = pages.new()
    run = example.run_of("iris-logreg")["id"]
    bare = run.removeprefix("run:")  # (a bare run id, as strataml compare takes one)
    open_view(page, example.url, f"#/compare?refs={production['id']},model:{other['name']},{bare},{run}", "compare")
    table = view(page, "compare").get_by_test_id("compare-table")
    heads = table.locator("thead th a")
    expect(heads).to_have_count(3)
    hrefs = [heads.nth(i).get_attribute("href") for i in range(3)]
    assert "#/" + newest["id"].replace(":", "/", 1) in [unquote(h or "") for h in hrefs], hrefs
    expect(view(page, "compare").locator(".warnline")).to_have_count(0)
    pages.watch.assert_clean(example.site.page)


def test_sort_by_a_metric_orders_the_runs(example: Example, pages: Pages) -> None:
    runs = example.tables["runs"]
    ascending = [r["id"] for r in sorted(runs, key=lambda r: r["metrics"]["test_accuracy"])]
    assert len({r["metrics"]["test_accuracy"] for r in runs}) == len(runs)  # no ties in the example
    page = pages.new()
    open_view(page, example.url, "#/runs?sort=test_accuracy", "table")
    expect(page.get_by_test_id("row")).to_have_count(len(runs))
    assert rows_in_order(page) == ascending
    open_view(page, example.url, "#/runs?sort=test_accuracy&desc=1", "table")
    expect(page.locator('[data-testid="row"]').first).to_have_attribute("data-ref", ascending[-1])
    assert rows_in_order(page) == ascending[::-1]
    # By clicking the header (a button): one direction, then the other, with aria-sort saying which.
    open_view(page, example.url, "#/runs?metrics=test_accuracy", "table")
    header = page.get_by_test_id("sort-test_accuracy")
    assert page.evaluate("el => el.tagName", header.element_handle()) == "BUTTON"

    def aria_sort() -> str | None:  # on the header cell holding the button (or the button itself)
        return header.evaluate("el => (el.closest('[aria-sort]') || el).getAttribute('aria-sort')")

    header.click()
    page.wait_for_function("() => /[?&]sort=test_accuracy/.test(decodeURIComponent(location.hash))")
    first = aria_sort()
    assert first in ("ascending", "descending")
    expect(page.locator('[data-testid="row"]').first).to_have_attribute(
        "data-ref", ascending[0] if first == "ascending" else ascending[-1]
    )
    assert rows_in_order(page) == (ascending if first == "ascending" else ascending[::-1])
    header.click()
    expect(page.locator('[data-testid="row"]').first).to_have_attribute(
        "data-ref", ascending[-1] if first == "ascending" else ascending[0]
    )
    assert aria_sort() == ("descending" if first == "ascending" else "ascending")
    assert rows_in_order(page) == (ascending[::-1] if first == "ascending" else ascending)
    assert_url_keeps(page, "sort", "test_accuracy")
    # A metric column chosen by its checkbox can be sorted by too: lower brier first.
    page.get_by_test_id("metric-test_brier").check()
    page.wait_for_function("() => decodeURIComponent(location.hash).includes('test_brier')")
    by_brier = [r["id"] for r in sorted(runs, key=lambda r: r["metrics"]["test_brier"])]
    page.get_by_test_id("sort-test_brier").click()
    if aria_sort_of(page.get_by_test_id("sort-test_brier")) != "ascending":
        page.get_by_test_id("sort-test_brier").click()
    expect(page.locator('[data-testid="row"]').first).to_have_attribute("data-ref", by_brier[0])
    assert rows_in_order(page) == by_brier
    pages.watch.assert_clean(example.site.page)


def aria_sort_of(header: Any) -> str | None:
    return header.evaluate("el => (el.closest('[aria-sort]') || el).getAttribute('aria-sort')")


def test_compare_two_runs_side_by_side_with_the_best_value_marked(example: Example, pages: Pages) -> None:
    iris_run, breast_run = example.run_of("iris-logreg")["id"], example.run_of("breast-cancer-rf")["id"]
    a, b = example.run_yaml(iris_run), example.run_yaml(breast_run)
    page = pages.new()
    open_view(page, example.url, "#/runs", "table")
    for ref in (iris_run, breast_run):
        page.locator(f'[data-testid="row"][data-ref="{ref}"]').get_by_test_id("pick").check()
    page.get_by_test_id("compare").click()
    table = view(page, "compare").get_by_test_id("compare-table")
    refs = parse_qs(current_hash(page).partition("?")[2])["refs"][0].split(",")
    assert sorted(refs) == sorted([iris_run, breast_run])
    # Params side by side.
    for key in sorted(set(a["params"]) | set(b["params"])):
        row = table.locator(f'[data-testid="compare-row"][data-group="params"][data-key="{key}"]')
        expect(row).to_have_count(1)
        text = text_of(row)
        for params in (a["params"], b["params"]):
            if key in params and isinstance(params[key], str):
                assert params[key] in text, (key, params[key], text)
    # Metrics side by side, the best one marked (lower is better for losses, errors, brier, ece).
    for metric in sorted(set(a["metrics"]) & set(b["metrics"])):
        va, vb = a["metrics"][metric], b["metrics"][metric]
        row = table.locator(f'[data-testid="compare-row"][data-group="metrics"][data-key="{metric}"]')
        expect(row).to_have_count(1)
        best = row.locator('[data-best="1"]')
        if va == vb:
            continue
        want = min(va, vb) if LOWER_IS_BETTER.search(metric) else max(va, vb)
        other = vb if want == va else va
        expect(best).to_have_count(1)
        shown = number_in(text_of(best))
        assert abs(shown - want) < abs(other - want) / 2, (
            f"{metric}: best marked {shown}, expected {want} (not {other})"
        )
    # Differences only: equal rows go, different rows stay.
    same = [k for k in a["params"] if k in b["params"] and a["params"][k] == b["params"][k]]
    differ = [k for k in a["params"] if k in b["params"] and a["params"][k] != b["params"][k]]
    assert same and differ
    page.get_by_test_id("diff-only").check()
    for key in same:
        expect(table.locator(f'[data-testid="compare-row"][data-group="params"][data-key="{key}"]')).to_be_hidden()
    for key in differ:
        expect(table.locator(f'[data-testid="compare-row"][data-group="params"][data-key="{key}"]')).to_be_visible()
    # A metric across an experiment's runs: a chart.
    open_view(page, example.url, "#/compare?experiment=iris-logreg&metric=test_accuracy", "compare")
    expect(page.get_by_test_id("metric-chart")).to_be_visible()
    pages.watch.assert_clean(example.site.page)


# ---- 4. lineage --------------------------------------------------------------------------------


def graph_refs(page: Any) -> set[str]:
    return set(
        page.evaluate(
            """() => Array.from(document.querySelectorAll('[data-testid="lineage-graph"] [data-testid="lineage-node"]'))
            .map(n => n.getAttribute('data-ref'))"""
        )
    )


def assert_table_matches_graph(page: Any, ex: Example) -> None:
    """The table for screen readers lists the same records as the SVG, no more, no fewer."""
    shown = graph_refs(page)
    table = page.get_by_test_id("lineage-table")
    expect(table).to_have_count(1)
    # The hook sits on the <table> itself or on a wrapper holding the tables (nodes, edges).
    assert table.evaluate("el => el.tagName === 'TABLE' ? 1 : el.querySelectorAll('table').length") >= 1
    # Each record is listed by its full ref as text, or by a link to its page or lineage.
    text = text_of(table)
    listed = {ref for ref in (n["id"] for n in ex.index["nodes"]) if ref in text}
    listed |= {ref_of_href(a.get_attribute("href") or "") for a in table.locator("a").all()} - {None}
    assert listed == shown


def ref_of_href(href: str) -> str | None:
    """The record a `#/...` link opens: #/run/ID, #/model/N@V, #/record/REF, #/lineage/REF."""
    match = re.match(r"#/(run|model|dataset|experiment|record|lineage)/([^?]+)", href)
    if not match:
        return None
    kind, rest = match.group(1), unquote(match.group(2))
    return rest if kind in ("record", "lineage") else f"{kind}:{rest}"


def test_lineage_recentres_on_click_and_on_enter(example: Example, pages: Pages) -> None:
    model = example.model("production")["id"]
    run = example.run_of("iris-logreg")["id"]
    page = pages.new()
    open_view(page, example.url, f"#/lineage/{model}?depth=2&dir=up", "lineage")
    focus = page.locator('[data-testid="lineage-node"][data-focus="1"]')
    expect(focus).to_have_attribute("data-ref", model)
    assert graph_refs(page) == example.lineage(model, 2, "up")
    assert_table_matches_graph(page, example)
    # A click re-centres: the URL and the focused node change.
    page.locator(f'[data-testid="lineage-node"][data-ref="{run}"]').click()
    expect(focus).to_have_attribute("data-ref", run)
    assert current_hash(page).startswith(f"#/lineage/{run}")
    query = parse_qs(current_hash(page).partition("?")[2])
    depth = int(query.get("depth", ["2"])[0])
    direction = query.get("dir", ["both"])[0]
    assert graph_refs(page) == example.lineage(run, depth, direction)
    assert_table_matches_graph(page, example)
    # Back returns to the model's graph.
    page.go_back()
    expect(focus).to_have_attribute("data-ref", model)
    # Keyboard: Tab to a node other than the focused one, Enter re-centres on it.
    open_view(page, example.url, f"#/lineage/{run}?depth=1&dir=both", "lineage")
    expect(focus).to_have_attribute("data-ref", run)
    target = None
    for _ in range(200):
        page.keyboard.press("Tab")
        active = page.evaluate(
            """() => { const n = document.activeElement && document.activeElement.closest('[data-testid="lineage-node"]');
                       return n ? [n.getAttribute('data-ref'), document.activeElement.getAttribute('role'),
                                   document.activeElement.getAttribute('tabindex')] : null; }"""
        )
        if active and active[0] != run:
            target = active
            break
    assert target is not None, "Tab never reached a lineage node other than the focused one"
    assert target[1] == "link" and target[2] == "0"
    page.keyboard.press("Enter")
    expect(focus).to_have_attribute("data-ref", target[0])
    assert current_hash(page).startswith(f"#/lineage/{target[0]}")
    pages.watch.assert_clean(example.site.page)


def test_an_experiment_page_shows_strataml_report(example: Example, pages: Pages) -> None:
    import subprocess

    done = subprocess.run([sys.executable, "-m", "strataml", "-C", str(example.root), "report", "experiment:iris-logreg",
                           "--format", "json"], capture_output=True, text=True, check=True)
    report = json.loads(done.stdout)
    page = pages.new()
    section = open_view(page, example.url, "#/record/experiment:iris-logreg", "record")
    expect(section.get_by_test_id("report-summary")).to_contain_text(
        f"{report['runs']} run{'' if report['runs'] == 1 else 's'}: {report['succeeded']} succeeded"
    )
    rows = section.get_by_test_id("report-row")
    expect(rows).to_have_count(len(report["metrics"]))
    gated = next(m for m in report["metrics"] if m["gated"])
    row = section.locator(f'[data-testid="report-row"][data-key="{gated["name"]}"]')
    expect(row).to_contain_text(f"{gated['name']} (gate)")
    expect(row).to_contain_text(gated["better"])
    pages.watch.assert_clean(example.site.page)


def test_lineage_depth_and_direction_controls(example: Example, pages: Pages) -> None:
    spec = "experiment:iris-logreg"
    one, two = example.lineage(spec, 1, "down"), example.lineage(spec, 2, "down")
    assert one < two  # the run, then also its model
    page = pages.new()
    open_view(page, example.url, f"#/lineage/{spec}?depth=1&dir=down", "lineage")
    expect(page.locator('[data-testid="lineage-node"][data-focus="1"]')).to_have_attribute("data-ref", spec)
    expect(page.get_by_test_id("lineage-node")).to_have_count(len(one))
    assert graph_refs(page) == one
    open_view(page, example.url, f"#/lineage/{spec}?depth=2&dir=down", "lineage")
    expect(page.get_by_test_id("lineage-node")).to_have_count(len(two))
    assert graph_refs(page) == two
    open_view(page, example.url, f"#/lineage/{spec}?depth=1&dir=up", "lineage")
    expect(page.get_by_test_id("lineage-node")).to_have_count(len(example.lineage(spec, 1, "up")))
    assert graph_refs(page) == example.lineage(spec, 1, "up")
    assert page.get_by_test_id("depth").count() == 1 and page.get_by_test_id("dir").count() == 1
    pages.watch.assert_clean(example.site.page)


# ---- 5. a hostile repository ---------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
END = "</script>"
JS = "javascript:alert(1)"
EVERYTHING = f"{SCRIPT} {IMG} {END} {JS}"
LONG = "W" * 10_000  # one unbreakable 10 KB word
RTL = "\u202eexe.gnp \u200f\u0007\u200b\U000e0041"  # a right-to-left override, an RLM, a control, a zero-width space, a tag
HOSTILE_RUN = f"20261122T200099Z-{IMG}"  # a record name the doctor rejects, but the index still shows
HOSTILE_FILE = f"{IMG}.csv"
IRIS_RUN = next((ROOT / "runs").glob("*iris-logreg*")).name


@pytest.fixture(scope="module")
def hostile(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Site:
    """The example workspace with hostile strings in every free-text place the schemas allow,
    in a file name, in a promotion reason and actor, and in a run's name."""
    base = tmp_path_factory.mktemp("hostile")
    root = copy_example(base / "ws")
    csv = base / HOSTILE_FILE
    csv.write_text(f"a,{SCRIPT}\n1,2\n3,4\n", "utf-8")
    code, out = cli(
        root,
        "dataset",
        "add",
        "evil",
        str(csv),
        "--version",
        "1",
        "--license",
        "CC0-1.0",
        "--source",
        JS,
        "--description",
        EVERYTHING,
    )
    assert code == 0, out
    edit_yaml(
        root / "datasets" / "evil" / "1" / "dataset.yaml",
        lambda d: d.update(tags={SCRIPT: IMG, "end": END, "link": JS, "long": LONG, "rtl": RTL}),
    )
    edit_yaml(root / "experiments" / "iris-logreg.yaml", lambda d: d.update(description=EVERYTHING))
    run = next((root / "runs").glob("*iris-logreg*"))
    edit_yaml(run / "run.yaml", lambda d: d["tags"].update(note=EVERYTHING, **{SCRIPT: JS}))
    # A promotion whose reason and actor are hostile. (git itself drops '<' and '>' from the
    # identity it reports; a ledger written by any other tool may hold anything.)
    with pytest.MonkeyPatch.context() as mp:
        from strataml import gitfacts

        mp.setattr(gitfacts, "identity", lambda _root: f"{IMG} {SCRIPT} <x@example.org>")
        code, out = cli(root, "promote", "model:co2-rise-classifier@1", "--to", "candidate", "--reason", EVERYTHING)
    assert code == 0, out
    # A run whose very name is markup: the doctor reports it (TFC0001-E003) and the index shows it.
    src = next((root / "runs").glob("*synthetic-logreg*"))
    shutil.copytree(src, root / "runs" / HOSTILE_RUN)
    edit_yaml(root / "runs" / HOSTILE_RUN / "run.yaml", lambda d: d.update(ref=f"run:{HOSTILE_RUN}"))
    site = build(root)
    data = site.page.read_text("utf-8")
    assert data.count("</script>") == 2, "the data block or the app can be ended by repository content"
    return site


INERT = """() => {
    const attrs = [];
    for (const el of document.querySelectorAll('*')) {
        for (const a of el.attributes) {
            if (/^on/i.test(a.name)) attrs.push(el.tagName + ' ' + a.name);
            if (/^(href|src|xlink:href|action|formaction|data)$/i.test(a.name) && /^\\s*javascript:/i.test(a.value))
                attrs.push(el.tagName + ' ' + a.name + '=' + a.value);
        }
    }
    return {
        scripts: document.scripts.length,
        images: Array.from(document.images).map(i => i.getAttribute('src')).filter(s => !(s || '').startsWith('data:')),
        js_links: document.querySelectorAll('a[href^="javascript:" i]').length,
        attrs: attrs,
        iframes: document.querySelectorAll('iframe, object, embed, base, meta[http-equiv="refresh"]').length,
    };
}"""


def hostile_views() -> list[tuple[str, str, str, list[str]]]:
    """(id, hash, view, texts that must appear as text in the view)."""
    run_hash = quote(HOSTILE_RUN, safe="")
    return [
        ("overview", "#/", "overview", []),
        ("dataset", "#/dataset/evil@1", "record", [HOSTILE_FILE, EVERYTHING, JS, SCRIPT, IMG, END]),
        ("model-history", "#/model/co2-rise-classifier@1", "record", [EVERYTHING, f"{IMG} {SCRIPT}"]),
        ("experiment-description", "#/experiment/iris-logreg", "record", [EVERYTHING]),
        ("run-tags", f"#/run/{IRIS_RUN}", "record", [EVERYTHING]),
        ("run-name", f"#/run/{run_hash}", "record", [HOSTILE_RUN]),
        ("run-record", f"#/record/{quote('run:' + HOSTILE_RUN, safe='')}", "record", [HOSTILE_RUN]),
        ("datasets", "#/datasets", "table", ["evil"]),
        ("runs-search", f"#/runs?q={quote('<img', safe='')}", "table", [HOSTILE_RUN]),
        ("lineage", f"#/lineage/{quote('run:' + HOSTILE_RUN, safe='')}", "lineage", [HOSTILE_RUN]),
        ("lineage-file", "#/lineage/dataset:evil@1", "lineage", ["evil@1"]),
        ("notfound-hash", f"#/run/{quote(SCRIPT, safe='')}", "notfound", []),
        ("notfound-raw", f"#/run/{IMG}", "notfound", []),
        ("notfound-js", f"#/lineage/{JS}", "notfound", []),
        ("rule-js", f"#/rules/{quote(IMG, safe='')}", "notfound", []),
        (
            "compare",
            f"#/compare?refs={quote('run:' + HOSTILE_RUN, safe='')},"
            f"{quote('run:' + HOSTILE_RUN.replace(IMG, 'x'), safe='')}",
            None,
            [],
        ),
    ]


@pytest.mark.parametrize("case", hostile_views(), ids=lambda c: c[0])
def test_hostile_content_is_shown_as_text_and_runs_nothing(hostile: Site, pages: Pages, case: tuple) -> None:
    _, hash_, view_name, texts = case
    page = pages.new()
    shown = open_view(page, hostile.url, hash_, view_name)
    assert_shows(shown, texts, f"{hash_} (as text)")
    page.wait_for_timeout(100)  # give any injected handler (onerror fires asynchronously) its chance
    inert = page.evaluate(INERT)
    assert inert == {"scripts": 2, "images": [], "js_links": 0, "attrs": [], "iframes": 0}
    assert page.evaluate("document.querySelectorAll('a[href^=\"javascript:\" i]').length") == 0
    pages.watch.assert_clean(hostile.page)


def test_bidi_overrides_and_controls_are_shown_escaped_as_the_cli_shows_them(hostile: Site, pages: Pages) -> None:
    """U+202E shown as it is would show the rest of its line reversed ("gnp.exe" for "exe.gnp"); a
    zero-width space or a tag character would not show at all (two names would read alike)."""
    page = pages.new()
    shown = open_view(page, hostile.url, "#/dataset/evil@1", "record")
    assert_shows(shown, ["\\u202eexe.gnp \\u200f\\x07\\u200b\\U000e0041"], "the tag's text, escaped")
    text = page.evaluate("document.body.textContent")
    assert not any(c in text for c in "\u202e\u200f\x07\u200b\U000e0041"), "an invisible or control character reached the page"
    pages.watch.assert_clean(hostile.page)


def test_hostile_run_is_reachable_through_the_ui(hostile: Site, pages: Pages) -> None:
    """The record whose name is markup: found by the table's search and the global search, opened
    by a click, its doctor finding linked to the rule; nothing it carries becomes markup."""
    page = pages.new()
    open_view(page, hostile.url, "#/runs", "table")
    page.get_by_test_id("table-search").fill("200099Z")
    row = page.locator('[data-testid="row"]')
    expect(row).to_have_count(1)
    assert row.get_attribute("data-ref") == f"run:{HOSTILE_RUN}"
    row.click()
    record = view(page, "record")
    expect(record).to_contain_text(HOSTILE_RUN)
    findings = record.get_by_test_id("finding")
    expect(findings.first).to_have_attribute("data-code", "TFC0001-E003")
    findings.first.locator('a[href="#/rules/TFC0001-E003"]').click()
    view(page, "rule")
    assert page.evaluate(INERT)["attrs"] == []
    # The global search lists it (as text) among what "onerror" matches.
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("/")
    page.keyboard.type("onerror")
    results = page.get_by_test_id("search-result")
    expect(results.first).to_be_visible()
    refs = [r.get_attribute("data-ref") for r in results.all()]
    assert f"run:{HOSTILE_RUN}" in refs and "dataset:evil@1" in refs
    assert page.evaluate(INERT) == {"scripts": 2, "images": [], "js_links": 0, "attrs": [], "iframes": 0}
    pages.watch.assert_clean(hostile.page)


def test_hostile_long_strings_keep_the_page_usable_at_360px(hostile: Site, pages: Pages) -> None:
    """A 10 KB unbroken tag value and a right-to-left override neither widen the page nor break it."""
    page = pages.new(NARROW)
    for hash_ in ("#/dataset/evil@1", "#/datasets", "#/lineage/dataset:evil@1"):
        open_view(page, hostile.url, hash_)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= NARROW["width"] + 1, f"{hash_}: scrollWidth {width}"
    pages.watch.assert_clean(hostile.page)


def tour(page: Any, ex: Example, names: list[str] | tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """Visit the named deep links in one document, as a reader clicking around would: the first
    loaded, the rest by hash change; each yielded once its view shows its expected texts."""
    links = deep_links(ex)
    for i, name in enumerate(names):
        hash_, view_name, texts = links[name]
        shown = open_view(page, ex.url, hash_, view_name) if i == 0 else go(page, hash_, view_name)
        assert_shows(shown, texts, f"{hash_}: the {view_name} view")
        yield name, hash_


# ---- 6. screenshots -------------------------------------------------------------------------------

# Every deep-linked view but the ones that look like another (a second table, the same record by
# another URL, the other not-found).
SCREENS = [v for v in LINKS if v not in ("datasets", "models", "experiments", "record", "notfound-route")]
DARK_SCREENS = ["overview", "run", "model", "lineage", "compare"]


def test_screenshot_of_every_view(example: Example, pages: Pages, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A screenshot of each view (light and dark) under the test's tmp dir; the overview at 1280x800
    also as docs/dashboard.png, which the README shows (written when missing, or refreshed with
    STRATAML_UPDATE_SCREENSHOT=1, like the golden files)."""
    folder = tmp_path_factory.mktemp("screenshots")
    for scheme, names in (("light", SCREENS), ("dark", DARK_SCREENS)):
        page = pages.new(WIDE, scheme)
        for name, _ in tour(page, example, names):
            path = folder / f"{name}-{scheme}.png"
            page.screenshot(path=str(path), full_page=scheme == "light")
            assert path.stat().st_size > 1000
    page = pages.new(WIDE, "light")
    open_view(page, example.url, "#/", "overview")
    expect(page.locator('[data-testid="view-overview"]')).to_contain_text("strataml-example")
    shot = folder / "dashboard.png"
    page.screenshot(path=str(shot))  # the viewport: 1280x800
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if not SCREENSHOT.exists() or os.environ.get("STRATAML_UPDATE_SCREENSHOT"):
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
    pages.watch.assert_clean(example.site.page)


# ---- 7. accessibility --------------------------------------------------------------------------

# One page of each kind: the tables, record pages and not-found pages share their markup.
AXE_VIEWS = [
    v for v in LINKS if v not in ("datasets", "models", "experiments", "record", "experiment", "notfound-route")
]


@pytest.mark.parametrize(("width", "scheme"), [("wide", "light"), ("wide", "dark"), ("narrow", "light")])
def test_no_serious_accessibility_violations(example: Example, pages: Pages, width: str, scheme: str) -> None:
    """At a phone's width too: tables that scroll sideways with nothing to focus in them (a gate
    receipt, a promotion history) could not be scrolled from the keyboard."""
    found = []
    page = pages.new(WIDE if width == "wide" else NARROW, scheme)
    for _, hash_ in tour(page, example, AXE_VIEWS):  # one document: axe is injected once
        found += [f"{hash_}: {v}" for v in axe_serious(page)]
    assert found == [], "\n".join(found)
    pages.watch.assert_clean(example.site.page)


# ---- 8. 360 px -------------------------------------------------------------------------------------


def test_no_horizontal_scroll_at_360px(example: Example, pages: Pages) -> None:
    page = pages.new(NARROW)
    wide = []
    for _, hash_ in tour(
        page,
        example,
        (
            *SCREENS[:2],
            "datasets",
            "models",
            *SCREENS[2:],
        ),
    ):
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > NARROW["width"] + 1:
            wide.append(f"{hash_}: scrollWidth {width}")
    assert wide == [], "\n".join(wide)
    pages.watch.assert_clean(example.site.page)


def test_a_short_table_shows_its_last_row_whole_beside_real_scrollbars(example: Example, browser: Any) -> None:
    """Found by a new user (Debian's Chromium through its driver, scrollbars drawn): a short, wide
    table's box was sized to its rows without its horizontal scrollbar, which covered most of the
    last row. (Headless Chromium hides scrollbars unless told not to.)"""
    from browser import LAUNCH_ARGS, chromium_path

    drawn = browser.browser_type.launch(
        executable_path=chromium_path(), headless=True, args=LAUNCH_ARGS, ignore_default_args=["--hide-scrollbars"]
    )
    try:
        page = drawn.new_page(viewport={"width": 1400, "height": 1000})
        cut = []
        for kind in ("datasets", "runs", "models", "experiments"):
            page.goto(f"{example.url}#/{kind}")
            page.wait_for_selector("div.vscroll .vrow")
            client, scroll, outer = page.evaluate(
                "(() => { const s = document.querySelector('div.vscroll'); return [s.clientHeight, s.scrollHeight, s.offsetHeight]; })()"
            )
            if scroll > client:
                cut.append(f"{kind}: {scroll - client}px of rows hidden (box {outer}px)")
        assert cut == [], cut
    finally:
        drawn.close()


# ---- 9. virtualisation ----------------------------------------------------------------------------

MANY = 3000


@pytest.fixture(scope="module")
def many_runs(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Site, dict[str, float]]:
    """A workspace with one dataset and MANY runs, written directly as YAML (as
    benchmarks/generate.py does, but small: no artifacts, no git)."""
    import hashlib
    import random

    root = tmp_path_factory.mktemp("many") / "ws"
    (root / "datasets" / "d" / "1").mkdir(parents=True)
    (root / "strataml.yaml").write_text("schema: strataml/workspace/v1\nname: many\n")
    content = b"a\n1\n"
    (root / "datasets" / "d" / "1" / "part.csv").write_bytes(content)
    sha = hashlib.sha256(content).hexdigest()
    digest = "sha256:" + hashlib.sha256(f"{sha}  part.csv\n".encode()).hexdigest()
    when = "2026-01-01T00:00:00Z"
    write_yaml(
        root / "datasets" / "d" / "1" / "dataset.yaml",
        {
            "schema": "strataml/dataset/v1",
            "ref": "dataset:d@1",
            "description": "d",
            "license": "CC0-1.0",
            "source": {"kind": "generated"},
            "created_at": when,
            "files": [{"path": "part.csv", "sha256": sha, "size": len(content)}],
            "digest": digest,
        },
    )
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    rng = random.Random(12)
    accuracy: dict[str, float] = {}
    values = rng.sample(range(1, 10**6), MANY)  # distinct, so the order is unique
    for i in range(MANY):
        run_id = f"20260101T000000Z-many-{i:05d}"
        accuracy[f"run:{run_id}"] = values[i] / 10**6
        folder = root / "runs" / run_id
        folder.mkdir(parents=True)
        (folder / "run.yaml").write_text(
            yaml.dump(
                {
                    "schema": "strataml/run/v1",
                    "ref": f"run:{run_id}",
                    "status": "succeeded",
                    "created_at": when,
                    "started_at": when,
                    "ended_at": when,
                    "plugin": {"key": "bench", "version": "0"},
                    "seed": 0,
                    "config_hash": "sha256:" + "0" * 64,
                    "metrics": {"test_accuracy": values[i] / 10**6},
                    "inputs": [{"ref": "dataset:d@1", "digest": digest}],
                    "artifacts": [],
                },
                Dumper=dumper,
                sort_keys=False,
            )
        )
    return build(root), accuracy


def test_runs_table_is_virtualised(many_runs: tuple[Site, dict[str, float]], pages: Pages) -> None:
    site, accuracy = many_runs
    order = sorted(accuracy, key=accuracy.__getitem__, reverse=True)
    page = pages.new()
    open_view(page, site.url, "#/runs?sort=test_accuracy&desc=1", "table")
    expect(page.get_by_test_id("row-count")).to_have_text(re.compile(rf"^\s*{MANY}\s+of\s+{MANY}\s*$"))
    expect(page.locator('[data-testid="row"]').first).to_have_attribute("data-ref", order[0])
    in_dom = page.locator('[data-testid="row"]').count()
    assert 0 < in_dom <= 300, f"{in_dom} rows in the DOM for {MANY} runs"
    assert rows_in_order(page)[:5] == order[:5]
    # Scroll the table to the bottom: the last run is shown, and the DOM is still small.
    page.get_by_test_id("table").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    last = page.locator(f'[data-testid="row"][data-ref="{order[-1]}"]')
    expect(last).to_be_visible()
    assert page.locator('[data-testid="row"]').count() <= 300
    assert rows_in_order(page)[-3:] == order[-3:]
    # Searching narrows without rendering everything.
    page.get_by_test_id("table-search").fill("many-0299")
    expected = sorted(r for r in accuracy if "many-0299" in r)
    expect(page.get_by_test_id("row")).to_have_count(len(expected))
    assert sorted(rows_in_order(page)) == expected
    pages.watch.assert_clean(site.page)


def test_large_lineage_is_capped_and_the_overview_graph_aggregated(
    many_runs: tuple[Site, dict[str, float]], pages: Pages
) -> None:
    site, _ = many_runs
    page = pages.new()
    open_view(page, site.url, "#/lineage/dataset:d@1?depth=1&dir=down", "lineage")
    expect(page.locator('[data-testid="lineage-node"][data-focus="1"]')).to_have_attribute("data-ref", "dataset:d@1")
    nodes = page.locator('[data-testid="lineage-graph"] [data-testid="lineage-node"]').count()
    assert nodes <= 100, f"{nodes} lineage nodes drawn for one layer of {MANY}"
    assert re.search(r"\+\s?[\d,]+\s+more", text_of(page.get_by_test_id("lineage-graph"))), "no '+N more' node"
    open_view(page, site.url, "#/lineage", "lineage")
    drawn = page.locator('[data-testid="lineage-graph"] [data-testid="lineage-node"]').count()
    assert drawn <= 10, f"the whole-workspace graph drew {drawn} nodes for 1 dataset and {MANY} runs"
    pages.watch.assert_clean(site.page)


# Odd but valid-looking repository data: numbers JSON cannot hold, keys that are also names of
# JavaScript's own object members, records far wider than any screen, and files a browser would run.
AWKWARD_TAG = "constructor"


@pytest.fixture(scope="module")
def awkward(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Site, dict[str, str]]:
    import hashlib

    root = copy_example(tmp_path_factory.mktemp("awkward") / "ws")
    runs = sorted(p for p in (root / "runs").iterdir() if p.is_dir())
    wide, active, many = runs[0], runs[1], runs[2]

    def widen(d: dict) -> None:
        d["metrics"]["nan_metric"] = float("nan")
        d["tags"] = {AWKWARD_TAG: "yes", "__proto__": "polluted?"}
        d["notes"] = [{f"k{i}_{j}": j for j in range(100)} for i in range(500)]

    edit_yaml(wide / "run.yaml", widen)
    for name in ("evil.html", "evil", "evil.xht"):  # a page, and what a browser may sniff or take for one
        page = active / "reports" / name
        page.write_text("<script>alert(1)</script>", "utf-8")
        entry = {"path": f"reports/{name}", "sha256": hashlib.sha256(page.read_bytes()).hexdigest(), "size": 25}
        edit_yaml(active / "run.yaml", lambda d, entry=entry: d["artifacts"].append(entry))
    edit_yaml(many / "run.yaml", lambda d: d["metrics"].update({f"m{i:05d}": i / 7 for i in range(3000)}))
    # Values of the wrong type: the doctor reports each; the page still draws every view.
    odd = runs[3]
    edit_yaml(odd / "run.yaml", lambda d: d.update(status={"not": "text"}, experiment=["a", "list"]))
    edit_yaml(root / "experiments" / "iris-logreg.yaml", lambda d: d.update(gates="test_accuracy >= 0.9"))
    model = root / "models" / "iris-classifier" / "1"
    edit_yaml(model / "model.yaml", lambda d: d.update(evaluation=["not", "a", "mapping"]))
    receipt = json.loads((model / "gate.json").read_text())
    receipt.update(criteria="all passed", reasons={"why": "because"})
    (model / "gate.json").write_text(json.dumps(receipt))
    names = {"wide": wide.name, "active": active.name, "many": many.name, "odd": odd.name}
    return build(root), names


def test_awkward_data_renders_bounded_and_inert(awkward: tuple[Site, dict[str, str]], pages: Pages) -> None:
    site, run = awkward
    page = pages.new()
    record = open_view(page, site.url, f"#/run/{run['wide']}", "record")
    assert "NaN" in record.get_by_test_id("attrs").inner_text()  # a NaN metric is shown, and the page loads
    assert page.evaluate("document.getElementsByTagName('*').length") < 30_000  # 500 x 100 values, drawn bounded
    # JavaScript's own member names are never taken for records, tags or facet values.
    for hash_ in ("#/record/__proto__", "#/record/constructor", "#/lineage/__proto__", "#/run/constructor"):
        open_view(page, site.url, hash_, "notfound")
    table = open_view(page, site.url, "#/runs", "table")
    facet_text = table.inner_text()
    assert "native code" not in facet_text and "function" not in facet_text
    expect(page.get_by_test_id(f"facet-tags.{AWKWARD_TAG}-yes")).to_have_count(1)
    # A URL naming 100 metric columns gets a bounded table, and the chooser is bounded too.
    metrics = ",".join(f"m{i:05d}" for i in range(100))
    open_view(page, site.url, f"#/runs?metrics={metrics}", "table")
    header = page.locator('[data-testid^="sort-m0"]')
    assert 1 <= header.count() <= 12
    assert page.locator('[data-testid^="metric-"]').count() <= 100
    # A page from the repository is listed, never linked: opened from file:// it would run.
    record = open_view(page, site.url, f"#/run/{run['active']}", "record")
    assert "reports/evil.html" in record.get_by_test_id("files").inner_text()
    assert page.locator('a[href*="evil"]').count() == 0
    assert page.locator('a[href$="report.md"]').count() >= 1  # the control: text files are linked
    compare = open_view(page, site.url, f"#/compare?refs=run:{run['wide']},run:{run['active']}", "compare")
    expect(compare.get_by_test_id("compare-table")).to_have_count(1)
    pages.watch.assert_clean(site.page)


def test_wrongly_typed_values_are_shown_not_fatal(awkward: tuple[Site, dict[str, str]], pages: Pages) -> None:
    site, run = awkward
    page = pages.new()
    views = [
        ("#/", "overview"),
        ("#/runs", "table"),
        ("#/models", "table"),
        ("#/experiments", "table"),
        (f"#/run/{run['odd']}", "record"),
        ("#/model/iris-classifier@1", "record"),
        ("#/experiment/iris-logreg", "record"),
        (f"#/compare?refs=run:{run['odd']},run:{run['wide']}", "compare"),
        ("#/compare?experiment=iris-logreg&metric=test_accuracy", "compare"),
        ("#/lineage/model:iris-classifier@1", "lineage"),
    ]
    for hash_, name in views:
        shown = open_view(page, site.url, hash_, name)
        assert "could not be drawn" not in shown.inner_text(), hash_
    record = open_view(page, site.url, f"#/run/{run['odd']}", "record")
    assert "not" in record.inner_text() and "text" in record.inner_text()  # the mapping, shown as text
    pages.watch.assert_clean(site.page)


def test_lineage_edges_are_the_ones_strataml_lineage_prints(example: Example, pages: Pages) -> None:
    """Deep enough to hold the whole lineage, the page's edge table equals `strataml lineage --format json`."""
    run = example.run_of("iris-logreg")["id"]
    code, out = cli(example.root, "lineage", run, "--format", "json")
    assert code == 0
    printed = {(e["from"], e["to"], e["kind"]) for e in json.loads(out)["edges"]}
    assert ("dataset:iris@1", "model:iris-classifier@1", "input") not in printed  # ancestor -> descendant: not a path
    page = pages.new()
    open_view(page, example.url, f"#/lineage/{run}?depth=6", "lineage")
    rows = page.evaluate(
        """() => Array.from(document.querySelectorAll('[data-testid="lineage-table"] table')[1].tBodies[0].rows)
        .map(tr => Array.from(tr.cells).map(td => td.textContent.trim()))"""
    )
    assert {tuple(r) for r in rows} == printed
    # A ref without a version is its latest version, as `strataml show model:NAME` reads it.
    record = open_view(page, example.url, "#/model/iris-classifier", "record")
    expect(record).to_have_attribute("data-ref", "model:iris-classifier@1")
    pages.watch.assert_clean(example.site.page)


def test_a_missing_file_is_not_linked_and_only_true_passes_a_criterion(
    pages: Pages, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A file the doctor reports missing (deleted, or a symlink out of its folder) was still a
    link, which a browser followed to wherever the link pointed; a receipt's criterion with
    `passed: "yes"` (not a boolean) showed as PASS."""
    root = copy_example(tmp_path_factory.mktemp("odd") / "example")
    version = root / "models/iris-classifier/1"
    gate = json.loads((version / "gate.json").read_text())
    gate["criteria"][0]["passed"] = "yes"
    (version / "gate.json").write_text(json.dumps(gate))
    linked = next(p for p in sorted((version / "metrics").iterdir()) if p.suffix == ".json")
    linked.unlink()
    linked.symlink_to("/etc/hostname")  # (a kind of file the page links: a JSON file)
    site = build(root)
    page = pages.new()
    record = open_view(page, site.url, "#/model/iris-classifier@1", "record")
    row = record.get_by_test_id("files").locator("tr", has_text=f"metrics/{linked.name}")
    expect(row).to_contain_text("missing")
    expect(row.locator("a")).to_have_count(0)
    criterion = record.get_by_test_id("receipt").locator("tr", has_text=gate["criteria"][0]["expression"])
    expect(criterion).to_contain_text("FAIL")


def test_the_served_dashboard_survives_a_reload_and_a_second_tab(
    pages: Pages, strataml_exe: list[str], tmp_path: Any
) -> None:
    """Found by a reviewer: `strataml serve` answered a reload's If-None-Match with a 304 that
    carried the API's policy (default-src 'none'); the browser took it for the cached page, whose
    script and style it then blocked: a reload, or a second tab, stayed at "Loading…"."""
    from conftest import require_extra

    require_extra("fastapi", "serve")
    require_extra("uvicorn", "serve")
    from test_api import running

    ws = copy_example(tmp_path / "ws")
    with running(strataml_exe, ws, tmp_path / "logs") as srv:
        url = f"http://127.0.0.1:{srv.port}/"
        page = pages.new()
        page.goto(url + "#/")
        view(page, "overview")
        reloaded = page.reload()
        assert reloaded is not None and reloaded.status in (200, 304)
        view(page, "overview")
        second = page.context.new_page()
        second.goto(url + "#/")
        view(second, "overview")
    assert pages.watch.problems() == [], pages.watch.problems()


def test_the_overview_says_what_needs_attention_where_a_lead_looks(pages: Pages, tmp_path: Any) -> None:
    """Found by a reviewer: a production model with errors showed as all green in "Production and
    staging" (its health only in another list), and the error count opened the rule catalogue,
    leaving the errors to be found rule by rule. The panel has a health column; each count opens
    its findings."""
    root = copy_example(tmp_path / "ws")
    run_yaml = root / "runs/20261122T200038Z-iris-logreg-448b2a/run.yaml"
    run_yaml.write_text(run_yaml.read_text().replace("  test_accuracy: 0.913043\n", "  test_accuracy: 0.99\n"))
    site = build(root)
    code, out = cli(root, "doctor", "--format", "json")
    errors = [f for f in json.loads(out)["findings"] if f["severity"] == "error"]
    assert code == 2 and errors
    page = pages.new()
    overview = open_view(page, site.url, "#/", "overview")
    panel = overview.get_by_test_id("deployed")
    row = panel.locator("tbody tr", has_text="iris-classifier@1")
    expect(row).to_contain_text("production")
    expect(row.locator(".health.h-errors")).to_have_count(1)
    overview.locator('a.stat[href="#/rules?severity=error"]').click()
    rules = view(page, "rules")
    listed = rules.get_by_test_id("severity-findings").get_by_test_id("finding")
    expect(listed).to_have_count(len(errors))
    assert sorted(f.get_attribute("data-code") for f in listed.all()) == sorted(f["code"] for f in errors)
    assert "model:iris-classifier@1" in rules.get_by_test_id("severity-findings").inner_text()
    # Only the rules with such findings are listed below them.
    codes = {r.inner_text() for r in rules.locator('table a[href^="#/rules/"].mono').all()}
    assert codes == {f["code"] for f in errors}, codes
    # A severity no finding has is said, not shown as a clean workspace.
    rules = open_view(page, site.url, "#/rules?severity=Error", "rules")
    expect(rules.get_by_test_id("unknown-severity")).to_contain_text("No severity “Error”")
    expect(rules.get_by_test_id("severity-findings")).to_have_count(0)
    pages.watch.assert_clean(site.page)


def test_an_experiment_with_more_runs_than_its_page_lists_links_to_them_all(pages: Pages, tmp_path: Any) -> None:
    """Found by a reviewer: past 100 runs the experiment page said "and N more in the lineage
    view", which draws the nearest 60: the rest were nowhere. It links the runs table, filtered."""
    root = copy_example(tmp_path / "ws")
    source = root / "runs/20261122T200055Z-synthetic-logreg-4dedd5"
    text = (source / "run.yaml").read_text()
    for i in range(130):
        run_id = f"20261123T0{i // 60:01d}{i % 60:02d}00Z-synthetic-logreg-{i:06x}"
        (root / "runs" / run_id).mkdir()
        (root / "runs" / run_id / "run.yaml").write_text(text.replace("20261122T200055Z-synthetic-logreg-4dedd5", run_id))
    site = build(root)
    page = pages.new()
    record = open_view(page, site.url, "#/experiment/synthetic-logreg", "record")
    link = record.locator('a[href="#/runs?f.experiment=synthetic-logreg"]')
    expect(link).to_have_text("all 131 runs of this experiment →")
    link.click()
    view(page, "table")
    expect(page.get_by_test_id("row-count")).to_have_text(re.compile(r"^\s*131\s+of\s+134\s*$"))
    assert page.evaluate("location.hash") == "#/runs?f.experiment=synthetic-logreg"
    # A run's id cut by its column is whole on hover (its suffix is what tells runs apart).
    name = page.locator('[data-testid="row"] a.rname').first
    assert name.get_attribute("title").split("\n")[0] == name.inner_text().strip() != ""
    pages.watch.assert_clean(site.page)


def test_lineage_on_a_phone_opens_on_the_record_it_is_about(example: Example, pages: Pages) -> None:
    """Found by a reviewer: on a phone the lineage of a model opened scrolled to the graph's start
    (its datasets), the model itself off screen: the centring read each node's position before
    the translate that places it (0,0 for all)."""
    page = pages.new(NARROW)
    model = example.model("production")["id"]
    lineage = open_view(page, example.url, "#/lineage/" + quote(model, safe=""), "lineage")
    wrap = lineage.locator(".graphwrap")
    assert page.evaluate("(w) => w.scrollWidth > w.clientWidth", wrap.element_handle())  # (it does scroll)
    focus = lineage.locator('[data-testid="lineage-node"][data-focus="1"]')
    box, frame = focus.bounding_box(), wrap.bounding_box()
    assert box is not None and frame is not None
    assert frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"], (box, frame)
    pages.watch.assert_clean(example.site.page)


def test_compare_on_a_phone_keeps_each_rows_name_in_view(example: Example, pages: Pages) -> None:
    """Found by a reviewer: scrolled sideways on a phone, the compared values showed with no
    metric or parameter names beside them. The names stay put."""
    runs = [r["id"] for r in example.tables["runs"]][:3]
    page = pages.new(NARROW)
    compare = open_view(page, example.url, "#/compare?refs=" + ",".join(quote(r, safe="") for r in runs), "compare")
    table = compare.get_by_test_id("compare-table")
    scroller = table.locator("xpath=ancestor-or-self::*[contains(@class,'tscroll')][1]")
    assert page.evaluate("(w) => { w.scrollLeft = w.scrollWidth; return w.scrollLeft > 0; }", scroller.element_handle())
    name, frame = table.locator("th[scope=row]").first, scroller.bounding_box()
    box = name.bounding_box()
    assert box is not None and frame is not None and abs(box["x"] - frame["x"]) < 2, (box, frame)
    pages.watch.assert_clean(example.site.page)


def test_an_empty_workspace_says_what_to_do_first(pages: Pages, tmp_path: Any) -> None:
    """Found by a reviewer: a workspace `strataml init` just made showed "No runs yet." and
    nothing on how to make one."""
    from strataml.cli.main import run

    assert run(["init", str(tmp_path / "lab")]) == 0
    site = build(tmp_path / "lab")
    page = pages.new()
    overview = open_view(page, site.url, "#/", "overview")
    expect(overview.get_by_test_id("latest-runs")).to_contain_text("`strataml run EXPERIMENT` records one")
    expect(overview.get_by_test_id("deployed")).to_contain_text("No models yet")
    pages.watch.assert_clean(site.page)
