#!/usr/bin/env python3
"""`python tools/doctor.py ARGS` is `strataml doctor ARGS`, runnable from a checkout without install."""

import sys

import _bootstrap  # noqa: F401  (puts the checkout on sys.path)

from strataml.cli.main import run_subcommand

if __name__ == "__main__":
    run_subcommand("doctor", sys.argv[1:])
