#!/usr/bin/env python3
"""`python tools/run.py ARGS` is `strataml run ARGS`, runnable from a checkout without install."""

import sys

import _bootstrap  # noqa: F401  (puts the checkout on sys.path)

from strataml.cli.main import run_subcommand

if __name__ == "__main__":
    run_subcommand("run", sys.argv[1:])
