"""Entries spelled like a name the layout fixes in their folder (`Models/`, `STRATAML.yaml`,
`tfc/Keys/`) under case-folding, but not as it: one entry with the real one on macOS and Windows,
and none a check on a case-sensitive system reads (TFC0001-E011). Listed apart from the walk,
which opens the fixed names alone; the doctor reports them and the snapshot key holds them, so a
cached verdict is not reused once one appears."""

from __future__ import annotations

import os

from strataml.rootdir import CONFIG, KEYS_DIR, MANAGED, TFC_DIR


def _fixed() -> dict[str, tuple[str, ...]]:
    from strataml.gitfacts import ATTRIBUTES, LFSCONFIG
    from strataml.workspace import KEYS_MANIFEST

    return {
        "": (CONFIG, ATTRIBUTES, LFSCONFIG, TFC_DIR, *MANAGED),
        TFC_DIR: (KEYS_DIR.rsplit("/", 1)[1],),
        KEYS_DIR: (KEYS_MANIFEST.rsplit("/", 1)[1],),
    }


def folded_onto_layout(root: os.PathLike[str] | str) -> list[tuple[str, str]]:
    """(the entry, the name the layout fixes that it folds onto), both workspace paths, in order."""
    out = []
    for folder, names in _fixed().items():
        try:
            with os.scandir(os.path.join(root, folder) if folder else root) as entries:
                listed = [entry.name for entry in entries]
        except OSError:
            continue  # (no such folder, or not one: nothing in it folds onto a name)
        folded = {name.casefold(): name for name in names}
        for name in sorted(listed):
            fixed = folded.get(name.casefold())
            if fixed is not None and name != fixed:
                out.append((f"{folder}/{name}", f"{folder}/{fixed}") if folder else (name, fixed))
    return out
