"""The metric names the plugin can write and the model types it trains, declared without
importing scikit-learn, so the doctor can check a spec's gates (TFC0003-E004) and its model.type
(TFC0003-E006) wherever it runs."""

from __future__ import annotations

# Each model.type the plugin trains, and the estimator it builds (imported only when a run starts).
MODELS = {
    "logistic_regression": "sklearn.linear_model:LogisticRegression",
    "random_forest": "sklearn.ensemble:RandomForestClassifier",
    "gradient_boosting": "sklearn.ensemble:GradientBoostingClassifier",
}
MODEL_TYPES = tuple(MODELS)

SPLITS = ("train", "val", "test")
# A split's AUCs are left out when the split lacks a class; the declaration is what can appear.
MEASURES = ("accuracy", "brier", "ece", "f1_macro", "log_loss", "pr_auc", "roc_auc")
METRICS = tuple(f"{split}_{measure}" for split in SPLITS for measure in MEASURES)
# Losses and calibration errors: lower is better; every other measure, higher.
LOWER = ("brier", "ece", "log_loss")
BETTER = {f"{split}_{measure}": "lower" if measure in LOWER else "higher" for split in SPLITS for measure in MEASURES}
