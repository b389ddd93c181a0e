"""Benchmark `strataml doctor` against its peers on the same files, in one run.

    python benchmarks/bench.py                 # all scenarios, 3 repeats, DVC if installable
    python benchmarks/bench.py --quick         # smaller workspaces, for a smoke run
    python benchmarks/bench.py --no-dvc        # skip DVC (it needs its own venv and a download)
    python benchmarks/bench.py --here          # run strataml from this interpreter (e.g. an editable install)
    python benchmarks/bench.py --json out.json # also write every figure and goal verdict as JSON

strataml is measured as users run it: a regular install (compiled, no editable-install hooks)
of this checkout into benchmarks/.venv-strataml, through its `strataml` script; DVC likewise
lives in benchmarks/.venv-dvc.

Scenarios (workspaces are generated once under --work and reused):
  2k-2GB   2,000 files / 2 GB, Git LFS with content: doctor cold (--no-cache) and warm,
           doctor --since after one changed record, sha256sum, openssl dgst, git lfs fsck,
           dvc status cold and warm (DVC installed into benchmarks/.venv-dvc).
  10k      10,000 records with small files: warm doctor, doctor --since with one changed record.
  100k     100,000 files (10,000 records x 10): peak memory of a cold doctor.
Each figure is the median of --repeat runs; ratios compare figures measured in this run. A goal's
command and its peer are timed in alternation (the cold doctor with the 2-core OpenSSL limit,
the 10k cold doctor with reading every file once), so that the machine's drift moves both.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import generate  # noqa: E402

STRATAML = [sys.executable, "-m", "strataml"]  # replaced by the benchmark venv's script unless --here


def strataml_venv() -> list[str]:
    """This checkout installed (not editable) into benchmarks/.venv-strataml; reinstalled every run."""
    venv = HERE / ".venv-strataml"
    if not (venv / "bin" / "python").exists():
        print("creating benchmarks/.venv-strataml ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(ROOT)], check=True, timeout=900)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "--force-reinstall", str(ROOT)],
                   check=True, timeout=900, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return [str(venv / "bin" / "strataml")]


def timed(cmd: list[str], cwd: Path, repeat: int, before=None, env: dict[str, str] | None = None) -> float:
    times = []
    for _ in range(repeat):
        if before:
            before()
        times.append(once(cmd, cwd, env))
    return statistics.median(times)


def once(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    """One run's wall time (a command that fails, exit 2 or more, stops the benchmark)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
    took = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        # Timed with its output thrown away; run again to show what it said (a doctor's findings
        # are on stdout: a workspace edited by hand fails the --since runs with exit 2).
        again = subprocess.run(cmd, cwd=cwd, capture_output=True, env={**os.environ, **(env or {})})
        said = (again.stdout + again.stderr).decode(errors="replace")[-800:]
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}) in {cwd}:\n{said}")
    return took


def interleaved(measures: list[tuple[str, list[str], object]], cwd: Path, repeat: int) -> dict[str, float]:
    """Medians of `measures` (name, command, what runs untimed before it or None) taken in rounds,
    each command once per round in the order given: a goal's command and its peer are timed
    seconds apart, so what the machine does meanwhile (this one's speed moves by 10% over
    minutes) moves both, and their ratio holds."""
    times: dict[str, list[float]] = {name: [] for name, _cmd, _before in measures}
    for _ in range(repeat):
        for name, cmd, before in measures:
            if callable(before):
                before()
            times[name].append(once(cmd, cwd))
    return {name: statistics.median(t) for name, t in times.items()}


def peak_rss_mb(cmd: list[str], cwd: Path) -> float:
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], cwd=cwd, capture_output=True, text=True, check=True).stdout
    return int(out.strip().splitlines()[-1]) / 1024


def settle() -> None:
    """Files younger than two seconds are never cached (the racy window): measure past it."""
    time.sleep(2.1)


