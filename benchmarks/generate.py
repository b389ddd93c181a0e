"""Generate a synthetic StrataML workspace for benchmarks: N datasets, runs and models.

    python benchmarks/generate.py OUT --records 3000 --files-per-record 1 --total-bytes 2G \\
        --mix "0.7:4K,0.25:1M,0.05:16M" --lfs content

Every record is valid (the doctor finds nothing), every file is recorded with its sha256, and
OUT is a real git repository with everything committed. With --lfs, data files (*.bin) are
tracked by Git LFS: `content` leaves them checked out, `pointers` leaves a clone next to OUT
(OUT-pointers) made with GIT_LFS_SKIP_SMUDGE=1, as CI sees a repository without `git lfs pull`.

For the dashboard benchmark (both off by default; the default output is unchanged):
  --fanout N        the first dataset is the input of the first N runs (one record with >= N
                    neighbours, for the lineage view)
  --experiments K   K experiment specs (experiments/eNNN.yaml); every run belongs to one, with
                    params, tags, four metrics and a varied status; datasets and models get
                    descriptions and tags: what the tables' search, facets and sort work on.
Extras draw from their own random stream, so the data files are the same bytes with or without.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3}
RUN_TIME = "2026-01-01T00:00:00Z"
TEAMS = ("vision", "nlp", "tabular", "speech", "ranking", "fraud")
FAMILIES = ("logistic_regression", "random_forest", "gradient_boosting", "mlp")


def size(text: str) -> int:
    text = text.strip().upper()
    return int(float(text[:-1]) * UNITS[text[-1]]) if text[-1] in UNITS else int(text)


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> None:
    full = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.org",
            "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.org", **(env or {})}
    subprocess.run(["git", *args], cwd=cwd, check=True, env=full, stdout=subprocess.DEVNULL)


def sizes_for(count: int, total: int, mix: list[tuple[float, int]], rng: random.Random) -> list[int]:
    """`count` file sizes drawn from the mix, scaled so they add up to about `total`."""
    weights, bases = zip(*mix)
    drawn = rng.choices(bases, weights=weights, k=count)
    scale = total / max(sum(drawn), 1)
    return [max(1, int(s * scale)) for s in drawn]


def write_file(path: Path, n: int, rng: random.Random) -> tuple[str, int]:
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with open(path, "wb") as fh:
        left = n
        while left:
            chunk = rng.randbytes(min(left, 8 * 1024 * 1024))
            fh.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest(), n


def write_files(folder: Path, names: list[str], sizes, rng: random.Random) -> list[dict]:
    """Write one file per name (sizes drawn from the iterator) and return their records."""
    files = []
    for name in names:
        sha, n = write_file(folder / name, next(sizes), rng)
        files.append({"path": name, "sha256": sha, "size": n})
    return files


def copy_files(run: Path, made: list[dict], folder: Path) -> list[dict]:
    """A model's files: copies of its run's (wN.bin from models/mN.bin), as `strataml model
    register` copies them; TFC0004-E004 requires each to be a file its run records."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for j, f in enumerate(made):
        shutil.copyfile(run / f["path"], folder / f"w{j}.bin")
        files.append({"path": f"w{j}.bin", "sha256": f["sha256"], "size": f["size"]})
    return files


def dataset_digest(files: list[dict]) -> str:
    lines = "".join(f"{f['sha256']}  {f['path']}\n" for f in sorted(files, key=lambda f: f["path"]))
    return "sha256:" + hashlib.sha256(lines.encode()).hexdigest()


def dump(path: Path, data: dict) -> None:
    # Block-style YAML, as `strataml` itself writes records, so parsing costs what it costs users.
    path.parent.mkdir(parents=True, exist_ok=True)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    path.write_text(yaml.dump(data, Dumper=dumper, sort_keys=False, default_flow_style=False, width=1000))


