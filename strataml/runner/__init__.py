"""Running experiment specs through plugins (TFC-0003)."""
