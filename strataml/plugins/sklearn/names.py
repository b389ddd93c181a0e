"""The metric names the plugin can write, declared without importing scikit-learn, so the doctor
can check a spec's gates against them wherever it runs (TFC0003-E004)."""

from __future__ import annotations

SPLITS = ("train", "val", "test")
# A split's AUCs are left out when the split lacks a class; the declaration is what can appear.
MEASURES = ("accuracy", "brier", "ece", "f1_macro", "log_loss", "pr_auc", "roc_auc")
METRICS = tuple(f"{split}_{measure}" for split in SPLITS for measure in MEASURES)
# Losses and calibration errors: lower is better; every other measure, higher.
LOWER = ("brier", "ece", "log_loss")
BETTER = {f"{split}_{measure}": "lower" if measure in LOWER else "higher" for split in SPLITS for measure in MEASURES}
