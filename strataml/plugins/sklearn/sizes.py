"""Whether a ratio split leaves each split rows enough: one check, made by the dry run (from the
row count the dataset version records) and by the run (from the data itself) before training.

scikit-learn refuses a stratified split that leaves a split fewer rows than the target has
classes ("The test_size = 1 should be greater or equal to the number of classes = 2"), or a
class with one row; this says it in the spec's words, with what to change. Imports nothing
heavy: the dry run checks without numpy or scikit-learn.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

# The fewest classes a classifier learns: what a split is checked against when the target's
# classes are not known (a dataset record does not list a column's values).
FEWEST_CLASSES = 2
# How far past the rows there are the least that would do is looked for.
_LOOK = 100_000
_WORDS = {"train": "to train", "val": "to validate", "test": "to test"}


def sizes(rows: int, split: Mapping[str, Any]) -> dict[str, int]:
    """The rows of each split of a ratio split of `rows` rows, counted as scikit-learn counts
    them in data.split: the test rows first (rounded up), then the validation rows out of the
    rest (rounded up), and what is left to train."""
    test = math.ceil(split["test"] * rows)
    rest = rows - test
    if not split.get("val"):
        return {"train": rest, "test": test}
    val = math.ceil(split["val"] / (split["train"] + split["val"]) * rest)
    return {"train": rest - val, "val": val, "test": test}


def problem(
    rows: int,
    split: Mapping[str, Any],
    target: str,
    classes: int | None = None,
    counts: Mapping[Any, int] | None = None,
) -> str | None:
    """Why a ratio split of `rows` rows cannot be made and trained on, or None. `classes`: how
    many classes the target holds, when known (else FEWEST_CLASSES, which any target that
    trains has at least); `counts`: the rows of each class, when known (a run's data).

    Stratified, each split needs a row of each class (as many rows as classes), and each class
    two rows at least (scikit-learn's own rule); not stratified, the training split needs two rows
    (one row is one class, which no classifier learns from)."""
    if counts is not None:
        classes = len(counts)
    known = classes is not None
    k = max(classes or FEWEST_CLASSES, 1)
    got = sizes(rows, split)
    stratified = bool(split.get("stratify"))
    need = k if stratified else 1
    if min(got.values()) >= need and (stratified or got["train"] >= 2):
        if stratified and counts:
            return _few(counts, target, f" of the {rows:,}")
        return None
    ratios = "/".join(f"{split[name]:g}" for name in got)
    left = ", ".join(f"{n:,} row{'' if n == 1 else 's'} {_WORDS[name]}" for name, n in got.items())
    left = " and ".join(left.rsplit(", ", 1))
    enough = _enough(rows, split, need, stratified)
    more = f"add rows ({enough:,} at least{f' for {k} classes' if stratified else ''})" if enough else "add rows"
    if not stratified:
        return (
            f"split: {rows:,} rows split {ratios} leave {left}; a classifier learns from two rows at least "
            f"(of two classes): {more}, or set split fractions that leave more rows to train"
        )
    have = (
        f"{target!r} has {k} class{'' if k == 1 else 'es'}"
        if known
        else f"{target!r} has at least {FEWEST_CLASSES} classes (the fewest a classifier learns from)"
    )
    return (
        f"split: {rows:,} rows split {ratios} leave {left}; a stratified split needs a row of each class in every "
        f"split, and {have}: {more}, set split fractions that leave each split a row of each class, or set "
        "split.stratify: false"
    )


def rest_problem(counts: Mapping[Any, int], target: str) -> str | None:
    """Why the rows left after the test rows were set aside (`counts`: theirs, by class) cannot
    be split stratified into training and validation rows (a class left with one row), or None."""
    return _few(counts, target, " left to train and validate on once the test rows were set aside")


def _few(counts: Mapping[Any, int], target: str, where: str) -> str | None:
    few = sorted((str(label) for label, n in counts.items() if n < 2), key=str)
    if not few:
        return None
    named = ", ".join(repr(label) for label in few[:3]) + (f" and {len(few) - 3:,} more" if len(few) > 3 else "")
    return (
        f"split: class{'es' if len(few) > 1 else ''} {named} of {target!r} "
        f"{'have' if len(few) > 1 else 'has'} one row{where}, and a stratified split needs a row "
        "of each class in every split: add rows of "
        + ("them" if len(few) > 1 else "it")
        + ", record a version of the dataset without "
        + ("them" if len(few) > 1 else "it")
        + ", or set split.stratify: false"
    )


def _enough(rows: int, split: Mapping[str, Any], need: int, stratified: bool) -> int | None:
    """The fewest rows, more than `rows`, that leave every split `need` rows (and two to train)."""
    for n in range(rows + 1, rows + _LOOK):
        got = sizes(n, split)
        if min(got.values()) >= need and (stratified or got["train"] >= 2):
            return n
    return None
