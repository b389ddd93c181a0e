"""How close a cold `strataml index` can come to a cold doctor: the index with its graph left out.

    python benchmarks/bound_index.py                 # ws-10k (bench_index.py's 10k-record workspace), 8 rounds
    python benchmarks/bound_index.py --rounds 12 --here

Times four commands in alternation, each round in turn, on the same workspace:

  index            `strataml index`, no .strataml/ (the goal's command)
  index, no graph  the same run with the graph's build left out: no nodes, no edges, no forked
                   copy building them; the doctor's work and the cache are written as in any
                   run (the cache by this process, as a doctor writes it). No build of the graph
                   can make a cold index quicker than this.
  doctor, filling  `strataml doctor` with no .strataml/: it writes the cache too
  doctor           `strataml doctor --no-cache`: the goal's peer

All four start the same way (`python -c`), so the interpreter's start counts alike. The ratio of
"index, no graph" to the peer is the floor of the goal's ratio; 1.2x the peer minus that run is
the wall time left for building, encoding and saving the graph if the goal is to be met.

Each command's CPU time is its process's and every helper's it waited for (user + sys, from
getrusage of the children): on this machine's two cores no command can end sooner than its CPU
time over two, so "CPU / 2 / peer" is a floor of the ratio that no overlap of the work can beat.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench import ensure, strataml_venv  # noqa: E402

RUN = "import sys; from strataml.cli.main import run; run(sys.argv[1:])"
# The graph left out: no forked copy, and a build that makes an empty graph (still saved, keyed
# and reported as a build is).
NO_GRAPH = (
    "import sys, strataml.read.lend as L, strataml.read.build as B; from strataml import schemas; "
    "L.Lend.possible = staticmethod(lambda: False); "
    "B.build = lambda ws, report, generated_at=None, previous=None: "
    "{'schema': schemas.schema_id('index'), 'workspace': ws.name, 'nodes': [], 'edges': [], 'findings': []}; "
    "from strataml.cli.main import run; run(sys.argv[1:])"
)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, default=Path("/tmp/strataml-bench"))
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--here", action="store_true", help="this interpreter's strataml, not benchmarks/.venv-strataml")
    a = p.parse_args(argv)
    python = sys.executable if a.here else str(Path(strataml_venv()[0]).parent / "python")
    ws = ensure(
        a.work / "ws-10k", records=10000, total=100 << 20, seed=8, files_per_record=1, mix=[(1.0, 4096)], lfs="none"
    )
    state = ws / ".strataml"
    measures = [
        ("index", [python, "-c", RUN, "index"], True),
        ("index, no graph", [python, "-c", NO_GRAPH, "index"], True),
        ("doctor, filling", [python, "-c", RUN, "doctor"], True),
        ("doctor", [python, "-c", RUN, "doctor", "--no-cache"], False),
    ]
    times: dict[str, list[float]] = {name: [] for name, _cmd, _fresh in measures}
    cpu: dict[str, list[float]] = {name: [] for name, _cmd, _fresh in measures}
    for r in range(a.rounds):
        for name, cmd, fresh in measures if r % 2 == 0 else measures[::-1]:
            if fresh:
                shutil.rmtree(state, ignore_errors=True)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            proc = subprocess.run(cmd, cwd=ws, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            took = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            if proc.returncode >= 2:
                sys.exit(f"{name} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
            times[name].append(took)
    peer = statistics.median(times["doctor"])
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    print(f"ws-10k, {a.rounds} alternated rounds, medians (CPU: user + sys of the command and its helpers):")
    for name, _cmd, _fresh in measures:
        t, c = statistics.median(times[name]), statistics.median(cpu[name])
        print(
            f"  {name:<16} {t:7.3f} s  {t / peer:6.3f}x the peer   CPU {c:6.3f} s  CPU / {cores} / peer {c / cores / peer:6.3f}x"
        )
    floor = statistics.median(times["index, no graph"])
    print(
        f"left for the graph under the 1.2x goal: {1.2 * peer - floor:+.3f} s "
        f"(it takes {statistics.median(times['index']) - floor:.3f} s now)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
