"""Plugins that ship with strataml; each behind its own extra."""
