"""The benchmarks' synthetic workspaces pass the doctor: a benchmark timed on a workspace full of
errors measures the reporting of thousands of findings, not what users run. (A rule added since
the generator was written, TFC0004-E004, once made every model of ws-10k an error.)"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import invoke, require

ROOT = Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "benchmarks" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "options",
    [
        {"records": 30, "files_per_record": 2, "lfs": "none"},
        # (enough runs that some fail or are cancelled: no model version may come from one)
        {"records": 150, "files_per_record": 1, "lfs": "none", "runs": 100, "fanout": 5, "experiments": 3},
        {"records": 12, "files_per_record": 1, "lfs": "content"},
    ],
    ids=["plain", "dashboard-shape", "lfs"],
)
def test_generated_workspace_has_no_errors_or_warnings(tmp_path: Path, options: dict, capsys) -> None:
    if options["lfs"] != "none":
        have = (
            shutil.which("git-lfs") is not None
            and subprocess.run(["git", "lfs", "version"], capture_output=True).returncode == 0
        )
        require(have, "git-lfs is not installed")
    out = tmp_path / "ws"
    _generator().generate(out, total=256 * 1024, mix=[(0.8, 4096), (0.2, 65536)], seed=3, **options)
    code, stdout, _ = invoke(out, "doctor", "--strict", "--format", "json", capsys=capsys)
    summary = json.loads(stdout)["summary"]
    assert (summary["errors"], summary["warnings"]) == (0, 0), stdout[:2000]
    assert code == 0
