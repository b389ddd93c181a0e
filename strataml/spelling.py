"""The one way a "did you mean" is found: the names a user most likely meant by a word no name matches.

Every command, the API and the plugins ask here, so a slip is caught the same way wherever it is
typed: a shortened or mis-cased name first (test_f1 for test_f1_macro, Run for run), then the
names spelled most like it (difflib's ratio, case ignored).
"""

from __future__ import annotations

from collections.abc import Iterable

# How many of one record's misspellings get a "did you mean": each compares its word with every
# name, and a record naming 2,000 missing refs among 300 datasets held the gate 16 s (the rest
# are still found, with the plain hint).
SUGGESTED_PER_RECORD = 10


def nearest(word: str, known: Iterable[str], n: int = 1, *, cutoff: float = 0.6) -> list[str]:
    """Up to `n` of `known`, the likeliest first; [] when none is close enough (`cutoff`: the
    least similarity difflib accepts, 0..1). Names that differ only in case are each offered
    (the right spelling is never hidden behind another), in the order of `known`, which the
    caller sorts when it wants a stable answer."""
    from difflib import get_close_matches

    folded: dict[str, list[str]] = {}
    for name in known:
        folded.setdefault(name.lower(), []).append(name)
    lower = word.lower()

    def spelt(keys: Iterable[str]) -> list[str]:
        return [name for key in keys for name in folded[key]]

    same = spelt([lower]) if lower in folded else []  # (the very name, but for case)
    starting = spelt(key for key in folded if lower and key.startswith(lower) and key != lower)
    if same or starting:
        if len(same) + len(starting) <= n:
            return same + starting
        if same:
            return same[:n]
    return spelt(get_close_matches(lower, list(folded), n=n, cutoff=cutoff))[:n]
