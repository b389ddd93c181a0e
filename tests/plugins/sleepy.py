"""A plugin for tests: says it started (the file named by SLEEPY_READY), then waits to be interrupted."""

from __future__ import annotations

import os
import time

from strataml.runner.plugin import PluginInfo, RunContext, RunResult, RunSpec


class SleepyPlugin:
    info = PluginInfo(key="sleepy", version="0.0.1", description="waits for Ctrl-C")

    def validate(self, spec: RunSpec) -> list[str]:
        return []

    def run(self, spec: RunSpec, *, context: RunContext) -> RunResult:
        (context.artifact_dir / "data" / "partial.txt").write_text("started\n")
        with open(os.environ["SLEEPY_READY"], "w") as ready:
            ready.write("started\n")
        time.sleep(60)
        raise AssertionError("nobody interrupted the run")
