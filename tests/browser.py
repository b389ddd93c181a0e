"""Real-browser helpers: Debian's Chromium driven headless by Playwright, and nothing downloaded.

The browser is the system one (`executable_path`; $STRATAML_CHROMIUM overrides the path), so
Playwright's own browser downloads are never used (no `playwright install`). Without Chromium or
Playwright the tests skip, except under CI=true, where a missing tool is a failure
(conftest.require; the core-only job, which installs no extra, skips them). One browser per
test module (`launch_browser`, behind a module-scoped fixture); every test gets fresh contexts
and pages from `new_pages` (behind a function-scoped fixture), whose listeners record every
console message, page error, request and dialog of every page. axe-core comes from the
`axe-playwright-python` package (MIT), which ships axe.min.js (axe-core, MPL-2.0) and needs no
network.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from conftest import require, require_extra

LAUNCH_ARGS = [
    "--no-sandbox",  # chromium refuses to start as root without it (CI containers)
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
TIMEOUT_MS = 10_000  # a generous wait for a view to render; a pass takes milliseconds
WIDE = {"width": 1280, "height": 800}
NARROW = {"width": 360, "height": 740}


def chromium_path() -> str | None:
    """The system Chromium: $STRATAML_CHROMIUM, /usr/bin/chromium, or chromium on PATH."""
    for candidate in (
        os.environ.get("STRATAML_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def launch_browser() -> Iterator[Any]:
    """One headless system Chromium (a test module's `browser` fixture yields from this)."""
    require_extra("playwright", "dev")  # skipped in the core-only job; a failure elsewhere under CI
    exe = chromium_path()
    require(exe is not None, "chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=exe, headless=True, args=LAUNCH_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Watch:
    """Everything a browser context reported: console messages, page errors, requests, dialogs."""

    console: list[tuple[str, str, str]] = field(default_factory=list)  # (type, text, where)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def attach(self, context: Any) -> None:
        context.on("console", self._console)
        context.on("weberror", lambda e: self.errors.append(f"{e.error.name}: {e.error.message}\n{e.error.stack}"))
        context.on("request", lambda r: self.requests.append(r.url))
        context.on("dialog", self._dialog)

    def _console(self, msg: Any) -> None:
        loc = msg.location or {}
        self.console.append((msg.type, msg.text, f"{loc.get('url', '')}:{loc.get('lineNumber', '')}"))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught page errors and dialogs: none is acceptable."""
        found = [f"console {t}: {text} ({where})" for t, text, where in self.console if t in ("error", "warning")]
        found += [f"page error: {e}" for e in self.errors]
        found += [f"dialog opened: {d}" for d in self.dialogs]
        return found

    def foreign_requests(self, page_file: Path) -> list[str]:
        """Requests other than the page file itself and data: URLs."""
        own = page_file.resolve().as_uri()
        return [u for u in self.requests if not u.startswith("data:") and unquote(u.split("#", 1)[0]) != unquote(own)]

    def assert_clean(self, page_file: Path | None = None) -> None:
        problems = self.problems()
        if page_file is not None:
            problems += [f"request: {u}" for u in self.foreign_requests(page_file)]
        assert problems == [], "\n".join(problems)


class Pages:
    """Fresh browser contexts for one test; all of them report into one Watch."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.watch = Watch()
        self.contexts: list[Any] = []

    def new(self, viewport: dict[str, int] | None = None, scheme: str = "light") -> Any:
        context = self.browser.new_context(
            viewport=viewport or WIDE, color_scheme=scheme, reduced_motion="reduce", service_workers="block"
        )
        context.set_default_timeout(TIMEOUT_MS)
        self.watch.attach(context)
        self.contexts.append(context)
        page = context.new_page()
        WATCHES[id(page)] = self.watch  # (what view() says when a view never shows)
        return page

    def close(self) -> None:
        for context in self.contexts:
            with contextlib.suppress(Exception):
                context.close()


def new_pages(browser: Any) -> Iterator[Pages]:
    """Fresh contexts for one test (a test's `pages` fixture yields from this)."""
    made = Pages(browser)
    try:
        yield made
    finally:
        made.close()
    # A dialog is code the page ran that it never should: fail even if the test forgot to look.
    assert made.watch.dialogs == [], made.watch.dialogs


WATCHES: dict[int, Watch] = {}

_SHOWING = """() => ({
    hash: location.hash,
    views: Array.from(document.querySelectorAll('[data-testid^="view-"]')).map(e => e.getAttribute('data-testid')),
})"""


def view(page: Any, name: str) -> Any:
    """The main view container `data-testid="view-NAME"`, once it is visible. When it never
    shows, the failure says where the page is, what it shows, and what the page reported (a
    fresh-clone CI run once timed out here with nothing more to go on)."""
    locator = page.locator(f'[data-testid="view-{name}"]')
    try:
        locator.first.wait_for(state="visible")
    except Exception as exc:  # (playwright's TimeoutError)
        try:
            showing = page.evaluate(_SHOWING)
        except Exception as why:  # (a page that cannot answer says so)
            showing = {"hash": "?", "views": [f"no answer: {why}"]}
        watch = WATCHES.get(id(page))
        reported = watch.problems() if watch is not None else []
        raise AssertionError(
            f"view-{name} never showed: the page is at {showing['hash']!r} showing {showing['views']}; "
            f"it reported {reported or 'nothing'}"
        ) from exc
    return locator.first


def open_view(page: Any, url: str, hash_: str, name: str | None = None) -> Any:
    """Load URL#HASH as a fresh document (never a same-document hash change, so the previous
    view cannot be mistaken for this one) and wait for the view."""
    if page.url.split("#", 1)[0] == url:
        page.goto("about:blank")
    page.goto(url + hash_)
    if name is None:
        page.locator('[data-testid^="view-"]').first.wait_for(state="visible")
        return page.locator('[data-testid^="view-"]').first
    return view(page, name)


def go(page: Any, hash_: str, name: str) -> Any:
    """Navigate the open page to HASH in the same document (as a click on a link does) and wait
    until a NEW `view-NAME` container shows (the old one is marked first, so a record page cannot
    be mistaken for the next record page). Scripts injected into the page (axe) stay loaded."""
    page.evaluate(
        """h => { document.querySelectorAll('[data-testid^="view-"]').forEach(v => { v.__old = true; });
                  location.hash = h; }""",
        hash_,
    )
    page.wait_for_function(
        """n => Array.from(document.querySelectorAll('[data-testid="view-' + n + '"]'))
                .some(v => !v.__old && v.getClientRects().length > 0)""",
        arg=name,
    )
    return page.locator(f'[data-testid="view-{name}"]').last


def current_hash(page: Any) -> str:
    """location.hash, percent-decoded (the app may or may not encode ':' and '@')."""
    return unquote(page.evaluate("location.hash"))


def rows_in_order(page: Any) -> list[str]:
    """data-ref of the rendered table rows, top to bottom on screen (a virtual table may reuse
    DOM nodes, so DOM order is not trusted)."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('[data-testid="row"]'))
            .map(r => [r.getBoundingClientRect().top, r.getAttribute('data-ref')])
            .sort((a, b) => a[0] - b[0]).map(x => x[1])"""
    )


# ---- axe-core ---------------------------------------------------------------------------------


def axe_script() -> str:
    """axe.min.js (axe-core, MPL-2.0) as the axe-playwright-python package (MIT) ships it: read
    from the installed package, no network."""
    require_extra("axe_playwright_python", "dev")
    from importlib import resources

    return resources.files("axe_playwright_python").joinpath("axe.min.js").read_text("utf-8")


def axe_serious(page: Any) -> list[str]:
    """Serious and critical axe-core violations on the page as it is now, one line each."""
    script = axe_script()
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(script)
    violations = page.evaluate("() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)")
    found = []
    for v in violations:
        if v.get("impact") in ("serious", "critical"):
            targets = "; ".join(
                " ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"]) for n in v["nodes"][:5]
            )
            found.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {v['help']} -- {targets}")
    return found


# ---- workspaces -------------------------------------------------------------------------------


@dataclass
class Site:
    """A workspace and its built dashboard."""

    root: Path
    page: Path

    @property
    def url(self) -> str:
        return self.page.resolve().as_uri()


def cli(root: Path, *args: str) -> tuple[int, str]:
    """`strataml -C ROOT ARGS` in this process: (exit code, stdout)."""
    from strataml.cli.main import run

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = run(["-C", str(root), *args])
    return code, out.getvalue()


def build(root: Path) -> Site:
    """`strataml dashboard` on the workspace (the default output, .strataml/site/index.html)."""
    code, out = cli(root, "dashboard", "--format", "json")
    assert code == 0, out
    written = json.loads(out)
    return Site(root, Path(written["path"]))


def listing(root: Path, kind: str) -> list[dict[str, Any]]:
    """`strataml list KIND --format json`: the rows the tables must show."""
    code, out = cli(root, "list", kind, "--format", "json")
    assert code == 0, out
    return json.loads(out)
