"""Where the plugin's files go inside the run folder, and how they are written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from strataml.atomic import write_text


def paths(root: Path) -> dict[str, Path]:
    return {
        "model": root / "models" / "model.joblib",
        "metrics": root / "metrics" / "metrics.json",
        "data_summary": root / "data" / "data_summary.json",
        "plots": root / "plots",
        "report": root / "reports" / "report.md",
    }


def write_json(path: Path, data: Any) -> None:
    write_text(path.parent, path.name, json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_model(path: Path, model: Any) -> None:
    import joblib

    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, path, compress=3)  # trees compress ~5x; the example workspace stays small


def report(spec_name: str, model_type: str, metrics: dict[str, float], summary: dict[str, Any]) -> str:
    splits = sorted({k.split("_", 1)[0] for k in metrics}, key=("train", "val", "test").index)
    names = sorted({k.split("_", 1)[1] for k in metrics})
    lines = [
        f"# {spec_name}: {model_type}",
        "",
        f"Data: {summary.get('dataset') or summary.get('generator')}, "
        f"{summary['shape'][0]} rows, {summary['shape'][1]} features.",
        "",
        "| metric | " + " | ".join(splits) + " |",
        "|---|" + "---|" * len(splits),
    ]
    for name in names:
        cells = [f"{metrics[f'{s}_{name}']:.4f}" if f"{s}_{name}" in metrics else "" for s in splits]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "![confusion matrix](../plots/confusion_matrix.png)",
        "![ROC](../plots/roc_curve.png)",
        "![calibration](../plots/calibration.png)",
        "",
    ]
    return "\n".join(lines)
