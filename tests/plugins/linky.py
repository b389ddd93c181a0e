"""A plugin for tests: succeeds, leaving among its files a link to one outside the run (LINKY_TARGET)."""

from __future__ import annotations

import os

from strataml.runner.plugin import PluginInfo, RunContext, RunResult, RunSpec


class LinkyPlugin:
    info = PluginInfo(key="linky", version="0.0.1", description="links instead of writing")

    def validate(self, spec: RunSpec) -> list[str]:
        return []

    def run(self, spec: RunSpec, *, context: RunContext) -> RunResult:
        (context.artifact_dir / "data" / "kept.txt").write_text("a file\n")
        os.symlink(os.environ["LINKY_TARGET"], context.artifact_dir / "data" / "input.txt")
        return RunResult(metrics={"test_accuracy": 1.0})
