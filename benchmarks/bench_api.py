"""Benchmark the read-only HTTP API (`strataml serve`) against the CLI commands that print the same JSON.

    python benchmarks/bench_api.py            # the 10k-record workspace
    python benchmarks/bench_api.py --quick    # a 1k-record one, fewer requests (a smoke run)
    python benchmarks/bench_api.py --here     # strataml from this interpreter, not its benchmark venv
    python benchmarks/bench_api.py --venv /tmp/strataml-bench/venv-strataml   # reuse a venv (reinstalled first)

Loopback only, bounded in count and time. The workspace is bench_dashboard.py's (generate.py
--records N --runs 0.8N --fanout 500 --experiments K, made once under --work and reused). strataml
runs as in bench_dashboard.py: this checkout installed regularly into a venv, reinstalled at the
start of the run, plus the `serve` extra (fastapi, uvicorn) when the venv lacks it. Measures:

  start      `strataml serve --port 0` started with the saved index fresh: process start to the
             URL line on its stdout, and to the first 200 from /api/v1/workspace (the first
             request loads the index); median of --starts.
  warm       one client, one keep-alive connection (http.client): --warm requests per answer
             after --warmup unmeasured ones: a 100-row list page, a record, depth-2 lineage; p50, p95,
             max. The server re-checks the repository's freshness (a walk of the workspace) at most
             once a second, on the request that comes after the second has passed: that request pays
             for the walk, and the others in its window share the two cores with it. Every window
             of measured requests says how many checks it could hold (its length / (1 s + a walk))
             and how many requests took longer than half a walk (those that ran one).
  load       --clients threads, each with a keep-alive connection, --total requests in all (the
             three answers in turn): errors, throughput, p50/p95 latency; the server's peak memory
             (VmHWM of its process) at the end.
  peers      `strataml list runs --format json --sort test_accuracy --desc --limit 100`,
             `strataml show REF --format json`, `strataml lineage dataset:d00000@1 --depth 2 --format
             json`, whole processes, median of --repeat; their JSON is compared with the server's;
             ratio CLI / server (warm p50) per answer.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from bench import timed  # noqa: E402
from bench_dashboard import strataml_install, workspace  # noqa: E402

HOST = "127.0.0.1"
LIST = "/api/v1/runs?limit=100&sort=test_accuracy&desc=true"
LINEAGE_REF = "dataset:d00000@1"
LINEAGE = f"/api/v1/lineage/{LINEAGE_REF}?depth=2"
URL_LINE = re.compile(r"Serving .* at http://127\.0\.0\.1:(\d+)/")
FLOOR = "/api/v1/no-such-route"  # a 404 from the router: the transport and middleware alone

# Issue 13, section 5. (goal, unit, "<=" or ">=")
GOALS: dict[str, tuple[float, str, str]] = {
    "start": (1.0, "s", "<="),
    "p95": (20.0, "ms", "<="),
    "errors": (0.0, "", "<="),
    "ratio": (10.0, "x", ">="),
}


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def serve_extra(python: str) -> str:
    """The venv gets the serve extra's requirements (pyproject's) when it cannot import them."""
    probe = "import fastapi, uvicorn; print(fastapi.__version__, uvicorn.__version__)"
    got = subprocess.run([python, "-c", probe], capture_output=True, text=True)
    if got.returncode != 0:
        reqs = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["serve"]
        print(f"installing the serve extra into the venv: {' '.join(reqs)} ...", file=sys.stderr)
        subprocess.run([python, "-m", "pip", "install", "-q", *reqs], check=True, timeout=900)
        got = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True)
    fastapi_v, uvicorn_v = got.stdout.split()
    return f"fastapi {fastapi_v}, uvicorn {uvicorn_v}"


class Server:
    """`strataml serve --port 0` in the workspace; stopped with SIGINT (Ctrl-C), as a user would."""

    def __init__(self, cmd: list[str], ws: Path) -> None:
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen([*cmd, "serve", "--port", "0"], cwd=ws, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()  # click.echo flushes: the URL line comes as soon as the socket is bound
        self.t_url = time.perf_counter() - self.t0
        m = URL_LINE.search(line)
        if not m:
            self.stop()
            raise SystemExit(f"no URL line from strataml serve: {line!r} {self.proc.stderr.read()[-800:]}")
        self.port = int(m.group(1))
        self.log: list[str] = []
        # Drain both pipes so the server never blocks on a full one.
        for stream in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=self._drain, args=(stream,), daemon=True).start()

    def _drain(self, stream: Any) -> None:
        for line in stream:
            if len(self.log) < 200:
                self.log.append(line.rstrip())

    def first_answer(self, timeout: float = 60.0) -> float:
        """Process start to the first 200 from /api/v1/workspace (refused connections retried)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                c = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
                c.request("GET", "/api/v1/workspace")
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    return time.perf_counter() - self.t0
                raise SystemExit(f"/api/v1/workspace answered {r.status}")
            except ConnectionRefusedError:
                time.sleep(0.002)
        raise SystemExit(f"no answer from the server within {timeout:.0f} s")

    def status(self) -> dict[str, int]:
        out = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS", "Threads"):
                out[k] = int(v.split()[0])
        return out

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes, float]:
    t = time.perf_counter()
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    return r.status, body, time.perf_counter() - t