def ensure(path: Path, **kwargs: object) -> Path:
    """`path` generated with these options, by this generator: made again when either changed
    (a workspace made before a rule was added, or the generator fixed, measures the old one)."""
    marker = path / ".strataml-bench-done"
    code = hashlib.sha256(Path(generate.__file__).read_bytes()).hexdigest()[:16]
    want = json.dumps({"generator": code, **kwargs}, sort_keys=True) + "\n"
    if not (marker.exists() and marker.read_text() == want):
        print(f"generating {path.name} ...", file=sys.stderr)
        started = time.perf_counter()
        generate.generate(path, **kwargs)  # type: ignore[arg-type]
        marker.write_text(want)
        print(f"  generated in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        settle()
    return path


def goal(measure: str, value: float, unit: str, limit: float | None = None, strict: bool = False) -> dict:
    """One line of a goals table: PASS when value <= limit (< with strict); no limit: a figure shown beside the goals."""
    ok = None if limit is None else (value < limit if strict else value <= limit)
    return {"measure": measure, "value": round(value, 4), "unit": unit,
            "goal": None if limit is None else f"{'<' if strict else '<='} {limit:g}{unit if unit == 'x' else ' ' + unit}",
            "verdict": {None: "", True: "PASS", False: "MISS"}[ok]}


def report(rows: list[tuple[str, str, float, str]], goals: list[dict], json_path: Path | None, **meta: object) -> None:
    """Print every figure, then the goals table (measure, value, goal, PASS/MISS); write both as JSON if asked."""
    print()
    print(f"{'scenario':<10} {'measure':<50} {'median':>10}")
    for scenario, name, value, unit in rows:
        print(f"{scenario:<10} {name:<50} {value:>8.3f} {unit}")
    print()
    width = max(len(g["measure"]) for g in goals)
    print(f"{'goals (same run)':<{width + 2}} {'value':>11}  {'goal':<12} verdict")
    for g in goals:
        print(f"  {g['measure']:<{width}} {g['value']:>8.3f} {g['unit']:<2}  {g['goal'] or '':<12} {g['verdict']}")
    if json_path:
        figures = [{"scenario": s, "measure": m, "value": round(v, 4), "unit": u} for s, m, v, u in rows]
        json_path.write_text(json.dumps({"meta": meta, "figures": figures, "goals": goals}, indent=1) + "\n")
        print(f"wrote {json_path}", file=sys.stderr)


def run_meta(a: argparse.Namespace, strataml: list[str]) -> dict:
    return {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "strataml": " ".join(strataml), "repeat": a.repeat, "quick": a.quick,
            "cpus": os.cpu_count(), "loadavg_start": [round(x, 2) for x in os.getloadavg()]}


def data_files(ws: Path) -> Path:
    listing = ws.parent / f"{ws.name}.files"
    names = [p.relative_to(ws).as_posix() for p in sorted(ws.rglob("*.bin")) if ".git" not in p.parts]
    listing.write_bytes(b"\0".join(n.encode() for n in names) + b"\0")
    return listing


def halves(ws: Path, listing: Path) -> tuple[list[Path], list[int]]:
    """The listing split in two listings of about equal bytes: biggest file first, each to the lighter half."""
    parts: tuple[list[bytes], list[bytes]] = ([], [])
    sums = [0, 0]
    names = [n for n in listing.read_bytes().split(b"\0") if n]
    for size, name in sorted(((os.stat(ws / os.fsdecode(n)).st_size, n) for n in names), reverse=True):
        i = 0 if sums[0] <= sums[1] else 1
        parts[i].append(name)
        sums[i] += size
    paths = [listing.with_name(f"{listing.name}.half{i}") for i in (0, 1)]
    for path, part in zip(paths, parts):
        path.write_bytes(b"".join(n + b"\0" for n in part))
    return paths, sums


# Two `openssl dgst` at once, one per half; the exit status is bad if either's is.
BOTH_HALVES = 'xargs -0 -a "$1" openssl dgst -sha256 & xargs -0 -a "$2" openssl dgst -sha256; b=$?; wait $!; exit $(($? | b))'
READ_ALL = "find datasets runs models -type f -print0 | xargs -0 cat >/dev/null"


def one_changed_record(ws: Path) -> None:
    """A new dataset version on top of HEAD: what a typical pull request adds."""
    folder = ws / "datasets" / "pr-change" / "1"
    if folder.exists():
        return
    folder.mkdir(parents=True)
    sha, n = generate.write_file(folder / "part0.bin", 4096, __import__("random").Random(1))
    files = [{"path": "part0.bin", "sha256": sha, "size": n}]
    generate.dump(folder / "dataset.yaml", {"schema": "strataml/dataset/v1", "ref": "dataset:pr-change@1", "description": "pr",
                                            "license": "CC0-1.0", "source": {"kind": "generated"}, "created_at": generate.RUN_TIME,
                                            "files": files, "digest": generate.dataset_digest(files)})
    subprocess.run(["git", "add", "-A"], cwd=ws, check=True)
    settle()


def dvc_venv(work: Path) -> Path | None:
    venv = HERE / ".venv-dvc"
    exe = venv / "bin" / "dvc"
    if exe.exists():
        return exe
    print("installing DVC into benchmarks/.venv-dvc ...", file=sys.stderr)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "dvc"], check=True, timeout=900)
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"DVC unavailable: {exc}", file=sys.stderr)
        return None
    return exe