def generate(out: Path, records: int, files_per_record: int, total: int, mix: list[tuple[float, int]], lfs: str, seed: int,
             runs: int | None = None, fanout: int = 0, experiments: int = 0) -> None:
    """`records` datasets + runs + models, a third each; or exactly `runs` runs and the rest split.

    fanout: the first `fanout` runs all read the first dataset. experiments: runs spread over
    that many experiment specs, with params, tags and statuses (see the module's doc)."""
    if lfs != "none" and subprocess.run(["git", "lfs", "version"], capture_output=True).returncode != 0:
        # Checked before anything is written: otherwise a traceback after the workspace was half made.
        raise SystemExit(f"generate: {out.name} tracks its data with Git LFS, and `git lfs` is not installed "
                         "(Debian: apt-get install git-lfs)")
    rng = random.Random(seed)
    extra = random.Random(seed + 1)  # never drawn from by default: the default output stays byte-identical
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / "strataml.yaml").write_text("schema: strataml/workspace/v1\nname: bench\nlfs:\n  threshold_bytes: 1099511627776\n")
    (out / ".gitignore").write_text(".strataml/\n")
    git(out, "init", "-q")
    if lfs != "none":
        git(out, "lfs", "install", "--local")
        (out / ".gitattributes").write_text("*.bin filter=lfs diff=lfs merge=lfs -text\n")
    n_runs = runs if runs is not None else max(1, records // 3)
    n_ds = max(1, (records - n_runs) // 2) if runs is not None else max(1, records // 3)
    n_models = max(0, records - n_ds - n_runs)
    all_sizes = sizes_for((n_ds + n_runs + n_models) * files_per_record, total, mix, rng)
    sizes = iter(all_sizes)
    digests = []
    for i in range(n_ds):
        folder = out / "datasets" / f"d{i:05d}" / "1"
        files = write_files(folder, [f"part{j}.bin" for j in range(files_per_record)], sizes, rng)
        digest = dataset_digest(files)
        digests.append(digest)
        meta = {"schema": "strataml/dataset/v1", "ref": f"dataset:d{i:05d}@1", "description": "synthetic",
                "license": "CC0-1.0", "source": {"kind": "generated"}, "created_at": RUN_TIME, "files": files, "digest": digest}
        if experiments:
            team = TEAMS[i % len(TEAMS)]
            meta["description"] = f"synthetic {team} data, shard {i} of {n_ds}"
            meta["tags"] = {"team": team, "split": extra.choice(("train", "holdout", "full"))}
        dump(folder / "dataset.yaml", meta)
    for k in range(experiments):
        team, family = TEAMS[k % len(TEAMS)], FAMILIES[k % len(FAMILIES)]
        dump(out / "experiments" / f"e{k:03d}.yaml", {
            "schema": "strataml/experiment/v1", "name": f"e{k:03d}", "description": f"{family} for the {team} team",
            "plugin": "bench", "data": {"dataset": f"dataset:d{k % n_ds:05d}@1", "target": "label"},
            "model": {"type": family, "params": {"lr": 0.01, "depth": 4 + k % 5}}, "seed": k,
            "tags": {"team": team}, "gates": ["test_accuracy >= 0.5", "test_log_loss <= 1.0"]})
    run_ids, run_files = [], []
    succeeded: list[int] = []
    run_inputs: list[list[dict[str, str]]] = []
    run_ends: list[str] = []
    for i in range(n_runs):
        run_id = f"20260101T000000Z-bench-{i:06d}"
        run_ids.append(run_id)
        folder = out / "runs" / run_id
        files = write_files(folder, [f"models/m{j}.bin" for j in range(files_per_record)], sizes, rng)
        run_files.append((folder, files))
        d = 0 if i < fanout else i % n_ds
        meta = {"schema": "strataml/run/v1", "ref": f"run:{run_id}", "status": "succeeded", "created_at": RUN_TIME,
                "started_at": RUN_TIME, "ended_at": RUN_TIME, "plugin": {"key": "bench", "version": "0"},
                "seed": 0, "config_hash": "sha256:" + "0" * 64, "metrics": {"test_accuracy": rng.random()},
                "inputs": [{"ref": f"dataset:d{d:05d}@1", "digest": digests[d]}], "artifacts": files}
        if experiments:
            k = i % experiments
            when = f"2026-{1 + i * 12 // n_runs:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z"
            meta.update(experiment=f"experiment:e{k:03d}", created_at=when, started_at=when, ended_at=when, seed=i)
            meta["status"] = extra.choices(("succeeded", "failed", "cancelled"), weights=(90, 7, 3))[0]
            if meta["status"] == "failed":
                meta["error"] = {"type": "FloatingPointError", "message": f"loss diverged at step {extra.randint(10, 999)}"}
            meta["params"] = {"model.type": FAMILIES[k % len(FAMILIES)], "model.lr": extra.choice((0.1, 0.03, 0.01, 0.003)),
                              "model.depth": extra.randint(2, 12), "seed": i}
            meta["metrics"].update(test_f1_macro=round(extra.random(), 6), test_log_loss=round(extra.uniform(0.05, 2), 6),
                                   val_accuracy=round(extra.random(), 6))
            meta["tags"] = {"team": TEAMS[k % len(TEAMS)], "purpose": extra.choice(("sweep", "baseline", "ablation", "prod"))}
        dump(folder / "run.yaml", meta)
        run_inputs.append(meta["inputs"])
        run_ends.append(meta["ended_at"])
        if meta["status"] == "succeeded":
            succeeded.append(i)
    for i in range(n_models):
        folder = out / "models" / f"m{i:05d}" / "1"
        # (a version is made from a run that succeeded: TFC0004-E004)
        if not succeeded:
            raise SystemExit("no run succeeded, so no model version can be made: use more --runs")
        r = succeeded[i % len(succeeded)]
        files = copy_files(*run_files[r], folder)
        meta = {"schema": "strataml/model/v1", "ref": f"model:m{i:05d}@1", "produced_by": f"run:{run_ids[r]}",
                "created_at": run_ends[r], "inputs": run_inputs[r], "artifacts": files}  # (as its run read and ended: TFC0004-E004)
        if experiments:
            meta["description"] = f"{FAMILIES[i % len(FAMILIES)]} model {i}"
            meta["tags"] = {"team": TEAMS[i % len(TEAMS)]}
        dump(folder / "model.yaml", meta)
    git(out, "add", "-A")
    git(out, "commit", "-qm", "synthetic workspace")
    if lfs == "pointers":
        clone = out.with_name(out.name + "-pointers")
        if clone.exists():
            shutil.rmtree(clone)
        git(out.parent, "clone", "-q", str(out), str(clone), env={"GIT_LFS_SKIP_SMUDGE": "1"})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path)
    p.add_argument("--records", type=int, default=3000, help="datasets + runs + models (a third each)")
    p.add_argument("--files-per-record", type=int, default=1)
    p.add_argument("--total-bytes", default="2G")
    p.add_argument("--mix", default="0.7:4K,0.25:1M,0.05:16M", help="WEIGHT:SIZE,... before scaling to --total-bytes")
    p.add_argument("--lfs", choices=("none", "content", "pointers"), default="none")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--runs", type=int, help="exactly this many of the records are runs (default: a third)")
    p.add_argument("--fanout", type=int, default=0, help="the first dataset is the input of the first N runs (default 0: off)")
    p.add_argument("--experiments", type=int, default=0,
                   help="K experiment specs; runs get an experiment, params, tags, more metrics, a status (default 0: off)")
    a = p.parse_args(argv)
    mix = [(float(w), size(s)) for w, s in (part.split(":") for part in a.mix.split(","))]
    generate(a.out, a.records, a.files_per_record, size(a.total_bytes), mix, a.lfs, a.seed, a.runs, a.fanout, a.experiments)
    print(f"generated {a.out} ({a.records} records, {a.records * a.files_per_record} data files, {a.total_bytes})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
