"""Entries spelled like a name the layout fixes in their folder (`Models/`, `STRATAML.yaml`,
`tfc/Keys/`) as macOS and Windows compare names (case, and what they ignore, folded), but not as
it: one entry with the real one on macOS and Windows, and none a check on a case-sensitive
system reads (TFC0001-E011). Listed apart from the walk, which opens the fixed names alone; the
doctor reports them and the snapshot key holds them, so a cached verdict is not reused once one
appears."""

from __future__ import annotations

import os

from strataml.refs import fold
from strataml.rootdir import ATTRIBUTES, CONFIG, KEYS_DIR, KEYS_MANIFEST, LFSCONFIG, MANAGED, TFC_DIR

# The names the layout fixes, by the folder they are in, folded: {folded name: the name}.
_FIXED = {
    folder: {fold(name): name for name in names}
    for folder, names in (
        ("", (CONFIG, ATTRIBUTES, LFSCONFIG, TFC_DIR, *MANAGED)),
        (TFC_DIR, (KEYS_DIR.rsplit("/", 1)[1],)),
        (KEYS_DIR, (KEYS_MANIFEST.rsplit("/", 1)[1],)),
    )
}


FOLDERS = tuple(_FIXED)  # the folders holding names the layout fixes, '' for the workspace's top


def folded_onto_layout(root: os.PathLike[str] | str) -> list[tuple[str, str]]:
    """(the entry, the name the layout fixes that it folds onto), both workspace paths, in order.
    Three folder listings, each entry's name folded once (a name of another length is none)."""
    out = []
    for folder, folded in _FIXED.items():
        lengths = {len(name) for name in folded}
        try:
            with os.scandir(os.path.join(root, folder) if folder else root) as entries:
                # (folding keeps the length of ASCII; a name folding to another length is
                # rare and still compared: only lengths no fold can reach are skipped)
                listed = [e.name for e in entries if not e.name.isascii() or len(e.name) in lengths]
        except OSError:
            continue  # (no such folder, or not one: nothing in it folds onto a name)
        for name in sorted(listed):
            fixed = folds_onto(folder, name)
            if fixed is not None:
                out.append((f"{folder}/{name}", f"{folder}/{fixed}") if folder else (name, fixed))
    return out


def folds_onto(folder: str, name: str) -> str | None:
    """The name the layout fixes in `folder` ('' for the workspace's top) that `name` folds onto
    without being it, else None."""
    fixed = _FIXED.get(folder, {}).get(fold(name))
    return fixed if fixed is not None and fixed != name else None