def dvc_copy(ws: Path, dvc: Path) -> tuple[Path, Path]:
    """The same files (hard links), tracked by DVC as three directories; returns (repo, state dir)."""
    target = ws.with_name(ws.name + "-dvc")
    state = target / ".dvc-site-cache"
    if not (target / ".strataml-bench-done").exists():
        if target.exists():
            shutil.rmtree(target)
        subprocess.run(["cp", "-al", str(ws), str(target)], check=True)
        shutil.rmtree(target / ".git")
        shutil.rmtree(target / ".strataml", ignore_errors=True)
        run = lambda *a: subprocess.run([str(dvc), *a], cwd=target, check=True, stdout=subprocess.DEVNULL)  # noqa: E731
        run("init", "--no-scm", "-q")
        run("config", "cache.type", "hardlink")
        run("config", "core.site_cache_dir", str(state))
        run("add", "-q", "datasets", "runs", "models")
        (target / ".strataml-bench-done").write_text("ok\n")
    return target, state


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, default=Path("/tmp/strataml-bench"))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="200 files / 200 MB, 2k records, 20k files")
    p.add_argument("--no-dvc", action="store_true")
    p.add_argument("--here", action="store_true", help="run strataml with this interpreter instead of its benchmark venv")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write every figure and goal to PATH as JSON")
    a = p.parse_args(argv)
    global STRATAML
    if not a.here:
        STRATAML = strataml_venv()
    print(f"strataml: {' '.join(STRATAML)}", file=sys.stderr)
    a.work.mkdir(parents=True, exist_ok=True)
    meta = run_meta(a, STRATAML)
    q = a.quick
    mix = [(0.7, 4096), (0.25, 1 << 20), (0.05, 16 << 20)]
    rows: list[tuple[str, str, float, str]] = []

    def add(scenario: str, name: str, value: float, unit: str = "s") -> float:
        rows.append((scenario, name, value, unit))
        print(f"  {scenario:<8} {name:<40} {value:8.3f} {unit}", file=sys.stderr)
        return value

    # -- 2k files / 2 GB ------------------------------------------------------------------
    big = ensure(a.work / ("ws-200" if q else "ws-2k"), records=200 if q else 2000, files_per_record=1,
                 total=(200 if q else 2048) << 20, mix=mix, lfs="content", seed=7)
    scen = "200-200MB" if q else "2k-2GB"
    listing = data_files(big)
    cache_dir = big / ".strataml"
    clear_cache = lambda: shutil.rmtree(cache_dir, ignore_errors=True)  # noqa: E731
    (half0, half1), split = halves(big, listing)
    meta["openssl_halves_mb"] = [round(n / 2**20, 1) for n in split]
    both = ["bash", "-c", BOTH_HALVES, "both", str(half0), str(half1)]
    paired = interleaved([("cold", [*STRATAML, "doctor", "--no-cache"], None), ("openssl2", both, None)], big, a.repeat)
    cold = add(scen, "strataml doctor --no-cache (cold)", paired["cold"])
    subprocess.run([*STRATAML, "doctor"], cwd=big, stdout=subprocess.DEVNULL, check=False)
    warm = add(scen, "strataml doctor (warm cache)", timed([*STRATAML, "doctor"], big, a.repeat))
    first = add(scen, "strataml doctor, first run (builds cache)", timed([*STRATAML, "doctor"], big, a.repeat, before=clear_cache))
    subprocess.run([*STRATAML, "doctor"], cwd=big, stdout=subprocess.DEVNULL, check=False)
    sha256sum = add(scen, "sha256sum", timed(["xargs", "-0", "-a", str(listing), "sha256sum"], big, a.repeat))
    openssl = add(scen, "openssl dgst -sha256", timed(["xargs", "-0", "-a", str(listing), "openssl", "dgst", "-sha256"], big, a.repeat))
    openssl2 = add(scen, "openssl dgst -sha256, 2 halves at once", paired["openssl2"])
    fsck = add(scen, "git lfs fsck", timed(["git", "lfs", "fsck"], big, a.repeat))
    dvc_cold = dvc_warm = None
    if not a.no_dvc and (dvc := dvc_venv(a.work)):
        repo, state = dvc_copy(big, dvc)
        dvc_cold = add(scen, "dvc status (cold)", timed([str(dvc), "status", "-q"], repo, a.repeat,
                                                       before=lambda: shutil.rmtree(state, ignore_errors=True)))
        subprocess.run([str(dvc), "status", "-q"], cwd=repo, check=False)
        dvc_warm = add(scen, "dvc status (warm)", timed([str(dvc), "status", "-q"], repo, a.repeat))
    one_changed_record(big)
    since = add(scen, "strataml doctor --since HEAD (1 new record)", timed([*STRATAML, "doctor", "--since", "HEAD"], big, a.repeat))

    # -- 10k records ------------------------------------------------------------------------
    many = ensure(a.work / ("ws-2k-records" if q else "ws-10k"), records=2000 if q else 10000, files_per_record=1,
                  total=(20 if q else 100) << 20, mix=[(1.0, 4096)], lfs="none", seed=8)
    s10 = "2k-rec" if q else "10k-rec"
    subprocess.run([*STRATAML, "doctor"], cwd=many, stdout=subprocess.DEVNULL, check=False)
    warm10 = add(s10, "strataml doctor (warm cache)", timed([*STRATAML, "doctor"], many, a.repeat))
    paired = interleaved([("cold", [*STRATAML, "doctor", "--no-cache"], None), ("read", ["bash", "-c", READ_ALL], None)],
                         many, a.repeat)
    cold10 = add(s10, "strataml doctor --no-cache (cold)", paired["cold"])
    read10 = add(s10, "peer: every file read once (find | xargs cat)", paired["read"])
    one_changed_record(many)
    subprocess.run([*STRATAML, "doctor", "--since", "HEAD"], cwd=many, stdout=subprocess.DEVNULL, check=False)
    since10 = add(s10, "strataml doctor --since HEAD (1 new record)", timed([*STRATAML, "doctor", "--since", "HEAD"], many, a.repeat))

    # -- 100k files: memory ------------------------------------------------------------------
    wide = ensure(a.work / ("ws-20k-files" if q else "ws-100k"), records=2000 if q else 10000, files_per_record=10,
                  total=(40 if q else 200) << 20, mix=[(1.0, 2048)], lfs="none", seed=9)
    s100 = "20k-files" if q else "100k-files"
    shutil.rmtree(wide / ".strataml", ignore_errors=True)
    rss = add(s100, "strataml doctor --no-cache peak RSS", peak_rss_mb([*STRATAML, "doctor", "--no-cache"], wide), "MB")

    def sized(limit: float) -> float | None:
        return None if q else limit  # absolute goals are for the full sizes: --quick shows its figures without a verdict

    goals = [
        goal(f"{scen}: cold doctor / git lfs fsck", cold / fsck, "x", 0.25),
        goal(f"{scen}: cold doctor / 2-core openssl limit (2 halves at once)", cold / openssl2, "x", 1.25),
        goal(f"{scen}: cold doctor / sha256sum", cold / sha256sum, "x"),
        goal(f"{scen}: cold doctor / openssl dgst (one process)", cold / openssl, "x"),
        goal(f"{scen}: first doctor (cache build) / git lfs fsck", first / fsck, "x"),
    ]
    if dvc_cold and dvc_warm:
        goals += [goal(f"{scen}: cold doctor / cold dvc status", cold / dvc_cold, "x", 0.3),
                  goal(f"{scen}: warm doctor / warm dvc status", warm / dvc_warm, "x", 0.5)]
    goals += [
        goal(f"{scen}: doctor --since HEAD (1 new record)", since, "s"),
        goal(f"{s10}: warm doctor", warm10, "s", sized(1.0), strict=True),
        goal(f"{s10}: doctor --since HEAD (1 new record)", since10, "s", sized(0.5), strict=True),
        goal(f"{s10}: cold doctor / every file read once", cold10 / read10, "x", 3),
        goal(f"{s100}: cold doctor peak RSS", rss, "MB", sized(300), strict=True),
    ]
    report(rows, goals, a.json, **meta, loadavg_end=[round(x, 2) for x in os.getloadavg()])
    return 0


if __name__ == "__main__":
    sys.exit(main())
