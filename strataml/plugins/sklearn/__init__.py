"""The scikit-learn plugin (`pip install 'strataml[sklearn]'`). Importing this is cheap:
scikit-learn, numpy and matplotlib are imported only when a run starts."""

from strataml.plugins.sklearn.plugin import SklearnPlugin

__all__ = ["SklearnPlugin"]
