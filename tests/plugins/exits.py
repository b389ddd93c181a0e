"""A plugin module that ends the process when imported (a hostile or broken third-party plugin)."""

raise SystemExit(7)
