"""Benchmark the index and its readers on generated workspaces, in one run.

    python benchmarks/bench_index.py            # 1k and 10k records, 10k runs; 3 repeats
    python benchmarks/bench_index.py --quick    # 300 and 2k records, 2k runs
    python benchmarks/bench_index.py --here     # strataml from this interpreter, not benchmarks/.venv-strataml

Measures (median of --repeat):
  strataml index, cold     no .strataml/ at all: every record parsed, schema-checked, hashed
  strataml index, warm     after a doctor run: records and hashes from the cache
  strataml list runs       fresh saved index: walk + freshness key + read the index
  strataml list runs       after one record changed: the reader rebuilds the index first
Peers measured in the same run on the same workspace: `strataml doctor` (warm), the cost any
reader pays to know the repository's state, and `git status` (git's own walk of the tree).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench import ensure, settle, strataml_venv, timed  # noqa: E402


def touch_one(ws: Path) -> None:
    meta = next((ws / "runs").iterdir()) / "run.yaml"
    meta.write_text(meta.read_text().replace("status: succeeded", "status: succeeded "))
    settle()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, default=Path("/tmp/strataml-bench"))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--here", action="store_true", help="run strataml with this interpreter instead of its benchmark venv")
    a = p.parse_args(argv)
    STRATAML = [sys.executable, "-m", "strataml"] if a.here else strataml_venv()
    a.work.mkdir(parents=True, exist_ok=True)
    q = a.quick
    rows: list[tuple[str, str, float]] = []

    def add(scenario: str, name: str, value: float) -> float:
        rows.append((scenario, name, value))
        print(f"  {scenario:<10} {name:<44} {value:8.3f} s", file=sys.stderr)
        return value

    small = dict(files_per_record=1, mix=[(1.0, 4096)], lfs="none")
    spaces = [("300-rec" if q else "1k-rec", ensure(a.work / ("ws-idx-300" if q else "ws-idx-1k"), records=300 if q else 1000,
                                                   total=(2 if q else 8) << 20, seed=21, **small)),
              ("2k-rec" if q else "10k-rec", ensure(a.work / ("ws-2k-records" if q else "ws-10k"), records=2000 if q else 10000,
                                                    total=(20 if q else 100) << 20, seed=8, **small))]
    for name, ws in spaces:
        state = ws / ".strataml"
        add(name, "strataml index (cold: no cache)", timed([*STRATAML, "index"], ws, a.repeat,
                                                           before=lambda s=state: shutil.rmtree(s, ignore_errors=True)))
        subprocess.run([*STRATAML, "doctor"], cwd=ws, stdout=subprocess.DEVNULL, check=False)
        add(name, "strataml index (warm cache)", timed([*STRATAML, "index"], ws, a.repeat))

    runs_ws = ensure(a.work / ("ws-runs-2k" if q else "ws-runs-10k"), records=2200 if q else 10200, runs=2000 if q else 10000,
                     total=(20 if q else 100) << 20, seed=22, **small)
    scen = "2k-runs" if q else "10k-runs"
    subprocess.run([*STRATAML, "list", "runs"], cwd=runs_ws, stdout=subprocess.DEVNULL, check=True)
    listed = add(scen, "strataml list runs (saved index fresh)", timed([*STRATAML, "list", "runs"], runs_ws, a.repeat))
    add(scen, "strataml list runs --limit 20 --sort test_accuracy", timed(
        [*STRATAML, "list", "runs", "--limit", "20", "--sort", "test_accuracy", "--desc"], runs_ws, a.repeat))
    stale = add(scen, "strataml list runs (one record changed: rebuild)", timed(
        [*STRATAML, "list", "runs", "--limit", "20"], runs_ws, 1, before=lambda: touch_one(runs_ws)))
    doctor = add(scen, "peer: strataml doctor (warm)", timed([*STRATAML, "doctor"], runs_ws, a.repeat))
    status = add(scen, "peer: git status", timed(["git", "status", "--porcelain"], runs_ws, a.repeat))

    print()
    print(f"{'scenario':<10} {'measure':<50} {'median':>9}")
    for scenario, name, value in rows:
        print(f"{scenario:<10} {name:<50} {value:7.3f} s")
    print()
    print("ratios (same run):")
    print(f"  list runs (fresh) / warm doctor       {listed / doctor:6.3f}x")
    print(f"  list runs (fresh) / git status        {listed / status:6.3f}x")
    print(f"  list runs (rebuild) / warm doctor     {stale / doctor:6.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