def warm(port: int, path: str, n: int, warmup: int, expect: int = 200) -> tuple[list[float], float, bytes]:
    """n timed requests on one keep-alive connection after `warmup` untimed ones: (latencies, window, last body)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    for _ in range(warmup):
        status, body, _ = get(conn, path)
        if status != expect:
            raise SystemExit(f"{path}: {status} {body[:300]!r}")
    times = []
    t0 = time.perf_counter()
    for _ in range(n):
        status, body, dt = get(conn, path)
        if status != expect:
            raise SystemExit(f"{path}: {status} {body[:300]!r}")
        times.append(dt)
    window = time.perf_counter() - t0
    conn.close()
    return times, window, body


def hammer(port: int, paths: list[str], clients: int, total: int, deadline: float) -> dict[str, Any]:
    """`clients` threads with a keep-alive connection each, `total` requests in all, paths in turn."""
    lock = threading.Lock()
    issued = iter(range(total))
    lat: list[float] = []
    errors: list[str] = []
    stop_at = time.monotonic() + deadline
    start = threading.Barrier(clients + 1)

    def client() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        mine: list[float] = []
        start.wait()
        while time.monotonic() < stop_at:
            with lock:
                i = next(issued, None)
            if i is None:
                break
            path = paths[i % len(paths)]
            try:
                status, body, dt = get(conn, path)
                if status != 200:
                    errors.append(f"{path}: HTTP {status} {body[:120]!r}")
                mine.append(dt)
            except (OSError, http.client.HTTPException) as exc:
                errors.append(f"{path}: {type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=60)
        conn.close()
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"lat": lat, "errors": errors, "wall": wall, "done": len(lat)}


def run_json(cmd: list[str], ws: Path) -> Any:
    out = subprocess.run(cmd, cwd=ws, capture_output=True, text=True)
    if out.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr[-500:]}")
    return json.loads(out.stdout)


def check_cost(python: list[str], ws: Path) -> float:
    """What one freshness check costs in-process: saved.freshness (the walk and its key), median of 3."""
    probe = ("import statistics, sys, time; from pathlib import Path; from strataml.read import saved; ts = []\n"
             "for _ in range(3):\n t = time.perf_counter(); saved.freshness(Path(sys.argv[1])); ts.append(time.perf_counter() - t)\n"
             "print(statistics.median(ts))")
    out = subprocess.run([*python, "-c", probe, str(ws)], capture_output=True, text=True)
    return float(out.stdout.strip()) if out.returncode == 0 else float("nan")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, default=Path("/tmp/strataml-bench"))
    p.add_argument("--quick", action="store_true", help="1k records instead of 10k, fewer requests")
    p.add_argument("--here", action="store_true", help="run strataml with this interpreter instead of its benchmark venv")
    p.add_argument("--venv", type=Path, default=HERE / ".venv-strataml", help="the benchmark venv (default: bench.py's)")
    p.add_argument("--starts", type=int, default=3, help="server starts timed (median)")
    p.add_argument("--warm", type=int, default=None, help="timed requests per answer, one client (default 300; --quick 200)")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--total", type=int, default=None, help="requests of the concurrent phase (default 10,000; --quick 2,000)")
    p.add_argument("--deadline", type=float, default=240.0,
                   help="seconds the concurrent phase may run; requests not sent by then are reported, not sent")
    p.add_argument("--repeat", type=int, default=5, help="CLI peers: median of this many")
    a = p.parse_args(argv)
    n_warm = a.warm or (200 if a.quick else 300)
    total = a.total or (2000 if a.quick else 10000)
    scen, records = ("1k", 1000) if a.quick else ("10k", 10000)

    if a.here:
        STRATAML, PYTHON = [sys.executable, "-m", "strataml"], [sys.executable]
    else:
        STRATAML = strataml_install(a.venv)
        PYTHON = [str(a.venv / "bin" / "python")]
    extra = serve_extra(PYTHON[0])
    print(f"strataml: {' '.join(STRATAML)} ({extra})", file=sys.stderr)
    a.work.mkdir(parents=True, exist_ok=True)
    ws = workspace(a.work, scen, records)

    rows: list[tuple[str, float, str, str]] = []
    notes: list[str] = [f"{scen}: {records:,} records in {ws}; {os.cpu_count()} CPUs; {extra}"]

    def add(name: str, value: float, unit: str, goal_key: str | None = None,
            goal: tuple[float, str, str] | None = None) -> float:
        goal = goal or GOALS.get(goal_key or "")
        verdict = ""
        if goal is not None:
            ok = value <= goal[0] if goal[2] == "<=" else value >= goal[0]
            verdict = f"{goal[2]} {goal[0]:g} {goal[1]}  {'PASS' if ok else 'MISS'}"
        rows.append((name, value, unit, verdict))
        print(f"  {name:<62} {value:10.3f} {unit:<3} {verdict}", file=sys.stderr)
        return value

    # The saved index made fresh first: the server's start is then a fresh index's (loaded, not rebuilt).
    subprocess.run([*STRATAML, "list", "runs", "--limit", "1"], cwd=ws, stdout=subprocess.DEVNULL, check=True)
    top = run_json([*STRATAML, "list", "runs", "--format", "json", "--sort", "test_accuracy", "--desc", "--limit", "100"], ws)
    ref = top[0]["id"]
    record = f"/api/v1/records/{ref}"
    answers = [("list page (100 rows)", LIST), ("record", record), ("lineage depth 2", LINEAGE)]
    peers = {
        LIST: [*STRATAML, "list", "runs", "--format", "json", "--sort", "test_accuracy", "--desc", "--limit", "100"],
        record: [*STRATAML, "show", ref, "--format", "json"],
        LINEAGE: [*STRATAML, "lineage", LINEAGE_REF, "--depth", "2", "--format", "json"],
    }
    walk = check_cost(PYTHON, ws)
    notes.append(f"one freshness check (saved.freshness in-process, median of 3): {walk * 1000:.0f} ms")
    notes.append(f"load average at start {load()}")

    # 1. Start to first answer, fresh index.
    print(f"[{scen}] start to first answer, {a.starts} starts ...", file=sys.stderr)
    starts, urls = [], []
    for _ in range(a.starts):
        s = Server(STRATAML, ws)
        try:
            urls.append(s.t_url)
            starts.append(s.first_answer())
        finally:
            s.stop()
    add(f"start to first 200 from /api/v1/workspace (median of {a.starts})", statistics.median(starts), "s", "start")
    add("  of which: start to the URL line (imports, app, socket)", statistics.median(urls), "s")
    notes.append("starts: " + ", ".join(f"{t:.3f}" for t in starts) + " s")

    server = Server(STRATAML, ws)
    try:
        server.first_answer()
        # 2. Warm, one client, keep-alive.
        print(f"[{scen}] warm: {n_warm} requests per answer, one keep-alive client ...", file=sys.stderr)
        warm_p50: dict[str, float] = {}
        bodies: dict[str, bytes] = {}
        for label, path in answers:
            cpu0 = server.cpu_s()
            times, window, body = warm(server.port, path, n_warm, a.warmup)
            cpu = server.cpu_s() - cpu0
            bodies[path] = body
            ms = [t * 1000 for t in times]
            warm_p50[path] = add(f"warm {label}: p50", statistics.median(ms), "ms")
            add(f"warm {label}: p95 ({n_warm} requests)", pct(ms, 0.95), "ms", "p95")
            add(f"  {label}: max", max(ms), "ms")
            cut = statistics.median(ms) + walk * 1000 / 2  # slower than usual by half a walk: the request ran a check
            slow = [t for t in ms if t > cut]
            could = window / (1.0 + walk)
            notes.append(f"warm {label}: {n_warm} requests in {window:.2f} s ({len(body):,} bytes each), server CPU {cpu:.2f} s; "
                         f"the window could hold ~{could:.1f} freshness checks (one per 1 s + a {walk * 1000:.0f} ms walk); "
                         f"{len(slow)} requests took > {cut:.0f} ms (p50 + half a walk: a check; "
                         + (", ".join(f"{t:.0f}" for t in slow[:20]) or "none") + " ms); "
                         f"p99 {pct(ms, 0.99):.1f} ms; p95 of the others {pct([t for t in ms if t <= cut] or ms, 0.95):.1f} ms")

        floor = [t * 1000 for t in warm(server.port, FLOOR, n_warm, a.warmup, expect=404)[0]]
        add("  floor: a 404 from the router (no work), p50", statistics.median(floor), "ms")
        if statistics.median(floor) > 30:
            notes.append(f"the floor, an empty 404, takes {statistics.median(floor):.0f} ms on a reused connection (the first "
                         "request of a connection is fast): Nagle's algorithm against delayed ACKs, i.e. the server's "
                         "connections lack TCP_NODELAY (asyncio sets it only on sockets whose proto is IPPROTO_TCP)")
        # 3. Concurrent clients.
        print(f"[{scen}] {a.clients} clients x {total:,} requests ...", file=sys.stderr)
        cpu0 = server.cpu_s()
        load_before = load()
        h = hammer(server.port, [path for _, path in answers], a.clients, total, a.deadline)
        cpu = server.cpu_s() - cpu0
        ms = [t * 1000 for t in h["lat"]]
        add(f"{a.clients} clients x {total:,} requests: errors", len(h["errors"]), "", "errors")
        add(f"  requests answered within the {a.deadline:.0f} s bound", h["done"], "", goal=(total, "", ">="))
        add("  throughput", h["done"] / h["wall"], "req/s")
        add("  latency p50", statistics.median(ms), "ms")
        add("  latency p95", pct(ms, 0.95), "ms")
        add("  latency max", max(ms), "ms")
        st = server.status()
        add("peak server memory (VmHWM)", st["VmHWM"] / 1024, "MB")
        notes.append(f"concurrent: {h['done']:,} of {total:,} requests in {h['wall']:.1f} s, server CPU {cpu:.1f} s "
                     f"({cpu / h['wall']:.2f} cores), ~{h['wall'] / (1.0 + walk):.0f} freshness checks in the window; "
                     f"server RSS at end {st['VmRSS'] / 1024:.0f} MB, {st['Threads']} threads; load average before {load_before}, after {load()}")
        if h["errors"]:
            notes.append("errors (first 5): " + " | ".join(h["errors"][:5]))
    finally:
        server.stop()
    if server.log:
        notes.append("server output: " + " | ".join(server.log[:5])[:500])

    # 4. The CLI peers, whole processes; their JSON against the server's.
    print(f"[{scen}] CLI peers, median of {a.repeat} ...", file=sys.stderr)
    for label, path in answers:
        cmd = peers[path]
        cli = add(f"peer: {' '.join(['strataml', *cmd[len(STRATAML):]])}"[:62], timed(cmd, ws, a.repeat), "s")
        add(f"  ratio CLI / server warm p50, {label}", cli * 1000 / warm_p50[path], "x", "ratio")
        served = json.loads(bodies[path])
        same = run_json(cmd, ws) == (served["rows"] if path == LIST else served)
        notes.append(f"{label}: the server's JSON {'equals' if same else 'DIFFERS FROM'} the CLI's")
    notes.append(f"load average at end {load()}")

    print()
    print(f"{scen}: {'measure':<62} {'value':>10}      goal")
    for name, value, unit, verdict in rows:
        print(f"{scen}: {name:<62} {value:10.3f} {unit:<5} {verdict}")
    print()
    for note in notes:
        print(f"note: {note}")
    misses = sum(1 for r in rows if r[3].endswith("MISS"))
    print(f"\n{sum(1 for r in rows if r[3])} figures with goals: {misses} missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
