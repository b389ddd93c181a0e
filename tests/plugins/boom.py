"""A plugin for tests: writes an artifact, logs a metric, then fails."""

from __future__ import annotations

from strataml.runner.plugin import PluginInfo, RunContext, RunResult, RunSpec


class BoomPlugin:
    info = PluginInfo(key="boom", version="0.0.1", description="always raises")

    def validate(self, spec: RunSpec) -> list[str]:
        return []

    def run(self, spec: RunSpec, *, context: RunContext) -> RunResult:
        (context.artifact_dir / "data" / "partial.txt").write_text("half of something\n")
        context.tracking.log_metric("train_loss", 0.5, step=1)
        raise RuntimeError("the GPU caught fire")
