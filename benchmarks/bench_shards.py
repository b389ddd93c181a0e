"""Benchmark sharded verification (`strataml doctor --shard K/N`, `strataml report merge`).

    python benchmarks/bench_shards.py           # 2k files / 2 GB (Git LFS) and 100k files; N = 2, 4, 8
    python benchmarks/bench_shards.py --quick   # 200 files / 200 MB and 20k files
    python benchmarks/bench_shards.py --here    # strataml from this interpreter

The N shards run one after another here (a CI matrix runs them at once). For each workspace and
N: the largest shard's planned bytes over the mean (goal <= 1.1x), the slowest shard's cold wall
time, the per-shard overhead (the shards' total time over the full run's, less the full run,
divided by N), and whether the merged report is the full run's (JSON findings and summary equal,
SARIF byte for byte). Cold runs (--no-cache) throughout.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench import ensure, goal, report, run_meta, strataml_venv  # noqa: E402


def wall(cmd: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True)
    return time.perf_counter() - start, done


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, default=Path("/tmp/strataml-bench"))
    p.add_argument("--quick", action="store_true")
    p.add_argument("--here", action="store_true")
    p.add_argument("--json", type=Path, metavar="PATH")
    a = p.parse_args(argv)
    a.repeat = 1
    strataml = [sys.executable, "-m", "strataml"] if a.here else strataml_venv()
    q = a.quick
    mix = [(0.70, 4 << 10), (0.25, 1 << 20), (0.05, 16 << 20)]
    spaces = [
        ("200-200MB" if q else "2k-2GB", ensure(a.work / ("ws-200" if q else "ws-2k"), records=200 if q else 2000,
                                               files_per_record=1, total=(200 if q else 2048) << 20, mix=mix,
                                               lfs="content", seed=7)),
        ("20k-files" if q else "100k-files", ensure(a.work / ("ws-20k-files" if q else "ws-100k"),
                                                   records=2000 if q else 10000, files_per_record=10,
                                                   total=(40 if q else 200) << 20, mix=[(1.0, 2048)], lfs="none",
                                                   seed=9)),
    ]
    rows: list[tuple[str, str, float, str]] = []
    goals = []
    for scen, ws in spaces:
        # Unmeasured first run: every measured run then finds the files in the OS page cache alike
        # (the first reader of 2 GB pays the disk, and charging it to the full run alone made the
        # shards look cheaper than they are). "Cold" below means --no-cache: StrataML's cache unused.
        wall([*strataml, "doctor", "--no-cache", "--format", "json"], ws)
        full_time, full = wall([*strataml, "doctor", "--no-cache", "--format", "json"], ws)
        rows.append((scen, "full doctor --no-cache (cold)", full_time, "s"))
        full_sarif = subprocess.run([*strataml, "doctor", "--no-cache", "--format", "sarif"], cwd=ws, capture_output=True).stdout
        for n in (2, 4, 8):
            with tempfile.TemporaryDirectory() as tmp:
                times, planned, files = [], [], []
                for k in range(1, n + 1):
                    out = Path(tmp) / f"shard-{k}.json"
                    t, _done = wall([*strataml, "doctor", "--no-cache", "--shard", f"{k}/{n}", "--format", "json",
                                     "--output", str(out)], ws)
                    times.append(t)
                    doc = json.loads(out.read_text())
                    planned.append(doc["stats"]["bytes_planned"])
                    files.append(str(out))
                merged = subprocess.run([*strataml, "report", "merge", *files, "--format", "json"], cwd=ws, capture_output=True)
                sarif = subprocess.run([*strataml, "report", "merge", *files, "--format", "sarif"], cwd=ws, capture_output=True)
            m, f = json.loads(merged.stdout), json.loads(full.stdout)
            same = m["findings"] == f["findings"] and m["summary"] == f["summary"] and sarif.stdout == full_sarif
            mean = sum(planned) / n
            balance = max(planned) / mean if mean else 1.0
            overhead = (sum(times) - full_time) / n
            rows += [(scen, f"N={n}: slowest shard (cold)", max(times), "s"),
                     (scen, f"N={n}: per-shard overhead", overhead, "s"),
                     (scen, f"N={n}: largest shard bytes / mean", balance, "x")]
            goals += [goal(f"{scen} N={n}: largest shard's bytes / mean", balance, "x", 1.1),
                      goal(f"{scen} N={n}: merged report = full run (1 yes, 0 no)", 1.0 if same else 0.0, "", None)]
            print(f"  {scen} N={n}: balance {balance:.3f}x, slowest {max(times):.2f} s, overhead {overhead:.2f} s, "
                  f"merged {'=' if same else '!='} full", file=sys.stderr)
    report(rows, goals, a.json, **run_meta(a, strataml))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
