"""Model lifecycle states (TFC-0005): a version's state is the replay of its model's ledger."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from strataml.workspace import LEDGER

REGISTERED = "registered"
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "registered": ("candidate", "rejected"),
    "candidate": ("staging", "rejected"),
    "staging": ("production", "rejected", "candidate"),
    "production": ("archived",),
    "archived": (),
    "rejected": (),
}
STATES = tuple(TRANSITIONS)


def ledger_path(root: Path, model: str) -> Path:
    return Path(root) / "models" / model / LEDGER


def entries(raw: bytes) -> list[dict[str, Any]]:
    """The ledger's complete lines that parse as JSON objects, in file order."""
    out = []
    for line in raw.split(b"\n")[:-1]:  # the last piece is empty, or a torn line
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            out.append(entry)
    return out


def replay(items: list[dict[str, Any]]) -> dict[str, str]:
    """ref -> the state its last entry moved it to (versions without entries are `registered`)."""
    states: dict[str, str] = {}
    for entry in items:
        ref, to = entry.get("ref"), entry.get("to")
        if isinstance(ref, str) and to in TRANSITIONS:
            states[ref] = to
    return states


def states_of(root: Path, model: str) -> dict[str, str]:
    """Replayed states of one model's versions, from the ledger in the working tree."""
    path = ledger_path(root, model)
    try:
        raw = path.read_bytes()
    except OSError:
        return {}
    return replay(entries(raw))
