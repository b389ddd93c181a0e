"""SklearnPlugin.run() is glue: config, data, split, train, evaluate, write, log."""

from __future__ import annotations

from strataml import __version__
from strataml.plugins.sklearn import artifacts, config, data, evaluate, names, train
from strataml.runner.plugin import PluginInfo, RunContext, RunResult, RunSpec


class SklearnPlugin:
    info = PluginInfo(
        key="sklearn",
        version=__version__,
        description="scikit-learn classifiers (logistic regression, random forest, gradient boosting) on a workspace CSV or synthetic data",
        extra="sklearn",
        modules=("sklearn", "numpy", "joblib", "matplotlib"),
        packages=("scikit-learn", "numpy", "joblib", "matplotlib"),
        metrics=names.METRICS,
        models=names.MODEL_TYPES,
    )

    def validate(self, spec: RunSpec) -> list[str]:
        return config.problems(spec)

    def run(self, spec: RunSpec, *, context: RunContext) -> RunResult:
        import numpy as np

        np.random.seed(spec.seed)
        cfg = config.read(spec)
        ds = data.load(spec, cfg)
        idx = data.split(spec, ds)
        for name, rows in idx.items():
            if name != "val" and len(rows) == 0:
                raise ValueError(f"the {name} split is empty: check the split windows against the data")
        context.logger.info("training %s on %d rows", cfg.model_type, len(idx["train"]))
        model = train.fit(train.build(cfg, ds), ds, idx, context.tracking, context.logger)

        metrics: dict[str, float] = {}
        for name, rows in idx.items():
            metrics.update(evaluate.metrics(model, ds.X[rows], ds.y[rows], name))
        out = artifacts.paths(context.artifact_dir)
        summary = {
            **ds.summary,
            "class_balance": {name: data.balance(ds.y[rows]) for name, rows in idx.items()},
            "features": ds.features,
        }
        artifacts.write_model(out["model"], model)
        artifacts.write_json(out["metrics"], metrics)
        artifacts.write_json(out["data_summary"], summary)
        evaluate.plots(model, ds.X[idx["test"]], ds.y[idx["test"]], out["plots"])
        out["report"].parent.mkdir(parents=True, exist_ok=True)
        out["report"].write_text(artifacts.report(spec.name, cfg.model_type, metrics, ds.summary), "utf-8")

        context.tracking.log_metrics(metrics)
        for sub in ("data", "models", "metrics", "plots", "reports"):
            context.tracking.log_artifacts(context.artifact_dir / sub, sub)
        return RunResult(
            metrics=metrics, outputs={"model": "models/model.joblib"}, features=ds.features, target=cfg.target
        )
