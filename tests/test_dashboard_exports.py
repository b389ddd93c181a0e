"""`strataml dashboard --exports` in a real browser (headless system Chromium via Playwright, the
page opened from file://): each record's page offers what `strataml export` writes for it, shown
in place and saved from the page's own data, with nothing requested from anywhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import Pages, axe_serious, launch_browser, new_pages, open_view
from conftest import copy_example, invoke, require_extra

from strataml.read.dashboard import read_payload

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


@pytest.fixture
def pages(browser: Any) -> Iterator[Pages]:
    yield from new_pages(browser)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    for module, extra in (("huggingface_hub", "modelcard"), ("mlcroissant", "croissant"),
                          ("openlineage.client", "openlineage")):
        require_extra(module, extra)
    root = copy_example(tmp_path_factory.mktemp("exports") / "ws")
    out = root.parent / "site.html"
    from strataml.cli.main import run

    assert run(["-C", str(root), "dashboard", "--exports", "-o", str(out)]) == 0
    return root, out


def exported(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, out, err = invoke(root, "export", *args, capsys=capsys)
    assert code == 0, err
    return out


def test_each_record_page_offers_the_exports_strataml_export_writes(
    site: tuple[Path, Path], pages: Pages, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, out = site
    data = read_payload(out.read_text("utf-8"))
    refs = {ref: [d["format"] for d in docs] for ref, docs in data["exports"].items()}
    kinds = {ref: node["kind"] for ref, node in data["records"].items()}
    assert {kinds[r] for r in refs} == {"model", "dataset", "run"}
    assert all(f == [{"model": "model-card", "dataset": "croissant", "run": "openlineage"}[kinds[r]]]
               for r, f in refs.items())
    assert set(refs) == {r for r, k in kinds.items() if k != "experiment"}

    # The same text `strataml export` writes for the record.
    card = next(d for d in data["exports"]["model:iris-classifier@1"])
    assert card["text"] == exported(root, capsys, "model-card", "model:iris-classifier@1")
    croissant = data["exports"]["dataset:iris@1"][0]
    assert croissant["text"] == exported(root, capsys, "croissant", "dataset:iris@1")
    run = next(r for r, k in kinds.items() if k == "run")
    events = [json.loads(line) for line in data["exports"][run][0]["text"].splitlines()]
    assert {e["eventType"] for e in events} == {"START", "COMPLETE"}

    page = pages.new()
    downloads = tmp_path / "downloads"
    for ref, fmt, needle in (("model:iris-classifier@1", "model-card", "model-index:"),
                             ("dataset:iris@1", "croissant", '"@type": "sc:Dataset"')):
        kind = ref.split(":", 1)[0]
        v = open_view(page, out.resolve().as_uri(), f"#/{kind}/{ref.split(':', 1)[1]}", "record")
        block = v.locator(f'[data-testid="export-{fmt}"]')
        text = block.locator('[data-testid="export-text"]')
        assert not text.is_visible()
        block.locator('[data-testid="export-show"]').click()
        assert needle in text.inner_text()
        assert axe_serious(page) == []  # the buttons and the shown text, as a screen reader meets them
        with page.expect_download() as got:
            block.locator('[data-testid="export-save"]').click()
        saved = downloads / got.value.suggested_filename
        got.value.save_as(saved)
        doc = next(d for d in data["exports"][ref] if d["format"] == fmt)
        assert got.value.suggested_filename == doc["file"]
        assert saved.read_text("utf-8") == doc["text"]
    pages.watch.assert_clean(out)


def test_exports_are_asked_for_and_refused_where_they_mean_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_example(tmp_path / "ws")
    code, _o, _e = invoke(root, "dashboard", "-o", str(tmp_path / "plain.html"), capsys=capsys)
    assert code == 0 and "exports" not in read_payload((tmp_path / "plain.html").read_text("utf-8"))
    code, _o, err = invoke(root, "dashboard", "--exports", "--federate", str(root), capsys=capsys)
    assert code == 3 and "--exports describes one workspace" in err
