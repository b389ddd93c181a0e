"""Benchmark the static dashboard (`strataml dashboard`) and the page it writes, in one run.

    python benchmarks/bench_dashboard.py            # 10k and 100k records
    python benchmarks/bench_dashboard.py --quick    # 1k and 10k records
    python benchmarks/bench_dashboard.py --here     # strataml from this interpreter, not its benchmark venv
    python benchmarks/bench_dashboard.py --trace    # also a Chromium trace of each page load, summarised (self time by event)

Needs Playwright's Python package in the interpreter that runs this script and Debian's Chromium
(/usr/bin/chromium, or $STRATAML_CHROMIUM); nothing downloads a browser. Without them: exit 2.

Workspaces come from generate.py (--fanout 500: the first dataset feeds 500 runs; --experiments:
runs spread over experiments with params, tags and statuses), made once under --work and reused
while the generator's options are the same. Per workspace, in the same run:

  build      `strataml dashboard` with the index already fresh, median of --repeat; the file's size.
             Peers: warm `strataml doctor`, `strataml list runs` (fresh index).
  load       file://.../index.html#/runs in a fresh headless Chromium context, median of --loads:
             first table visible (navigation start -> first [data-testid=row] in the DOM and the
             next frame done), the `strataml:ready` mark, the longest main-thread task
             (PerformanceObserver 'longtask', installed by an init script), JS heap after a GC.
  keystroke  the table search typed and erased one character at a time: per keystroke the
             synchronous time of value + input event + a forced layout; p95.
  sort       sort header buttons clicked the same way (the first click of a key computes its
             order, later clicks may reuse it): median, and the slowest.
  lineage    location.hash = #/lineage/dataset:d00000@1?depth=1&dir=down from the runs table:
             time to the graph drawn (a hashchange listener added after the app's, forced layout).
  naive      peer page: the same runs as one plain <table> (no virtualisation), written to a
             temporary file; its search hides non-matching <tr>s. Same load and keystroke measures.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from bench import ensure, timed  # noqa: E402

CHROMIUM = os.environ.get("STRATAML_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--no-first-run", "--disable-sync", "--enable-precise-memory-info"]
VIEWPORT = {"width": 1280, "height": 800}
FANOUT = 500
RUN_SHARE = 0.8  # runs outnumber datasets and models in a real workspace: 10k records = 8,000 runs, 1,000 each of the others
LINEAGE = "#/lineage/dataset:d00000@1?depth=1&dir=down"
QUERIES = ["bench-00012", "speech"]  # an id fragment (down to 10 rows), a tag value (a sixth of the runs)
SORT_KEYS = ["test_accuracy", "created", "name", "experiment"]
TIMEOUT_MS = 180_000
MB = 1024 * 1024

# Goals from issue 12, section 5, per scenario ("*": any size).
GOALS: dict[tuple[str, str], tuple[float, str]] = {
    ("10k", "build"): (1.0, "s"), ("100k", "build"): (10.0, "s"),
    ("10k", "size"): (5.0, "MB"),
    ("10k", "visible"): (1.0, "s"), ("100k", "visible"): (3.0, "s"),
    ("10k", "longtask"): (200.0, "ms"),
    ("10k", "keystroke"): (16.0, "ms"), ("100k", "keystroke"): (50.0, "ms"),
    ("10k", "sort"): (50.0, "ms"),
    ("*", "lineage"): (100.0, "ms"),
    ("10k", "heap"): (150.0, "MB"),
}

# Runs before any of the page's scripts: long tasks, JSON.parse of the data, when the app's
# script is reached (the parser has read the data block), the first row and the frame after it.
INIT_SCRIPT = r"""
(() => {
  const b = window.__bench = {longtasks: [], parse: []};
  try {
    new PerformanceObserver(list => { for (const e of list.getEntries()) b.longtasks.push([e.startTime, e.duration]); })
      .observe({type: 'longtask', buffered: true});
  } catch (e) { b.noLongtask = String(e); }
  const parse = JSON.parse;
  JSON.parse = function (text, reviver) {
    const t = performance.now();
    const out = parse.call(this, text, reviver);
    if (typeof text === 'string' && text.length > 50000) b.parse.push([t, performance.now() - t, text.length]);
    return out;
  };
  const afterFrame = done => requestAnimationFrame(() => { const c = new MessageChannel(); c.port1.onmessage = done; c.port2.postMessage(0); });
  const seen = () => {
    if (b.script === undefined && document.querySelector('script:not([type])')) b.script = performance.now();
    if (b.row === undefined && document.querySelector('[data-testid="row"]')) {
      b.row = performance.now();
      mo.disconnect();
      afterFrame(() => { b.visible = performance.now(); });
    }
  };
  const mo = new MutationObserver(seen);
  mo.observe(document, {childList: true, subtree: true});
})();
"""

LOAD_STATS = """() => {
  const b = window.__bench, nav = performance.getEntriesByType('navigation')[0] || {};
  const ready = performance.getEntriesByName('strataml:ready')[0];
  const rows = document.querySelectorAll('[data-testid="row"]').length;
  const count = document.querySelector('[data-testid="row-count"]');
  return {visible: b.visible, row: b.row, script: b.script, ready: ready ? ready.startTime : null,
          parse: b.parse.reduce((s, p) => s + p[1], 0), parsed_chars: b.parse.reduce((s, p) => s + p[2], 0),
          dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd, longtasks: b.longtasks, no_longtask: b.noLongtask || null,
          rows_in_dom: rows, nodes_in_dom: document.getElementsByTagName('*').length,
          count: count ? count.textContent : null,
          heap_js: performance.memory ? performance.memory.usedJSHeapSize : null};
}"""

# One keystroke = set the value, dispatch input, force layout; then wait two frames (not timed)
# and check that nothing changed after the timed part (work deferred past it would be missed).
KEYSTROKES = """async (queries) => {
  const frame = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  const count = () => { const c = document.querySelector('[data-testid="row-count"]'); return c ? c.textContent : null; };
  const out = [], counts = []; let deferred = 0;
  for (const q of queries) {
    const seq = [];
    for (let i = 1; i <= q.length; i++) seq.push(q.slice(0, i));
    for (let i = q.length - 1; i >= 0; i--) seq.push(q.slice(0, i));
    for (const v of seq) {
      const el = document.querySelector('[data-testid="table-search"]');
      if (!el) return {error: 'no [data-testid=table-search]'};
      const t0 = performance.now();
      el.value = v;
      el.dispatchEvent(new Event('input', {bubbles: true}));
      document.body.offsetHeight;
      out.push(performance.now() - t0);
      const now = count();
      await frame(); await frame();
      if (count() !== now) deferred++;
      counts.push([v, count()]);
    }
  }
  return {times: out, deferred, counts};
}"""

SORTS = """async ([keys, rounds]) => {
  const frame = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  const first = () => { const r = document.querySelector('[data-testid="row"]'); return r ? r.dataset.ref : null; };
  const out = []; let deferred = 0;
  for (let r = 0; r < rounds; r++) for (const k of keys) {
    const btn = document.querySelector(`[data-testid="sort-${k}"]`);
    if (!btn) continue;
    const t0 = performance.now();
    btn.click();
    document.body.offsetHeight;
    out.push([k, performance.now() - t0]);
    const now = first();
    await frame(); await frame();
    if (first() !== now) deferred++;
  }
  return {times: out, deferred};
}"""

# Set the hash from the runs table; our hashchange listener runs after the app's (added later).
LINEAGE_JS = """async ([hash, back]) => {
  const frame = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  const out = [];
  for (let i = 0; i < 5; i++) {
    location.hash = back; await frame(); await frame();
    const r = await new Promise(resolve => {
      const t0 = performance.now();
      addEventListener('hashchange', () => {
        document.body.offsetHeight;
        const t1 = performance.now();
        const g = document.querySelector('[data-testid="lineage-graph"]');
        resolve({ms: t1 - t0, drawn: !!g, nodes: g ? g.querySelectorAll('[data-testid="lineage-node"]').length : 0});
      }, {once: true});
      location.hash = hash;
    });
    if (!r.drawn) {  // drawn later than the hashchange task: time it to the graph instead, and say so
      const t0 = performance.now() - r.ms;
      for (let f = 0; f < 300 && !document.querySelector('[data-testid="lineage-graph"]'); f++) await frame();
      const g = document.querySelector('[data-testid="lineage-graph"]');
      Object.assign(r, {ms: performance.now() - t0, deferred: true, drawn: !!g,
                        nodes: g ? g.querySelectorAll('[data-testid="lineage-node"]').length : 0});
    }
    out.push(r);
  }
  return out;
}"""


def need_browser() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print(f"Playwright's Python package is missing in {sys.executable}: pip install playwright "
              "(and never `playwright install`: the system Chromium is used)", file=sys.stderr)
        raise SystemExit(2) from None
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        print(f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set STRATAML_CHROMIUM)", file=sys.stderr)
        raise SystemExit(2)
    return sync_playwright


def strataml_install(venv: Path) -> list[str]:
    """Like bench.strataml_venv (a regular, compiled install reinstalled every run), from a copy
    of the checkout, so setuptools' build/ and egg-info are not written into it."""
    with tempfile.TemporaryDirectory(prefix="strataml-src-") as tmp:
        src = Path(tmp) / "src"
        shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", ".strataml", ".venv*", "build", "dist", "*.egg-info",
                                                                 "__pycache__", ".pytest_cache", "mlruns"))
        if not (venv / "bin" / "python").exists():
            print(f"creating {venv} ...", file=sys.stderr)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(src)], check=True, timeout=900)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "--force-reinstall", str(src)],
                       check=True, timeout=900, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return [str(venv / "bin" / "strataml")]


