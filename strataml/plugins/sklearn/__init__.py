"""The scikit-learn plugin (`pip install 'strataml[sklearn]'`). Importing this is cheap:
scikit-learn, numpy and matplotlib are imported only when a run starts, and the plugin class
itself only when asked for (the doctor reads `names` alone)."""

from __future__ import annotations

from typing import Any

__all__ = ["SklearnPlugin"]


def __getattr__(name: str) -> Any:
    if name == "SklearnPlugin":
        from strataml.plugins.sklearn.plugin import SklearnPlugin

        return SklearnPlugin
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
