"""A plugin module that prints when imported and declares one metric."""

from strataml.runner.plugin import PluginInfo

print("noisy plugin says hello")


class NoisyPlugin:
    info = PluginInfo(key="noisy", version="1", description="prints on import", metrics=("train_loss",))
