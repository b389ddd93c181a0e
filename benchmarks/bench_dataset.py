"""Benchmark `strataml dataset add` of a big CSV against reading it with Python's csv module, in one run.

    python benchmarks/bench_dataset.py              # a 2.5M-row CSV (5 columns, ~72 MB), 3 rounds
    python benchmarks/bench_dataset.py --rows 200000 --rounds 5
    python benchmarks/bench_dataset.py --here       # strataml from this interpreter, not benchmarks/.venv-strataml

`dataset add` copies the file, hashes it, and reads every row to describe it (row count, a type
per column, nullability, categories). The peer is the least any description in Python can do:
`csv.reader` over the same file, every row read and nothing judged. Both are timed as whole
processes in alternation (bench.interleaved), each add into a fresh workspace made untimed
beforehand. Also printed: the add's peak memory (a description holds a bounded batch, never the
file).
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench import interleaved, peak_rss_mb, strataml_venv  # noqa: E402


def make_csv(path: Path, rows: int, seed: int = 7) -> None:
    """Floats, integers, a category of 20 labels and a 0/1 label: the shape of a tabular dataset."""
    if path.exists() and path.with_suffix(".rows").read_text() == str(rows):
        return
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("a,b,c,d,label\n")
        for _ in range(rows):
            out.write(
                f"{rng.random():.6f},{rng.randrange(1000)},{rng.random():.6f},cat{rng.randrange(20)},{rng.randrange(2)}\n"
            )
    path.with_suffix(".rows").write_text(str(rows))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, default=Path("/tmp/strataml-bench"))
    p.add_argument("--rows", type=int, default=2_500_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--here", action="store_true", help="this interpreter's strataml, not benchmarks/.venv-strataml")
    a = p.parse_args(argv)
    strataml = [sys.executable, "-m", "strataml"] if a.here else strataml_venv()
    python = sys.executable if a.here else str(Path(strataml[0]).parent / "python")
    a.work.mkdir(parents=True, exist_ok=True)
    data = a.work / f"table-{a.rows}.csv"
    make_csv(data, a.rows)
    ws = a.work / "ws-dataset"

    def fresh() -> None:
        shutil.rmtree(ws, ignore_errors=True)
        subprocess.run([*strataml, "init", str(ws)], check=True, capture_output=True)

    add = [*strataml, "-C", str(ws), "dataset", "add", "big", str(data), "--version", "1", "--license", "CC0-1.0"]
    peer = [
        python,
        "-c",
        "import csv, sys; n = sum(1 for _ in csv.reader(open(sys.argv[1], newline=''))); print(n)",
        str(data),
    ]
    got = interleaved([("dataset add", add, fresh), ("csv.reader, every row", peer, None)], a.work, a.rounds)
    fresh()
    peak = peak_rss_mb(add, a.work)
    size = data.stat().st_size / 1e6
    print(f"{a.rows:,} rows, {size:.1f} MB, {a.rounds} alternated rounds, medians:")
    for name, seconds in got.items():
        print(f"  {name:<24} {seconds:7.3f} s  {size / seconds:6.1f} MB/s")
    print(f"  dataset add / csv.reader  {got['dataset add'] / got['csv.reader, every row']:.2f}x")
    print(f"  dataset add peak RSS      {peak:.0f} MB")
    shutil.rmtree(ws, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
