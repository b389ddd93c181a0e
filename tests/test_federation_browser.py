"""The federated dashboard (`strataml dashboard --federate`) in a real browser: headless system
Chromium via Playwright, the page opened from file:// as a reviewer opens it.

Three git repositories made from the example workspace and one member that does not exist:
team-a and team-b are plain copies (the same datasets, each with its own runs and models); team-c
records the iris data under another name (flowers, the same digest), has no synthetic-logreg
experiment or run and no promotion ledger for iris-classifier (so nothing in production); team-d
names a folder that is not there. What the page must show is read from the page's payload and the
members' files (never written down here), and every test asserts the page logged no console
error or warning, threw nothing, opened no dialog and requested nothing but its own file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote

import pytest
from browser import (
    Pages,
    axe_serious,
    build,
    current_hash,
    go,
    launch_browser,
    new_pages,
    open_view,
    rows_in_order,
    view,
)
from conftest import age, copy_example, edit_yaml

from strataml.read.dashboard import read_payload

pytestmark = pytest.mark.slow

KINDS = ("datasets", "runs", "models", "experiments")
# Identity and signing on the command line, and no user or system git config read at all.
GIT = ["git", "-c", "user.email=fed@example.org", "-c", "user.name=Fed", "-c", "commit.gpgsign=false"]
GIT += ["-c", "init.defaultBranch=main"]
GIT_ENV = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One system Chromium for the module (the federation below is built only once it started)."""
    yield from launch_browser()


@pytest.fixture
def pages(browser: Any) -> Iterator[Pages]:
    """Fresh contexts and pages for one test, watched for console noise, errors, requests, dialogs."""
    yield from new_pages(browser)


def expect(*args: Any, **kwargs: Any) -> Any:
    from playwright.sync_api import expect as pw_expect

    return pw_expect(*args, **kwargs)


# ---- the federation ----------------------------------------------------------------------------


def git_commit(root: Path) -> None:
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "state", "--no-verify"]):
        subprocess.run([*GIT, *args], cwd=root, check=True, env=GIT_ENV, capture_output=True)


def make_member(target: Path, name: str, variant: bool = False) -> Path:
    root = copy_example(target)
    edit_yaml(root / "strataml.yaml", lambda d: d.update(name=name))
    if variant:
        # The iris data under another name (same bytes, same digest): joined all the same.
        (root / "datasets/iris").rename(root / "datasets/flowers")
        for path in (
            root / "datasets/flowers/1/dataset.yaml",
            root / "experiments/iris-logreg.yaml",
            *root.glob("runs/*iris*/run.yaml"),
            root / "models/iris-classifier/1/model.yaml",
        ):
            path.write_text(path.read_text("utf-8").replace("dataset:iris@1", "dataset:flowers@1"), "utf-8")
        # One experiment and its run fewer, and no ledger: iris-classifier is only registered here.
        (root / "experiments/synthetic-logreg.yaml").unlink()
        for run in root.glob("runs/*synthetic-logreg*"):
            shutil.rmtree(run)
        (root / "models/iris-classifier/lifecycle.jsonl").unlink()
        # Its record of the same bytes carries another licence: shown per name, and flagged.
        edit_yaml(root / "datasets/flowers/1/dataset.yaml", lambda d: d.update(license="CC0-1.0"))
    age(root)
    git_commit(root)
    return root


class Federation:
    """The members, the page `strataml dashboard --federate` wrote, and the payload it carries."""

    def __init__(self, top: Path, page: Path, summary: dict[str, Any]) -> None:
        self.top = top
        self.page = page
        self.url = page.resolve().as_uri()
        self.summary = summary
        self.data = read_payload(page.read_text("utf-8"))
        self.members = {m["name"]: m for m in self.data["workspaces"]}
        self.records = self.data["records"]
        self.tables = self.data["tables"]
        self.aliases = self.data["aliases"]

    def rows(self, kind: str, workspace: str) -> set[str]:
        """The table rows of one member's own records."""
        return {r["id"] for r in self.tables[kind] if r.get("workspace") == workspace}

    def named(self, kind: str, workspace: str) -> set[str]:
        """The rows a member recorded: its own, and the joined datasets one of its names is in."""
        return self.rows(kind, workspace) | {
            r["id"]
            for r in self.tables[kind]
            if any(n["workspace"] == workspace for n in self.records[r["id"]].get("names", ()))
        }


