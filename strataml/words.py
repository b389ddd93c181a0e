"""How a count is written in what a user reads: "1 record", "2 records"."""

from __future__ import annotations


def counted(count: int, noun: str) -> str:
    """`count` and `noun`, plural unless it is one (nouns here take an -s: record, warning, run)."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
