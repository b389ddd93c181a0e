"""Benchmark the index and its readers on generated workspaces, in one run.

    python benchmarks/bench_index.py            # 1k and 10k records, 10k and 100k runs; 3 repeats
    python benchmarks/bench_index.py --quick    # 300 and 2k records, 2k and 20k runs
    python benchmarks/bench_index.py --no-100k  # without the 100k-runs sweep, the longest part
    python benchmarks/bench_index.py --here     # strataml from this interpreter, not benchmarks/.venv-strataml
    python benchmarks/bench_index.py --json out.json   # also write every figure and goal verdict as JSON

Measures (median of --repeat):
  strataml index, cold     no .strataml/ at all: every record parsed, schema-checked, hashed; it
                           then writes the cache and the index
  strataml doctor, cold    --no-cache: the same reading and hashing, with no cache read or written
  strataml index, warm     after a doctor run: records and hashes from the cache
  strataml list runs       fresh saved index: walk + freshness key + read the index
  strataml list runs       after one record changed: the reader rebuilds the index first (a new
                           change before each repeat: one run record's trailing space toggled, so
                           the workspace does not drift)
Peers measured in the same run on the same workspace: `strataml doctor` (warm and cold), the cost
any reader pays to know the repository's state, and `git status` (git's own walk of the tree).
A goal's command and its peer are timed in alternation, round after round (bench.interleaved):
the machine's drift over minutes moves both.

Sweeps of 10k and 100k runs (2k and 20k with --quick) measure the same figures: warm doctor,
doctor --since HEAD with one new record staged (and `strataml diff HEAD` of it), index warm, list runs --limit 20 fresh and after
one change, and the peak memory (ru_maxrss of the child) of index cold and of a warm doctor; the
growth 10k -> 100k of each is judged against linear (<= 10x). The goals table at the end gives
each goal's verdict (PASS/MISS).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench import (  # noqa: E402
    ensure,
    goal,
    interleaved,
    one_changed_record,
    peak_rss_mb,
    report,
    run_meta,
    settle,
    strataml_venv,
    timed,
)


def touch_one(ws: Path, back: bool = False) -> None:
    """Change one run record by toggling a trailing space (the next call changes it back), then wait
    out the racy window; back: the record as committed (git checkout), no wait. A committed run
    record that changed is an error for `doctor --since HEAD`, so every sweep ends with it as committed."""
    meta = min((ws / "runs").iterdir()) / "run.yaml"  # the same run every time
    if back:  # as committed, whatever happened to it meanwhile
        subprocess.run(["git", "checkout", "--", str(meta.relative_to(ws))], cwd=ws, check=True)
        return
    text = meta.read_text()
    old = next(line for line in text.splitlines() if line.startswith("status: "))
    clean = old.rstrip()
    meta.write_text(text.replace(old + "\n", (clean if old != clean else old + " ") + "\n", 1))
    settle()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, default=Path("/tmp/strataml-bench"))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--no-100k", dest="big", action="store_false", help="skip the 100k-runs sweep (20k with --quick)")
    p.add_argument("--here", action="store_true", help="run strataml with this interpreter instead of its benchmark venv")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write every figure and goal to PATH as JSON")
    a = p.parse_args(argv)
    STRATAML = [sys.executable, "-m", "strataml"] if a.here else strataml_venv()
    a.work.mkdir(parents=True, exist_ok=True)
    q = a.quick
    meta = run_meta(a, STRATAML)
    rows: list[tuple[str, str, float, str]] = []

    def add(scenario: str, name: str, value: float, unit: str = "s") -> float:
        rows.append((scenario, name, value, unit))
        print(f"  {scenario:<10} {name:<50} {value:8.3f} {unit}", file=sys.stderr)
        return value

    def run(cmd: list[str], ws: Path) -> None:
        subprocess.run(cmd, cwd=ws, stdout=subprocess.DEVNULL, check=False)

    index, doctor, list20 = [*STRATAML, "index"], [*STRATAML, "doctor"], [*STRATAML, "list", "runs", "--limit", "20"]
    small = dict(files_per_record=1, mix=[(1.0, 4096)], lfs="none")
    spaces = [("300-rec" if q else "1k-rec", ensure(a.work / ("ws-idx-300" if q else "ws-idx-1k"), records=300 if q else 1000,
                                                   total=(2 if q else 8) << 20, seed=21, **small)),
              ("2k-rec" if q else "10k-rec", ensure(a.work / ("ws-2k-records" if q else "ws-10k"), records=2000 if q else 10000,
                                                    total=(20 if q else 100) << 20, seed=8, **small))]
    for name, ws in spaces:
        state = ws / ".strataml"
        cold = interleaved([("index", index, lambda s=state: shutil.rmtree(s, ignore_errors=True)),
                            ("doctor", [*doctor, "--no-cache"], None)], ws, a.repeat)
        index_cold = add(name, "strataml index (cold: no .strataml/)", cold["index"])
        doctor_cold = add(name, "peer: strataml doctor --no-cache (cold)", cold["doctor"])
        run(doctor, ws)
        warm_pair = interleaved([("index", index, None), ("doctor", doctor, None)], ws, a.repeat)
        index_warm = add(name, "strataml index (warm cache)", warm_pair["index"])
        doctor_warm = add(name, "peer: strataml doctor (warm)", warm_pair["doctor"])
    # the goals are the last workspace's (10k records)
    goals = [goal(f"{name}: index warm / warm doctor", index_warm / doctor_warm, "x", 1.2),
             goal(f"{name}: index cold (no .strataml/) / cold doctor (--no-cache)", index_cold / doctor_cold, "x", 1.2)]

    def sweep(scen: str, ws: Path) -> dict[str, float]:
        """The figures compared between the two sweeps, by name. Git's own commands run before the
        readers' (a refreshed .git/index changes the freshness key); the changes come last."""
        touch_one(ws, back=True)
        one_changed_record(ws)  # staged once and kept: every run of this script sees the same tree
        subprocess.run(["git", "status", "--porcelain"], cwd=ws, stdout=subprocess.DEVNULL, check=True)
        settle()
        out: dict[str, float] = {}

        def fig(name: str, value: float, unit: str = "s") -> None:
            out[name] = add(scen, name, value, unit)

        shutil.rmtree(ws / ".strataml", ignore_errors=True)
        fig("strataml index (cold) peak RSS", peak_rss_mb(index, ws), "MB")
        run(doctor, ws)
        fig("strataml doctor (warm) peak RSS", peak_rss_mb(doctor, ws), "MB")
        fig("strataml index (warm cache)", timed(index, ws, a.repeat))
        # The goals' commands and their peers in rounds (bench.interleaved). Each has what it needs
        # first, untimed: the warm doctor a run that catches up with the last change; the fresh
        # listing the racy window waited out (git status may have refreshed .git/index, and no
        # reader proves its index fresh then) and a listing that saved it; the listing after a
        # change, the change.
        fresh_list = lambda: (settle(), run(list20, ws))  # noqa: E731
        paired = interleaved([("peer: strataml doctor (warm)", doctor, lambda: run(doctor, ws)),
                              ("peer: git status --porcelain", ["git", "status", "--porcelain"], None),
                              ("strataml list runs --limit 20 (fresh)", list20, fresh_list),
                              ("strataml list runs --limit 20 (one record changed)", list20, lambda: touch_one(ws))],
                             ws, a.repeat)
        for name in ("peer: strataml doctor (warm)", "peer: git status --porcelain", "strataml list runs --limit 20 (fresh)"):
            fig(name, paired[name])
        touch_one(ws, back=True)  # the record as committed again, for --since below
        fresh_list()
        fig("strataml list runs (fresh, every row)", timed([*STRATAML, "list", "runs"], ws, a.repeat))
        sort = [*list20, "--sort", "test_accuracy", "--desc"]
        fig("strataml list runs --limit 20 --sort test_accuracy", timed(sort, ws, a.repeat))
        run([*doctor, "--since", "HEAD"], ws)
        fig("strataml doctor --since HEAD (1 new record)", timed([*doctor, "--since", "HEAD"], ws, a.repeat))
        run([*STRATAML, "diff", "HEAD"], ws)
        fig("strataml diff HEAD (1 new record)", timed([*STRATAML, "diff", "HEAD"], ws, a.repeat))
        fig("strataml list runs --limit 20 (one record changed)", paired["strataml list runs --limit 20 (one record changed)"])
        return out

    s10, s100 = ("2k-runs", "20k-runs") if q else ("10k-runs", "100k-runs")
    r10 = sweep(s10, ensure(a.work / ("ws-runs-2k" if q else "ws-runs-10k"), records=2200 if q else 10200,
                            runs=2000 if q else 10000, total=(20 if q else 100) << 20, seed=22, **small))
    warm, status = r10["peer: strataml doctor (warm)"], r10["peer: git status --porcelain"]
    listed, limited = r10["strataml list runs (fresh, every row)"], r10["strataml list runs --limit 20 (fresh)"]
    goals += [goal(f"{s10}: list runs --limit 20 fresh / git status", limited / status, "x", 1.2),
              goal(f"{s10}: list runs after one record changed / warm doctor",
                   r10["strataml list runs --limit 20 (one record changed)"] / warm, "x", 1.5),
              goal(f"{s10}: diff HEAD / doctor --since HEAD (1 new record)",
                   r10["strataml diff HEAD (1 new record)"] / r10["strataml doctor --since HEAD (1 new record)"], "x", 2.0),
              goal(f"{s10}: list runs (fresh, every row) / warm doctor", listed / warm, "x"),
              goal(f"{s10}: list runs (fresh, every row) / git status", listed / status, "x")]
    if a.big:  # --quick: 20k runs, the same tenfold step from its 2k sweep
        r100 = sweep(s100, ensure(a.work / ("ws-runs-20k" if q else "ws-runs-100k"), records=20200 if q else 100200,
                                  runs=20000 if q else 100000, total=(80 if q else 400) << 20, seed=23, **small))
        for name, value in r100.items():  # git status: a peer's growth, for comparison
            goals.append(goal(f"growth {s10} -> {s100}: {name}", value / r10[name], "x", None if "git status" in name else 10))
        for name in ("strataml index (cold) peak RSS", "strataml doctor (warm) peak RSS"):
            goals.append(goal(f"{s100}: {name}", r100[name], "MB", None if q else 1536))
    else:
        print(f"(--no-100k: the {s100} sweep, its growth and peak memory goals are skipped)", file=sys.stderr)
    report(rows, goals, a.json, **meta, loadavg_end=[round(x, 2) for x in os.getloadavg()])
    return 0


if __name__ == "__main__":
    sys.exit(main())