def workspace(work: Path, label: str, records: int) -> Path:
    """Generated once; made again when the generator or its options change (bench.ensure)."""
    opts: dict[str, Any] = dict(records=records, runs=int(records * RUN_SHARE), files_per_record=1, total=records * 1024,
                                mix=[(1.0, 1024)], lfs="none", seed=31, fanout=FANOUT, experiments=min(50, max(4, records // 1000)))
    return ensure(work / f"ws-dash-{label}", **opts)


def payload_of(page: Path) -> dict[str, Any]:
    text = page.read_text("utf-8")
    start = text.index(">", text.index('id="strataml-data"')) + 1
    data = json.loads(text[start:text.index("</script>", start)])
    if isinstance(data, dict) and data.get("encoding") == "gzip+base64":  # the compressed data block
        import base64
        import gzip

        data = json.loads(gzip.decompress(base64.b64decode(data["data"])))
    return data


def naive_page(data: dict[str, Any], out: Path) -> None:
    """The runs as one plain table: every row in the markup, search hides the <tr>s that miss."""
    runs = data["tables"]["runs"]
    metric = "test_accuracy"
    e = html.escape
    parts = ["<!doctype html><html lang=en><head><meta charset=utf-8><title>runs</title>",
             "<style>body{font:14px system-ui,sans-serif;margin:1rem}table{border-collapse:collapse}"
             "td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}</style></head><body>",
             f"<h1>Runs</h1><input data-testid=table-search aria-label=Search> <span data-testid=row-count>{len(runs)} of {len(runs)}</span>",
             "<table><thead><tr><th>name<th>experiment<th>status<th>health<th>created<th>" + metric + "<th>tags</tr></thead><tbody>"]
    for r in runs:
        tags = " ".join(f"{k}={v}" for k, v in sorted((r.get("tags") or {}).items()))
        value = (r.get("metrics") or {}).get(metric)
        parts.append(f'<tr data-testid=row data-ref="{e(r["id"])}"><td>{e(str(r.get("name")))}<td>{e(str(r.get("experiment") or ""))}'
                     f'<td>{e(str(r.get("status")))}<td>{e(str(r.get("health")))}<td>{e(str(r.get("created")))}'
                     f'<td>{"" if value is None else f"{value:.4f}"}<td>{e(tags)}</tr>')
    parts.append("""</tbody></table><script>
const rows = Array.from(document.querySelectorAll('tbody tr'));
const texts = rows.map(r => r.textContent.toLowerCase());
const count = document.querySelector('[data-testid=row-count]');
document.querySelector('[data-testid=table-search]').addEventListener('input', ev => {
  const q = ev.target.value.toLowerCase(); let n = 0;
  for (let i = 0; i < rows.length; i++) { const hit = texts[i].includes(q); if (rows[i].hidden === hit) rows[i].hidden = !hit; if (hit) n++; }
  count.textContent = n + ' of ' + rows.length;
});
performance.mark('strataml:ready');
</script></body></html>""")
    out.write_text("".join(parts), "utf-8")


def p95(values: list[float]) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]


def wait_visible(page: Any) -> None:
    """Poll with function calls: wait_for_function's string predicate is an eval, which the page's CSP refuses."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not page.evaluate("() => !!(window.__bench && window.__bench.visible !== undefined)"):
        if time.monotonic() > deadline:
            raise SystemExit(f"no [data-testid=row] drawn within {TIMEOUT_MS / 1000:.0f} s: {page.url}")
        page.wait_for_timeout(20)


class Browser:
    def __init__(self, pw: Any) -> None:
        self.browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        self.errors: list[str] = []

    def open(self, url: str) -> tuple[Any, Any]:
        """A fresh context and page, loaded up to the first row drawn, then 0.5 s of quiet."""
        ctx = self.browser.new_context(viewport=VIEWPORT)
        ctx.add_init_script(INIT_SCRIPT)
        page = ctx.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"{url}: {exc}"))
        page.on("console", lambda m: m.type in ("error", "warning") and self.errors.append(f"{url}: console {m.type}: {m.text}"))
        page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
        wait_visible(page)
        page.wait_for_timeout(500)
        return ctx, page

    def load(self, url: str) -> dict[str, Any]:
        ctx, page = self.open(url)
        try:
            return self.measure_load(page)
        finally:
            ctx.close()

    def measure_load(self, page: Any) -> dict[str, Any]:
        stats = page.evaluate(LOAD_STATS)
        cdp = page.context.new_cdp_session(page)
        cdp.send("HeapProfiler.collectGarbage")
        stats["heap"] = cdp.send("Runtime.getHeapUsage")["usedSize"]
        cdp.detach()
        tasks = [d for start, d in stats["longtasks"] if start <= stats["visible"] + 500]
        stats["longest"] = max(tasks, default=0.0)
        stats["n_long"] = len(tasks)
        return stats

    def close(self) -> None:
        self.browser.close()


def trace_summary(path: Path, until_ms: float) -> list[tuple[str, float]]:
    """Self time of the renderer main thread's trace events, summed by name, from navigation to `until_ms`."""
    events = json.loads(path.read_text())
    events = events.get("traceEvents", events) if isinstance(events, dict) else events
    mains = {(e["pid"], e["tid"]) for e in events if e.get("name") == "thread_name" and e.get("args", {}).get("name") == "CrRendererMain"}
    xs = sorted((e for e in events if e.get("ph") == "X" and (e["pid"], e["tid"]) in mains and "dur" in e),
                key=lambda e: (e["ts"], -e["dur"]))
    starts = [e["ts"] for e in events if e.get("name") in ("navigationStart", "fetchStart") and (e["pid"], e["tid"]) in mains]
    t0 = min(starts) if starts else (xs[0]["ts"] if xs else 0)
    totals: dict[str, float] = {}
    stack: list[list[Any]] = []  # [end, name, child time]

    def pop() -> None:
        _end, name, child, dur = stack.pop()
        totals[name] = totals.get(name, 0.0) + (dur - child) / 1000
        if stack:
            stack[-1][2] += dur

    for e in xs:
        if e["ts"] < t0 or e["ts"] > t0 + until_ms * 1000:
            continue
        while stack and stack[-1][0] <= e["ts"]:
            pop()
        stack.append([e["ts"] + e["dur"], e["name"], 0, e["dur"]])
    while stack:
        pop()
    return sorted(totals.items(), key=lambda kv: -kv[1])


def cpu_profile(page: Any, script: str, arg: Any) -> list[tuple[str, float]]:
    """Self time by JS function (V8's sampling profiler over CDP) while `script` runs; idle left out."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 200})
    cdp.send("Profiler.start")
    page.evaluate(script, arg)
    prof = cdp.send("Profiler.stop")["profile"]
    cdp.detach()
    names = {}
    for n in prof["nodes"]:
        cf = n["callFrame"]
        fn, url = cf["functionName"] or "(anonymous)", cf.get("url") or ""
        where = "page" if url.startswith("file:") else ("bench" if url or cf["lineNumber"] >= 0 else "")
        # The benchmark's own loop is charged with the style and layout its offsetHeight forces.
        names[n["id"]] = "bench loop (forced style+layout)" if where == "bench" else (f"{fn}:{cf['lineNumber'] + 1}" if where else fn)
    totals: dict[str, float] = {}
    for node, delta in zip(prof.get("samples", []), prof.get("timeDeltas", []), strict=False):
        totals[names[node]] = totals.get(names[node], 0.0) + delta / 1000
    return sorted(((k, v) for k, v in totals.items() if not k.startswith("(idle)")), key=lambda kv: -kv[1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, default=Path("/tmp/strataml-bench"))
    p.add_argument("--repeat", type=int, default=3, help="builds and CLI peers: median of this many")
    p.add_argument("--loads", type=int, default=3, help="page loads per page (dashboard and naive, alternately)")
    p.add_argument("--quick", action="store_true", help="1k and 10k records instead of 10k and 100k")
    p.add_argument("--only", help="one scenario of the run: 1k, 10k or 100k")
    p.add_argument("--here", action="store_true", help="run strataml with this interpreter instead of its benchmark venv")
    p.add_argument("--venv", type=Path, default=HERE / ".venv-strataml", help="the benchmark venv (default: bench.py's)")
    p.add_argument("--trace", action="store_true", help="record a Chromium trace of each dashboard load and summarise it")
    a = p.parse_args(argv)
    sync_playwright = need_browser()
    STRATAML = [sys.executable, "-m", "strataml"] if a.here else strataml_install(a.venv)
    print(f"strataml: {' '.join(STRATAML)}", file=sys.stderr)
    a.work.mkdir(parents=True, exist_ok=True)
    sizes = [("1k", 1000), ("10k", 10000)] if a.quick else [("10k", 10000), ("100k", 100000)]
    if a.only:
        sizes = [s for s in [("1k", 1000), ("10k", 10000), ("100k", 100000)] if s[0] == a.only]
    rows: list[tuple[str, str, float, str, str]] = []
    ratios: list[tuple[str, str, float]] = []
    notes: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="strataml-naive-"))

    def add(scen: str, name: str, value: float, unit: str, goal_key: str | None = None) -> float:
        goal = GOALS.get((scen, goal_key or "")) or GOALS.get(("*", goal_key or ""))
        verdict = "" if goal is None else f"<= {goal[0]:g} {goal[1]}  {'PASS' if value <= goal[0] else 'MISS'}"
        rows.append((scen, name, value, unit, verdict))
        print(f"  {scen:<5} {name:<56} {value:10.3f} {unit:<3} {verdict}", file=sys.stderr)
        return value

    try:
        with sync_playwright() as pw:
            for scen, records in sizes:
                ws = workspace(a.work, scen, records)
                notes.append(f"{scen}: load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
                site = ws / ".strataml" / "site" / "index.html"
                print(f"[{scen}] index and first build (long the first time at 100k) ...", file=sys.stderr)
                subprocess.run([*STRATAML, "dashboard"], cwd=ws, stdout=subprocess.DEVNULL, check=True)
                subprocess.run([*STRATAML, "doctor"], cwd=ws, stdout=subprocess.DEVNULL, check=False)
                build = add(scen, "strataml dashboard (index fresh)", timed([*STRATAML, "dashboard"], ws, a.repeat), "s", "build")
                size = add(scen, "index.html size", site.stat().st_size / MB, "MB", "size")
                doctor = add(scen, "peer: strataml doctor (warm)", timed([*STRATAML, "doctor"], ws, a.repeat), "s")
                listed = add(scen, "peer: strataml list runs (index fresh)", timed([*STRATAML, "list", "runs"], ws, a.repeat), "s")
                ratios += [(scen, "build / warm doctor", build / doctor), (scen, "build / list runs", build / listed)]

                data = payload_of(site)
                n_runs = len(data["tables"]["runs"])
                fan = sum(1 for f, _, _ in data["edges"] if f == "dataset:d00000@1")
                del data
                naive = tmp / f"naive-{scen}.html"
                # The payload is read back from the page just built: the naive table shows the same runs.
                naive_page(payload_of(site), naive)
                notes.append(f"{scen}: {n_runs} runs in the table, dataset:d00000@1 has {fan} downstream neighbours, "
                             f"page {size:.1f} MB, naive page {naive.stat().st_size / MB:.1f} MB")

                browser = Browser(pw)
                try:
                    url, naive_url = site.as_uri() + "#/runs", naive.as_uri()
                    dash_loads, naive_loads = [], []
                    for _ in range(a.loads):
                        dash_loads.append(browser.load(url))
                        naive_loads.append(browser.load(naive_url))
                    med = lambda loads, key: statistics.median(x[key] for x in loads)  # noqa: E731
                    first = dash_loads[-1]
                    notes.append(f"{scen}: dashboard DOM after load: {first['rows_in_dom']} rows, {first['nodes_in_dom']} elements, "
                                 f"count '{first['count']}'; naive: {naive_loads[-1]['nodes_in_dom']} elements")
                    if first["no_longtask"]:
                        notes.append(f"{scen}: no longtask observer: {first['no_longtask']}")
                    vis = add(scen, "first table visible (#/runs)", med(dash_loads, "visible") / 1000, "s", "visible")
                    if all(x["ready"] is not None for x in dash_loads):
                        add(scen, "  strataml:ready mark", med(dash_loads, "ready") / 1000, "s")
                    add(scen, "  of which: HTML read + parsed (app script reached)", med(dash_loads, "script") / 1000, "s")
                    add(scen, "  of which: JSON.parse of the data (if the app uses it)", med(dash_loads, "parse") / 1000, "s")
                    add(scen, "  of which: first row in DOM -> next frame done",
                        statistics.median(x["visible"] - x["row"] for x in dash_loads) / 1000, "s")
                    add(scen, "longest main-thread task during load", med(dash_loads, "longest"), "ms", "longtask")
                    heap = add(scen, "JS heap after load (after GC)", med(dash_loads, "heap") / MB, "MB", "heap")
                    n_vis = add(scen, "peer: naive <table> first row visible", med(naive_loads, "visible") / 1000, "s")
                    add(scen, "peer: naive <table> load event", med(naive_loads, "load") / 1000, "s")
                    n_long = add(scen, "peer: naive longest task during load", med(naive_loads, "longest"), "ms")
                    n_heap = add(scen, "peer: naive JS heap after load", med(naive_loads, "heap") / MB, "MB")
                    ratios += [(scen, "first table visible / naive", vis / n_vis),
                               (scen, "longest task / naive", med(dash_loads, "longest") / max(n_long, 1e-9)),
                               (scen, "JS heap / naive", heap / n_heap)]

                    ctx, page = browser.open(url)
                    try:
                        keys = page.evaluate(KEYSTROKES, QUERIES)
                        if "error" in keys:
                            notes.append(f"{scen}: keystrokes: {keys['error']}")
                        else:
                            kp = add(scen, f"search keystroke p95 ({len(keys['times'])} keys)", p95(keys["times"]), "ms", "keystroke")
                            add(scen, "  keystroke median", statistics.median(keys["times"]), "ms")
                            full = {v: c for v, c in keys["counts"]}
                            notes.append(f"{scen}: search counts: " + ", ".join(f"'{q}' -> {full.get(q)}" for q in QUERIES)
                                         + f", '' -> {full.get('')}; keystrokes whose update came after the timed part: {keys['deferred']}")
                        if a.trace and "error" not in keys:
                            top = cpu_profile(page, KEYSTROKES, QUERIES)[:8]
                            notes.append(f"{scen}: JS profile of the {len(keys['times'])} keystrokes again (self time; function:line in the page): "
                                         + ", ".join(f"{k} {v:.0f} ms" for k, v in top))
                        present = [k for k in SORT_KEYS if page.query_selector(f'[data-testid="sort-{k}"]')]
                        sorts = page.evaluate(SORTS, [present, 3])
                        if sorts["times"]:
                            st = [t for _, t in sorts["times"]]
                            add(scen, f"sort click median ({len(st)} clicks, {len(present)} keys)", statistics.median(st), "ms", "sort")
                            notes.append(f"{scen}: sorted by {', '.join(present)}")
                            slow = max(sorts["times"], key=lambda kt: kt[1])
                            add(scen, f"  slowest sort click ({slow[0]})", slow[1], "ms")
                            if sorts["deferred"]:
                                notes.append(f"{scen}: {sorts['deferred']} sort clicks changed the rows after the timed part")
                        else:
                            notes.append(f"{scen}: no sort buttons among {SORT_KEYS}")
                        lin = page.evaluate(LINEAGE_JS, [LINEAGE, "#/runs"])
                        add(scen, f"lineage, {fan} neighbours (median of {len(lin)})", statistics.median(x["ms"] for x in lin), "ms", "lineage")
                        add(scen, "  lineage, first time", lin[0]["ms"], "ms")
                        notes.append(f"{scen}: lineage drew {lin[0]['nodes']} nodes"
                                     + ("; the graph came after the hashchange task (timed to its appearance)" if any(x.get("deferred") for x in lin) else "")
                                     + ("; NOT drawn" if not all(x["drawn"] for x in lin) else ""))
                    finally:
                        ctx.close()
                    ctx, page = browser.open(naive_url)
                    try:
                        nk = page.evaluate(KEYSTROKES, QUERIES)
                        nkp = add(scen, "peer: naive search keystroke p95 (hide <tr>s)", p95(nk["times"]), "ms")
                        if "error" not in keys:
                            ratios.append((scen, "keystroke p95 / naive", kp / nkp))
                    finally:
                        ctx.close()

                    if a.trace:
                        ctx = browser.browser.new_context(viewport=VIEWPORT)
                        ctx.add_init_script(INIT_SCRIPT)
                        page = ctx.new_page()
                        trace = a.work / f"trace-dashboard-{scen}.json"
                        browser.browser.start_tracing(page=page, path=str(trace), screenshots=False,
                                                      categories=["devtools.timeline", "v8", "blink", "loading", "disabled-by-default-devtools.timeline"])
                        page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
                        wait_visible(page)
                        vis_ms = page.evaluate("window.__bench.visible")
                        browser.browser.stop_tracing()
                        ctx.close()
                        summary = trace_summary(trace, vis_ms)
                        notes.append(f"{scen}: trace {trace} (load to first table visible, {vis_ms:.0f} ms), main thread self time: "
                                     + ", ".join(f"{k} {v:.0f} ms" for k, v in summary[:10]))
                finally:
                    browser.close()
                notes.append(f"{scen}: load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
                if browser.errors:
                    notes.append(f"{scen}: page errors/warnings: " + " | ".join(dict.fromkeys(browser.errors))[:800])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(f"{'size':<5} {'measure':<56} {'value':>10}      goal")
    for scen, name, value, unit, verdict in rows:
        print(f"{scen:<5} {name:<56} {value:10.3f} {unit:<3}  {verdict}")
    print()
    print("ratios (same run):")
    for scen, name, value in ratios:
        print(f"  {scen:<5} {name:<40} {value:8.3f}x")
    print()
    for note in notes:
        print(f"note: {note}")
    misses = sum(1 for r in rows if r[4].endswith("MISS"))
    print(f"\n{sum(1 for r in rows if r[4])} figures with goals: {misses} missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