@pytest.fixture(scope="module")
def fed(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Federation:
    top = tmp_path_factory.mktemp("federation")
    make_member(top / "a", "team-a")
    make_member(top / "b", "team-b")
    make_member(top / "c", "team-c", variant=True)
    page = top / "site" / "federation.html"
    done = subprocess.run(
        [
            sys.executable, "-m", "strataml", "dashboard", "--federate",
            "team-a=a", "team-b=b", "team-c=c", "team-d=gone", "-o", str(page), "--format", "json",
        ],
        cwd=top, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    # A missing member is shown, and the exit code says one is broken; the page is written anyway.
    assert done.returncode == 1, done.stderr
    return Federation(top, page, json.loads(done.stdout))


def test_the_federation_is_what_the_tests_below_need(fed: Federation) -> None:
    """The fixture itself: otherwise every assertion below could pass on an empty page."""
    assert sorted(fed.members) == ["team-a", "team-b", "team-c", "team-d"]
    assert fed.members["team-d"]["status"] == "missing" and fed.members["team-d"].get("message")
    assert {fed.members[n]["status"] for n in ("team-a", "team-b", "team-c")} == {"fresh"}
    # team-c has one run fewer, as its folders say; the table rows say the same.
    runs_c = [p for p in (fed.top / "c" / "runs").iterdir() if p.is_dir()]
    assert len(fed.rows("runs", "team-c")) == len(runs_c) == len(fed.rows("runs", "team-a")) - 1
    assert fed.members["team-a"]["production"] and fed.members["team-c"]["production"] == []
    assert "team-c/dataset:flowers@1" in fed.aliases and fed.data["workspace"]["repo_link"] is None
    assert fed.rows("datasets", "team-b") == set() != fed.named("datasets", "team-b")
    assert any(len(e) > 3 and e[3] is True for e in fed.data["edges"])


# ---- file://, offline, no console noise ---------------------------------------------------------


def test_opens_from_file_with_a_strict_csp_and_no_requests(fed: Federation, pages: Pages) -> None:
    page = pages.new()
    overview = open_view(page, fed.url, "#/", "overview")
    expect(overview.locator("h1")).to_have_text(fed.data["workspace"]["name"])
    csp = page.get_attribute('meta[http-equiv="Content-Security-Policy"]', "content") or ""
    directives = {d.split()[0]: d.split()[1:] for d in (p.strip() for p in csp.split(";")) if d}
    assert directives["default-src"] == ["'none'"]
    assert all(s.startswith("'sha256-") for s in directives["script-src"] + directives["style-src"])
    assert page.evaluate("document.scripts.length") == 2  # the data block and the app
    # Every view, once, with namespaced ids: none may log, throw or load anything.
    run_a, run_b = sorted(fed.rows("runs", "team-a"))[0], sorted(fed.rows("runs", "team-b"))[0]
    dataset = next(iter(set(fed.aliases.values())))
    for hash_, name in [
        *((f"#/{kind}", "table") for kind in KINDS),
        (f"#/lineage/{quote(dataset, safe='')}", "lineage"),
        ("#/lineage", "lineage"),
        ("#/rules", "rules"),
        (f"#/compare?refs={quote(run_a, safe='')},{quote(run_b, safe='')}", "compare"),
    ]:
        go(page, hash_, name)
    for ref in fed.records:
        go(page, "#/record/" + quote(ref, safe=""), "record")
        expect(page.get_by_test_id("view-record").last).to_have_attribute("data-ref", ref)
    pages.watch.assert_clean(fed.page)
    assert pages.watch.requests, "the page load itself was not recorded"


# ---- overview -----------------------------------------------------------------------------------


def test_the_overview_lists_every_workspace_and_every_production_model(fed: Federation, pages: Pages) -> None:
    page = pages.new()
    overview = open_view(page, fed.url, "#/", "overview")
    section = overview.get_by_test_id("workspaces")
    rows = section.get_by_test_id("ws-row")
    expect(rows).to_have_count(len(fed.members))
    # The workspaces come first, before every other section.
    assert overview.locator("section").first.get_attribute("data-testid") == "workspaces"
    for name, member in fed.members.items():
        row = section.locator(f'[data-testid="ws-row"][data-name="{name}"]')
        expect(row).to_have_count(1)
        expect(row.get_by_test_id("ws-status")).to_contain_text(member["status"])
        if member.get("message"):
            expect(row.get_by_test_id("ws-message")).to_have_text(member["message"])
            expect(row.get_by_test_id("ws-message")).to_be_visible()
        if member["status"] != "fresh":
            assert "ws-flag" in (row.get_attribute("class") or ""), f"{name} is {member['status']} but not flagged"
        if "counts" not in member:
            expect(row.locator("a")).to_have_count(0)  # a missing member has no records to filter to
            continue
        if member.get("commit"):
            expect(row).to_contain_text(member["commit"][:10])
        for kind in KINDS:
            link = row.get_by_test_id(f"ws-count-{kind}")
            assert str(member["counts"][kind]) in (link.text_content() or "")
            query = parse_qs(link.get_attribute("href").partition("?")[2])
            assert query == {"f.workspace": [name]}
    # The missing member's status is a badge that stands out from a fresh one's.
    missing = section.locator('[data-testid="ws-row"][data-status="missing"]').get_by_test_id("ws-status")
    fresh = section.locator('[data-testid="ws-row"][data-status="fresh"]').first.get_by_test_id("ws-status")
    colour = "el => getComputedStyle(el).color"
    assert missing.evaluate(colour) != fresh.evaluate(colour)

    production = overview.get_by_test_id("production")
    expected = [(name, p) for name, m in fed.members.items() for p in m.get("production", ())]
    assert expected, "no member has a production model: the section would prove nothing"
    expect(production.get_by_test_id("prod-row")).to_have_count(len(expected))
    for name, entry in expected:
        row = production.locator(f'[data-testid="prod-row"][data-ref="{entry["ref"]}"]')
        expect(row).to_have_attribute("data-workspace", name)
        expect(row.locator("td").first).to_have_text(name)
        expect(row.locator(f'a[href="{record_hash(entry["ref"])}"]')).to_have_count(1)
        if entry["gate"]:
            expect(row).to_contain_text(entry["gate"])
        expect(row).to_contain_text(entry["signature"])
        for metric in entry["metrics"]:
            expect(row.locator(f'[data-metric="{metric}"]')).to_have_count(1)
    # A member with nothing in production says so; one that could not be read is only listed above.
    for name, member in fed.members.items():
        none = production.locator(f'[data-testid="prod-none"][data-workspace="{name}"]')
        expect(none).to_have_count(1 if member.get("production") == [] else 0)
    # The existing sections still follow, over all records.
    for tid in ("deployed", "latest-runs", "attention"):
        expect(overview.get_by_test_id(tid)).to_have_count(1)
    # Latest runs: each run's experiment link opens that run's own workspace's experiment.
    latest = overview.get_by_test_id("latest-runs").locator("tbody tr")
    assert latest.count() >= 2
    for row in latest.all():
        run = ref_of(row.locator('a[href^="#/run/"]').get_attribute("href"))
        assert run in fed.records
        experiment = row.locator('a[href^="#/experiment/"]').get_attribute("href")
        assert experiment == record_hash(fed.records[run]["attrs"]["experiment"])
        assert ref_of(experiment) in fed.records
    # The count links filter the tables to their workspace.
    overview.locator('[data-testid="ws-row"][data-name="team-c"]').get_by_test_id("ws-count-runs").click()
    table = view(page, "table")
    expect(table.get_by_test_id("row-count")).to_have_text(
        f"{len(fed.rows('runs', 'team-c'))} of {len(fed.tables['runs'])}"
    )
    assert set(rows_in_order(page)) == fed.rows("runs", "team-c")
    # Every count link leads to as many rows as it says: a joined dataset is in each member's list.
    for name, member in fed.members.items():
        for kind in KINDS if "counts" in member else ():
            href = f"#/{kind}?f.workspace={name}"
            table = open_view(page, fed.url, href, "table")
            n = member["counts"][kind]
            expect(table.get_by_test_id("row-count")).to_have_text(f"{n} of {len(fed.tables[kind])}")
            assert set(rows_in_order(page)) == fed.named(kind, name), (name, kind)
    pages.watch.assert_clean(fed.page)


def record_hash(ref: str) -> str:
    """The hash the page links a namespaced ref with: team-a/run:ID -> #/run/team-a/ID."""
    head, _, name = ref.partition(":")
    workspace, _, kind = head.rpartition("/")
    return f"#/{kind}/{workspace}/{quote(name, safe='@:')}"


def ref_of(hash_: str) -> str:
    """record_hash read back: #/run/team-a/ID -> team-a/run:ID."""
    kind, workspace, name = unquote(hash_.removeprefix("#/")).split("/", 2)
    return f"{workspace}/{kind}:{name}"


# ---- tables -------------------------------------------------------------------------------------


def test_every_table_has_a_workspace_facet_and_column(fed: Federation, pages: Pages) -> None:
    page = pages.new()
    for kind in KINDS:
        table = open_view(page, fed.url, f"#/{kind}", "table")
        expect(table.get_by_test_id("sort-workspace")).to_have_count(1)
        for name in fed.members:
            box = table.get_by_test_id(f"facet-workspace-{name}")
            expect(box).to_have_count(1 if fed.named(kind, name) else 0)
        # Sorting by workspace puts the rows in member order.
        table.get_by_test_id("sort-workspace").click()
        shown = rows_in_order(page)
        by_id = {r["id"]: r["workspace"] for r in fed.tables[kind]}
        assert [by_id[ref] for ref in shown] == sorted(by_id[ref] for ref in shown)
        assert parse_qs(current_hash(page).partition("?")[2]).get("sort") == ["workspace"]
    pages.watch.assert_clean(fed.page)


def test_ticking_a_workspace_shows_exactly_its_rows(fed: Federation, pages: Pages) -> None:
    page = pages.new()
    table = open_view(page, fed.url, "#/runs", "table")
    total = len(fed.tables["runs"])
    counts = {name: len(fed.rows("runs", name)) for name in fed.members if fed.rows("runs", name)}
    assert len(set(counts.values())) > 1, "every member has as many runs: the count would prove little"
    for name, n in counts.items():
        box = table.get_by_test_id(f"facet-workspace-{name}")
        expect(box.locator("xpath=..")).to_contain_text(str(n))  # the facet's own count
        box.check()
        expect(table.get_by_test_id("row-count")).to_have_text(f"{n} of {total}")
        assert set(rows_in_order(page)) == fed.rows("runs", name)
        for cell in table.get_by_test_id("row").all():
            assert name in (cell.text_content() or "")
        # The filter is in the URL, and the URL alone brings it back.
        page.wait_for_function("n => decodeURIComponent(location.hash).includes('f.workspace=' + n)", arg=name)
        again = open_view(page, fed.url, "#/runs?f.workspace=" + name, "table")
        expect(again.get_by_test_id("row-count")).to_have_text(f"{n} of {total}")
        assert set(rows_in_order(page)) == fed.rows("runs", name)
        table = open_view(page, fed.url, "#/runs", "table")
    # Two members at once: the union of their rows.
    first, second = sorted(counts)[:2]
    table.get_by_test_id(f"facet-workspace-{first}").check()
    table.get_by_test_id(f"facet-workspace-{second}").check()
    expect(table.get_by_test_id("row-count")).to_have_text(f"{counts[first] + counts[second]} of {total}")
    assert set(rows_in_order(page)) == fed.rows("runs", first) | fed.rows("runs", second)
    pages.watch.assert_clean(fed.page)


# ---- records ------------------------------------------------------------------------------------


def test_a_deep_link_to_another_name_opens_the_joined_record(fed: Federation, pages: Pages) -> None:
    page = pages.new()
    alias = "team-c/dataset:flowers@1"
    canonical = fed.aliases[alias]
    record = fed.records[canonical]
    others = {n["ref"]: n for n in record["names"] if n["ref"] != canonical}
    assert alias in others and len({n["workspace"] for n in record["names"]}) >= 3
    for hash_ in (
        "#/dataset/team-c/flowers@1",
        "#/dataset/team-c/dataset:flowers@1",
        "#/record/" + quote(alias, safe=""),
    ):
        shown = open_view(page, fed.url, hash_, "record")
        expect(shown).to_have_attribute("data-ref", canonical)
        expect(shown.get_by_test_id("alias-note")).to_contain_text(alias)
        aka = shown.get_by_test_id("aka")
        expect(aka.get_by_test_id("aka-row")).to_have_count(len(others))
        for ref, name in others.items():
            row = aka.locator(f'[data-testid="aka-row"][data-ref="{ref}"]')
            expect(row).to_have_attribute("data-workspace", name["workspace"])
            expect(row).to_contain_text(name["path"])
        expect(shown.get_by_test_id("record-workspace")).to_contain_text(record["workspace"])
        assert "license" in record["differ"]
        expect(aka.get_by_test_id("aka-differ")).to_contain_text("license")
        expect(aka.locator(f'[data-testid="aka-row"][data-ref="{alias}"]')).to_contain_text("CC0-1.0")
    # The other names reach the same lineage; a team-c run's input links to the joined record.
    lineage = open_view(page, fed.url, "#/lineage/" + quote(alias, safe=""), "lineage")
    expect(lineage.locator('[data-testid="lineage-node"][data-focus="1"]')).to_have_attribute("data-ref", canonical)
    run_c = next(r for r in sorted(fed.rows("runs", "team-c")) if "iris" in r)
    shown = open_view(page, fed.url, record_hash(run_c), "record")
    expect(shown).to_have_attribute("data-ref", run_c)
    shown.get_by_test_id("inputs").locator("a").first.click()
    expect(page.get_by_test_id("view-record")).to_have_attribute("data-ref", canonical)
    pages.watch.assert_clean(fed.page)


def test_record_pages_name_their_workspace_and_link_no_file(fed: Federation, pages: Pages) -> None:
    page = pages.new()
    run_b = sorted(fed.rows("runs", "team-b"))[0]
    shown = open_view(page, fed.url, record_hash(run_b), "record")
    expect(shown).to_have_attribute("data-ref", run_b)
    expect(shown.get_by_test_id("record-workspace")).to_contain_text("team-b")
    files = shown.get_by_test_id("files")
    expect(files.locator("tbody tr")).to_have_count(len(fed.records[run_b]["files"]))
    # The files are in other repositories: nothing links to one, and no href leaves the page.
    expect(files.locator("a")).to_have_count(0)
    expect(shown.get_by_test_id("plots").locator("a")).to_have_count(0)
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(a => a.getAttribute('href'))")
    assert hrefs and all(h.startswith("#") for h in hrefs), [h for h in hrefs if not h.startswith("#")]
    pages.watch.assert_clean(fed.page)


# ---- lineage ------------------------------------------------------------------------------------


def test_the_lineage_of_a_joined_dataset_crosses_workspaces(fed: Federation, pages: Pages) -> None:
    page = pages.new()
    canonical = fed.aliases["team-b/dataset:iris@1"]
    cross = {(e[0], e[1]) for e in fed.data["edges"] if e[0] == canonical and len(e) > 3 and e[3] is True}
    plain = {(e[0], e[1]) for e in fed.data["edges"] if e[0] == canonical and len(e) == 3}
    runs_reached = {fed.records[b]["workspace"] for _a, b in cross if b.partition(":")[0].endswith("/run")}
    assert len(runs_reached) >= 2 and plain, (cross, plain)
    lineage = open_view(page, fed.url, f"#/lineage/{quote(canonical, safe='')}?depth=1&dir=down", "lineage")
    # The table says which edges cross, end to end.
    rows = lineage.locator('[data-testid="lineage-edge"][data-cross="1"]')
    expect(rows).to_have_count(len(cross))
    drawn = {(r.get_attribute("data-from"), r.get_attribute("data-to")) for r in rows.all()}
    assert drawn == cross
    for row in rows.all():
        expect(row).to_contain_text("→ " + fed.records[row.get_attribute("data-to")]["workspace"])
    from_focus = lineage.locator(f'[data-testid="lineage-edge"][data-from="{canonical}"]:not([data-cross])')
    expect(from_focus).to_have_count(len(plain))
    # The graph draws them apart: dashed, in another colour than an edge within one workspace.
    graph = lineage.get_by_test_id("lineage-graph")
    crossing = graph.get_by_test_id("lineage-cross")
    assert crossing.count() >= 1
    style = "el => [getComputedStyle(el).stroke, getComputedStyle(el).strokeDasharray]"
    stroke, dashes = crossing.first.evaluate(style)
    assert dashes not in ("none", ""), "a cross-workspace edge is not dashed"
    within = graph.locator("path.edge.e-input:not(.e-cross)")
    assert within.count() == 1 and within.evaluate(style)[0] != stroke
    expect(lineage.get_by_test_id("legend-cross")).to_contain_text("across workspaces")
    # Every run it reaches is drawn, with its workspace on the node.
    for _a, b in cross | plain:
        node = graph.locator(f'[data-testid="lineage-node"][data-ref="{b}"]')
        expect(node.get_by_test_id("node-workspace")).to_have_text(fed.records[b]["workspace"])
    # The workspace graph draws crossing edges too.
    overview = open_view(page, fed.url, "#/lineage", "lineage")
    assert overview.get_by_test_id("lineage-cross").count() >= 1
    expect(overview.get_by_test_id("legend-cross")).to_have_count(1)
    pages.watch.assert_clean(fed.page)


# ---- search and compare -------------------------------------------------------------------------


def test_search_and_compare_work_with_namespaced_ids(fed: Federation, pages: Pages) -> None:
    page = pages.new()
    open_view(page, fed.url, "#/rules", "rules")
    same = sorted(r for r in fed.records if r.endswith(":" + sorted(fed.rows("runs", "team-a"))[0].partition(":")[2]))
    assert len(same) >= 2, "a run id shared by members: their search results must tell them apart"
    page.locator("#search").fill(same[0].partition(":")[2])
    results = page.get_by_test_id("search-result")
    expect(results).to_have_count(len(same))
    assert sorted(r.get_attribute("data-ref") for r in results.all()) == same
    for r in results.all():
        expect(r).to_contain_text(fed.records[r.get_attribute("data-ref")]["workspace"])
    page.locator(f'[data-testid="search-result"][data-ref="{same[1]}"]').click()
    expect(view(page, "record")).to_have_attribute("data-ref", same[1])
    # Compare the same run of two workspaces, then chart the experiment of one of them.
    compare = go(page, "#/compare?refs=" + ",".join(quote(r, safe="") for r in same[:2]), "compare")
    header = compare.get_by_test_id("compare-table").locator("thead a")
    expect(header).to_have_count(2)
    assert [a.get_attribute("href") for a in header.all()] == [record_hash(r) for r in same[:2]]
    experiment = fed.records[same[0]]["attrs"]["experiment"]
    head, _, name = experiment.partition(":")
    expect(compare.get_by_test_id("chart-experiment")).to_have_value(head.rpartition("/")[0] + "/" + name)
    expect(compare.get_by_test_id("metric-chart")).to_have_count(1)
    pages.watch.assert_clean(fed.page)


# ---- accessibility ------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_federated_views_have_no_serious_axe_violation(fed: Federation, pages: Pages, scheme: str) -> None:
    page = pages.new(scheme=scheme)
    dataset = fed.aliases["team-b/dataset:iris@1"]
    open_view(page, fed.url, "#/", "overview")
    found = {"#/": axe_serious(page)}
    for hash_, name in (
        ("#/runs", "table"),
        ("#/dataset/team-b/iris@1", "record"),
        (f"#/lineage/{quote(dataset, safe='')}", "lineage"),
        ("#/lineage", "lineage"),
    ):
        go(page, hash_, name)
        found[hash_] = axe_serious(page)
    assert {k: v for k, v in found.items() if v} == {}
    pages.watch.assert_clean(fed.page)


# ---- a single workspace is not affected ---------------------------------------------------------


def test_a_single_workspace_page_shows_nothing_of_federation(
    fed: Federation, pages: Pages, tmp_path_factory: pytest.TempPathFactory
) -> None:
    site = build(copy_example(tmp_path_factory.mktemp("single") / "example"))
    page = pages.new()
    overview = open_view(page, site.url, "#/", "overview")
    expect(overview.get_by_test_id("workspaces")).to_have_count(0)
    expect(overview.get_by_test_id("production")).to_have_count(0)
    table = go(page, "#/runs", "table")
    expect(table.get_by_test_id("sort-workspace")).to_have_count(0)
    expect(table.locator('[data-facet="workspace"]')).to_have_count(0)
    lineage = go(page, "#/lineage/dataset:iris@1", "lineage")
    expect(lineage.get_by_test_id("legend-cross")).to_have_count(0)
    expect(lineage.get_by_test_id("node-workspace")).to_have_count(0)
    expect(lineage.locator('[data-testid="lineage-node"][data-focus="1"]')).to_have_attribute(
        "data-ref", "dataset:iris@1"
    )
    record = go(page, "#/dataset/iris@1", "record")
    expect(record).to_have_attribute("data-ref", "dataset:iris@1")
    expect(record.get_by_test_id("record-workspace")).to_have_count(0)
    pages.watch.assert_clean(site.page)


def test_a_record_of_an_index_file_says_nothing_of_it_was_checked(
    pages: Pages, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """An index file is whatever its writer put in it: its record pages showed "production" and
    "signed" as a checked workspace's do. They now say the member is unverified; a fresh one's
    pages say nothing more."""
    top = tmp_path_factory.mktemp("unverified")
    make_member(top / "a", "team-a")
    made = make_member(top / "b", "team-b")
    subprocess.run([sys.executable, "-m", "strataml", "-C", str(made), "index"], check=True, capture_output=True)
    shutil.copy(made / ".strataml/index.json", top / "handed.json")
    shutil.rmtree(made)
    page_file = top / "site.html"
    done = subprocess.run(
        [sys.executable, "-m", "strataml", "dashboard", "--federate", "team-a=a", "team-b=handed.json",
         "-o", str(page_file)],
        cwd=top, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = read_payload(page_file.read_text("utf-8"))
    assert {m["name"]: m["status"] for m in data["workspaces"]} == {"team-a": "fresh", "team-b": "unverified"}
    url = page_file.resolve().as_uri()
    page = pages.new()
    model_b = next(r["id"] for r in data["tables"]["models"] if r.get("workspace") == "team-b")
    shown = open_view(page, url, record_hash(model_b), "record")
    expect(shown.get_by_test_id("member-note")).to_contain_text("team-b is unverified")
    expect(shown.get_by_test_id("member-note")).to_contain_text("not checked here")
    model_a = next(r["id"] for r in data["tables"]["models"] if r.get("workspace") == "team-a")
    shown = go(page, record_hash(model_a), "record")
    expect(shown).to_have_attribute("data-ref", model_a)
    expect(shown.get_by_test_id("member-note")).to_have_count(0)
    pages.watch.assert_clean(page_file)
