"""Metrics per split and the plots that explain them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ECE_BINS = 10


def metrics(model: Any, X: Any, y: Any, prefix: str) -> dict[str, float]:
    """accuracy, f1_macro, roc_auc, pr_auc, log_loss, brier, ece; a metric a split cannot define is left out."""
    import numpy as np
    from sklearn.metrics import accuracy_score, average_precision_score, f1_score, log_loss, roc_auc_score
    from sklearn.preprocessing import label_binarize

    if len(y) == 0:
        return {}
    classes = model.classes_
    proba = model.predict_proba(X)
    pred = classes[np.argmax(proba, axis=1)]
    onehot = label_binarize(y, classes=classes)
    if len(classes) == 2:
        onehot = np.hstack([1 - onehot, onehot])
    out = {
        "accuracy": accuracy_score(y, pred),
        "f1_macro": f1_score(y, pred, average="macro", labels=classes, zero_division=0),
        "log_loss": log_loss(y, proba, labels=classes),
        "brier": float(np.mean(np.sum((proba - onehot) ** 2, axis=1))),
        "ece": expected_calibration_error(proba, pred == y),
    }
    if len(np.unique(y)) == len(classes):  # AUCs need every class present in the split
        if len(classes) == 2:
            out["roc_auc"] = roc_auc_score(onehot[:, 1], proba[:, 1])
            out["pr_auc"] = average_precision_score(onehot[:, 1], proba[:, 1])
        else:
            out["roc_auc"] = roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=classes)
            out["pr_auc"] = average_precision_score(onehot, proba, average="macro")
    return {f"{prefix}_{k}": round(float(v), 6) for k, v in sorted(out.items())}


def _plain(label: Any) -> str:
    """A class label as text matplotlib draws as it is: between two '$' it would read mathtext,
    and a label such as `pay $x_1_2$` failed the run after training."""
    return str(label).replace("$", r"\$")


def expected_calibration_error(proba: Any, correct: Any) -> float:
    """Top-label ECE over equal-width confidence bins."""
    import numpy as np

    confidence = proba.max(axis=1)
    bins = np.minimum((confidence * ECE_BINS).astype(int), ECE_BINS - 1)
    total = 0.0
    for b in range(ECE_BINS):
        mask = bins == b
        if mask.any():
            total += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(total)


def plots(model: Any, X: Any, y: Any, folder: Path) -> list[Path]:
    """Confusion matrix, ROC curve(s) and reliability diagram for the test split."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from sklearn.metrics import ConfusionMatrixDisplay, roc_curve

    folder.mkdir(parents=True, exist_ok=True)
    classes = model.classes_
    proba = model.predict_proba(X)
    pred = classes[np.argmax(proba, axis=1)]
    written = []

    fig, ax = plt.subplots(figsize=(5, 4))
    ConfusionMatrixDisplay.from_predictions(
        y, pred, labels=classes, display_labels=[_plain(c) for c in classes], ax=ax, colorbar=False
    )
    ax.set_title("Confusion matrix (test)")
    written.append(_save(fig, folder / "confusion_matrix.png"))

    fig, ax = plt.subplots(figsize=(5, 4))
    shown = classes[1:] if len(classes) == 2 else classes
    for label in shown:
        column = list(classes).index(label)
        positives = y == label
        if positives.any() and (~positives).any():
            fpr, tpr, _ = roc_curve(positives, proba[:, column])
            ax.plot(fpr, tpr, label=_plain(label))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (test, one-vs-rest)")
    ax.legend(loc="lower right", fontsize="small")
    written.append(_save(fig, folder / "roc_curve.png"))

    fig, ax = plt.subplots(figsize=(5, 4))
    confidence, correct = proba.max(axis=1), (pred == y)
    edges = np.linspace(0, 1, 11)
    centers, accuracy = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (confidence >= lo) & (confidence <= hi if hi == 1 else confidence < hi)
        if mask.any():
            centers.append(confidence[mask].mean())
            accuracy.append(correct[mask].mean())
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
    ax.plot(centers, accuracy, marker="o")
    ax.set(xlabel="confidence", ylabel="accuracy", title="Calibration (test, top label)")
    written.append(_save(fig, folder / "calibration.png"))
    return written


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=80, metadata={"Software": None})
    plt.close(fig)
    return path
