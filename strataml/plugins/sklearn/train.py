"""Build the estimator pipeline (impute, scale, one-hot) and fit it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from strataml.plugins.sklearn.config import Config, estimator_class
from strataml.plugins.sklearn.data import Data


def build(cfg: Config, data: Data) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [i for i in range(len(data.features)) if i not in data.categorical]
    parts = [("num", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), numeric)]
    if data.categorical:
        parts.append(("cat", OneHotEncoder(handle_unknown="ignore"), data.categorical))
    prep = ColumnTransformer(parts)
    return Pipeline([("prep", prep), ("model", estimator_class(cfg.model_type)(**cfg.params))])


def fit(pipeline: Any, data: Data, idx: dict[str, Any], tracking: Any, log: Any = None, every: float = 5.0) -> Any:
    """Fit on the training rows; a model that trains in stages (boosting) says how far it is to
    `log`, each tenth of its stages, at most every `every` seconds (a run of 400 stages on 140k
    rows trained for ten minutes with one line said). Any other model says how long it has been
    training, `every` seconds in and then less and less often: it cannot say how far it is, only
    that it is still at work."""
    train = idx["train"]
    model = pipeline.named_steps["model"]
    stages = getattr(model, "n_estimators", None)
    if log is not None and hasattr(model, "staged_predict_proba") and isinstance(stages, int) and stages > 1:
        pipeline.fit(data.X[train], data.y[train], model__monitor=_progress(stages, log, every))
    elif log is not None:
        with _heartbeat(log, every):
            pipeline.fit(data.X[train], data.y[train])
    else:
        pipeline.fit(data.X[train], data.y[train])
    _log_steps(pipeline, data, idx, tracking)
    return pipeline


def _progress(stages: int, log: Any, every: float) -> Any:
    """A monitor for a boosting model's fit: a line each tenth of the stages, `every` seconds apart."""
    last = [time.monotonic(), 0]

    def monitor(i: int, _model: Any, _locals: Any) -> bool:
        tenth = (i + 1) * 10 // stages
        now = time.monotonic()
        if tenth > last[1] and now - last[0] >= every and i + 1 < stages:
            log.info("stage %d of %d (%d%%)", i + 1, stages, (i + 1) * 100 // stages)
            last[0], last[1] = now, tenth
        return False  # (never stops the training early)

    return monitor


@contextmanager
def _heartbeat(log: Any, every: float) -> Iterator[None]:
    """While the block runs, a line at `every` seconds, then at each doubling of the time spent
    (up to one a minute apart, after that every minute)."""
    done = threading.Event()
    started = time.monotonic()

    def beat() -> None:
        due = every
        while not done.wait(max(0.0, started + due - time.monotonic())):
            log.info("still training (%s so far)", _spent(time.monotonic() - started))
            due = min(due * 2, due + 60.0) if due > 0 else 1.0

    ticker = threading.Thread(target=beat, name="strataml-fit-heartbeat", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()


def _spent(seconds: float) -> str:
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s"


def _log_steps(pipeline: Any, data: Data, idx: dict[str, Any], tracking: Any) -> None:
    """Boosting trains in stages: log the loss after each one so the curve can be inspected."""
    from sklearn.metrics import log_loss

    model = pipeline.named_steps["model"]
    if not hasattr(model, "staged_predict_proba"):
        return
    prep = pipeline.named_steps["prep"]
    for split in ("train", "val"):
        rows = idx.get(split)
        if rows is None or len(rows) == 0:
            continue
        X = prep.transform(data.X[rows])
        for step, proba in enumerate(model.staged_predict_proba(X), start=1):
            tracking.log_metric(
                f"{split}_stage_log_loss", float(log_loss(data.y[rows], proba, labels=model.classes_)), step=step
            )
