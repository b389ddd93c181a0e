"""How a count is written in what a user reads: "1 record", "2 records"."""

from __future__ import annotations


def counted(count: int, noun: str) -> str:
    """`count` and `noun`, plural unless it is one (nouns here take an -s: record, warning, run)."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def a(noun: str) -> str:
    """`noun` after its indefinite article: "a dataset", "an experiment" (by its first letter:
    the nouns here are record kinds and the like, none with a silent or spoken-y vowel)."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def listed(items: list[str], most: int) -> str:
    """The first `most` of `items`, comma-separated, then how many more: "a, b, c and 4 more"."""
    return ", ".join(items[:most]) + (f" and {len(items) - most} more" if len(items) > most else "")
