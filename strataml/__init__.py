"""StrataML: contracts, doctor and lineage for Git-native ML workspaces."""

__version__ = "0.2.0"
